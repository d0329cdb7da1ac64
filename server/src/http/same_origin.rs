//! The cross-site request forgery guard. A browser attaches the session cookie to whatever
//! request it makes, so a state change authenticated by the cookie is refused (403) unless
//! the browser says the request came from one of this server's own pages: `Sec-Fetch-Site`,
//! where sent, must be `same-origin`, and `Origin` must be present and name this very origin.
//! The cookie's `SameSite=Strict` already keeps it off cross-site requests; this check does
//! not depend on it. Bearer-token clients are not browsers and are not checked.

use axum::extract::FromRequestParts;
use axum::http::header::{HOST, ORIGIN};
use axum::http::request::Parts;

use super::problem::ApiError;

/// Whether a request this method makes changes state (everything but reads).
pub fn changes_state(method: &axum::http::Method) -> bool {
    !matches!(
        *method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    )
}

/// `Ok` when the request came from this origin's own pages, [`ApiError::CrossSite`] otherwise.
pub fn check(parts: &Parts) -> Result<(), ApiError> {
    if let Some(site) = parts.headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return Err(ApiError::CrossSite);
    }
    let origin = parts
        .headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::CrossSite)?;
    // HTTP/2 carries the authority in the URI (`:authority`), HTTP/1.1 in `Host`.
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| parts.headers.get(HOST).and_then(|v| v.to_str().ok()))
        .ok_or(ApiError::CrossSite)?;
    let same = origin
        .strip_prefix("https://")
        .is_some_and(|o| o.eq_ignore_ascii_case(host));
    if same {
        Ok(())
    } else {
        Err(ApiError::CrossSite)
    }
}

/// An extractor that admits only requests from this origin's own pages ([`check`]).
#[derive(Debug, Clone, Copy)]
pub struct SameOrigin;

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        check(parts).map(|()| SameOrigin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::post("/v1/transfers");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn only_this_origin_passes() {
        let ok = [
            ("host", "bank.test:8443"),
            ("origin", "https://bank.test:8443"),
        ];
        assert!(check(&parts(&ok)).is_ok());
        let with_fetch_site = [
            ("host", "bank.test:8443"),
            ("origin", "https://bank.test:8443"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert!(check(&parts(&with_fetch_site)).is_ok());
        let refused: [&[(&str, &str)]; 7] = [
            &[("host", "bank.test:8443")],
            &[("host", "bank.test:8443"), ("origin", "null")],
            &[("host", "bank.test:8443"), ("origin", "https://evil.test")],
            &[
                ("host", "bank.test:8443"),
                ("origin", "http://bank.test:8443"),
            ],
            &[
                ("host", "bank.test:8443"),
                ("origin", "https://bank.test:8443.evil.test"),
            ],
            &[("origin", "https://bank.test:8443")],
            &[
                ("host", "bank.test:8443"),
                ("origin", "https://bank.test:8443"),
                ("sec-fetch-site", "same-site"),
            ],
        ];
        for headers in refused {
            assert!(
                matches!(check(&parts(headers)), Err(ApiError::CrossSite)),
                "{headers:?}"
            );
        }
    }

    #[test]
    fn reads_do_not_change_state() {
        use axum::http::Method;
        assert!(!changes_state(&Method::GET));
        assert!(!changes_state(&Method::HEAD));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::DELETE));
    }
}
