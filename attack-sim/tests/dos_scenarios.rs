//! DoS scenarios at smoke intensity against both targets: the weak server must be reported
//! denied or degraded (a scenario that cannot fail proves nothing), rampart on its defaults
//! must hold; exit codes and report.json follow the contract.

mod common;

use common::weak::Weak;
use common::{Rampart, attack_sim, report};

async fn run_slowloris(
    url: &str,
    ca: &std::path::Path,
    dir: &std::path::Path,
) -> (Option<i32>, String) {
    let out = attack_sim(&[
        "run",
        "slowloris",
        "--target",
        url,
        "--ca",
        ca.to_str().expect("utf-8 path"),
        "--intensity",
        "smoke",
        "--report-dir",
        dir.to_str().expect("utf-8 path"),
    ])
    .await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_denies_the_weak_target_and_rampart_holds() {
    let weak = Weak::start(128).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, text) = run_slowloris(&weak.url, &weak.ca, dir.path()).await;
    eprintln!("weak target:\n{text}");
    let r = report(dir.path());
    let verdict = r["scenarios"][0]["verdict"]
        .as_str()
        .expect("verdict")
        .to_string();
    assert!(
        verdict == "denied" || verdict == "degraded",
        "weak target: {verdict}\n{text}"
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(r["schema_version"], 1);

    let rampart = Rampart::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, text) = run_slowloris(&rampart.url, &rampart.ca, dir.path()).await;
    eprintln!("rampart:\n{text}");
    let r = report(dir.path());
    let s = &r["scenarios"][0];
    assert_eq!(s["verdict"], "held", "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(s["name"], "slowloris");
    assert_eq!(s["kind"], "dos");
    assert!(s["legit"]["requests"].as_u64().expect("requests") > 0);
    assert!(
        s["attack"]["open_peak"].as_u64().expect("peak") > 100,
        "the attack really ran: {s}"
    );
    assert!(s["findings"].as_array().expect("findings").is_empty());
}
