//! `tls-wrong-sni`: a handshake asking (by SNI) for a name the server does not hold must be
//! refused, as nginx's `ssl_reject_handshake` does, rather than served with whatever
//! certificate the server has: a server that answers for any name helps domain fronting and
//! virtual-host confusion, and tells a scanner what it is. The client here accepts any
//! certificate, so that only the server's choice decides.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};
use crate::trust::{self, Trust};

/// `tls-wrong-sni`.
pub const SCENARIO: Scenario = Scenario {
    name: "tls-wrong-sni",
    kind: "tls",
    description: "a handshake for a host name the server does not hold must be refused",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "tls-unknown-sni-served";

/// The name asked for: under `.invalid` (RFC 2606), so it is nobody's.
pub const WRONG_NAME: &str = "unknown-name.attack-sim.invalid";

/// A connector that accepts whatever certificate the server shows (its handshake signature is
/// still checked, so the handshake is a real one).
fn connector() -> Result<TlsConnector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let any = Trust {
        insecure: true,
        ..Trust::default()
    };
    let verifier =
        trust::verifier(&any, &provider).map_err(|e| rustls::Error::General(e.to_string()))?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(cfg)))
}

const WAIT: Duration = Duration::from_secs(10);

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    if !super::baseline(&ctx, &mut s).await {
        return s;
    }
    let name = "a handshake for an unknown name refused";
    let connector = match connector() {
        Ok(c) => c,
        Err(e) => {
            s.unmade(name, format!("client configuration: {e}"));
            return s;
        }
    };
    let tcp = match ctx.client.tcp_from(ctx.from).await {
        Ok(t) => t,
        Err(e) => {
            s.unmade(name, format!("cannot connect: {e}"));
            return s;
        }
    };
    let server_name = ServerName::try_from(WRONG_NAME).expect("a valid DNS name");
    let request = format!("TLS 1.2/1.3 ClientHello with SNI {WRONG_NAME}");
    match tokio::time::timeout(WAIT, connector.connect(server_name, tcp)).await {
        Err(_) => s.passed(name, format!("no handshake within {} s", WAIT.as_secs())),
        Ok(Err(e)) => s.passed(name, format!("handshake refused: {e}")),
        Ok(Ok(tls)) => {
            let conn = tls.get_ref().1;
            let chain = conn.peer_certificates().map_or(0, <[_]>::len);
            let answer = format!(
                "handshake completed ({:?}); the server presented a chain of {chain} certificate(s)",
                conn.protocol_version()
                    .map_or("?".to_string(), |v| format!("{v:?}"))
            );
            s.failed(
                name,
                Finding {
                    severity: Severity::Low,
                    confidence: Confidence::Confirmed,
                    endpoint: super::endpoint(&ctx),
                    parameter: Some("SNI".into()),
                    technique: TECHNIQUE,
                    summary: format!(
                        "the server completes handshakes for names it does not hold ({WRONG_NAME})"
                    ),
                    evidence: Evidence::new(request, answer),
                },
            );
        }
    }
    s
}
