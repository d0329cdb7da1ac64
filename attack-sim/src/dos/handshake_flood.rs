//! `handshake-flood`: full TLS handshakes from many addresses as fast as the server completes
//! them, each connection dropped as soon as it is up. Every handshake costs the server a
//! signature and a key exchange; a server without a per-client handshake rate or a cap on
//! handshakes in progress spends its CPU on them.

use std::sync::atomic::Ordering;

use super::workers;
use crate::scenarios::{Load, Run, Scenario};

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "handshake-flood",
    kind: "dos",
    description: "full TLS handshakes from many addresses as fast as completed, each dropped at once",
    run: Run::Dos(|ctx, counters| {
        let count = ctx.preset.flood_connections;
        Box::pin(workers::run(
            ctx,
            counters,
            count,
            |ctx, counters, i| async move {
                let src = ctx.sources.pick(i);
                loop {
                    let handshake = async { ctx.client.tls_full_from(src).await.ok() };
                    // Completed: the server has paid for it. Dropped without a close_notify.
                    if workers::attempt(&counters, handshake).await.is_some() {
                        counters.responses.fetch_add(1, Ordering::Relaxed);
                    }
                }
            },
        ))
    }),
    load: Load::FloodConnections,
};
