//! TLS records written by hand: ClientHellos for the offers no modern TLS library will make
//! (SSL 3.0 to TLS 1.1, CBC, RC4, 3DES and NULL suites, static RSA key exchange), the IANA
//! names of the suites offered, and the classification of a server's first answer: the
//! version and suite of its ServerHello, an alert, or nothing.

/// Protocol versions on the wire.
pub const SSL3: u16 = 0x0300;
/// TLS 1.0.
pub const TLS10: u16 = 0x0301;
/// TLS 1.1.
pub const TLS11: u16 = 0x0302;
/// TLS 1.2.
pub const TLS12: u16 = 0x0303;
/// TLS 1.3 (only ever in `supported_versions`; the legacy field stays at TLS 1.2).
pub const TLS13: u16 = 0x0304;

/// A version's name.
pub fn version_name(v: u16) -> String {
    match v {
        SSL3 => "SSL 3.0".into(),
        TLS10 => "TLS 1.0".into(),
        TLS11 => "TLS 1.1".into(),
        TLS12 => "TLS 1.2".into(),
        TLS13 => "TLS 1.3".into(),
        v => format!("version 0x{v:04x}"),
    }
}

/// Alert description handshake_failure.
pub const ALERT_HANDSHAKE_FAILURE: u8 = 40;
/// protocol_version.
pub const ALERT_PROTOCOL_VERSION: u8 = 70;

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

/// A ClientHello record offering `version` at most (the legacy field; no
/// `supported_versions`, so never TLS 1.3), `suites` in preference order then the
/// renegotiation-info SCSV, null compression, the usual groups and point formats, signature
/// algorithms from TLS 1.2 on (so that an ECDSA or RSA certificate can be used), and SNI `sni`
/// (none: no SNI extension, as for an IP address).
pub fn client_hello(version: u16, suites: &[u16], sni: Option<&str>) -> Vec<u8> {
    Hello {
        version,
        suites,
        sni,
        signature_algorithms: version >= TLS12,
    }
    .record()
}

/// A ClientHello, field by field; [`client_hello`] fills it as a client of its version would.
#[derive(Debug, Clone, Copy)]
pub struct Hello<'a> {
    /// The highest version offered, in the legacy field.
    pub version: u16,
    /// The suites, in preference order (the renegotiation-info SCSV follows them).
    pub suites: &'a [u16],
    /// The SNI host name; none: no SNI extension.
    pub sni: Option<&'a str>,
    /// Whether to send `signature_algorithms` (a TLS 1.2 extension, which a client that also
    /// speaks TLS 1.2 sends with any offer).
    pub signature_algorithms: bool,
}

impl Hello<'_> {
    /// The record.
    pub fn record(&self) -> Vec<u8> {
        let Hello {
            version,
            suites,
            sni,
            signature_algorithms,
        } = *self;
        let mut body = version.to_be_bytes().to_vec();
        body.extend((0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11))); // random
        body.push(0); // no session id
        body.extend_from_slice(&u16be(suites.len() * 2 + 2));
        for s in suites {
            body.extend_from_slice(&s.to_be_bytes());
        }
        body.extend_from_slice(&0x00ffu16.to_be_bytes()); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
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
        // x25519, secp256r1, secp384r1
        exts.extend(ext(0x000a, &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]));
        exts.extend(ext(0x000b, &[1, 0])); // uncompressed points
        if signature_algorithms {
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
        let record_version = if version == SSL3 { SSL3 } else { TLS10 };
        let mut record = vec![0x16];
        record.extend_from_slice(&record_version.to_be_bytes());
        record.extend_from_slice(&u16be(hs.len()));
        record.extend(hs);
        record
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
}

/// An alert description's name.
pub fn alert_name(d: u8) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_is_one_well_formed_record() {
        let suites: Vec<u16> = MODERN.iter().map(|(s, _)| *s).collect();
        let r = client_hello(TLS11, &suites, Some("localhost"));
        assert_eq!(r[0], 0x16);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 1, "client_hello");
        assert_eq!(&r[9..11], &TLS11.to_be_bytes());
        assert!(r.windows(9).any(|w| w == b"localhost"));
        // No signature_algorithms before TLS 1.2 (it did not exist); from TLS 1.2 on, there.
        let sig_algs = [0x00, 0x0d, 0x00, 0x10];
        assert!(!r.windows(4).any(|w| w == sig_algs));
        let r12 = client_hello(TLS12, &suites, None);
        assert!(r12.windows(4).any(|w| w == sig_algs));
        assert!(!r12.windows(9).any(|w| w == b"localhost"));
        let ssl3 = client_hello(SSL3, &[0x000a], None);
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
        assert_eq!(suite_name(0xc014), "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA");
        assert_eq!(suite_name(0x1301), "suite 0x1301");
        assert_eq!(version_name(TLS10), "TLS 1.0");
        assert_eq!(
            classify(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]),
            Some(Answer::Alert(70))
        );
        assert_eq!(classify(&[0x15, 0x03]), None);
        assert!(matches!(classify(b"HTTP/1.1 400"), Some(Answer::Other(_))));
        assert!(Answer::Alert(70).refused() && Answer::Silent.refused());
    }
}
