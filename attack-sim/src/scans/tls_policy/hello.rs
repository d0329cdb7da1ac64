//! ClientHellos built by hand, for the offers no modern TLS library will make (SSL 3.0 to
//! TLS 1.1, CBC, RC4, 3DES and NULL suites, static RSA key exchange), and a reader of the
//! server's first answer: the version and suite of its ServerHello, an alert, or silence.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::Client;

/// Protocol versions on the wire.
pub const SSL3: u16 = 0x0300;
/// TLS 1.0.
pub const TLS10: u16 = 0x0301;
/// TLS 1.1.
pub const TLS11: u16 = 0x0302;
/// TLS 1.2.
pub const TLS12: u16 = 0x0303;

/// A version's name.
pub fn version_name(v: u16) -> String {
    match v {
        SSL3 => "SSL 3.0".into(),
        TLS10 => "TLS 1.0".into(),
        TLS11 => "TLS 1.1".into(),
        TLS12 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v => format!("version 0x{v:04x}"),
    }
}

/// Suites a server should never choose (no AEAD), with their IANA names.
pub const NON_AEAD: &[(u16, &str)] = &[
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256"),
];

/// AEAD suites with a static RSA key exchange: no forward secrecy.
pub const NO_FORWARD_SECRECY: &[(u16, &str)] = &[
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc09c, "TLS_RSA_WITH_AES_128_CCM"),
    (0xc09d, "TLS_RSA_WITH_AES_256_CCM"),
];

/// The suites a TLS 1.2 client usually offers first (ECDHE with AEAD), for offers that must be
/// refused for their version, not their suites.
pub const MODERN: &[(u16, &str)] = &[
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
];

/// The name of `suite`, from the tables above.
pub fn suite_name(suite: u16) -> String {
    NON_AEAD
        .iter()
        .chain(NO_FORWARD_SECRECY)
        .chain(MODERN)
        .find(|(s, _)| *s == suite)
        .map_or_else(|| format!("suite 0x{suite:04x}"), |(_, n)| n.to_string())
}

fn u16be(v: usize) -> [u8; 2] {
    u16::try_from(v).unwrap_or(u16::MAX).to_be_bytes()
}

fn ext(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut e = kind.to_be_bytes().to_vec();
    e.extend_from_slice(&u16be(body.len()));
    e.extend_from_slice(body);
    e
}

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
    /// The ClientHello record: the usual groups, point formats and signature algorithms
    /// (so that an ECDSA or RSA certificate can be used), the renegotiation-info SCSV.
    pub fn record(&self) -> Vec<u8> {
        let mut body = self.version.to_be_bytes().to_vec();
        body.extend((0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11))); // random
        body.push(0); // no session id
        body.extend_from_slice(&u16be(self.suites.len() * 2 + 2));
        for (s, _) in self.suites {
            body.extend_from_slice(&s.to_be_bytes());
        }
        body.extend_from_slice(&0x00ffu16.to_be_bytes()); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
        body.extend_from_slice(&[1, 0]); // null compression only
        let mut exts = Vec::new();
        if let Some(host) = self.sni {
            let host = host.as_bytes();
            let mut sni = u16be(host.len() + 3).to_vec();
            sni.push(0);
            sni.extend_from_slice(&u16be(host.len()));
            sni.extend_from_slice(host);
            exts.extend(ext(0x0000, &sni));
        }
        // x25519, secp256r1, secp384r1
        exts.extend(ext(0x000a, &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]));
        exts.extend(ext(0x000b, &[1, 0])); // uncompressed points
        if self.version >= TLS12 {
            // ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384, rsa_pss_rsae_sha256,
            // rsa_pkcs1_sha256, rsa_pkcs1_sha384, rsa_pkcs1_sha1, ecdsa_sha1
            exts.extend(ext(
                0x000d,
                &[
                    0, 14, 0x04, 0x03, 0x05, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x01, 0x02, 0x01,
                    0x02, 0x03,
                ],
            ));
        }
        body.extend_from_slice(&u16be(exts.len()));
        body.extend(exts);
        let mut hs = vec![1u8]; // client_hello
        let len = u32::try_from(body.len()).unwrap_or(0);
        hs.extend_from_slice(&len.to_be_bytes()[1..]);
        hs.extend(body);
        // The record layer says TLS 1.0 (SSL 3.0 for an SSL 3.0 offer), as clients do.
        let record_version = if self.version == SSL3 { SSL3 } else { TLS10 };
        let mut record = vec![0x16];
        record.extend_from_slice(&record_version.to_be_bytes());
        record.extend_from_slice(&u16be(hs.len()));
        record.extend(hs);
        record
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

/// What the server answered to a hand-built ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello: the server went on with this version and suite.
    Accepted {
        /// The version chosen.
        version: u16,
        /// The suite chosen.
        suite: u16,
    },
    /// An alert with this description.
    Alert(u8),
    /// The connection closed (or was reset) with nothing sent.
    Closed,
    /// Nothing within the wait.
    Silent,
    /// Bytes that are neither (the first few).
    Other(Vec<u8>),
}

impl Answer {
    /// The server refused the offer (an alert, a close, silence or garbage all refuse it).
    pub fn refused(&self) -> bool {
        !matches!(self, Answer::Accepted { .. })
    }

    /// For evidence.
    pub fn describe(&self) -> String {
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

fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        40 => "handshake_failure",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        109 => "missing_extension",
        112 => "unrecognized_name",
        _ => "other",
    }
}

/// Classifies the first bytes a server sent after a ClientHello; `None` while more are needed.
pub fn classify(buf: &[u8]) -> Option<Answer> {
    let first = *buf.first()?;
    match first {
        0x15 => (buf.len() >= 7).then(|| Answer::Alert(buf[6])),
        0x16 => {
            // record(5) type(1) len(3) version(2) random(32) session id length(1) ...
            if buf.len() < 5 + 4 + 2 + 32 + 1 {
                return None;
            }
            if buf[5] != 2 {
                return Some(Answer::Other(buf.iter().take(16).copied().collect()));
            }
            let version = u16::from_be_bytes([buf[9], buf[10]]);
            let sid = usize::from(buf[43]);
            let at = 44 + sid;
            let suite = buf.get(at..at + 2)?;
            Some(Answer::Accepted {
                version,
                suite: u16::from_be_bytes([suite[0], suite[1]]),
            })
        }
        _ => (buf.len() >= 5).then(|| Answer::Other(buf.iter().take(16).copied().collect())),
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
    fn a_hello_is_one_well_formed_record() {
        let offer = Offer {
            version: TLS11,
            suites: MODERN,
            sni: Some("localhost"),
        };
        let r = offer.record();
        assert_eq!(r[0], 0x16);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 1, "client_hello");
        assert_eq!(&r[9..11], &TLS11.to_be_bytes());
        assert!(r.windows(9).any(|w| w == b"localhost"));
        // No signature_algorithms before TLS 1.2 (it did not exist).
        assert!(!r.windows(2).any(|w| w == [0x00, 0x0d]) || offer.version >= TLS12);
        let ssl3 = Offer {
            version: SSL3,
            suites: NON_AEAD,
            sni: None,
        }
        .record();
        assert_eq!(&ssl3[1..3], &SSL3.to_be_bytes());
    }

    #[test]
    fn answers_are_classified_once_complete() {
        let mut hello = vec![
            0x16, 0x03, 0x01, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x01,
        ];
        hello.extend([7u8; 32]);
        hello.push(0); // no session id
        assert_eq!(classify(&hello), None, "the suite is not there yet");
        hello.extend([0xc0, 0x14, 0x00]);
        assert_eq!(
            classify(&hello),
            Some(Answer::Accepted {
                version: TLS10,
                suite: 0xc014
            })
        );
        assert!(
            Answer::Accepted {
                version: TLS10,
                suite: 0xc014
            }
            .describe()
            .contains("TLS 1.0 with TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")
        );
        assert_eq!(
            classify(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]),
            Some(Answer::Alert(70))
        );
        assert_eq!(classify(&[0x15, 0x03]), None);
        assert!(matches!(classify(b"HTTP/1.1 400"), Some(Answer::Other(_))));
        assert!(Answer::Alert(70).refused() && Answer::Silent.refused());
    }
}
