//! Certificates from ACME, against Let's Encrypt's RFC 8555 test server, Pebble (Debian's
//! `pebble`), with the `rampart` binary as an operator runs it:
//! - issuance at start, checked with `curl` trusting only Pebble's root and intermediate
//!   (fetched from its management interface), and a restart serving the same serial without
//!   a new order;
//! - Pebble down at start: handshakes fail with no certificate at all (not even to a client
//!   that trusts anything), and a certificate is served once Pebble is up;
//! - a renewal forced by a renewal window longer than the lifetime;
//! - Pebble refusing the challenge: the old certificate stays in service and the error carries
//!   Pebble's problem detail;
//! - Pebble restarted with its memory wiped (the stored account unknown to it): a new account
//!   is created and the renewal goes through;
//! - Pebble refusing the account (external account binding required): said in words, and
//!   still no certificate served.
//!
//! Pebble validates `tls-alpn-01` by connecting to `localhost` at its configured `tlsPort`,
//! so each test picks rampart's port before starting either. Needs the `pebble` binary, so the
//! suite is `#[ignore]`d and reported as skipped without it; `.ci/run` installs Pebble and
//! runs it.

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::Proc;
use nix::sys::signal::Signal;
use rustls::pki_types::ServerName;

/// A loopback port free now (for servers that must know each other's ports before starting).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A Pebble process with its own HTTPS certificate (from the dev CA generator).
pub(crate) struct Pebble {
    child: Option<tokio::process::Child>,
    config: PathBuf,
    /// The CA of Pebble's own HTTPS (what rampart's `directory_ca` names).
    https_ca: PathBuf,
    acme_port: u16,
    management_port: u16,
    /// Its log (what it was asked for).
    log: PathBuf,
}

impl Pebble {
    /// Prepares a Pebble that validates `tls-alpn-01` on `tls_port`, without starting it.
    pub(crate) fn prepare(dir: &Path, tls_port: u16) -> Pebble {
        Pebble::prepare_with(dir, tls_port, false)
    }

    /// The same, refusing every new account that has no external account binding (RFC 8555
    /// section 7.3.4) when `binding_required`.
    fn prepare_with(dir: &Path, tls_port: u16, binding_required: bool) -> Pebble {
        let certs = rampart_certs::generate_dev_set(&dir.join("pebble-https")).expect("certs");
        let (acme_port, management_port) = (free_port(), free_port());
        let config = dir.join("pebble.json");
        let json = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{acme_port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": certs.leaf_cert,
                "privateKey": certs.leaf_key,
                "httpPort": free_port(),
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": binding_required
            }
        });
        std::fs::write(&config, json.to_string()).expect("pebble config");
        Pebble {
            child: None,
            log: dir.join("pebble.log"),
            config,
            https_ca: certs.ca_cert,
            acme_port,
            management_port,
        }
    }

    /// What it has logged so far (for failure messages).
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Stops it (its accounts, orders and CA are forgotten).
    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill pebble");
        }
    }

    /// Starts it and waits (bounded) until its directory answers.
    pub(crate) async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("pebble log");
        let child = tokio::process::Command::new("pebble")
            .arg("-config")
            .arg(&self.config)
            // No random validation delays, no nonces refused at random, and a fresh
            // authorization for (almost) every order, so a renewal is validated again.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("pebble runs (apt-get install pebble)");
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.acme_port));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "pebble did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many orders it has been sent (its log says each one it adds).
    pub(crate) fn orders(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .expect("pebble log")
            .matches("Added order")
            .count()
    }

    /// Named, not an address: rampart resolves it inside its sandbox (`/etc/hosts`).
    fn directory(&self) -> String {
        format!("https://localhost:{}/dir", self.acme_port)
    }

    /// Pebble's root and intermediate, fetched from its management interface into `to`: what
    /// a client of certificates it issues trusts.
    pub(crate) fn trust(&self, to: &Path) -> PathBuf {
        let mut pem = String::new();
        for what in ["roots/0", "intermediates/0"] {
            let out = std::process::Command::new("curl")
                .args(["-sS", "--fail", "--max-time", "10", "--cacert"])
                .arg(&self.https_ca)
                .arg(format!("https://localhost:{}/{what}", self.management_port))
                .output()
                .expect("curl runs");
            assert!(out.status.success(), "{what}: {out:?}");
            pem.push_str(&String::from_utf8(out.stdout).expect("PEM"));
        }
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "{pem}");
        let path = to.join("pebble-trust.pem");
        std::fs::write(&path, pem).expect("write");
        path
    }
}

/// A config for rampart on `port` with its certificate from `pebble` (`extra`: TOML lines of
/// `[tls.acme]`), SQLite in `dir`, and an admin listener for `/metrics`.
fn write_config(dir: &Path, port: u16, pebble: &Pebble, extra: &str) -> PathBuf {
    let db = format!("sqlite://{}", dir.join("rampart.db").display());
    write_config_on(dir, port, pebble, &db, extra)
}

/// The same on the database `db`.
pub(crate) fn write_config_on(
    dir: &Path,
    port: u16,
    pebble: &Pebble,
    db: &str,
    extra: &str,
) -> PathBuf {
    let path = dir.join("rampart.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\n\
             [database]\nurl = \"{db}\"\n\
             [auth]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n\
             [admin]\nlisten = \"127.0.0.1:0\"\n\
             [tls.acme]\ndirectory = \"{directory}\"\ndomains = [\"localhost\"]\n\
             directory_ca = \"{ca}\"\ndir = \"{acme}\"\n{extra}\n",
            directory = pebble.directory(),
            ca = pebble.https_ca.display(),
            acme = dir.join("acme").display(),
        ),
    )
    .expect("config");
    path
}

/// Starts `rampart serve` on `config`; returns it with its admin port.
pub(crate) async fn serve(dir: &Path, config: &Path) -> (Proc, u16) {
    let mut p = Proc::spawn(
        dir,
        &["serve", "--config", config.to_str().expect("utf-8")],
        &[],
    );
    p.wait_listening().await;
    let admin = loop {
        let line = p.next_stdout().await.expect("admin banner");
        if let Some(rest) = line.strip_prefix("admin metrics on https://") {
            let addr: SocketAddr = rest
                .trim_end_matches("/metrics")
                .parse()
                .expect("admin address");
            break addr.port();
        }
    };
    (p, admin)
}

/// `curl` of `https://localhost:PORT/PATH` trusting only `trust`; its stdout, or its error.
pub(crate) fn curl(port: u16, path: &str, trust: &Path) -> Result<String, String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10", "--resolve"])
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg("--cacert")
        .arg(trust)
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .expect("curl runs");
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// `curl -k` (trusting any certificate at all): fails only when no certificate is served.
fn curl_insecure(port: u16) -> Result<String, String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "-k", "--max-time", "10", "--resolve"])
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(format!("https://localhost:{port}/healthz"))
        .output()
        .expect("curl runs");
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// The serial number of the certificate served on `port` to a client trusting `trust`.
pub(crate) async fn served_serial(port: u16, trust: &Path) -> String {
    let cfg = common::client_config(trust, &[b"http/1.1"], &[&rustls::version::TLS13]);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("a verified handshake");
    let leaf = tls.get_ref().1.peer_certificates().expect("certificates")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("x509");
    cert.raw_serial_as_string()
}

/// The value of the metric line starting with `name` on the admin listener.
pub(crate) fn metric(admin: u16, name: &str, trust: &Path) -> u64 {
    let text = curl(admin, "/metrics", trust).expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// A rampart that has had its first certificate from a running Pebble (`extra`: TOML lines of
/// `[tls.acme]`): its folder, port, Pebble, process and admin port.
struct Issued {
    dir: tempfile::TempDir,
    port: u16,
    pebble: Pebble,
    rampart: Proc,
    admin: u16,
}

async fn issued(extra: &str) -> Issued {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let mut pebble = Pebble::prepare(dir.path(), port);
    pebble.start().await;
    let config = write_config(dir.path(), port, &pebble, extra);
    let (mut rampart, admin) = serve(dir.path(), &config).await;
    rampart
        .wait_stderr("ACME certificate in service, issued to this instance")
        .await;
    Issued {
        dir,
        port,
        pebble,
        rampart,
        admin,
    }
}

/// Stops a rampart with SIGTERM; it exits 0.
async fn stop(mut rampart: Proc) {
    rampart.signal(Signal::SIGTERM);
    assert_eq!(rampart.wait_exit().await, Some(0));
}

pub(crate) const ISSUED: &str = "rampart_acme_orders_total{outcome=\"issued\"}";
pub(crate) const FAILED: &str = "rampart_acme_orders_total{outcome=\"failed\"}";

#[tokio::test]
#[ignore = "needs pebble; .ci/run installs it"]
async fn a_certificate_is_issued_at_start_and_a_restart_serves_it_again() {
    common::bounded(async {
        let Issued {
            dir,
            port,
            pebble,
            rampart,
            admin,
        } = issued("").await;
        let trust = pebble.trust(dir.path());
        assert_eq!(
            curl(port, "/healthz", &trust).expect("trusted by Pebble's root alone"),
            "{\"status\":\"ok\"}"
        );
        let serial = served_serial(port, &trust).await;
        assert_eq!(metric(admin, ISSUED, &trust), 1);
        assert_eq!(metric(admin, FAILED, &trust), 0);
        assert!(
            metric(admin, "rampart_acme_certificate_not_after_seconds", &trust) > 1_700_000_000
        );
        for file in ["account.json", "certificate.pem"] {
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(dir.path().join("acme").join(file))
                    .expect("stored")
                    .permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }

        stop(rampart).await;
        let config = dir.path().join("rampart.toml");
        let (mut again, admin) = serve(dir.path(), &config).await;
        again
            .wait_stderr("serving the stored ACME certificate")
            .await;
        assert_eq!(
            served_serial(port, &trust).await,
            serial,
            "the same certificate"
        );
        // No order at all: the stored certificate is years from its renewal.
        assert_eq!(metric(admin, ISSUED, &trust), 0);
        assert_eq!(metric(admin, FAILED, &trust), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs pebble; .ci/run installs it"]
async fn with_pebble_down_at_start_no_certificate_is_served_until_it_is_up() {
    common::bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        let mut pebble = Pebble::prepare(dir.path(), port);
        let config = write_config(dir.path(), port, &pebble, "");
        let (mut rampart, _) = serve(dir.path(), &config).await;
        let failed = rampart.wait_stderr("ACME order failed").await;
        assert!(
            failed.contains("is unreachable") && failed.contains(&pebble.directory()),
            "{failed}"
        );
        let refused = curl_insecure(port).expect_err("no certificate at all, not a stand-in");
        assert!(
            refused.contains("alert") || refused.contains("SSL"),
            "{refused}"
        );

        pebble.start().await;
        rampart
            .wait_stderr("ACME certificate in service, issued to this instance")
            .await;
        let trust = pebble.trust(dir.path());
        assert_eq!(
            curl(port, "/healthz", &trust).expect("served once Pebble is up"),
            "{\"status\":\"ok\"}"
        );
    })
    .await;
}

#[tokio::test]
#[ignore = "needs pebble; .ci/run installs it"]
async fn a_renewal_window_longer_than_the_lifetime_forces_a_renewal() {
    common::bounded(async {
        let Issued {
            dir,
            port,
            pebble,
            mut rampart,
            admin,
        } = issued("renew_before = \"100000d\"").await;
        let trust = pebble.trust(dir.path());
        let first = served_serial(port, &trust).await;
        rampart.wait_stderr("already due for renewal").await;
        rampart.wait_stderr("renewal=true").await;
        let renewed = served_serial(port, &trust).await;
        assert_ne!(renewed, first, "the renewed certificate is served");
        assert!(metric(admin, ISSUED, &trust) >= 2);
        assert!(
            metric(admin, "rampart_acme_renewal_due_seconds", &trust)
                < metric(admin, "rampart_acme_certificate_not_after_seconds", &trust)
        );
    })
    .await;
}

#[tokio::test]
#[ignore = "needs pebble; .ci/run installs it"]
async fn a_refused_challenge_keeps_the_old_certificate_and_says_why() {
    common::bounded(async {
        let Issued {
            dir,
            port,
            mut pebble,
            rampart,
            ..
        } = issued("").await;
        let trust = pebble.trust(dir.path());
        let serial = served_serial(port, &trust).await;
        stop(rampart).await;
        // Pebble started again holds no valid authorization to reuse: with
        // PEBBLE_AUTHZREUSE=0 it still reused the first order's for the renewal about once
        // in a hundred runs (its log: the second order fully authorized at once, no new
        // authorization), and the renewal was issued without a challenge.
        pebble.stop().await;
        pebble.start().await;

        // Back on another port, due for renewal at once: Pebble still validates on the old
        // port, where nothing answers now.
        let moved = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        let config = write_config(dir.path(), moved, &pebble, "renew_before = \"100000d\"");
        let (mut rampart, admin) = serve(dir.path(), &config).await;
        let failed = rampart.wait_stderr("ACME order failed").await;
        let story = || {
            format!(
                "rampart said {:#?}\nPebble said {}",
                rampart.seen_stderr,
                pebble.log_text()
            )
        };
        assert!(
            failed.contains("an ACME challenge failed: localhost:")
                && failed.contains("keeping_current=true"),
            "{failed}\n{}",
            story()
        );
        assert!(
            failed.contains("urn:ietf:params:acme:error:"),
            "Pebble's problem document: {failed}"
        );
        let served = served_serial(moved, &trust).await;
        assert_eq!(served, serial, "the old one stays\n{}", story());
        assert_eq!(
            curl(moved, "/healthz", &trust).expect("still served"),
            "{\"status\":\"ok\"}"
        );
        assert!(metric(admin, FAILED, &trust) >= 1);
        assert_eq!(metric(admin, ISSUED, &trust), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs pebble; .ci/run installs it"]
async fn an_account_the_server_forgot_is_created_again() {
    common::bounded(async {
        let Issued {
            dir,
            port,
            mut pebble,
            rampart,
            ..
        } = issued("").await;
        stop(rampart).await;
        let account = std::fs::read(dir.path().join("acme/account.json")).expect("stored");

        pebble.stop().await;
        pebble.start().await;
        let config = write_config(dir.path(), port, &pebble, "renew_before = \"100000d\"");
        let (mut rampart, admin) = serve(dir.path(), &config).await;
        rampart
            .wait_stderr("does not know the stored account; creating a new one")
            .await;
        rampart.wait_stderr("renewal=true").await;
        let trust = pebble.trust(dir.path());
        assert!(metric(admin, ISSUED, &trust) >= 1);
        assert_eq!(
            curl(port, "/healthz", &trust).expect("issued by the new Pebble"),
            "{\"status\":\"ok\"}"
        );
        let renewed = std::fs::read(dir.path().join("acme/account.json")).expect("stored");
        assert_ne!(renewed, account, "the new account is stored");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs pebble; .ci/run installs it"]
async fn an_account_the_ca_refuses_is_said_in_words_and_no_certificate_is_served() {
    common::bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        let mut pebble = Pebble::prepare_with(dir.path(), port, true);
        pebble.start().await;
        let config = write_config(dir.path(), port, &pebble, "");
        let (mut rampart, _) = serve(dir.path(), &config).await;
        let failed = rampart.wait_stderr("ACME order failed").await;
        assert!(
            failed.contains("the ACME server refused the account")
                && failed.contains("urn:ietf:params:acme:error:externalAccountRequired"),
            "{failed}"
        );
        assert!(curl_insecure(port).is_err(), "no certificate at all");
        assert!(!dir.path().join("acme/account.json").exists());
    })
    .await;
}
