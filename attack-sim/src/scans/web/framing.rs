//! `web-framing`: a page on another site puts each of the target's pages in a frame, and the
//! browser says whether it showed it there (clickjacking: the customer clicks what the frame
//! shows, under what the other site draws). Judged in Chromium: inside the frame, is the page
//! the target's, or the error page a browser shows for a refused frame?

use std::time::Duration;

use serde_json::json;

use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `web-framing`.
pub const SCENARIO: Scenario = Scenario {
    name: "web-framing",
    kind: "web",
    description: "another site cannot show the pages in a frame (clickjacking), in Chromium",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "clickjacking";

/// How long a frame may take to load.
const LOAD_WAIT: Duration = Duration::from_secs(10);

async fn scan(ctx: ScanCtx) -> Scanned {
    let mut s = Scanned::default();
    let http = Http::new(ctx.client.clone(), ctx.from);
    let pages = super::pages_without_session(&ctx, &http).await;
    let checks: Vec<String> = pages.iter().map(|p| format!("frame {p}")).collect();
    let browser = super::start_browser(&ctx).await;
    let Some((browser, site)) = super::with_other_site(&ctx, browser, &checks, &mut s).await else {
        return s;
    };
    let origin = super::origin(&ctx);
    for (i, page) in pages.iter().enumerate() {
        let name = format!("frame {page}");
        let url = format!("{origin}{page}");
        let html = format!(
            "<!doctype html><title>another site</title>\
             <iframe id=\"t\" width=\"800\" height=\"600\" src=\"{}\"></iframe>\
             <script>document.getElementById('t').onload = () => {{ document.title = 'loaded'; }};</script>",
            html_attr(&url)
        );
        let frame_page = site.page(&format!("/frame-{i}"), html);
        let outcome = async {
            browser.log("browser").await?;
            browser.goto(&frame_page).await?;
            browser
                .wait_for("return document.title === 'loaded';", LOAD_WAIT)
                .await?;
            browser.enter_frame("#t").await?;
            let shown = browser.script("return location.href;", json!([])).await?;
            browser.leave_frames().await?;
            let refusal = browser
                .log("browser")
                .await?
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .find(|m| m.contains("frame-ancestors") || m.contains("X-Frame-Options"));
            Ok::<_, crate::browser::BrowserError>((shown, refusal))
        }
        .await;
        match outcome {
            Ok((href, refusal)) => {
                let href = href.as_str().unwrap_or_default().to_string();
                if href.starts_with(&origin) {
                    s.failed(
                        &name,
                        Finding {
                            severity: Severity::Medium,
                            confidence: Confidence::Confirmed,
                            endpoint: format!("GET {page}"),
                            parameter: None,
                            technique: TECHNIQUE,
                            summary: format!("a page on another site showed {page} in a frame"),
                            evidence: Evidence::new(
                                format!("<iframe src=\"{url}\"> on {frame_page}"),
                                format!("the frame showed {href}"),
                            ),
                        },
                    );
                } else if let Some(why) = refusal {
                    s.passed(&name, format!("the browser refused the frame: {why}"));
                } else {
                    // An error page without a refusal is a page that did not load at all.
                    s.unmade(&name, format!("the frame did not load (it shows {href}) and the browser gave no refusal"));
                }
            }
            Err(e) => s.unmade(&name, e.to_string()),
        }
    }
    browser.quit().await;
    s
}

/// `s` safe inside a double-quoted HTML attribute.
pub fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
