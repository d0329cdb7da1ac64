//! The floor `bench/bench-vs-nginx.sh` measures rampart against: an HTTPS server on the
//! libraries rampart serves with (tokio's multi-threaded runtime with one worker per CPU the
//! process may use, rustls with aws-lc-rs, hyper's HTTP/1.1) and nothing of rampart's: no
//! limits, no timeouts, no tower layers, no security headers, no router. Every request gets
//! `{"status":"ok"}`. What rampart's rate and CPU per request are short of this, its own
//! work costs; what this is short of nginx, the libraries do. A measurement aid, never a
//! server to deploy.
//!
//! `cargo run --release -p rampart --example bare_https -- PORT CERT_PEM KEY_PEM`
//! (listens on 127.0.0.1:PORT).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

// The allocator rampart's binary uses.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, cert, key] = args.as_slice() else {
        anyhow::bail!("usage: bare_https PORT CERT_PEM KEY_PEM");
    };
    let port: u16 = port.parse().context("PORT")?;
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("{cert}: certificates"))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("{key}: private key"))?;
    let mut tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(serve(SocketAddr::from(([127, 0, 0, 1], port)), acceptor))
}

async fn serve(addr: SocketAddr, acceptor: tokio_rustls::TlsAcceptor) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen on {addr}"))?;
    println!("listening on {addr}");
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let ok = service_fn(|_| async {
                let mut r =
                    hyper::Response::new(Full::new(Bytes::from_static(b"{\"status\":\"ok\"}")));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(r)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), ok)
                .await;
        });
    }
}
