//! The HTTP/2 control-frame budget: the client's SETTINGS and PING frames (not their
//! acknowledgements) are counted as they pass up the read side, below h2, and a connection
//! whose client sends more than its budget ends there (CVE-2019-9512 ping flood,
//! CVE-2019-9515 settings flood). h2 answers each such frame with one of its own and offers no
//! hook to bound them; a client that reads its acknowledgements, or that absorbs them in a
//! large receive buffer, would otherwise have us process frames for as long as it sends.
//!
//! The budget is a token bucket per connection: `http.h2_control_frame_burst` at once, refilled
//! at `http.h2_control_frames_per_second`. Only the frame headers are parsed (9 bytes after the
//! 24-byte client preface); payloads are skipped by length, so the cost is a few comparisons
//! per frame. A connection cut by its budget is [`Tripped`]; the connection task reports it as
//! a refusal of its client (`h2_control_flood`), which counts towards its cool-down.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

const PREFACE_LEN: usize = 24;
const HEADER_LEN: usize = 9;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const ACK: u8 = 0x1;

/// Where the parser is in the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FrameParser {
    /// Preface bytes still to pass.
    preface_left: usize,
    /// The frame header being read.
    head: [u8; HEADER_LEN],
    /// How much of it is in.
    head_len: usize,
    /// Payload bytes still to skip.
    skip: usize,
}

impl FrameParser {
    fn new() -> Self {
        FrameParser {
            preface_left: PREFACE_LEN,
            head: [0; HEADER_LEN],
            head_len: 0,
            skip: 0,
        }
    }

    /// Takes the next bytes of the stream; returns how many control frames began in them.
    fn feed(&mut self, mut bytes: &[u8]) -> u64 {
        let mut control = 0;
        while !bytes.is_empty() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(bytes.len());
                self.preface_left -= n;
                bytes = &bytes[n..];
            } else if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
            } else {
                let n = (HEADER_LEN - self.head_len).min(bytes.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&bytes[..n]);
                self.head_len += n;
                bytes = &bytes[n..];
                if self.head_len == HEADER_LEN {
                    self.head_len = 0;
                    let h = self.head;
                    self.skip = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
                    if matches!(h[3], SETTINGS | PING) && h[4] & ACK == 0 {
                        control += 1;
                    }
                }
            }
        }
        control
    }
}

/// A token bucket of control frames.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_second: u32, burst: u32) -> Self {
        Bucket {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            at: Instant::now(),
        }
    }

    /// Spends `n` tokens; false when there were not enough.
    fn spend(&mut self, n: u64, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        self.tokens -= n as f64;
        self.tokens >= 0.0
    }
}

/// The budget's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sustained control frames per second.
    pub per_second: u32,
    /// At once.
    pub burst: u32,
}

/// The client's read side, metered for control frames when the connection is HTTP/2.
pub struct ControlBudget<T> {
    inner: T,
    meter: Option<(FrameParser, Bucket)>,
    /// Only for HTTP/2: an HTTP/1.1 connection is never cut, and allocates nothing for it.
    tripped: Option<Tripped>,
}

/// Set once the budget has cut a connection; shared with the task serving it.
#[derive(Debug, Clone, Default)]
pub struct Tripped(Arc<AtomicBool>);

impl Tripped {
    /// Whether the budget cut the connection.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl<T> ControlBudget<T> {
    /// Meters `inner` with `budget` when `h2`, and passes it through otherwise.
    pub fn new(inner: T, h2: bool, budget: Budget) -> Self {
        ControlBudget {
            inner,
            meter: h2.then(|| {
                (
                    FrameParser::new(),
                    Bucket::new(budget.per_second, budget.burst),
                )
            }),
            tripped: h2.then(Tripped::default),
        }
    }

    /// What says whether the budget cut the connection: `None` when it is not metered.
    pub fn tripped(&self) -> Option<Tripped> {
        self.tripped.clone()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ControlBudget<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let Some((parser, bucket)) = this.meter.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let control = parser.feed(&buf.filled()[before..]);
        if control > 0 && !bucket.spend(control, Instant::now()) {
            if let Some(tripped) = &this.tripped {
                tripped.0.store(true, Ordering::Relaxed);
            }
            // The frames that broke the budget never reach h2.
            buf.set_filled(before);
            this.meter = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP/2 control-frame budget exceeded",
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ControlBudget<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).expect("len").to_be_bytes();
        let mut f = vec![len[1], len[2], len[3], kind, flags, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    fn preface() -> Vec<u8> {
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()
    }

    #[test]
    fn counts_settings_and_pings_but_not_acks_or_other_frames() {
        let mut bytes = preface();
        bytes.extend(frame(SETTINGS, 0, &[0, 3, 0, 0, 0, 100]));
        bytes.extend(frame(SETTINGS, ACK, &[]));
        bytes.extend(frame(PING, 0, &[7; 8]));
        bytes.extend(frame(PING, ACK, &[7; 8]));
        // A DATA frame whose payload looks like a PING header must be skipped, not parsed.
        bytes.extend(frame(0x0, 0, &frame(PING, 0, &[1; 8])));
        bytes.extend(frame(0x1, 0x4, &[0x82]));
        let mut whole = FrameParser::new();
        assert_eq!(whole.feed(&bytes), 2);
        // The same bytes one at a time: frame headers split anywhere.
        let mut split = FrameParser::new();
        let n: u64 = bytes
            .iter()
            .map(|b| split.feed(std::slice::from_ref(b)))
            .sum();
        assert_eq!(n, 2);
        assert_eq!(split, whole);
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_the_burst_then_the_rate() {
        let mut b = Bucket::new(10, 100);
        let t0 = Instant::now();
        assert!(b.spend(100, t0));
        assert!(!b.spend(1, t0));
        let mut b = Bucket::new(10, 100);
        assert!(b.spend(100, t0));
        assert!(b.spend(10, t0 + Duration::from_secs(1)));
        assert!(!b.spend(2, t0 + Duration::from_millis(1100)));
    }

    #[tokio::test]
    async fn a_flood_ends_the_read_side_and_is_flagged() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let budget = Budget {
            per_second: 1,
            burst: 50,
        };
        let mut metered = ControlBudget::new(server, true, budget);
        let tripped = metered.tripped().expect("metered");
        let mut client = client;
        let mut bytes = preface();
        for i in 0..200u64 {
            bytes.extend(frame(PING, 0, &i.to_be_bytes()));
        }
        client.write_all(&bytes).await.expect("write");
        let mut sink = vec![0u8; 1 << 20];
        let mut read = 0;
        let err = loop {
            match metered.read(&mut sink).await {
                Ok(0) => panic!("EOF before the budget ran out"),
                Ok(n) => read += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // Whatever passed up held at most the burst.
        assert!(read <= 24 + 50 * 17, "{read}");
        assert!(tripped.is_set());
    }

    #[tokio::test]
    async fn http1_connections_are_not_metered() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let budget = Budget {
            per_second: 1,
            burst: 1,
        };
        let mut plain = ControlBudget::new(server, false, budget);
        let mut bytes = preface();
        for i in 0..100u64 {
            bytes.extend(frame(PING, 0, &i.to_be_bytes()));
        }
        client.write_all(&bytes).await.expect("write");
        drop(client);
        let mut all = Vec::new();
        plain.read_to_end(&mut all).await.expect("read");
        assert_eq!(all, bytes);
    }
}
