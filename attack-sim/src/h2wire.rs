//! HTTP/2 on the wire, written by hand for the abuse a well-behaved client library will not
//! send (rapid resets, endless CONTINUATION frames, control-frame floods): frames (RFC 9113
//! section 4), HPACK header blocks of literals only (RFC 7541 section 6.2.2, no dynamic table,
//! no Huffman), the connection preface with the SETTINGS exchange, and a frame reader.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::client::{Buffers, Client};

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame types.
pub const DATA: u8 = 0x0;
/// HEADERS.
pub const HEADERS: u8 = 0x1;
/// RST_STREAM.
pub const RST_STREAM: u8 = 0x3;
/// SETTINGS.
pub const SETTINGS: u8 = 0x4;
/// PING.
pub const PING: u8 = 0x6;
/// GOAWAY.
pub const GOAWAY: u8 = 0x7;
/// CONTINUATION.
pub const CONTINUATION: u8 = 0x9;
/// Flags: END_STREAM (DATA, HEADERS).
pub const END_STREAM: u8 = 0x1;
/// ACK (SETTINGS, PING).
pub const ACK: u8 = 0x1;
/// END_HEADERS (HEADERS, CONTINUATION).
pub const END_HEADERS: u8 = 0x4;
/// Error code CANCEL.
pub const CANCEL: u32 = 0x8;
/// The largest frame payload every peer accepts (SETTINGS_MAX_FRAME_SIZE's initial value).
pub const MAX_FRAME: usize = 16_384;

/// The attacker's send buffer: what the server has not read stays out of the count of frames
/// sent, and the harness does not spend its own CPU encrypting megabytes the server will
/// never read (on a small CI machine that would be measured as the server's slowness).
pub const SEND_BUFFER: u32 = 64 * 1024;

/// How long the preface and SETTINGS exchange may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// One frame: the 9-byte header, then `payload`.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(9 + payload.len());
    push_frame(&mut f, kind, flags, stream, payload);
    f
}

/// Appends one frame to `out`. `payload` must fit in 24 bits.
pub fn push_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX) & 0x00ff_ffff;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Appends an HPACK integer with an `prefix`-bit prefix whose other bits are `first`.
fn push_int(out: &mut Vec<u8>, first: u8, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// Appends a header field as an HPACK literal without indexing, new name, no Huffman.
pub fn push_literal(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(0x00);
    push_int(out, 0, 7, name.len());
    out.extend_from_slice(name.as_bytes());
    push_int(out, 0, 7, value.len());
    out.extend_from_slice(value);
}

/// The HPACK block of a request: the pseudo-headers, then `user-agent`.
pub fn request_block(method: &str, path: &str, authority: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + path.len() + authority.len());
    push_literal(&mut b, ":method", method.as_bytes());
    push_literal(&mut b, ":scheme", b"https");
    push_literal(&mut b, ":path", path.as_bytes());
    push_literal(&mut b, ":authority", authority.as_bytes());
    push_literal(&mut b, "user-agent", b"attack-sim");
    b
}

/// An HTTP/2 connection driven frame by frame, with the preface and SETTINGS exchange done.
pub struct RawH2 {
    /// Frames from the server.
    pub reader: ReadHalf<TlsStream<TcpStream>>,
    /// Frames to it.
    pub writer: WriteHalf<TlsStream<TcpStream>>,
}

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// TCP, TLS or the SETTINGS exchange failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server did not choose `h2` in ALPN.
    #[error("the server does not offer HTTP/2 (no h2 in ALPN)")]
    NoH2,
}

impl RawH2 {
    /// Connects from `src` with ALPN `h2`, sends the preface and an empty SETTINGS, waits for
    /// the server's SETTINGS and acknowledges it. The socket's send buffer is fixed at
    /// [`SEND_BUFFER`].
    pub async fn open(client: &Client, src: IpAddr) -> Result<RawH2, SetupError> {
        let buffers = Buffers {
            recv: None,
            send: Some(SEND_BUFFER),
        };
        let mut tls = client
            .h2_from(src, buffers)
            .await?
            .ok_or(SetupError::NoH2)?;
        let setup = async {
            tls.write_all(PREFACE).await?;
            tls.write_all(&frame(SETTINGS, 0, 0, &[])).await?;
            tls.flush().await?;
            loop {
                let f = read_frame(&mut tls).await?;
                if f.kind == SETTINGS && f.flags & ACK == 0 {
                    tls.write_all(&frame(SETTINGS, ACK, 0, &[])).await?;
                    tls.flush().await?;
                    return Ok::<_, std::io::Error>(());
                }
            }
        };
        tokio::time::timeout(SETUP_TIMEOUT, setup)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        let (reader, writer) = tokio::io::split(tls);
        Ok(RawH2 { reader, writer })
    }
}

/// One frame received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its type.
    pub kind: u8,
    /// Its flags.
    pub flags: u8,
    /// Its stream.
    pub stream: u32,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// The largest frame payload read (SETTINGS_MAX_FRAME_SIZE may not exceed 2^24 - 1).
const MAX_READ: usize = (1 << 24) - 1;

/// Reads one frame.
pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Frame> {
    let mut head = [0u8; 9];
    r.read_exact(&mut head).await?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    if len > MAX_READ {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

/// What the server sent on a connection under attack.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// HEADERS frames (responses started).
    pub responses: u64,
    /// The error code of a GOAWAY, if one came.
    pub goaway: Option<u32>,
}

/// Reads frames until the server closes the connection (or it fails), calling `on_headers`
/// for each HEADERS frame.
pub async fn read_until_closed(
    reader: &mut ReadHalf<TlsStream<TcpStream>>,
    mut on_headers: impl FnMut(),
) -> Seen {
    let mut seen = Seen::default();
    while let Ok(f) = read_frame(reader).await {
        match f.kind {
            HEADERS => {
                seen.responses += 1;
                on_headers();
            }
            GOAWAY if f.payload.len() >= 8 => {
                let code =
                    u32::from_be_bytes([f.payload[4], f.payload[5], f.payload[6], f.payload[7]]);
                seen.goaway.get_or_insert(code);
            }
            _ => {}
        }
    }
    seen
}

/// Writes `bytes` and flushes.
pub async fn send(
    writer: &mut WriteHalf<TlsStream<TcpStream>>,
    bytes: &[u8],
) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_rfc_9113_layout() {
        let f = frame(HEADERS, END_HEADERS, 0x8000_0003, b"abc");
        assert_eq!(f, [0, 0, 3, 1, 4, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn hpack_integers_use_the_prefix_then_7_bit_groups() {
        // RFC 7541 C.1.2: 1337 with a 5-bit prefix.
        let mut out = Vec::new();
        push_int(&mut out, 0, 5, 1337);
        assert_eq!(out, [31, 154, 10]);
        let mut out = Vec::new();
        push_int(&mut out, 0, 7, 126);
        assert_eq!(out, [126]);
        let mut out = Vec::new();
        push_int(&mut out, 0, 7, 127);
        assert_eq!(out, [127, 0]);
    }

    #[test]
    fn literals_carry_name_and_value_lengths() {
        let mut b = Vec::new();
        push_literal(&mut b, "x", b"yz");
        assert_eq!(b, [0, 1, b'x', 2, b'y', b'z']);
        let long = vec![b'v'; 300];
        let mut b = Vec::new();
        push_literal(&mut b, "n", &long);
        assert_eq!(&b[..5], &[0, 1, b'n', 127, 173]);
        assert_eq!(b.len(), 5 + 1 + 300);
    }

    #[tokio::test]
    async fn frames_read_back() {
        let mut bytes = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        bytes.extend(frame(GOAWAY, 0, 0, &[0, 0, 0, 7, 0, 0, 0, 0xb]));
        let mut r = &bytes[..];
        let f = read_frame(&mut r).await.expect("settings");
        assert_eq!((f.kind, f.payload.len()), (SETTINGS, 6));
        let f = read_frame(&mut r).await.expect("goaway");
        assert_eq!((f.kind, f.payload[7]), (GOAWAY, 0xb));
        assert!(read_frame(&mut r).await.is_err());
    }
}
