//! `login-flood`: logins with wrong passwords for ever-new usernames, from many addresses, as
//! fast as answered. Each attempt costs the server a password hash (argon2id: tens of
//! milliseconds of CPU and ~19 MiB) against a few hundred bytes from the attacker, so a server
//! that hashes without a concurrency bound or per-client login budget is starved of CPU and
//! memory. Unknown usernames also defeat per-account backoff.

use super::flood;
use crate::scenarios::{Load, Run, Scenario};

/// The login route.
pub const PATH: &str = "/v1/sessions";

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "login-flood",
    kind: "dos",
    description: "wrong-password logins for ever-new users, many addresses (hash cost amplification)",
    run: Run::Dos(|ctx, counters| {
        let connections = ctx.preset.flood_connections;
        Box::pin(flood::run(ctx, counters, connections, |host, n| {
            let user = format!("flood-{n:x}-{:x}", std::process::id());
            login_request(host, &user, &format!("not the password, attempt {n}"))
        }))
    }),
    load: Load::FloodConnections,
};

/// A login request (`POST /v1/sessions` with a JSON body) for `username` and `password`,
/// which must not need JSON escaping.
pub fn login_request(host: &str, username: &str, password: &str) -> Vec<u8> {
    let body = format!("{{\"username\":\"{username}\",\"password\":\"{password}\"}}");
    format!(
        "POST {PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
