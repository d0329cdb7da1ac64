//! Security headers set on every response, errors included. The Content-Security-Policy is
//! the API's `default-src 'none'` unless the handler set its own: only the pages do
//! ([`super::pages::PAGE_CSP`]).

use axum::Router;
use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use tower::util::MapResponseLayer;

/// The headers and values applied to every response (checked once, at compile time: a value
/// made at run time is validated byte by byte on every response).
pub const SECURITY_HEADERS: [(HeaderName, HeaderValue); 8] = [
    (
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=63072000; includeSubDomains"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// Wraps `router` so that every response carries [`SECURITY_HEADERS`] (overriding any value
/// a handler set, the Content-Security-Policy aside) and no `Server` header. One layer that
/// sets them all in one pass: a layer per header cost a service clone and a future per header
/// on every request.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(layer())
}

/// The layer [`apply`] puts on every route, for a service stack around a whole router.
pub fn layer() -> MapResponseLayer<fn(Response) -> Response> {
    MapResponseLayer::new(secure as fn(Response) -> Response)
}

/// [`SECURITY_HEADERS`] in a map of their own, with room for a handler's few: every response's
/// headers start as a copy of it.
static SECURE_MAP: LazyLock<HeaderMap> = LazyLock::new(|| {
    let mut map = HeaderMap::with_capacity(2 * SECURITY_HEADERS.len());
    map.extend(SECURITY_HEADERS);
    map
});

/// Sets [`SECURITY_HEADERS`] on `resp`: its headers become a copy of [`SECURE_MAP`] with the
/// handler's own added, except where the handler set one of the security headers, the
/// Content-Security-Policy aside. Copying the ready map costs less than inserting eight
/// headers into the handler's (which also grows it): `examples/router_cost.rs`.
fn secure(mut resp: Response) -> Response {
    let own = std::mem::replace(resp.headers_mut(), SECURE_MAP.clone());
    let headers = resp.headers_mut();
    let mut last: Option<HeaderName> = None;
    for (name, value) in own {
        // `into_iter` names a header once, then gives its further values unnamed.
        let name = match name {
            Some(name) => last.insert(name),
            None => match &last {
                Some(name) => name,
                None => continue,
            },
        };
        if *name == header::CONTENT_SECURITY_POLICY {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        } else if !SECURE_MAP.contains_key(name) {
            headers.append(name, value);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_is_set_and_a_handler_keeps_only_its_own_policy_and_other_headers() {
        let mut own = Response::new(axum::body::Body::empty());
        own.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        own.headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("ALLOW"));
        for cookie in ["a=1", "b=2"] {
            own.headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_static(cookie));
        }
        let resp = secure(own);
        let cookies = resp.headers().get_all(header::SET_COOKIE);
        assert_eq!(cookies.iter().collect::<Vec<_>>(), ["a=1", "b=2"]);
        for (name, value) in SECURITY_HEADERS {
            let got = resp.headers().get_all(&name).iter().collect::<Vec<_>>();
            let want = if name == header::CONTENT_SECURITY_POLICY {
                HeaderValue::from_static("default-src 'self'")
            } else {
                value
            };
            assert_eq!(got, [&want], "{name}");
        }
        let plain = secure(Response::new(axum::body::Body::empty()));
        assert_eq!(plain.headers().len(), SECURITY_HEADERS.len());
    }
}
