//! `input-abuse`: every input of every operation the target documents, given what a parser
//! must refuse or survive. Each family of probes is a module:
//! - [`crlf`]: CR LF (and look-alikes) in a value, watched for in the answer's header fields;
//! - [`traversal`]: dot-segments and absolute paths in path parameters, watched for a known
//!   file's contents in the answer;
//! - [`shape`]: JSON body fields of another type than declared, and a member given twice;
//! - [`amounts`]: negative, exponent, hexadecimal, huge, sub-cent and non-ASCII-digit amounts;
//! - [`bytes`]: NUL bytes and bytes that are not UTF-8.
//!
//! Every probe is judged twice: by what its family expects (refused, no injected header, no
//! file), and by whether the target survived it: a 5xx where the original request was not
//! one is `unhandled-input` (confirmed when it repeats). Never probed: DELETE operations and
//! password changes, as for `sql-injection`.

pub mod amounts;
pub mod bytes;
pub mod crlf;
pub mod shape;
pub mod traversal;

use std::collections::{BTreeMap, HashSet};

use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::discovery::fixtures::Fixtures;
use crate::scans::discovery::openapi::{Input, Operation};
use crate::scans::discovery::{self, request};
use crate::scans::http::{Http, Reply, Request};
use crate::scans::injection::sqli::scannable;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `input-abuse`.
pub const SCENARIO: Scenario = Scenario {
    name: "input-abuse",
    kind: "injection",
    description: "CRLF in values, path traversal, JSON type confusion and duplicate keys, abusive amounts, NUL bytes and invalid UTF-8 in every documented input",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// A 5xx the original request did not get.
pub const UNHANDLED: &str = "unhandled-input";

/// What a probe's answer must not show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A success (2xx): the target must refuse this value.
    Refused,
    /// The header field `X-Attack-Sim-Injected` with this value in the answer's head.
    NoHeader(String),
    /// Any of these texts in the body, where the original's body had none.
    NoText(Vec<&'static str>),
    /// Nothing but a 5xx (judged for every probe).
    Survived,
}

/// One abusive request and how its answer is judged.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The finding's technique when `expect` is not met.
    pub technique: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// What was sent, for people (`amount "-1.00" (negative)`).
    pub what: String,
    /// The request.
    pub req: Request,
    /// What the answer must not show.
    pub expect: Expect,
}

/// One input under test, with what builds its requests.
pub struct Point<'a> {
    /// The operation.
    pub op: &'a Operation,
    /// The input.
    pub input: &'a Input,
    /// Its usual value.
    pub orig: String,
    /// The values of the other inputs.
    pub fixtures: &'a Fixtures,
}

impl Point<'_> {
    /// The request with `payload` as the input's value (encoded as its place needs).
    pub fn with(&self, payload: &str) -> Request {
        request::build(self.op, self.fixtures, Some((self.input, payload)))
    }

    /// The request with `raw` written as it is (see [`request::build_raw`]).
    pub fn raw(&self, raw: &[u8]) -> Request {
        request::build_raw(self.op, self.fixtures, self.input, raw)
    }

    /// Whether the operation writes (a value it accepts is stored or acted on).
    pub fn writes(&self) -> bool {
        matches!(self.op.method.as_str(), "POST" | "PUT" | "PATCH")
    }

    fn parameter(&self) -> String {
        format!("{} {}", self.input.location.as_str(), self.input.name)
    }
}

/// Whether a status is a success.
fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Whether a status says the server failed.
fn server_error(status: u16) -> bool {
    (500..600).contains(&status)
}

/// The name of the header a CRLF probe tries to add.
pub const INJECTED_HEADER: &str = "x-attack-sim-injected";

/// Whether `head` (status line and fields) carries the injected field with `canary`.
pub fn has_injected_header(head: &str, canary: &str) -> bool {
    head.to_ascii_lowercase().split(['\r', '\n']).any(|l| {
        l.strip_prefix(INJECTED_HEADER)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|v| v.trim() == canary.to_ascii_lowercase())
    })
}

/// How `reply` fails `probe`'s expectation, given the original's `base` (None: it does not).
pub fn unmet(probe: &Probe, reply: &Reply, base: &Reply) -> Option<String> {
    match &probe.expect {
        Expect::Refused if success(reply.status()) => {
            Some(format!("{} was accepted ({})", probe.what, reply.status()))
        }
        Expect::NoHeader(canary) if has_injected_header(&reply.response.head, canary) => {
            Some(format!(
                "{} wrote the header field X-Attack-Sim-Injected into the answer",
                probe.what
            ))
        }
        Expect::NoText(texts) => {
            let body = String::from_utf8_lossy(&reply.response.body);
            let before = String::from_utf8_lossy(&base.response.body);
            texts
                .iter()
                .find(|t| body.contains(**t) && !before.contains(**t))
                .map(|t| format!("{} brought `{t}` into the answer", probe.what))
        }
        _ => None,
    }
}

/// The evidence of a probe: the request, and the answer's head and body.
fn evidence(http: &Http, req: &Request, reply: &Reply) -> Evidence {
    let mut response = reply.response.head.clone();
    response.push_str("\r\n\r\n");
    response.push_str(&String::from_utf8_lossy(&reply.response.body));
    Evidence::new(req.describe(http.host()), response)
}

/// Every probe for `point`, families in order.
fn probes(point: &Point<'_>) -> Vec<Probe> {
    let mut all = crlf::probes(point);
    all.extend(traversal::probes(point));
    all.extend(shape::probes(point));
    all.extend(amounts::probes(point));
    all.extend(bytes::probes(point));
    all
}

/// What the probes of one point came to.
#[derive(Default)]
struct Outcome {
    findings: Vec<Finding>,
    statuses: BTreeMap<u16, usize>,
    unanswered: usize,
    sent: usize,
}

async fn try_point(http: &Http, point: &Point<'_>, base: &Reply) -> Outcome {
    let mut out = Outcome::default();
    let mut found: HashSet<&'static str> = HashSet::new();
    let finding = |severity, confidence, technique, summary: String, evidence| Finding {
        severity,
        confidence,
        endpoint: point.op.endpoint(),
        parameter: Some(point.parameter()),
        technique,
        summary,
        evidence,
    };
    for probe in probes(point) {
        if found.contains(probe.technique) && found.contains(UNHANDLED) {
            continue;
        }
        out.sent += 1;
        let Ok(reply) = http.send(&probe.req).await else {
            out.unanswered += 1;
            continue;
        };
        *out.statuses.entry(reply.status()).or_default() += 1;
        if !found.contains(probe.technique)
            && let Some(summary) = unmet(&probe, &reply, base)
        {
            found.insert(probe.technique);
            out.findings.push(finding(
                probe.severity,
                Confidence::Confirmed,
                probe.technique,
                summary,
                evidence(http, &probe.req, &reply),
            ));
        }
        if !found.contains(UNHANDLED)
            && server_error(reply.status())
            && !server_error(base.status())
        {
            // Once more: a failure that repeats is the input's doing, not a passing fault.
            let again = http.send(&probe.req).await.ok();
            let repeated = again.as_ref().is_some_and(|r| server_error(r.status()));
            found.insert(UNHANDLED);
            out.findings.push(finding(
                Severity::Medium,
                if repeated {
                    Confidence::Confirmed
                } else {
                    Confidence::Tentative
                },
                UNHANDLED,
                format!(
                    "{} made the server fail ({}{}) where the original got {}: input it should refuse reached code that cannot handle it",
                    probe.what,
                    reply.status(),
                    if repeated { ", twice" } else { ", once" },
                    base.status()
                ),
                evidence(http, &probe.req, &reply),
            ));
        }
    }
    out
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let Some(d) = discovery::prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let (ops, fixtures) = (&d.ops, &d.fixtures);
    for op in ops.iter().filter(|op| scannable(op)) {
        let base = match http.send(&request::build(op, fixtures, None)).await {
            Ok(b) => b,
            Err(e) => {
                s.unmade(
                    op.endpoint(),
                    format!("the original request got no answer: {e}"),
                );
                continue;
            }
        };
        if op.secured && matches!(base.status(), 401 | 403) {
            s.unmade(
                op.endpoint(),
                format!(
                    "the original request was refused ({}): no session reaches it (a login flow: --auth, or the plan's [login])",
                    base.status()
                ),
            );
            continue;
        }
        for input in request::inputs(op, fixtures) {
            let point = Point {
                op,
                orig: fixtures.value(&input).unwrap_or_default(),
                input: &input,
                fixtures,
            };
            let name = format!("{} {}", op.endpoint(), point.parameter());
            let out = try_point(&http, &point, &base).await;
            if out.sent == 0 {
                continue;
            }
            let unmade = (out.unanswered > 0).then(|| {
                format!(
                    "{} of {} probes got no usable answer (throttled past Retry-After, timed out or cut)",
                    out.unanswered, out.sent
                )
            });
            s.record(&name, out.findings, unmade, || {
                let seen: Vec<String> = out
                    .statuses
                    .iter()
                    .map(|(status, n)| format!("{status} x{n}"))
                    .collect();
                format!(
                    "{} probes refused or handled (original {}; answers {})",
                    out.sent,
                    base.status(),
                    seen.join(", ")
                )
            });
        }
    }
    if s.checks.is_empty() {
        s.unmade("an input", "the document declares no operation to probe");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Response;
    use std::time::Duration;

    fn reply(status: u16, head: &str, body: &str) -> Reply {
        Reply {
            response: Response {
                status,
                head: format!("HTTP/1.1 {status} X\r\n{head}"),
                body: body.as_bytes().to_vec(),
            },
            elapsed: Duration::ZERO,
        }
    }

    fn probe(expect: Expect) -> Probe {
        Probe {
            technique: "t",
            severity: Severity::Low,
            what: "x".into(),
            req: Request::get("/"),
            expect,
        }
    }

    #[test]
    fn an_injected_header_is_seen_only_with_its_canary() {
        let canary = "c4n4ry";
        assert!(has_injected_header(
            "HTTP/1.1 302 Found\r\nLocation: /home\r\nX-Attack-Sim-Injected: c4n4ry",
            canary
        ));
        assert!(has_injected_header(
            "HTTP/1.1 302 Found\r\nLocation: /home\nx-attack-sim-injected:c4n4ry",
            canary
        ));
        // Echoed inside another field's value, it is no header of its own.
        assert!(!has_injected_header(
            "HTTP/1.1 302 Found\r\nLocation: /home X-Attack-Sim-Injected: c4n4ry",
            canary
        ));
        assert!(!has_injected_header(
            "HTTP/1.1 200 OK\r\nX-Attack-Sim-Injected: other",
            canary
        ));
    }

    #[test]
    fn each_expectation_judges_its_own_sign() {
        let base = reply(200, "", "[]");
        let refused = probe(Expect::Refused);
        assert!(unmet(&refused, &reply(201, "", ""), &base).is_some());
        assert!(unmet(&refused, &reply(400, "", ""), &base).is_none());
        let text = probe(Expect::NoText(vec!["root:x:0:0:"]));
        assert!(unmet(&text, &reply(200, "", "root:x:0:0:root"), &base).is_some());
        let shown = reply(200, "", "root:x:0:0:");
        assert!(
            unmet(&text, &shown, &shown).is_none(),
            "already in the original"
        );
        let survived = probe(Expect::Survived);
        assert!(unmet(&survived, &reply(200, "", ""), &base).is_none());
    }
}
