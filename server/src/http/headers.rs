//! Security headers set on every response, errors included. The Content-Security-Policy is
//! the API's `default-src 'none'` unless the handler set its own: only the pages do
//! ([`super::pages::PAGE_CSP`]).

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
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

/// Sets [`SECURITY_HEADERS`] on `resp`.
fn secure(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    headers.reserve(SECURITY_HEADERS.len());
    for (name, value) in SECURITY_HEADERS {
        if name == header::CONTENT_SECURITY_POLICY {
            headers.entry(name).or_insert(value);
        } else {
            headers.insert(name, value);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_is_set_and_a_handler_keeps_only_its_own_policy() {
        let mut own = Response::new(axum::body::Body::empty());
        own.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        own.headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("ALLOW"));
        let resp = secure(own);
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
