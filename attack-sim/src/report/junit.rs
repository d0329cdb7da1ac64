//! `junit.xml`: one test suite per kind, one test case per scenario, so that CI systems show
//! each scenario as a test. `degraded`, `denied`, `suspected` and `vulnerable` are failures
//! (a scan's failure lists its findings); `inconclusive` is an error (the harness could not
//! judge), never a pass or a skip.

use std::fmt::Write;
use std::path::Path;

use super::RunInfo;
use crate::campaign::capacity::Capacity;
use crate::campaign::regression::Comparison;
use crate::outcome::Outcome;
use crate::verdict::Verdict;

/// How a test case ended.
enum Status {
    Passed,
    /// type, message, body
    Failure(String, String, String),
    /// message, body
    Error(String, String),
}

/// One test case.
struct Case {
    name: String,
    secs: f64,
    status: Status,
}

fn case_of(r: &Outcome) -> Case {
    let status = match r.verdict() {
        Verdict::Held | Verdict::Passed => Status::Passed,
        v if v.failed() => Status::Failure(v.as_str().into(), message(r), details(r)),
        _ => Status::Error(message(r), details(r)),
    };
    Case {
        name: r.name().into(),
        secs: r.elapsed_ms() / 1000.0,
        status,
    }
}

/// The document for `results`, with a `capacity` suite (one case, passed when the search
/// completed) and a `regressions` suite (one failed case per regression against the
/// baseline, or one passed case when there is none).
pub fn render(
    target: &str,
    results: &[Outcome],
    capacity: Option<&Capacity>,
    comparison: Option<&Comparison>,
) -> String {
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();
    for r in results {
        match suites.iter_mut().find(|(k, _)| k == r.kind()) {
            Some((_, cases)) => cases.push(case_of(r)),
            None => suites.push((r.kind().into(), vec![case_of(r)])),
        }
    }
    if let Some(c) = capacity {
        let status = match &c.note {
            Some(note) => Status::Error(note.clone(), c.describe()),
            None => Status::Passed,
        };
        suites.push((
            "capacity".into(),
            vec![Case {
                name: format!("{}: {}", c.scenario, c.describe()),
                secs: 0.0,
                status,
            }],
        ));
    }
    if let Some(cmp) = comparison {
        let cases = if cmp.regressions.is_empty() {
            vec![Case {
                name: format!("no regression against {}", cmp.report),
                secs: 0.0,
                status: Status::Passed,
            }]
        } else {
            cmp.regressions
                .iter()
                .map(|r| Case {
                    name: format!("{}: {}", r.kind, r.scenario),
                    secs: 0.0,
                    status: Status::Failure(
                        "regression".into(),
                        r.detail.clone(),
                        format!("against the baseline {} ({})", cmp.report, cmp.started_at),
                    ),
                })
                .collect()
        };
        suites.push(("regressions".into(), cases));
    }
    let count = |cases: &[&Case], failures: bool| {
        cases
            .iter()
            .filter(|c| match c.status {
                Status::Failure(..) => failures,
                Status::Error(..) => !failures,
                Status::Passed => false,
            })
            .count()
    };
    let secs = |cases: &[&Case]| cases.iter().map(|c| c.secs).sum::<f64>();
    let all: Vec<&Case> = suites.iter().flat_map(|(_, c)| c).collect();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"attack-sim {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        escape(target),
        all.len(),
        count(&all, true),
        count(&all, false),
        secs(&all)
    );
    for (kind, cases) in &suites {
        let refs: Vec<&Case> = cases.iter().collect();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{kind}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
            refs.len(),
            count(&refs, true),
            count(&refs, false),
            secs(&refs)
        );
        for c in cases {
            let _ = write!(
                x,
                "    <testcase classname=\"attack-sim.{kind}\" name=\"{}\" time=\"{:.3}\"",
                escape(&c.name),
                c.secs
            );
            match &c.status {
                Status::Passed => x.push_str("/>\n"),
                Status::Failure(ty, message, body) => {
                    let _ = writeln!(
                        x,
                        ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                        escape(ty),
                        escape(message),
                        escape(body)
                    );
                }
                Status::Error(message, body) => {
                    let _ = writeln!(
                        x,
                        ">\n      <error type=\"inconclusive\" message=\"{}\">{}</error>\n    </testcase>",
                        escape(message),
                        escape(body)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn message(o: &Outcome) -> String {
    match o {
        Outcome::Dos(r) => format!(
            "{}: legitimate success {:.2}%, p99 {:.1} ms against a baseline p99 of {:.1} ms",
            r.verdict.as_str(),
            r.legit.success_rate * 100.0,
            r.legit.p99_ms,
            r.legit.baseline_p99_ms
        ),
        Outcome::Scan(r) => format!(
            "{}: {}",
            r.verdict.as_str(),
            super::scorecard::scan_summary(r)
        ),
    }
}

/// The body of a failure or error: the scorecard line, and a scan's findings with evidence.
fn details(o: &Outcome) -> String {
    let mut s = super::scorecard::line(o);
    for f in o.findings() {
        s += &format!(
            "\n\n{}\nrequest: {}\nresponse: {}",
            super::scorecard::finding_line(o.name(), f).trim_start(),
            f.evidence.request,
            f.evidence.response
        );
    }
    s
}

/// Escapes text for XML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Writes `junit.xml` into `dir`, atomically.
pub fn write(
    dir: &Path,
    run: &RunInfo,
    results: &[Outcome],
    capacity: Option<&Capacity>,
    comparison: Option<&Comparison>,
) -> std::io::Result<std::path::PathBuf> {
    let x = render(&run.target, results, capacity, comparison);
    super::write_atomically(dir, "junit.xml", x.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dos::runner::Legit;
    use crate::verdict::PhaseStats;

    fn result(name: &'static str, verdict: Verdict) -> Outcome {
        let p = PhaseStats::new(10, 10, 1.0, 2.0);
        Outcome::Dos(Box::new(crate::dos::runner::ScenarioResult {
            name,
            kind: "dos",
            verdict,
            note: None,
            elapsed_ms: 1500.0,
            attack_from_ms: 500.0,
            attack_to_ms: 1000.0,
            legit: Legit {
                requests: 10,
                success_rate: 1.0,
                p50_ms: 1.0,
                p99_ms: 2.0,
                baseline_p99_ms: 2.0,
                availability: crate::probe::Availability {
                    time_to_denial_ms: None,
                    recovery_ms: Some(0.0),
                },
                baseline: p,
                attack: p,
                recovery: p,
            },
            attack: Default::default(),
            server: Default::default(),
            samples: Vec::new(),
            attack_samples: Vec::new(),
            before: None,
            after: None,
        }))
    }

    #[test]
    fn verdicts_map_to_passes_failures_and_errors() {
        let x = render(
            "https://localhost:1/?a=<b>&c=\"d\"",
            &[
                result("slowloris", Verdict::Held),
                result("slow-body", Verdict::Denied),
                result("slow-read", Verdict::Inconclusive),
            ],
            None,
            None,
        );
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{x}");
        assert!(x.contains("name=\"slowloris\" time=\"1.500\"/>"), "{x}");
        assert!(x.contains("<failure type=\"denied\""), "{x}");
        assert!(x.contains("<error type=\"inconclusive\""), "{x}");
        assert!(x.contains("?a=&lt;b&gt;&amp;c=&quot;d&quot;"), "{x}");
        assert!(!x.contains("<b>"));
    }

    #[test]
    fn a_scan_with_findings_fails_with_its_evidence() {
        use crate::findings::{Confidence, Evidence, Finding, Severity};
        use crate::scans::{Check, CheckResult, ScanResult};
        let finding = Finding {
            severity: Severity::Medium,
            confidence: Confidence::Confirmed,
            endpoint: "tls://localhost:1".into(),
            parameter: Some("protocol version".into()),
            technique: "tls-legacy-version",
            summary: "the server accepts TLS 1.0".into(),
            evidence: Evidence::new("ClientHello <1.0>", "ServerHello"),
        };
        let scan = |name, verdict, findings: Vec<Finding>| {
            Outcome::Scan(ScanResult {
                name,
                kind: "tls",
                verdict,
                note: None,
                elapsed_ms: 10.0,
                checks: vec![Check {
                    name: "c".into(),
                    result: CheckResult::Passed,
                    detail: String::new(),
                }],
                findings,
            })
        };
        let x = render(
            "https://localhost:1",
            &[
                scan("tls-legacy-versions", Verdict::Vulnerable, vec![finding]),
                scan("security-headers", Verdict::Passed, Vec::new()),
            ],
            None,
            None,
        );
        assert!(
            x.contains("<testsuite name=\"tls\" tests=\"2\" failures=\"1\""),
            "{x}"
        );
        assert!(x.contains("<failure type=\"vulnerable\""), "{x}");
        assert!(x.contains("request: ClientHello &lt;1.0&gt;"), "{x}");
        assert!(
            x.contains("name=\"security-headers\" time=\"0.010\"/>"),
            "{x}"
        );
    }

    #[test]
    fn control_characters_never_reach_the_document() {
        assert_eq!(escape("a\u{1}b\tc"), "a\u{fffd}b\tc");
    }
}
