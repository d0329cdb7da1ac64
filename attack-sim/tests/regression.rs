//! The regression gate (`--baseline`): this run's findings and verdicts against an earlier
//! report.json. A new finding fails the run (exit 1), with a `regressions` array in
//! report.json, a failed case in junit.xml and `baselineState: new` in SARIF; the same
//! finding again is `unchanged` and no regression; a finding gone is listed as `absent`.

use crate::common;

use common::weak::Weak;
use common::{Rampart, attack_sim, report};
use serde_json::Value;

/// `tls-wrong-sni` against `url`, compared with `baseline` when given; (code, text, dir).
async fn scan(
    url: &str,
    ca: &std::path::Path,
    baseline: Option<&std::path::Path>,
) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8").to_string();
    let mut args = vec![
        "run",
        "tls-wrong-sni",
        "--target",
        url,
        "--ca",
        ca.to_str().expect("utf-8"),
        "--report-dir",
        &out,
    ];
    let b;
    if let Some(path) = baseline {
        b = path.to_str().expect("utf-8").to_string();
        args.extend_from_slice(&["--baseline", &b]);
    }
    let (code, text) = attack_sim(&args).await;
    (code, text, dir)
}

fn sarif(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.sarif")).expect("sarif"))
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_finding_is_a_regression_and_an_old_one_is_not() {
    let rampart = Rampart::start().await;
    let weak = Weak::start(128).await;
    let (code, text, clean) = scan(&rampart.url, &rampart.ca, None).await;
    assert_eq!(code, Some(0), "{text}");
    let clean_report = clean.path().join("report.json");

    // The weak target shows its certificate for any name: new against a clean run.
    let (code, text, first) = scan(&weak.url, &weak.ca, Some(&clean_report)).await;
    assert_eq!(code, Some(1), "{text}");
    let r = report(first.path());
    let regressions = r["regressions"].as_array().expect("regressions");
    let kinds: Vec<&str> = regressions
        .iter()
        .map(|x| x["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["new-finding", "worse-verdict"], "{r}");
    assert!(regressions.iter().all(|x| x["scenario"] == "tls-wrong-sni"));
    assert!(text.contains("REGRESSION new-finding"), "{text}");
    assert_eq!(
        r["baseline"]["scenarios"][0]["verdict_before"], "passed",
        "{r}"
    );
    let junit = std::fs::read_to_string(first.path().join("junit.xml")).expect("junit");
    assert!(
        junit.contains("<testsuite name=\"regressions\" tests=\"2\" failures=\"2\""),
        "{junit}"
    );
    let results = &sarif(first.path())["runs"][0]["results"];
    assert_eq!(results[0]["baselineState"], "new", "{results}");

    // The same finding again: unchanged, no regression (the verdict still fails the run).
    let first_report = first.path().join("report.json");
    let (code, text, second) = scan(&weak.url, &weak.ca, Some(&first_report)).await;
    assert_eq!(code, Some(1), "{text}");
    let r = report(second.path());
    assert_eq!(r["regressions"], serde_json::json!([]), "{r}");
    assert_eq!(
        sarif(second.path())["runs"][0]["results"][0]["baselineState"],
        "unchanged"
    );
    let junit = std::fs::read_to_string(second.path().join("junit.xml")).expect("junit");
    assert!(junit.contains("no regression against"), "{junit}");

    // Fixed: the finding is absent, nothing regressed, the run passes.
    let (code, text, fixed) = scan(&rampart.url, &rampart.ca, Some(&first_report)).await;
    assert_eq!(code, Some(0), "{text}");
    let results = &sarif(fixed.path())["runs"][0]["results"];
    assert_eq!(results[0]["baselineState"], "absent", "{results}");
    assert_eq!(
        report(fixed.path())["baseline"]["absent"]
            .as_array()
            .expect("absent")
            .len(),
        1
    );
    let html = std::fs::read_to_string(fixed.path().join("report.html")).expect("html");
    assert!(
        html.contains("Against the baseline") && html.contains("not found now"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_that_is_not_a_report_is_a_usage_error() {
    let rampart = Rampart::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("report.json");
    std::fs::write(&bad, "{\"schema_version\": 7}").expect("write");
    let (code, text, _) = scan(&rampart.url, &rampart.ca, Some(&bad)).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("--baseline") && text.contains("schema version 1"),
        "{text}"
    );
}
