//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::problem::ApiError;

/// How long readiness waits for the database before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when a database round trip succeeds, else 503 with `Retry-After`.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(Json(json!({"status": "ready"}))),
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
