//! The `Idempotency-Key` header of money-moving requests, and the canonical request hash a
//! key is bound to: a replay with the same key and request returns what the first request
//! did, and the same key with another request is refused (422).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::problem::ApiError;

/// Longest idempotency key accepted.
pub const KEY_MAX: usize = 128;

/// The key, which the route requires.
pub fn required(headers: &HeaderMap) -> Result<String, ApiError> {
    optional(headers)?.ok_or_else(|| bad("The Idempotency-Key header is required."))
}

/// The key, if the request sent one; a malformed one is refused (400).
pub fn optional(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| bad("Idempotency-Key must be visible ASCII."))?;
    if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "Idempotency-Key must be 1 to 128 visible ASCII characters.",
        ));
    }
    Ok(Some(key.to_string()))
}

fn bad(detail: &str) -> ApiError {
    ApiError::BadRequest {
        field: Some("Idempotency-Key".to_string()),
        detail: detail.to_string(),
    }
}

/// The SHA-256 (hex) of the request's fields, each prefixed by its length so that no two
/// different requests share an encoding.
pub fn request_hash(fields: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in fields {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// The 201 of a money-moving request: `body`, marked `Idempotent-Replayed: true` when it is
/// what an earlier request with the same key did.
pub fn created(body: impl Serialize, replayed: bool) -> Response {
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn request_hash_separates_fields() {
        assert_ne!(request_hash(&[b"a", b"bc"]), request_hash(&[b"ab", b"c"]));
        assert_ne!(request_hash(&[b"a", b"x"]), request_hash(&[b"a", b"y"]));
        assert_eq!(request_hash(&[b"a", b"x"]), request_hash(&[b"a", b"x"]));
    }

    #[test]
    fn keys_are_checked() {
        let mut h = HeaderMap::new();
        assert!(required(&h).is_err());
        assert_eq!(optional(&h).ok(), Some(None));
        h.insert("idempotency-key", HeaderValue::from_static("abc-123"));
        assert_eq!(required(&h).ok().as_deref(), Some("abc-123"));
        h.insert("idempotency-key", HeaderValue::from_static("has space"));
        assert!(required(&h).is_err());
        assert!(optional(&h).is_err());
        let long = "k".repeat(KEY_MAX + 1);
        h.insert(
            "idempotency-key",
            HeaderValue::from_str(&long).expect("value"),
        );
        assert!(optional(&h).is_err());
    }
}
