//! What the scanners (`injection`, `auth`, `tls`) report: a finding names where the flaw is
//! (endpoint, parameter), how it was shown (technique), how bad it is (severity), how sure the
//! harness is (confirmed or tentative), and the evidence — excerpts of what was sent and what
//! came back, bounded in size and with control bytes made visible.

use serde::Serialize;

/// How bad a flaw is, as SARIF and most scanners grade it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no direct harm.
    Info,
    /// Hardening gap.
    Low,
    /// Weakens a defence an attacker can use.
    Medium,
    /// Directly exploitable.
    High,
    /// Exploitable for data or money.
    Critical,
}

impl Severity {
    /// As printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// How sure the harness is: a confirmed finding makes its scenario `vulnerable`, a tentative
/// one `suspected` (the contract: an error signature alone is `suspected`; a differential or a delay
/// that reproduces is `vulnerable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Shown by a check that reproduced.
    Confirmed,
    /// A sign, not a proof.
    Tentative,
}

/// What was sent and what came back, as excerpts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Evidence {
    /// The request (or the bytes offered).
    pub request: String,
    /// The response (or what the server did).
    pub response: String,
}

/// The longest excerpt kept of either side.
pub const EXCERPT_MAX: usize = 600;

impl Evidence {
    /// Evidence from raw bytes on both sides, each cut to [`EXCERPT_MAX`] characters.
    pub fn new(request: impl AsRef<[u8]>, response: impl AsRef<[u8]>) -> Evidence {
        Evidence {
            request: excerpt(request.as_ref()),
            response: excerpt(response.as_ref()),
        }
    }
}

/// `bytes` as readable text: printable ASCII and UTF-8 as they are, CR and LF as `\r` `\n`
/// (a header injection must be visible), other control bytes and invalid UTF-8 as `\xNN`; at
/// most [`EXCERPT_MAX`] characters, then `…`.
pub fn excerpt(bytes: &[u8]) -> String {
    let mut out = String::new();
    let text = String::from_utf8_lossy(bytes);
    for (count, c) in text.chars().enumerate() {
        if count >= EXCERPT_MAX {
            out.push('…');
            break;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// One flaw found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// How sure.
    pub confidence: Confidence,
    /// Where: `METHOD /path` for HTTP, `tls://host:port` for the TLS policy.
    pub endpoint: String,
    /// Which input (a parameter, header, field, or the TLS offer); `null` for the endpoint as
    /// a whole.
    pub parameter: Option<String>,
    /// How it was shown: a stable identifier (`sqli-boolean`, `tls-legacy-version`, ...),
    /// the SARIF rule id.
    pub technique: &'static str,
    /// One sentence for people.
    pub summary: String,
    /// What was sent and received.
    pub evidence: Evidence,
}

impl Finding {
    /// Its stable identity across runs: [`fingerprint`] of its technique, endpoint and
    /// parameter.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.technique, &self.endpoint, self.parameter.as_deref())
    }
}

/// A finding's identity across runs, for baselines and SARIF's `partialFingerprints`: FNV-1a
/// (64 bits; stable, not a secret) of the technique, the endpoint and the parameter. What
/// changes from run to run stays out: the summary and evidence, and an endpoint's authority
/// (`tls://localhost:8443` and `tls://localhost:9443` are one endpoint; a spawned target
/// gets a new port every run).
pub fn fingerprint(technique: &str, endpoint: &str, parameter: Option<&str>) -> String {
    let endpoint = match endpoint.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://"),
        None => endpoint.to_string(),
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!("{technique}\u{0}{endpoint}\u{0}{}", parameter.unwrap_or(""));
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_what_changes_between_runs() {
        let a = fingerprint("tls-wrong-sni", "tls://localhost:8443", None);
        assert_eq!(
            a,
            fingerprint("tls-wrong-sni", "tls://localhost:39411", None)
        );
        assert_ne!(
            a,
            fingerprint("tls-legacy-version", "tls://localhost:8443", None)
        );
        let q = fingerprint("sqli-boolean", "GET /v1/x", Some("query q"));
        assert_ne!(
            q,
            fingerprint("sqli-boolean", "GET /v1/x", Some("query sort"))
        );
        assert_ne!(q, fingerprint("sqli-boolean", "GET /v1/y", Some("query q")));
        assert_eq!(q.len(), 16);
    }

    #[test]
    fn excerpts_show_control_bytes_and_stay_short() {
        assert_eq!(excerpt(b"a\r\nb\x00\xff"), "a\\r\\nb\\x00\u{fffd}");
        let long = excerpt(&[b'x'; 5000]);
        assert_eq!(long.chars().count(), EXCERPT_MAX + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn severities_order_by_harm() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(
            serde_json::to_value(Severity::Medium).expect("json"),
            "medium"
        );
    }
}
