//! Verdicts for DoS scenarios, from the legitimate client's numbers (DESIGN: "held" when the
//! success rate during the attack is at least 99 % and its p99 at most 3x the baseline p99).

use serde::Serialize;

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

/// The outcome of a DoS scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Legitimate traffic met the SLO throughout.
    Held,
    /// Legitimate traffic was served, but worse than the SLO.
    Degraded,
    /// Legitimate traffic mostly failed.
    Denied,
    /// The target failed the baseline (or nothing was measured): no judgement.
    Inconclusive,
}

impl Verdict {
    /// As printed and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Degraded => "degraded",
            Verdict::Denied => "denied",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The legitimate client's numbers for one phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhaseStats {
    /// Requests started in the phase.
    pub requests: u64,
    /// Of which answered 2xx in time.
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

/// Judges one scenario.
pub fn judge(baseline: &PhaseStats, attack: &PhaseStats, slo: &Slo) -> Verdict {
    if baseline.requests == 0 || attack.requests == 0 || baseline.success_rate < slo.min_success {
        return Verdict::Inconclusive;
    }
    if attack.success_rate < slo.denied_below {
        return Verdict::Denied;
    }
    let allowed = slo.max_p99_ratio * baseline.p99_ms.max(slo.p99_floor_ms);
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
