//! The `tls` scans against three targets: rampart on its defaults must pass every one; the
//! weak target (any SNI served, plaintext answered, no security headers) and a legacy
//! `openssl s_server` (TLS 1.0 and 1.1, CBC, RC4 and static RSA suites) must each be caught
//! with the right technique, and nothing else reported of them. Reports: report.json,
//! junit.xml, report.html and report.sarif.

use crate::common;

use common::legacy::Legacy;
use common::weak::Weak;
use common::{Rampart, ScanRun, scan, scenario};
use serde_json::Value;

/// The result of the check `name` of `s`.
fn check<'a>(s: &'a Value, name: &str) -> &'a str {
    common::check(s, name)["result"].as_str().expect("result")
}

fn techniques(s: &Value) -> Vec<&str> {
    s["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["technique"].as_str().expect("technique"))
        .collect()
}

const TLS_SCANS: [&str; 5] = [
    "tls-legacy-versions",
    "tls-weak-ciphers",
    "tls-plaintext",
    "tls-wrong-sni",
    "security-headers",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_passes_every_tls_scan() {
    let rampart = Rampart::start().await;
    let ScanRun {
        code,
        text,
        report: r,
        sarif,
    } = scan(&["tls"], &rampart.url, &rampart.ca).await;
    assert_eq!(code, Some(0), "{text}");
    // A TLS-only run makes no legitimate client and registers nobody.
    assert!(!text.contains("legitimate client"), "{text}");
    for name in TLS_SCANS {
        let s = scenario(&r, name);
        assert_eq!(s["kind"], "tls");
        assert_eq!(s["verdict"], "passed", "{s}");
        assert_eq!(s["findings"], serde_json::json!([]), "{s}");
        assert!(s["legit"].is_null() && s["server"].is_null());
        let checks = s["checks"].as_array().expect("checks");
        assert!(
            checks.len() >= 2,
            "the baseline and at least one check: {s}"
        );
        assert!(checks.iter().all(|c| c["result"] == "passed"), "{s}");
    }
    assert_eq!(
        check(scenario(&r, "tls-legacy-versions"), "TLS 1.0 refused"),
        "passed"
    );
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
}

/// The weak target is hyper over rustls: its versions and suites are sound, so those scans
/// must pass (no false positive); its SNI, plaintext and header policies are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weak_target_is_caught_on_sni_plaintext_and_headers() {
    let weak = Weak::start_lax(16).await;
    let ScanRun {
        code,
        text,
        report: r,
        sarif,
    } = scan(&["tls"], &weak.url, &weak.ca).await;
    assert_eq!(code, Some(1), "{text}");
    for sound in ["tls-legacy-versions", "tls-weak-ciphers"] {
        assert_eq!(scenario(&r, sound)["verdict"], "passed", "{text}");
    }
    let sni = scenario(&r, "tls-wrong-sni");
    assert_eq!(sni["verdict"], "vulnerable", "{sni}");
    assert_eq!(techniques(sni), ["tls-unknown-sni-served"]);

    let plain = scenario(&r, "tls-plaintext");
    assert_eq!(plain["verdict"], "vulnerable", "{plain}");
    assert_eq!(
        techniques(plain),
        ["tls-plaintext-http", "tls-plaintext-http"]
    );
    let f = &plain["findings"][0];
    assert_eq!(f["severity"], "high", "a 200 served in cleartext: {f}");
    assert!(
        f["evidence"]["response"]
            .as_str()
            .expect("evidence")
            .starts_with("HTTP/1.1 200"),
        "{f}"
    );

    let headers = scenario(&r, "security-headers");
    assert_eq!(headers["verdict"], "vulnerable", "{headers}");
    let missing: Vec<_> = headers["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["parameter"].as_str().expect("header"))
        .collect();
    assert_eq!(
        missing,
        [
            "Strict-Transport-Security",
            "X-Content-Type-Options",
            "Cache-Control",
            "Content-Security-Policy",
            "X-Frame-Options"
        ]
    );
    assert_eq!(check(headers, "no version in Server"), "passed");

    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1 + 2 + 5, "{sarif}");
    assert!(
        results.iter().all(
            |x| x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| u.starts_with("tls://localhost:") || u.starts_with(&weak.url))
        ),
        "{sarif}"
    );
    assert!(text.contains("FINDINGS"), "{text}");
}

/// OpenSSL at security level 0 takes TLS 1.0 and 1.1, CBC suites and static RSA: both scans
/// must say so. (This OpenSSL has no SSL 3.0 at all.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_openssl_server_is_caught_on_versions_and_suites() {
    let legacy = Legacy::start().await;
    let ScanRun {
        code,
        text,
        report: r,
        ..
    } = scan(
        &["tls-legacy-versions", "tls-weak-ciphers"],
        &legacy.url,
        &legacy.ca,
    )
    .await;
    assert_eq!(code, Some(1), "{text}");
    let versions = scenario(&r, "tls-legacy-versions");
    assert_eq!(versions["verdict"], "vulnerable", "{versions}");
    assert_eq!(check(versions, "TLS 1.0 refused"), "failed");
    assert_eq!(check(versions, "TLS 1.1 refused"), "failed");
    assert_eq!(check(versions, "SSL 3.0 refused"), "passed");
    assert_eq!(
        techniques(versions),
        ["tls-legacy-version", "tls-legacy-version"]
    );
    let suites = scenario(&r, "tls-weak-ciphers");
    assert_eq!(suites["verdict"], "vulnerable", "{suites}");
    assert_eq!(
        techniques(suites),
        ["tls-non-aead-suite", "tls-no-forward-secrecy"]
    );
    let evidence = suites["findings"][0]["evidence"]["response"]
        .as_str()
        .expect("evidence");
    assert!(
        evidence.contains("ServerHello choosing TLS 1.2 with TLS_"),
        "{evidence}"
    );
}
