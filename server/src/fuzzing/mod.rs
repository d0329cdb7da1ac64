//! Properties of the request-facing parsers, driven by the fuzz targets in `fuzz/` (and by
//! the unit tests below on fixed inputs). Each function takes arbitrary bytes and panics only
//! when a property fails.

pub mod app;
pub mod ledger;
#[cfg(test)]
mod ledger_machine;
pub mod request;
pub mod sequence;

use crate::auth::{rules, token};
use crate::http::json;
use crate::ledger::Amount;
use crate::ledger::cursor::Cursor;
use crate::net::proxy_header::{self, Relayed};

/// In fuzz builds, keeps the calling thread and every thread it starts from now on (the
/// blocking pool that hashes passwords) on the CPU it is running on, so that the stateful
/// targets' hand-offs to it stay on one CPU: two context switches there, and across two CPUs
/// a wake-up of the other (in a virtual machine, costly). SQLite's statements need no hand-off
/// in fuzz builds: they run on the calling thread (`vendor/sqlx-sqlite.patch`). A process
/// started beside busy ones starts on an idle CPU, so `-jobs` still spreads out. Best effort;
/// nothing in tests, whose threads run side by side.
fn stay_on_this_cpu() {
    #[cfg(fuzzing)]
    {
        use nix::sched::{CpuSet, sched_getcpu, sched_setaffinity};
        let mut here = CpuSet::new();
        if let Ok(cpu) = sched_getcpu()
            && here.set(cpu).is_ok()
        {
            // Refused (a CPU set narrowed from outside, say): run as before.
            let _ = sched_setaffinity(nix::unistd::Pid::from_raw(0), &here);
        }
    }
}

/// The single-threaded runtime of the stateful targets, on this CPU ([`stay_on_this_cpu`]):
/// timers (the request deadline) always, the I/O driver only for a database a socket away.
/// Without it, waiting for the blocking pool parks on a futex rather than in `epoll_wait`.
pub fn runtime(database_url: &str) -> tokio::runtime::Runtime {
    stay_on_this_cpu();
    let mut rt = tokio::runtime::Builder::new_current_thread();
    rt.enable_time();
    if crate::db::Backend::of_url(database_url) == Some(crate::db::Backend::Postgres) {
        rt.enable_io();
    }
    rt.build().expect("runtime")
}

/// Amounts: parsing never panics; whatever parses is within (0, MAX] and prints in a form that
/// parses back to the same amount.
pub fn check_amount(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = Amount::parse(s) {
        assert!(a.cents() > 0 && a.cents() <= crate::ledger::amount::MAX_CENTS);
        assert_eq!(Amount::parse(&a.to_string()), Ok(a), "{s:?}");
    }
}

/// Cursors: decoding arbitrary text never panics and never accepts it under a key it was not
/// signed with; a cursor built from the bytes round-trips.
pub fn check_cursor(data: &[u8]) {
    const KEY: &[u8] = b"fuzzing key, 32 bytes long......";
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(c) = Cursor::decode(text, KEY)
    {
        assert_eq!(Cursor::decode(&c.encode(KEY), KEY), Ok(c));
    }
    let s = String::from_utf8_lossy(data);
    let mut parts = s.splitn(5, '\u{1}').map(str::to_string);
    let mut next = || parts.next().unwrap_or_default();
    let c = Cursor {
        account_id: next(),
        sort: next(),
        order: next(),
        q: next(),
        key: i64::from(data.len() as u32) - 7,
        id: next(),
    };
    let encoded = c.encode(KEY);
    if encoded.len() <= crate::ledger::cursor::MAX_ENCODED {
        assert_eq!(Cursor::decode(&encoded, KEY), Ok(c));
    }
    assert!(Cursor::decode(&encoded, b"some other key").is_err());
}

/// Bearer tokens: reading the `Authorization` header and hashing a presented token never
/// panic; the token taken from a header is its trimmed, non-empty remainder after a
/// case-insensitive `Bearer`; only a canonical spelling of 32 bytes has a hash (the bytes
/// re-encode to exactly the token), and that hash is the SHA-256 of the bytes in lower-case hex;
/// 32 bytes from the input, encoded, always have a hash.
pub fn check_token(data: &[u8]) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};
    let hex = |raw: &[u8]| -> String {
        Sha256::digest(raw)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let s = String::from_utf8_lossy(data);
    if let Some(t) = token::from_authorization(&s) {
        let (scheme, rest) = s.split_once(' ').expect("a scheme was read");
        assert!(scheme.eq_ignore_ascii_case("bearer"), "{s:?}");
        assert!(!t.is_empty(), "{s:?}");
        assert_eq!(rest.trim(), t);
    }
    if let Some(hash) = token::hash_of(&s) {
        assert_eq!(s.len(), token::TOKEN_CHARS);
        let raw = URL_SAFE_NO_PAD
            .decode(s.as_bytes())
            .expect("a hashed token decodes");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&raw),
            s,
            "a non-canonical spelling has a hash"
        );
        assert_eq!(hash, hex(&raw));
    }
    if let Some(raw) = data.get(..32) {
        let t = URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(token::hash_of(&t), Some(hex(raw)));
        assert_eq!(
            token::from_authorization(&format!("bEaReR  {t} ")),
            Some(t.as_str())
        );
    }
}

/// Username and password rules: never panic; a normalised username is a fixed point and
/// within the rules; an accepted password is within the length limits.
pub fn check_credentials(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let (user, pw) = s.split_once('\u{0}').unwrap_or((&s, ""));
    if let Ok(u) = rules::normalize_username(user) {
        assert_eq!(rules::normalize_username(&u).as_deref(), Ok(u.as_str()));
        assert!((3..=32).contains(&u.len()));
        if let Ok(p) = rules::check_new_password(pw, &u, 8) {
            let n = p.chars().count();
            assert!((8..=rules::PASSWORD_MAX_CHARS).contains(&n));
            assert_ne!(p.to_lowercase(), u);
        }
    }
}

/// JSON request bodies: never panic; every refusal is a 400 whose text is one of ours (never
/// the parser's), short, and free of control characters however hostile the input.
pub fn check_json_body(data: &[u8]) {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Transfer {
        from_account: String,
        to_account: String,
        amount: String,
        #[serde(default)]
        memo: String,
    }
    match json::parse::<Transfer>(data) {
        Ok(_) => {}
        Err(crate::http::problem::ApiError::BadRequest { detail, field }) => {
            assert!(
                detail.starts_with("Field `") || detail.starts_with("The request body"),
                "not one of our messages: {detail}"
            );
            assert!(detail.chars().count() <= 200, "{} chars", detail.len());
            assert!(!detail.chars().any(char::is_control), "{detail:?}");
            if let Some(f) = field {
                assert!(f.chars().count() <= json::ECHO_MAX + 1);
            }
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

/// PROXY v2 headers: decoding never panics; an accepted header is exactly its declared
/// length (so reading it never consumes TLS bytes) and no shorter prefix of it is accepted;
/// a relayed client re-encoded by an independent writer decodes to the same address.
pub fn check_proxy_header(data: &[u8]) {
    let Ok(relayed) = proxy_header::decode(data) else {
        return;
    };
    let fixed: &[u8; proxy_header::FIXED_LEN] = data[..proxy_header::FIXED_LEN]
        .try_into()
        .expect("an accepted header has its fixed part");
    let len = proxy_header::declared_len(fixed).expect("accepted header has a valid length");
    assert_eq!(data.len(), proxy_header::FIXED_LEN + len);
    assert!(len <= proxy_header::MAX_PAYLOAD);
    assert!(proxy_header::decode(&data[..data.len() - 1]).is_err());
    if let Relayed::Client(addr) = relayed {
        use ppp::v2::{Builder, Command, Protocol, Version};
        let dst = std::net::SocketAddr::new(addr.ip(), 443);
        let again =
            Builder::with_addresses(Version::Two | Command::Proxy, Protocol::Stream, (addr, dst))
                .build()
                .expect("re-encode");
        assert_eq!(proxy_header::decode(&again), Ok(Relayed::Client(addr)));
    }
}

/// The server's TLS configuration for [`check_tls_server`], built once: the intermediate
/// profile (TLS 1.2 and 1.3) with a leaf of a fresh dev CA, as the server runs by default.
fn tls_config() -> std::sync::Arc<rustls::ServerConfig> {
    static CONFIG: std::sync::OnceLock<std::sync::Arc<rustls::ServerConfig>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let ca = rampart_certs::DevCa::generate().expect("dev CA");
            let (cert, key) =
                rampart_certs::issue_leaf(&ca, &["localhost".to_string()], 90).expect("dev leaf");
            let key = rampart_certs::certified_key_from_pem(
                cert.as_bytes(),
                key.as_bytes(),
                &crate::tls::provider(),
            )
            .expect("leaf and key");
            let resolver = std::sync::Arc::new(rustls::sign::SingleCertAndKey::from(
                std::sync::Arc::new(key),
            ));
            std::sync::Arc::new(
                crate::tls::server_config(crate::config::TlsProfile::Intermediate, resolver)
                    .expect("server config"),
            )
        })
        .clone()
}

/// TLS: arbitrary bytes from a client, in records cut where the input says, into a rustls
/// server connection built from our own configuration. Never a panic; whatever the server
/// agrees to once it has answered a ClientHello is within the policy: TLS 1.2 or 1.3, one of
/// our AEAD suites, ALPN `h2` or `http/1.1` or none, and no early data.
pub fn check_tls_server(data: &[u8]) {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    // Feed the bytes in pieces of 1 + `cut` bytes, so partial records and records split
    // across reads are exercised as well as whole flights.
    let piece = usize::from(cut) + 1;
    let mut conn = rustls::ServerConnection::new(tls_config()).expect("server connection");
    let mut out = Vec::new();
    for chunk in data.chunks(piece) {
        let mut rd = chunk;
        while !rd.is_empty() {
            match conn.read_tls(&mut rd) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let failed = conn.process_new_packets().is_err();
            while conn.wants_write() {
                if conn.write_tls(&mut out).is_err() {
                    break;
                }
            }
            if failed {
                return;
            }
        }
        if let Some(version) = conn.protocol_version() {
            assert!(
                matches!(
                    version,
                    rustls::ProtocolVersion::TLSv1_2 | rustls::ProtocolVersion::TLSv1_3
                ),
                "{version:?}"
            );
        }
        if let Some(suite) = conn.negotiated_cipher_suite() {
            assert!(crate::tls::is_policy_suite(suite.suite()), "{suite:?}");
        }
        if let Some(alpn) = conn.alpn_protocol() {
            assert!(alpn == b"h2" || alpn == b"http/1.1", "{alpn:?}");
        }
        assert!(conn.early_data().is_none(), "early data accepted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_hold_the_properties() {
        for s in ["12.50", "0.01", "1000000000.00", "1e5", "", "٣"] {
            check_amount(s.as_bytes());
        }
        for s in ["", "abc", "a\u{1}b\u{1}c\u{1}d\u{1}e"] {
            check_cursor(s.as_bytes());
        }
        for s in [
            "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "bearer  x ",
            "Basic abc",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
            "0123456789abcdef0123456789abcdef0123456789",
        ] {
            check_token(s.as_bytes());
        }
        for s in [
            "alice\u{0}correct horse battery",
            "ＡＬＩＣＥ\u{0}alice",
            "x\u{0}y",
        ] {
            check_credentials(s.as_bytes());
        }
        for s in [
            r#"{"from_account":"a","to_account":"b","amount":"1.00"}"#,
            r#"{"from_account":1}"#,
            "[[[[[[[[[[[[[[[[[[[[",
            "",
        ] {
            check_json_body(s.as_bytes());
        }
        // Real ClientHellos (OpenSSL's and Chromium's): the server answers each within the
        // policy, or refuses the TLS 1.1-only one.
        for seed in [
            "openssl-tls13-alpn",
            "openssl-tls12-alpn",
            "openssl-default",
            "openssl-tls12-chacha",
            "openssl-tls11-only",
            "chromium",
        ] {
            let path = format!(
                "{}/../fuzz/corpus/tls_server/seed-{seed}",
                env!("CARGO_MANIFEST_DIR")
            );
            // A seed is the piece-size byte, then the client's bytes.
            let seed_bytes = std::fs::read(&path).expect("seed");
            check_tls_server(&seed_bytes);
            let mut conn = rustls::ServerConnection::new(tls_config()).expect("connection");
            let mut rd = &seed_bytes[1..];
            while !rd.is_empty() && conn.read_tls(&mut rd).is_ok_and(|n| n > 0) {}
            let accepted = conn.process_new_packets().is_ok();
            assert_eq!(accepted, seed != "openssl-tls11-only", "{seed}");
            if accepted {
                assert!(conn.negotiated_cipher_suite().is_some(), "{seed}");
            }
        }
        for seed in ["ipv4", "ipv6", "local", "tlv"] {
            let path = format!(
                "{}/../fuzz/corpus/proxy_header/seed-{seed}",
                env!("CARGO_MANIFEST_DIR")
            );
            let bytes = std::fs::read(&path).expect("seed");
            assert!(proxy_header::decode(&bytes).is_ok(), "{path}");
            check_proxy_header(&bytes);
        }
    }
}
