//! The legitimate client: a fresh TLS connection and one request at a fixed rate (open model:
//! each request starts on schedule whether or not earlier ones have finished), from its own
//! address, with latency measured from the intended send time so that a stalled server is not
//! hidden by a stalled client (coordinated omission).
//!
//! The requests are a mix ([`Mix`]): `GET /healthz`, and on targets with rampart's auth flow
//! (see [`session`]) also `GET /v1/accounts` with the probe's session and, every
//! [`LOGIN_EVERY`], a login.

pub mod session;

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::client::{self, Client};
use crate::sources::PROBE_ADDR;
use crate::verdict::{self, PhaseStats};
use session::Session;

/// The health route: every target has one.
pub const HEALTH_PATH: &str = "/healthz";

/// How often the probe logs in when it has a session: 10 a minute, rampart's default
/// per-client login budget (each scenario's probe has an address of its own, see
/// [`crate::sources::probe_addr`]).
pub const LOGIN_EVERY: Duration = Duration::from_secs(6);

/// What one legitimate request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// `GET /healthz`.
    Health,
    /// `GET /v1/accounts` with the probe's session.
    Accounts,
    /// `POST /v1/sessions` with the probe's credentials.
    Login,
}

impl Route {
    /// Every route, in the order reports list them.
    pub const ALL: [Route; 3] = [Route::Health, Route::Accounts, Route::Login];

    /// What it asks for.
    pub fn describe(self) -> &'static str {
        match self {
            Route::Health => "GET /healthz",
            Route::Accounts => "GET /v1/accounts",
            Route::Login => "POST /v1/sessions",
        }
    }
}

/// The legitimate requests: with a session, a login every [`LOGIN_EVERY`] (the first half
/// way through the baseline, so that the baseline has one), `GET /v1/accounts` for every
/// third of the others, `GET /healthz` for the rest; without, `GET /healthz` only.
#[derive(Debug, Clone)]
pub struct Mix {
    /// The probe's session, if the target has the flow.
    pub session: Option<Session>,
    /// The address the requests come from.
    pub from: IpAddr,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            session: None,
            from: PROBE_ADDR,
        }
    }
}

impl Mix {
    /// The route of request `k` at `rate` per second, for a baseline of `baseline`.
    pub fn route(&self, k: u64, rate: u32, baseline: Duration) -> Route {
        if self.session.is_none() {
            return Route::Health;
        }
        let rate = u64::from(rate.max(1));
        let first_login = (baseline.as_secs_f64() / 2.0 * rate as f64) as u64;
        let every = (LOGIN_EVERY.as_secs() * rate).max(1);
        if k >= first_login && (k - first_login).is_multiple_of(every) {
            Route::Login
        } else if k % 3 == 1 {
            Route::Accounts
        } else {
            Route::Health
        }
    }

    /// One whole request for `route`.
    fn request(&self, route: Route, host: &str) -> Vec<u8> {
        match (route, &self.session) {
            (Route::Accounts, Some(s)) => s.accounts_request(host),
            (Route::Login, Some(s)) => s.login_request(host),
            _ => format!(
                "GET {HEALTH_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim probe\r\n\r\n"
            )
            .into_bytes(),
        }
    }

    /// What the mix is, in a line.
    pub fn describe(&self) -> String {
        match &self.session {
            Some(s) => format!(
                "GET /healthz, GET /v1/accounts as {} (every third request), and a login every {} s",
                s.username,
                LOGIN_EVERY.as_secs()
            ),
            None => "GET /healthz only".to_string(),
        }
    }
}

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
    /// What it asked for.
    pub route: Route,
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
    mix: Mix,
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
    let baseline = schedule.attack - schedule.start;
    for k in 0u64.. {
        let at = tick.tick().await;
        if at >= schedule.end {
            break;
        }
        let (client, from) = (client.clone(), mix.from);
        let route = mix.route(k, rate, baseline);
        let request = mix.request(route, client.host());
        tasks.push(tokio::spawn(async move {
            let work = async {
                let mut tls = client.tls_from(from).await.ok()?;
                client::exchange(&mut tls, &request).await.ok()
            };
            let status = tokio::time::timeout(timeout, work).await.ok().flatten();
            Sample {
                at_ms: (at - schedule.start).as_secs_f64() * 1000.0,
                phase: schedule.phase(at),
                route,
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

/// The numbers of one phase; latency percentiles by [`verdict::percentile`].
pub fn stats(samples: &[Sample], phase: Phase) -> PhaseStats {
    let (mut requests, mut ok) = (0u64, 0u64);
    let mut latencies = Vec::new();
    for s in samples.iter().filter(|s| s.phase == phase) {
        requests += 1;
        if s.ok() {
            ok += 1;
            latencies.push(s.latency_ms);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let q = |q: f64| verdict::percentile(&latencies, q).unwrap_or(0.0);
    PhaseStats::new(requests, ok, q(0.5), q(0.99))
}

/// When legitimate requests began to fail under the attack, and how long after it they
/// succeeded again (a failure: no 2xx within the timeout).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Availability {
    /// From the attack's start to the first failed request scheduled during it; `None` when
    /// none failed.
    pub time_to_denial_ms: Option<f64>,
    /// From the attack's end to the first success after the last failure: 0 when nothing
    /// failed from the attack's end on; `None` when requests were still failing at the end of
    /// the run (not recovered).
    pub recovery_ms: Option<f64>,
}

/// [`Availability`] from `samples` (in order) and the attack's window, all in ms from the
/// start of the run.
pub fn availability(samples: &[Sample], attack_from_ms: f64, attack_to_ms: f64) -> Availability {
    let time_to_denial_ms = samples
        .iter()
        .find(|s| s.phase == Phase::Attack && !s.ok())
        .map(|s| s.at_ms - attack_from_ms);
    let last_failure = samples
        .iter()
        .rposition(|s| s.at_ms >= attack_from_ms && !s.ok());
    let recovery_ms = match last_failure {
        Some(i) if samples[i].at_ms >= attack_to_ms => samples[i + 1..]
            .iter()
            .find(|s| s.ok())
            .map(|s| s.at_ms - attack_to_ms),
        _ => Some(0.0),
    };
    Availability {
        time_to_denial_ms,
        recovery_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_logs_in_in_the_baseline_and_every_six_seconds() {
        let none = Mix::default();
        assert!((0..100).all(|k| none.route(k, 10, Duration::from_secs(2)) == Route::Health));
        let mix = Mix {
            session: Some(Session::for_tests()),
            ..Mix::default()
        };
        let routes: Vec<_> = (0..200)
            .map(|k| mix.route(k, 10, Duration::from_secs(2)))
            .collect();
        let logins: Vec<_> = (0..200).filter(|&k| routes[k] == Route::Login).collect();
        assert_eq!(logins, [10, 70, 130, 190]);
        let accounts = routes.iter().filter(|r| **r == Route::Accounts).count();
        assert!((60..=67).contains(&accounts), "{accounts}");
        let req = String::from_utf8(mix.request(Route::Health, "h")).expect("utf-8");
        assert!(req.starts_with("GET /healthz HTTP/1.1\r\nHost: h\r\n"));
    }

    #[test]
    fn denial_and_recovery_are_timed_from_the_attack_window() {
        let s = |at_ms: f64, ok: bool| Sample {
            at_ms,
            phase: if at_ms < 1000.0 {
                Phase::Baseline
            } else if at_ms < 2000.0 {
                Phase::Attack
            } else {
                Phase::Recovery
            },
            route: Route::Health,
            status: ok.then_some(200),
            latency_ms: 1.0,
        };
        let run = |pattern: &[(f64, bool)]| {
            let samples: Vec<_> = pattern.iter().map(|&(t, ok)| s(t, ok)).collect();
            availability(&samples, 1000.0, 2000.0)
        };
        // Held throughout.
        let a = run(&[(500.0, true), (1500.0, true), (2500.0, true)]);
        assert_eq!((a.time_to_denial_ms, a.recovery_ms), (None, Some(0.0)));
        // Failing from 1.3 s into the attack until 0.7 s after it.
        let a = run(&[
            (500.0, true),
            (1100.0, true),
            (1300.0, false),
            (1900.0, false),
            (2300.0, false),
            (2700.0, true),
            (2900.0, true),
        ]);
        assert_eq!(
            (a.time_to_denial_ms, a.recovery_ms),
            (Some(300.0), Some(700.0))
        );
        // Recovered before the attack ended.
        let a = run(&[(1200.0, false), (1500.0, true), (2100.0, true)]);
        assert_eq!(
            (a.time_to_denial_ms, a.recovery_ms),
            (Some(200.0), Some(0.0))
        );
        // Never recovered.
        let a = run(&[(1200.0, false), (2500.0, true), (2900.0, false)]);
        assert_eq!((a.time_to_denial_ms, a.recovery_ms), (Some(200.0), None));
        // A baseline failure is not a denial.
        let a = run(&[(500.0, false), (1500.0, true)]);
        assert_eq!((a.time_to_denial_ms, a.recovery_ms), (None, Some(0.0)));
    }

    #[test]
    fn stats_count_failures_but_time_only_successes() {
        let s = |phase, status, latency_ms| Sample {
            at_ms: 0.0,
            phase,
            route: Route::Health,
            status,
            latency_ms,
        };
        let samples = [
            s(Phase::Baseline, Some(200), 2.0),
            s(Phase::Attack, Some(200), 4.0),
            s(Phase::Attack, Some(503), 1.0),
            s(Phase::Attack, None, 5000.0),
            s(Phase::Attack, Some(204), 8.0),
            s(Phase::Attack, Some(200), 6.0),
        ];
        let a = stats(&samples, Phase::Attack);
        assert_eq!((a.requests, a.ok), (5, 3));
        assert!((a.success_rate - 0.6).abs() < 1e-9);
        // Of three, the median is the middle one and the p99 the second slowest.
        assert!((a.p50_ms - 6.0).abs() < 0.01, "{a:?}");
        assert!((a.p99_ms - 6.0).abs() < 0.01, "{a:?}");
        let r = stats(&samples, Phase::Recovery);
        assert_eq!((r.requests, r.success_rate), (0, 0.0));
    }
}
