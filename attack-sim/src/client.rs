//! TLS connections from a chosen source address, and the one HTTP/1.1 exchange the probe and
//! the slow scenarios need, written by hand so that the harness controls every byte and every
//! pause.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::target::Target;
use crate::trust::{self, Trust, TrustError};

/// Connects to the target over TLS with its CA trusted, offering `alpn` (and, for the HTTP/2
/// attacks, `h2` alone).
#[derive(Clone)]
pub struct Client {
    connector: TlsConnector,
    h2_connector: TlsConnector,
    full_connector: TlsConnector,
    name: ServerName<'static>,
    addr: SocketAddr,
    host: String,
}

impl Client {
    /// A client for `target`, accepting the certificates `trust` allows, offering the ALPN
    /// protocols `alpn`.
    pub fn new(target: &Target, trust: &Trust, alpn: &[&[u8]]) -> Result<Client, TrustError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = trust::verifier(trust, &provider)?;
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the default provider supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let mut h2_cfg = cfg.clone();
        h2_cfg.alpn_protocols = vec![b"h2".to_vec()];
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let mut full_cfg = cfg.clone();
        full_cfg.resumption = rustls::client::Resumption::disabled();
        // A host that is neither a DNS name nor an IP address never resolved into a Target.
        let name = ServerName::try_from(target.host.clone())
            .unwrap_or_else(|_| ServerName::from(target.addr.ip()));
        Ok(Client {
            connector: TlsConnector::from(Arc::new(cfg)),
            h2_connector: TlsConnector::from(Arc::new(h2_cfg)),
            full_connector: TlsConnector::from(Arc::new(full_cfg)),
            name,
            addr: target.addr,
            host: target.host.clone(),
        })
    }

    /// The Host header value.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// A TCP connection from `src` (bound before connect).
    pub async fn tcp_from(&self, src: IpAddr) -> std::io::Result<TcpStream> {
        self.tcp_from_with(src, Buffers::default()).await
    }

    /// A TCP connection from `src` with the socket buffers `buffers`.
    pub async fn tcp_from_with(&self, src: IpAddr, buffers: Buffers) -> std::io::Result<TcpStream> {
        let sock = if src.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // Before connect, so that the window scale in the SYN already reflects them.
        if let Some(size) = buffers.recv {
            sock.set_recv_buffer_size(size)?;
        }
        if let Some(size) = buffers.send {
            sock.set_send_buffer_size(size)?;
        }
        sock.bind(SocketAddr::new(src, 0))?;
        let tcp = sock.connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }

    /// A TLS connection from `src`.
    pub async fn tls_from(&self, src: IpAddr) -> std::io::Result<TlsStream<TcpStream>> {
        self.tls_from_with(src, Buffers::default()).await
    }

    /// A TLS connection from `src` with the socket buffers `buffers`.
    pub async fn tls_from_with(
        &self,
        src: IpAddr,
        buffers: Buffers,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = self.tcp_from_with(src, buffers).await?;
        self.connector.connect(self.name.clone(), tcp).await
    }

    /// A TLS connection from `src` that never resumes a session: a full handshake, with the
    /// server's signature and a fresh key exchange, every time. ([`Client::tls_from`] resumes
    /// when the server gave it a ticket, as browsers do.)
    pub async fn tls_full_from(&self, src: IpAddr) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = self.tcp_from(src).await?;
        self.full_connector.connect(self.name.clone(), tcp).await
    }

    /// A TLS connection from `src` offering only `h2`, with the socket buffers `buffers`;
    /// `Ok(None)` when the server chose no ALPN protocol (it does not speak HTTP/2).
    pub async fn h2_from(
        &self,
        src: IpAddr,
        buffers: Buffers,
    ) -> std::io::Result<Option<TlsStream<TcpStream>>> {
        let tcp = self.tcp_from_with(src, buffers).await?;
        let tls = self.h2_connector.connect(self.name.clone(), tcp).await?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(h2.then_some(tls))
    }
}

/// Reads from a fresh TLS 1.3 connection until the server's session tickets have been
/// processed (they arrive after the handshake, so a client that hangs up at once never
/// stores one and never resumes); `Ok(false)` when the connection ended or is TLS 1.2 (whose
/// tickets come inside the handshake). Bound it with a timeout: a server that sends no ticket
/// leaves it waiting.
pub async fn await_tickets(tls: &mut TlsStream<TcpStream>) -> std::io::Result<bool> {
    if tls.get_ref().1.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return Ok(false);
    }
    let mut buf = [0u8; 1024];
    std::future::poll_fn(|cx| {
        loop {
            let mut rb = tokio::io::ReadBuf::new(&mut buf);
            let polled = std::pin::Pin::new(&mut *tls).poll_read(cx, &mut rb);
            if tls.get_ref().1.tls13_tickets_received() > 0 {
                return std::task::Poll::Ready(Ok(true));
            }
            match polled {
                std::task::Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    return std::task::Poll::Ready(Ok(false));
                }
                // Application data nobody asked for: keep reading for the tickets.
                std::task::Poll::Ready(Ok(())) => continue,
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    })
    .await
}

/// Socket buffer sizes asked of the kernel (which rounds them up to its minimum and doubles
/// them for its bookkeeping); `None` leaves its autotuning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Buffers {
    /// `SO_RCVBUF`: a small one advertises a small window (slow reads).
    pub recv: Option<u32>,
    /// `SO_SNDBUF`: a small one keeps what the server has not read out of the attacker's
    /// count and off its CPU.
    pub send: Option<u32>,
}

/// The largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Sends `GET path` and reads one whole response; returns its status code.
pub async fn get(tls: &mut TlsStream<TcpStream>, host: &str, path: &str) -> std::io::Result<u16> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    exchange(tls, req.as_bytes()).await
}

/// Writes `request` (one complete HTTP/1.1 request) and reads one whole response, body
/// included, so that the connection can carry the next request; returns the status code.
pub async fn exchange(tls: &mut TlsStream<TcpStream>, request: &[u8]) -> std::io::Result<u16> {
    Ok(exchange_body(tls, request).await?.0)
}

/// [`exchange`], returning the whole response.
pub async fn exchange_full(
    tls: &mut TlsStream<TcpStream>,
    request: &[u8],
) -> std::io::Result<Response> {
    tls.write_all(request).await?;
    read_full_response(tls).await
}

/// [`exchange`], returning the status code and the body (chunked bodies decoded).
pub async fn exchange_body(
    tls: &mut TlsStream<TcpStream>,
    request: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    tls.write_all(request).await?;
    read_response_body(tls).await
}

/// Reads one whole HTTP/1.1 response (`Content-Length` or chunked body) and returns its
/// status code.
pub async fn read_response(tls: &mut TlsStream<TcpStream>) -> std::io::Result<u16> {
    Ok(read_response_body(tls).await?.0)
}

/// The largest response body kept.
const MAX_BODY: usize = 16 << 20;

/// Reads one whole HTTP/1.1 response; returns its status code and body.
pub async fn read_response_body(tls: &mut TlsStream<TcpStream>) -> std::io::Result<(u16, Vec<u8>)> {
    let r = read_full_response(tls).await?;
    Ok((r.status, r.body))
}

/// One response, head and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status line and header fields, as received (up to the blank line).
    pub head: String,
    /// The body (chunked bodies decoded).
    pub body: Vec<u8>,
}

impl Response {
    /// The values of the header field `name` (any case), trimmed, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// Reads one whole HTTP/1.x response: a `Content-Length` or chunked body, or, with neither,
/// the body up to the close (RFC 9112 6.3) unless the status has none.
pub async fn read_full_response(tls: &mut TlsStream<TcpStream>) -> std::io::Result<Response> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        read_more(tls, &mut buf, &mut chunk).await?;
    };
    let raw_head = String::from_utf8_lossy(&buf[..head_end - 4]).into_owned();
    let head = raw_head.to_ascii_lowercase();
    let status: u16 = head
        .strip_prefix("http/1.1 ")
        .or_else(|| head.strip_prefix("http/1.0 "))
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let done = |body: Vec<u8>| Response {
        status,
        head: raw_head.clone(),
        body,
    };
    if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        loop {
            if let Some(body) = dechunk(&buf[head_end..])? {
                return Ok(done(body));
            }
            if buf.len() > head_end + MAX_BODY {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            read_more(tls, &mut buf, &mut chunk).await?;
        }
    }
    let Some(len) = header("content-length:") else {
        if (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(done(Vec::new()));
        }
        // Delimited by the close.
        loop {
            if buf.len() > head_end + MAX_BODY {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            match tls.read(&mut chunk).await {
                Ok(0) => return Ok(done(buf[head_end..].to_vec())),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                // A peer that closes without close_notify still ended the body.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(done(buf[head_end..].to_vec()));
                }
                Err(e) => return Err(e),
            }
        }
    };
    let len: usize = len.parse().map_err(|_| std::io::ErrorKind::InvalidData)?;
    if len > MAX_BODY {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    while buf.len() < head_end + len {
        read_more(tls, &mut buf, &mut chunk).await?;
    }
    Ok(done(buf[head_end..head_end + len].to_vec()))
}

/// The decoded body of a complete chunked encoding, `None` while incomplete. Trailers are
/// not supported (none of the targets sends them).
fn dechunk(mut data: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let bad = || std::io::Error::from(std::io::ErrorKind::InvalidData);
    let mut body = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|_| bad())?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        let rest = &data[eol + 2..];
        if size == 0 {
            return Ok(rest.starts_with(b"\r\n").then_some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        data = &rest[size + 2..];
    }
}

async fn read_more(
    tls: &mut TlsStream<TcpStream>,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
) -> std::io::Result<()> {
    let n = tls.read(chunk).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Whether the server has answered or closed (checked without waiting).
pub async fn answered_or_closed(tls: &mut TlsStream<TcpStream>) -> bool {
    let mut probe = [0u8; 256];
    tokio::time::timeout(std::time::Duration::from_millis(1), tls.read(&mut probe))
        .await
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_decoded_once_complete() {
        let whole = b"4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n";
        assert_eq!(
            dechunk(whole).expect("valid").as_deref(),
            Some(&b"Wikipedia "[..])
        );
        for cut in [3, 10, 20, whole.len() - 1] {
            assert_eq!(dechunk(&whole[..cut]).expect("valid so far"), None, "{cut}");
        }
        assert!(dechunk(b"zz\r\n").is_err());
    }

    #[test]
    fn a_missing_or_broken_ca_is_named() {
        let t = Target::resolve("https://127.0.0.1:1", false).expect("target");
        assert!(matches!(
            Client::new(&t, &Trust::default(), &[]),
            Err(TrustError::Nothing)
        ));
        let file = std::env::temp_dir().join(format!("attack-sim-ca-{}", std::process::id()));
        std::fs::write(&file, "not a pem").expect("write");
        let trust = Trust {
            ca: Some(file.clone()),
            ..Trust::default()
        };
        let e = Client::new(&t, &trust, &[]).err().expect("broken CA");
        assert!(e.to_string().contains(&file.display().to_string()), "{e}");
        let _ = std::fs::remove_file(file);
    }
}
