//! The bank's pages: `/` and its assets, embedded in the binary (no CDN, no file read at run
//! time). The page is a small script module over the `/v1` API (`server/web/`), signed in by
//! the session cookie ([`crate::auth::cookie`]).
//!
//! The pages get their own Content-Security-Policy, [`PAGE_CSP`]: script and style only from
//! this origin, no inline script, `eval` or plugins, no `<base>`, no framing, forms only to
//! this origin, and Trusted Types required so that a string can never become markup through
//! `innerHTML` and its kin. Every other response keeps the API's `default-src 'none'`.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;

/// The pages' Content-Security-Policy.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");
const ICON_SVG: &str = include_str!("../../web/icon.svg");

/// Every page and asset served, for size checks.
#[cfg(test)]
pub(crate) const ASSETS: [&str; 4] = [INDEX_HTML, APP_JS, APP_CSS, ICON_SVG];

/// An embedded asset with its media type and the pages' policy.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 2] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        ),
    ];
    (headers, body)
}

#[utoipa::path(get, path = "/", tag = "pages",
    responses((status = 200, description = "The bank's page: sign-in and registration, then accounts, history, payments and the password", content_type = "text/html")))]
/// `GET /`.
pub async fn index() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

#[utoipa::path(get, path = "/assets/app.js", tag = "pages",
    responses((status = 200, description = "The page's script module", content_type = "text/javascript")))]
/// `GET /assets/app.js`.
pub async fn app_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

#[utoipa::path(get, path = "/assets/app.css", tag = "pages",
    responses((status = 200, description = "The page's style sheet", content_type = "text/css")))]
/// `GET /assets/app.css`.
pub async fn app_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}

#[utoipa::path(get, path = "/assets/icon.svg", tag = "pages",
    responses((status = 200, description = "The bank's icon", content_type = "image/svg+xml")))]
/// `GET /assets/icon.svg`.
pub async fn icon_svg() -> impl IntoResponse {
    asset("image/svg+xml", ICON_SVG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_is_strict() {
        for required in [
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "require-trusted-types-for 'script'",
        ] {
            assert!(PAGE_CSP.contains(required), "{required}");
        }
        for banned in ["unsafe-inline", "unsafe-eval", "*", "data:", "http:"] {
            assert!(!PAGE_CSP.contains(banned), "{banned}");
        }
    }

    /// The page loads script only as an external module from this origin: an inline script
    /// or handler would be refused by the policy and is a bug.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = INDEX_HTML.to_ascii_lowercase();
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains(r#"<script type="module" src="/assets/app.js"></script>"#));
        let handler = html.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handler, None, "inline event handler");
        assert!(!html.contains("style="), "inline style");
        assert!(!html.contains("<style"), "inline style sheet");
        assert!(!APP_JS.contains("innerHTML") && !APP_JS.contains("insertAdjacentHTML"));
        assert!(!APP_JS.contains("localStorage") && !APP_JS.contains("sessionStorage"));
    }

    /// Password managers need the autocomplete tokens.
    #[test]
    fn credential_inputs_carry_autocomplete_tokens() {
        for token in [
            r#"autocomplete="username""#,
            r#"autocomplete="current-password""#,
            r#"autocomplete="new-password""#,
        ] {
            assert!(INDEX_HTML.contains(token), "{token}");
        }
    }
}
