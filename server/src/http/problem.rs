//! The one error type at the HTTP edge. It renders RFC 9457 `application/problem+json`
//! bodies (`type`, `title`, `status`, `detail`) and logs the underlying cause server-side;
//! the cause never reaches the client (no SQL, paths, library text or panics).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// What a client is told to wait, in seconds, when the database cannot serve: a restart or a
/// failover takes seconds, and a client that retries sooner only adds to the queue.
pub const DATABASE_RETRY_AFTER_SECS: u32 = 2;

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request (bad JSON, unknown or missing field); `detail` is our own text.
    #[error("bad request: {detail}")]
    BadRequest {
        /// The offending field, when there is one.
        field: Option<String>,
        /// Client-safe explanation.
        detail: String,
    },
    /// Missing, malformed, unknown, expired or revoked credentials: always the same answer.
    #[error("unauthorized")]
    Unauthorized,
    /// A state change authenticated by the session cookie that a browser sent on another
    /// site's behalf (`crate::http::same_origin`).
    #[error("cross-site request refused")]
    CrossSite,
    /// No such route or resource (including resources of other users).
    #[error("not found")]
    NotFound,
    /// The request conflicts with existing state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request body arrived too slowly (slow POST).
    #[error("request timeout")]
    RequestTimeout,
    /// The body is larger than the route accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// Well-formed but breaks a rule (password too short, insufficient funds).
    #[error("unprocessable: {field}: {detail}")]
    Unprocessable {
        /// The field whose value breaks the rule.
        field: String,
        /// Client-safe explanation.
        detail: String,
    },
    /// Rate limited; retry after the given seconds.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
    },
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
    /// Shed for load, already counted and logged (at most once per client and interval) by
    /// [`crate::limits::refusals::Refusals`]: the same 503 as `Unavailable`, logged no more,
    /// so that a flood of shed requests is not also a flood of log lines.
    #[error("shed for load")]
    Shed {
        /// Seconds for `Retry-After`.
        retry_after_secs: u32,
    },
    /// A bug or unexpected failure. The cause is logged, the client sees a generic message.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A rule violation (422) about `field`; the detail reads "`field` <reason>".
    pub fn field(field: &str, reason: impl std::fmt::Display) -> Self {
        ApiError::Unprocessable {
            detail: format!("{field} {reason}"),
            field: field.to_string(),
        }
    }
}

/// A database failure: 503 with `Retry-After` when the database is unreachable, overloaded
/// or refusing writes for now ([`crate::db::is_unavailable`]), so that clients and load
/// balancers retry; 500 for anything else. The cause is only logged.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            ApiError::Unavailable {
                retry_after_secs: DATABASE_RETRY_AFTER_SECS,
                cause: format!("database unavailable: {e}"),
            }
        } else {
            ApiError::Internal(format!("database: {e}"))
        }
    }
}

/// A storage failure the handler did not expect: as [`sqlx::Error`]'s; a unique violation
/// the handler did not handle is a bug.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => e.into(),
            StoreError::Conflict => ApiError::Internal("unexpected unique violation".into()),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    /// Extension member: the request field the problem is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// Media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "urn:rampart:problem:bad-request",
                "Bad Request",
                "The request is malformed.",
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "urn:rampart:problem:unauthorized",
                "Unauthorized",
                "Valid credentials are required.",
            ),
            ApiError::CrossSite => (
                StatusCode::FORBIDDEN,
                "urn:rampart:problem:cross-site",
                "Forbidden",
                "This request came from another site; nothing was changed.",
            ),
            ApiError::Conflict(_) => (
                StatusCode::CONFLICT,
                "urn:rampart:problem:conflict",
                "Conflict",
                "The request conflicts with the current state.",
            ),
            ApiError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "urn:rampart:problem:request-timeout",
                "Request Timeout",
                "The request body arrived too slowly.",
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "urn:rampart:problem:payload-too-large",
                "Payload Too Large",
                "The request body is larger than this resource accepts.",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "urn:rampart:problem:unsupported-media-type",
                "Unsupported Media Type",
                "The request body must be application/json.",
            ),
            ApiError::Unprocessable { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "urn:rampart:problem:rule-violated",
                "Unprocessable Content",
                "The request breaks a rule.",
            ),
            ApiError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "urn:rampart:problem:rate-limited",
                "Too Many Requests",
                "Too many requests; retry later.",
            ),
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
            ApiError::Unavailable { .. } | ApiError::Shed { .. } => (
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
        let (status, kind, title, generic) = self.parts();
        let (detail, field) = match &self {
            ApiError::BadRequest { field, detail } => (detail.as_str(), field.as_deref()),
            ApiError::Unprocessable { field, detail } => (detail.as_str(), Some(field.as_str())),
            ApiError::Conflict(detail) => (detail.as_str(), None),
            _ => (generic, None),
        };
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
            field,
        })
        .unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match self {
            ApiError::Unavailable {
                retry_after_secs, ..
            }
            | ApiError::Shed { retry_after_secs }
            | ApiError::TooManyRequests { retry_after_secs } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::RequestTimeout => {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::Unauthorized => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"rampart\""),
                );
            }
            _ => {}
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
