//! `POST /v1/sessions` (login) and `DELETE /v1/sessions/current` (logout).
//!
//! A failed login is the same 401 whether the user exists or not, and costs the same: unknown
//! users are verified against a dummy hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::audit::{Client, audit};
use super::authenticated::Authenticated;
use super::json::ApiJson;
use super::openapi::Problem;
use super::problem::ApiError;
use super::users::Credentials;
use super::{AppState, hash_error};
use crate::auth::backoff::Backoff;
use crate::auth::rules;
use crate::auth::token;
use crate::store::audit::Event;
use crate::store::{login_throttle, now_micros, rfc3339, sessions, users};

/// `201` body of a login.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewSession {
    token: String,
    expires_at: String,
}

#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = Credentials,
    responses((status = 201, description = "Logged in", body = NewSession), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Unknown user or wrong password: the same answer for both", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 429, description = "Rate limited, or the account is in failed-login backoff; see Retry-After", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/sessions`.
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<NewSession>), ApiError> {
    let username = rules::normalize_username(&body.username).ok();
    // An account in backoff is refused before any hashing, known or not.
    if let Some(name) = &username
        && let Some(throttle) = login_throttle::get(&state.db, name)
            .await
            .map_err(ApiError::from)?
    {
        let until = Backoff::blocked_until(&throttle);
        let now = now_micros();
        if now < until {
            let wait = u32::try_from((until - now) / 1_000_000 + 1).unwrap_or(u32::MAX);
            return Err(state.limits.refuse_login_backoff(client.ip, wait));
        }
    }
    let user = match &username {
        Some(name) => users::by_username(&state.db, name)
            .await
            .map_err(ApiError::from)?,
        None => None,
    };
    let password = rules::normalize_password(&body.password);
    let known = match (client.ip, &user) {
        (Some(ip), Some(u)) => state.known_logins.contains(ip, &u.username),
        _ => false,
    };
    let verified = state
        .hasher
        .verify_as(
            password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
            known,
        )
        .await
        .map_err(hash_error)?;
    let Some(user) = user.filter(|_| verified.ok) else {
        let attempted: String = body.username.chars().take(64).collect();
        audit(&state, Event::LoginFailure, None, Some(&attempted), &client).await;
        if let Some(name) = &username {
            record_failure(&state, name, &client).await?;
        }
        return Err(ApiError::Unauthorized);
    };
    login_throttle::clear(&state.db, &user.username)
        .await
        .map_err(ApiError::from)?;
    if let Some(ip) = client.ip {
        state.known_logins.remember(ip, &user.username);
    }
    if verified.needs_rehash {
        // Best effort: the login succeeds even if the upgrade has to wait for the next one.
        match state.hasher.hash(password).await {
            Ok(h) => {
                if let Err(e) = users::set_password_hash(&state.db, &user.id, &h).await {
                    tracing::warn!(error = %e, "could not store the rehashed password");
                }
            }
            Err(e) => tracing::debug!(error = %e, "rehash postponed"),
        }
    }
    let new = token::generate().map_err(ApiError::Internal)?;
    let now = now_micros();
    let lifetime =
        i64::try_from(state.auth.session_absolute_timeout.as_micros()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(lifetime);
    sessions::create(&state.db, &new.hash, &user.id, now, expires_at)
        .await
        .map_err(ApiError::from)?;
    audit(
        &state,
        Event::LoginSuccess,
        Some(&user.id),
        Some(&user.username),
        &client,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(NewSession {
            token: new.token,
            expires_at: rfc3339(expires_at),
        }),
    ))
}

/// Counts a failed login against `name` and applies the backoff policy.
async fn record_failure(state: &AppState, name: &str, client: &Client) -> Result<(), ApiError> {
    let now = now_micros();
    let failures = login_throttle::record_failure(&state.db, name, now)
        .await
        .map_err(ApiError::from)?;
    let (next, lock) = state.backoff.after_failure(failures, now);
    if next > now || lock.is_some() {
        login_throttle::set_delay(&state.db, name, next, lock)
            .await
            .map_err(ApiError::from)?;
    }
    if state.backoff.locks_at(failures) {
        audit(state, Event::Lockout, None, Some(name), client).await;
    }
    Ok(())
}

#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "Session ended"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `DELETE /v1/sessions/current`: 204.
pub async fn logout(
    State(state): State<AppState>,
    who: Authenticated,
    client: Client,
) -> Result<StatusCode, ApiError> {
    sessions::revoke(&state.db, &who.token_hash, now_micros())
        .await
        .map_err(ApiError::from)?;
    audit(
        &state,
        Event::Logout,
        Some(&who.user_id),
        Some(&who.username),
        &client,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
