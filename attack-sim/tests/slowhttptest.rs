//! Cross-check of the slowloris verdicts with slowhttptest (Debian package `slowhttptest`):
//! both tools must call the weak target unavailable and rampart available.
//!
//! slowhttptest attacks from one address and probes from that same address, so against
//! rampart's per-client caps its own probe is refused along with its attack. The comparison
//! therefore lifts rampart's per-client connection cap and handshake rate, leaving the header
//! deadline and the global caps as the defence, and runs attack-sim's slowloris against the
//! same configuration. Ignored by default (a minute, and an external tool):
//! `cargo nextest run -p attack-sim --run-ignored only -E 'binary(slowhttptest)' --no-capture`.

use crate::common;

use std::time::Duration;

use common::weak::Weak;
use common::{Rampart, attack_sim, report};

/// Runs slowhttptest's slowloris against `url`; returns the share of its once-a-second status
/// lines (printed every few seconds), after the first, that said the service was available.
async fn slowhttptest_availability(url: &str) -> f64 {
    let run = tokio::process::Command::new("slowhttptest")
        .args([
            "-H", "-c", "1000", "-r", "200", "-i", "5", "-x", "24", "-p", "3", "-l", "25",
        ])
        .args(["-u", &format!("{url}/")])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("slowhttptest finished in time")
        .expect("slowhttptest is installed (apt-get install slowhttptest)");
    let text = strip_colours(&String::from_utf8_lossy(&out.stdout));
    let states: Vec<bool> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("service available:"))
        .map(|v| v.trim().starts_with("YES"))
        .collect();
    eprintln!("slowhttptest against {url}: {} status lines", states.len());
    eprintln!("{text}");
    let later = &states[states.len().min(1)..];
    assert!(
        !later.is_empty(),
        "no status lines from slowhttptest:\n{text}"
    );
    later.iter().filter(|s| **s).count() as f64 / later.len() as f64
}

/// slowhttptest colours its output even into a pipe: drops `ESC [ ... m`.
fn strip_colours(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn attack_sim_slowloris(url: &str, ca: &std::path::Path) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, _) = attack_sim(&[
        "run",
        "slowloris",
        "--target",
        url,
        "--ca",
        ca.to_str().expect("utf-8"),
        "--intensity",
        "smoke",
        "--report-dir",
        dir.path().to_str().expect("utf-8"),
    ])
    .await;
    report(dir.path())["scenarios"][0]["verdict"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slowhttptest; run by hand to cross-check slowloris verdicts"]
async fn slowhttptest_agrees_with_the_slowloris_verdicts() {
    let weak = Weak::start(128).await;
    let weak_available = slowhttptest_availability(&weak.url).await;
    let weak_verdict = attack_sim_slowloris(&weak.url, &weak.ca).await;
    drop(weak);

    let rampart = Rampart::start_with(|c| {
        c.limits.max_connections_per_client = 5000;
        c.limits.handshake_rate_per_client = 5000;
        c.limits.handshake_burst_per_client = 5000;
    })
    .await;
    let rampart_available = slowhttptest_availability(&rampart.url).await;
    let rampart_verdict = attack_sim_slowloris(&rampart.url, &rampart.ca).await;
    eprintln!(
        "weak: slowhttptest available {:.0}% of the time, attack-sim {weak_verdict}; \
         rampart (per-client caps lifted): slowhttptest available {:.0}%, attack-sim {rampart_verdict}",
        weak_available * 100.0,
        rampart_available * 100.0
    );
    assert!(weak_available < 0.5 && weak_verdict == "denied");
    assert!(rampart_available == 1.0 && rampart_verdict == "held");
}
