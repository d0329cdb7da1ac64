//! A server that goes down under load, as one left broken by a scenario would: once it holds
//! more than [`LIMIT`] connections it closes its listening socket and every connection, then
//! listens again on the same port after `down_for` (never, with `None`). `GET` anything
//! answers 200. Test-only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use super::TestServer;

/// Connections held at once beyond which the server falls over.
pub const LIMIT: usize = 50;

pub async fn start(down_for: Option<Duration>) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let (acceptor, ca) = super::dev_tls(dir.path(), &[b"http/1.1"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut listener = Some(listener);
        loop {
            let Some(l) = listener.take() else { break };
            let open = Arc::new(AtomicUsize::new(0));
            let mut conns = tokio::task::JoinSet::new();
            // Serve until overloaded.
            loop {
                while conns.try_join_next().is_some() {}
                let Ok((tcp, _)) = l.accept().await else {
                    continue;
                };
                if open.fetch_add(1, Ordering::SeqCst) + 1 > LIMIT {
                    break;
                }
                let (acceptor, open) = (acceptor.clone(), open.clone());
                conns.spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let svc = service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        });
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tls), svc)
                            .await;
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
            // Down: no listener, no connection.
            drop(l);
            conns.abort_all();
            let Some(pause) = down_for else {
                std::future::pending::<()>().await;
                return;
            };
            tokio::time::sleep(pause).await;
            listener = Some(TcpListener::bind(addr).await.expect("listen again"));
        }
    });
    TestServer {
        url: format!("https://localhost:{}", addr.port()),
        ca,
        _dir: dir,
        task,
    }
}
