//! The positive control: hyper over TLS the way a naive server is written. No header, body or
//! write timeouts, no per-client limits, a fixed pool of connections (like a
//! thread-per-connection server: once the pool is full, new connections wait in the kernel's
//! backlog and their TLS handshakes never start), and a login that hashes every attempt with
//! argon2id (the same parameters as rampart's) with no bound on how many at once. It speaks
//! HTTP/2 too, with h2's rapid-reset, local-error-reset and concurrent-stream limits turned
//! off. Test-only.
//!
//! Routes: the SQL routes of [`super::weak_sql`] (string-built queries over SQLite, for the
//! injection scans); `POST /v1/sessions` reads the whole body, hashes, answers 401; any other
//! `POST` reads the whole body (no size limit) and answers 400; `GET /openapi.json` is a
//! 64 KiB document (the SQL routes, and padding for `slow-read`); anything else is 200
//! `{"status":"ok"}`. Request heads may be 8 MiB and 20,000 fields.
//!
//! For the TLS-policy scans it shows its certificate whatever name a client asks for, sends
//! no security header, and ([`Weak::start_lax`]) answers plaintext HTTP on its TLS port, as a
//! server that sniffs the first byte does.
//!
//! Its certificate is rampart's development set (ECDSA P-256), or, for the handshake flood,
//! an RSA 4096 leaf ([`Weak::start_rsa`]): a key whose every full handshake costs the server a
//! 4096-bit private-key operation, the expensive kind of certificate many servers carry.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

pub struct Weak {
    pub addr: SocketAddr,
    pub url: String,
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Weak {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The weak server's only password check: argon2id over whatever was posted.
fn hash_attempt(body: &[u8]) {
    let params = argon2::Params::new(19_456, 2, 1, Some(32)).expect("params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    let _ = a.hash_password_into(body, b"weak-target-salt", &mut out);
}

async fn handle(
    db: sqlx::SqlitePool,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let ok = |status: u16, body: Bytes| {
        let mut r = hyper::Response::new(Full::new(body));
        *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
        Ok(r)
    };
    if req.uri().path().starts_with("/w/") {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return match super::weak_sql::handle(&db, &method, &path, &query, &body).await {
            Some((status, text)) => ok(status, Bytes::from(text)),
            None => ok(404, Bytes::new()),
        };
    }
    match (req.method().as_str(), req.uri().path()) {
        ("POST", "/v1/sessions") => {
            // No deadline: the body is read for as long as the client takes.
            let Ok(body) = req.into_body().collect().await else {
                return ok(400, Bytes::new());
            };
            let body = body.to_bytes();
            // No bound on concurrent hashes: every request gets a blocking thread.
            let _ = tokio::task::spawn_blocking(move || hash_attempt(&body)).await;
            ok(401, Bytes::from_static(b"{\"title\":\"Unauthorized\"}"))
        }
        ("POST", _) => {
            // Whatever is posted is read in full, however large.
            let _ = req.into_body().collect().await;
            ok(400, Bytes::from_static(b"{\"title\":\"Bad Request\"}"))
        }
        ("GET", "/openapi.json") => {
            let doc = format!(
                "{{\"openapi\":\"3.1.0\",\"info\":{{\"title\":\"weak\",\"version\":\"0\"}},\
                 \"paths\":{{\"/healthz\":{{\"get\":{{}}}},{}}},\"x-padding\":\"{}\"}}",
                super::weak_sql::PATHS,
                "x".repeat(64 * 1024)
            );
            ok(200, Bytes::from(doc))
        }
        _ => ok(200, Bytes::from_static(b"{\"status\":\"ok\"}")),
    }
}

impl Weak {
    /// Serves `GET` anything with 200 `{"status":"ok"}`, at most `pool` connections at once.
    pub async fn start(pool: usize) -> Weak {
        Weak::start_with(pool, true).await
    }

    /// The same, offering HTTP/2 in ALPN only when `h2`.
    pub async fn start_with(pool: usize, h2: bool) -> Weak {
        Weak::start_inner(pool, h2, Key::DevEcdsa, false).await
    }

    /// The same with an RSA 4096 certificate.
    pub async fn start_rsa(pool: usize) -> Weak {
        Weak::start_inner(pool, true, Key::Rsa4096, false).await
    }

    /// The same, answering plaintext HTTP on its TLS port too (a connection whose first byte
    /// is not a TLS handshake record is served without TLS).
    pub async fn start_lax(pool: usize) -> Weak {
        Weak::start_inner(pool, true, Key::DevEcdsa, true).await
    }

    async fn start_inner(pool: usize, h2: bool, key: Key, plaintext: bool) -> Weak {
        let dir = tempfile::tempdir().expect("tempdir");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (key, ca) = match key {
            Key::DevEcdsa => {
                let (paths, _) = rampart_certs::ensure_dev_set(dir.path()).expect("certs");
                let key =
                    rampart_certs::load_certified_key(&paths.leaf_cert, &paths.leaf_key, &provider)
                        .expect("key");
                (key, paths.ca_cert)
            }
            Key::Rsa4096 => rsa_set(dir.path(), &provider),
        };
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)));
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        if !h2 {
            cfg.alpn_protocols.remove(0);
        }
        let mut http = auto::Builder::new(TokioExecutor::new());
        http.http1().max_buf_size(8 << 20).max_headers(20_000);
        http.http2()
            .max_concurrent_streams(None)
            .max_pending_accept_reset_streams(usize::MAX)
            .max_local_error_reset_streams(None);
        let http = Arc::new(http);
        let acceptor = TlsAcceptor::from(Arc::new(cfg));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let slots = Arc::new(Semaphore::new(pool));
        let db = super::weak_sql::open().await;
        let task = tokio::spawn(async move {
            // Dropped with this task when the target is: no connection outlives the target.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                while conns.try_join_next().is_some() {}
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let http = http.clone();
                let db = db.clone();
                conns.spawn(async move {
                    let _permit = permit;
                    let mut first = [0u8; 1];
                    let svc = service_fn(move |req| handle(db.clone(), req));
                    if plaintext && matches!(tcp.peek(&mut first).await, Ok(1) if first[0] != 0x16)
                    {
                        let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                        return;
                    }
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = http.serve_connection(TokioIo::new(tls), svc).await;
                });
            }
        });
        Weak {
            addr,
            url: format!("https://localhost:{}", addr.port()),
            ca,
            _dir: dir,
            task,
        }
    }
}

/// Which certificate the weak target shows.
enum Key {
    DevEcdsa,
    Rsa4096,
}

/// A CA (ECDSA, written to `dir/ca.pem`) and an RSA 4096 leaf for `localhost` it signed.
fn rsa_set(
    dir: &std::path::Path,
    provider: &rustls::crypto::CryptoProvider,
) -> (Arc<rustls::sign::CertifiedKey>, PathBuf) {
    let (ca, cert, key) = super::rsa_leaf(dir, rcgen::RsaKeySize::_4096);
    let key = rampart_certs::certified_key_from_pem(cert.as_bytes(), key.as_bytes(), provider)
        .expect("RSA certified key");
    (Arc::new(key), ca)
}
