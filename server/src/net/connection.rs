//! One client connection: TLS handshake under a deadline, then HTTP/2 or HTTP/1.1 as
//! negotiated by ALPN, with graceful close on drain and a hard close when the drain bound
//! passes, and an idle close after `http.idle_timeout` with no request in progress.

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

use http_body_util::BodyExt;

use super::admission::HandshakePermit;
use super::idle::Activity;
use super::shutdown::{Phase, ShutdownSignal};
use super::timed_body::TimedBody;
use super::timed_io::TimedIo;
use crate::config::HttpConfig;
use crate::http::ClientAddr;
use crate::metrics::{Metrics, Reason};
use crate::tls::ALPN_H2;

/// What every connection task needs, built once at start.
pub(crate) struct ConnShared {
    pub(crate) metrics: std::sync::Arc<Metrics>,
    trusted_proxies: std::sync::Arc<[ipnet::IpNet]>,
    max_requests: u64,
    body_read_timeout: Duration,
    body_min_rate: u64,
    write_timeout: Duration,
    idle_timeout: Duration,
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
    pub(crate) router: Router,
    builder: auto::Builder<TokioExecutor>,
}

impl ConnShared {
    pub(crate) fn new(
        metrics: std::sync::Arc<Metrics>,
        trusted_proxies: &[ipnet::IpNet],
        acceptor: TlsAcceptor,
        handshake_timeout: Duration,
        router: Router,
        http: &HttpConfig,
    ) -> Self {
        ConnShared {
            trusted_proxies: trusted_proxies.into(),
            max_requests: http.max_requests_per_connection,
            body_read_timeout: http.body_read_timeout,
            body_min_rate: http.body_min_rate,
            write_timeout: http.write_timeout,
            idle_timeout: http.idle_timeout,
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
        .max_headers(http.max_headers)
        .max_buf_size(http.max_header_bytes)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(http.h2_max_concurrent_streams)
        .max_header_list_size(http.h2_max_header_list_bytes)
        .max_pending_accept_reset_streams(http.h2_max_pending_accept_reset_streams)
        .max_local_error_reset_streams(http.h2_max_local_error_reset_streams)
        .keep_alive_interval(http.h2_keepalive_interval)
        .keep_alive_timeout(http.h2_keepalive_timeout);
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
    // Requests served so far; reaching the cap ends the connection once in-flight work is done.
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let cap_reached = std::sync::Arc::new(tokio::sync::Notify::new());
    let (max_requests, notify) = (shared.max_requests, cap_reached.clone());
    let (body_timeout, body_rate) = (shared.body_read_timeout, shared.body_min_rate);
    let trusted = shared.trusted_proxies.clone();
    let activity = Activity::new();
    let idle = activity.clone();
    let svc = service_fn(move |req: hyper::Request<Incoming>| {
        if counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 >= max_requests {
            notify.notify_one();
        }
        let mut req =
            req.map(|b| axum::body::Body::new(TimedBody::new(b, body_timeout, body_rate)));
        let client = crate::http::client_ip::resolve(peer.ip(), req.headers(), &trusted);
        req.extensions_mut()
            .insert(ClientAddr(std::net::SocketAddr::new(client, peer.port())));
        let mut router = router.clone();
        let busy = activity.begin();
        async move {
            let resp = match router.call(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // The request stays in progress until its response body is sent or dropped.
            Ok::<_, Infallible>(resp.map(|b| {
                axum::body::Body::new(b.map_frame(move |f| {
                    let _ = &busy;
                    f
                }))
            }))
        }
    });

    let io = TimedIo::new(tls, shared.write_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "connection ended with error");
            }
            return;
        }
        _ = cap_reached.notified() => {
            tracing::debug!(%peer, "request cap reached; closing the connection");
        }
        _ = idle.idle_for(shared.idle_timeout) => {
            tracing::debug!(%peer, "idle timeout; closing the connection");
        }
        _ = shutdown.reached(Phase::Draining) => {}
    }
    // Draining (or at the request cap): finish in-flight requests, send GOAWAY / close the
    // keep-alive connection.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.reached(Phase::Closing) => {
            tracing::debug!(%peer, "closing connection at the drain deadline");
        }
    }
}
