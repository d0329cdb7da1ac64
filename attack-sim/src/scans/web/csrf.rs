//! `web-csrf`: while the browser is signed in to the target, a page on another site forges
//! each documented `POST` operation three ways a page can without the target's consent: an
//! HTML form (`application/x-www-form-urlencoded`), an HTML form that smuggles the JSON body
//! as `text/plain`, and a credentialed no-CORS `fetch` of the JSON body as `text/plain`. Judged
//! in Chromium by what the target answered each forged request (its DevTools network log): a
//! 2xx means the forgery did what the customer never asked for.
//!
//! Other methods need a CORS preflight the target would have to grant, so a page cannot forge
//! them. Operations that change the password go last, so that the session lives to the end.

use std::time::Duration;

use serde_json::Value;

use super::framing::html_attr;
use crate::browser::Browser;
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::discovery::openapi::Operation;
use crate::scans::discovery::{prepare, request};
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `web-csrf`.
pub const SCENARIO: Scenario = Scenario {
    name: "web-csrf",
    kind: "web",
    description: "another site cannot make the signed-in browser perform any documented POST (form, text/plain form, no-CORS fetch), in Chromium",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "csrf";

/// How long one forgery may take to be answered.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// One way of forging a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery {
    Form,
    TextPlainForm,
    Fetch,
}

impl Forgery {
    const ALL: [Forgery; 3] = [Forgery::Form, Forgery::TextPlainForm, Forgery::Fetch];

    fn describe(self) -> &'static str {
        match self {
            Forgery::Form => "an HTML form",
            Forgery::TextPlainForm => "an HTML form sending the JSON body as text/plain",
            Forgery::Fetch => "a credentialed no-CORS fetch of the JSON body as text/plain",
        }
    }

    /// The other site's page that sends it to `url` with `body` (a JSON object's text): a
    /// form navigates to the target's answer, a `fetch` sets the page's title to `done`
    /// once it has one.
    fn page(self, url: &str, body: &str) -> String {
        // Forms are submitted at the top level, as a link a customer follows would: the
        // browser then treats the target as the site in front (its SameSite=None and, on
        // some browsers, its Lax cookies go along), not as a third party in a frame.
        let submit = "<script>document.getElementById('f').submit();</script>";
        match self {
            Forgery::Form => {
                let fields: String = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        format!(
                            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                            html_attr(k),
                            html_attr(&v)
                        )
                    })
                    .collect();
                format!(
                    "<!doctype html><form id=\"f\" method=\"POST\" action=\"{}\">{fields}</form>{submit}",
                    html_attr(url)
                )
            }
            Forgery::TextPlainForm => {
                // A text/plain form sends `name=value`: the `=` is hidden inside a string
                // of the JSON, or in a padding member when it has none.
                let (name, value) = split_for_text_plain(body);
                format!(
                    "<!doctype html><form id=\"f\" method=\"POST\" action=\"{}\" enctype=\"text/plain\">\
                     <input type=\"hidden\" name=\"{}\" value=\"{}\"></form>{submit}",
                    html_attr(url),
                    html_attr(&name),
                    html_attr(&value)
                )
            }
            Forgery::Fetch => format!(
                "<!doctype html><script>fetch({}, {{method: 'POST', mode: 'no-cors', credentials: 'include', \
                 headers: {{'Content-Type': 'text/plain'}}, body: {}}}).finally(() => {{ document.title = 'done'; }});</script>",
                serde_json::to_string(url).unwrap_or_default(),
                serde_json::to_string(body).unwrap_or_default()
            ),
        }
    }
}

/// `body` as a text/plain form field: `name` + `=` + `value` is `body` with one `=` added
/// inside its last string value (or a padding member before its closing brace).
fn split_for_text_plain(body: &str) -> (String, String) {
    if let Some(end) = body.rfind("\"}").or_else(|| body.rfind("\",")) {
        return (body[..end].to_string(), body[end..].to_string());
    }
    let open = body.trim_end().strip_suffix('}').unwrap_or(body);
    let sep = if open.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    (format!("{open}{sep}\"pad\":\""), "\"}".to_string())
}

/// The operations a page on another site can send: documented `POST`s, the password last.
fn forgeable(ops: &[Operation]) -> Vec<&Operation> {
    let mut out: Vec<&Operation> = ops.iter().filter(|o| o.method == "POST").collect();
    out.sort_by_key(|o| o.path.contains("password"));
    out
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let ops = forgeable(&d.ops);
    if ops.is_empty() {
        s.skipped("forgeries", "the document lists no POST operation");
        return s;
    }
    let checks: Vec<String> = ops
        .iter()
        .map(|o| format!("forge {}", o.endpoint()))
        .collect();
    let browser = super::signed_in_browser(&ctx, &d, &http).await;
    let Some((browser, site)) = super::with_other_site(&ctx, browser, &checks, &mut s).await else {
        return s;
    };
    let origin = super::origin(&ctx);
    for (i, op) in ops.iter().enumerate() {
        let name = format!("forge {}", op.endpoint());
        let req = request::build(op, &d.fixtures, None);
        let url = format!("{origin}{}", req.target);
        let body = req
            .body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .filter(|b| b.trim_start().starts_with('{'))
            .unwrap_or_else(|| "{}".into());
        let mut answers = Vec::new();
        let mut hit = None;
        for (j, forgery) in Forgery::ALL.into_iter().enumerate() {
            let page = site.page(&format!("/forge-{i}-{j}"), forgery.page(&url, &body));
            match send(&browser, &page, &url).await {
                Ok(statuses) => {
                    answers.push(format!("{}: {statuses:?}", forgery.describe()));
                    if hit.is_none()
                        && let Some(st) = statuses.iter().find(|s| (200..300).contains(*s))
                    {
                        hit = Some((forgery, *st, page));
                    }
                }
                Err(e) => answers.push(format!("{}: {e}", forgery.describe())),
            }
        }
        if hit.is_none()
            && answers
                .iter()
                .all(|a| a.ends_with(": []") || !a.contains(": ["))
        {
            s.unmade(
                &name,
                format!("no forged request was answered: {}", answers.join("; ")),
            );
            continue;
        }
        match hit {
            Some((forgery, status, page)) => s.failed(
                &name,
                Finding {
                    severity: Severity::High,
                    confidence: Confidence::Confirmed,
                    endpoint: op.endpoint(),
                    parameter: None,
                    technique: TECHNIQUE,
                    summary: format!(
                        "a page on another site sent {} with {} and the target answered {status}",
                        op.endpoint(),
                        forgery.describe()
                    ),
                    evidence: Evidence::new(
                        format!("{page}: {}", forgery.describe()),
                        answers.join("; "),
                    ),
                },
            ),
            None => s.passed(&name, format!("refused: {}", answers.join("; "))),
        }
    }
    browser.quit().await;
    s
}

/// Opens the forging page and waits for the target's answer; the statuses the target gave
/// requests to `url` meanwhile (none: the browser did not send it).
async fn send(
    b: &Browser,
    page: &str,
    url: &str,
) -> Result<Vec<u16>, crate::browser::BrowserError> {
    b.responses().await?;
    b.goto(page).await?;
    let path = url.split('?').next().unwrap_or(url);
    let answered = format!(
        "return document.title === 'done' || location.href.split('?')[0] === {};",
        serde_json::to_string(path).unwrap_or_default()
    );
    b.wait_for(&answered, ANSWER_WAIT).await?;
    Ok(b.responses()
        .await?
        .into_iter()
        .filter(|(u, _)| u.split('?').next() == Some(path))
        .map(|(_, s)| s)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_plain_form_carries_the_json_body_whole() {
        for body in [r#"{"amount":"1.00","memo":"x"}"#, r#"{"n":1}"#, "{}"] {
            let (name, value) = split_for_text_plain(body);
            let sent = format!("{name}={value}");
            let v: Value = serde_json::from_str(&sent).unwrap_or_else(|e| panic!("{sent}: {e}"));
            assert!(v.is_object(), "{sent}");
        }
    }
}
