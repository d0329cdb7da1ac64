//! The `injection` scans against two targets: the weak target's string-built SQL (string,
//! numeric, LIKE, ORDER BY contexts, a verbose error, a blind INSERT) must each be found with
//! the right technique, and nothing else; rampart, reached through its own login flow with
//! data in its accounts, must yield no finding at all.

use crate::common;

use std::path::Path;

use common::weak::Weak;
use common::{Rampart, attack_sim, rampart_binary, report};
use serde_json::Value;

async fn scan(url: &str, ca: &Path) -> (Option<i32>, String, Value) {
    let run = common::scan(&["sql-injection"], url, ca).await;
    (run.code, run.text, run.report)
}

/// (endpoint, parameter, technique) of every finding.
fn found(s: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = s["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (text("endpoint"), text("parameter"), text("technique"))
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_planted_sql_injection_is_found_with_its_technique() {
    let weak = Weak::start(64).await;
    let (code, text, r) = scan(&weak.url, &weak.ca).await;
    assert_eq!(code, Some(1), "{text}");
    let s = &r["scenarios"][0];
    assert_eq!(s["name"], "sql-injection");
    assert_eq!(s["kind"], "injection");
    assert_eq!(s["verdict"], "vulnerable", "{text}");
    let f = |e: &str, p: &str, t: &str| (e.to_string(), p.to_string(), t.to_string());
    // sqlx's SQLite runs every statement of a string: each point also takes stacked queries.
    let expected = vec![
        f("GET /w/items/{id}", "path id", "sqli-boolean"),
        f("GET /w/items/{id}", "path id", "sqli-stacked"),
        f("GET /w/items/{id}", "path id", "sqli-union"),
        f("GET /w/memos", "query q", "sqli-boolean"),
        f("GET /w/memos", "query q", "sqli-stacked"),
        f("GET /w/memos", "query q", "sqli-union"),
        f("GET /w/memos/sorted", "query sort", "sqli-boolean"),
        f("GET /w/memos/sorted", "query sort", "sqli-stacked"),
        f("GET /w/users", "query name", "sqli-boolean"),
        f("GET /w/users", "query name", "sqli-error"),
        f("GET /w/users", "query name", "sqli-stacked"),
        f("GET /w/users", "query name", "sqli-union"),
        f("POST /w/audit", "body user", "sqli-stacked"),
        f("POST /w/audit", "body user", "sqli-time"),
    ];
    assert_eq!(found(s), expected, "{text}");
    let findings = s["findings"].as_array().expect("findings");
    let error = findings
        .iter()
        .find(|x| x["technique"] == "sqli-error")
        .expect("error-based");
    assert_eq!(error["confidence"], "tentative");
    assert!(
        error["summary"]
            .as_str()
            .expect("summary")
            .starts_with("SQLite"),
        "{error}"
    );
    let time = findings
        .iter()
        .find(|x| x["technique"] == "sqli-time")
        .expect("time-based");
    let stacked = findings
        .iter()
        .find(|x| x["technique"] == "sqli-stacked" && x["endpoint"] == "POST /w/audit")
        .expect("stacked");
    assert!(
        stacked["evidence"]["request"]
            .as_str()
            .expect("request")
            .contains("');SELECT ("),
        "the VALUES list closed: {stacked}"
    );
    assert_eq!(time["confidence"], "confirmed");
    assert_eq!(time["severity"], "critical");
    // The implicit headers were tried too, and found clean on this target.
    let checks = s["checks"].as_array().expect("checks");
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "GET /w/users header X-Forwarded-For" && c["result"] == "passed"),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_yields_no_sql_injection_finding() {
    // As `--spawn` does: the scanners' network skips the rate limits.
    let rampart = Rampart::start_scannable().await;
    let (code, text, r) = scan(&rampart.url, &rampart.ca).await;
    let s = &r["scenarios"][0];
    assert_eq!(s["verdict"], "passed", "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(s["findings"], serde_json::json!([]));
    let checks = s["checks"].as_array().expect("checks");
    let passed = |name: &str| {
        checks
            .iter()
            .any(|c| c["name"] == name && c["result"] == "passed")
    };
    // Reached through the login flow, with data: the history's search, sort and paging, the
    // transfer's fields, the token itself.
    for name in [
        "GET /v1/accounts/{id}/transactions query q",
        "GET /v1/accounts/{id}/transactions query sort",
        "GET /v1/accounts/{id}/transactions path id",
        "POST /v1/transfers body memo",
        "POST /v1/transfers header Idempotency-Key",
        "GET /v1/accounts header Authorization",
        "POST /v1/sessions body username",
    ] {
        assert!(passed(name), "{name}: {s}");
    }
    assert!(
        checks.iter().all(|c| c["result"] == "passed"),
        "every check made: {s}"
    );
    // Never scanned: the logout and the password change.
    assert!(
        checks.iter().all(
            |c| !c["name"].as_str().unwrap_or_default().contains("/password")
                && !c["name"].as_str().unwrap_or_default().starts_with("DELETE")
        ),
        "{s}"
    );
}

/// A target that drops the connection on every payload (a filter that cuts what it does not
/// like) has not been shown safe: the point is a check not made, and the scan inconclusive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_whose_payloads_go_unanswered_is_not_called_safe() {
    let weak = common::weak_raw::start().await;
    let (code, text, r) = scan(&weak.url, &weak.ca).await;
    let s = &r["scenarios"][0];
    assert_eq!(s["verdict"], "inconclusive", "{text}");
    assert_eq!(code, Some(3), "{text}");
    assert_eq!(s["findings"], serde_json::json!([]));
    let fragile = s["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "GET /r/fragile query q")
        .expect("the fragile point was tried");
    assert_eq!(fragile["result"], "unmade", "{fragile}");
    assert!(
        fragile["detail"]
            .as_str()
            .expect("detail")
            .contains("got no usable answer"),
        "{fragile}"
    );
}

/// What a user runs (`attack-sim run injection auth tls --spawn`): a fresh rampart with the
/// scanners' network exempt from its rate limits, and every scan passes on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_rampart_passes_every_scan() {
    rampart_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, text) = attack_sim(&[
        "run",
        "injection",
        "auth",
        "tls",
        "--spawn",
        "--report-dir",
        dir.path().to_str().expect("utf-8 path"),
    ])
    .await;
    assert_eq!(code, Some(0), "{text}");
    let r = report(dir.path());
    let scenarios = r["scenarios"].as_array().expect("scenarios");
    assert_eq!(
        scenarios.len(),
        13,
        "sql-injection, input-abuse, six auth and five tls scans"
    );
    for s in scenarios {
        assert_eq!(s["verdict"], "passed", "{s}");
    }
    let sarif = std::fs::read_to_string(dir.path().join("report.sarif")).expect("report.sarif");
    let sarif: Value = serde_json::from_str(&sarif).expect("SARIF");
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert!(text.contains("rampart stopped (exit status: 0)"), "{text}");
}
