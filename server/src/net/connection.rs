//! One client connection: TLS handshake under a deadline, then HTTP/2 or HTTP/1.1 as
//! negotiated by ALPN, with graceful close on drain and a hard close when the drain bound
//! passes, and an idle close after `http.idle_timeout` with no request in progress.
//!
//! An idle HTTP/1.1 keep-alive connection is parked: once a request has been served and the
//! connection has been quiet for [`PARK_AFTER`], hyper's connection is ended without closing
//! the stream (its 16 KiB of read and write buffers are freed) and the task waits for the
//! next byte with only the TLS session held; that byte, and anything hyper had read but not
//! used, go in front of the stream for a fresh hyper connection. Memory per idle connection
//! is measured in SECURITY.md.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::server::Acceptor;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::{LazyConfigAcceptor, TlsAcceptor};

use super::admission::{Admission, ConnPermit};
use super::control_budget::{Budget, ControlBudget};
use super::idle::{Activity, Busy};
use super::prefixed::Prefixed;
use super::shutdown::{Phase, ShutdownSignal};
use super::timed_io::TimedIo;
use crate::acme::Challenges;
use crate::config::HttpConfig;
use crate::http::timed_body::TimedBody;
use crate::http::{App, ClientAddr};
use crate::metrics::{Metrics, Reason};
use crate::tls::ALPN_H2;

/// What every connection task needs, built once at start.
pub(crate) struct ConnShared {
    pub(crate) metrics: Arc<Metrics>,
    trusted_proxies: std::sync::Arc<[ipnet::IpNet]>,
    max_requests: u64,
    body_read_timeout: Duration,
    body_min_rate: u64,
    write_timeout: Duration,
    idle_timeout: Duration,
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
    pub(crate) send_buffer_bytes: usize,
    control_budget: Budget,
    pub(crate) router: App,
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
    /// The configuration `tls-alpn-01` validation handshakes are served with, under ACME, and
    /// the certificates it serves.
    validation: Option<(Arc<rustls::ServerConfig>, Arc<Challenges>)>,
}

impl ConnShared {
    pub(crate) fn new(
        metrics: Arc<Metrics>,
        trusted_proxies: &[ipnet::IpNet],
        acceptor: TlsAcceptor,
        handshake_timeout: Duration,
        router: App,
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
            send_buffer_bytes: http.send_buffer_bytes,
            control_budget: Budget {
                per_second: http.h2_control_frames_per_second,
                burst: http.h2_control_frame_burst,
            },
            router,
            h1: h1_builder(http),
            h2: h2_builder(http),
            validation: None,
        }
    }

    /// Answers `tls-alpn-01` validation handshakes with `config`, which serves `challenges`.
    pub(crate) fn with_validation(
        mut self,
        config: Arc<rustls::ServerConfig>,
        challenges: Arc<Challenges>,
    ) -> Self {
        self.validation = Some((config, challenges));
        self
    }
}

/// How long an HTTP/1.1 keep-alive connection must be quiet before it is parked. Short enough
/// that idle connections hold little, long enough that a client sending request after request
/// keeps its hyper connection.
pub const PARK_AFTER: Duration = Duration::from_millis(250);

/// Bounds the TLS close_notify and TCP shutdown of a connection we end ourselves.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// hyper's HTTP/1.1 builder. The timer must be installed: without it hyper silently ignores
/// the header read timeout. Half-closes are supported: a client that ends its side after its
/// last request (`printf ... | nc`, a pipelining client) still gets every answer, as from
/// nginx; the connection is still bound by the write and idle timeouts.
fn h1_builder(http: &HttpConfig) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .half_close(true)
        .header_read_timeout(http.header_read_timeout)
        .max_headers(http.max_headers)
        .max_buf_size(http.max_header_bytes)
        .keep_alive(true);
    b
}

fn h2_builder(http: &HttpConfig) -> http2::Builder<TokioExecutor> {
    let mut b = http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(http.h2_max_concurrent_streams)
        .max_header_list_size(http.h2_max_header_list_bytes)
        .max_pending_accept_reset_streams(http.h2_max_pending_accept_reset_streams)
        .max_local_error_reset_streams(http.h2_max_local_error_reset_streams)
        .keep_alive_interval(http.h2_keepalive_interval)
        .keep_alive_timeout(http.h2_keepalive_timeout);
    b
}

/// The stream under hyper (over TLS in the server, over an in-memory pipe when fuzzed), boxed
/// so that moving it between hyper connections and the parked state moves a pointer, and the
/// connection task's own future stays small.
type Stream<S> = Box<Prefixed<TimedIo<ControlBudget<S>>>>;

/// A connection whose TLS handshake is done.
type Tls = tokio_rustls::server::TlsStream<TcpStream>;

/// What the HTTP layers need of the stream under them.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Per-connection state shared with the request service.
struct ConnState {
    activity: Arc<Activity>,
    requests: Arc<Requests>,
}

/// The connection's request count, shared by its request service and the task serving it.
#[derive(Default)]
struct Requests {
    /// Requests the connection has carried.
    served: AtomicU64,
    /// Notified when the request cap is reached: the connection ends once in-flight work is
    /// done.
    cap_reached: Notify,
}

/// The request service of one connection: counts requests against the cap, puts the body
/// under its read deadline and minimum rate, resolves the client address, and keeps the
/// request "in progress" until its response body has been sent or dropped.
fn service(peer: SocketAddr, shared: &ConnShared, state: &ConnState) -> RequestService {
    RequestService {
        peer,
        router: shared.router.clone(),
        requests: state.requests.clone(),
        max_requests: shared.max_requests,
        body_timeout: shared.body_read_timeout,
        body_rate: shared.body_min_rate,
        trusted: shared.trusted_proxies.clone(),
        activity: state.activity.clone(),
        metrics: shared.metrics.clone(),
    }
}

/// See [`service`]. A service of its own rather than `service_fn` with an `async` block: its
/// answer is the router's, not a second box around it, and its response body is the router's
/// with the in-progress mark beside it, not a third.
struct RequestService {
    peer: SocketAddr,
    router: App,
    requests: Arc<Requests>,
    max_requests: u64,
    body_timeout: Duration,
    body_rate: u64,
    trusted: Arc<[ipnet::IpNet]>,
    activity: Arc<Activity>,
    metrics: Arc<Metrics>,
}

impl hyper::service::Service<Request<Incoming>> for RequestService {
    type Response = Response<InProgress>;
    type Error = Infallible;
    type Future = Served;

    fn call(&self, req: Request<Incoming>) -> Served {
        if self.requests.served.fetch_add(1, Ordering::Relaxed) + 1 >= self.max_requests {
            self.requests.cap_reached.notify_one();
        }
        let (timeout, rate, metrics) = (self.body_timeout, self.body_rate, &self.metrics);
        // A request that has no body (most: every GET) has nothing to time or count, and an
        // empty body costs no allocation, no clock reading and no timer.
        let mut req = req.map(|b| {
            if b.is_end_stream() {
                Body::empty()
            } else {
                Body::new(TimedBody::new(b, timeout, rate).counted(metrics.clone()))
            }
        });
        let client = crate::http::client_ip::resolve(self.peer.ip(), req.headers(), &self.trusted);
        req.extensions_mut()
            .insert(ClientAddr(SocketAddr::new(client, self.peer.port())));
        Served {
            answer: RouterCall::Due(self.router.clone(), req),
            busy: Some(self.activity.begin()),
        }
    }
}

/// A request's answer, then its response with the request still marked in progress.
struct Served {
    answer: RouterCall,
    busy: Option<Busy>,
}

/// The router's answer, asked for when the request's future is first polled, not when hyper
/// calls the service: HTTP/2 calls it in the connection's task and polls the answer in a
/// task of the stream's own, and the request layers take the in-flight slot when called, so
/// an eager call would hold a slot while the stream's task waits to be scheduled.
#[expect(
    clippy::large_enum_variant,
    reason = "the request moves into the answer's box once asked; boxing it first would cost an allocation"
)]
enum RouterCall {
    /// Not asked yet.
    Due(App, axum::extract::Request),
    /// Asked, not ready.
    Asked(crate::http::Answer),
    /// Ready, and given to hyper.
    Done,
}

impl Future for Served {
    type Output = Result<Response<InProgress>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        self.answer = match std::mem::replace(&mut self.answer, RouterCall::Done) {
            RouterCall::Due(router, req) => RouterCall::Asked(router.call(req)),
            other => other,
        };
        let RouterCall::Asked(answer) = &mut self.answer else {
            panic!("a request's answer polled after it was ready");
        };
        let Ok(resp) = std::task::ready!(answer.as_mut().poll(cx));
        self.answer = RouterCall::Done;
        let busy = self.busy.take();
        Poll::Ready(Ok(resp.map(|body| InProgress { body, _busy: busy })))
    }
}

/// A response body, with its request marked in progress until the body has been sent or
/// dropped.
struct InProgress {
    body: Body,
    _busy: Option<Busy>,
}

impl hyper::body::Body for InProgress {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves one connection to its end: the TLS handshake, then HTTP.
///
/// The task's own future holds little (checked by `sizes::`): what only the handshake needs is
/// in a future of its own, boxed and freed when the handshake ends, and the TLS stream goes
/// straight into the boxed stream the HTTP layers use. A connection's future is allocated
/// whole with its task and written all over while the connection serves, so its size is
/// resident for every open connection, parked ones included.
pub(crate) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    conn: &ConnPermit,
    shared: Arc<ConnShared>,
    admission: &Admission,
    mut shutdown: ShutdownSignal,
) {
    let handshake = Box::pin(handshake(
        tcp,
        peer,
        conn,
        &shared,
        admission,
        &mut shutdown,
    ));
    // In a block of its own: a local that has been borrowed is kept in the future until its
    // scope ends, and the stream (1.2 KiB) has no place there once it is in its box.
    let serving = {
        let Some(tls) = handshake.await else { return };
        // ALPN decides the protocol; a client that negotiated none gets HTTP/1.1 only (HTTP/2
        // over TLS requires ALPN, RFC 9113 section 3.2).
        let h2 = tls.get_ref().1.alpn_protocol() == Some(ALPN_H2);
        serve_http(tls, h2, peer, &shared, shutdown)
    };
    let ended = serving.await;
    if let Some(broken) = ended.broken {
        // A strike towards the client's cool-down, like a refusal: its next connection costs
        // us another handshake.
        admission.refused(peer.ip(), broken);
    } else if ended.requests == 0 {
        admission.carried_nothing(peer.ip());
    }
}

/// The TLS handshake under its deadline and the handshake slots; the stream to serve HTTP
/// over, or `None` when the connection is done (failed, timed out, refused, drained, or an
/// ACME validation answered).
async fn handshake(
    tcp: TcpStream,
    peer: SocketAddr,
    conn: &ConnPermit,
    shared: &ConnShared,
    admission: &Admission,
    shutdown: &mut ShutdownSignal,
) -> Option<Tls> {
    // One deadline for the whole handshake. Reading the ClientHello costs no crypto, so a
    // handshake slot is taken only once it is in.
    let deadline = tokio::time::Instant::now() + shared.handshake_timeout;
    let hello =
        tokio::time::timeout_at(deadline, LazyConfigAcceptor::new(Acceptor::default(), tcp));
    let start = tokio::select! {
        r = hello => r,
        _ = shutdown.reached(Phase::Draining) => return None,
    };
    let start = match start {
        Ok(Ok(start)) => start,
        Ok(Err(e)) => return handshake_failed(shared, peer, &e),
        Err(_) => return handshake_timed_out(shared, peer),
    };
    // A full cap means waiting in line (the client holding the fewest slots goes next), under
    // the same deadline; a handshake whose deadline passes in line is refused as busy.
    let permit = match admission.begin_handshake(peer.ip(), conn) {
        Ok(p) => p,
        Err(waiting) => {
            let slot = tokio::select! {
                r = tokio::time::timeout_at(deadline, waiting.slot()) => r,
                _ = shutdown.reached(Phase::Draining) => return None,
            };
            match slot {
                Ok(Some(p)) => p,
                _ => {
                    admission.refused(peer.ip(), Reason::HandshakesBusy);
                    return None;
                }
            }
        }
    };
    // A `tls-alpn-01` validation gets the validation certificate and nothing more: the
    // validator ends the connection once it has seen it (RFC 8737 section 3).
    let validation = shared.validation.as_ref().filter(|_| {
        start
            .client_hello()
            .alpn()
            .is_some_and(crate::acme::is_validation)
    });
    // The instance proving the name may be another one on the same database.
    if let Some((_, challenges)) = validation
        && let Some(name) = start.client_hello().server_name().map(str::to_owned)
    {
        let _ = tokio::time::timeout_at(deadline, challenges.prepare(&name)).await;
    }
    let config = match validation {
        Some((config, _)) => config,
        None => shared.acceptor.config(),
    }
    .clone();
    let handshake = tokio::time::timeout_at(deadline, start.into_stream(config));
    let tls = tokio::select! {
        r = handshake => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return handshake_failed(shared, peer, &e),
            Err(_) => return handshake_timed_out(shared, peer),
        },
        _ = shutdown.reached(Phase::Draining) => return None,
    };
    drop(permit);
    if validation.is_some() {
        tracing::info!(%peer, "answered an ACME tls-alpn-01 validation");
        let mut tls = tls;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, tls.shutdown()).await;
        return None;
    }
    Some(tls)
}

/// How a connection ended, as far as its client's standing goes.
#[derive(Debug)]
pub(crate) struct Ended {
    /// Requests it carried.
    pub(crate) requests: u64,
    /// Why the client broke it, if it did: [`Reason::H2ControlFlood`] or
    /// [`Reason::H2ProtocolError`].
    pub(crate) broken: Option<Reason>,
}

/// HTTP/2 (`h2`) or HTTP/1.1 over an established stream: the control-frame budget, the write
/// timeout, and the request service with every limit of the connection.
///
/// Not an `async fn`: the stream is moved into its box before the future exists, so the
/// future holds a pointer to it rather than the stream and the layers it was wrapped in.
pub(crate) fn serve_http<S: Io>(
    io: S,
    h2: bool,
    peer: SocketAddr,
    shared: &ConnShared,
    shutdown: ShutdownSignal,
) -> impl Future<Output = Ended> + Send + '_ {
    let state = ConnState {
        activity: Activity::new(),
        requests: Arc::default(),
    };
    let io = ControlBudget::new(io, h2, shared.control_budget);
    let flood = io.tripped();
    let io: Stream<S> = Box::new(Prefixed::new(
        TimedIo::new(io, shared.write_timeout).counted(shared.metrics.clone()),
        state.activity.clone(),
    ));
    async move {
        let broken = if h2 {
            let broke = serve_h2(io, peer, shared, &state, shutdown).await;
            if flood.is_some_and(|f| f.is_set()) {
                Some(Reason::H2ControlFlood)
            } else {
                broke.then_some(Reason::H2ProtocolError)
            }
        } else {
            serve_h1(io, peer, shared, &state, shutdown).await;
            None
        };
        Ended {
            requests: state.requests.served.load(Ordering::Relaxed),
            broken,
        }
    }
}

/// Whether an HTTP/2 connection's error is the client's doing: h2 itself ended it with a
/// GOAWAY for an error of the client's (a CONTINUATION flood, too many resets, a malformed
/// frame), not for an I/O failure, a timeout or a GOAWAY the client sent.
fn broken_by_client(e: &hyper::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|cause| cause.downcast_ref::<h2::Error>())
        .is_some_and(|h2| {
            h2.is_go_away() && h2.is_library() && h2.reason() != Some(h2::Reason::NO_ERROR)
        })
}

/// Counts and logs a failed handshake; the connection is done (`None`).
fn handshake_failed(shared: &ConnShared, peer: SocketAddr, e: &std::io::Error) -> Option<Tls> {
    shared.metrics.reject(Reason::HandshakeFailed);
    tracing::debug!(%peer, error = %e, "TLS handshake failed");
    None
}

/// Counts and logs a handshake whose deadline passed; the connection is done (`None`).
fn handshake_timed_out(shared: &ConnShared, peer: SocketAddr) -> Option<Tls> {
    shared.metrics.reject(Reason::HandshakeTimeout);
    tracing::debug!(%peer, "TLS handshake deadline passed");
    None
}

/// Why a connection is being ended gracefully.
fn log_close(peer: SocketAddr, why: &str) {
    tracing::debug!(%peer, "{why}; closing the connection");
}

/// Serves HTTP/2 until the connection ends; `true` when the client broke it
/// ([`broken_by_client`]).
async fn serve_h2<S: Io>(
    io: Stream<S>,
    peer: SocketAddr,
    shared: &ConnShared,
    state: &ConnState,
    mut shutdown: ShutdownSignal,
) -> bool {
    let svc = service(peer, shared, state);
    let mut conn = Box::pin(shared.h2.serve_connection(TokioIo::new(io), svc));
    // Batched writes: a poll of the connection that started streams wakes the connection
    // again, so that it runs after the streams' tasks (spawned just now) and writes all their
    // responses at once. Without it each finished stream woke the connection to write its
    // response alone: h2load (16 connections x 10 streams) measured 1.7 responses per
    // `writev` and 40 % fewer requests per second than with it (8.4 per `writev`).
    let mut started = state.requests.served.load(Ordering::Relaxed);
    let batched = std::future::poll_fn(|cx| {
        let r = conn.as_mut().poll(cx);
        let now = state.requests.served.load(Ordering::Relaxed);
        if r.is_pending() && now != started {
            started = now;
            cx.waker().wake_by_ref();
        }
        r
    });
    tokio::select! {
        r = batched => {
            let Err(e) = r else { return false };
            tracing::debug!(%peer, error = %e, "connection ended with error");
            return broken_by_client(&e);
        }
        _ = state.requests.cap_reached.notified() => log_close(peer, "request cap reached"),
        _ = state.activity.idle_for(shared.idle_timeout) => log_close(peer, "idle timeout"),
        _ = shutdown.reached(Phase::Draining) => {}
    }
    // Finish in-flight requests and send GOAWAY, within the drain bound.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.reached(Phase::Closing) => log_close(peer, "drain deadline"),
    }
    false
}

/// How one hyper HTTP/1.1 connection over the stream ended.
enum H1End {
    /// It is quiet: park the stream and wait for the next request.
    Park,
    /// It is done (client closed, error, cap, idle timeout or drain): close the stream.
    Close,
    /// The drain deadline passed: drop everything now.
    Abort,
}

async fn serve_h1<S: Io>(
    io: Stream<S>,
    peer: SocketAddr,
    shared: &ConnShared,
    state: &ConnState,
    mut shutdown: ShutdownSignal,
) {
    let mut hard = shutdown.clone();
    let mut io = io;
    let mut svc = service(peer, shared, state);
    loop {
        let mut conn = Box::new(shared.h1.serve_connection(TokioIo::new(io), svc));
        // Boxed, and freed before the connection parks: the timers and signals watched while
        // hyper serves are most of this function's future, which a parked connection holds.
        let (finished, end) = Box::pin(until_done_or_quiet(
            &mut conn,
            peer,
            shared,
            state,
            &mut shutdown,
            &mut hard,
        ))
        .await;
        if let Err(e) = finished {
            // hyper has already answered a head that is too large (431); a head that timed
            // out is simply cut.
            if e.is_timeout() {
                shared.metrics.reject(Reason::HeaderTimeout);
            } else if e.is_parse_too_large() {
                shared.metrics.reject(Reason::HeaderTooLarge);
            }
            tracing::debug!(%peer, error = %e, "connection ended with error");
            return;
        }
        let parts = (*conn).into_parts();
        io = parts.io.into_inner();
        svc = parts.service;
        io.unread(parts.read_buf);
        match end {
            Some(H1End::Park) => {}
            Some(H1End::Abort) => return,
            // The client closed, asked for `Connection: close`, or we are closing.
            Some(H1End::Close) | None => {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, io.shutdown()).await;
                return;
            }
        }
        if io.has_unread() {
            continue;
        }
        // Parked: only the TLS session is held until the next byte, the idle timeout or the
        // drain.
        let parked = shared.metrics.park();
        let mut byte = [0u8; 1];
        let woke = tokio::select! {
            r = io.read(&mut byte) => matches!(r, Ok(1)),
            _ = state.activity.idle_for(shared.idle_timeout) => {
                log_close(peer, "idle timeout");
                false
            }
            _ = shutdown.reached(Phase::Draining) => false,
        };
        drop(parked);
        if !woke {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, io.shutdown()).await;
            return;
        }
        io.unread(Bytes::copy_from_slice(&byte));
    }
}

/// Lets hyper serve one HTTP/1.1 connection until it ends or goes quiet, and says why it
/// stopped: `None` when hyper ended it (the client closed or asked for `Connection: close`).
/// Ends the connection gracefully (in-flight work first) on the cap, the idle timeout or the
/// drain; parks it once quiet; drops it at the drain deadline.
async fn until_done_or_quiet<S: Io, Svc>(
    conn: &mut http1::Connection<TokioIo<Stream<S>>, Svc>,
    peer: SocketAddr,
    shared: &ConnShared,
    state: &ConnState,
    shutdown: &mut ShutdownSignal,
    hard: &mut ShutdownSignal,
) -> (hyper::Result<()>, Option<H1End>)
where
    Svc: hyper::service::HttpService<Incoming, ResBody = InProgress> + Unpin,
    Svc::Future: Send + Unpin,
    Svc::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut end = None;
    loop {
        let why = tokio::select! {
            r = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => return (r, end),
            _ = state.requests.cap_reached.notified(), if end.is_none() => {
                log_close(peer, "request cap reached");
                H1End::Close
            }
            _ = state.activity.idle_for(shared.idle_timeout), if end.is_none() => {
                log_close(peer, "idle timeout");
                H1End::Close
            }
            _ = shutdown.reached(Phase::Draining), if end.is_none() => H1End::Close,
            _ = state.activity.quiet_for(PARK_AFTER), if end.is_none() => H1End::Park,
            _ = hard.reached(Phase::Closing) => {
                log_close(peer, "drain deadline");
                return (Ok(()), Some(H1End::Abort));
            }
        };
        end = Some(why);
        // Ends the connection once in-flight work is done: at once when idle.
        Pin::new(&mut *conn).graceful_shutdown();
    }
}

#[cfg(test)]
mod sizes {
    //! The connection task's future is allocated whole with the task and written all over
    //! while the connection serves, so its size is resident for every open connection, parked
    //! or not: 8.3 KiB of the 19.5 KiB an idle HTTP/1.1 connection held before these bounds.
    //! Sizes, not times: they change only with the code (and with the sizes of tokio's and
    //! hyper's types).

    use super::*;
    use tokio_rustls::server::TlsStream;

    /// The size of what `f` returns: the future of an `async fn`, without calling it.
    fn future_size<'a, F, R>(_: &F) -> usize
    where
        F: FnOnce(
            TcpStream,
            SocketAddr,
            &'a ConnPermit,
            Arc<ConnShared>,
            &'a Admission,
            ShutdownSignal,
        ) -> R,
    {
        std::mem::size_of::<R>()
    }

    fn http_future_size<'a, F, R>(_: &F) -> usize
    where
        F: FnOnce(TlsStream<TcpStream>, bool, SocketAddr, &'a ConnShared, ShutdownSignal) -> R,
    {
        std::mem::size_of::<R>()
    }

    #[test]
    fn a_connection_task_holds_little_besides_its_boxes() {
        // Measured 1,232 bytes (debug) and 8,384 before the handshake, the TLS stream and
        // hyper's serving were moved out of it.
        let serve = future_size(&serve);
        assert!(
            serve <= 1_536,
            "connection::serve's future is {serve} bytes"
        );
        // Measured 1,048: the HTTP/1.1 loop's serving half is boxed and freed when it parks.
        let http = http_future_size(&serve_http::<TlsStream<TcpStream>>);
        assert!(http <= 1_280, "serve_http's future is {http} bytes");
    }
}
