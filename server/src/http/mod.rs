//! The HTTP application: routes (the `/v1` API and the bank's pages), shared state, the error
//! type and response headers.
//! Protocol handling (TLS, HTTP/1.1, HTTP/2) lives in [`crate::net`]; this is what runs once a
//! request has been parsed.

mod accounts;
mod audit;
pub mod authenticated;
pub mod body_read;
pub mod client_ip;
pub mod deadline;
pub mod headers;
mod health;
mod history;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod pages;
pub mod problem;
pub mod rate_limit;
pub mod same_origin;
mod sessions;
pub mod timed_body;
mod transfers;
mod users;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{HashError, Hasher};
use crate::config::AuthConfig;
use crate::db::Db;
use crate::store::secrets::SecretBytes;
use problem::ApiError;

/// Largest JSON body any API route accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The future of a response, as the request layers and the connection's service return it.
pub type Answer =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Infallible>> + Send>>;

/// State shared by every handler, behind one reference count: axum clones the state into
/// the handler service of every request (its boxed route is cloned per call), and one count
/// is cheaper to take and drop, on two worker threads, than one per field.
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppShared>);

impl AppState {
    /// The handle on `shared`.
    pub fn new(shared: AppShared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppShared;

    fn deref(&self) -> &AppShared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct AppShared {
    /// The database.
    pub db: Db,
    /// The bounded password hashing pool.
    pub hasher: Arc<Hasher>,
    /// Password and session rules.
    pub auth: Arc<AuthConfig>,
    /// Key that signs history cursors (shared by every instance through the database).
    pub cursor_key: SecretBytes,
    /// Request-rate limits and the in-flight cap.
    pub limits: Arc<rate_limit::RequestLimits>,
    /// Failed-login backoff policy.
    pub backoff: crate::auth::backoff::Backoff,
    /// Where users logged in before (their logins may use the reserved hashing slots).
    pub known_logins: Arc<crate::auth::known_logins::KnownLogins>,
    /// The longest a handler runs (`http.handler_timeout`).
    pub handler_timeout: std::time::Duration,
}

/// A saturated hashing pool sheds the request (503 + Retry-After); any other failure is a
/// logged internal error.
pub(crate) fn hash_error(e: HashError) -> ApiError {
    match e {
        HashError::Busy => ApiError::Unavailable {
            retry_after_secs: 1,
            cause: e.to_string(),
        },
        HashError::Failed(cause) => ApiError::Internal(cause),
    }
}

/// The socket peer of the connection a request arrived on, inserted by the connection handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The OpenAPI document, serialised once: by [`router`] at start-up, else at the first request
/// for it. A static rather than a request extension: an extension is a boxed value and a map
/// insert on every request, for the one route that reads it.
static OPENAPI_JSON: OnceLock<Vec<u8>> = OnceLock::new();

fn openapi_document(doc: impl FnOnce() -> utoipa::openapi::OpenApi) -> &'static [u8] {
    OPENAPI_JSON.get_or_init(|| serde_json::to_vec(&doc()).unwrap_or_default())
}

/// `GET /openapi.json`: the OpenAPI 3.1 description of every route.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "This document", content_type = "application/json")))]
async fn openapi_json() -> impl IntoResponse {
    let doc = openapi_document(|| documented_routes().1);
    ([(header::CONTENT_TYPE, "application/json")], doc)
}

/// Every route, registered with its documentation, and the document they make.
pub fn documented_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(pages::index))
        .routes(routes!(pages::app_js))
        .routes(routes!(pages::app_css))
        .routes(routes!(pages::icon_svg))
        .routes(routes!(users::register))
        .routes(routes!(sessions::login))
        .routes(routes!(sessions::login_cookie))
        .routes(routes!(sessions::logout))
        .routes(routes!(users::me))
        .routes(routes!(users::change_password))
        .routes(routes!(accounts::create, accounts::list))
        .routes(routes!(accounts::get))
        .routes(routes!(accounts::deposit))
        .routes(routes!(accounts::withdraw))
        .routes(routes!(history::list))
        .routes(routes!(transfers::create))
        .split_for_parts()
}

/// The application as the connection handler calls it: every route under the layers, behind
/// one shared pointer, called by reference. A request clones the stack (its few reference
/// counts) and boxes its answer once; a `BoxCloneSyncService` boxed a copy of the stack too.
#[derive(Clone)]
pub struct App(Arc<dyn Fn(Request) -> Answer + Send + Sync>);

impl App {
    /// `service` as the application.
    pub fn new<S>(service: S) -> Self
    where
        S: tower::Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        use tower::ServiceExt as _;
        App(Arc::new(move |req| {
            let mut service = service.clone();
            // A router and the layers here are always ready; a service that is not gets
            // waited for, as `oneshot` does.
            let mut ready = Context::from_waker(Waker::noop());
            match service.poll_ready(&mut ready) {
                Poll::Ready(Ok(())) => Box::pin(service.call(req)),
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => Box::pin(service.oneshot(req)),
            }
        }))
    }

    /// The answer to `req`.
    pub fn call(&self, req: Request) -> Answer {
        (self.0)(req)
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("App")
    }
}

impl tower::Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Answer {
        App::call(self, req)
    }
}

/// Builds the application: every route, under the security headers, the request limits, the
/// handler deadline and the body limit.
pub fn router(state: AppState) -> App {
    let (routes, doc) = documented_routes();
    openapi_document(|| doc);
    let limits = state.limits.clone();
    let deadline = deadline::Deadline::new(state.handler_timeout, limits.metrics().clone());
    // Layers run outermost first: the security headers (on every answer, refusals included),
    // the request limits (which read the body and take the in-flight slot), the handler's
    // deadline, then the routes. One stack around the whole router, every path and fallback
    // alike: `Router::layer` would wrap each route in each layer, boxed, and every request
    // would clone the boxes down the chain (`examples/router_cost.rs`: 2,000-2,400 ns per
    // request that way, 1,700-2,100 this way). The stack is boxed once, not put behind an
    // outer `Router` as its fallback, whose own routing cost another 300-400 ns.
    let routes = routes
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state);
    let layered = tower::ServiceBuilder::new()
        .layer(headers::layer())
        .layer(rate_limit::Enforce(limits))
        .layer(deadline)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .service(routes);
    App::new(layered)
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt;

    /// The one stack around the router covers every answer: a route's, the fallback's, the
    /// wrong method's, a body refused by the body limit.
    #[test]
    fn every_answer_goes_through_the_layers() {
        let app = crate::fuzzing::app::App::new();
        let router = super::router(app.state.clone());
        let client = super::ClientAddr(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)));
        let big = vec![b'x'; super::MAX_BODY_BYTES + 1];
        let cases = [
            ("GET", "/healthz", Vec::new(), 200),
            ("GET", "/no/such/route", Vec::new(), 404),
            ("DELETE", "/healthz", Vec::new(), 405),
            ("POST", "/v1/users", big, 413),
        ];
        for (method, path, body, status) in cases {
            let mut req = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .expect("request");
            req.extensions_mut().insert(client);
            let resp = app
                .rt
                .block_on(router.clone().oneshot(req))
                .expect("infallible");
            assert_eq!(resp.status(), status, "{method} {path}");
            for (name, value) in super::headers::SECURITY_HEADERS {
                assert_eq!(resp.headers()[&name], value, "{method} {path}: {name}");
            }
        }
    }

    /// The default send buffer (`http.send_buffer_bytes`, doubled by the kernel) holds the
    /// largest response whole, the OpenAPI document and the page's assets, so that a client
    /// far away gets each in one round trip; and stays at the size the stress figures in
    /// SECURITY.md ("Slow read") were measured with.
    #[test]
    fn the_default_send_buffer_holds_the_largest_response() {
        let window = 2 * crate::config::HttpConfig::default().send_buffer_bytes;
        let (_, doc) = super::documented_routes();
        let doc = serde_json::to_vec(&doc).expect("document");
        assert!(doc.len() <= window, "OpenAPI document {} bytes", doc.len());
        for asset in super::pages::ASSETS {
            assert!(asset.len() <= window, "an asset of {} bytes", asset.len());
        }
        assert!(window <= 32 * 1024, "{window}: measured at 32 KiB");
    }

    /// Routes are only added through `routes!` (which documents them); a plain `.route(`
    /// would serve an undocumented path.
    #[test]
    fn every_route_goes_through_the_documented_router() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let needle = [".rou", "te(\""].concat();
        for entry in std::fs::read_dir(dir).expect("read") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(
                !text.contains(&needle),
                "{} adds an undocumented route",
                path.display()
            );
        }
    }
}
