//! ClientHellos built by hand ([`rampart_wire::tls`]: SSL 3.0 to TLS 1.1, CBC, RC4, 3DES and
//! NULL suites, static RSA key exchange), offered to the target from one of the harness's
//! source addresses, and the server's first answer put into words for a finding's evidence.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::Client;

pub use rampart_wire::tls::{
    Answer, MODERN, NO_FORWARD_SECRECY, NON_AEAD, SSL3, TLS10, TLS11, TLS12, alert_name, classify,
    client_hello, suite_name, version_name,
};

/// An offer: what a hand-built ClientHello proposes.
#[derive(Debug, Clone)]
pub struct Offer<'a> {
    /// The highest version offered (the legacy field; no `supported_versions`, so no TLS 1.3).
    pub version: u16,
    /// The suites, in preference order.
    pub suites: &'a [(u16, &'static str)],
    /// The SNI host name (none for an IP address target).
    pub sni: Option<&'a str>,
}

impl Offer<'_> {
    /// The ClientHello record ([`rampart_wire::tls::client_hello`]).
    pub fn record(&self) -> Vec<u8> {
        let suites: Vec<u16> = self.suites.iter().map(|(s, _)| *s).collect();
        client_hello(self.version, &suites, self.sni)
    }

    /// For evidence: the offer in words.
    pub fn describe(&self) -> String {
        let names: Vec<_> = self.suites.iter().map(|(_, n)| *n).collect();
        format!(
            "ClientHello offering {} at most, {} suites ({}), SNI {}",
            version_name(self.version),
            names.len(),
            names.join(", "),
            self.sni.unwrap_or("(none)")
        )
    }
}

/// An answer in words, for evidence.
pub trait Describe {
    /// What the server did.
    fn describe(&self) -> String;
}

impl Describe for Answer {
    fn describe(&self) -> String {
        match self {
            Answer::Accepted { version, suite } => format!(
                "ServerHello choosing {} with {}",
                version_name(*version),
                suite_name(*suite)
            ),
            Answer::Alert(d) => format!("alert {d} ({})", alert_name(*d)),
            Answer::Closed => "connection closed with nothing sent".into(),
            Answer::Silent => "no answer".into(),
            Answer::Other(b) => format!("non-TLS bytes {}", crate::findings::excerpt(b)),
        }
    }
}

/// How long the server has to answer a ClientHello.
pub const WAIT: Duration = Duration::from_secs(5);

/// Sends `record` from `from` and classifies the answer.
pub async fn offer(
    client: &Client,
    from: std::net::IpAddr,
    record: &[u8],
) -> std::io::Result<Answer> {
    let mut tcp = client.tcp_from(from).await?;
    tcp.write_all(record).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    let read = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(a) = classify(&buf) {
                return a;
            }
            if buf.len() > 64 * 1024 {
                return Answer::Other(buf.iter().take(16).copied().collect());
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) if buf.is_empty() => return Answer::Closed,
                Ok(0) | Err(_) => return Answer::Other(buf.iter().take(16).copied().collect()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    Ok(read.unwrap_or(Answer::Silent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_is_the_wire_hello_of_its_suites() {
        let offer = Offer {
            version: TLS11,
            suites: MODERN,
            sni: Some("localhost"),
        };
        let suites: Vec<u16> = MODERN.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            offer.record(),
            client_hello(TLS11, &suites, Some("localhost"))
        );
        assert!(offer.describe().contains("TLS 1.1 at most, 6 suites"));
    }

    #[test]
    fn answers_are_described_with_names() {
        let accepted = Answer::Accepted {
            version: TLS10,
            suite: 0xc014,
        };
        assert!(
            accepted
                .describe()
                .contains("TLS 1.0 with TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")
        );
        assert_eq!(Answer::Alert(70).describe(), "alert 70 (protocol_version)");
    }
}
