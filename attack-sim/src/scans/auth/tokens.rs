//! `session-tokens`: an authenticated read with the session's token must work, and with no
//! token, an empty one, a forged one, the real one truncated or with a character changed, or
//! another scheme, must be refused, all alike (one answer for every bad token tells an
//! attacker nothing about which it was). With a login flow, a token used after its logout,
//! another session's token after a password change, and a token past its `expires_at`
//! ([`super::expiry`]), must be refused too.

use serde_json::json;

use super::{authenticated_read, flow_user, ok, prepare, with_auth};
use crate::declared::random_hex;
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::login::{Credentials, Flow};
use crate::scans::compare::same_page;
use crate::scans::discovery::Discovered;
use crate::scans::http::{Http, Reply, Request};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `session-tokens`.
pub const SCENARIO: Scenario = Scenario {
    name: "session-tokens",
    kind: "auth",
    description: "missing, forged, truncated and tampered tokens refused alike; tokens dead after logout, password change and expiry",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// A bad token was accepted.
pub const FORGERY: &str = "token-forgery";
/// A token outlived its logout or a password change.
pub const REUSE: &str = "token-reuse";
/// A token outlived its own `expires_at`.
pub const EXPIRY: &str = "token-expiry";
/// Bad tokens are refused in ways that tell them apart.
pub const DISTINGUISHABLE: &str = "token-errors-distinguishable";

/// The logout route of rampart's flow.
pub const LOGOUT_PATH: &str = "/v1/sessions/current";
/// The password change of rampart's flow.
pub const PASSWORD_PATH: &str = "/v1/me/password";

/// `token` with its last character replaced by another of the same alphabet.
fn tampered(token: &str) -> String {
    let mut t: Vec<char> = token.chars().collect();
    if let Some(last) = t.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    t.into_iter().collect()
}

/// A random token of `len` characters (at least 16).
fn forged(len: usize) -> String {
    let n = len.max(16);
    random_hex(n.div_ceil(2))[..n].to_string()
}

/// A case of [`cases`] as words: "a missing token", "an empty token", ...
fn phrase(case: &str) -> String {
    match case {
        "empty" => "an empty token".into(),
        "another scheme" => "credentials of another scheme".into(),
        other => format!("a {other} token"),
    }
}

/// The credentials header's value `real` as what precedes the token (`Bearer `, `sid=`) and
/// the token, `secret` being the token when known.
fn split<'a>(real: &'a str, secret: Option<&str>) -> (&'a str, &'a str) {
    if let Some(t) = secret
        && real.len() > t.len()
        && real.ends_with(t)
    {
        return real.split_at(real.len() - t.len());
    }
    match real.split_once(' ') {
        Some((s, t)) if s.eq_ignore_ascii_case("bearer") => (&real[..s.len() + 1], t),
        _ => ("", real),
    }
}

/// The bad credentials tried, as (case, header value) (none: no header).
#[cfg(test)]
fn cases(real: &str) -> Vec<(&'static str, Option<String>)> {
    cases_of(split(real, None))
}

fn cases_of((scheme, token): (&str, &str)) -> Vec<(&'static str, Option<String>)> {
    let cut = token.len().saturating_sub(4).max(1).min(token.len());
    let mut out = vec![
        ("missing", None),
        ("empty", Some(scheme.to_string())),
        ("forged", Some(format!("{scheme}{}", forged(token.len())))),
        ("truncated", Some(format!("{scheme}{}", &token[..cut]))),
        ("tampered", Some(format!("{scheme}{}", tampered(token)))),
    ];
    if scheme.to_ascii_lowercase().starts_with("bearer") {
        out.push((
            "another scheme",
            Some("Basic YXR0YWNrLXNpbTphdHRhY2stc2lt".into()),
        ));
    }
    out
}

fn finding(
    d: &Discovered,
    endpoint: String,
    severity: Severity,
    technique: &'static str,
    summary: String,
    evidence: Evidence,
) -> Finding {
    let parameter = d
        .fixtures
        .auth_header()
        .map_or_else(|| "Authorization".to_string(), |(n, _)| n);
    Finding {
        severity,
        confidence: Confidence::Confirmed,
        endpoint,
        parameter: Some(format!("header {parameter}")),
        technique,
        summary,
        evidence,
    }
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut s = Scanned::default();
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let Some((_, real)) = d.fixtures.auth_header() else {
        s.unmade(
            "a session",
            "no session to test (--auth none, or no login flow)",
        );
        return s;
    };
    let Some(read) = authenticated_read(&d.ops) else {
        s.unmade(
            "an authenticated read",
            "the document has no authenticated GET",
        );
        return s;
    };
    let endpoint = read.endpoint();
    match http.send(&with_auth(&d, read, Some(&real))).await {
        Ok(r) if ok(r.status()) => s.passed(
            format!("{endpoint} with the session's token"),
            format!("served ({})", r.status()),
        ),
        Ok(r) => {
            s.unmade(
                format!("{endpoint} with the session's token"),
                format!("refused ({})", r.status()),
            );
            return s;
        }
        Err(e) => {
            s.unmade(
                format!("{endpoint} with the session's token"),
                e.to_string(),
            );
            return s;
        }
    }
    let mut refusals: Vec<(&str, Request, Reply)> = Vec::new();
    let token = d.fixtures.session.as_ref().map(|s| s.token().to_string());
    for (case, value) in cases_of(split(&real, token.as_deref())) {
        let name = format!("{endpoint} with {} refused", phrase(case));
        let req = with_auth(&d, read, value.as_deref());
        match http.send(&req).await {
            Ok(r) if ok(r.status()) => {
                let summary = format!("{} was accepted ({})", phrase(case), r.status());
                let ev = Evidence::new(req.describe(http.host()), r.describe());
                s.failed(
                    name,
                    finding(
                        &d,
                        endpoint.clone(),
                        Severity::Critical,
                        FORGERY,
                        summary,
                        ev,
                    ),
                );
            }
            Ok(r) => {
                s.passed(name, format!("refused with {}", r.status()));
                refusals.push((case, req, r));
            }
            Err(e) => s.unmade(name, e.to_string()),
        }
    }
    if let Some((first_case, first_req, first)) = refusals.first() {
        let differing: Vec<_> = refusals
            .iter()
            .filter(|(_, _, r)| !same_page(r, first))
            .collect();
        let name = "every bad token refused alike";
        match differing.first() {
            None => s.passed(name, format!("{} cases, one answer", refusals.len())),
            Some((case, req, r)) => {
                let summary = format!(
                    "{} and {} are refused differently ({} and {}): the answer tells which",
                    phrase(first_case),
                    phrase(case),
                    first.status(),
                    r.status()
                );
                let ev = Evidence::new(
                    format!(
                        "{}\r\n\r\n{}",
                        first_req.describe(http.host()),
                        req.describe(http.host())
                    ),
                    format!("{}\r\n\r\n{}", first.describe(), r.describe()),
                );
                s.failed(
                    name,
                    finding(
                        &d,
                        endpoint.clone(),
                        Severity::Low,
                        DISTINGUISHABLE,
                        summary,
                        ev,
                    ),
                );
            }
        }
    }
    if let Some((flow, user)) = flow_user(&ctx, &d, &mut s, "a token after its logout") {
        after_logout(&http, &d, read, &flow, &user, &mut s).await;
        after_password_change(&http, &d, read, &flow, &mut s).await;
        super::expiry::check(&http, &d, read, &flow, &mut s).await;
    }
    s
}

async fn after_logout(
    http: &Http,
    d: &Discovered,
    read: &crate::scans::discovery::openapi::Operation,
    flow: &Flow,
    user: &Credentials,
    s: &mut Scanned,
) {
    let name = "a token after its logout refused";
    if !d
        .ops
        .iter()
        .any(|o| o.method == "DELETE" && o.path == LOGOUT_PATH)
    {
        s.unmade(name, format!("no DELETE {LOGOUT_PATH} in the document"));
        return;
    }
    let session = match flow.login(http, user).await {
        Ok(t) => t,
        Err(e) => {
            s.unmade(name, e.to_string());
            return;
        }
    };
    let token = session.header().1;
    let logout = session.authorize(Request::new("DELETE", LOGOUT_PATH));
    match http.send(&logout).await {
        Ok(r) if ok(r.status()) => {}
        Ok(r) => return s.unmade(name, format!("the logout was refused ({})", r.status())),
        Err(e) => return s.unmade(name, e.to_string()),
    }
    let why = format!("a token still works after DELETE {LOGOUT_PATH} answered");
    must_be_refused(http, d, read, &token, name, REUSE, &why, s).await;
}

/// The authenticated read with `token` must be refused now; served, it is a `technique`
/// finding ([`REUSE`], [`EXPIRY`]): `why`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn must_be_refused(
    http: &Http,
    d: &Discovered,
    read: &crate::scans::discovery::openapi::Operation,
    token: &str,
    name: &str,
    technique: &'static str,
    why: &str,
    s: &mut Scanned,
) {
    let again = with_auth(d, read, Some(token));
    match http.send(&again).await {
        Ok(r) if ok(r.status()) => s.failed(
            name,
            finding(
                d,
                read.endpoint(),
                Severity::High,
                technique,
                format!("{why} (served {})", r.status()),
                Evidence::new(again.describe(http.host()), r.describe()),
            ),
        ),
        Ok(r) => s.passed(name, format!("refused with {}", r.status())),
        Err(e) => s.unmade(name, e.to_string()),
    }
}

async fn after_password_change(
    http: &Http,
    d: &Discovered,
    read: &crate::scans::discovery::openapi::Operation,
    flow: &Flow,
    s: &mut Scanned,
) {
    let name = "another session's token after a password change refused";
    if !d
        .ops
        .iter()
        .any(|o| o.method == "POST" && o.path == PASSWORD_PATH)
    {
        s.unmade(name, format!("no POST {PASSWORD_PATH} in the document"));
        return;
    }
    // A user of its own: the flow's must keep its password for the other scans.
    let sessions = async {
        let user = Credentials::throwaway("scan");
        flow.register(http, &user).await?;
        let changer = flow.login(http, &user).await?;
        let other = flow.login(http, &user).await?;
        Ok::<_, crate::login::FlowError>((user, changer, other))
    };
    let (user, changer, other) = match sessions.await {
        Ok(v) => v,
        Err(e) => return s.unmade(name, e.to_string()),
    };
    let new_password = random_hex(16);
    let change = changer.authorize(Request::post_json(
        PASSWORD_PATH,
        &json!({"current_password": user.password, "new_password": new_password}),
    ));
    match http.send(&change).await {
        Ok(r) if ok(r.status()) => {}
        Ok(r) => {
            return s.unmade(
                name,
                format!("the password change was refused ({})", r.status()),
            );
        }
        Err(e) => return s.unmade(name, e.to_string()),
    }
    let why = "a session opened before a password change still works after it";
    must_be_refused(http, d, read, &other.header().1, name, REUSE, why, s).await;
    let old = "the old password refused after the change";
    let login = flow.login_request(&user);
    match http.send(&login).await {
        Ok(r) if ok(r.status()) => s.failed(
            old,
            Finding {
                severity: Severity::High,
                confidence: Confidence::Confirmed,
                endpoint: flow.login.describe(),
                parameter: Some("the login's password".into()),
                technique: REUSE,
                summary: "the password a user changed away from still logs in".into(),
                evidence: Evidence::new(
                    format!("{} with the old password", flow.login.describe()),
                    r.describe(),
                ),
            },
        ),
        Ok(r) => s.passed(old, format!("refused with {}", r.status())),
        Err(e) => s.unmade(old, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tokens_keep_the_scheme_and_change_the_token() {
        let real = "Bearer abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let all = cases(real);
        let get = |c: &str| {
            all.iter()
                .find(|(k, _)| *k == c)
                .and_then(|(_, v)| v.clone())
        };
        assert_eq!(all[0], ("missing", None));
        assert_eq!(get("empty").as_deref(), Some("Bearer "));
        let forged = get("forged").expect("forged");
        assert!(forged.starts_with("Bearer ") && forged.len() == real.len() && forged != real);
        assert_eq!(get("truncated").as_deref(), Some(&real[..real.len() - 4]));
        let t = get("tampered").expect("tampered");
        assert_eq!(t.len(), real.len());
        assert_ne!(t, real);
        assert!(get("another scheme").expect("scheme").starts_with("Basic "));
        // A bare header value (--auth header:) has no scheme to keep.
        assert!(cases("s3cret").iter().all(|(c, _)| *c != "another scheme"));
        // A session cookie keeps its name and changes its value.
        let cookie = cases_of(split(
            "sid=0123456789abcdef0123",
            Some("0123456789abcdef0123"),
        ));
        let forged = cookie
            .iter()
            .find(|(c, _)| *c == "forged")
            .and_then(|(_, v)| v.clone());
        assert!(forged.expect("forged").starts_with("sid="));
        assert!(cookie.iter().all(|(c, _)| *c != "another scheme"));
    }
}
