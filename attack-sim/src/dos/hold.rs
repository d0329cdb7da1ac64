//! The shape most connection-exhaustion attacks share: open a connection from a source
//! address, send a little (or nothing), hold it until the server cuts it, and open another,
//! until the attack ends.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{AttackCounters, AttackCtx, workers};

/// Runs `ctx.preset.connections` workers until `ctx.until`. Each calls `open(ctx, source)`
/// for a connection with its opening bytes already sent (`None`: refused), then holds it
/// until the server closes or resets it, and starts again.
pub async fn run<S, F, Fut>(ctx: AttackCtx, counters: Arc<AttackCounters>, open: F)
where
    S: AsyncRead + Unpin + Send + 'static,
    F: Fn(AttackCtx, std::net::IpAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Option<S>> + Send,
{
    let count = ctx.preset.connections;
    workers::run(ctx, counters, count, move |ctx, counters, i| {
        let open = open.clone();
        async move {
            let src = ctx.sources.pick(i);
            loop {
                let Some(mut conn) = workers::attempt(&counters, open(ctx.clone(), src)).await
                else {
                    continue;
                };
                counters.opened();
                let mut sink = [0u8; 1024];
                // Held until the server closes, resets or answers (and then closes).
                while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
                counters.closed();
                counters.cut.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
}
