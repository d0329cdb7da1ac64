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
use super::problem::ApiError;
use super::users::Credentials;
use super::{AppState, hash_error};
use crate::auth::rules;
use crate::auth::{Authenticated, token};
use crate::store::audit::Event;
use crate::store::{now_micros, rfc3339, sessions, users};

/// `201` body of a login.
#[derive(Serialize)]
pub struct NewSession {
    token: String,
    expires_at: String,
}

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
