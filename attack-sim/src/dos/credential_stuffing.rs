//! `credential-stuffing`: wrong passwords for one account from many addresses, as fast as
//! answered, the way a botnet replays a leaked list against one user. Per-client budgets
//! barely slow it (each address sends a little); a server that hashes every attempt pays
//! argon2 for each, while per-account backoff refuses them before any hashing.

use super::flood;
use super::login_flood::login_request;
use crate::scenarios::{Load, Run, Scenario};

/// The account attacked.
pub const USERNAME: &str = "alice";

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "credential-stuffing",
    kind: "dos",
    description: "wrong passwords for one account from many addresses (per-account defences)",
    run: Run::Dos(|ctx, counters| {
        let connections = ctx.preset.flood_connections;
        Box::pin(flood::run(ctx, counters, connections, |host, n| {
            login_request(host, USERNAME, &format!("leaked-password-{n:x}"))
        }))
    }),
    load: Load::FloodConnections,
};
