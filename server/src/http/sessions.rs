//! `POST /v1/sessions` (login) and `DELETE /v1/sessions/current` (logout).
//!
//! A failed login is the same 401 whether the user exists or not, and costs the same: unknown
//! users are verified against a dummy hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::audit::{Client, audit};
use super::json::ApiJson;
use super::openapi::Problem;
use super::problem::ApiError;
use super::users::Credentials;
use super::{AppState, hash_error};
use crate::auth::rules;
use crate::auth::{Authenticated, token};
use crate::store::audit::Event;
use crate::store::{now_micros, rfc3339, sessions, users};

/// `201` body of a login.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewSession {
    token: String,
    expires_at: String,
}

#[utoipa::path(post, path = "/v1/sessions", tag = "sessions", request_body = Credentials,
    responses((status = 201, description = "Logged in", body = NewSession), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/sessions`.
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<NewSession>), ApiError> {
    let username = rules::normalize_username(&body.username).ok();
    let user = match &username {
        Some(name) => users::by_username(&state.db, name)
            .await
            .map_err(ApiError::internal)?,
        None => None,
    };
    let password = rules::normalize_password(&body.password);
    let verified = state
        .hasher
        .verify(
            password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await
        .map_err(hash_error)?;
    let Some(user) = user.filter(|_| verified.ok) else {
        let attempted: String = body.username.chars().take(64).collect();
        audit(&state, Event::LoginFailure, None, Some(&attempted), &client).await;
        return Err(ApiError::Unauthorized);
    };
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
        .map_err(ApiError::internal)?;
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

#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "Session ended"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json")))]
/// `DELETE /v1/sessions/current`: 204.
pub async fn logout(
    State(state): State<AppState>,
    who: Authenticated,
    client: Client,
) -> Result<StatusCode, ApiError> {
    sessions::revoke(&state.db, &who.token_hash, now_micros())
        .await
        .map_err(ApiError::internal)?;
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
