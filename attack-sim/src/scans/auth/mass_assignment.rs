//! `mass-assignment`: every authenticated POST with a JSON body is sent once more with fields
//! a client must never set (a balance, an owner, a role, an id, a timestamp, a currency)
//! added to its usual body. Refusing them or ignoring them is right; an answer that shows one
//! of them taken over is a finding.

use serde_json::{Value, json};

use super::{ok, prepare};
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::discovery::openapi::Location;
use crate::scans::discovery::request;
use crate::scans::http::Http;
use crate::scans::injection::sqli::scannable;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `mass-assignment`.
pub const SCENARIO: Scenario = Scenario {
    name: "mass-assignment",
    kind: "auth",
    description: "fields a client must not set (balance, owner, role, id, ...) added to every authenticated JSON POST",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "mass-assignment";

/// The fields added, with values no server would choose itself.
pub fn extras() -> Vec<(&'static str, Value)> {
    vec![
        ("balance", json!("1000000.00")),
        ("owner_id", json!("00000000-0000-4000-8000-00000000a77a")),
        ("user_id", json!("00000000-0000-4000-8000-00000000a77b")),
        ("is_admin", json!(true)),
        ("role", json!("admin")),
        ("currency", json!("XTS")),
        ("id", json!("00000000-0000-4000-8000-00000000a77c")),
        ("created_at", json!("1999-01-01T00:00:00Z")),
    ]
}

/// The added fields `answer` shows with the values sent.
pub fn taken_over(answer: &Value, added: &[(&'static str, Value)]) -> Vec<&'static str> {
    added
        .iter()
        .filter(|(k, v)| answer.get(k) == Some(v))
        .map(|(k, _)| *k)
        .collect()
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut s = Scanned::default();
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    if d.fixtures.auth_header().is_none() {
        s.unmade(
            "a session",
            "no session to test (--auth none, or no login flow)",
        );
        return s;
    }
    let posts = d
        .ops
        .iter()
        .filter(|o| o.secured && o.method == "POST" && o.json_body && scannable(o));
    for op in posts {
        let declared: Vec<&str> = op
            .inputs
            .iter()
            .filter(|i| i.location == Location::Body)
            .map(|i| i.name.as_str())
            .collect();
        let added: Vec<_> = extras()
            .into_iter()
            .filter(|(k, _)| !declared.contains(k))
            .collect();
        let mut req = request::build(op, &d.fixtures, None);
        let mut body: Value = req
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_else(|| json!({}));
        if let Some(obj) = body.as_object_mut() {
            for (k, v) in &added {
                obj.insert((*k).to_string(), v.clone());
            }
        }
        req.body = Some(body.to_string().into_bytes());
        let name = format!("{} with fields it does not declare", op.endpoint());
        match http.send(&req).await {
            Ok(r) if ok(r.status()) => {
                let answer: Value = serde_json::from_slice(&r.response.body).unwrap_or_default();
                let taken = taken_over(&answer, &added);
                if taken.is_empty() {
                    s.passed(
                        name,
                        format!("served ({}), the extra fields ignored", r.status()),
                    );
                } else {
                    s.failed(
                        name,
                        Finding {
                            severity: Severity::High,
                            confidence: Confidence::Confirmed,
                            endpoint: op.endpoint(),
                            parameter: Some(format!("body {}", taken.join(", "))),
                            technique: TECHNIQUE,
                            summary: format!(
                                "the server took {} from the request: a client set what only the server may",
                                taken.join(", ")
                            ),
                            evidence: Evidence::new(req.describe(http.host()), r.describe()),
                        },
                    );
                }
            }
            Ok(r) => s.passed(name, format!("refused with {}", r.status())),
            Err(e) => s.unmade(name, e.to_string()),
        }
    }
    if s.checks.is_empty() {
        s.unmade("an authenticated JSON POST", "the document has none");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_sent_back_count() {
        let added = extras();
        let served = json!({"id": "5f0c...", "name": "x", "balance": "0.00", "currency": "EUR"});
        assert!(taken_over(&served, &added).is_empty());
        let weak = json!({"id": "a1", "name": "x", "balance": "1000000.00", "currency": "XTS"});
        assert_eq!(taken_over(&weak, &added), ["balance", "currency"]);
    }
}
