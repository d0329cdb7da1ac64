//! Verdicts. For DoS scenarios, from the legitimate client's numbers (the contract in ARCHITECTURE.md: "held" when
//! the success rate during the attack is at least 99 % and its p99 at most 3x the baseline
//! p99); for the scanners (`injection`, `auth`, `tls`), from their findings.

use serde::Serialize;

use crate::findings::{Confidence, Finding};

/// Thresholds, overridable with `--slo`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slo {
    /// Least success rate (0..=1) during the attack for `held`, and in the baseline for the
    /// run to count at all.
    pub min_success: f64,
    /// Most attack p99 as a multiple of the baseline p99 for `held`.
    pub max_p99_ratio: f64,
    /// The baseline p99 is taken as at least this many ms, so that a sub-millisecond baseline
    /// does not turn scheduling noise into a failure.
    pub p99_floor_ms: f64,
    /// Below this success rate during the attack the verdict is `denied`, not `degraded`.
    pub denied_below: f64,
}

impl Slo {
    /// The most an attack's p99 may be for `held`, given the baseline's p99 (both in ms).
    pub fn p99_bound_ms(&self, baseline_p99_ms: f64) -> f64 {
        self.max_p99_ratio * baseline_p99_ms.max(self.p99_floor_ms)
    }
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            min_success: 0.99,
            max_p99_ratio: 3.0,
            p99_floor_ms: 50.0,
            denied_below: 0.5,
        }
    }
}

/// The outcome of a scenario: `held | degraded | denied | inconclusive` for `dos`,
/// `passed | suspected | vulnerable | inconclusive` for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Legitimate traffic met the SLO throughout.
    Held,
    /// Legitimate traffic was served, but worse than the SLO.
    Degraded,
    /// Legitimate traffic mostly failed.
    Denied,
    /// The target failed the baseline, nothing was measured, or a scanner was starved of
    /// answers: no judgement.
    Inconclusive,
    /// A scanner ran every check and found nothing.
    Passed,
    /// A scanner found signs of a flaw it could not confirm.
    Suspected,
    /// A scanner confirmed a flaw.
    Vulnerable,
}

impl Verdict {
    /// As printed and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Degraded => "degraded",
            Verdict::Denied => "denied",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Passed => "passed",
            Verdict::Suspected => "suspected",
            Verdict::Vulnerable => "vulnerable",
        }
    }

    /// A failure: the target lost availability or has a flaw.
    pub fn failed(self) -> bool {
        matches!(
            self,
            Verdict::Degraded | Verdict::Denied | Verdict::Suspected | Verdict::Vulnerable
        )
    }

    /// The verdict of a scan that found `findings`; `complete` is false when some check could
    /// not be made (starved by throttling, refused before it could judge). A finding is a
    /// finding however incomplete the rest: it wins over inconclusive.
    pub fn of_scan(findings: &[Finding], complete: bool) -> Verdict {
        if findings
            .iter()
            .any(|f| f.confidence == Confidence::Confirmed)
        {
            Verdict::Vulnerable
        } else if !findings.is_empty() {
            Verdict::Suspected
        } else if complete {
            Verdict::Passed
        } else {
            Verdict::Inconclusive
        }
    }
}

/// The legitimate client's numbers for one phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhaseStats {
    /// Requests started in the phase.
    pub requests: u64,
    /// Of which answered as the probe expects, in time.
    pub ok: u64,
    /// `ok / requests` (0 when nothing was sent).
    pub success_rate: f64,
    /// Median latency of successful requests, from the intended send time.
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
}

impl PhaseStats {
    /// From counts and latency percentiles; the success rate is 0 when nothing was sent.
    pub fn new(requests: u64, ok: u64, p50_ms: f64, p99_ms: f64) -> Self {
        PhaseStats {
            requests,
            ok,
            success_rate: if requests == 0 {
                0.0
            } else {
                ok as f64 / requests as f64
            },
            p50_ms,
            p99_ms,
        }
    }
}

/// The `q` quantile (0..=1) of `sorted` (ascending), by the lower of the two nearest ranks:
/// the value at (0-based) index `floor(q * (n - 1))`, numpy's `method="lower"`; `None` when
/// empty.
///
/// The nearest rank `ceil(q * n)` makes the p99 of fewer than 100 samples their maximum: one
/// slow request (a CPU hiccup on a machine shared with the attacker) would decide a verdict
/// alone, in the baseline as under attack. The lower rank needs two slow requests in 100, or
/// one in fewer, before the p99 moves: at smoke intensity (20 baseline and 60 attack
/// samples) the p99 is the second slowest. From 100 samples on the two differ by at most one
/// rank.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let index = (q.clamp(0.0, 1.0) * last as f64).floor() as usize;
    sorted.get(index.min(last)).copied()
}

/// Whether the baseline was good enough to attack: requests were made and at least
/// `min_success` of them answered as expected.
pub fn baseline_holds(baseline: &PhaseStats, slo: &Slo) -> bool {
    baseline.requests > 0 && baseline.success_rate >= slo.min_success
}

/// Judges one scenario.
pub fn judge(baseline: &PhaseStats, attack: &PhaseStats, slo: &Slo) -> Verdict {
    if baseline.requests == 0 || attack.requests == 0 || baseline.success_rate < slo.min_success {
        return Verdict::Inconclusive;
    }
    if attack.success_rate < slo.denied_below {
        return Verdict::Denied;
    }
    let allowed = slo.p99_bound_ms(baseline.p99_ms);
    if attack.success_rate >= slo.min_success && attack.p99_ms <= allowed {
        Verdict::Held
    } else {
        Verdict::Degraded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(requests: u64, ok: u64, p99_ms: f64) -> PhaseStats {
        PhaseStats::new(requests, ok, p99_ms / 2.0, p99_ms)
    }

    #[test]
    fn one_slow_request_of_a_small_sample_is_not_the_p99() {
        let mut twenty: Vec<f64> = (1..=19).map(f64::from).collect();
        twenty.push(500.0);
        assert_eq!(percentile(&twenty, 0.99), Some(19.0));
        assert_eq!(percentile(&twenty, 0.5), Some(10.0));
        // Two slow ones of twenty move it.
        twenty[18] = 400.0;
        twenty.sort_by(f64::total_cmp);
        assert_eq!(percentile(&twenty, 0.99), Some(400.0));
        // From a hundred on, it is the usual p99 give or take one rank.
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 0.99), Some(99.0));
        let six_hundred: Vec<f64> = (1..=600).map(f64::from).collect();
        assert_eq!(percentile(&six_hundred, 0.99), Some(594.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[7.0], 0.0), Some(7.0));
        assert_eq!(percentile(&[], 0.99), None);
    }

    #[test]
    fn verdicts_follow_the_slo() {
        let slo = Slo::default();
        let base = phase(100, 100, 20.0);
        assert_eq!(judge(&base, &phase(300, 300, 40.0), &slo), Verdict::Held);
        assert_eq!(judge(&base, &phase(300, 297, 40.0), &slo), Verdict::Held);
        assert_eq!(
            judge(&base, &phase(300, 296, 40.0), &slo),
            Verdict::Degraded
        );
        assert_eq!(
            judge(&base, &phase(300, 300, 151.0), &slo),
            Verdict::Degraded
        );
        assert_eq!(judge(&base, &phase(300, 149, 10.0), &slo), Verdict::Denied);
        assert_eq!(
            judge(&phase(100, 90, 20.0), &phase(300, 300, 1.0), &slo),
            Verdict::Inconclusive
        );
        assert_eq!(
            judge(&phase(0, 0, 0.0), &phase(300, 300, 1.0), &slo),
            Verdict::Inconclusive
        );
    }

    #[test]
    fn scan_verdicts_follow_the_findings() {
        use crate::findings::{Evidence, Severity};
        let finding = |confidence| Finding {
            severity: Severity::High,
            confidence,
            endpoint: "GET /x".into(),
            parameter: None,
            technique: "t",
            summary: String::new(),
            evidence: Evidence::default(),
        };
        let tentative = finding(Confidence::Tentative);
        let confirmed = finding(Confidence::Confirmed);
        assert_eq!(Verdict::of_scan(&[], true), Verdict::Passed);
        assert_eq!(Verdict::of_scan(&[], false), Verdict::Inconclusive);
        assert_eq!(
            Verdict::of_scan(std::slice::from_ref(&tentative), false),
            Verdict::Suspected
        );
        assert_eq!(
            Verdict::of_scan(&[tentative, confirmed], true),
            Verdict::Vulnerable
        );
        assert!(Verdict::Suspected.failed() && !Verdict::Passed.failed());
    }

    #[test]
    fn the_p99_floor_keeps_tiny_baselines_from_failing_on_noise() {
        let slo = Slo::default();
        let base = phase(100, 100, 1.0);
        assert_eq!(judge(&base, &phase(300, 300, 149.0), &slo), Verdict::Held);
        let strict = Slo {
            p99_floor_ms: 0.0,
            ..slo
        };
        assert_eq!(
            judge(&base, &phase(300, 300, 4.0), &strict),
            Verdict::Degraded
        );
    }
}
