//! The regression gate (`--baseline OLD/report.json`): this run against an earlier one of
//! the same target. A regression is a new finding (a fingerprint the earlier run did not
//! have, see [`crate::findings::fingerprint`]), a worse verdict for a scenario both ran
//! (held < degraded < denied; passed < suspected < vulnerable), or a capacity down by more
//! than [`CAPACITY_DROP`]. Any regression fails the run (exit 1). Legitimate success and p99
//! ratios are compared and shown, but decide nothing: they move with the machine.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::capacity::Capacity;
use crate::findings::fingerprint;
use crate::outcome::Outcome;

/// The share of capacity lost that is a regression.
pub const CAPACITY_DROP: f64 = 0.20;

/// The earlier report, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Earlier {
    /// Where it was read from.
    pub path: String,
    /// When that run started.
    pub started_at: String,
    /// Its scenarios: name, verdict, legitimate success and p99 ratio (DoS only).
    pub scenarios: Vec<EarlierScenario>,
    /// Its findings.
    pub findings: Vec<EarlierFinding>,
    /// Its capacity search: scenario and load held.
    pub capacity: Option<(String, Option<u64>)>,
}

/// A scenario of the earlier report.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierScenario {
    /// Its name.
    pub name: String,
    /// Its verdict, as written.
    pub verdict: String,
    /// Legitimate success during the attack (DoS).
    pub success_rate: Option<f64>,
    /// Attack p99 over baseline p99 (DoS).
    pub p99_ratio: Option<f64>,
}

/// A finding of the earlier report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EarlierFinding {
    /// Its scenario.
    pub scenario: String,
    /// Technique.
    pub technique: String,
    /// Endpoint.
    pub endpoint: String,
    /// Parameter.
    pub parameter: Option<String>,
    /// Severity, as written.
    pub severity: String,
    /// Its summary.
    pub summary: String,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// One regression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    /// `new-finding`, `worse-verdict` or `capacity-down`.
    pub kind: &'static str,
    /// The scenario.
    pub scenario: String,
    /// In words.
    pub detail: String,
    /// The finding's fingerprint (`new-finding`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One scenario both runs made, side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    /// The scenario.
    pub scenario: String,
    /// Its verdict then.
    pub verdict_before: String,
    /// And now.
    pub verdict_now: String,
    /// Legitimate success then and now (DoS).
    pub success_before: Option<f64>,
    /// Now.
    pub success_now: Option<f64>,
    /// Attack p99 over baseline p99, then.
    pub p99_ratio_before: Option<f64>,
    /// Now.
    pub p99_ratio_now: Option<f64>,
}

/// The comparison: report.json's `baseline` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The earlier report's path.
    pub report: String,
    /// When that run started.
    pub started_at: String,
    /// What got worse (report.json has them as its top-level `regressions`).
    #[serde(skip)]
    pub regressions: Vec<Regression>,
    /// Findings the earlier run had and this one has not.
    pub absent: Vec<EarlierFinding>,
    /// Every scenario both ran.
    pub scenarios: Vec<Delta>,
    /// The earlier run's finding fingerprints (for SARIF's `baselineState`).
    #[serde(skip)]
    pub earlier_fingerprints: BTreeSet<String>,
}

impl Comparison {
    /// Whether anything regressed.
    pub fn regressed(&self) -> bool {
        !self.regressions.is_empty()
    }
}

/// How bad a verdict is within its kind; `None` for `inconclusive` (nothing to compare).
fn rank(verdict: &str) -> Option<u8> {
    match verdict {
        "held" | "passed" => Some(0),
        "degraded" | "suspected" => Some(1),
        "denied" | "vulnerable" => Some(2),
        _ => None,
    }
}

fn ratio(p99: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (p99, base) {
        (Some(p), Some(b)) if b > 0.0 => Some(p / b),
        _ => None,
    }
}

impl Earlier {
    /// Reads `path` (a report.json of schema version 1).
    pub fn load(path: &Path) -> Result<Earlier, String> {
        let name = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| format!("--baseline {name}: {e}"))?;
        let doc: Value = serde_json::from_slice(&text)
            .map_err(|e| format!("--baseline {name}: not JSON: {e}"))?;
        let mut earlier =
            Earlier::from_json(&doc).map_err(|e| format!("--baseline {name}: {e}"))?;
        earlier.path = name;
        Ok(earlier)
    }

    /// From a report.json document.
    pub fn from_json(doc: &Value) -> Result<Earlier, String> {
        if doc["schema_version"] != 1 {
            return Err(format!(
                "not an attack-sim report.json of schema version 1 (schema_version: {})",
                doc["schema_version"]
            ));
        }
        let scenarios = doc["scenarios"].as_array().ok_or("no scenarios array")?;
        let mut out = Earlier {
            path: String::new(),
            started_at: doc["started_at"].as_str().unwrap_or_default().to_string(),
            scenarios: Vec::new(),
            findings: Vec::new(),
            capacity: doc["capacity"]["scenario"]
                .as_str()
                .map(|s| (s.to_string(), doc["capacity"]["held_up_to"].as_u64())),
        };
        for s in scenarios {
            let name = s["name"]
                .as_str()
                .ok_or("a scenario without a name")?
                .to_string();
            let legit = &s["legit"];
            out.scenarios.push(EarlierScenario {
                name: name.clone(),
                verdict: s["verdict"].as_str().unwrap_or_default().to_string(),
                success_rate: legit["success_rate"].as_f64(),
                p99_ratio: ratio(legit["p99_ms"].as_f64(), legit["baseline_p99_ms"].as_f64()),
            });
            for f in s["findings"].as_array().into_iter().flatten() {
                let technique = f["technique"].as_str().unwrap_or_default().to_string();
                let endpoint = f["endpoint"].as_str().unwrap_or_default().to_string();
                let parameter = f["parameter"].as_str().map(str::to_string);
                out.findings.push(EarlierFinding {
                    scenario: name.clone(),
                    fingerprint: fingerprint(&technique, &endpoint, parameter.as_deref()),
                    technique,
                    endpoint,
                    parameter,
                    severity: f["severity"].as_str().unwrap_or_default().to_string(),
                    summary: f["summary"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(out)
    }

    /// This run's `results` (and capacity) against the earlier one.
    pub fn compare(&self, results: &[Outcome], capacity: Option<&Capacity>) -> Comparison {
        let earlier_fingerprints: BTreeSet<String> = self
            .findings
            .iter()
            .map(|f| f.fingerprint.clone())
            .collect();
        let mut regressions = Vec::new();
        let mut deltas = Vec::new();
        let mut now_fingerprints = BTreeSet::new();
        for o in results {
            for f in o.findings() {
                let fp = f.fingerprint();
                if !earlier_fingerprints.contains(&fp) && now_fingerprints.insert(fp.clone()) {
                    regressions.push(Regression {
                        kind: "new-finding",
                        scenario: o.name().to_string(),
                        detail: format!(
                            "new {} finding: {} on {}{}",
                            f.severity.as_str(),
                            f.technique,
                            f.endpoint,
                            f.parameter
                                .as_deref()
                                .map_or(String::new(), |p| format!(" ({p})"))
                        ),
                        fingerprint: Some(fp),
                    });
                } else {
                    now_fingerprints.insert(fp);
                }
            }
            let Some(before) = self.scenarios.iter().find(|s| s.name == o.name()) else {
                continue;
            };
            let now = o.verdict();
            if let (Some(b), Some(n)) = (rank(&before.verdict), rank(now.as_str()))
                && n > b
            {
                regressions.push(Regression {
                    kind: "worse-verdict",
                    scenario: o.name().to_string(),
                    detail: format!("{} was {}, now {}", o.name(), before.verdict, now.as_str()),
                    fingerprint: None,
                });
            }
            let (success_now, ratio_now) = match o.dos() {
                Some(r) => (
                    Some(r.legit.success_rate),
                    ratio(Some(r.legit.p99_ms), Some(r.legit.baseline_p99_ms)),
                ),
                None => (None, None),
            };
            deltas.push(Delta {
                scenario: o.name().to_string(),
                verdict_before: before.verdict.clone(),
                verdict_now: now.as_str().to_string(),
                success_before: before.success_rate,
                success_now,
                p99_ratio_before: before.p99_ratio,
                p99_ratio_now: ratio_now,
            });
        }
        if let (Some(c), Some((scenario, Some(before)))) = (capacity, &self.capacity)
            && c.scenario == scenario
        {
            let now = c.held_up_to.unwrap_or(0);
            if (now as f64) < *before as f64 * (1.0 - CAPACITY_DROP) {
                regressions.push(Regression {
                    kind: "capacity-down",
                    scenario: scenario.clone(),
                    detail: format!(
                        "{scenario}: held up to {before} {}, now {now} ({:.0} % less)",
                        c.unit,
                        (1.0 - now as f64 / *before as f64) * 100.0
                    ),
                    fingerprint: None,
                });
            }
        }
        // A finding absent now, from a scenario this run made.
        let absent = self
            .findings
            .iter()
            .filter(|f| !now_fingerprints.contains(&f.fingerprint))
            .filter(|f| results.iter().any(|o| o.name() == f.scenario))
            .cloned()
            .collect();
        Comparison {
            report: self.path.clone(),
            started_at: self.started_at.clone(),
            regressions,
            absent,
            scenarios: deltas,
            earlier_fingerprints,
        }
    }
}

/// The comparison for the terminal.
pub fn describe(c: &Comparison) -> String {
    let mut out = format!(
        "against the baseline {} ({}): {} regression(s), {} finding(s) gone\n",
        c.report,
        c.started_at,
        c.regressions.len(),
        c.absent.len()
    );
    for r in &c.regressions {
        out += &format!("  REGRESSION {}: {}\n", r.kind, r.detail);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Confidence, Evidence, Finding, Severity};
    use crate::scans::{Check, CheckResult, ScanResult};
    use crate::verdict::Verdict;
    use serde_json::json;

    fn scan(name: &'static str, verdict: Verdict, findings: Vec<Finding>) -> Outcome {
        Outcome::Scan(ScanResult {
            name,
            kind: "injection",
            verdict,
            note: None,
            elapsed_ms: 1.0,
            checks: vec![Check {
                name: "c".into(),
                result: CheckResult::Passed,
                detail: String::new(),
            }],
            findings,
        })
    }

    fn finding(technique: &'static str, parameter: &str) -> Finding {
        Finding {
            severity: Severity::High,
            confidence: Confidence::Confirmed,
            endpoint: "GET /notes".into(),
            parameter: Some(parameter.into()),
            technique,
            summary: "s".into(),
            evidence: Evidence::default(),
        }
    }

    fn earlier() -> Earlier {
        let doc = json!({"schema_version": 1, "started_at": "2026-12-01T00:00:00Z",
            "scenarios": [
                {"name": "sql-injection", "verdict": "vulnerable", "findings": [
                    {"technique": "sqli-boolean", "endpoint": "GET /notes", "parameter": "query q",
                     "severity": "high", "summary": "old"}]},
                {"name": "slowloris", "verdict": "held", "findings": [],
                 "legit": {"success_rate": 1.0, "p99_ms": 40.0, "baseline_p99_ms": 20.0}},
                {"name": "idor", "verdict": "inconclusive", "findings": []}],
            "capacity": {"scenario": "slowloris", "held_up_to": 1000}});
        Earlier::from_json(&doc).expect("report")
    }

    #[test]
    fn a_new_finding_or_a_worse_verdict_is_a_regression() {
        let e = earlier();
        let same = [scan(
            "sql-injection",
            Verdict::Vulnerable,
            vec![finding("sqli-boolean", "query q")],
        )];
        let c = e.compare(&same, None);
        assert!(!c.regressed(), "{c:?}");
        assert!(c.absent.is_empty());
        let new = [scan(
            "sql-injection",
            Verdict::Vulnerable,
            vec![
                finding("sqli-boolean", "query q"),
                finding("sqli-union", "query q"),
            ],
        )];
        let c = e.compare(&new, None);
        assert_eq!(c.regressions.len(), 1);
        assert_eq!(c.regressions[0].kind, "new-finding");
        let fixed = [scan("sql-injection", Verdict::Passed, vec![])];
        let c = e.compare(&fixed, None);
        assert!(!c.regressed());
        assert_eq!(c.absent.len(), 1, "the old finding is gone");
        // Inconclusive then, vulnerable now: the new finding says it, not the verdict.
        let idor = [scan(
            "idor",
            Verdict::Vulnerable,
            vec![finding("idor", "path id")],
        )];
        let kinds: Vec<_> = e
            .compare(&idor, None)
            .regressions
            .iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(kinds, ["new-finding"]);
    }

    #[test]
    fn capacity_down_by_more_than_a_fifth_is_a_regression() {
        let e = earlier();
        let cap = |held| Capacity {
            scenario: "slowloris",
            unit: "connections",
            held_up_to: held,
            failed_at: None,
            max: 4000,
            steps: Vec::new(),
            note: None,
        };
        assert!(!e.compare(&[], Some(&cap(Some(850)))).regressed());
        let c = e.compare(&[], Some(&cap(Some(700))));
        assert_eq!(c.regressions[0].kind, "capacity-down");
        assert!(
            c.regressions[0].detail.contains("30 %"),
            "{:?}",
            c.regressions
        );
        assert!(e.compare(&[], Some(&cap(None))).regressed());
    }

    #[test]
    fn reports_of_another_schema_are_refused_by_name() {
        let e = Earlier::from_json(&json!({"schema_version": 2, "scenarios": []})).expect_err("v2");
        assert!(e.contains("schema version 1"), "{e}");
        assert!(Earlier::from_json(&json!({"schema_version": 1})).is_err());
    }
}
