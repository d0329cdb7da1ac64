//! The `tls` scans: the target's TLS policy as a client sees it. Offers of legacy versions
//! and of suites without AEAD or forward secrecy must be refused, plaintext HTTP on the TLS
//! port must not be answered, a handshake for a name the server does not hold must be
//! refused, and every response must carry the security headers. Each scan first shows that a
//! modern handshake completes, so that a refusal means the policy, not a dead target.

pub mod hello;
pub mod legacy_versions;
pub mod plaintext;
pub mod security_headers;
pub mod weak_ciphers;
pub mod wrong_sni;

use std::net::IpAddr;

use crate::scans::{ScanCtx, Scanned};

/// What each TLS finding's technique shows, for reports.
pub const TECHNIQUES: &[(&str, &str)] = &[
    (
        legacy_versions::TECHNIQUE,
        "The server negotiates a protocol version older than TLS 1.2 (SSL 3.0, TLS 1.0 or TLS 1.1).",
    ),
    (
        weak_ciphers::NON_AEAD_TECHNIQUE,
        "The server chooses a cipher suite without authenticated encryption (CBC, RC4, 3DES or NULL).",
    ),
    (
        weak_ciphers::NO_PFS_TECHNIQUE,
        "The server chooses a static RSA key exchange: recorded traffic can be decrypted once the key leaks.",
    ),
    (plaintext::TECHNIQUE, "The TLS port answers plaintext HTTP."),
    (
        wrong_sni::TECHNIQUE,
        "The server completes TLS handshakes for host names it does not hold.",
    ),
    (
        security_headers::TECHNIQUE,
        "A response lacks a security header (HSTS, nosniff, no-store, CSP, framing) or discloses the server's version.",
    ),
];

/// The check every TLS scan starts with.
pub const BASELINE_CHECK: &str = "a modern handshake completes";

/// The endpoint of the TLS findings: `tls://host:port`.
pub fn endpoint(ctx: &ScanCtx) -> String {
    format!("tls://{}:{}", ctx.target.host, ctx.target.addr.port())
}

/// The SNI a browser would send: the target's host, unless it is an address.
pub fn sni(ctx: &ScanCtx) -> Option<&str> {
    let host = ctx
        .target
        .host
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.parse::<IpAddr>().is_err().then_some(host)
}

/// Makes a full, verified handshake as a modern client would; records it as the first check.
/// False (the check unmade) when it fails: then no refusal that follows would mean anything.
pub async fn baseline(ctx: &ScanCtx, scanned: &mut Scanned) -> bool {
    match ctx.client.tls_full_from(ctx.from).await {
        Ok(tls) => {
            let conn = tls.get_ref().1;
            let version = conn
                .protocol_version()
                .map_or("?".to_string(), |v| format!("{v:?}"));
            let suite = conn
                .negotiated_cipher_suite()
                .map_or("?".to_string(), |s| format!("{:?}", s.suite()));
            scanned.passed(BASELINE_CHECK, format!("{version} with {suite}"));
            true
        }
        Err(e) => {
            scanned.unmade(
                BASELINE_CHECK,
                format!("a verified TLS 1.2/1.3 handshake failed ({e}); nothing else was tried"),
            );
            false
        }
    }
}
