//! The legitimate client: a fresh TLS connection and one `GET` at a fixed rate (open model:
//! each request starts on schedule whether or not earlier ones have finished), from its own
//! address, with latency measured from the intended send time so that a stalled server is not
//! hidden by a stalled client (coordinated omission).

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::client::{self, Client};
use crate::sources::PROBE_ADDR;
use crate::verdict::PhaseStats;

/// The phase a request was scheduled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the attack.
    Baseline,
    /// During it.
    Attack,
    /// After it.
    Recovery,
}

/// One legitimate request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Intended start, in ms from the start of the run.
    pub at_ms: f64,
    /// Its phase.
    pub phase: Phase,
    /// HTTP status, if a response came in time.
    pub status: Option<u16>,
    /// From the intended start to the end of the response (or the timeout).
    pub latency_ms: f64,
}

impl Sample {
    /// A 2xx in time.
    pub fn ok(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

/// When the phases start and end, relative to `start`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Start of the run.
    pub start: Instant,
    /// Start of the attack.
    pub attack: Instant,
    /// End of the attack.
    pub recovery: Instant,
    /// End of the run.
    pub end: Instant,
}

impl Schedule {
    /// The phase of instant `at`.
    pub fn phase(&self, at: Instant) -> Phase {
        if at < self.attack {
            Phase::Baseline
        } else if at < self.recovery {
            Phase::Attack
        } else {
            Phase::Recovery
        }
    }
}

/// Runs the probe over the whole schedule; returns every sample in order.
pub async fn run(
    client: Client,
    path: &'static str,
    rate: u32,
    timeout: Duration,
    schedule: Schedule,
) -> Vec<Sample> {
    let mut tick = tokio::time::interval_at(
        schedule.start,
        Duration::from_secs_f64(1.0 / f64::from(rate.max(1))),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    loop {
        let at = tick.tick().await;
        if at >= schedule.end {
            break;
        }
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let work = async {
                let mut tls = client.tls_from(PROBE_ADDR).await.ok()?;
                client::get(&mut tls, client.host(), path).await.ok()
            };
            let status = tokio::time::timeout(timeout, work).await.ok().flatten();
            Sample {
                at_ms: (at - schedule.start).as_secs_f64() * 1000.0,
                phase: schedule.phase(at),
                status,
                latency_ms: at.elapsed().as_secs_f64() * 1000.0,
            }
        }));
    }
    let mut samples = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(s) = t.await {
            samples.push(s);
        }
    }
    samples
}

/// The numbers of one phase.
pub fn stats(samples: &[Sample], phase: Phase) -> PhaseStats {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
    let (mut requests, mut ok) = (0u64, 0u64);
    for s in samples.iter().filter(|s| s.phase == phase) {
        requests += 1;
        if s.ok() {
            ok += 1;
            hist.saturating_record((s.latency_ms * 1000.0).max(1.0) as u64);
        }
    }
    let q = |q: f64| {
        if hist.is_empty() {
            0.0
        } else {
            hist.value_at_quantile(q) as f64 / 1000.0
        }
    };
    PhaseStats::new(requests, ok, q(0.5), q(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_failures_but_time_only_successes() {
        let s = |phase, status, latency_ms| Sample {
            at_ms: 0.0,
            phase,
            status,
            latency_ms,
        };
        let samples = [
            s(Phase::Baseline, Some(200), 2.0),
            s(Phase::Attack, Some(200), 4.0),
            s(Phase::Attack, Some(503), 1.0),
            s(Phase::Attack, None, 5000.0),
            s(Phase::Attack, Some(204), 8.0),
        ];
        let a = stats(&samples, Phase::Attack);
        assert_eq!((a.requests, a.ok), (4, 2));
        assert!((a.success_rate - 0.5).abs() < 1e-9);
        assert!((a.p99_ms - 8.0).abs() < 0.01, "{a:?}");
        let r = stats(&samples, Phase::Recovery);
        assert_eq!((r.requests, r.success_rate), (0, 0.0));
    }
}
