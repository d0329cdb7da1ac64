//! Raw HTTP/2 connections over TLS, for the abuse that a well-behaved client library will not
//! send: rapid resets, endless CONTINUATION frames, control-frame floods. The frames are
//! [`rampart_wire::h2`]'s, as attack-sim sends them.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use rampart_wire::h2::{GOAWAY, HEADERS, PING, PREFACE, SETTINGS, frame, goaway, request_block};

/// The HPACK block of `GET /healthz` on `localhost`.
pub fn get_healthz_block() -> Vec<u8> {
    request_block("GET", "/healthz", "localhost")
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
                GOAWAY => {
                    if let Some(last_and_code) = goaway(&payload) {
                        seen.goaway.get_or_insert(last_and_code);
                        seen.last_goaway = Some(last_and_code);
                    }
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
