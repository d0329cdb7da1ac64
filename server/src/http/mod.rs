//! The HTTP application: routes, shared state, the error type and response headers.
//! Protocol handling (TLS, HTTP/1.1, HTTP/2) lives in [`crate::net`]; this is what runs once a
//! request has been parsed.

mod accounts;
mod audit;
pub mod headers;
mod health;
pub mod json;
pub mod problem;
mod sessions;
mod transfers;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::auth::{HashError, Hasher};
use crate::config::AuthConfig;
use crate::db::Db;
use problem::ApiError;

/// Largest JSON body any API route accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// State shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The bounded password hashing pool.
    pub hasher: Arc<Hasher>,
    /// Password and session rules.
    pub auth: Arc<AuthConfig>,
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

/// Builds the application router with every route and the security headers.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/users", post(users::register))
        .route("/v1/sessions", post(sessions::login))
        .route("/v1/sessions/current", delete(sessions::logout))
        .route("/v1/me", get(users::me))
        .route("/v1/me/password", post(users::change_password))
        .route("/v1/accounts", post(accounts::create).get(accounts::list))
        .route("/v1/accounts/{id}", get(accounts::get))
        .route("/v1/accounts/{id}/deposits", post(accounts::deposit))
        .route("/v1/accounts/{id}/withdrawals", post(accounts::withdraw))
        .route("/v1/transfers", post(transfers::create))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(api)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state);
    headers::apply(app)
}
