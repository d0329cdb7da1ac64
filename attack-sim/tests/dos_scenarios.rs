//! DoS scenarios at smoke intensity against both targets: the weak server must be reported
//! denied or degraded (a scenario that cannot fail proves nothing), rampart on its defaults
//! must hold; exit codes and report.json follow the contract.

mod common;

use std::path::Path;

use common::weak::Weak;
use common::{Rampart, attack_sim, report};

/// Runs one scenario at smoke intensity; returns the exit code, the output and the report.
async fn run(scenario: &str, url: &str, ca: &Path) -> (Option<i32>, String, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = attack_sim(&[
        "run",
        scenario,
        "--target",
        url,
        "--ca",
        ca.to_str().expect("utf-8 path"),
        "--intensity",
        "smoke",
        "--report-dir",
        dir.path().to_str().expect("utf-8 path"),
    ])
    .await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{scenario} against {url}:\n{text}");
    (out.status.code(), text, report(dir.path()))
}

/// The weak target is caught, rampart holds.
async fn positive_control(scenario: &str) {
    let weak = Weak::start(128).await;
    let (code, text, r) = run(scenario, &weak.url, &weak.ca).await;
    let verdict = r["scenarios"][0]["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict == "denied" || verdict == "degraded",
        "weak target: {verdict}\n{text}"
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(r["schema_version"], 1);
    drop(weak);

    let rampart = Rampart::start().await;
    let (code, text, r) = run(scenario, &rampart.url, &rampart.ca).await;
    let s = &r["scenarios"][0];
    assert_eq!(s["verdict"], "held", "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(s["name"], scenario);
    assert_eq!(s["kind"], "dos");
    assert!(s["legit"]["requests"].as_u64().expect("requests") > 0);
    assert!(
        s["attack"]["open_peak"].as_u64().expect("peak") >= 50,
        "the attack really ran: {s}"
    );
    assert!(s["findings"].as_array().expect("findings").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_denies_the_weak_target_and_rampart_holds() {
    positive_control("slowloris").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conn_flood_denies_the_weak_target_and_rampart_holds() {
    positive_control("conn-flood").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_stall_denies_the_weak_target_and_rampart_holds() {
    positive_control("tls-stall").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_body_denies_the_weak_target_and_rampart_holds() {
    positive_control("slow-body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_read_denies_the_weak_target_and_rampart_holds() {
    positive_control("slow-read").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_flood_denies_the_weak_target_and_rampart_holds() {
    positive_control("request-flood").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_flood_denies_the_weak_target_and_rampart_holds() {
    positive_control("login-flood").await;
}
