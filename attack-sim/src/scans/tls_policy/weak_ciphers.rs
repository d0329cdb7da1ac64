//! `tls-weak-ciphers`: TLS 1.2 ClientHellos offering only suites without AEAD (CBC, RC4,
//! 3DES, NULL), and only AEAD suites with a static RSA key exchange (no forward secrecy),
//! must each be refused.

use super::hello::{
    self, Answer, Describe, NO_FORWARD_SECRECY, NON_AEAD, Offer, TLS12, suite_name,
};
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `tls-weak-ciphers`.
pub const SCENARIO: Scenario = Scenario {
    name: "tls-weak-ciphers",
    kind: "tls",
    description: "TLS 1.2 offers of only non-AEAD suites, and of only RSA key exchange: each must be refused",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// Technique of a non-AEAD suite accepted.
pub const NON_AEAD_TECHNIQUE: &str = "tls-non-aead-suite";
/// Technique of a static-RSA suite accepted.
pub const NO_PFS_TECHNIQUE: &str = "tls-no-forward-secrecy";

/// How bad a non-AEAD suite is: broken ciphers (RC4, 3DES, NULL) are high, CBC medium.
fn severity_of(name: &str) -> Severity {
    if ["RC4", "3DES", "NULL"].iter().any(|w| name.contains(w)) {
        Severity::High
    } else {
        Severity::Medium
    }
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    if !super::baseline(&ctx, &mut s).await {
        return s;
    }
    let cases = [
        (
            "suites without AEAD refused",
            NON_AEAD,
            NON_AEAD_TECHNIQUE,
            "a suite without AEAD",
        ),
        (
            "static RSA key exchange refused",
            NO_FORWARD_SECRECY,
            NO_PFS_TECHNIQUE,
            "a suite without forward secrecy",
        ),
    ];
    for (name, suites, technique, what) in cases {
        let offer = Offer {
            version: TLS12,
            suites,
            sni: super::sni(&ctx),
        };
        match hello::offer(&ctx.client, ctx.from, &offer.record()).await {
            Err(e) => s.unmade(name, format!("cannot connect: {e}")),
            Ok(answer @ Answer::Accepted { suite, .. }) => {
                let suite = suite_name(suite);
                let severity = if technique == NO_PFS_TECHNIQUE {
                    Severity::Medium
                } else {
                    severity_of(&suite)
                };
                let finding = Finding {
                    severity,
                    confidence: Confidence::Confirmed,
                    endpoint: super::endpoint(&ctx),
                    parameter: Some("cipher suite".into()),
                    technique,
                    summary: format!("the server chose {what}: {suite}"),
                    evidence: Evidence::new(offer.describe(), answer.describe()),
                };
                s.failed(name, finding);
            }
            Ok(answer) => s.passed(name, answer.describe()),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_ciphers_rank_above_cbc() {
        assert_eq!(severity_of("TLS_RSA_WITH_RC4_128_SHA"), Severity::High);
        assert_eq!(severity_of("TLS_RSA_WITH_NULL_SHA"), Severity::High);
        assert_eq!(
            severity_of("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            Severity::Medium
        );
    }
}
