//! `attack-sim capacity SCENARIO`: where a server breaks, not whether it holds at one load.
//! A staircase: the scenario runs at a load (connections) that doubles from `start` until a
//! step fails the SLO or the load reaches `--max`; then the gap between the last load held and
//! the first failed is halved until it is within 10 % (or [`MAX_STEPS`] steps were run). Each
//! step is a whole scenario run (baseline, attack, recovery, judged by the SLO with the
//! legitimate client), after waiting for the target to answer again.
//!
//! The result is `held_up_to` (the largest load held; null when even the first step failed)
//! and `failed_at` (the smallest load that failed; null when none did up to `--max`).

use serde::Serialize;

use super::{CampaignError, Config, Known, Reach};
use crate::dos::runner;
use crate::intensity::Preset;
use crate::probe::Mix;
use crate::probe::readiness;
use crate::report::RunInfo;
use crate::report::progress::Progress;
use crate::scenarios::Load;
use crate::scenarios::Scenario;
use crate::sources;
use crate::verdict::Verdict;

/// `--max` when not given.
pub const DEFAULT_MAX: u64 = 4096;
/// `--start` when not given.
pub const DEFAULT_START: u64 = 32;

/// What to search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The DoS scenario.
    pub scenario: String,
    /// The largest load tried.
    pub max: u64,
    /// The first.
    pub start: u64,
}

/// `attack-sim capacity`: reaches the target, searches, writes the reports (report.json's
/// `capacity`, with the steps' chart in report.html); exit 0 when the search completed, 3
/// when it was stopped by an inconclusive step, 1 on a regression against `--baseline`.
pub async fn run(cfg: &Config, search: &Search) -> Result<u8, CampaignError> {
    let scenario = match crate::scenarios::select(std::slice::from_ref(&search.scenario)) {
        Ok(found) if found.len() == 1 && found[0].load != Load::None => found[0],
        Ok(_) => {
            return Err(CampaignError::Usage(format!(
                "capacity: `{}` is not one DoS scenario (see `attack-sim list`)",
                search.scenario
            )));
        }
        Err(e) => return Err(CampaignError::Usage(e.to_string())),
    };
    if search.start == 0 || search.max < search.start {
        return Err(CampaignError::Usage(format!(
            "capacity: --start ({}) must be at least 1 and at most --max ({})",
            search.start, search.max
        )));
    }
    let earlier = match &cfg.baseline {
        Some(path) => Some(super::regression::Earlier::load(path).map_err(CampaignError::Usage)?),
        None => None,
    };
    let mut preset = super::preset_of(cfg);
    // Sized for the largest step: descriptors and source addresses.
    preset = scenario.load.apply(preset, search.max as usize);
    super::raise_open_files(&preset);
    let reach = super::reach(cfg, &preset, false).await?;
    let result = async {
        let known = super::know(cfg, &reach, true).await?;
        let run = RunInfo {
            target: reach.target.url.clone(),
            started_at: RunInfo::timestamp(time::OffsetDateTime::now_utc()),
            intensity: cfg.intensity,
            slo: cfg.slo,
            tls_verified: cfg.trust.verified() || matches!(cfg.target, super::TargetSpec::Spawn(_)),
            trust: cfg.trust.describe(),
            legit_client: Some(known.mix.describe()),
            notes: known.notes.clone(),
        };
        println!(
            "attack-sim capacity: {} against {} ({}), {} from {} up to {}, intensity {:?}",
            scenario.name,
            reach.target.url,
            reach.target.addr,
            scenario.load.unit(),
            search.start,
            search.max,
            cfg.intensity
        );
        println!("attack-sim: legitimate client: {}", known.mix.describe());
        let c = search_capacity(
            cfg,
            &preset,
            &scenario,
            &reach,
            &known,
            search.start,
            search.max,
        )
        .await;
        println!("attack-sim: {}", c.describe());
        if let Some(n) = &c.note {
            println!("attack-sim: {n}");
        }
        let comparison = earlier.map(|e| e.compare(&[], Some(&c)));
        super::write_reports(&cfg.report_dir, &run, &[], Some(&c), comparison.as_ref())?;
        if let Some(cmp) = &comparison {
            print!("{}", super::regression::describe(cmp));
        }
        let code = if c.note.is_some()
            && c.steps
                .last()
                .is_some_and(|s| s.verdict == Verdict::Inconclusive)
            || c.steps.is_empty()
        {
            crate::exit::INCONCLUSIVE
        } else {
            crate::exit::OK
        };
        Ok(super::with_regressions(code, comparison.as_ref()))
    }
    .await;
    reach.stop(&cfg.report_dir).await;
    result
}

/// Steps run at most (growth and bisection together).
pub const MAX_STEPS: usize = 14;

/// The precision the bisection stops at: the gap between held and failed, as a share of the
/// load held.
pub const PRECISION: f64 = 0.10;

/// One step of the search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The load.
    pub load: u64,
    /// The scenario's verdict at it.
    pub verdict: Verdict,
    /// Legitimate success during the attack.
    pub success_rate: f64,
    /// Legitimate p99 during the attack, ms.
    pub p99_ms: f64,
    /// The baseline's p99, ms.
    pub baseline_p99_ms: f64,
    /// Why, when the verdict needs a reason.
    pub note: Option<String>,
}

/// The search's result: report.json's top-level `capacity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// The scenario searched.
    pub scenario: &'static str,
    /// What the load counts.
    pub unit: &'static str,
    /// The largest load held (null: even the first step failed).
    pub held_up_to: Option<u64>,
    /// The smallest load that failed (null: none did, up to `max`).
    pub failed_at: Option<u64>,
    /// The search's bound.
    pub max: u64,
    /// Every step, in the order run.
    pub steps: Vec<Step>,
    /// Why the search ended early, if it did.
    pub note: Option<String>,
}

impl Capacity {
    /// In a line.
    pub fn describe(&self) -> String {
        let held = self
            .held_up_to
            .map_or("nothing (the first step failed)".into(), |n| {
                format!("{n} {}", self.unit)
            });
        let failed = match self.failed_at {
            Some(n) => format!("failed at {n}"),
            None => format!("never failed up to --max {}", self.max),
        };
        format!(
            "capacity under {}: held up to {held}; {failed} ({} steps)",
            self.scenario,
            self.steps.len()
        )
    }
}

/// The next load to try, given what held and what failed so far; `None` when the search is
/// done.
pub fn next(held: Option<u64>, failed: Option<u64>, start: u64, max: u64) -> Option<u64> {
    match (held, failed) {
        (None, None) => Some(start.min(max)),
        (Some(h), None) if h >= max => None,
        (Some(h), None) => Some(h.saturating_mul(2).min(max)),
        (held, Some(f)) => {
            let lo = held.unwrap_or(0);
            let gap = f.saturating_sub(lo);
            let enough = ((lo as f64 * PRECISION).ceil() as u64).max(1);
            if gap <= enough {
                None
            } else {
                Some(lo + gap / 2)
            }
        }
    }
}

/// Whether a step's verdict counts as held.
fn held(v: Verdict) -> bool {
    v == Verdict::Held
}

/// Searches `scenario`'s capacity on the target, from `start` up to `max`.
pub async fn search_capacity(
    cfg: &Config,
    preset: &Preset,
    scenario: &Scenario,
    reach: &Reach,
    known: &Known,
    start: u64,
    max: u64,
) -> Capacity {
    let mut c = Capacity {
        scenario: scenario.name,
        unit: scenario.load.unit(),
        held_up_to: None,
        failed_at: None,
        max,
        steps: Vec::new(),
        note: None,
    };
    // Whether the last step's baseline passed: then the probe works on this target, and the
    // next step waits for it to pass again.
    let mut probe_works = false;
    while c.steps.len() < MAX_STEPS {
        let Some(load) = next(c.held_up_to, c.failed_at, start, max) else {
            break;
        };
        let i = c.steps.len();
        let from = sources::probe_addr(i);
        let mix = Mix {
            from,
            ..known.mix.clone()
        };
        let ready = if probe_works {
            readiness::wait(
                &reach.client,
                &mix,
                from,
                preset.ready_wait,
                preset.probe_timeout,
            )
            .await
        } else {
            readiness::Readiness {
                ready: true,
                waited_ms: 0.0,
                limit_ms: 0.0,
            }
        };
        if !ready.ready {
            c.note = Some(format!(
                "the target did not answer the legitimate client within {:.0} s after the step at {}: the search stopped",
                ready.limit_ms / 1000.0,
                c.steps.last().map_or(0, |s| s.load)
            ));
            break;
        }
        println!("step {}: {} at {load} {} ...", i + 1, scenario.name, c.unit);
        let step_preset = scenario.load.apply(*preset, load as usize);
        let progress = Progress::start(
            scenario.name,
            step_preset.baseline + step_preset.attack + step_preset.recovery,
        );
        let r = runner::run(
            scenario,
            &reach.client,
            &mix,
            &reach.sources,
            step_preset,
            &cfg.slo,
            reach.pid(),
            progress.on_tick(),
        )
        .await;
        progress.finish();
        probe_works = crate::verdict::baseline_holds(&r.legit.baseline, &cfg.slo);
        println!("    {}", crate::report::scorecard::dos_line(&r));
        let step = Step {
            load,
            verdict: r.verdict,
            success_rate: r.legit.success_rate,
            p99_ms: r.legit.p99_ms,
            baseline_p99_ms: r.legit.baseline_p99_ms,
            note: r.note.clone(),
        };
        if r.verdict == Verdict::Inconclusive {
            c.steps.push(step);
            c.note = Some(format!(
                "the step at {load} was inconclusive ({}): the search stopped",
                r.note.unwrap_or_default()
            ));
            break;
        }
        if held(step.verdict) {
            c.held_up_to = Some(c.held_up_to.map_or(load, |h| h.max(load)));
        } else {
            c.failed_at = Some(c.failed_at.map_or(load, |f| f.min(load)));
        }
        c.steps.push(step);
    }
    if c.steps.len() >= MAX_STEPS && next(c.held_up_to, c.failed_at, start, max).is_some() {
        c.note = Some(format!(
            "stopped after {MAX_STEPS} steps, before the 10 % precision"
        ));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The search against a server that holds exactly up to `limit`.
    fn simulate(limit: u64, start: u64, max: u64) -> (Option<u64>, Option<u64>, Vec<u64>) {
        let (mut h, mut f, mut tried) = (None, None, Vec::new());
        while tried.len() < MAX_STEPS {
            let Some(load) = next(h, f, start, max) else {
                break;
            };
            tried.push(load);
            if load <= limit {
                h = Some(h.map_or(load, |x: u64| x.max(load)));
            } else {
                f = Some(f.map_or(load, |x: u64| x.min(load)));
            }
        }
        (h, f, tried)
    }

    #[test]
    fn the_staircase_grows_then_bisects_to_ten_percent() {
        let (h, f, tried) = simulate(300, 50, 10_000);
        assert_eq!(&tried[..4], &[50, 100, 200, 400]);
        let (h, f) = (h.expect("held"), f.expect("failed"));
        assert!(h <= 300 && f > 300, "{h} {f} {tried:?}");
        assert!(
            (f - h) as f64 <= (h as f64 * PRECISION).ceil().max(1.0),
            "{h} {f}"
        );
        assert!(tried.len() <= 9, "{tried:?}");
    }

    #[test]
    fn a_server_that_never_fails_is_searched_up_to_max() {
        let (h, f, tried) = simulate(u64::MAX, 50, 1000);
        assert_eq!((h, f), (Some(1000), None));
        assert_eq!(tried, [50, 100, 200, 400, 800, 1000]);
    }

    #[test]
    fn a_server_that_fails_at_once_is_bisected_towards_zero() {
        let (h, f, tried) = simulate(10, 50, 1000);
        assert_eq!(tried[0], 50);
        assert!(
            f.expect("failed") <= 11 && h.expect("held") <= 10,
            "{tried:?}"
        );
        let (h, f, _) = simulate(0, 50, 1000);
        assert_eq!((h, f), (None, Some(1)));
    }
}
