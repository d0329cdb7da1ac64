//! Helpers for integration tests: start rampart in-process or as a child process on an
//! ephemeral port, and talk to it over real TLS with a client that trusts only its dev CA.

#![allow(dead_code, missing_docs)]

pub mod api;
pub mod client_hello;
pub mod h2raw;
pub mod lock;
pub mod pg;
pub mod webdriver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::{http1, http2};
use hyper::{HeaderMap, Request, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rampart::config::Config;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Upper bound for any single test.
pub const TEST_BOUND: Duration = Duration::from_secs(60);

/// Takes SQLite's write lock on the database at `db_url` from a connection of the test's
/// own, and keeps it until the connection is dropped or rolls back: rampart's writes then
/// wait out their busy timeout, as when another process holds the lock.
pub async fn hold_sqlite_write_lock(db_url: &str) -> sqlx::SqliteConnection {
    let mut lock = <sqlx::SqliteConnection as sqlx::Connection>::connect(db_url)
        .await
        .expect("open the database");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut lock)
        .await
        .expect("write lock");
    lock
}

/// Runs a test body under [`TEST_BOUND`].
pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_BOUND, f)
        .await
        .expect("test exceeded its time bound")
}

/// A config for tests: ephemeral port, everything under `dir`.
pub fn test_config(dir: &Path) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Config::default()
    };
    c.tls.dev_dir = dir.join("certs");
    c.database.url = database_url(dir);
    c
}

/// The database of a server on `dir`: SQLite in `dir`, or, when the suites run on PostgreSQL
/// ([`pg::requested`]), a fresh schema, remembered in `dir` so that a server restarted on the
/// same folder finds its data.
pub fn database_url(dir: &Path) -> String {
    if !pg::requested() {
        return format!("sqlite://{}", dir.join("rampart.db").display());
    }
    let remembered = dir.join("postgres-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return url;
    }
    let url = pg::fresh_url();
    std::fs::write(&remembered, &url).expect("remember the schema");
    url
}

/// A config file in `dir` for a `rampart` child process: an ephemeral loopback port, the
/// database `db`, the dev certificates in `dir/certs`, cheap password hashing, and `limits`
/// (TOML lines of the `[limits]` table).
pub fn write_proc_config(dir: &Path, db: &str, limits: &str) -> PathBuf {
    let path = dir.join("rampart.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\n\
             [database]\nurl = \"{db}\"\n\
             [tls]\ndev_dir = \"{certs}\"\n\
             [auth]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n\
             [limits]\n{limits}\n",
            certs = dir.join("certs").display(),
        ),
    )
    .expect("config");
    path
}

/// An in-process server and the folder it lives in.
pub struct TestServer {
    pub running: rampart::Running,
    pub addr: SocketAddr,
    pub ca: PathBuf,
    pub dir: tempfile::TempDir,
    /// Its database's URL.
    pub db_url: String,
}

impl TestServer {
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_in(tempfile::tempdir().expect("tempdir"), tweak).await
    }

    /// Starts on an existing folder (certificates and database kept from an earlier server).
    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = test_config(dir.path());
        tweak(&mut config);
        let db_url = config.database.url.clone();
        let running = rampart::start(config).await.expect("server starts");
        let addr = running.local_addr();
        let ca = running.dev_ca().expect("dev CA in use").to_path_buf();
        TestServer {
            running,
            addr,
            ca,
            dir,
            db_url,
        }
    }
}

pub fn client_config(
    ca: &Path,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in rampart_certs::load_cert_chain(ca).expect("CA loads") {
        roots.add(c).expect("CA added");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    cfg
}

/// A TCP connection from a chosen local source address (any 127.x works on Linux loopback).
pub async fn tcp_from(src: std::net::IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let sock = if src.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.bind(SocketAddr::new(src, 0))?;
    let tcp = sock.connect(addr).await?;
    // As every real client does: without it, a request written in two segments (HTTP/2
    // HEADERS, then DATA) waits for the server's delayed acknowledgement, 40 ms a request.
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// A TLS connection from a chosen source address.
pub async fn tls_from(
    src: std::net::IpAddr,
    addr: SocketAddr,
    cfg: rustls::ClientConfig,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = tcp_from(src, addr).await?;
    TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
}

/// Polls `cond` until it holds (bounded): for waiting on server-side state that a test can
/// observe but not be notified of, such as a connection having been accepted.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn tls_connect(
    addr: SocketAddr,
    cfg: rustls::ClientConfig,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
}

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// One HTTPS connection (HTTP/1.1 keep-alive or HTTP/2, by ALPN).
pub struct Conn {
    sender: Sender,
    pub alpn: Option<Vec<u8>>,
    pub peer_cert: CertificateDer<'static>,
}

pub struct Reply {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

impl Conn {
    pub async fn open(addr: SocketAddr, ca: &Path, alpn: &[&[u8]]) -> std::io::Result<Conn> {
        Self::open_from("127.0.0.1".parse().expect("ip"), addr, ca, alpn).await
    }

    /// Opens from a chosen source address.
    pub async fn open_from(
        src: std::net::IpAddr,
        addr: SocketAddr,
        ca: &Path,
        alpn: &[&[u8]],
    ) -> std::io::Result<Conn> {
        Self::over(tcp_from(src, addr).await?, ca, alpn).await
    }

    /// Opens over an established TCP stream (which may already carry a PROXY header).
    pub async fn over(tcp: TcpStream, ca: &Path, alpn: &[&[u8]]) -> std::io::Result<Conn> {
        let cfg = client_config(ca, alpn, rustls::DEFAULT_VERSIONS);
        let tls = TlsConnector::from(Arc::new(cfg))
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await?;
        let (_, session) = tls.get_ref();
        let alpn = session.alpn_protocol().map(|p| p.to_vec());
        let peer_cert = session
            .peer_certificates()
            .and_then(|c| c.first())
            .expect("server sent a certificate")
            .clone()
            .into_owned();
        let io = TokioIo::new(tls);
        let sender = if alpn.as_deref() == Some(b"h2") {
            let (s, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(std::io::Error::other)?;
            tokio::spawn(conn);
            Sender::H2(s)
        } else {
            let (s, conn) = http1::handshake(io).await.map_err(std::io::Error::other)?;
            tokio::spawn(conn);
            Sender::H1(s)
        };
        Ok(Conn {
            sender,
            alpn,
            peer_cert,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Reply, hyper::Error> {
        self.send("GET", path, &[], None).await
    }

    /// Sends one request; `json` sets the body and `Content-Type: application/json`.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        json: Option<&serde_json::Value>,
    ) -> Result<Reply, hyper::Error> {
        let body = json.map(|j| j.to_string()).unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        if json.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send_raw(req.body(Full::new(Bytes::from(body))).expect("request"))
            .await
    }

    /// Sends a fully built request.
    pub async fn send_raw(&mut self, req: Request<Full<Bytes>>) -> Result<Reply, hyper::Error> {
        let resp = match &mut self.sender {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
        };
        let status = resp.status();
        let version = resp.version();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status,
            version,
            headers: parts.headers,
            body,
        })
    }
}

/// One GET on a fresh connection.
pub async fn get_once(addr: SocketAddr, ca: &Path, alpn: &[&[u8]], path: &str) -> Reply {
    let mut c = Conn::open(addr, ca, alpn).await.expect("connect");
    c.get(path).await.expect("request")
}

/// A `rampart` child process with its output lines delivered on channels.
pub struct Proc {
    pub child: tokio::process::Child,
    pub stdout: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub stderr: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub seen_stderr: Vec<String>,
}

fn pump(
    r: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    use tokio::io::AsyncBufReadExt;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(r).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The `rampart` binary cargo built for the integration tests. (`option_env!` because this
/// module is also compiled into `examples/`, where cargo does not set the variable.)
#[allow(clippy::option_env_unwrap)]
pub fn rampart_bin() -> &'static str {
    option_env!("CARGO_BIN_EXE_rampart").expect("built by cargo test (integration tests only)")
}

/// Removes every inherited `RAMPART_*` variable from `cmd` (rampart reads them as settings).
pub fn without_rampart_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("RAMPART_") {
            cmd.env_remove(k);
        }
    }
}

/// A `std` command for `rampart ARGS` in `cwd` with no inherited RAMPART_* variables.
pub fn rampart_cmd(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(rampart_bin());
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    without_rampart_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

const PROC_WAIT: Duration = Duration::from_secs(30);

impl Proc {
    /// Spawns `rampart ARGS` in `cwd` with no inherited RAMPART_* variables.
    pub fn spawn(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn_cmd(rampart_cmd(cwd, args, env))
    }

    /// Spawns `cmd` (rampart under a wrapper, say) with its output on channels.
    pub fn spawn_cmd(cmd: Command) -> Proc {
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn rampart");
        let stdout = pump(child.stdout.take().expect("stdout"));
        let stderr = pump(child.stderr.take().expect("stderr"));
        Proc {
            child,
            stdout,
            stderr,
            seen_stderr: Vec::new(),
        }
    }

    /// Waits for the "listening" banner and returns the address it names.
    pub async fn wait_listening(&mut self) -> SocketAddr {
        let found = tokio::time::timeout(PROC_WAIT, async {
            while let Some(line) = self.stdout.recv().await {
                if let Some(url) = line.strip_prefix("rampart listening on https://") {
                    return Some(url.parse::<SocketAddr>().expect("address in banner"));
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(addr)) => addr,
            _ => {
                let _ = self.child.start_kill();
                let mut rest = Vec::new();
                while let Ok(Some(l)) =
                    tokio::time::timeout(Duration::from_secs(2), self.stderr.recv()).await
                {
                    rest.push(l);
                }
                panic!("rampart did not report listening; stderr: {rest:#?}");
            }
        }
    }

    /// Next stdout line (bounded).
    pub async fn next_stdout(&mut self) -> Option<String> {
        tokio::time::timeout(PROC_WAIT, self.stdout.recv())
            .await
            .ok()
            .flatten()
    }

    /// Waits until a stderr line contains `needle`; returns the line.
    pub async fn wait_stderr(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(PROC_WAIT, async {
            while let Some(line) = self.stderr.recv().await {
                self.seen_stderr.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!(
                "no stderr line containing {needle:?}; saw {:#?}",
                self.seen_stderr
            ),
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id().expect("running") as i32);
        nix::sys::signal::kill(pid, sig).expect("signal");
    }

    /// Waits (bounded) for exit and returns the exit code.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        match tokio::time::timeout(PROC_WAIT, self.child.wait()).await {
            Ok(status) => status.expect("wait").code(),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!("rampart did not exit in time");
            }
        }
    }
}
