//! The scan wing: the `injection` ([`injection`]), `auth` ([`auth`]), `tls`
//! ([`tls_policy`]) and `web` ([`web`]: in a real browser) scans, and what runs them. A scan is a list of checks, each passed,
//! failed with a finding, or not made (and why), and a verdict from what they found. Unlike a
//! DoS scenario there is no legitimate client and no phases: a scan asks questions and judges
//! the answers. [`discovery`] finds what to ask (the target's operations and inputs, and the
//! session and data that reach them), [`http`] is the scanners' client (paced by the
//! target's `Retry-After`), [`compare`] tells pages apart, [`stats`] tells timings apart.

pub mod auth;
pub mod compare;
pub mod discovery;
pub mod http;
pub mod injection;
pub mod stats;
pub mod tls_policy;
pub mod web;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::client::Client;
use crate::findings::Finding;
use crate::scans::discovery::fixtures::{Auth, Setup};
use crate::scans::discovery::{Discovered, DiscoveryError};
use crate::target::Target;
use crate::verdict::Verdict;

/// What a scan gets to work with.
#[derive(Clone)]
pub struct ScanCtx {
    /// TLS client for the target (its CA trusted, its name as SNI).
    pub client: Client,
    /// The target.
    pub target: Target,
    /// The scanner's own source address (never one of the floods').
    pub from: IpAddr,
    /// Where the OpenAPI document is (`--openapi`: a URL on the target or a file; none:
    /// the target's `/openapi.json`).
    pub openapi: Option<String>,
    /// The pages the `web` scans visit (`--page`); none: their default ([`web::pages`]).
    pub pages: Vec<String>,
    /// How to authenticate (`--auth`, or the plan's `[login]`).
    pub auth: Auth,
    /// The data to make after the login (rampart's preset, or the plan's `[[setup]]`).
    pub setup: Arc<Setup>,
    /// What the run's first scan that needed it discovered (the document, its operations,
    /// the flow's session and data), shared by every scan of the run: one document fetch and
    /// one login flow per run, not one per scan.
    pub discovery: SharedDiscovery,
}

/// Discovery done once per run (see [`crate::scans::discovery::discover`]).
pub type SharedDiscovery = Arc<tokio::sync::OnceCell<Result<Arc<Discovered>, DiscoveryError>>>;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    /// Made, and the target did the right thing.
    Passed,
    /// Made, and it found a flaw (the finding is in the scenario's `findings`).
    Failed,
    /// Could not be made: the target did not answer what the check needs.
    Unmade,
    /// Not for this target, by what it said of itself (a token that lives for hours is not
    /// waited out): neither for it nor against it, and said why.
    Skipped,
}

/// One check of a scan, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// How it came out.
    pub result: CheckResult,
    /// What was seen.
    pub detail: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The findings of the failed ones.
    pub findings: Vec<Finding>,
}

impl Scanned {
    /// A check the target passed.
    pub fn passed(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.push(name, CheckResult::Passed, detail);
    }

    /// A check that found `finding`.
    pub fn failed(&mut self, name: impl Into<String>, finding: Finding) {
        self.push(name, CheckResult::Failed, finding.summary.clone());
        self.findings.push(finding);
    }

    /// A check that could not be made, and why.
    pub fn unmade(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.push(name, CheckResult::Unmade, why);
    }

    /// One check that may find several flaws: each of `findings` fails it; with none, it was
    /// not made when `unmade` says why (what was not asked proves nothing), else it passed
    /// with the detail `passed` gives.
    pub fn record(
        &mut self,
        name: &str,
        findings: Vec<Finding>,
        unmade: Option<String>,
        passed: impl FnOnce() -> String,
    ) {
        if findings.is_empty() {
            match unmade {
                Some(why) => self.unmade(name, why),
                None => self.passed(name, passed()),
            }
        }
        for f in findings {
            self.failed(name, f);
        }
    }

    /// A check that does not apply to this target, and why.
    pub fn skipped(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.push(name, CheckResult::Skipped, why);
    }

    fn push(&mut self, name: impl Into<String>, result: CheckResult, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            result,
            detail: detail.into(),
        });
    }

    /// Every check that applies was made (and at least one was).
    pub fn complete(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.result, CheckResult::Passed | CheckResult::Failed))
            && self.checks.iter().all(|c| c.result != CheckResult::Unmade)
    }
}

/// A scan: makes its checks against the target in `ScanCtx`.
pub type Scan = fn(ScanCtx) -> Pin<Box<dyn Future<Output = Scanned> + Send>>;

/// One scanning scenario's result, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanResult {
    /// Scenario name.
    pub name: &'static str,
    /// Its kind.
    pub kind: &'static str,
    /// `passed`, `suspected`, `vulnerable` or `inconclusive`.
    pub verdict: Verdict,
    /// Why the verdict is what it is when the checks alone do not say (`null` otherwise).
    pub note: Option<String>,
    /// How long the scan took.
    pub elapsed_ms: f64,
    /// Every check made or attempted.
    pub checks: Vec<Check>,
    /// What the failed checks found.
    pub findings: Vec<Finding>,
}

impl ScanResult {
    /// A scan not made, and why.
    pub fn not_run(scenario: &crate::scenarios::Scenario, why: String) -> ScanResult {
        ScanResult {
            name: scenario.name,
            kind: scenario.kind,
            verdict: Verdict::Inconclusive,
            note: Some(why),
            elapsed_ms: 0.0,
            checks: Vec::new(),
            findings: Vec::new(),
        }
    }
}

/// The longest a scan may take before it is cut off and judged on what it had found.
pub const SCAN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Runs `scan` for the scenario `name` of kind `kind`, bounded by [`SCAN_LIMIT`].
pub async fn run(name: &'static str, kind: &'static str, scan: Scan, ctx: ScanCtx) -> ScanResult {
    let start = Instant::now();
    let (scanned, note) = match tokio::time::timeout(SCAN_LIMIT, scan(ctx)).await {
        Ok(s) => (s, None),
        Err(_) => (
            Scanned::default(),
            Some(format!(
                "the scan did not finish within {} s",
                SCAN_LIMIT.as_secs()
            )),
        ),
    };
    let complete = scanned.complete();
    let verdict = Verdict::of_scan(&scanned.findings, complete);
    let note = note.or_else(|| {
        (verdict == Verdict::Inconclusive).then(|| {
            let unmade: Vec<_> = scanned
                .checks
                .iter()
                .filter(|c| c.result == CheckResult::Unmade)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            if unmade.is_empty() {
                "no check could be made".to_string()
            } else {
                format!("checks not made: {}", unmade.join("; "))
            }
        })
    });
    ScanResult {
        name,
        kind,
        verdict,
        note,
        elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
        checks: scanned.checks,
        findings: scanned.findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Confidence, Evidence, Severity};

    #[test]
    fn a_point_is_failed_by_its_findings_else_unmade_else_passed() {
        let finding = Finding {
            severity: Severity::Low,
            confidence: Confidence::Confirmed,
            endpoint: "GET /".into(),
            parameter: None,
            technique: "t",
            summary: "found".into(),
            evidence: Evidence::default(),
        };
        let mut s = Scanned::default();
        s.record("a", vec![finding.clone()], Some("cut".into()), || {
            "fine".into()
        });
        s.record("b", Vec::new(), Some("cut".into()), || "fine".into());
        s.record("c", Vec::new(), None, || "fine".into());
        let results: Vec<_> = s
            .checks
            .iter()
            .map(|c| (c.result, c.detail.as_str()))
            .collect();
        assert_eq!(
            results,
            [
                (CheckResult::Failed, "found"),
                (CheckResult::Unmade, "cut"),
                (CheckResult::Passed, "fine")
            ]
        );
    }

    #[test]
    fn a_scan_is_complete_only_when_every_check_was_made() {
        let mut s = Scanned::default();
        assert!(!s.complete(), "no check, no judgement");
        s.passed("a", "fine");
        assert!(s.complete());
        s.failed(
            "b",
            Finding {
                severity: Severity::Low,
                confidence: Confidence::Confirmed,
                endpoint: "GET /".into(),
                parameter: None,
                technique: "t",
                summary: "found".into(),
                evidence: Evidence::default(),
            },
        );
        assert!(s.complete());
        assert_eq!(s.checks[1].detail, "found");
        s.skipped("d", "does not apply");
        assert!(s.complete(), "a skipped check is neither for nor against");
        s.unmade("c", "no answer");
        assert!(!s.complete());
        let mut only_skipped = Scanned::default();
        only_skipped.skipped("d", "does not apply");
        assert!(!only_skipped.complete(), "nothing was checked");
        assert_eq!(s.findings.len(), 1);
    }
}
