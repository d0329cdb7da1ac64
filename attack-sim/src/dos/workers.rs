//! Every attack is a number of workers, each looping over its own connections until the
//! attack ends; this runs them and stops them all at `ctx.until`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{AttackCounters, AttackCtx};

/// Pause after a refused connection before the next attempt.
pub const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// One connection attempt, counted in `connects`. When `open` yields nothing it is counted in
/// `refused` and followed by [`RETRY_PAUSE`], so that a refusing server is not met with a
/// tight reconnect loop.
pub async fn attempt<T>(
    counters: &AttackCounters,
    open: impl Future<Output = Option<T>>,
) -> Option<T> {
    counters.connects.fetch_add(1, Ordering::Relaxed);
    let conn = open.await;
    if conn.is_none() {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    conn
}

/// Runs `count` workers, `worker(ctx, counters, i)` for worker `i`, until `ctx.until`: each is
/// dropped then, and with it every connection it holds.
pub async fn run<F, Fut>(ctx: AttackCtx, counters: Arc<AttackCounters>, count: usize, worker: F)
where
    F: Fn(AttackCtx, Arc<AttackCounters>, usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let work = worker(ctx.clone(), counters.clone(), i);
            tokio::spawn(tokio::time::timeout_at(ctx.until, work))
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    // Connections still open at the end were dropped with their tasks.
    counters.open.store(0, Ordering::Relaxed);
}
