//! `web-csp`: the Content-Security-Policy of each page, judged as a policy against injected
//! script (as Google's CSP Evaluator does): script must not be allowed inline (unless by nonce
//! or hash) or through `eval`, no script or plugin source may be a wildcard or a whole scheme,
//! and `object-src` and `base-uri` must be closed. Framing is `web-framing`'s.

use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::request::Request;
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `web-csp`.
pub const SCENARIO: Scenario = Scenario {
    name: "web-csp",
    kind: "web",
    description: "each page's Content-Security-Policy stops injected script: no unsafe-inline, no eval, no wildcards, object-src and base-uri closed",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "weak-csp";

/// A policy, directive by directive (names lower-cased, the first of a repeated name).
#[derive(Debug, Default)]
pub struct Policy(Vec<(String, Vec<String>)>);

impl Policy {
    /// Parses one header value.
    pub fn parse(value: &str) -> Policy {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for d in value.split(';') {
            let mut words = d.split_ascii_whitespace();
            let Some(name) = words.next() else { continue };
            let name = name.to_ascii_lowercase();
            if out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            out.push((name, words.map(str::to_string).collect()));
        }
        Policy(out)
    }

    fn get(&self, name: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The sources that govern `directive`, with `default-src` as its fallback.
    fn effective(&self, directive: &str) -> Option<&[String]> {
        self.get(directive).or_else(|| self.get("default-src"))
    }

    /// What is wrong with the policy, in words; empty when nothing is.
    pub fn weaknesses(&self) -> Vec<String> {
        let mut out = Vec::new();
        let lower = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>();
        match self.effective("script-src").map(lower) {
            None => out.push("no script-src or default-src: any script may load".into()),
            Some(src) => {
                let has = |w: &str| src.iter().any(|s| s == w);
                let keyed = src
                    .iter()
                    .any(|s| s.starts_with("'nonce-") || s.starts_with("'sha"));
                if has("'unsafe-inline'") && !keyed {
                    out.push(
                        "script-src allows 'unsafe-inline': injected inline script runs".into(),
                    );
                }
                if has("'unsafe-eval'") {
                    out.push("script-src allows 'unsafe-eval'".into());
                }
                if let Some(w) = src.iter().find(|s| wildcard(s)) {
                    out.push(format!("script-src allows {w}: script from anywhere"));
                }
            }
        }
        match self.effective("object-src").map(lower) {
            None => out.push("no object-src (nor default-src): plugins may load".into()),
            Some(src) if !src.iter().all(|s| s == "'none'") => {
                out.push(format!(
                    "object-src is {} rather than 'none'",
                    src.join(" ")
                ));
            }
            Some(_) => {}
        }
        if self.get("base-uri").is_none() {
            out.push("no base-uri: an injected <base> redirects every relative script".into());
        }
        out
    }
}

/// A source that admits script from anywhere: `*`, a whole scheme, or a host wildcard.
fn wildcard(s: &str) -> bool {
    s == "*"
        || matches!(s, "http:" | "https:" | "data:" | "blob:" | "filesystem:")
        || s.starts_with("*.")
        || s.contains("://*")
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut paths: Vec<String> = super::pages_without_session(&ctx, &http)
        .await
        .into_iter()
        .map(|p| p.split('#').next().unwrap_or("/").to_string())
        .map(|p| if p.is_empty() { "/".to_string() } else { p })
        .collect();
    paths.dedup();
    for path in paths {
        let name = format!("GET {path}");
        let req = Request::get(&path);
        let r = match http.send(&req).await {
            Ok(r) => r,
            Err(e) => {
                s.unmade(&name, format!("no answer: {e}"));
                continue;
            }
        };
        let policies = r.response.header_values("content-security-policy");
        let weaknesses = match policies.as_slice() {
            [] => vec!["no Content-Security-Policy at all".to_string()],
            // Several policies all apply: a weakness counts only if every one has it.
            [first, rest @ ..] => Policy::parse(first)
                .weaknesses()
                .into_iter()
                .filter(|w| {
                    rest.iter()
                        .all(|p| Policy::parse(p).weaknesses().iter().any(|x| x == w))
                })
                .collect(),
        };
        if weaknesses.is_empty() {
            s.passed(&name, format!("policy: {}", policies.join(" / ")));
        } else {
            let severity = if weaknesses.iter().any(|w| w.contains("script")) {
                Severity::Medium
            } else {
                Severity::Low
            };
            s.failed(
                &name,
                Finding {
                    severity,
                    confidence: Confidence::Confirmed,
                    endpoint: name.clone(),
                    parameter: Some("Content-Security-Policy".into()),
                    technique: TECHNIQUE,
                    summary: weaknesses.join("; "),
                    evidence: Evidence::new(
                        req.describe(http.host()),
                        format!(
                            "{} Content-Security-Policy: {}",
                            r.status(),
                            policies.join(" / ")
                        ),
                    ),
                },
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strict_policy_has_no_weakness() {
        let p = Policy::parse(
            "default-src 'none'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        );
        assert_eq!(p.weaknesses(), Vec::<String>::new());
        let nonce = Policy::parse(
            "script-src 'nonce-abc' 'unsafe-inline'; object-src 'none'; base-uri 'self'",
        );
        assert_eq!(
            nonce.weaknesses(),
            Vec::<String>::new(),
            "unsafe-inline is ignored beside a nonce"
        );
    }

    #[test]
    fn each_weakness_is_named() {
        let cases = [
            (
                "script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'",
                "'unsafe-inline'",
            ),
            (
                "script-src 'self' 'unsafe-eval'; object-src 'none'; base-uri 'none'",
                "'unsafe-eval'",
            ),
            (
                "script-src https:; object-src 'none'; base-uri 'none'",
                "https:",
            ),
            (
                "script-src *.cdn.test; object-src 'none'; base-uri 'none'",
                "*.cdn.test",
            ),
            (
                "default-src 'self'; base-uri 'none'",
                "object-src is 'self'",
            ),
            ("script-src 'self'; base-uri 'none'", "no object-src"),
            ("default-src 'none'", "no base-uri"),
            ("frame-ancestors 'none'", "no script-src"),
        ];
        for (policy, expected) in cases {
            let w = Policy::parse(policy).weaknesses();
            assert!(w.iter().any(|x| x.contains(expected)), "{policy}: {w:?}");
        }
    }
}
