//! Runs one DoS scenario: the legitimate client through baseline, attack and recovery, the
//! attack in the middle, then the verdict. A target that fails the baseline is not attacked:
//! there is nothing to compare with, and attacking a server already down only keeps it down
//! for the scenarios after.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::client::Client;
use crate::dos::{AttackCounters, AttackCtx, AttackSample, AttackStats};
use crate::intensity::Preset;
use crate::probe::readiness::Readiness;
use crate::probe::{self, Availability, Mix, Phase, Sample, Schedule};
use crate::scenarios::{Run, Scenario};
use crate::sources::Sources;
use crate::spawn::sampler::{self, ServerStats};
use crate::verdict::{self, PhaseStats, Slo, Verdict};

/// The health route the floods ask for (the one every legitimate mix has).
pub const PROBE_PATH: &str = probe::HEALTH_PATH;

/// The note of a scenario whose target failed the baseline.
pub fn baseline_failed(b: &PhaseStats) -> String {
    format!(
        "the target failed the baseline ({} of {} legitimate requests answered as expected): not attacked",
        b.ok, b.requests
    )
}

/// The note of a scenario whose attack never got a connection or a byte through.
pub const NEVER_RAN: &str = "the attack never got going: no connection it opened was usable \
     (refused, reset, or for the HTTP/2 scenarios no h2 in ALPN), so nothing was measured under attack";

/// The legitimate side of a scenario, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Legit {
    /// Requests during the attack.
    pub requests: u64,
    /// Their success rate.
    pub success_rate: f64,
    /// Their p50 latency (ms, from the intended send time).
    pub p50_ms: f64,
    /// Their p99 latency.
    pub p99_ms: f64,
    /// The baseline's p99.
    pub baseline_p99_ms: f64,
    /// When requests began to fail, and when they recovered.
    #[serde(flatten)]
    pub availability: Availability,
    /// Every phase in full.
    pub baseline: PhaseStats,
    /// The attack phase in full.
    pub attack: PhaseStats,
    /// The recovery phase in full.
    pub recovery: PhaseStats,
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: &'static str,
    /// Its kind.
    pub kind: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// How long the scenario took, all phases.
    pub elapsed_ms: f64,
    /// When the attack started, in ms from the start of the run (the time base of every
    /// series below).
    pub attack_from_ms: f64,
    /// When it ended.
    pub attack_to_ms: f64,
    /// Why the verdict is what it is, when the numbers alone do not say (`null` otherwise).
    pub note: Option<String>,
    /// Legitimate traffic.
    pub legit: Legit,
    /// The attack's own counts.
    pub attack: AttackStats,
    /// The server's resources over the run (only when the harness spawned it).
    pub server: ServerStats,
    /// Every legitimate request, in order (for charts).
    pub samples: Vec<Sample>,
    /// The attack's counters every 250 ms (for charts).
    pub attack_samples: Vec<AttackSample>,
    /// Waiting for the target to answer the probe before this scenario (null when the
    /// harness did not wait: the first scenario of a run, or after one whose baseline the
    /// probe did not pass).
    pub before: Option<Readiness>,
    /// Waiting for it after this scenario: how long this scenario left it down (null when
    /// not checked).
    pub after: Option<Readiness>,
}

impl ScenarioResult {
    /// A scenario not run because the target did not answer the probe within `ready`'s bound.
    pub fn not_run(
        scenario: &Scenario,
        ready: Readiness,
        down_since: Option<&str>,
    ) -> ScenarioResult {
        let since = down_since.map_or(String::new(), |s| format!(" (down since {s})"));
        ScenarioResult {
            name: scenario.name,
            kind: scenario.kind,
            verdict: Verdict::Inconclusive,
            elapsed_ms: ready.waited_ms,
            attack_from_ms: 0.0,
            attack_to_ms: 0.0,
            note: Some(format!(
                "the target did not answer the legitimate client within {:.0} s{since}: not attacked",
                ready.limit_ms / 1000.0
            )),
            legit: Legit {
                requests: 0,
                success_rate: 0.0,
                p50_ms: 0.0,
                p99_ms: 0.0,
                baseline_p99_ms: 0.0,
                availability: Availability {
                    time_to_denial_ms: None,
                    recovery_ms: None,
                },
                baseline: PhaseStats::new(0, 0, 0.0, 0.0),
                attack: PhaseStats::new(0, 0, 0.0, 0.0),
                recovery: PhaseStats::new(0, 0, 0.0, 0.0),
            },
            attack: AttackStats::default(),
            server: ServerStats::default(),
            samples: Vec::new(),
            attack_samples: Vec::new(),
            before: Some(ready),
            after: None,
        }
    }
}

/// What a progress display is told every [`sampler::EVERY`] while a scenario runs.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// ms since the scenario's start.
    pub at_ms: f64,
    /// The whole run's length, in ms.
    pub total_ms: f64,
    /// The phase now.
    pub phase: Phase,
    /// The attack's counters now.
    pub attack: AttackSample,
}

/// Called with each [`Tick`].
pub type OnTick = Arc<dyn Fn(Tick) + Send + Sync>;

/// Runs the DoS `scenario` with `preset` against the target `client` connects to, with the
/// legitimate requests of `mix`; `on_tick`, if given, hears how it goes. (Scans are run by
/// [`crate::scans::run`]; given one, this measures the legitimate client alone.)
#[allow(clippy::too_many_arguments)]
pub async fn run(
    scenario: &Scenario,
    client: &Client,
    mix: &Mix,
    sources: &Sources,
    preset: Preset,
    slo: &Slo,
    server_pid: Option<u32>,
    on_tick: Option<OnTick>,
) -> ScenarioResult {
    let start = Instant::now() + Duration::from_millis(50);
    let planned = Schedule {
        start,
        attack: start + preset.baseline,
        recovery: start + preset.baseline + preset.attack,
        end: start + preset.baseline + preset.attack + preset.recovery,
    };
    // The server and the attack counters are watched from the start to the latest end (the
    // attack starts when the baseline's last request is answered).
    let watch_end = planned.end + preset.probe_timeout;
    let stop = sampler::Stop::default();
    let server =
        server_pid.map(|pid| tokio::spawn(sampler::sample(pid, start, watch_end, stop.clone())));
    let counters = Arc::new(AttackCounters::default());
    let watch = tokio::spawn(watch_attack(
        counters.clone(),
        planned,
        watch_end,
        stop.clone(),
        on_tick,
    ));
    // The legitimate client on a thread of its own (probe::isolated), the baseline too, so
    // that both phases are measured the same way.
    let mut samples = probe::isolated(probe::run_window(
        client.clone(),
        mix.clone(),
        preset.probe_rate,
        preset.probe_timeout,
        planned,
        start,
        planned.attack,
        0,
    ))
    .await
    .unwrap_or_default();
    let baseline = probe::stats(&samples, Phase::Baseline);
    let gated = verdict::baseline_holds(&baseline, slo);
    let attack_start = Instant::now().max(planned.attack);
    let schedule = Schedule {
        start,
        attack: attack_start,
        recovery: attack_start + preset.attack,
        end: attack_start + preset.attack + preset.recovery,
    };
    if gated {
        let rest = tokio::spawn(probe::isolated(probe::run_window(
            client.clone(),
            mix.clone(),
            preset.probe_rate,
            preset.probe_timeout,
            schedule,
            attack_start,
            schedule.end,
            samples.len() as u64,
        )));
        let ctx = AttackCtx {
            client: client.clone(),
            sources: sources.clone(),
            preset,
            until: schedule.recovery,
        };
        tokio::time::sleep_until(attack_start).await;
        if let Run::Dos(attack) = scenario.run {
            attack(ctx, counters.clone()).await;
        }
        samples.extend(rest.await.ok().flatten().unwrap_or_default());
    }
    stop.set();
    let attack_samples = watch.await.unwrap_or_default();
    let server = match server {
        Some(task) => task.await.unwrap_or_default(),
        None => ServerStats::default(),
    };
    let attack = probe::stats(&samples, Phase::Attack);
    let recovery = probe::stats(&samples, Phase::Recovery);
    let attack_stats = counters.snapshot();
    let attack_from_ms = (schedule.attack - start).as_secs_f64() * 1000.0;
    let attack_to_ms = (schedule.recovery - start).as_secs_f64() * 1000.0;
    let mut verdict = verdict::judge(&baseline, &attack, slo);
    let mut note = None;
    if !gated {
        verdict = Verdict::Inconclusive;
        note = Some(baseline_failed(&baseline));
    } else if verdict == Verdict::Held && attack_stats.never_ran() {
        // A target that was never under attack has not held it.
        verdict = Verdict::Inconclusive;
        note = Some(NEVER_RAN.to_string());
    }
    ScenarioResult {
        name: scenario.name,
        kind: scenario.kind,
        verdict,
        note,
        elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
        attack_from_ms,
        attack_to_ms,
        legit: Legit {
            requests: attack.requests,
            success_rate: attack.success_rate,
            p50_ms: attack.p50_ms,
            p99_ms: attack.p99_ms,
            baseline_p99_ms: baseline.p99_ms,
            availability: probe::availability(&samples, attack_from_ms, attack_to_ms),
            baseline,
            attack,
            recovery,
        },
        attack: attack_stats,
        server,
        samples,
        attack_samples,
        before: None,
        after: None,
    }
}

/// Reads the attack's counters every [`sampler::EVERY`] over the schedule, telling
/// `on_tick` each time.
async fn watch_attack(
    counters: Arc<AttackCounters>,
    schedule: Schedule,
    end: Instant,
    stop: sampler::Stop,
    on_tick: Option<OnTick>,
) -> Vec<AttackSample> {
    let total_ms = (schedule.end - schedule.start).as_secs_f64() * 1000.0;
    sampler::every_tick(schedule.start, end, &stop, |at_ms| {
        let sample = counters.sample(at_ms);
        if let Some(f) = &on_tick {
            f(Tick {
                at_ms,
                total_ms,
                phase: schedule.phase(Instant::now()),
                attack: sample,
            });
        }
        Some(sample)
    })
    .await
}
