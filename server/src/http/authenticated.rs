//! The `Authenticated` extractor: a valid, unexpired, unrevoked session token, or 401.
//! Unknown, expired, revoked and malformed tokens all get the same 401 answer. The token comes
//! from `Authorization: Bearer` (API clients) or, failing that, from the browser's session
//! cookie; a state change authenticated by the cookie must also pass the cross-site guard
//! ([`super::same_origin`]).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;

use super::AppState;
use super::problem::ApiError;
use super::same_origin;
use crate::auth::{cookie, token};
use crate::store::{now_micros, sessions};

/// Do not rewrite `last_seen_at` more often than this (microseconds): idle expiry needs
/// minute precision, not a write per request.
const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;

/// The caller, as established by their bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// User id.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Hash of the token used (identifies the session).
    pub token_hash: String,
    /// How the token was presented.
    pub via: Credential,
}

/// Where a request's session token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer`.
    Bearer,
    /// The browser's session cookie.
    Cookie,
}

/// The hash of the session token a request presents, and how it presented it.
fn presented(parts: &Parts) -> Option<(String, Credential)> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let hash = value
            .to_str()
            .ok()
            .and_then(token::from_authorization)
            .and_then(token::hash_of)?;
        return Some((hash, Credential::Bearer));
    }
    // HTTP/2 may split cookies over several fields; exactly one session cookie among them.
    let mut found = None;
    for value in parts.headers.get_all(COOKIE) {
        if let Some(t) = value.to_str().ok().and_then(cookie::from_header) {
            if found.is_some() {
                return None;
            }
            found = Some(t);
        }
    }
    Some((token::hash_of(found?)?, Credential::Cookie))
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (hash, via) = presented(parts).ok_or(ApiError::Unauthorized)?;
        if via == Credential::Cookie && same_origin::changes_state(&parts.method) {
            same_origin::check(parts)?;
        }
        let session = sessions::find(&state.db, &hash)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::Unauthorized)?;
        let now = now_micros();
        let idle = i64::try_from(state.auth.session_idle_timeout.as_micros()).unwrap_or(i64::MAX);
        if now >= session.expires_at || now.saturating_sub(session.last_seen_at) >= idle {
            return Err(ApiError::Unauthorized);
        }
        let ip = parts
            .extensions
            .get::<super::ClientAddr>()
            .map(|c| c.0.ip());
        state.limits.check_user(&session.user_id, ip)?;
        if now.saturating_sub(session.last_seen_at) >= TOUCH_EVERY_MICROS {
            sessions::touch(&state.db, &hash, now)
                .await
                .map_err(ApiError::from)?;
        }
        Ok(Authenticated {
            user_id: session.user_id,
            username: session.username,
            token_hash: hash,
            via,
        })
    }
}
