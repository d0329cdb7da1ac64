//! The positive control: hyper over TLS the way a naive server is written. No header or body
//! timeouts, no per-client limits, and a fixed pool of connections (like a thread-per-connection
//! server): once the pool is full, new connections wait in the kernel's backlog and their TLS
//! handshakes never start. Test-only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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

impl Weak {
    /// Serves `GET` anything with 200 `{"status":"ok"}`, at most `pool` connections at once.
    pub async fn start(pool: usize) -> Weak {
        let dir = tempfile::tempdir().expect("tempdir");
        let (paths, _) = rampart_certs::ensure_dev_set(dir.path()).expect("certs");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = rampart_certs::load_certified_key(&paths.leaf_cert, &paths.leaf_key, &provider)
            .expect("key");
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)));
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(cfg));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let slots = Arc::new(Semaphore::new(pool));
        let task = tokio::spawn(async move {
            loop {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"{\"status\":\"ok\"}",
                        ))))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Weak {
            addr,
            url: format!("https://localhost:{}", addr.port()),
            ca: paths.ca_cert,
            _dir: dir,
            task,
        }
    }
}
