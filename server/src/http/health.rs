//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers).

use std::time::Duration;

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::openapi::{Problem, Status};
use super::problem::ApiError;

/// How long readiness waits for the database before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process answers", body = Status, example = json!({"status": "ok"}))))]
/// `GET /healthz`.
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".to_string(),
    })
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "The database answers", body = Status), (status = 503, description = "Database unreachable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `GET /readyz`: 200 when a database round trip succeeds, else 503 with `Retry-After`.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(Json(Status {
            status: "ready".to_string(),
        })),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            retry_after_secs: 5,
            cause: e.to_string(),
        }),
        Err(_) => Err(ApiError::Unavailable {
            retry_after_secs: 5,
            cause: "database ping timed out".to_string(),
        }),
    }
}
