//! attack-sim against servers nobody here wrote: nginx and Apache httpd from Debian, on
//! Debian's own configurations, serving a static site with an `openssl req -x509`
//! certificate, no `/healthz` and no OpenAPI document. Each must get real verdicts (held,
//! degraded or denied; never inconclusive because of the tool) from slowloris and conn-flood
//! at the standard intensity (its 2,000 connections, with 5 s of attack where the preset has
//! 30: CI's time), and a finite capacity for slowloris (smoke steps of 3 s of attack).
//!
//! Ignored by default: they need the Debian packages `nginx` and `apache2` (and `openssl`);
//! `.ci/run` installs them and runs these with `--run-ignored only`.

use crate::common;

use common::real::{self, Real};
use common::{attack_sim_within, report, scenario};
use serde_json::Value;
use std::time::Duration;

async fn run(server: &Real, args: &[&str]) -> (Option<i32>, String, Value) {
    let out = server.dir.path().join(format!("reports-{}", args[0]));
    let mut all = args.to_vec();
    let (url, ca, dir) = (
        server.url.as_str(),
        server.cert.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    );
    all.extend_from_slice(&["--target", url, "--ca", ca, "--report-dir", dir]);
    let (code, text) = attack_sim_within(&all, &[], Duration::from_secs(600)).await;
    // To look at the reports of these runs: set this variable.
    if let Some(keep) = std::env::var_os("ATTACK_SIM_TEST_KEEP_REPORTS") {
        let dest = std::path::Path::new(&keep).join(format!("{}-{}", server.name, args[0]));
        std::fs::create_dir_all(&dest).expect("keep dir");
        for f in ["report.json", "junit.xml", "report.html", "report.sarif"] {
            let _ = std::fs::copy(out.join(f), dest.join(f));
        }
    }
    (code, text, report(&out))
}

async fn real_verdicts_and_a_finite_capacity(server: Real) {
    let (code, text, r) = run(
        &server,
        &[
            "run",
            "slowloris",
            "conn-flood",
            "--intensity",
            "standard",
            "--duration",
            "5",
        ],
    )
    .await;
    assert!(matches!(code, Some(0 | 1)), "{text}");
    assert!(text.contains("legitimate client: GET / only"), "{text}");
    for name in ["slowloris", "conn-flood"] {
        let s = scenario(&r, name);
        let verdict = s["verdict"].as_str().expect("verdict");
        assert!(
            matches!(verdict, "held" | "degraded" | "denied"),
            "{}: {name} {verdict}: {}",
            server.name,
            s["note"]
        );
        eprintln!(
            "{} {name}: {verdict}, legit {:.2} %, p99 {} ms (baseline {}), after: {}",
            server.name,
            s["legit"]["success_rate"].as_f64().unwrap_or_default() * 100.0,
            s["legit"]["p99_ms"],
            s["legit"]["baseline_p99_ms"],
            s["after"]
        );
    }
    let (code, text, r) = run(
        &server,
        &[
            "capacity",
            "slowloris",
            "--intensity",
            "smoke",
            "--start",
            "64",
            "--max",
            "8192",
            "--duration",
            "3",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{text}");
    let c = &r["capacity"];
    let failed = c["failed_at"].as_u64();
    assert!(
        failed.is_some(),
        "{}: slowloris never failed up to 8192: {c}",
        server.name
    );
    eprintln!(
        "{} slowloris capacity (smoke steps): held up to {}, failed at {}",
        server.name, c["held_up_to"], c["failed_at"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's nginx (apt-get install nginx); .ci/run installs it"]
async fn nginx_on_debians_defaults_gets_real_verdicts_and_a_finite_capacity() {
    assert!(real::installed("nginx"), "nginx is not installed");
    real_verdicts_and_a_finite_capacity(real::nginx()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's apache2 (apt-get install apache2); .ci/run installs it"]
async fn apache_on_debians_defaults_gets_real_verdicts_and_a_finite_capacity() {
    assert!(real::installed("apache2"), "apache2 is not installed");
    real_verdicts_and_a_finite_capacity(real::apache()).await;
}

/// Their default pages in a browser: no Content-Security-Policy, and nothing stops another
/// site from framing them. The browser's own verdict, not a header's absence, says so.
async fn default_pages_are_framed_and_unprotected(server: Real) {
    let (code, text, r) = run(&server, &["run", "web-csp", "web-framing"]).await;
    assert_eq!(code, Some(1), "{text}");
    let csp = scenario(&r, "web-csp");
    assert_eq!(csp["verdict"], "vulnerable", "{csp}");
    assert!(
        csp["findings"][0]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("no Content-Security-Policy"),
        "{csp}"
    );
    let framing = scenario(&r, "web-framing");
    assert_eq!(framing["verdict"], "vulnerable", "{framing}");
    assert_eq!(
        framing["findings"][0]["technique"], "clickjacking",
        "{framing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's nginx and chromium (apt-get install nginx chromium chromium-driver); .ci/run installs them"]
async fn nginx_default_page_can_be_framed_by_another_site() {
    assert!(real::installed("nginx"), "nginx is not installed");
    default_pages_are_framed_and_unprotected(real::nginx()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's apache2 and chromium (apt-get install apache2 chromium chromium-driver); .ci/run installs them"]
async fn apache_default_page_can_be_framed_by_another_site() {
    assert!(real::installed("apache2"), "apache2 is not installed");
    default_pages_are_framed_and_unprotected(real::apache()).await;
}

/// A server stopped at the end of a test leaves nothing behind: its workers stop with it and
/// its port is free (a SIGKILL of nginx's master or Apache's parent alone left them running).
fn stops_with_its_workers(server: Real) {
    let port = server.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on {port}"
    );
}

#[test]
#[ignore = "needs Debian's nginx (apt-get install nginx); .ci/run installs it"]
fn nginx_stops_with_its_workers() {
    assert!(real::installed("nginx"), "nginx is not installed");
    stops_with_its_workers(real::nginx());
}

#[test]
#[ignore = "needs Debian's apache2 (apt-get install apache2); .ci/run installs it"]
fn apache_stops_with_its_workers() {
    assert!(real::installed("apache2"), "apache2 is not installed");
    stops_with_its_workers(real::apache());
}
