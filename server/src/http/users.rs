//! `POST /v1/users` (register), `GET /v1/me`, `POST /v1/me/password`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::audit::{Client, audit};
use super::authenticated::Authenticated;
use super::json::ApiJson;
use super::openapi::Problem;
use super::problem::ApiError;
use super::{AppState, hash_error};
use crate::auth::rules;
use crate::store::audit::Event;
use crate::store::{StoreError, new_id, now_micros, rfc3339, sessions, users};

/// Registration and login body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Username (normalised by the server).
    pub username: String,
    /// Password.
    pub password: String,
}

/// `201` body of registration.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewUser {
    id: String,
    username: String,
}

/// `GET /v1/me` body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    id: String,
    username: String,
    created_at: String,
}

/// Password change body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: String,
    /// The replacement.
    pub new_password: String,
}

#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = Credentials,
    responses((status = 201, description = "User created", body = NewUser), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A rule is broken; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/users`.
pub async fn register(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<NewUser>), ApiError> {
    let username =
        rules::normalize_username(&body.username).map_err(|e| ApiError::field("username", e))?;
    let password =
        rules::check_new_password(&body.password, &username, state.auth.password_min_length)
            .map_err(|e| ApiError::field("password", e))?;
    let password_hash = state.hasher.hash(password).await.map_err(hash_error)?;
    let user = users::User {
        id: new_id(),
        username,
        password_hash,
        created_at: now_micros(),
    };
    match users::insert(&state.db, &user).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict("The username is taken.".to_string()));
        }
        Err(e) => return Err(ApiError::from(e)),
    }
    audit(
        &state,
        Event::Register,
        Some(&user.id),
        Some(&user.username),
        &client,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(NewUser {
            id: user.id,
            username: user.username,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `GET /v1/me`.
pub async fn me(State(state): State<AppState>, who: Authenticated) -> Result<Json<Me>, ApiError> {
    let user = users::by_id(&state.db, &who.user_id)
        .await
        .map_err(ApiError::from)?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(Me {
        id: user.id,
        username: user.username,
        created_at: rfc3339(user.created_at),
    }))
}

#[utoipa::path(post, path = "/v1/me/password", tag = "users", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other session revoked"), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A rule is broken; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/me/password`: 204; every other session of the user is revoked.
pub async fn change_password(
    State(state): State<AppState>,
    who: Authenticated,
    client: Client,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let user = users::by_id(&state.db, &who.user_id)
        .await
        .map_err(ApiError::from)?
        .ok_or(ApiError::Unauthorized)?;
    let current = rules::normalize_password(&body.current_password);
    let verified = state
        .hasher
        .verify(current, Some(user.password_hash.clone()))
        .await
        .map_err(hash_error)?;
    if !verified.ok {
        return Err(ApiError::Unprocessable {
            field: "current_password".to_string(),
            detail: "current_password is incorrect".to_string(),
        });
    }
    let new = rules::check_new_password(
        &body.new_password,
        &user.username,
        state.auth.password_min_length,
    )
    .map_err(|e| ApiError::field("new_password", e))?;
    let hash = state.hasher.hash(new).await.map_err(hash_error)?;
    users::set_password_hash(&state.db, &user.id, &hash)
        .await
        .map_err(ApiError::from)?;
    sessions::revoke_others(&state.db, &user.id, &who.token_hash, now_micros())
        .await
        .map_err(ApiError::from)?;
    audit(
        &state,
        Event::PasswordChange,
        Some(&user.id),
        Some(&user.username),
        &client,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
