//! HTTP/2 connections driven frame by frame, for the abuse a well-behaved client library will
//! not send (rapid resets, endless CONTINUATION frames, control-frame floods): the connection
//! preface with the SETTINGS exchange, a frame reader, and the frames and HPACK blocks of
//! [`rampart_wire::h2`].

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::client::{Buffers, Client};

use rampart_wire::h2::Head;
pub use rampart_wire::h2::{
    ACK, CANCEL, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, MAX_FRAME, PING,
    PREFACE, RST_STREAM, SETTINGS, frame, push_frame, push_literal, request_block,
};

/// The attacker's send buffer: what the server has not read stays out of the count of frames
/// sent, and the harness does not spend its own CPU encrypting megabytes the server will
/// never read (on a small CI machine that would be measured as the server's slowness).
pub const SEND_BUFFER: u32 = 64 * 1024;

/// How long the preface and SETTINGS exchange may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Reads one frame.
pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Frame> {
    let mut head = [0u8; 9];
    r.read_exact(&mut head).await?;
    let head = Head::parse(&head);
    let mut payload = vec![0u8; head.len];
    r.read_exact(&mut payload).await?;
    Ok(Frame {
        kind: head.kind,
        flags: head.flags,
        stream: head.stream,
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
