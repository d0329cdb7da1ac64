//! `request-flood`: keep-alive connections from many addresses sending `GET` for the health
//! route (the one the legitimate client measures) as fast as the server answers. A server
//! without per-client request budgets and a bounded in-flight count spends everything on it.

use super::{Scenario, flood};
use crate::runner::PROBE_PATH;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "request-flood",
    kind: "dos",
    description: "keep-alive connections from many addresses sending requests as fast as answered",
    attack: |ctx, counters| {
        let connections = ctx.preset.connections;
        Box::pin(flood::run(ctx, counters, connections, |host, _| {
            format!("GET {PROBE_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim request-flood\r\n\r\n")
                .into_bytes()
        }))
    },
};
