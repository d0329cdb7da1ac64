//! Hand-built ClientHello records ([`rampart_wire::tls`]), for offers no modern TLS library
//! will make (TLS 1.1 only, CBC suites only), and a reader for the server's first answer.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use rampart_wire::tls::{self as wire, classify};

/// A ClientHello record with the given legacy version and suites, offering the usual groups
/// and signature algorithms (whatever the version: a client that also speaks TLS 1.2, so that
/// a refusal is for the version offered, not a missing extension) and SNI `localhost`, without
/// `supported_versions`.
pub fn client_hello(version: u16, suites: &[u16]) -> Vec<u8> {
    client_hello_for(version, suites, Some("localhost"))
}

/// [`client_hello`] asking for the host name `sni` (none: no SNI extension).
pub fn client_hello_for(version: u16, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    wire::Hello {
        version,
        suites,
        sni,
        signature_algorithms: true,
    }
    .record()
}

/// What the server answered to a hand-built hello.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A fatal or warning alert with this description.
    Alert(u8),
    /// A handshake record (the server went on with the handshake).
    Handshake,
    /// The connection closed with no bytes.
    Closed,
    /// Something else (first bytes).
    Other(Vec<u8>),
}

/// Sends `hello` and classifies the first record of the answer
/// ([`rampart_wire::tls::classify`]), bounded in time.
pub async fn offer(addr: std::net::SocketAddr, hello: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(hello).await.expect("write hello");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 2048];
        loop {
            if let Some(answer) = classify(&buf) {
                return answer;
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) if buf.is_empty() => return wire::Answer::Closed,
                Ok(0) | Err(_) => {
                    return wire::Answer::Other(buf.iter().take(16).copied().collect());
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    match read.expect("server neither answered nor closed") {
        wire::Answer::Alert(d) => Answer::Alert(d),
        wire::Answer::Accepted { .. } => Answer::Handshake,
        wire::Answer::Closed => Answer::Closed,
        wire::Answer::Silent => unreachable!("classify never says silent"),
        wire::Answer::Other(b) => Answer::Other(b),
    }
}
