//! Recording security events from handlers, with the client's address.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{AppState, ClientAddr};
use crate::store::audit::{self, Event, Record};
use crate::store::now_micros;

/// The client address of the request, if the connection handler recorded one.
#[derive(Debug, Clone)]
pub struct Client {
    /// As stored in the audit trail (`unknown` when absent).
    pub addr: String,
    /// The address itself.
    pub ip: Option<std::net::IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ClientAddr>().map(|c| c.0.ip());
        Ok(Client {
            addr: ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
            ip,
        })
    }
}

/// Appends an audit event. A failure to record is logged, not turned into a failed request.
pub async fn audit(
    state: &AppState,
    event: Event,
    user_id: Option<&str>,
    username: Option<&str>,
    client: &Client,
) {
    let record = Record {
        at: now_micros(),
        event: event.as_str().to_string(),
        user_id: user_id.map(str::to_string),
        username: username.map(str::to_string),
        client_addr: client.addr.clone(),
    };
    if let Err(e) = audit::record(&state.db, &record).await {
        tracing::error!(error = %e, event = event.as_str(), "could not record audit event");
    }
}
