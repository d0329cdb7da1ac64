//! One client connection: TLS handshake under a deadline, then HTTP/2 or HTTP/1.1 as
//! negotiated by ALPN, with graceful close on drain and a hard close when the drain bound
//! passes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use super::admission::HandshakePermit;
use super::shutdown::{Phase, ShutdownSignal};
use crate::config::HttpConfig;
use crate::http::ClientAddr;
use crate::metrics::{Metrics, Reason};
use crate::tls::ALPN_H2;

/// What every connection task needs, built once at start.
pub(crate) struct ConnShared {
    pub(crate) metrics: std::sync::Arc<Metrics>,
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
    pub(crate) router: Router,
    builder: auto::Builder<TokioExecutor>,
}

impl ConnShared {
    pub(crate) fn new(
        metrics: std::sync::Arc<Metrics>,
        acceptor: TlsAcceptor,
        handshake_timeout: Duration,
        router: Router,
        http: &HttpConfig,
    ) -> Self {
        ConnShared {
            metrics,
            acceptor,
            handshake_timeout,
            router,
            builder: http_builder(http),
        }
    }
}

/// hyper's connection builder. The timer must be installed: without it hyper silently ignores
/// the header read timeout.
fn http_builder(http: &HttpConfig) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_read_timeout)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(http.h2_max_concurrent_streams)
        .max_header_list_size(http.h2_max_header_list_bytes);
    b
}

pub(crate) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: std::sync::Arc<ConnShared>,
    handshake_permit: HandshakePermit,
    mut shutdown: ShutdownSignal,
) {
    let handshake = tokio::time::timeout(shared.handshake_timeout, shared.acceptor.accept(tcp));
    let tls = tokio::select! {
        r = handshake => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                shared.metrics.reject(Reason::HandshakeFailed);
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                shared.metrics.reject(Reason::HandshakeTimeout);
                tracing::debug!(%peer, "TLS handshake deadline passed");
                return;
            }
        },
        _ = shutdown.reached(Phase::Draining) => return,
    };

    drop(handshake_permit);
    let h2 = tls.get_ref().1.alpn_protocol() == Some(ALPN_H2);
    // ALPN decides the protocol; a client that negotiated none gets HTTP/1.1 only (HTTP/2 over
    // TLS requires ALPN, RFC 9113 section 3.2).
    let builder = if h2 {
        shared.builder.clone().http2_only()
    } else {
        shared.builder.clone().http1_only()
    };

    let router = shared.router.clone();
    let svc = service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ClientAddr(peer));
        let mut router = router.clone();
        async move {
            let resp = router.call(req).await;
            Ok::<_, Infallible>(match resp {
                Ok(r) => r,
                Err(never) => match never {},
            })
        }
    });

    let conn = builder.serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with error");
            }
            return;
        }
        _ = shutdown.reached(Phase::Draining) => {}
    }
    // Draining: finish in-flight requests, send GOAWAY / close idle keep-alive.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.reached(Phase::Closing) => {
            tracing::debug!(%peer, "closing connection at the drain deadline");
        }
    }
}
