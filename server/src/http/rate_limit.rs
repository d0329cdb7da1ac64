//! Request-layer limits, applied after TLS and before the handlers, in this order:
//!
//! - a client cooling down ([`crate::limits::cooldown`]) gets 429 and `Connection: close` at once;
//! - a per-client request rate (IPv4 /32, IPv6 /64), 429 + Retry-After;
//! - stricter per-client budgets for `POST /v1/sessions` (and `/v1/sessions/cookie`, the
//!   browser's login: one budget) and `POST /v1/users`;
//! - the body read whole, under the client's share of body reading ([`super::body_read`]);
//! - a global cap on requests in flight, shedding with 503 + Retry-After before latency
//!   collapses (everyone, exempt networks included: it is capacity, not a rate). A request
//!   takes its slot only once its body is in, so the slots count handler work only;
//! - a per-user rate for authenticated requests, checked by the `Authenticated` extractor, so
//!   a user spreading requests over many addresses is still limited.
//!
//! A request refused for its client's login or registration budget also ends its HTTP/1.1
//! connection (`Connection: close`): a login flood that ignores Retry-After pays a new TLS
//! handshake, under the per-client handshake rate, for every refusal instead of sending the
//! next attempt on the same connection for free. Measured with `login-flood` (64 connections,
//! debug build): the attacker got 4,700 refusals instead of 58,000 in 6 s, and the legitimate
//! p50 fell from 12 ms to 2 ms; at the stress preset it held only with the close. A request
//! refused for the general request rate keeps its connection: there the reconnects cost both
//! sides a full handshake each, which was most of the CPU at the stress preset's opening
//! (`request-flood`'s legitimate p99 549-559 ms with the close, 258-375 ms without), and the
//! cool-down ends a flood's connections anyway. HTTP/2 has no per-response close; its
//! connections are bounded by the request cap per connection.
//!
//! Networks in `limits.exempt` skip the rate limits (never the caps or timeouts). Limiter
//! state is a bounded [`Limiter`], pruned with the connection-layer state.

use std::convert::Infallible;
use std::future::{Future, Ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use governor::Quota;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use super::body_read;
use super::problem::ApiError;
use super::{Answer, ClientAddr};
use crate::config::LimitsConfig;
use crate::limits::client_key::ClientKey;
use crate::limits::client_slots::ClientSlots;
use crate::limits::limiter::{Limiter, nz};
use crate::limits::refusals::Refusals;
use crate::metrics::Reason;

/// The request-layer limits.
#[derive(Debug)]
pub struct RequestLimits {
    per_client: Limiter<ClientKey>,
    per_user: Limiter<String>,
    login: Limiter<ClientKey>,
    register: Limiter<ClientKey>,
    in_flight: Arc<Semaphore>,
    body_reads: Arc<ClientSlots>,
    exempt: Vec<ipnet::IpNet>,
    max_tracked: usize,
    refusals: Arc<Refusals>,
}

impl RequestLimits {
    /// Builds the limiters from the configuration.
    pub fn new(l: &LimitsConfig, refusals: Arc<Refusals>) -> Arc<Self> {
        let per_minute = |n: u32| {
            Quota::with_period(Duration::from_secs(60) / n.max(1))
                .unwrap_or_else(|| Quota::per_minute(nz(n)))
        };
        let per_hour = |n: u32| {
            Quota::with_period(Duration::from_secs(3600) / n.max(1))
                .unwrap_or_else(|| Quota::per_hour(nz(n)))
        };
        Arc::new(RequestLimits {
            per_client: Limiter::new(
                Quota::per_second(nz(l.requests_per_second_per_client))
                    .allow_burst(nz(l.request_burst_per_client)),
            )
            .capped(l.max_tracked_clients),
            per_user: Limiter::new(
                Quota::per_second(nz(l.requests_per_second_per_user))
                    .allow_burst(nz(l.request_burst_per_user)),
            )
            .capped(l.max_tracked_clients),
            login: Limiter::new(
                per_minute(l.logins_per_minute_per_client)
                    .allow_burst(nz(l.login_burst_per_client)),
            )
            .capped(l.max_tracked_clients),
            register: Limiter::new(
                per_hour(l.registrations_per_hour_per_client)
                    .allow_burst(nz(l.registration_burst_per_client)),
            )
            .capped(l.max_tracked_clients),
            in_flight: Arc::new(Semaphore::new(l.max_in_flight)),
            body_reads: ClientSlots::new(l.max_body_reads_per_client),
            exempt: l.exempt.clone(),
            max_tracked: l.max_tracked_clients,
            refusals,
        })
    }

    /// Whether `ip` is in an exempt network.
    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|n| n.contains(&ip))
    }

    /// Counts and logs a refusal: as its client's where the address is known.
    fn count(&self, ip: Option<IpAddr>, reason: Reason) {
        match ip {
            Some(ip) => self.refusals.refused(ip, reason),
            None => self.refusals.metrics().reject(reason),
        }
    }

    fn refuse(&self, ip: Option<IpAddr>, reason: Reason, retry_after_secs: u32) -> ApiError {
        self.count(ip, reason);
        ApiError::TooManyRequests { retry_after_secs }
    }

    /// The counters every refusal goes to.
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        self.refusals.metrics()
    }

    /// Counts and logs a login refused because the account is in backoff.
    pub fn refuse_login_backoff(&self, ip: Option<IpAddr>, retry_after_secs: u32) -> ApiError {
        self.refuse(ip, Reason::LoginBackoff, retry_after_secs)
    }

    /// A request shed for load (`reason`: the in-flight cap, a full hashing pool): counted and
    /// logged as a refusal of its client, answered 503 with `Retry-After: 1`.
    pub fn shed(&self, ip: Option<IpAddr>, reason: Reason) -> ApiError {
        self.count(ip, reason);
        ApiError::Shed {
            retry_after_secs: 1,
        }
    }

    /// A place under the cap on requests in flight, held until the response is ready; the
    /// shed answer when there is none.
    fn in_flight_slot(&self, ip: Option<IpAddr>) -> Result<OwnedSemaphorePermit, ApiError> {
        self.in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.shed(ip, Reason::InFlight))
    }

    /// The per-user budget, for authenticated requests.
    pub fn check_user(&self, user_id: &str, ip: Option<IpAddr>) -> Result<(), ApiError> {
        if ip.is_some_and(|ip| self.is_exempt(ip)) {
            return Ok(());
        }
        self.per_user
            .check(&user_id.to_string())
            .map_err(|wait| self.refuse(ip, Reason::UserRate, wait))
    }

    /// The client's request budgets: the response to send if one is spent (see the module
    /// docs for which of them also close the connection).
    fn check_client(&self, ip: IpAddr, method: &Method, path: &str) -> Result<(), Refusal> {
        if self.is_exempt(ip) {
            return Ok(());
        }
        let key = ClientKey::from(ip);
        self.per_client
            .check(&key)
            .map_err(|w| Refusal::keeping(self.refuse(Some(ip), Reason::RequestRate, w)))?;
        if method == Method::POST {
            match path {
                // The API's login and the browser's: one budget.
                "/v1/sessions" | "/v1/sessions/cookie" => self
                    .login
                    .check(&key)
                    .map_err(|w| Refusal::closing(self.refuse(Some(ip), Reason::LoginRate, w)))?,
                "/v1/users" => self.register.check(&key).map_err(|w| {
                    Refusal::closing(self.refuse(Some(ip), Reason::RegistrationRate, w))
                })?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Prunes state and enforces the cap on tracked keys.
    pub fn maintain(&self) {
        let cap = self.max_tracked;
        self.per_client.maintain(cap);
        self.per_user.maintain(cap);
        self.login.maintain(cap);
        self.register.maintain(cap);
    }

    /// Keys tracked by all request limiters together.
    pub fn tracked(&self) -> usize {
        self.per_client.len() + self.per_user.len() + self.login.len() + self.register.len()
    }
}

/// A request refused for one of its client's budgets, and whether its connection ends.
struct Refusal {
    error: ApiError,
    closes: bool,
}

impl Refusal {
    fn keeping(error: ApiError) -> Self {
        Refusal {
            error,
            closes: false,
        }
    }

    fn closing(error: ApiError) -> Self {
        Refusal {
            error,
            closes: true,
        }
    }

    fn into_response(self) -> Response {
        if self.closes {
            closing(self.error)
        } else {
            self.error.into_response()
        }
    }
}

/// `Connection: close` on a refusal for the client's own excess: see the module docs; the
/// refused client reconnects, under the handshake rate.
fn closing(e: ApiError) -> Response {
    let mut resp = e.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    resp
}

/// The layer that applies [`RequestLimits`] to every request (see the module docs for the
/// order).
#[derive(Clone, Debug)]
pub struct Enforce(pub Arc<RequestLimits>);

impl<S> tower::Layer<S> for Enforce {
    type Service = Enforced<S>;

    fn layer(&self, inner: S) -> Enforced<S> {
        Enforced {
            inner,
            limits: self.0.clone(),
        }
    }
}

/// `inner` under the request limits: a plain layer rather than `from_fn`, which would clone
/// and box the service behind it on every request. A request without a body is checked and
/// passed on at once; only one whose body must be read first takes a copy of the service.
#[derive(Clone, Debug)]
pub struct Enforced<S> {
    inner: S,
    limits: Arc<RequestLimits>,
}

impl<S> tower::Service<Request> for Enforced<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Checked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Checked<S::Future> {
        let limits = &self.limits;
        let ip = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
        if let Some(ip) = ip
            && let Some(left) = limits.refusals.cooling_for(ip)
        {
            let secs = u32::try_from(left.as_secs() + 1).unwrap_or(u32::MAX);
            return Checked::refused(closing(limits.refuse(Some(ip), Reason::CoolingDown, secs)));
        }
        if let Some(ip) = ip
            && let Err(refused) = limits.check_client(ip, req.method(), req.uri().path())
        {
            return Checked::refused(refused.into_response());
        }
        match ip {
            Some(ip) if body_read::has_body(&req) => {
                let Some(share) = limits.body_reads.take(ClientKey::from(ip)) else {
                    return Checked::refused(closing(limits.refuse(
                        Some(ip),
                        Reason::BodyReads,
                        1,
                    )));
                };
                let (limits, inner) = (limits.clone(), self.inner.clone());
                Checked::reading_body(Box::pin(async move {
                    let req = match body_read::read_whole(req, super::MAX_BODY_BYTES).await {
                        Ok(req) => req,
                        Err(e) => return Ok(e.into_response()),
                    };
                    drop(share);
                    let _slot = match limits.in_flight_slot(Some(ip)) {
                        Ok(slot) => slot,
                        Err(shed) => return Ok(shed.into_response()),
                    };
                    inner.oneshot(req).await
                }))
            }
            _ => match limits.in_flight_slot(ip) {
                Ok(slot) => Checked::passed(self.inner.call(req), slot),
                Err(shed) => Checked::refused(shed.into_response()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// [`Enforced`]'s answer: a refusal at once, the inner service's answer holding the
    /// in-flight slot until it is ready, or (for a request with a body) the body's read and
    /// then the inner answer. A future of its own rather than a box: most requests have no
    /// body, and their answer is the inner one with a slot beside it.
    pub struct Checked<F> {
        #[pin]
        state: Check<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = CheckProj]
    enum Check<F> {
        // Refused by a limit.
        Refused {
            #[pin]
            answer: Ready<Result<Response, Infallible>>,
        },
        // Passed on with its in-flight slot, released when the answer is ready.
        Passed {
            #[pin]
            answer: F,
            slot: Option<OwnedSemaphorePermit>,
        },
        // Reading the body, then taking a slot and passing it on.
        ReadingBody { answer: Answer },
    }
}

impl<F> Checked<F> {
    fn refused(resp: Response) -> Self {
        Checked {
            state: Check::Refused {
                answer: std::future::ready(Ok(resp)),
            },
        }
    }

    fn passed(answer: F, slot: OwnedSemaphorePermit) -> Self {
        Checked {
            state: Check::Passed {
                answer,
                slot: Some(slot),
            },
        }
    }

    fn reading_body(answer: Answer) -> Self {
        Checked {
            state: Check::ReadingBody { answer },
        }
    }
}

impl<F> Future for Checked<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            CheckProj::Refused { answer } => answer.poll(cx),
            CheckProj::Passed { answer, slot } => {
                let resp = std::task::ready!(answer.poll(cx));
                drop(slot.take());
                Poll::Ready(resp)
            }
            CheckProj::ReadingBody { answer } => answer.as_mut().poll(cx),
        }
    }
}
