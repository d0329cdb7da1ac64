//! Trust as curl does, against a static site nobody here configured for the harness: the
//! server's own self-signed certificate (CA:TRUE, as `openssl req -x509` makes it) given with
//! `--ca` is trusted exactly; a CA bundle verifies a chain; `--pin` trusts a public key;
//! `--insecure` trusts anything and says so in every report. Every refusal names the
//! certificate problem in words, and is a usage error (exit 2) made before any scenario runs.

use std::path::Path;

use crate::common;

use common::static_site::{self, Cert};
use common::{attack_sim, report};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// `security-headers` against `url` with `trust` flags; exit code, output, report dir.
async fn scan(url: &str, trust: &[&str]) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["run", "security-headers", "--target", url];
    args.extend_from_slice(trust);
    let out = dir.path().to_str().expect("utf-8").to_string();
    args.extend_from_slice(&["--report-dir", &out]);
    let (code, text) = attack_sim(&args).await;
    (code, text, dir)
}

fn pin_of(cert: &Cert) -> String {
    let der = CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).expect("der");
    attack_sim::trust::Pin::of(&der).expect("pin").to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_own_self_signed_ca_certificate_is_pinned_exactly() {
    let cert = static_site::self_signed_ca_true(&["localhost"]);
    let site = static_site::start(&cert).await;
    let (code, text, dir) = scan(&site.url, &["--ca", path(&site.ca)]).await;
    // The scan ran (a static site sends none of the security headers: a finding, exit 1).
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("INSECURE"), "{text}");
    let r = report(dir.path());
    assert_eq!(r["tls_verified"], true);
    assert_eq!(r["scenarios"][0]["verdict"], "vulnerable", "{r}");
    // Exactly pinned means this certificate: another self-signed one for the same name is
    // refused, in words.
    let other = static_site::self_signed_ca_true(&["localhost"]);
    let other_site = static_site::start(&other).await;
    let (code, text, _) = scan(&other_site.url, &["--ca", path(&site.ca)]).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("CA:TRUE") || text.contains("not issued by a CA in --ca"),
        "{text}"
    );
    assert!(!text.contains("OtherError"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_bundle_verifies_the_chain_and_names_what_is_wrong() {
    let (ca_pem, leaf) = static_site::ca_and_leaf(&["localhost"]);
    let site = static_site::start(&leaf).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).expect("write");
    let (code, text, _) = scan(&site.url, &["--ca", path(&ca)]).await;
    assert_eq!(code, Some(1), "{text}");
    // A leaf for another name, from the same CA.
    let (ca2_pem, elsewhere) = static_site::ca_and_leaf(&["other.example"]);
    let site2 = static_site::start(&elsewhere).await;
    let ca2 = dir.path().join("ca2.pem");
    std::fs::write(&ca2, &ca2_pem).expect("write");
    let (code, text, _) = scan(&site2.url, &["--ca", path(&ca2)]).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("not valid for localhost: it names other.example"),
        "{text}"
    );
    // The wrong CA.
    let (code, text, _) = scan(&site.url, &["--ca", path(&ca2)]).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not issued by a CA in --ca"), "{text}");
    // No trust at all.
    let (code, text, _) = scan(&site.url, &[]).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("--pin") && text.contains("--insecure"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_key_pin_is_enough_and_a_wrong_one_is_refused() {
    let cert = static_site::self_signed_ca_true(&["localhost"]);
    let site = static_site::start(&cert).await;
    let pin = pin_of(&cert);
    let (code, text, _) = scan(&site.url, &["--pin", &pin]).await;
    assert_eq!(code, Some(1), "{text}");
    let wrong = pin_of(&static_site::self_signed_ca_true(&["localhost"]));
    let (code, text, _) = scan(&site.url, &["--pin", &wrong]).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("which no --pin names"), "{text}");
    assert!(text.contains(&pin), "the server's own key is named: {text}");
    // Several pins, curl's way: one of them is the key.
    let both = format!("{wrong};{pin}");
    let (code, text, _) = scan(&site.url, &["--pin", &both]).await;
    assert_eq!(code, Some(1), "{text}");
    // A pin and a CA must both hold.
    let (ca_pem, _) = static_site::ca_and_leaf(&["localhost"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).expect("write");
    let (code, text, _) = scan(&site.url, &["--pin", &pin, "--ca", path(&ca)]).await;
    assert_eq!(code, Some(2), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_trusts_anything_and_every_report_says_so() {
    let (_, elsewhere) = static_site::ca_and_leaf(&["other.example"]);
    let site = static_site::start(&elsewhere).await;
    let (code, text, dir) = scan(&site.url, &["--insecure"]).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("INSECURE: the server's certificate is not verified"),
        "{text}"
    );
    let r = report(dir.path());
    assert_eq!(r["tls_verified"], false, "{r}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains("TLS not verified"), "{html}");
}
