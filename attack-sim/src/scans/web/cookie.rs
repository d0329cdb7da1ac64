//! `web-cookie`: the session cookie's attributes, as the login sets them: `HttpOnly` (script
//! cannot read it, so an XSS cannot steal the session), `Secure` (never sent over plain HTTP),
//! `SameSite` `Strict` or `Lax` (not sent on other sites' requests, the first bar against
//! CSRF), and no `Domain` (not shared with sibling hosts; a `__Host-` name guarantees it).

use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::discovery::prepare;
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `web-cookie`.
pub const SCENARIO: Scenario = Scenario {
    name: "web-cookie",
    kind: "web",
    description: "the session cookie is HttpOnly, Secure, SameSite Strict or Lax, and host-only",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "weak-session-cookie";

/// What is wrong with a `Set-Cookie` field, each with its severity.
pub fn weaknesses(set_cookie: &str) -> Vec<(Severity, String)> {
    let mut parts = set_cookie.split(';').map(str::trim);
    let name = parts
        .next()
        .and_then(|p| p.split_once('='))
        .map_or("", |(n, _)| n);
    let attrs: Vec<(String, String)> = parts
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut out = Vec::new();
    if get("httponly").is_none() {
        out.push((
            Severity::Medium,
            "no HttpOnly: script on the page can read the session".to_string(),
        ));
    }
    if get("secure").is_none() {
        out.push((
            Severity::Medium,
            "no Secure: the session may travel over plain HTTP".to_string(),
        ));
    }
    match get("samesite").map(str::to_ascii_lowercase).as_deref() {
        Some("strict" | "lax") => {}
        Some("none") => out.push((
            Severity::Medium,
            "SameSite=None: other sites' requests carry the session (CSRF)".to_string(),
        )),
        _ => out.push((
            Severity::Low,
            "no SameSite: browsers that do not default to Lax send it on other sites' requests"
                .to_string(),
        )),
    }
    if let Some(domain) = get("domain") {
        out.push((
            Severity::Low,
            format!("Domain={domain}: every host under it receives the session"),
        ));
    } else if !name.starts_with("__Host-") && get("path") != Some("/") {
        out.push((
            Severity::Low,
            "neither a __Host- name nor Path=/: the cookie is scoped loosely".to_string(),
        ));
    }
    out
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    const CHECK: &str = "the session cookie's attributes";
    let cookie = match super::session_cookie(&ctx, &d, &http).await {
        Ok(c) => c,
        Err(why) => {
            s.unmade(CHECK, why);
            return s;
        }
    };
    let found = weaknesses(&cookie.set_cookie);
    if found.is_empty() {
        s.passed(CHECK, cookie.set_cookie.clone());
        return s;
    }
    let severity = found
        .iter()
        .map(|(sev, _)| *sev)
        .max()
        .unwrap_or(Severity::Low);
    let summary = found
        .iter()
        .map(|(_, w)| w.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    s.failed(
        CHECK,
        Finding {
            severity,
            confidence: Confidence::Confirmed,
            endpoint: "Set-Cookie".into(),
            parameter: Some(cookie.name.clone()),
            technique: TECHNIQUE,
            summary: format!("the session cookie `{}`: {summary}", cookie.name),
            evidence: Evidence::new("the login", format!("Set-Cookie: {}", cookie.set_cookie)),
        },
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_cookie_with_every_attribute_passes() {
        let ok = "__Host-s=x; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Strict";
        assert!(weaknesses(ok).is_empty());
        assert!(weaknesses("sid=x; Path=/; Secure; HttpOnly; SameSite=Lax").is_empty());
    }

    #[test]
    fn each_missing_attribute_is_named() {
        let w = |c: &str| {
            weaknesses(c)
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join(" | ")
        };
        assert!(w("sid=x; Path=/; Secure; SameSite=Strict").contains("HttpOnly"));
        assert!(w("sid=x; Path=/; HttpOnly; SameSite=Strict").contains("Secure"));
        assert!(w("sid=x; Path=/; Secure; HttpOnly; SameSite=None").contains("SameSite=None"));
        assert!(w("sid=x; Path=/; Secure; HttpOnly").contains("no SameSite"));
        assert!(
            w("sid=x; Domain=bank.test; Path=/; Secure; HttpOnly; SameSite=Lax")
                .contains("Domain=bank.test")
        );
    }
}
