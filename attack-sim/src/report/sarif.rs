//! `report.sarif`: the findings as SARIF 2.1.0, for code-scanning dashboards. One rule per
//! technique, one result per finding; its location is the endpoint as a URI under the target,
//! its level follows the severity (and `security-severity` gives the score GitHub sorts by),
//! and a fingerprint of technique, endpoint and parameter lets a dashboard follow one finding
//! across runs. Written on every run, with no results when nothing was found.

use std::path::Path;

use serde_json::{Value, json};

use crate::campaign::regression::Comparison;
use crate::findings::{Finding, Severity};
use crate::outcome::Outcome;
use crate::scenarios::technique_description;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The CVSS-like score GitHub code scanning reads from `security-severity`.
fn score(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The finding's endpoint as a URI: `METHOD /path` becomes the target's URL with that path;
/// anything else (`tls://host:port`) is one already.
pub fn location_uri(target: &str, endpoint: &str) -> String {
    match endpoint.split_once(' ') {
        Some((method, path))
            if !method.is_empty()
                && method.bytes().all(|b| b.is_ascii_uppercase())
                && path.starts_with('/') =>
        {
            format!("{}{path}", target.trim_end_matches('/'))
        }
        _ => endpoint.to_string(),
    }
}

/// The document for `results`; against a baseline, each result carries its
/// `baselineState` (`new` or `unchanged`) and the earlier run's findings not found now are
/// listed as `absent`.
pub fn render(target: &str, results: &[Outcome], comparison: Option<&Comparison>) -> Value {
    let findings: Vec<(&str, &Finding)> = results
        .iter()
        .flat_map(|o| o.findings().iter().map(move |f| (o.name(), f)))
        .collect();
    let mut rule_ids: Vec<&str> = Vec::new();
    for (_, f) in &findings {
        if !rule_ids.contains(&f.technique) {
            rule_ids.push(f.technique);
        }
    }
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let worst = findings
                .iter()
                .filter(|(_, f)| f.technique == *id)
                .map(|(_, f)| f.severity)
                .max()
                .unwrap_or(Severity::Info);
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": technique_description(id) },
                "defaultConfiguration": { "level": level(worst) },
                "properties": { "security-severity": score(worst), "tags": ["security"] },
            })
        })
        .collect();
    let mut results_json: Vec<Value> = findings
        .iter()
        .map(|(scenario, f)| {
            let rule_index = rule_ids.iter().position(|id| *id == f.technique);
            let mut r = json!({
                "ruleId": f.technique,
                "ruleIndex": rule_index,
                "level": level(f.severity),
                "message": { "text": f.summary },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": location_uri(target, &f.endpoint) }
                    }
                }],
                "partialFingerprints": { "attackSimFinding/v2": f.fingerprint() },
                "properties": {
                    "scenario": scenario,
                    "severity": f.severity,
                    "confidence": f.confidence,
                    "endpoint": f.endpoint,
                    "parameter": f.parameter,
                    "security-severity": score(f.severity),
                    "evidence": f.evidence,
                },
            });
            if let Some(c) = comparison {
                let state = if c.earlier_fingerprints.contains(&f.fingerprint()) {
                    "unchanged"
                } else {
                    "new"
                };
                r["baselineState"] = json!(state);
            }
            r
        })
        .collect();
    if let Some(c) = comparison {
        for f in &c.absent {
            results_json.push(json!({
                "ruleId": f.technique,
                "level": "none",
                "message": { "text": format!("no longer found: {}", f.summary) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": location_uri(target, &f.endpoint) }
                    }
                }],
                "partialFingerprints": { "attackSimFinding/v2": f.fingerprint },
                "baselineState": "absent",
                "properties": {
                    "scenario": f.scenario,
                    "endpoint": f.endpoint,
                    "parameter": f.parameter,
                },
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "attack-sim",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "invocations": [{ "executionSuccessful": true }],
            "results": results_json,
        }],
    })
}

/// Writes `report.sarif` into `dir`, atomically.
pub fn write(
    dir: &Path,
    target: &str,
    results: &[Outcome],
    comparison: Option<&Comparison>,
) -> std::io::Result<std::path::PathBuf> {
    let text = serde_json::to_vec_pretty(&render(target, results, comparison))
        .map_err(std::io::Error::other)?;
    super::write_atomically(dir, "report.sarif", &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Confidence, Evidence};
    use crate::scans::ScanResult;
    use crate::scans::tls_policy::{security_headers, wrong_sni};
    use crate::verdict::Verdict;

    fn finding(technique: &'static str, endpoint: &str, severity: Severity) -> Finding {
        Finding {
            severity,
            confidence: Confidence::Confirmed,
            endpoint: endpoint.into(),
            parameter: Some("Cache-Control".into()),
            technique,
            summary: "no Cache-Control".into(),
            evidence: Evidence::new("GET /", "HTTP/1.1 200 OK"),
        }
    }

    #[test]
    fn findings_become_results_under_one_rule_per_technique() {
        let scan = Outcome::Scan(ScanResult {
            name: "security-headers",
            kind: "tls",
            verdict: Verdict::Vulnerable,
            note: None,
            elapsed_ms: 1.0,
            checks: Vec::new(),
            findings: vec![
                finding(security_headers::TECHNIQUE, "GET /healthz", Severity::Low),
                finding(security_headers::TECHNIQUE, "GET /", Severity::Medium),
                finding(wrong_sni::TECHNIQUE, "tls://localhost:8443", Severity::Low),
            ],
        });
        let doc = render("https://localhost:8443/", &[scan], None);
        assert_eq!(doc["version"], "2.1.0");
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "warning");
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "https://localhost:8443/healthz"
        );
        assert_eq!(
            results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "tls://localhost:8443"
        );
        assert_eq!(results[2]["ruleIndex"], 1);
        assert_ne!(
            results[0]["partialFingerprints"],
            results[1]["partialFingerprints"]
        );
        assert_eq!(results[0]["properties"]["evidence"]["request"], "GET /");
    }

    #[test]
    fn a_clean_run_is_a_valid_empty_log() {
        let doc = render("https://localhost:1", &[], None);
        assert_eq!(doc["runs"][0]["results"], json!([]));
        assert_eq!(doc["runs"][0]["tool"]["driver"]["name"], "attack-sim");
    }
}
