//! Request bodies under a deadline (slow POST): a body that sends nothing for
//! `body_read_timeout`, or that falls behind a minimum average rate, fails with
//! [`BodyTooSlow`]; the handler then answers 408 and the connection is closed.
//!
//! The rate rule: by time `body_read_timeout + n / min_rate` after the body started, at least
//! `n` bytes must have arrived. So a client gets one full timeout of grace, and then must keep
//! up `min_rate` bytes per second on average; one byte every few seconds does not.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::metrics::{Metrics, Reason};

/// The error a too-slow body ends with.
#[derive(Debug, thiserror::Error)]
#[error("request body too slow")]
pub struct BodyTooSlow;

/// A request body with an idle deadline and a minimum average rate.
pub struct TimedBody<B> {
    inner: B,
    idle: Duration,
    min_rate: u64,
    started: Instant,
    received: u64,
    deadline: Pin<Box<Sleep>>,
    metrics: Option<Arc<Metrics>>,
}

impl<B> TimedBody<B> {
    /// Wraps `inner`; the clocks start now.
    pub fn new(inner: B, idle: Duration, min_rate_bytes_per_sec: u64) -> Self {
        let started = Instant::now();
        let mut b = TimedBody {
            inner,
            idle,
            min_rate: min_rate_bytes_per_sec.max(1),
            started,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(started + idle)),
            metrics: None,
        };
        b.rearm();
        b
    }

    /// Counts a body cut for slowness as [`Reason::BodyTimeout`].
    pub fn counted(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The next deadline: no bytes for `idle`, or behind the rate for the next byte.
    fn rearm(&mut self) {
        let behind = self.started
            + self.idle
            + Duration::from_secs_f64((self.received + 1) as f64 / self.min_rate as f64);
        let idle = Instant::now() + self.idle;
        self.deadline.as_mut().reset(behind.min(idle));
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    self.received += d.len() as u64;
                }
                self.rearm();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    if let Some(m) = &self.metrics {
                        m.reject(Reason::BodyTimeout);
                    }
                    Poll::Ready(Some(Err(Box::new(BodyTooSlow))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether an error (or anything in its source chain) is [`BodyTooSlow`].
pub fn is_too_slow(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<BodyTooSlow>() {
            return true;
        }
        cur = err.source();
    }
    false
}
