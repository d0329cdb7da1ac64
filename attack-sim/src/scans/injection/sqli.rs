//! `sql-injection`: every input of every operation the target documents, tried the way
//! sqlmap does. First the original request twice (is the page stable?) and a sample of its
//! latency. Then, per input:
//! - error-based: a breaker appended (`'`, `"`, ...); a DBMS error signature the original did
//!   not carry is `suspected` (an error is a sign, not a proof);
//! - boolean-based, per context (string, numeric, LIKE, ORDER BY): TRUE must give the original
//!   page, FALSE another, FALSE again (new numbers) another, and TRUE again the original:
//!   `vulnerable`;
//! - UNION-based: 1 to 6 columns of a canary built by concatenation in SQL, so that the
//!   request never carries the text the answer must: `vulnerable` when it comes back;
//! - time-based, when nothing above confirmed the input: a delay per DBMS (SQLite's is a
//!   heavy computation); delayed beyond the baseline's mean + 7 sigma (and 250 ms), the
//!   zero-delay control not, then delayed again: `vulnerable`;
//! - stacked queries: the same delays as a statement of their own after the input's
//!   (`';SELECT (...)-- -`), judged the same way: `vulnerable`, and worse than the rest, as
//!   the input can run any statement, writes included.
//!
//! Never scanned: DELETE operations and password changes, which would end the scanner's own
//! session or data.

use std::time::Duration;

use super::payloads::{self, Context, Delay, Template};
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::compare::{SAME_PAGE, same_page, similarity};
use crate::scans::discovery::fixtures::Fixtures;
use crate::scans::discovery::openapi::{Input, Kind, Location, Operation};
use crate::scans::discovery::{self, request};
use crate::scans::http::{Http, Reply, Request, SendError};
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `sql-injection`.
pub const SCENARIO: Scenario = Scenario {
    name: "sql-injection",
    kind: "injection",
    description: "SQL injection into every documented input: error, boolean, UNION and time-based, sqlmap's way",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// Error-based (tentative).
pub const ERROR: &str = "sqli-error";
/// Boolean-based.
pub const BOOLEAN: &str = "sqli-boolean";
/// UNION-based.
pub const UNION: &str = "sqli-union";
/// Time-based.
pub const TIME: &str = "sqli-time";
/// Stacked queries (time-confirmed).
pub const STACKED: &str = "sqli-stacked";

/// Latency samples of the original request per operation.
const SAMPLES: usize = 8;
/// A delay must exceed the baseline mean by at least this much.
const MIN_DELAY: Duration = Duration::from_millis(250);
/// UNION column counts tried.
const MAX_COLUMNS: usize = 6;

/// Whether `op` may be scanned: not a DELETE, not a password change.
pub fn scannable(op: &Operation) -> bool {
    op.method != "DELETE"
        && !op.inputs.iter().any(|i| {
            matches!(i.location, Location::Body | Location::Form)
                && matches!(
                    i.name.to_ascii_lowercase().as_str(),
                    "new_password" | "current_password"
                )
        })
}

/// The contexts tried for an input of `kind`, likeliest first.
fn contexts(kind: Kind) -> &'static [Context] {
    match kind {
        Kind::Integer | Kind::Number => &[Context::Numeric, Context::String],
        _ => &[
            Context::String,
            Context::Like,
            Context::Numeric,
            Context::Order,
        ],
    }
}

/// The operation's original answers and latency.
struct Baseline {
    first: Reply,
    stable: bool,
    /// The least elapsed time that counts as delayed.
    threshold: Duration,
    mean: Duration,
}

/// mean + 7 sigma of `samples`, and at least [`MIN_DELAY`] over the mean.
pub fn delay_threshold(samples: &[Duration]) -> (Duration, Duration) {
    let n = samples.len().max(1) as f64;
    let secs: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    let mean = secs.iter().sum::<f64>() / n;
    let var = secs.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
    let t = (mean + 7.0 * var.sqrt()).max(mean + MIN_DELAY.as_secs_f64());
    (Duration::from_secs_f64(t), Duration::from_secs_f64(mean))
}

async fn baseline(http: &Http, req: &Request) -> Result<Baseline, SendError> {
    let first = http.send(req).await?;
    let second = http.send(req).await?;
    let mut samples = vec![first.elapsed, second.elapsed];
    for _ in 2..SAMPLES {
        samples.push(http.send(req).await?.elapsed);
    }
    let (threshold, mean) = delay_threshold(&samples);
    Ok(Baseline {
        stable: same_page(&first, &second),
        first,
        threshold,
        mean,
    })
}

/// One input under test.
struct Point<'a> {
    op: &'a Operation,
    input: &'a Input,
    orig: String,
}

impl Point<'_> {
    fn request(&self, fixtures: &Fixtures, payload: &str) -> Request {
        request::build(self.op, fixtures, Some((self.input, payload)))
    }

    fn parameter(&self) -> String {
        format!("{} {}", self.input.location.as_str(), self.input.name)
    }

    fn finding(
        &self,
        severity: Severity,
        confidence: Confidence,
        technique: &'static str,
        summary: String,
        evidence: Evidence,
    ) -> Finding {
        Finding {
            severity,
            confidence,
            endpoint: self.op.endpoint(),
            parameter: Some(self.parameter()),
            technique,
            summary,
            evidence,
        }
    }
}

fn random_number() -> u32 {
    let hex = crate::declared::random_hex(2);
    1000 + u32::from_str_radix(&hex, 16).unwrap_or(0) % 9000
}

async fn error_based(http: &Http, f: &Fixtures, p: &Point<'_>, base: &Baseline) -> Option<Finding> {
    let before = String::from_utf8_lossy(&base.first.response.body).into_owned();
    for breaker in payloads::breakers() {
        let req = p.request(f, &format!("{}{breaker}", p.orig));
        let Ok(reply) = http.send(&req).await else {
            continue;
        };
        let body = String::from_utf8_lossy(&reply.response.body);
        if let Some(sig) = payloads::signatures()
            .iter()
            .find(|s| body.contains(s.text) && !before.contains(s.text))
        {
            return Some(p.finding(
                Severity::High,
                Confidence::Tentative,
                ERROR,
                format!(
                    "{} error text (\"{}\") in the answer when `{breaker}` is appended: the input reaches SQL unescaped",
                    sig.dbms, sig.text
                ),
                Evidence::new(req.describe(http.host()), reply.describe()),
            ));
        }
    }
    None
}

fn conditions() -> (String, String) {
    let a = random_number();
    (format!("{a}={a}"), format!("{a}={}", a + 1))
}

/// One page against the original, for evidence.
fn versus(label: &str, r: &Reply, base: &Reply) -> String {
    format!(
        "{label}: {} with {} bytes, similarity {:.2}",
        r.status(),
        r.response.body.len(),
        if r.status() == base.status() {
            similarity(&r.response.body, &base.response.body)
        } else {
            0.0
        }
    )
}

async fn boolean_based(
    http: &Http,
    f: &Fixtures,
    p: &Point<'_>,
    base: &Baseline,
    templates: &[Template],
) -> Option<Finding> {
    for t in templates {
        let make = |cond: &str| {
            let r = random_number().to_string();
            p.request(
                f,
                &payloads::fill(t.text, &p.orig, &[("cond", cond), ("r", &r)]),
            )
        };
        let (true_cond, false_cond) = conditions();
        let t1_req = make(&true_cond);
        let Ok(t1) = http.send(&t1_req).await else {
            continue;
        };
        if !same_page(&t1, &base.first) {
            continue;
        }
        let f1_req = make(&false_cond);
        let Ok(f1) = http.send(&f1_req).await else {
            continue;
        };
        if same_page(&f1, &base.first) {
            continue;
        }
        let (true2, false2) = conditions();
        let Ok(f2) = http.send(&make(&false2)).await else {
            continue;
        };
        if same_page(&f2, &base.first) {
            continue;
        }
        let Ok(t2) = http.send(&make(&true2)).await else {
            continue;
        };
        if !same_page(&t2, &base.first) {
            continue;
        }
        let response = [
            versus("original", &base.first, &base.first),
            versus("TRUE", &t1, &base.first),
            versus("FALSE", &f1, &base.first),
            versus("FALSE again", &f2, &base.first),
            versus("TRUE again", &t2, &base.first),
            format!("(the same page: status equal, similarity >= {SAME_PAGE})"),
        ]
        .join("; ");
        let request = format!(
            "TRUE: {}\r\n\r\nFALSE: {}",
            t1_req.describe(http.host()),
            f1_req.describe(http.host())
        );
        return Some(p.finding(
            Severity::Critical,
            Confidence::Confirmed,
            BOOLEAN,
            format!(
                "the answer follows a condition injected in a {} context (`{}`): TRUE gives the original page, FALSE another, twice each",
                t.context.as_str(),
                t.text
            ),
            Evidence::new(request, response),
        ));
    }
    None
}

async fn union_based(
    http: &Http,
    f: &Fixtures,
    p: &Point<'_>,
    base: &Baseline,
    templates: &[Template],
) -> Option<Finding> {
    let (left, right) = (
        format!("cnry{}", crate::declared::random_hex(3)),
        crate::declared::random_hex(3),
    );
    let canary = format!("{left}{right}");
    let before = String::from_utf8_lossy(&base.first.response.body).contains(&canary);
    // `||` concatenates in SQLite and PostgreSQL, CONCAT() in MySQL.
    let exprs = [
        format!("'{left}'||'{right}'"),
        format!("CONCAT('{left}','{right}')"),
    ];
    for t in templates {
        for expr in &exprs {
            for n in 1..=MAX_COLUMNS {
                let cols = vec![expr.as_str(); n].join(",");
                let req = p.request(f, &payloads::fill(t.text, &p.orig, &[("cols", &cols)]));
                let Ok(reply) = http.send(&req).await else {
                    continue;
                };
                if !before && String::from_utf8_lossy(&reply.response.body).contains(&canary) {
                    return Some(p.finding(
                        Severity::Critical,
                        Confidence::Confirmed,
                        UNION,
                        format!(
                            "a UNION of {n} column(s) in a {} context put the canary {canary}, built in SQL, into the answer",
                            t.context.as_str()
                        ),
                        Evidence::new(req.describe(http.host()), reply.describe()),
                    ));
                }
            }
        }
    }
    None
}

/// Time-based ([`TIME`]) or, with the stacked templates, [`STACKED`].
async fn time_based(
    http: &Http,
    f: &Fixtures,
    p: &Point<'_>,
    base: &Baseline,
    (technique, templates): (&'static str, &[Template]),
    delays: &[Delay],
) -> Option<Finding> {
    for t in templates {
        for d in delays {
            let make = |delay: &str| {
                let r = random_number().to_string();
                p.request(
                    f,
                    &payloads::fill(t.text, &p.orig, &[("delay", delay), ("r", &r)]),
                )
            };
            let delayed_req = make(d.delayed);
            let Ok(first) = http.send(&delayed_req).await else {
                continue;
            };
            if first.elapsed < base.threshold {
                continue;
            }
            let Ok(control) = http.send(&make(d.control)).await else {
                continue;
            };
            if control.elapsed >= base.threshold {
                continue;
            }
            let Ok(again) = http.send(&delayed_req).await else {
                continue;
            };
            if again.elapsed < base.threshold {
                continue;
            }
            let ms = |x: Duration| x.as_millis();
            let how = if technique == STACKED {
                "run as a statement of its own after"
            } else {
                "injected in"
            };
            return Some(p.finding(
                Severity::Critical,
                Confidence::Confirmed,
                technique,
                format!(
                    "a {} delay {how} a {} context held the answer back twice ({} and {} ms) and its zero form did not ({} ms), against a baseline mean of {} ms (threshold {} ms)",
                    d.dbms,
                    t.context.as_str(),
                    ms(first.elapsed),
                    ms(again.elapsed),
                    ms(control.elapsed),
                    ms(base.mean),
                    ms(base.threshold)
                ),
                Evidence::new(delayed_req.describe(http.host()), again.describe()),
            ));
        }
    }
    None
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let Some(d) = discovery::prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let (ops, fixtures) = (&d.ops, &d.fixtures);
    let (boolean, union, time, stacked, delays) = (
        payloads::boolean(),
        payloads::union(),
        payloads::time(),
        payloads::stacked(),
        payloads::delays(),
    );
    let of = |all: &[Template], c: Context| -> Vec<Template> {
        all.iter().filter(|t| t.context == c).copied().collect()
    };
    for op in ops.iter().filter(|op| scannable(op)) {
        let original = request::build(op, fixtures, None);
        let base = match baseline(&http, &original).await {
            Ok(b) => b,
            Err(e) => {
                s.unmade(
                    op.endpoint(),
                    format!("the original request got no answer: {e}"),
                );
                continue;
            }
        };
        if op.secured && matches!(base.first.status(), 401 | 403) {
            // Refused before any input is read: payloads would meet the same refusal, and
            // a page that never changes proves nothing.
            s.unmade(
                op.endpoint(),
                format!(
                    "the original request was refused ({}): no session reaches it (a login flow: --auth, or the plan's [login])",
                    base.first.status()
                ),
            );
            continue;
        }
        for input in request::inputs(op, fixtures) {
            let point = Point {
                op,
                orig: fixtures.value(&input).unwrap_or_default(),
                input: &input,
            };
            let name = format!("{} {}", op.endpoint(), point.parameter());
            let failures_before = http.failures();
            let mut found = Vec::new();
            if let Some(f) = error_based(&http, fixtures, &point, &base).await {
                found.push(f);
            }
            for &c in contexts(input.kind) {
                if base.stable
                    && let Some(f) =
                        boolean_based(&http, fixtures, &point, &base, &of(&boolean, c)).await
                {
                    found.push(f);
                    break;
                }
            }
            for &c in contexts(input.kind) {
                if let Some(f) = union_based(&http, fixtures, &point, &base, &of(&union, c)).await {
                    found.push(f);
                    break;
                }
            }
            if !found.iter().any(|f| f.confidence == Confidence::Confirmed) {
                for &c in contexts(input.kind) {
                    if let Some(f) = time_based(
                        &http,
                        fixtures,
                        &point,
                        &base,
                        (TIME, &of(&time, c)),
                        &delays,
                    )
                    .await
                    {
                        found.push(f);
                        break;
                    }
                }
            }
            for &c in contexts(input.kind) {
                let templates = of(&stacked, c);
                if let Some(f) = time_based(
                    &http,
                    fixtures,
                    &point,
                    &base,
                    (STACKED, &templates),
                    &delays,
                )
                .await
                {
                    found.push(f);
                    break;
                }
            }
            let failed = http.failures() - failures_before;
            // Throttled past the retries, or no answer: not made.
            let unmade = (failed > 0).then(|| format!("{failed} payload request(s) got no usable answer (throttled past Retry-After, timed out or cut)"));
            s.record(&name, found, unmade, || {
                let stability = if base.stable {
                    ""
                } else {
                    " (page unstable: no boolean check)"
                };
                format!("no error, differential, canary, delay or stacked statement{stability}")
            });
        }
    }
    let (sent, throttled) = http.counts();
    if throttled > 0 && s.findings.is_empty() {
        s.passed(
            "pacing",
            format!("{sent} requests, {throttled} throttled and retried after Retry-After"),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_threshold_is_seven_sigma_over_the_mean_and_at_least_250_ms() {
        let ms = Duration::from_millis;
        let (t, mean) = delay_threshold(&[ms(10), ms(10), ms(10), ms(10)]);
        assert_eq!(mean, ms(10));
        assert_eq!(t, ms(260), "the floor");
        let (t, _) = delay_threshold(&[ms(100), ms(300), ms(100), ms(300)]);
        // mean 200, sigma 100: 900 ms.
        assert!((t.as_secs_f64() - 0.9).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn deletes_and_password_changes_are_never_scanned() {
        let op = |method: &str, field: &str| Operation {
            method: method.into(),
            path: "/x".into(),
            inputs: vec![Input {
                name: field.into(),
                location: Location::Body,
                kind: Kind::String,
                required: true,
                example: None,
            }],
            json_body: true,
            form_body: false,
            secured: true,
        };
        assert!(scannable(&op("POST", "memo")));
        assert!(!scannable(&op("DELETE", "memo")));
        assert!(!scannable(&op("POST", "new_password")));
    }
}
