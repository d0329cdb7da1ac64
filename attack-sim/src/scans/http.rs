//! The scanners' HTTP/1.1 client. Requests are built field by field, so that a payload lands
//! exactly where it is meant to; they go out on one keep-alive connection from the scanner's
//! own address and are timed from the write to the last byte of the answer. The target paces
//! the scan: a 429 or 503 is never a result. The client waits what `Retry-After` asks (at most
//! [`MAX_WAIT`]) and sends again, and after [`MAX_RETRIES`] says it was starved, which makes
//! the scan inconclusive rather than wrong. A new connection the target refuses (closed or
//! reset before the TLS handshake ends: a per-client handshake rate, a connection cap) is
//! throttling at the connection layer, paced the same way with a [`REFUSED_WAIT`] pause:
//! probes that make the target close the connection (a malformed header) each cost one.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use crate::client::{self, Client, Response};
pub use crate::request::{Request, encode};

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response.
    pub response: Response,
    /// From the request's write to the answer's last byte.
    pub elapsed: Duration,
}

impl Reply {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// For evidence: the status line, the body's start.
    pub fn describe(&self) -> String {
        let status_line = self.response.head.lines().next().unwrap_or_default();
        format!(
            "{status_line} ({} bytes in {} ms)\r\n\r\n{}",
            self.response.body.len(),
            self.elapsed.as_millis(),
            String::from_utf8_lossy(&self.response.body)
        )
    }
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The connection failed.
    #[error("{0}")]
    Io(String),
    /// Every new connection was refused before its TLS handshake ended.
    #[error("new connections refused {0} times in a row: {1}")]
    Refused(u32, String),
    /// No answer within [`REQUEST_TIMEOUT`].
    #[error("no answer within {} s", REQUEST_TIMEOUT.as_secs())]
    Timeout,
    /// Throttled (429/503) every time.
    #[error("throttled (429/503) {0} times in a row")]
    Starved(u32),
}

/// The scanners' `User-Agent`.
pub const SCANNER_AGENT: &str = "attack-sim scanner";

/// How long one request may take (time-based checks make the target wait on purpose).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `Retry-After` honoured; a longer one is waited this long.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// How many throttled answers in a row starve a request.
pub const MAX_RETRIES: u32 = 6;
/// The pause after a refused connection: a per-client handshake rate refills within it.
pub const REFUSED_WAIT: Duration = Duration::from_secs(1);

/// The scanner's client.
pub struct Http {
    client: Client,
    from: IpAddr,
    conn: Mutex<Option<TlsStream<TcpStream>>>,
    sent: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
}

/// The wait a throttled answer asks for: its `Retry-After` in seconds (1 when absent or
/// unreadable), at most [`MAX_WAIT`].
pub fn retry_after(r: &Response) -> Duration {
    let secs = r
        .header_values("retry-after")
        .first()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(secs.max(1)).min(MAX_WAIT)
}

impl Http {
    /// A client of the target `client` reaches, sending from `from`.
    pub fn new(client: Client, from: IpAddr) -> Http {
        Http {
            client,
            from,
            conn: Mutex::new(None),
            sent: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// The Host header value.
    pub fn host(&self) -> &str {
        self.client.host()
    }

    /// Requests sent, throttled answers among them.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }

    /// Requests that got no usable answer (starved, timed out, connection failed) so far:
    /// a check whose requests failed was not made, whatever the others said.
    pub fn failures(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Sends `req` until it is answered with anything but 429/503.
    pub async fn send(&self, req: &Request) -> Result<Reply, SendError> {
        let result = self.send_paced(req).await;
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn send_paced(&self, req: &Request) -> Result<Reply, SendError> {
        let mut refused = None;
        for _ in 0..MAX_RETRIES {
            let reply = match self.once(req).await {
                Ok(reply) => reply,
                Err(Connect::Refused(e)) => {
                    self.throttled.fetch_add(1, Ordering::Relaxed);
                    refused = Some(e);
                    tokio::time::sleep(REFUSED_WAIT).await;
                    continue;
                }
                Err(Connect::Failed(e)) => return Err(e),
            };
            if !matches!(reply.status(), 429 | 503) {
                return Ok(reply);
            }
            self.throttled.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(retry_after(&reply.response)).await;
        }
        Err(match refused {
            Some(e) => SendError::Refused(MAX_RETRIES, e),
            None => SendError::Starved(MAX_RETRIES),
        })
    }

    /// One exchange on the kept connection, or on a fresh one when the kept one has gone.
    async fn once(&self, req: &Request) -> Result<Reply, Connect> {
        let bytes = req.to_bytes(self.client.host(), SCANNER_AGENT);
        let mut conn = self.conn.lock().await;
        for fresh in [false, true] {
            if fresh || conn.is_none() {
                let connect =
                    tokio::time::timeout(REQUEST_TIMEOUT, self.client.tls_from(self.from));
                *conn = Some(match connect.await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) if refused_early(&e) => return Err(Connect::Refused(e.to_string())),
                    Ok(Err(e)) => return Err(Connect::Failed(SendError::Io(e.to_string()))),
                    Err(_) => return Err(Connect::Failed(SendError::Timeout)),
                });
            }
            let Some(tls) = conn.as_mut() else {
                continue;
            };
            self.sent.fetch_add(1, Ordering::Relaxed);
            let start = Instant::now();
            let exchange = async {
                tls.write_all(&bytes).await?;
                client::read_full_response(tls).await
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
                Ok(Ok(response)) => {
                    let elapsed = start.elapsed();
                    let closing = response
                        .header_values("connection")
                        .iter()
                        .any(|v| v.eq_ignore_ascii_case("close"));
                    if closing || response.head.starts_with("HTTP/1.0") {
                        *conn = None;
                    }
                    return Ok(Reply { response, elapsed });
                }
                // A kept connection the server had closed: once more on a fresh one.
                Ok(Err(_)) if !fresh => *conn = None,
                Ok(Err(e)) => {
                    *conn = None;
                    return Err(Connect::Failed(SendError::Io(e.to_string())));
                }
                Err(_) => {
                    *conn = None;
                    return Err(Connect::Failed(SendError::Timeout));
                }
            }
        }
        Err(Connect::Failed(SendError::Io("no connection".into())))
    }
}

/// How one exchange failed: a new connection refused (to pace and retry), or anything else.
enum Connect {
    Refused(String),
    Failed(SendError),
}

/// Whether a failed connect is the target refusing the connection (reset, or closed before
/// the handshake ended) rather than a broken TLS set-up or nothing listening.
fn refused_early(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::ConnectionAborted
    )
}

impl crate::login::Transport for Http {
    async fn exchange(&self, req: &Request) -> Result<Response, String> {
        self.send(req)
            .await
            .map(|r| r.response)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let r = |h: &str| Response {
            status: 429,
            head: format!("HTTP/1.1 429 Too Many Requests\r\n{h}"),
            body: Vec::new(),
        };
        assert_eq!(retry_after(&r("Retry-After: 3")), Duration::from_secs(3));
        assert_eq!(retry_after(&r("retry-after: 3600")), MAX_WAIT);
        assert_eq!(retry_after(&r("")), Duration::from_secs(1));
        assert_eq!(retry_after(&r("Retry-After: 0")), Duration::from_secs(1));
    }
}
