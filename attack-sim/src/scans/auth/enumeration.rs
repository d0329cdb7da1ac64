//! `user-enumeration`: can a stranger tell an existing username from one that does not exist?
//! By message: a wrong password for an existing user, an unknown user and a malformed
//! username must get the same answer. By timing: 30 failed logins of each kind, interleaved,
//! compared with the Mann-Whitney U test; a gap with p < 0.001 and a median difference of at
//! least 2 ms (and 5 % of the larger median) is a timing oracle when it reproduces, in the
//! same direction, in a second sample of its own (a burst of load on a shared machine can make
//! one sample lopsided; a real oracle shows in both). The existing users are spread over
//! [`USERS`] accounts per sample so that none passes the failures a server lets through free
//! (rampart: five), which would turn the comparison into one against throttling.

use super::{flow_user, prepare};
use crate::declared::random_hex;
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::login::{Credentials, Flow};
use crate::scans::compare::same_page;
use crate::scans::http::{Http, Reply, Request, SendError};
use crate::scans::stats::{mann_whitney_p, median};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `user-enumeration`.
pub const SCENARIO: Scenario = Scenario {
    name: "user-enumeration",
    kind: "auth",
    description: "existing usernames told apart from unknown ones by the login's answer or its timing",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// By message.
pub const BY_MESSAGE: &str = "user-enumeration-message";
/// By timing.
pub const BY_TIMING: &str = "user-enumeration-timing";

/// Failed logins of each kind compared.
pub const SAMPLES: usize = 30;
/// Existing users the wrong-password logins are spread over.
pub const USERS: usize = 6;
/// The p-value under which a gap is real.
pub const P_MAX: f64 = 0.001;
/// The least median gap that counts, in ms.
pub const MIN_GAP_MS: f64 = 2.0;

fn attempt(flow: &Flow, user: &str, password: &str) -> Request {
    flow.login_request(&Credentials {
        username: user.into(),
        password: password.into(),
    })
}

fn finding(flow: &Flow, technique: &'static str, summary: String, evidence: Evidence) -> Finding {
    Finding {
        severity: Severity::Medium,
        confidence: Confidence::Confirmed,
        endpoint: flow.login.describe(),
        parameter: Some("the login's username".into()),
        technique,
        summary,
        evidence,
    }
}

/// Whether the medians `a` and `b` (ms) are far enough apart to matter.
pub fn gap_matters(a: f64, b: f64) -> bool {
    let gap = (a - b).abs();
    gap >= MIN_GAP_MS && gap >= 0.05 * a.max(b)
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut s = Scanned::default();
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let Some((flow, _)) = flow_user(&ctx, &d, &mut s, "existing users") else {
        return s;
    };
    // USERS for the timing, one more for the messages.
    let mut users = Vec::new();
    for _ in 0..=USERS {
        let user = Credentials::throwaway("scan");
        if let Err(e) = flow.register(&http, &user).await {
            s.unmade("existing users", e.to_string());
            return s;
        }
        users.push(user.username);
    }
    by_message(&http, &flow, &users[USERS], &mut s).await;
    by_timing(&http, &flow, &users[..USERS], &mut s).await;
    s
}

async fn by_message(http: &Http, flow: &Flow, existing: &str, s: &mut Scanned) {
    let name = "one answer for a wrong password, an unknown user and a malformed name";
    let wrong = random_hex(12);
    let cases = [
        ("a wrong password", attempt(flow, existing, &wrong)),
        (
            "an unknown user",
            attempt(flow, &Credentials::throwaway("scan").username, &wrong),
        ),
        (
            "a malformed username",
            attempt(flow, "Not A Valid Name!", &wrong),
        ),
    ];
    let mut answers: Vec<(&str, &Request, Reply)> = Vec::new();
    for (case, req) in &cases {
        match http.send(req).await {
            Ok(r) => answers.push((case, req, r)),
            Err(e) => return s.unmade(name, format!("{case}: {e}")),
        }
    }
    let (first_case, first_req, first) = &answers[0];
    match answers[1..].iter().find(|(_, _, r)| !same_page(r, first)) {
        None => s.passed(name, format!("all {}", first.status())),
        Some((case, req, r)) => s.failed(
            name,
            finding(
                flow,
                BY_MESSAGE,
                format!(
                    "{first_case} and {case} get different answers ({} and {}): the login says whether a username exists",
                    first.status(),
                    r.status()
                ),
                Evidence::new(
                    format!("{}\r\n\r\n{}", first_req.describe(http.host()), req.describe(http.host())),
                    format!("{}\r\n\r\n{}", first.describe(), r.describe()),
                ),
            ),
        ),
    }
}

/// One sample: [`SAMPLES`] failed logins of each kind, interleaved, spread over `existing`;
/// (existing, unknown) latencies in ms.
async fn sample(
    http: &Http,
    flow: &Flow,
    existing: &[String],
) -> Result<(Vec<f64>, Vec<f64>), SendError> {
    let wrong = random_hex(12);
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        let k = http
            .send(&attempt(flow, &existing[i % existing.len()], &wrong))
            .await?;
        known.push(k.elapsed.as_secs_f64() * 1000.0);
        let u = http
            .send(&attempt(
                flow,
                &Credentials::throwaway("scan").username,
                &wrong,
            ))
            .await?;
        unknown.push(u.elapsed.as_secs_f64() * 1000.0);
    }
    Ok((known, unknown))
}

/// How a sample came out.
struct Gap {
    detail: String,
    /// The gap matters (p and size), and which kind was slower.
    found: Option<bool>,
}

fn judge((known, unknown): &(Vec<f64>, Vec<f64>)) -> Gap {
    let p = mann_whitney_p(known, unknown);
    let (mk, mu) = (median(known), median(unknown));
    Gap {
        detail: format!(
            "{SAMPLES} of each: median {mk:.1} ms (existing, wrong password) against {mu:.1} ms (unknown), Mann-Whitney p = {p:.2e}"
        ),
        found: (p < P_MAX && gap_matters(mk, mu)).then_some(mk > mu),
    }
}

/// Whether `second` shows a gap that matters with the same kind slower (`slower`: the
/// existing users were).
fn reproduces(slower: bool, second: &Gap) -> bool {
    second.found == Some(slower)
}

async fn by_timing(http: &Http, flow: &Flow, existing: &[String], s: &mut Scanned) {
    let name = "failed logins of existing and unknown users take as long";
    let first = match sample(http, flow, existing).await {
        Ok(v) => judge(&v),
        Err(e) => return s.unmade(name, e.to_string()),
    };
    let Some(slower) = first.found else {
        return s.passed(name, first.detail);
    };
    // Again, on existing users of its own (the first ones have had their free failures).
    let mut again_users = Vec::new();
    for _ in 0..USERS {
        let user = Credentials::throwaway("scan");
        if let Err(e) = flow.register(http, &user).await {
            return s.unmade(name, format!("a second sample's users: {e}"));
        }
        again_users.push(user.username);
    }
    let second = match sample(http, flow, &again_users).await {
        Ok(v) => judge(&v),
        Err(e) => return s.unmade(name, e.to_string()),
    };
    if !reproduces(slower, &second) {
        return s.passed(
            name,
            format!(
                "a gap in a first sample ({}) did not reproduce in a second ({})",
                first.detail, second.detail
            ),
        );
    }
    let detail = format!("{}; again: {}", first.detail, second.detail);
    s.failed(
        name,
        finding(
            flow,
            BY_TIMING,
            format!("failed logins tell existing users apart by time: {detail}"),
            Evidence::new(
                format!("{} with a wrong password, {SAMPLES} times for existing users and {SAMPLES} for unknown ones, interleaved; twice, on different existing users", flow.login.describe()),
                detail,
            ),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_counts_only_when_a_second_sample_shows_it_the_same_way() {
        let v = |ms: f64| vec![ms; SAMPLES];
        let slow_known = judge(&(v(30.0), v(1.0)));
        assert_eq!(slow_known.found, Some(true));
        assert!(reproduces(true, &judge(&(v(28.0), v(0.5)))));
        assert!(!reproduces(true, &judge(&(v(1.0), v(30.0)))), "reversed");
        assert!(!reproduces(true, &judge(&(v(30.0), v(30.0)))), "gone");
    }

    #[test]
    fn small_or_relative_gaps_do_not_matter() {
        assert!(gap_matters(60.0, 0.4), "argon2 skipped for unknown users");
        assert!(!gap_matters(75.0, 76.5), "under 2 ms");
        assert!(!gap_matters(300.0, 290.0), "under 5 %");
        assert!(gap_matters(30.0, 26.0));
    }
}
