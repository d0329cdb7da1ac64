//! Targets for the harness's own tests: rampart in-process on defaults, and a deliberately
//! weak server (test-only, never part of any binary) that every DoS scenario must catch, and
//! a legacy OpenSSL server for the TLS-policy scans.

#![allow(dead_code, missing_docs)]

pub mod fragile;
pub mod legacy;
/// The test PostgreSQL (`TEST_POSTGRES_URL`), as rampart's own suites use it.
#[path = "../../../server/tests/common/pg.rs"]
pub mod pg;
pub mod real;
pub mod static_site;
pub mod weak;
pub mod weak_bank;
pub mod weak_notes;
pub mod weak_raw;
pub mod weak_sql;
pub mod weak_web;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;

/// rampart on its defaults, in-process, on an ephemeral loopback port.
pub struct Rampart {
    pub running: rampart::Running,
    pub url: String,
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rampart {
    pub async fn start() -> Rampart {
        Rampart::start_with(|_| {}).await
    }

    /// On the defaults, with the scanners' network exempt from the rate limits (as `--spawn`
    /// makes it when a scan is selected).
    pub async fn start_scannable() -> Rampart {
        Rampart::start_with(exempt_scanners).await
    }

    /// On the defaults changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut rampart::config::Config)) -> Rampart {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = rampart::config::Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..rampart::config::Config::default()
        };
        c.tls.dev_dir = dir.path().join("certs");
        c.database.url = format!("sqlite://{}", dir.path().join("rampart.db").display());
        tune(&mut c);
        let running = rampart::start(c).await.expect("rampart starts");
        Rampart {
            url: format!("https://localhost:{}", running.local_addr().port()),
            ca: running.dev_ca().expect("dev CA").to_path_buf(),
            running,
            _dir: dir,
        }
    }
}

/// A test server on a loopback port, stopped when dropped (its task aborted, so that no
/// connection outlives it).
pub struct TestServer {
    pub url: String,
    pub ca: PathBuf,
    pub _dir: tempfile::TempDir,
    pub task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A request as the test servers route it: method, path, query, one header of interest, and
/// the body as text.
pub struct Asked {
    pub method: String,
    pub path: String,
    pub query: String,
    pub header: Option<String>,
    pub body: String,
}

/// Reads `req` whole, keeping the header `header`.
pub async fn asked(req: hyper::Request<hyper::body::Incoming>, header: &str) -> Asked {
    use http_body_util::BodyExt;
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let header = req
        .headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Asked {
        method,
        path,
        query,
        header,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A response: `status`, `Content-Type: media`, `headers`, `body`.
pub fn answer(
    status: u16,
    media: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    let mut r = hyper::Response::new(http_body_util::Full::new(hyper::body::Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static(media),
    );
    for (name, value) in headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            r.headers_mut().append(name, v);
        }
    }
    Ok(r)
}

/// 128 random bits, for session ids.
pub fn random_u128() -> u128 {
    let mut b = [0u8; 16];
    let _ = rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut b);
    u128::from_le_bytes(b)
}

/// A test server on an ephemeral loopback port over TLS (rampart's development certificates,
/// HTTP/1.1), answering each request with `handle` on the state `state`.
pub async fn serve_https<T, F, Fut>(state: Arc<T>, handle: F) -> TestServer
where
    T: Send + Sync + 'static,
    F: Fn(Arc<T>, hyper::Request<hyper::body::Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<
            Output = Result<
                hyper::Response<http_body_util::Full<hyper::body::Bytes>>,
                std::convert::Infallible,
            >,
        > + Send
        + 'static,
{
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let dir = tempfile::tempdir().expect("tempdir");
    let (acceptor, ca) = dev_tls(dir.path(), &[b"http/1.1"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            while conns.try_join_next().is_some() {}
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let state = state.clone();
            conns.spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TestServer {
        url: format!("https://localhost:{}", addr.port()),
        ca,
        _dir: dir,
        task,
    }
}

/// A test server's TLS: rampart's development certificate set made in `dir`, offering `alpn`;
/// the acceptor and the CA a client must trust.
pub fn dev_tls(dir: &Path, alpn: &[&[u8]]) -> (TlsAcceptor, PathBuf) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (paths, _) = rampart_certs::ensure_dev_set(dir).expect("certs");
    let key = rampart_certs::load_certified_key(&paths.leaf_cert, &paths.leaf_key, &provider)
        .expect("key");
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)));
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (TlsAcceptor::from(Arc::new(cfg)), paths.ca_cert)
}

/// The harness's TLS client for `url`, trusting `ca`.
pub fn client_for(url: &str, ca: &Path) -> attack_sim::client::Client {
    let target = attack_sim::target::Target::resolve(url, false).expect("target");
    let trust = attack_sim::trust::Trust {
        ca: Some(ca.to_path_buf()),
        ..attack_sim::trust::Trust::default()
    };
    attack_sim::client::Client::new(&target, &trust, &[b"http/1.1"]).expect("client")
}

/// Puts the scanners' network in `limits.exempt`, as `--spawn` does when a scan is selected.
pub fn exempt_scanners(c: &mut rampart::config::Config) {
    c.limits.exempt = vec![attack_sim::sources::SCANNER_NET.parse().expect("net")];
}

/// A CA (ECDSA, written to `dir/ca.pem`) and an RSA leaf of `size` for `localhost` it
/// signed; returns the CA's path and the leaf's certificate and key PEM.
pub fn rsa_leaf(dir: &Path, size: rcgen::RsaKeySize) -> (PathBuf, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).expect("RSA key");
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_cert.pem()).expect("write CA");
    (ca, leaf.pem(), leaf_key.serialize_pem())
}

/// The rampart binary `--spawn` finds beside attack-sim, built if this test run did not build
/// it already (`cargo nextest run --workspace` does).
pub fn rampart_binary() -> std::path::PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_attack-sim")).with_file_name("rampart");
    if !bin.is_file() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "rampart", "--bin", "rampart"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p rampart");
    }
    bin
}

/// Runs the attack-sim binary (bounded in time); returns its exit code and its stdout and
/// stderr together, which are also printed for the test's log.
pub async fn attack_sim(args: &[&str]) -> (Option<i32>, String) {
    attack_sim_with_env(args, &[]).await
}

/// [`attack_sim`] with extra environment variables.
pub async fn attack_sim_with_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    attack_sim_within(args, env, Duration::from_secs(120)).await
}

/// [`attack_sim_with_env`] bounded by `limit` rather than two minutes (whole runs at the
/// standard intensity, capacity searches).
pub async fn attack_sim_within(
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> (Option<i32>, String) {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_attack-sim"))
        .args(args)
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(limit, run)
        .await
        .expect("attack-sim finished in time")
        .expect("attack-sim runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("attack-sim {}:\n{text}", args.join(" "));
    (out.status.code(), text)
}

/// What a run of scans left: its exit code and output, report.json and report.sarif.
pub struct ScanRun {
    pub code: Option<i32>,
    pub text: String,
    pub report: serde_json::Value,
    pub sarif: serde_json::Value,
}

/// Runs the scans `selection` against `url` (trusting `ca`); checks that junit.xml and a
/// self-contained report.html were written beside report.json and report.sarif.
pub async fn scan(selection: &[&str], url: &str, ca: &Path) -> ScanRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["run"];
    args.extend_from_slice(selection);
    let ca = ca.to_str().expect("utf-8 path");
    let out = dir.path().to_str().expect("utf-8 path");
    args.extend_from_slice(&["--target", url, "--ca", ca, "--report-dir", out]);
    let (code, text) = attack_sim(&args).await;
    assert!(
        !text.contains("intensity"),
        "a run of scans names no intensity: {text}"
    );
    let sarif = std::fs::read_to_string(dir.path().join("report.sarif")).expect("report.sarif");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("<testsuites "), "{junit}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    assert!(!html.contains("<script"), "self-contained");
    assert!(
        !html.contains("intensity") && !html.contains("shaded band"),
        "a report of scans speaks of no intensity and no charts"
    );
    ScanRun {
        code,
        text,
        report: report(dir.path()),
        sarif: serde_json::from_str(&sarif).expect("SARIF is JSON"),
    }
}

/// The scenario `name` of a report.
pub fn scenario<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} ran: {r}"))
}

/// The check `name` of the scan `s` (its `name`, `result` and `detail`).
pub fn check<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("check {name} in {s}"))
}

/// The report attack-sim wrote into `dir`.
pub fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report is JSON")
}
