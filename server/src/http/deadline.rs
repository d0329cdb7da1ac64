//! The handler's deadline (`http.handler_timeout`): a request whose handler has not answered
//! within it gets 503 problem+json with `Retry-After`, and the handler's future is dropped.
//!
//! It runs inside the request limits, so it starts once the body has been read and the
//! in-flight slot taken, and it bounds how long that slot is held. It is what bounds a request
//! when the database stops answering without closing its connections (a partition, a
//! black-holed route): no other timeout does, because the pool's acquire timeout only covers
//! waiting for a connection, and sqlx has no client-side query timeout.
//!
//! Dropping a handler is safe for the data: a transaction not yet committed rolls back (sqlx
//! queues the rollback on the connection), and one whose commit went through before the cut
//! is found again by its `Idempotency-Key` when the client retries, as after a lost answer.
//! The password hasher keeps its pool slot until the hash it started is done.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tokio::time::Timeout;

use super::problem::{ApiError, DATABASE_RETRY_AFTER_SECS};
use crate::metrics::{Metrics, Reason};

/// The deadline and where it is counted.
#[derive(Clone, Debug)]
pub struct Deadline {
    after: Duration,
    metrics: Arc<Metrics>,
}

impl Deadline {
    /// A deadline of `after`, counted in `metrics` (`handler_timeout`).
    pub fn new(after: Duration, metrics: Arc<Metrics>) -> Self {
        Deadline { after, metrics }
    }
}

impl<S> tower::Layer<S> for Deadline {
    type Service = WithDeadline<S>;

    fn layer(&self, inner: S) -> WithDeadline<S> {
        WithDeadline {
            inner,
            deadline: self.clone(),
        }
    }
}

/// `inner` under the deadline: a plain layer rather than `from_fn`, which would clone and box
/// the service behind it again on every request.
#[derive(Clone, Debug)]
pub struct WithDeadline<S> {
    inner: S,
    deadline: Deadline,
}

impl<S> tower::Service<Request> for WithDeadline<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Bounded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Bounded<S::Future> {
        let answer = self.inner.call(req);
        Bounded {
            answer: tokio::time::timeout(self.deadline.after, answer),
            deadline: self.deadline.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// [`WithDeadline`]'s answer: the inner one, or 503 once the deadline has passed. The
    /// timer is armed only if the inner answer is not ready when first polled.
    pub struct Bounded<F> {
        #[pin]
        answer: Timeout<F>,
        deadline: Deadline,
    }
}

impl<F> Future for Bounded<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match std::task::ready!(this.answer.poll(cx)) {
            Ok(resp) => Poll::Ready(resp),
            Err(_) => {
                let Deadline { after, metrics } = this.deadline;
                metrics.reject(Reason::HandlerTimeout);
                Poll::Ready(Ok(ApiError::Unavailable {
                    retry_after_secs: DATABASE_RETRY_AFTER_SECS,
                    cause: format!("no answer within http.handler_timeout ({after:?})"),
                }
                .into_response()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    /// A router whose every request is answered by `handler`, under a deadline of `after`.
    fn app<H, T>(after: Duration, metrics: Arc<Metrics>, handler: H) -> Router
    where
        H: axum::handler::Handler<T, ()>,
        T: 'static,
    {
        Router::new()
            .fallback(handler)
            .layer(Deadline::new(after, metrics))
    }

    async fn get(app: Router) -> Response {
        app.oneshot(Request::get("/").body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_past_its_deadline_is_503_with_retry_after_and_counted() {
        let metrics = Arc::new(Metrics::default());
        let after = Duration::from_secs(5);
        let quick = app(after, metrics.clone(), || async { "done" });
        assert_eq!(get(quick).await.status(), StatusCode::OK);
        let hangs = app(after, metrics.clone(), std::future::pending::<&'static str>);
        let asked = tokio::time::Instant::now();
        let r = get(hangs).await;
        assert_eq!(asked.elapsed(), Duration::from_secs(5));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(metrics.rejections(Reason::HandlerTimeout), 1);
    }
}
