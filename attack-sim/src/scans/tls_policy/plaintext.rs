//! `tls-plaintext`: plaintext HTTP/1.1, and the plaintext HTTP/2 preface, sent to the TLS
//! port must not be answered as HTTP. A TLS alert, a close or silence is a refusal; an HTTP
//! response is a finding (high when it serves content, low when it is an error page: either
//! way the port speaks cleartext).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `tls-plaintext`.
pub const SCENARIO: Scenario = Scenario {
    name: "tls-plaintext",
    kind: "tls",
    description: "plaintext HTTP/1.1 and HTTP/2 sent to the TLS port: neither may be answered",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "tls-plaintext-http";

/// The HTTP/2 connection preface and an empty SETTINGS frame (prior knowledge, RFC 9113 3.3).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// How long the server has to answer.
const WAIT: Duration = Duration::from_secs(5);

/// What a plaintext request got back.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// An HTTP/1.x response with this status.
    Http1(u16),
    /// An HTTP/2 frame (a SETTINGS frame is how a server accepts the preface).
    Http2,
    /// Anything else: an alert, a close, silence, other bytes. Described.
    Refused(String),
}

fn classify(bytes: &[u8], closed: bool) -> Reply {
    if let Some(rest) = bytes
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| bytes.strip_prefix(b"HTTP/1.0 "))
        && let Some(status) = rest
            .get(..3)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse().ok())
    {
        return Reply::Http1(status);
    }
    // A frame header: 24-bit length, type SETTINGS (4) on stream 0.
    if bytes.len() >= 9 && bytes[3] == 4 && bytes[5..9] == [0, 0, 0, 0] {
        return Reply::Http2;
    }
    Reply::Refused(match (bytes.first(), closed) {
        (Some(0x15), _) => "a TLS alert".into(),
        (None, true) => "the connection was closed".into(),
        (None, false) => format!("no answer in {} s", WAIT.as_secs()),
        (Some(_), _) => format!(
            "bytes {}",
            crate::findings::excerpt(&bytes[..bytes.len().min(16)])
        ),
    })
}

async fn send(ctx: &ScanCtx, request: &[u8]) -> std::io::Result<(Vec<u8>, bool)> {
    let mut tcp = ctx.client.tcp_from(ctx.from).await?;
    tcp.write_all(request).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = tokio::time::timeout(WAIT, async {
        while buf.len() < 4096 {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            let head_done = buf.starts_with(b"HTTP/") && buf.windows(4).any(|w| w == b"\r\n\r\n");
            if head_done || classify(&buf, false) == Reply::Http2 {
                return false;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    Ok((buf, closed))
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    if !super::baseline(&ctx, &mut s).await {
        return s;
    }
    let http1 = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        ctx.client.host()
    );
    let cases: [(&str, &[u8]); 2] = [
        ("plaintext HTTP/1.1 not answered", http1.as_bytes()),
        ("plaintext HTTP/2 preface not answered", H2_PREFACE),
    ];
    for (name, request) in cases {
        let (bytes, closed) = match send(&ctx, request).await {
            Ok(r) => r,
            Err(e) => {
                s.unmade(name, format!("cannot connect: {e}"));
                continue;
            }
        };
        let (severity, summary) = match classify(&bytes, closed) {
            Reply::Refused(how) => {
                s.passed(name, how);
                continue;
            }
            Reply::Http1(status) if (200..300).contains(&status) => (
                Severity::High,
                format!("the TLS port serves plaintext HTTP: {status} without encryption"),
            ),
            Reply::Http1(status) => (
                Severity::Low,
                format!(
                    "the TLS port answers plaintext HTTP (status {status}) instead of refusing it"
                ),
            ),
            Reply::Http2 => (
                Severity::High,
                "the TLS port accepts a plaintext HTTP/2 connection (h2c prior knowledge)".into(),
            ),
        };
        s.failed(
            name,
            Finding {
                severity,
                confidence: Confidence::Confirmed,
                endpoint: super::endpoint(&ctx),
                parameter: None,
                technique: TECHNIQUE,
                summary,
                evidence: Evidence::new(request, &bytes),
            },
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_told_apart() {
        assert_eq!(
            classify(b"HTTP/1.1 200 OK\r\n\r\n", false),
            Reply::Http1(200)
        );
        assert_eq!(
            classify(b"HTTP/1.0 400 Bad Request\r\n", true),
            Reply::Http1(400)
        );
        assert_eq!(
            classify(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3], false),
            Reply::Http2
        );
        assert!(
            matches!(classify(&[0x15, 3, 3, 0, 2, 2, 50], true), Reply::Refused(r) if r.contains("alert"))
        );
        assert!(matches!(classify(b"", true), Reply::Refused(r) if r.contains("closed")));
        assert!(matches!(classify(b"", false), Reply::Refused(r) if r.contains("no answer")));
    }
}
