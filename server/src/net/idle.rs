//! Idle connections are closed: a connection with no request in progress for `idle_timeout`
//! is shut down gracefully (HTTP/2 GOAWAY, HTTP/1.1 close). HTTP/2 needs this most: hyper has
//! no idle timeout for it, and its PING keep-alive only finds dead peers, so without this an
//! established HTTP/2 connection could be held open for ever at no cost to the client.
//!
//! A request counts as in progress from the moment it reaches the service until its response
//! body has been sent or dropped, so a slow download is never "idle".
//!
//! Nothing is woken per request: a request's start and end only update the record, and a
//! waiter's timer, when it fires, reads it and sleeps again until the earliest moment the
//! connection could have been idle long enough. A waiter whose timer finds a request in
//! progress holds no timer until the last one ends (an HTTP/2 connection under load has one
//! in progress all the time). A connection under steady load wakes its waiters about once per
//! timeout, not twice per request.
//!
//! The same record tells an HTTP/1.1 connection when it may be parked (its buffers given
//! back while it waits): at least one request served, none in progress, and no byte read
//! since the last one ended, so a half-sent request head is never parked and keeps its
//! header deadline.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Requests in progress on one connection, and since when it has had none.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
    /// Notified (to the waiters then waiting) when the last request in progress ends.
    ended: Notify,
    /// Request bytes read so far (after TLS).
    bytes_read: AtomicU64,
    /// `bytes_read` when the last request ended; `u64::MAX` before the first one.
    read_at_last_end: AtomicU64,
}

/// Held for the life of one request (moved into its response body).
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Activity {
    /// A connection that has just opened: idle from now.
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            ended: Notify::new(),
            bytes_read: AtomicU64::new(0),
            read_at_last_end: AtomicU64::new(u64::MAX),
        })
    }

    /// Counts request bytes read from the client.
    pub fn note_read(&self, n: usize) {
        self.bytes_read.fetch_add(n as u64, Ordering::SeqCst);
    }

    /// Request bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::SeqCst)
    }

    /// A request has been served, none is in progress and nothing has arrived since.
    pub fn quiet(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
            && self.read_at_last_end.load(Ordering::SeqCst) == self.bytes_read()
    }

    /// Resolves once the connection has been [`quiet`](Activity::quiet) for `after`.
    pub async fn quiet_for(&self, after: Duration) {
        loop {
            self.idle_for(after).await;
            if self.quiet() {
                return;
            }
            // Bytes of a request head are arriving (slowly): look again later; hyper's header
            // deadline is what ends such a connection.
            tokio::time::sleep(after).await;
        }
    }

    /// Marks a request as started; dropping the guard marks it finished.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    fn idle_since(&self) -> Instant {
        *self.idle_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves once the connection has had no request in progress for `timeout`.
    pub async fn idle_for(&self, timeout: Duration) {
        let wake = tokio::time::sleep_until(self.idle_since() + timeout);
        tokio::pin!(wake);
        loop {
            wake.as_mut().await;
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                // Registered before the second look, so an end in between is not missed.
                let ended = self.ended.notified();
                tokio::pin!(ended);
                ended.as_mut().enable();
                if self.in_flight.load(Ordering::SeqCst) > 0 {
                    ended.await;
                }
            }
            let due = self.idle_since() + timeout;
            if due <= Instant::now() && self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            wake.as_mut().reset(due);
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let a = &self.0;
        if a.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            *a.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            a.read_at_last_end.store(a.bytes_read(), Ordering::SeqCst);
            a.ended.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_after_the_last_request_ends() {
        let a = Activity::new();
        let timeout = Duration::from_secs(30);
        let busy = a.begin();
        let start = Instant::now();
        let idle = tokio::spawn({
            let a = a.clone();
            async move { a.idle_for(timeout).await }
        });
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(!idle.is_finished(), "a request in progress is not idle");
        drop(busy);
        idle.await.expect("idle task");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(130), "{waited:?}");
    }

    #[test]
    fn quiet_needs_a_served_request_and_no_bytes_since() {
        let a = Activity::new();
        assert!(!a.quiet(), "nothing served yet");
        a.note_read(40);
        let busy = a.begin();
        assert!(!a.quiet(), "in progress");
        drop(busy);
        assert!(a.quiet());
        a.note_read(3);
        assert!(!a.quiet(), "part of the next head has arrived");
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_request_restarts_the_clock() {
        let a = Activity::new();
        let timeout = Duration::from_secs(30);
        let start = Instant::now();
        let idle = tokio::spawn({
            let a = a.clone();
            async move { a.idle_for(timeout).await }
        });
        tokio::time::sleep(Duration::from_secs(20)).await;
        drop(a.begin());
        idle.await.expect("idle task");
        assert!(start.elapsed() >= Duration::from_secs(50));
    }
}
