//! `request-flood`: requests for the health route (the one the legitimate client measures) as
//! fast as the server answers, from many addresses: half the connections HTTP/1.1 keep-alive,
//! one request at a time each, and the other half's worth of requests multiplexed over
//! HTTP/2 connections, [`h2_requests::STREAMS`] in flight on each. A server without
//! per-client request budgets and a bounded in-flight count spends everything on it.

use super::{flood, h2_requests};
use crate::dos::runner::PROBE_PATH;
use crate::scenarios::{Load, Run, Scenario};

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "request-flood",
    kind: "dos",
    description: "requests as fast as answered: HTTP/1.1 keep-alive and HTTP/2 multiplexed, many addresses",
    run: Run::Dos(|ctx, counters| {
        let h1 = ctx.preset.connections / 2;
        let h2 = (ctx.preset.connections / 2).div_ceil(h2_requests::STREAMS);
        let h1_flood = flood::run(ctx.clone(), counters.clone(), h1, |host, _| {
            format!("GET {PROBE_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim request-flood\r\n\r\n")
                .into_bytes()
        });
        let h2_flood = h2_requests::run(ctx, counters, h2, h1, PROBE_PATH);
        Box::pin(async move {
            tokio::join!(h1_flood, h2_flood);
        })
    }),
    load: Load::Connections,
};
