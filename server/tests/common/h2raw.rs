//! A raw HTTP/2 frame writer and reader over TLS, for the abuse that a well-behaved client
//! library will not send: rapid resets, endless CONTINUATION frames, control-frame floods.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const CONTINUATION: u8 = 0x9;
pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const CANCEL: u32 = 0x8;
pub const NO_ERROR: u32 = 0x0;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame on the wire.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frame length");
    let mut f = Vec::with_capacity(9 + payload.len());
    f.extend_from_slice(&len.to_be_bytes()[1..]);
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK block for `GET /healthz` on `localhost`, with literals only (no dynamic table).
pub fn get_healthz_block() -> Vec<u8> {
    let mut b = vec![0x82, 0x87]; // :method GET, :scheme https (static table)
    b.push(0x04); // :path, literal without indexing, name from static index 4
    b.push(8);
    b.extend_from_slice(b"/healthz");
    b.push(0x01); // :authority, literal without indexing, name index 1
    b.push(9);
    b.extend_from_slice(b"localhost");
    b
}

/// What the server sent before it closed the connection (or the reader gave up).
#[derive(Debug, Default)]
pub struct Seen {
    /// Last-stream-id and error code of the first GOAWAY.
    pub goaway: Option<(u32, u32)>,
    /// The same for the last GOAWAY (a graceful close sends two around a PING).
    pub last_goaway: Option<(u32, u32)>,
    /// HEADERS frames received (responses started).
    pub responses: usize,
    /// PING acknowledgements received.
    pub pongs: usize,
    /// The server closed (EOF or reset) within the reader's bound.
    pub closed: bool,
}

/// An HTTP/2 connection we drive frame by frame: the preface and an empty SETTINGS frame are
/// already sent.
pub struct RawH2 {
    pub reader: ReadHalf<TlsStream<TcpStream>>,
    pub writer: WriteHalf<TlsStream<TcpStream>>,
}

impl RawH2 {
    /// Connects from `src` with ALPN h2; `recv_buffer` shrinks the socket's receive buffer so
    /// that a client that stops reading pushes back on the server quickly.
    pub async fn open(
        src: IpAddr,
        addr: SocketAddr,
        ca: &Path,
        recv_buffer: Option<u32>,
    ) -> std::io::Result<RawH2> {
        let sock = tokio::net::TcpSocket::new_v4()?;
        if let Some(n) = recv_buffer {
            sock.set_recv_buffer_size(n)?;
        }
        sock.bind(SocketAddr::new(src, 0))?;
        let tcp = sock.connect(addr).await?;
        let cfg = super::client_config(ca, &[b"h2"], rustls::DEFAULT_VERSIONS);
        let mut tls = TlsConnector::from(Arc::new(cfg))
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await?;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        tls.write_all(PREFACE).await?;
        tls.write_all(&frame(SETTINGS, 0, 0, &[])).await?;
        tls.flush().await?;
        let (reader, writer) = tokio::io::split(tls);
        Ok(RawH2 { reader, writer })
    }

    /// Reads frames until the server closes the connection or `limit` passes. With a writer,
    /// the server's PINGs are acknowledged as a well-behaved client would.
    pub async fn read_all(
        reader: &mut ReadHalf<TlsStream<TcpStream>>,
        mut writer: Option<&mut WriteHalf<TlsStream<TcpStream>>>,
        limit: Duration,
    ) -> Seen {
        let mut seen = Seen::default();
        let deadline = tokio::time::Instant::now() + limit;
        let mut head = [0u8; 9];
        loop {
            if !read_by(reader, &mut head, deadline, &mut seen).await {
                return seen;
            }
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0u8; len];
            if !read_by(reader, &mut payload, deadline, &mut seen).await {
                return seen;
            }
            match head[3] {
                HEADERS => seen.responses += 1,
                PING if head[4] & 0x1 == 1 => seen.pongs += 1,
                PING => {
                    if let Some(w) = writer.as_mut() {
                        let _ = w.write_all(&frame(PING, 0x1, 0, &payload)).await;
                        let _ = w.flush().await;
                    }
                }
                GOAWAY if payload.len() >= 8 => {
                    let last =
                        u32::from_be_bytes(payload[..4].try_into().expect("4")) & 0x7fff_ffff;
                    let code = u32::from_be_bytes(payload[4..8].try_into().expect("4"));
                    seen.goaway.get_or_insert((last, code));
                    seen.last_goaway = Some((last, code));
                }
                _ => {}
            }
        }
    }
}

/// Fills `buf` before `deadline`; false (noting a close in `seen`) when it cannot.
async fn read_by(
    reader: &mut ReadHalf<TlsStream<TcpStream>>,
    buf: &mut [u8],
    deadline: tokio::time::Instant,
    seen: &mut Seen,
) -> bool {
    match tokio::time::timeout_at(deadline, reader.read_exact(buf)).await {
        Ok(Ok(_)) => true,
        Ok(Err(_)) => {
            seen.closed = true;
            false
        }
        Err(_) => false,
    }
}
