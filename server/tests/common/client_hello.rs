//! Hand-built ClientHello records, for offers no modern TLS library will make (TLS 1.1 only,
//! CBC suites only), and a reader for the server's first answer.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// TLS alert descriptions we expect.
pub const ALERT_HANDSHAKE_FAILURE: u8 = 40;
pub const ALERT_PROTOCOL_VERSION: u8 = 70;

fn u16be(v: usize) -> [u8; 2] {
    (v as u16).to_be_bytes()
}

fn ext(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend_from_slice(&u16be(body.len()));
    e.extend_from_slice(body);
    e
}

/// A ClientHello record with the given legacy version and suites, offering the usual groups
/// and signature algorithms and SNI `localhost`, without `supported_versions`.
pub fn client_hello(version: u16, suites: &[u16]) -> Vec<u8> {
    client_hello_for(version, suites, Some("localhost"))
}

/// [`client_hello`] asking for the host name `sni` (none: no SNI extension).
pub fn client_hello_for(version: u16, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&u16be(suites.len() * 2));
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // null compression only
    let mut exts = Vec::new();
    if let Some(host) = sni {
        let host = host.as_bytes();
        let mut sni = u16be(host.len() + 3).to_vec();
        sni.push(0);
        sni.extend_from_slice(&u16be(host.len()));
        sni.extend_from_slice(host);
        exts.extend(ext(0x0000, &sni));
    }
    exts.extend(ext(0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17])); // x25519, secp256r1
    exts.extend(ext(0x000b, &[1, 0])); // uncompressed points
    exts.extend(ext(0x000d, &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01])); // ecdsa/rsa-pss/rsa
    body.extend_from_slice(&u16be(exts.len()));
    body.extend(exts);

    let mut hs = vec![1u8]; // client_hello
    let len = body.len() as u32;
    hs.extend_from_slice(&len.to_be_bytes()[1..]);
    hs.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16be(hs.len()));
    record.extend(hs);
    record
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

/// Sends `hello` and classifies the first record of the answer (bounded in time).
pub async fn offer(addr: std::net::SocketAddr, hello: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(hello).await.expect("write hello");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 512];
        while buf.len() < 7 {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "server neither answered nor closed");
    match buf.first() {
        None => Answer::Closed,
        Some(0x15) if buf.len() >= 7 => Answer::Alert(buf[6]),
        Some(0x16) => Answer::Handshake,
        _ => Answer::Other(buf.into_iter().take(16).collect()),
    }
}
