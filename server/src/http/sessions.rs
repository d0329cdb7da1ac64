//! `POST /v1/sessions` (login for API clients: a bearer token), `POST /v1/sessions/cookie`
//! (login for the browser: the same session in a cookie) and `DELETE /v1/sessions/current`
//! (logout, either way).
//!
//! A failed login is the same 401 whether the user exists or not, and costs the same: unknown
//! users are verified against a dummy hash. Both logins share the backoff and the audit.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::audit::{Client, audit};
use super::authenticated::{Authenticated, Credential};
use super::json::ApiJson;
use super::openapi::Problem;
use super::problem::ApiError;
use super::same_origin::SameOrigin;
use super::users::Credentials;
use super::{AppState, hash_error};
use crate::auth::backoff::Backoff;
use crate::auth::hasher::HashError;
use crate::auth::token::NewToken;
use crate::auth::{cookie, rules, token};
use crate::metrics::Reason;
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
    let (new, expires_at) = sign_in(&state, &client, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewSession {
            token: new.token,
            expires_at: rfc3339(expires_at),
        }),
    ))
}

/// `201` body of a browser login: the token itself is only in the cookie.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CookieSession {
    expires_at: String,
}

#[utoipa::path(post, path = "/v1/sessions/cookie", tag = "sessions", request_body = Credentials,
    responses((status = 201, description = "Logged in; the session is in the `__Host-rampart-session` cookie (HttpOnly, Secure, SameSite=Strict, Path=/)", body = CookieSession), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Unknown user or wrong password: the same answer for both", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not sent by one of this origin's pages (Origin, Sec-Fetch-Site)", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 429, description = "Rate limited, or the account is in failed-login backoff; see Retry-After", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/sessions/cookie`: the browser's login. Same-origin only, so that another site
/// cannot sign a visitor in to an account of its choosing (login CSRF).
pub async fn login_cookie(
    State(state): State<AppState>,
    _same_origin: SameOrigin,
    client: Client,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let (new, expires_at) = sign_in(&state, &client, &body).await?;
    let max_age = state.auth.session_absolute_timeout.as_secs();
    let set = HeaderValue::from_str(&cookie::set(&new.token, max_age))
        .map_err(|e| ApiError::Internal(format!("cookie header: {e}")))?;
    let mut resp = (
        StatusCode::CREATED,
        Json(CookieSession {
            expires_at: rfc3339(expires_at),
        }),
    )
        .into_response();
    resp.headers_mut().insert(header::SET_COOKIE, set);
    Ok(resp)
}

/// Checks the credentials (backoff first, then the password) and opens a session: its token
/// and when it expires (microseconds).
async fn sign_in(
    state: &AppState,
    client: &Client,
    body: &Credentials,
) -> Result<(NewToken, i64), ApiError> {
    let username = rules::normalize_username(&body.username).ok();
    let known = match (client.ip, &username) {
        (Some(ip), Some(name)) => state.known_logins.contains(ip, name),
        _ => false,
    };
    // The place for its hash first: a login the pool would shed costs no database work, and
    // a flood of them holds no in-flight slot while it waits for the database.
    let place = match state.hasher.admit(known) {
        Ok(place) => place,
        Err(HashError::Busy) => return Err(state.limits.shed(client.ip, Reason::HashingBusy)),
        Err(e) => return Err(hash_error(e)),
    };
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
    let verified = place
        .verify(
            password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await
        .map_err(hash_error)?;
    let Some(user) = user.filter(|_| verified.ok) else {
        let attempted: String = body.username.chars().take(64).collect();
        audit(state, Event::LoginFailure, None, Some(&attempted), client).await;
        if let Some(name) = &username {
            record_failure(state, name, client).await?;
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
        state,
        Event::LoginSuccess,
        Some(&user.id),
        Some(&user.username),
        client,
    )
    .await;
    Ok((new, expires_at))
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
/// `DELETE /v1/sessions/current`: 204; a browser's cookie is deleted too.
pub async fn logout(
    State(state): State<AppState>,
    who: Authenticated,
    client: Client,
) -> Result<Response, ApiError> {
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
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if who.via == Credential::Cookie
        && let Ok(clear) = HeaderValue::from_str(&cookie::clear())
    {
        resp.headers_mut().insert(header::SET_COOKIE, clear);
    }
    Ok(resp)
}
