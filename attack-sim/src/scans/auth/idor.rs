//! `idor`: every authenticated operation that takes one of the flow user's ids (a path id, an
//! account field of a body) is sent twice: with the owner's session, which must work, then
//! with a second user's, which must be refused. A success the second time is an insecure
//! direct object reference: one user read or moved another's money.

use super::{flow_user, ok, prepare, with_auth};
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::discovery::fixtures::run_setup;
use crate::scans::http::Http;
use crate::scans::injection::sqli::scannable;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `idor`.
pub const SCENARIO: Scenario = Scenario {
    name: "idor",
    kind: "auth",
    description: "every operation taking a user's ids, sent with a second user's session: must be refused",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "idor";

async fn scan(ctx: ScanCtx) -> Scanned {
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut s = Scanned::default();
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let Some((flow, _)) = flow_user(&ctx, &d, &mut s, "a second user") else {
        return s;
    };
    // A second user with data of its own, as the first has.
    let intruder = match flow.establish(&http, "scan").await {
        Ok(session) => {
            run_setup(&http, &d.ops, &ctx.setup, &session).await;
            session.header().1
        }
        Err(e) => {
            s.unmade("a second user", e.to_string());
            return s;
        }
    };
    let owner = d.fixtures.auth_header().map(|(_, v)| v);
    let ids = &d.fixtures.owned;
    for op in d.ops.iter().filter(|o| o.secured && scannable(o)) {
        let owned: Vec<&str> = op
            .inputs
            .iter()
            .filter(|i| d.fixtures.value(i).is_some_and(|v| ids.contains(&v)))
            .map(|i| i.name.as_str())
            .collect();
        if owned.is_empty() {
            continue;
        }
        let name = format!("{} with another user's {}", op.endpoint(), owned.join(", "));
        match http.send(&with_auth(&d, op, owner.as_deref())).await {
            Ok(r) if ok(r.status()) => {}
            Ok(r) => {
                s.unmade(
                    name,
                    format!("the owner's own request was refused ({})", r.status()),
                );
                continue;
            }
            Err(e) => {
                s.unmade(name, e.to_string());
                continue;
            }
        }
        let theirs = with_auth(&d, op, Some(&intruder));
        match http.send(&theirs).await {
            Ok(r) if ok(r.status()) => s.failed(
                name,
                Finding {
                    severity: Severity::Critical,
                    confidence: Confidence::Confirmed,
                    endpoint: op.endpoint(),
                    parameter: Some(owned.join(", ")),
                    technique: TECHNIQUE,
                    summary: format!(
                        "a second user's session was served ({}) on the first user's {}",
                        r.status(),
                        owned.join(", ")
                    ),
                    evidence: Evidence::new(theirs.describe(http.host()), r.describe()),
                },
            ),
            Ok(r) => s.passed(name, format!("refused with {}", r.status())),
            Err(e) => s.unmade(name, e.to_string()),
        }
    }
    if s.checks.is_empty() {
        s.unmade(
            "an operation that takes a user's ids",
            "no authenticated operation in the document takes one of the flow's account ids",
        );
    }
    s
}
