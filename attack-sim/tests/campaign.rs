//! A run of several scenarios as a whole: one scenario's damage never hides the next one's
//! verdict (the harness waits, bounded, for the target to answer again and names the scenario
//! that left it down), a target that fails the baseline is not attacked, and the capacity
//! search finds where a server breaks.

use crate::common;

use common::weak::Weak;
use common::{Rampart, attack_sim, fragile, report, scenario};
use serde_json::Value;
use std::time::Duration;

/// `attack-sim run SCENARIOS` at smoke intensity against `url` with `extra` flags.
async fn run(
    scenarios: &[&str],
    url: &str,
    ca: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, String, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["run"];
    args.extend_from_slice(scenarios);
    let out = dir.path().to_str().expect("utf-8").to_string();
    args.extend_from_slice(&[
        "--target",
        url,
        "--ca",
        ca.to_str().expect("utf-8"),
        "--intensity",
        "smoke",
        "--report-dir",
        &out,
    ]);
    args.extend_from_slice(extra);
    let (code, text) = attack_sim(&args).await;
    let r = report(dir.path());
    (code, text, r, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_that_leaves_the_target_down_is_named_and_the_next_waits_for_it() {
    // Down from conn-flood's first second for 12 s: past its end (10 s in all at smoke).
    let site = fragile::start(Some(Duration::from_secs(12))).await;
    let (_, text, r, _) = run(
        &["conn-flood", "slowloris"],
        &site.url,
        &site.ca,
        &["--ready-wait", "20"],
    )
    .await;
    let flood = scenario(&r, "conn-flood");
    let after = &flood["after"];
    assert_eq!(after["ready"], true, "{flood}");
    assert!(
        after["waited_ms"].as_f64().expect("waited") > 1000.0,
        "{after}"
    );
    assert_eq!(after["limit_ms"], 20000.0);
    assert!(
        text.contains("conn-flood left the target down: it answered again"),
        "{text}"
    );
    // The next scenario's baseline found the target up again: it was judged, not lost.
    let next = scenario(&r, "slowloris");
    assert_eq!(next["before"]["ready"], true, "{next}");
    assert_eq!(next["legit"]["baseline"]["success_rate"], 1.0, "{next}");
    assert_ne!(next["verdict"], "inconclusive", "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stays_down_is_not_attacked_again() {
    let site = fragile::start(None).await;
    let (code, text, r, _) = run(
        &["conn-flood", "slowloris"],
        &site.url,
        &site.ca,
        &["--ready-wait", "3"],
    )
    .await;
    assert_eq!(code, Some(1), "conn-flood denied it: {text}");
    assert_eq!(scenario(&r, "conn-flood")["after"]["ready"], false, "{r}");
    assert!(
        text.contains("conn-flood left the target down: not recovered within 3 s"),
        "{text}"
    );
    let next = scenario(&r, "slowloris");
    assert_eq!(next["verdict"], "inconclusive", "{next}");
    assert!(
        next["note"]
            .as_str()
            .expect("note")
            .contains("(down since conn-flood): not attacked"),
        "{next}"
    );
    assert_eq!(next["attack"]["connects"], 0, "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_fails_the_baseline_is_not_attacked() {
    let weak = Weak::start(128).await;
    // The weak target answers 200 to everything: a probe that expects 404 never succeeds.
    let (code, text, r, _) = run(
        &["slowloris"],
        &weak.url,
        &weak.ca,
        &["--probe", "GET / 404"],
    )
    .await;
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("legitimate client: GET / only"), "{text}");
    let s = scenario(&r, "slowloris");
    assert_eq!(s["verdict"], "inconclusive", "{s}");
    assert!(
        s["note"].as_str().expect("note").contains(
            "failed the baseline (0 of 20 legitimate requests answered as expected): not attacked"
        ),
        "{s}"
    );
    assert_eq!(s["attack"]["connects"], 0, "{s}");
    assert_eq!(s["legit"]["attack"]["requests"], 0, "{s}");
}

/// `attack-sim capacity slowloris` at smoke intensity.
async fn capacity(
    url: &str,
    ca: &std::path::Path,
    start: &str,
    max: &str,
) -> (Option<i32>, String, Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, text) = attack_sim(&[
        "capacity",
        "slowloris",
        "--target",
        url,
        "--ca",
        ca.to_str().expect("utf-8"),
        "--intensity",
        "smoke",
        // Smoke steps of 3 s of attack: slowloris fills a server's connections in its first
        // second, and a search runs up to eight steps.
        "--duration",
        "3",
        "--start",
        start,
        "--max",
        max,
        "--report-dir",
        dir.path().to_str().expect("utf-8"),
    ])
    .await;
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("<testsuite name=\"capacity\""), "{junit}");
    (code, text, report(dir.path()), html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capacity_search_finds_where_a_server_breaks() {
    // At most 128 connections at once: slowloris holds them all from somewhere past that.
    let weak = Weak::start(128).await;
    let (code, text, r, html) = capacity(&weak.url, &weak.ca, "32", "1024").await;
    assert_eq!(code, Some(0), "{text}");
    let c = &r["capacity"];
    assert_eq!(c["scenario"], "slowloris");
    assert_eq!(c["unit"], "connections");
    let held = c["held_up_to"].as_u64().expect("held");
    let failed = c["failed_at"].as_u64().expect("failed");
    assert!(held < failed && failed <= 256 && held >= 32, "{c}");
    // Bisected to within 10 %.
    assert!((failed - held) as f64 <= (held as f64 * 0.1).ceil(), "{c}");
    let steps = c["steps"].as_array().expect("steps");
    assert!(steps.len() >= 4, "{c}");
    assert_eq!(steps[0]["load"], 32);
    assert!(
        text.contains("capacity under slowloris: held up to"),
        "{text}"
    );
    assert!(
        html.contains("Capacity: slowloris") && html.contains("<svg"),
        "self-contained chart"
    );
    assert!(!html.contains("<script"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_holds_slowloris_to_the_searchs_bound() {
    let rampart = Rampart::start().await;
    let (code, text, r, _) = capacity(&rampart.url, &rampart.ca, "128", "256").await;
    assert_eq!(code, Some(0), "{text}");
    let c = &r["capacity"];
    assert_eq!(c["failed_at"], Value::Null, "{c}");
    assert_eq!(c["held_up_to"], 256, "{c}");
    assert!(text.contains("never failed up to --max 256"), "{text}");
}
