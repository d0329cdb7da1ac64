//! Bytes a text field must not take: a NUL (which ends a string in C and is refused by
//! PostgreSQL's text type), and bytes that are not UTF-8 (`C0 AF`, an overlong `/`, and `FF`).
//! In a JSON body of a write, a NUL accepted is `nul-byte` (stored, it truncates or breaks what
//! reads it later) and bytes that are not UTF-8 accepted are `invalid-utf8` (JSON must be
//! UTF-8, RFC 8259 8.1, so the server repaired or ignored what it could not read). Elsewhere,
//! and in reads, only a failure counts.

use serde_json::Value;

use super::{Expect, Point, Probe};
use crate::findings::Severity;
use crate::scans::discovery::openapi::Location;
use crate::scans::http::encode;

/// A NUL accepted.
pub const NUL: &str = "nul-byte";
/// Bytes that are not UTF-8 accepted.
pub const INVALID_UTF8: &str = "invalid-utf8";

/// What follows the usual value: an overlong `/` and a byte UTF-8 never uses.
pub const NOT_UTF8: &[u8] = b"\xc0\xaf\xff";

/// The probes for `p`.
pub fn probes(p: &Point<'_>) -> Vec<Probe> {
    let in_body = matches!(p.input.location, Location::Body | Location::Form);
    let judged = |refuse: bool| {
        if refuse && in_body && p.writes() {
            Expect::Refused
        } else {
            Expect::Survived
        }
    };
    let nul = format!("{}\0x", p.orig);
    let not_utf8 = match p.input.location {
        Location::Body => {
            let mut b = b"\"".to_vec();
            let quoted = Value::String(p.orig.clone()).to_string();
            b.extend_from_slice(quoted.trim_matches('"').as_bytes());
            b.extend_from_slice(NOT_UTF8);
            b.push(b'"');
            Some(b)
        }
        Location::Path | Location::Query | Location::Cookie | Location::Form => {
            let escaped: String = NOT_UTF8.iter().map(|b| format!("%{b:02X}")).collect();
            Some(format!("{}{escaped}", encode(&p.orig)).into_bytes())
        }
        // A header's value is text here; a NUL in it is tried, raw bytes are not.
        Location::Header => None,
    };
    let mut all = vec![Probe {
        technique: NUL,
        severity: Severity::Medium,
        what: format!("a NUL byte in `{}`", p.input.name),
        req: p.with(&nul),
        expect: judged(true),
    }];
    if let Some(raw) = not_utf8 {
        all.push(Probe {
            technique: INVALID_UTF8,
            severity: Severity::Low,
            what: format!("bytes that are not UTF-8 (C0 AF FF) in `{}`", p.input.name),
            req: p.raw(&raw),
            expect: judged(true),
        });
    }
    all
}
