//! `security-headers`: every response, errors included, must carry the security headers a
//! bank's HTTPS API needs: HSTS for at least a year, `X-Content-Type-Options: nosniff`,
//! `Cache-Control: no-store`, a `Content-Security-Policy`, framing forbidden (CSP
//! `frame-ancestors` or `X-Frame-Options`), and no version in `Server`. Three responses are
//! read: the root, the health route and a path that does not exist (error pages are where
//! headers go missing).

use crate::client::Response;
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::probe::HEALTH_PATH;
use crate::scans::http::{Http, Request};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `security-headers`.
pub const SCENARIO: Scenario = Scenario {
    name: "security-headers",
    kind: "tls",
    description: "HSTS, nosniff, no-store, CSP, no framing and no Server version on every response, errors included",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "missing-security-header";

/// The least HSTS max-age accepted: one year (what browsers' preload lists ask).
pub const HSTS_MIN_SECS: u64 = 365 * 24 * 3600;

/// The paths read.
pub const PATHS: [&str; 3] = ["/", HEALTH_PATH, "/attack-sim-no-such-path"];

/// One rule: its name, the header it is about, its severity, and whether a response meets it
/// (`Err` says how it fails).
struct Rule {
    name: &'static str,
    header: &'static str,
    severity: Severity,
    check: fn(&Response) -> Result<(), String>,
}

fn hsts(r: &Response) -> Result<(), String> {
    let v = r.header_values("strict-transport-security");
    let Some(value) = v.first() else {
        return Err("no Strict-Transport-Security".into());
    };
    let age = value
        .split(';')
        .filter_map(|d| d.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("max-age"))
        .and_then(|(_, v)| v.trim().trim_matches('"').parse::<u64>().ok());
    match age {
        Some(a) if a >= HSTS_MIN_SECS => Ok(()),
        Some(a) => Err(format!("HSTS max-age={a} is under a year")),
        None => Err(format!("HSTS without a max-age: {value}")),
    }
}

fn nosniff(r: &Response) -> Result<(), String> {
    match r.header_values("x-content-type-options").first() {
        Some(v) if v.eq_ignore_ascii_case("nosniff") => Ok(()),
        Some(v) => Err(format!("X-Content-Type-Options: {v}")),
        None => Err("no X-Content-Type-Options".into()),
    }
}

fn no_store(r: &Response) -> Result<(), String> {
    let v = r.header_values("cache-control").join(", ");
    if v.split(',')
        .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
    {
        Ok(())
    } else if v.is_empty() {
        Err("no Cache-Control".into())
    } else {
        Err(format!("Cache-Control: {v} (no no-store)"))
    }
}

fn csp(r: &Response) -> Result<(), String> {
    if r.header_values("content-security-policy").is_empty() {
        Err("no Content-Security-Policy".into())
    } else {
        Ok(())
    }
}

fn framing(r: &Response) -> Result<(), String> {
    let csp_forbids = r
        .header_values("content-security-policy")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("frame-ancestors"));
    let xfo = r
        .header_values("x-frame-options")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin"));
    if csp_forbids || xfo {
        Ok(())
    } else {
        Err("neither CSP frame-ancestors nor X-Frame-Options".into())
    }
}

fn server_version(r: &Response) -> Result<(), String> {
    match r
        .header_values("server")
        .into_iter()
        .find(|v| v.chars().any(|c| c.is_ascii_digit()))
    {
        Some(v) => Err(format!("Server: {v}")),
        None => Ok(()),
    }
}

const RULES: [Rule; 6] = [
    Rule {
        name: "HSTS of a year or more",
        header: "Strict-Transport-Security",
        severity: Severity::Medium,
        check: hsts,
    },
    Rule {
        name: "X-Content-Type-Options: nosniff",
        header: "X-Content-Type-Options",
        severity: Severity::Low,
        check: nosniff,
    },
    Rule {
        name: "Cache-Control: no-store",
        header: "Cache-Control",
        severity: Severity::Low,
        check: no_store,
    },
    Rule {
        name: "a Content-Security-Policy",
        header: "Content-Security-Policy",
        severity: Severity::Low,
        check: csp,
    },
    Rule {
        name: "framing forbidden",
        header: "X-Frame-Options",
        severity: Severity::Low,
        check: framing,
    },
    Rule {
        name: "no version in Server",
        header: "Server",
        severity: Severity::Low,
        check: server_version,
    },
];

/// Judges the responses to `PATHS` (those that came) by every rule.
fn judge(s: &mut Scanned, http: &Http, responses: &[(&str, Response)]) {
    for rule in &RULES {
        let failing: Vec<_> = responses
            .iter()
            .filter_map(|(path, r)| (rule.check)(r).err().map(|why| (*path, r, why)))
            .collect();
        let Some((path, first, why)) = failing.first() else {
            s.passed(
                rule.name,
                format!("on all {} responses read", responses.len()),
            );
            continue;
        };
        let paths: Vec<_> = failing
            .iter()
            .map(|(p, r, _)| format!("{p} ({})", r.status))
            .collect();
        s.failed(
            rule.name,
            Finding {
                severity: rule.severity,
                confidence: Confidence::Confirmed,
                endpoint: format!("GET {path}"),
                parameter: Some(rule.header.to_string()),
                technique: TECHNIQUE,
                summary: format!("{why}, on {}", paths.join(", ")),
                evidence: Evidence::new(Request::get(*path).describe(http.host()), &first.head),
            },
        );
    }
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let mut responses = Vec::new();
    // Paced like every scanner: a 429 or 503 is waited out, never judged.
    let http = Http::new(ctx.client.clone(), ctx.from);
    for path in PATHS {
        match http.send(&Request::get(path)).await {
            Ok(r) => responses.push((path, r.response)),
            Err(e) => s.unmade(format!("GET {path}"), e.to_string()),
        }
    }
    if responses.is_empty() {
        return s;
    }
    judge(&mut s, &http, &responses);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &str) -> Response {
        Response {
            status: 200,
            head: format!("HTTP/1.1 200 OK\r\n{headers}"),
            body: Vec::new(),
        }
    }

    #[test]
    fn rampart_like_headers_pass_every_rule() {
        let r = response(
            "strict-transport-security: max-age=63072000; includeSubDomains\r\n\
             x-content-type-options: nosniff\r\ncache-control: no-store\r\n\
             content-security-policy: default-src 'none'; frame-ancestors 'none'\r\n",
        );
        for rule in &RULES {
            assert_eq!((rule.check)(&r), Ok(()), "{}", rule.name);
        }
    }

    #[test]
    fn each_gap_is_named() {
        let r = response(
            "Strict-Transport-Security: max-age=3600\r\nCache-Control: private\r\n\
             X-Frame-Options: ALLOWALL\r\nServer: nginx/1.22.1\r\n",
        );
        let fails: Vec<_> = RULES
            .iter()
            .filter_map(|rule| (rule.check)(&r).err())
            .collect();
        assert_eq!(fails.len(), 6, "{fails:?}");
        assert!(fails[0].contains("max-age=3600"));
        assert!(fails[2].contains("private"));
        assert!(fails[5].contains("nginx/1.22.1"));
        assert!(
            hsts(&response(
                "strict-transport-security: includeSubDomains\r\n"
            ))
            .is_err()
        );
        assert_eq!(server_version(&response("server: rampart\r\n")), Ok(()));
    }
}
