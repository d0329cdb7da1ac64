//! The shape of the request floods (`request-flood`, `login-flood`): keep-alive TLS
//! connections from many addresses, each sending the next request as soon as the previous
//! answer is in (closed loop per connection, as wrk does), reconnecting when the server closes
//! one. Retry-After is ignored: this is the attacker.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{AttackCounters, AttackCtx, workers};
use crate::client;

/// Builds request number `n`, given the Host header value; `n` is unique across workers.
pub type Request = fn(host: &str, n: u64) -> Vec<u8>;

/// Runs `connections` flooding workers until `ctx.until`.
pub async fn run(
    ctx: AttackCtx,
    counters: Arc<AttackCounters>,
    connections: usize,
    request: Request,
) {
    workers::run(
        ctx,
        counters,
        connections,
        move |ctx, counters, i| async move { worker(&ctx, i, &counters, request).await },
    )
    .await;
}

async fn worker(ctx: &AttackCtx, i: usize, counters: &AttackCounters, request: Request) {
    let src = ctx.sources.pick(i);
    let mut n = (i as u64) << 32;
    loop {
        let Some(mut tls) =
            workers::attempt(counters, async { ctx.client.tls_from(src).await.ok() }).await
        else {
            continue;
        };
        counters.opened();
        loop {
            n += 1;
            counters.sent(1);
            match client::exchange(&mut tls, &request(ctx.client.host(), n)).await {
                Ok(status) => counters.answered(status),
                Err(_) => break,
            }
        }
        counters.closed();
        counters.cut.fetch_add(1, Ordering::Relaxed);
    }
}
