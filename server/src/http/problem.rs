//! The one error type at the HTTP edge. It renders RFC 9457 `application/problem+json`
//! bodies (`type`, `title`, `status`, `detail`) and logs the underlying cause server-side;
//! the cause never reaches the client (no SQL, paths, library text or panics).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such route or resource.
    #[error("not found")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A dependency is down or the server is shedding load; the client may retry later.
    #[error("unavailable: {cause}")]
    Unavailable {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
        /// Logged only.
        cause: String,
    },
    /// A bug or unexpected failure. The cause is logged, the client sees a generic message.
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

/// Media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "urn:rampart:problem:not-found",
                "Not Found",
                "No resource exists at this path.",
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "urn:rampart:problem:method-not-allowed",
                "Method Not Allowed",
                "This resource does not support the request method.",
            ),
            ApiError::Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "urn:rampart:problem:unavailable",
                "Service Unavailable",
                "The service cannot handle the request right now; retry later.",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "urn:rampart:problem:internal",
                "Internal Server Error",
                "The request could not be completed.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title, detail) = self.parts();
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable { cause, .. } => tracing::warn!(%cause, "request refused"),
            _ => {}
        }
        let body = serde_json::to_vec(&Problem {
            kind,
            title,
            status: status.as_u16(),
            detail,
        })
        .unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let ApiError::Unavailable {
            retry_after_secs, ..
        } = self
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(e: ApiError) -> (StatusCode, Response, serde_json::Value) {
        let resp = e.into_response();
        let status = resp.status();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        let json = serde_json::from_slice(&bytes).expect("json");
        (
            status,
            Response::from_parts(parts, axum::body::Body::empty()),
            json,
        )
    }

    #[tokio::test]
    async fn internal_errors_never_leak_the_cause() {
        let secret = "SELECT * FROM users WHERE /home/rampart/data.db";
        let (status, resp, json) = body_of(ApiError::Internal(secret.into())).await;
        assert_eq!(status, 500);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let text = json.to_string();
        assert!(
            !text.contains("SELECT") && !text.contains("/home"),
            "{text}"
        );
        for k in ["type", "title", "status", "detail"] {
            assert!(json.get(k).is_some(), "missing {k}: {text}");
        }
    }

    #[tokio::test]
    async fn unavailable_carries_retry_after() {
        let (status, resp, json) = body_of(ApiError::Unavailable {
            retry_after_secs: 7,
            cause: "pool closed".into(),
        })
        .await;
        assert_eq!(status, 503);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "7");
        assert!(!json.to_string().contains("pool"));
    }
}
