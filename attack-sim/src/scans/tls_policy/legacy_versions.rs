//! `tls-legacy-versions`: ClientHellos offering at most SSL 3.0, TLS 1.0 or TLS 1.1 (every
//! suite those versions can use) must each be refused.

use super::hello::{
    self, Answer, Describe, MODERN, NON_AEAD, Offer, SSL3, TLS10, TLS11, version_name,
};
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `tls-legacy-versions`.
pub const SCENARIO: Scenario = Scenario {
    name: "tls-legacy-versions",
    kind: "tls",
    description: "ClientHellos offering only SSL 3.0, TLS 1.0 or TLS 1.1: each must be refused",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique (SARIF rule id).
pub const TECHNIQUE: &str = "tls-legacy-version";

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    if !super::baseline(&ctx, &mut s).await {
        return s;
    }
    let suites: Vec<_> = MODERN.iter().chain(NON_AEAD).copied().collect();
    for (version, severity) in [
        (SSL3, Severity::High),
        (TLS10, Severity::Medium),
        (TLS11, Severity::Medium),
    ] {
        let offer = Offer {
            version,
            suites: &suites,
            sni: super::sni(&ctx),
        };
        let name = format!("{} refused", version_name(version));
        match hello::offer(&ctx.client, ctx.from, &offer.record()).await {
            Err(e) => s.unmade(name, format!("cannot connect: {e}")),
            Ok(
                answer @ Answer::Accepted {
                    version: chosen, ..
                },
            ) if chosen <= version => {
                let finding = Finding {
                    severity,
                    confidence: Confidence::Confirmed,
                    endpoint: super::endpoint(&ctx),
                    parameter: Some("protocol version".into()),
                    technique: TECHNIQUE,
                    summary: format!(
                        "the server accepts {} (a client offering nothing newer is served: {})",
                        version_name(chosen),
                        answer.describe()
                    ),
                    evidence: Evidence::new(offer.describe(), answer.describe()),
                };
                s.failed(name, finding);
            }
            Ok(answer) => s.passed(name, answer.describe()),
        }
    }
    s
}
