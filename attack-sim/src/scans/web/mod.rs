//! The `web` scans: what a browser-facing bank must withstand in a browser. [`csp`] reads
//! the pages' Content-Security-Policy; [`cookie`] the session cookie's attributes; the rest run
//! in a real headless Chromium ([`crate::browser`]): [`framing`] (another site frames the
//! pages), [`csrf`] (another site forges every state-changing operation while the browser is
//! signed in) and [`xss`] (markup through every documented text input, judged by whether
//! script runs in the rendered pages).
//!
//! The pages are `/` unless a plan or `--page` names others (`{name}` filled with the scans'
//! values, as `/#account={id}`); against rampart's flow, `/` and `/#account={id}`. The
//! browser trusts exactly the certificate the harness verified, and signs in with the
//! flow's session when it is a cookie (rampart's: its browser login, `POST
//! /v1/sessions/cookie`).

pub mod cookie;
pub mod csp;
pub mod csrf;
pub mod framing;
pub mod xss;

use crate::browser::other_site::OtherSite;
use crate::browser::{self, Browser, BrowserError};
use crate::login::{Present, set_cookie};
use crate::request::Request;
use crate::scans::ScanCtx;
use crate::scans::discovery::fixtures::Auth;
use crate::scans::discovery::{Discovered, discover};
use crate::scans::http::Http;

/// What each web finding's technique shows, for reports.
pub const TECHNIQUES: &[(&str, &str)] = &[
    (
        csp::TECHNIQUE,
        "A page's Content-Security-Policy does not stop injected script: it is missing, allows inline script or eval, trusts wildcards, or leaves object-src or base-uri open.",
    ),
    (
        cookie::TECHNIQUE,
        "The session cookie lacks HttpOnly, Secure or SameSite, or is shared with other hosts.",
    ),
    (
        framing::TECHNIQUE,
        "Another site can show the pages in a frame (clickjacking).",
    ),
    (
        csrf::TECHNIQUE,
        "A page on another site made the signed-in browser perform a state-changing operation.",
    ),
    (
        xss::STORED,
        "Markup stored through an input ran as script when a page showed it (stored XSS).",
    ),
    (
        xss::REFLECTED,
        "Markup sent in a request ran as script in the page the answer made (reflected XSS).",
    ),
];

/// Rampart's browser login and its cookie.
const RAMPART_COOKIE_LOGIN: &str = "/v1/sessions/cookie";
const RAMPART_COOKIE: &str = "__Host-rampart-session";

/// The target's origin, as the browser reaches it (`https://host:port`).
pub fn origin(ctx: &ScanCtx) -> String {
    format!("https://{}:{}", ctx.target.host, ctx.target.addr.port())
}

/// The pages declared (`--page`, a plan's `pages`), else the default for the flow.
fn declared_pages(ctx: &ScanCtx) -> Vec<String> {
    if !ctx.pages.is_empty() {
        ctx.pages.clone()
    } else if matches!(&ctx.auth, Auth::Flow(f) if f.name == "rampart") {
        vec!["/".into(), "/#account={id}".into()]
    } else {
        vec!["/".into()]
    }
}

/// The pages the scans visit, placeholders filled with the scans' values; a page whose
/// placeholder has no value is left out.
pub fn pages(ctx: &ScanCtx, d: &Discovered) -> Vec<String> {
    declared_pages(ctx)
        .iter()
        .filter_map(|p| d.fixtures.fill(p))
        .collect()
}

/// The pages, for the checks that need no session: with the target's document and data when
/// it has an OpenAPI document, else the declared pages that need no value (a site with no API
/// still has pages).
pub async fn pages_without_session(ctx: &ScanCtx, http: &Http) -> Vec<String> {
    match discover(ctx, http).await {
        Ok(d) => pages(ctx, &d),
        Err(_) => declared_pages(ctx)
            .into_iter()
            .filter(|p| crate::declared::placeholders(p).is_empty())
            .collect(),
    }
}

/// A browser that trusts the target's certificate, as the harness verified it.
pub async fn start_browser(ctx: &ScanCtx) -> Result<Browser, String> {
    let (chromium, driver) = browser::tools().map_err(|e| e.to_string())?;
    let tls = ctx
        .client
        .tls_full_from(ctx.from)
        .await
        .map_err(|e| format!("a verified handshake with the target failed: {e}"))?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| "the target sent no certificate".to_string())?;
    let pin = browser::spki_pin(leaf).map_err(|e| e.to_string())?;
    Browser::start(&chromium, &driver, &pin)
        .await
        .map_err(|e: BrowserError| e.to_string())
}

/// A session cookie of the flow's user, from a login of its own.
pub struct SessionCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value (a secret).
    pub value: String,
    /// The `Set-Cookie` field that set it, attributes and all (value masked).
    pub set_cookie: String,
}

/// Logs the flow's user in for a cookie: with the flow itself when it presents a cookie, or
/// with rampart's browser login for rampart's flow; `Err` says why there is none.
pub async fn session_cookie(
    ctx: &ScanCtx,
    d: &Discovered,
    http: &Http,
) -> Result<SessionCookie, String> {
    let Auth::Flow(flow) = &ctx.auth else {
        return Err(crate::scans::auth::NEEDS_FLOW.to_string());
    };
    let creds = d
        .fixtures
        .user()
        .ok_or_else(|| crate::scans::auth::NEEDS_FLOW.to_string())?;
    let (name, response) = match flow.present.clone() {
        Present::Cookie(name) => {
            let (_, r) = flow
                .login_answer(http, creds)
                .await
                .map_err(|e| e.to_string())?;
            (name, r)
        }
        Present::Header { .. } if flow.name == "rampart" => {
            let req = Request::post_json(
                RAMPART_COOKIE_LOGIN,
                &serde_json::json!({"username": creds.username, "password": creds.password}),
            )
            // The origin the harness's own requests come from: its Host header's.
            .with_header("Origin", &format!("https://{}", http.host()))
            .with_header("Sec-Fetch-Site", "same-origin");
            let r = http
                .send(&req)
                .await
                .map_err(|e| format!("rampart's browser login: {e}"))?;
            (RAMPART_COOKIE.to_string(), r.response)
        }
        Present::Header { .. } => {
            return Err(
                "the flow's session is a header, which a browser cannot hold: declare a login whose token is a cookie ([login] token = { cookie = \"NAME\" })"
                    .into(),
            );
        }
    };
    let value = set_cookie(&response, &name).ok_or_else(|| {
        format!(
            "the login set no `{name}` cookie (it answered {})",
            response.status
        )
    })?;
    let set_cookie = response
        .header_values("set-cookie")
        .into_iter()
        .find(|v| v.trim_start().starts_with(&format!("{name}=")))
        .map(|v| v.replacen(&value, "(hidden)", 1))
        .unwrap_or_default();
    Ok(SessionCookie {
        name,
        value,
        set_cookie,
    })
}

/// The browser (`Err`: why there is none) and another site to serve pages from; on a failure
/// each check in `checks` is recorded as not made, and `None` is returned.
pub async fn with_other_site(
    ctx: &ScanCtx,
    browser: Result<Browser, String>,
    checks: &[String],
    s: &mut crate::scans::Scanned,
) -> Option<(Browser, OtherSite)> {
    let browser = match browser {
        Ok(b) => b,
        Err(why) => {
            for name in checks {
                s.unmade(name.clone(), why.clone());
            }
            return None;
        }
    };
    match OtherSite::start(ctx.target.addr.ip()).await {
        Ok(site) => Some((browser, site)),
        Err(e) => {
            s.unmade("another site", format!("could not listen: {e}"));
            browser.quit().await;
            None
        }
    }
}

/// A browser signed in to the target with the session cookie.
pub async fn signed_in_browser(
    ctx: &ScanCtx,
    d: &Discovered,
    http: &Http,
) -> Result<Browser, String> {
    let cookie = session_cookie(ctx, d, http).await?;
    let b = start_browser(ctx).await?;
    // A cookie can be set only for the site of the page on show.
    b.goto(&format!("{}/attack-sim-sign-in", origin(ctx)))
        .await
        .map_err(|e| e.to_string())?;
    b.add_cookie(&cookie.name, &cookie.value, &cookie.set_cookie)
        .await
        .map_err(|e| e.to_string())?;
    Ok(b)
}
