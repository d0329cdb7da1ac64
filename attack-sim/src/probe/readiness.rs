//! Before a scenario's baseline, the harness waits for the target to answer the legitimate
//! client's probe again: the last scenario may have left it down (a server that stopped
//! accepting, a process that died). Waiting is bounded; a target still down at the bound is
//! not attacked again, and the report says which scenario left it down and for how long.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::{Mix, PROBE_AGENT, Pick};
use crate::client::{self, Client};

/// How often the probe is sent while waiting.
pub const EVERY: Duration = Duration::from_millis(500);

/// What waiting for the target found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Readiness {
    /// The target answered the probe as expected within the bound.
    pub ready: bool,
    /// How long the harness waited for that (or the bound, when it never did), in ms.
    pub waited_ms: f64,
    /// The bound, in ms.
    pub limit_ms: f64,
}

/// Sends the mix's first probe (without a session) from `from` every [`EVERY`] until it is
/// answered as expected, at most for `limit`; each try waits at most `timeout`.
pub async fn wait(
    client: &Client,
    mix: &Mix,
    from: IpAddr,
    limit: Duration,
    timeout: Duration,
) -> Readiness {
    let start = Instant::now();
    let (_, req, expect) = mix.request(Pick::Probe(0));
    let bytes = req.to_bytes(client.host(), PROBE_AGENT);
    loop {
        let tried = Instant::now();
        let work = async {
            let mut tls = client.tls_from(from).await.ok()?;
            client::exchange(&mut tls, &bytes).await.ok()
        };
        if let Ok(Some(status)) = tokio::time::timeout(timeout, work).await
            && expect.expects(status)
        {
            return Readiness {
                ready: true,
                waited_ms: start.elapsed().as_secs_f64() * 1000.0,
                limit_ms: limit.as_secs_f64() * 1000.0,
            };
        }
        if start.elapsed() >= limit {
            return Readiness {
                ready: false,
                waited_ms: start.elapsed().as_secs_f64() * 1000.0,
                limit_ms: limit.as_secs_f64() * 1000.0,
            };
        }
        tokio::time::sleep_until((tried + EVERY).min(start + limit)).await;
    }
}
