//! The JSON request body extractor used by every route that takes a body.
//!
//! - `Content-Type` must be `application/json` (parameters allowed): else 415.
//! - The body is read under the route's size limit (`DefaultBodyLimit`): else 413.
//! - Nesting deeper than [`MAX_DEPTH`] is refused before any parsing: 400.
//! - Unknown fields, missing fields and wrong types are 400 naming the field; the message is
//!   ours, never the parser's.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::problem::ApiError;

/// Deepest nesting of arrays/objects accepted in a request body.
pub const MAX_DEPTH: usize = 8;

/// A JSON body deserialised into `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

/// The maximum nesting depth of a JSON text (strings are skipped), cut off at `limit + 1`.
pub fn nesting_depth(bytes: &[u8], limit: usize) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
                if max > limit {
                    return max;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Longest client-supplied name echoed back in an error.
pub const ECHO_MAX: usize = 64;

/// A client-supplied name made safe to echo: at most [`ECHO_MAX`] characters, control
/// characters replaced, so an error never reflects kilobytes of attacker text.
pub fn echo_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(ECHO_MAX)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().count() > ECHO_MAX {
        out.push('…');
    }
    out
}

/// Turns a deserialisation failure into a client-safe message that names the field.
fn describe(err: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = err.inner();
    let path = err.path().to_string();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::BadRequest {
            field: None,
            detail: "The request body is not valid JSON.".to_string(),
        };
    }
    let msg = inner.to_string();
    let quoted = |prefix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|r| r.split('`').next())
            .map(str::to_string)
    };
    let path = echo_name(&path);
    // For unknown and duplicate fields the path already ends with the field; for missing
    // fields it names the enclosing object.
    let join = |name: String| {
        if path.is_empty() || path == "." {
            name
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.clone()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = quoted("missing field `") {
        let field = echo_name(&join(name));
        return ApiError::BadRequest {
            detail: format!("Field `{field}` is required."),
            field: Some(field),
        };
    }
    if let Some(name) = quoted("unknown field `") {
        let field = echo_name(&join(name));
        return ApiError::BadRequest {
            detail: format!("Field `{field}` is not allowed."),
            field: Some(field),
        };
    }
    if msg.starts_with("duplicate field `") {
        let field = quoted("duplicate field `").map(|n| echo_name(&join(n)));
        return ApiError::BadRequest {
            detail: format!(
                "Field `{}` appears more than once.",
                field.as_deref().unwrap_or("?")
            ),
            field,
        };
    }
    if path.is_empty() || path == "." {
        return ApiError::BadRequest {
            field: None,
            detail: "The request body must be a JSON object.".to_string(),
        };
    }
    ApiError::BadRequest {
        detail: format!("Field `{path}` has the wrong type or value."),
        field: Some(path),
    }
}

/// Parses `bytes` as `T` with the depth limit and field-naming errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if nesting_depth(bytes, MAX_DEPTH) > MAX_DEPTH {
        return Err(ApiError::BadRequest {
            field: None,
            detail: format!("The request body nests deeper than {MAX_DEPTH} levels."),
        });
    }
    // Every body is an object; serde would otherwise also fill a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest {
            field: None,
            detail: "The request body must be a JSON object.".to_string(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| describe(&e))?;
    de.end().map_err(|_| ApiError::BadRequest {
        field: None,
        detail: "The request body has trailing data after the JSON value.".to_string(),
    })?;
    Ok(value)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !is_json(ct) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else if crate::http::timed_body::is_too_slow(&rejection) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest {
                    field: None,
                    detail: "The request body could not be read.".to_string(),
                }
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Login {
        username: String,
        password: String,
    }

    fn field_of(body: &str) -> Option<String> {
        match parse::<Login>(body.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("expected 400 for {body}: {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"username":"a"}"#).as_deref(), Some("password"));
        assert_eq!(
            field_of(r#"{"username":"a","password":"b","balance":5}"#).as_deref(),
            Some("balance")
        );
        assert_eq!(
            field_of(r#"{"username":5,"password":"b"}"#).as_deref(),
            Some("username")
        );
        assert_eq!(
            field_of(r#"{"username":"a","username":"c","password":"b"}"#).as_deref(),
            Some("username")
        );
        assert_eq!(field_of("[1,2]"), None);
        assert_eq!(field_of("{"), None);
        assert_eq!(field_of(r#"{"username":"a","password":"b"} x"#), None);
    }

    /// Regression (fuzz/json_body): a 16 KiB unknown field name was echoed back whole.
    #[test]
    fn echoed_field_names_are_bounded_and_clean() {
        let long = format!("{{\"{}\":1}}", "a\\u0007".repeat(2000));
        let Err(ApiError::BadRequest { field, detail }) = parse::<Login>(long.as_bytes()) else {
            panic!("expected a 400");
        };
        let field = field.expect("field named");
        assert!(field.chars().count() <= ECHO_MAX + 1, "{}", field.len());
        assert!(!field.chars().any(char::is_control), "{field:?}");
        assert!(detail.chars().count() < 200, "{}", detail.len());
    }

    #[test]
    fn parser_text_never_reaches_the_client() {
        let Err(ApiError::BadRequest { detail, .. }) =
            parse::<Login>(br#"{"username":5,"password":"b"}"#)
        else {
            panic!("expected an error");
        };
        assert!(!detail.contains("invalid type"), "{detail}");
        assert!(!detail.contains("line"), "{detail}");
    }

    #[test]
    fn depth_is_limited_before_parsing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(nesting_depth(deep.as_bytes(), MAX_DEPTH) > MAX_DEPTH);
        assert!(matches!(
            parse::<serde_json::Value>(deep.as_bytes()),
            Err(ApiError::BadRequest { .. })
        ));
        let deep_object = format!(
            "{}{}",
            "{\"a\":".repeat(20),
            "1".to_string() + &"}".repeat(20)
        );
        let Err(ApiError::BadRequest { detail, .. }) =
            parse::<serde_json::Value>(deep_object.as_bytes())
        else {
            panic!("deep object accepted");
        };
        assert!(detail.contains("deeper"), "{detail}");
        // Brackets inside strings do not count.
        assert_eq!(nesting_depth(br#"{"a":"[[[[[[[[[[[[["}"#, MAX_DEPTH), 1);
        assert_eq!(nesting_depth(br#"{"a":"\"[[[[[[[[[[[[["}"#, MAX_DEPTH), 1);
    }

    #[test]
    fn content_type_must_be_json() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/jsonp")));
        assert!(!is_json(None));
    }
}
