//! The HTTP application: routes, shared state, the error type and response headers.
//! Protocol handling (TLS, HTTP/1.1, HTTP/2) lives in [`crate::net`]; this is what runs once a
//! request has been parsed.

pub mod headers;
mod health;
pub mod problem;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;

use crate::db::Db;
use problem::ApiError;

/// State shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
}

/// The socket peer of the connection a request arrived on, inserted by the connection handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Builds the application router with every route and the security headers.
pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state);
    headers::apply(app)
}
