//! `conn-flood`: idle TCP connections, no byte sent, from many addresses. A server that gives
//! each accepted socket a slot and no deadline before the handshake runs out of slots.

use super::hold;
use crate::scenarios::{Load, Run, Scenario};

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "conn-flood",
    kind: "dos",
    description: "idle TCP connections that never start TLS, reopened whenever they are closed",
    run: Run::Dos(|ctx, counters| {
        Box::pin(hold::run(ctx, counters, |ctx, src| async move {
            ctx.client.tcp_from(src).await.ok()
        }))
    }),
    load: Load::Connections,
};
