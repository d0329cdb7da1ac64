//! `web-xss`: markup through every documented text input, judged by whether script runs in
//! the pages a signed-in Chromium renders. Stored: each JSON body's string input of each
//! documented write gets its own payload, the pages are visited, and a payload that ran names
//! its input. Reflected: each string query input of each documented `GET` is opened in the
//! browser with a payload in it.
//!
//! The payload is an image whose error handler records its number in `window.asx`, then a
//! marker text: a page that shows the marker but never ran the handler showed the markup as
//! text (or its policy stopped it), which is the pass. An input the target refused passes too;
//! one it kept but no visited page shows is neither, and said so.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::discovery::openapi::{Input, Kind, Location, Operation};
use crate::scans::discovery::{prepare, request};
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `web-xss`.
pub const SCENARIO: Scenario = Scenario {
    name: "web-xss",
    kind: "web",
    description: "markup through every documented text input never runs as script in the rendered pages (stored and reflected), in Chromium",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// Stored XSS's technique.
pub const STORED: &str = "stored-xss";
/// Reflected XSS's technique.
pub const REFLECTED: &str = "reflected-xss";

/// How long a page may take to render what it shows (a script page fetches it first).
const RENDER_WAIT: Duration = Duration::from_secs(3);
/// How long an answer opened directly may take to run what it carries.
const REFLECT_WAIT: Duration = Duration::from_secs(1);

/// Payload number `n`: short enough for a 64-character name.
pub fn payload(n: usize) -> String {
    format!(
        "<img src=x onerror=asx=[{n}].concat(self.asx)>{}",
        marker(n)
    )
}

fn marker(n: usize) -> String {
    format!("zq{n}x")
}

/// Inputs a payload goes into: string fields of JSON bodies, not secrets or keys.
fn text_inputs(op: &Operation) -> Vec<&Input> {
    op.inputs
        .iter()
        .filter(|i| i.location == Location::Body && i.kind == Kind::String)
        .filter(|i| {
            let n = i.name.to_ascii_lowercase();
            !n.contains("password")
                && !n.contains("token")
                && !n.ends_with("_account")
                && n != "amount"
        })
        .collect()
}

/// What a page did with the payloads: which ran, which markers it shows as text.
struct Render {
    ran: Vec<usize>,
    text: String,
}

/// Opens `url` afresh and lets it render (until a payload runs or `wait` passes).
async fn render(
    b: &Browser,
    url: &str,
    wait: Duration,
) -> Result<Render, crate::browser::BrowserError> {
    b.goto("about:blank").await?;
    b.goto(url).await?;
    let ran = b
        .wait_for(
            "return self.asx ? self.asx.filter(n => n !== undefined) : null;",
            wait,
        )
        .await?;
    let ran = ran
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|n| n as usize)
                .collect()
        })
        .unwrap_or_default();
    let text = b
        .script(
            "return document.body ? document.body.innerText : '';",
            json!([]),
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(Render { ran, text })
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    // Stored: every payload first, then the pages.
    let mut planted: BTreeMap<usize, (String, String, Option<String>)> = BTreeMap::new();
    let mut n = 0;
    for op in d.ops.iter().filter(|o| o.json_body && o.method != "GET") {
        if op.path.contains("password") || op.path.contains("session") {
            continue;
        }
        for input in text_inputs(op) {
            n += 1;
            let name = format!("stored: {} body {}", op.endpoint(), input.name);
            let req = request::build(op, &d.fixtures, Some((input, &payload(n))));
            match http.send(&req).await {
                Ok(r) if (200..300).contains(&r.status()) => {
                    planted.insert(n, (name, op.endpoint(), Some(input.name.clone())));
                }
                Ok(r) => s.passed(&name, format!("refused ({})", r.status())),
                Err(e) => s.unmade(&name, format!("no answer: {e}")),
            }
        }
    }
    let reflected: Vec<(&Operation, &Input)> = d
        .ops
        .iter()
        .filter(|o| o.method == "GET")
        .flat_map(|o| {
            o.inputs
                .iter()
                .filter(|i| i.location == Location::Query && i.kind == Kind::String)
                .map(move |i| (o, i))
        })
        .collect();
    if planted.is_empty() && reflected.is_empty() {
        if s.checks.is_empty() {
            s.skipped("inputs", "the document lists no text input");
        }
        return s;
    }
    let browser = match super::signed_in_browser(&ctx, &d, &http).await {
        Ok(b) => b,
        Err(why) => {
            for (name, _, _) in planted.values() {
                s.unmade(name, why.clone());
            }
            for (op, input) in &reflected {
                s.unmade(
                    format!("reflected: {} query {}", op.endpoint(), input.name),
                    why.clone(),
                );
            }
            return s;
        }
    };
    let origin = super::origin(&ctx);
    let mut ran: BTreeMap<usize, String> = BTreeMap::new();
    let mut shown: BTreeMap<usize, String> = BTreeMap::new();
    let mut failed_pages = Vec::new();
    for page in super::pages(&ctx, &d) {
        match render(&browser, &format!("{origin}{page}"), RENDER_WAIT).await {
            Ok(r) => {
                for k in r.ran {
                    ran.entry(k).or_insert_with(|| page.clone());
                }
                for k in planted.keys() {
                    if r.text.contains(&marker(*k)) {
                        shown.entry(*k).or_insert_with(|| page.clone());
                    }
                }
            }
            Err(e) => failed_pages.push(format!("{page}: {e}")),
        }
    }
    for (k, (name, endpoint, parameter)) in &planted {
        if let Some(page) = ran.get(k) {
            s.failed(
                name,
                Finding {
                    severity: Severity::High,
                    confidence: Confidence::Confirmed,
                    endpoint: endpoint.clone(),
                    parameter: parameter.clone(),
                    technique: STORED,
                    summary: format!("markup stored through {name} ran as script on {page}"),
                    evidence: Evidence::new(payload(*k), format!("{page} ran its handler")),
                },
            );
        } else if let Some(page) = shown.get(k) {
            s.passed(name, format!("shown as text on {page}, never run"));
        } else if !failed_pages.is_empty() {
            s.unmade(
                name,
                format!("pages not rendered: {}", failed_pages.join("; ")),
            );
        } else {
            s.skipped(name, "kept, but not shown on the pages visited");
        }
    }
    for (op, input) in reflected {
        n += 1;
        let name = format!("reflected: {} query {}", op.endpoint(), input.name);
        let req = request::build(op, &d.fixtures, Some((input, &payload(n))));
        match render(&browser, &format!("{origin}{}", req.target), REFLECT_WAIT).await {
            Ok(r) if r.ran.contains(&n) => s.failed(
                &name,
                Finding {
                    severity: Severity::High,
                    confidence: Confidence::Confirmed,
                    endpoint: op.endpoint(),
                    parameter: Some(input.name.clone()),
                    technique: REFLECTED,
                    summary: format!(
                        "markup in the query input {} ran as script in the answer's page",
                        input.name
                    ),
                    evidence: Evidence::new(req.target.clone(), "the page ran its handler"),
                },
            ),
            Ok(_) => s.passed(&name, "never run"),
            Err(e) => s.unmade(&name, e.to_string()),
        }
    }
    browser.quit().await;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_fit_a_short_name_and_carry_their_marker() {
        let p = payload(99);
        assert!(p.len() <= 64, "{p}");
        assert!(p.ends_with(&marker(99)));
    }
}
