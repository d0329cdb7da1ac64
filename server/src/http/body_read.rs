//! Request bodies are read whole before their request may take an in-flight slot.
//!
//! The in-flight cap ([`super::rate_limit`]) protects handler work: database connections, the
//! hashing pool, the CPU of the ledger. A body that is still arriving uses none of that, so it
//! must not hold a slot: when it did, slow uploads from 256 addresses (none of them over any
//! per-client limit) filled the 512 slots while their bytes trickled in, and everybody else
//! got 503 (`attack-sim run dos --spawn --intensity stress`: slow-body denied, 3.3 %
//! legitimate success).
//!
//! Body reading has its own bound instead, per client (IPv4 /32, IPv6 /64; counted in
//! `crate::limits::client_slots`): at most `limits.max_body_reads_per_client` requests of one client may
//! have their bodies in progress at once. Beyond that the request is refused with 429 and its connection closed, counted as
//! `body_reads`. What a body may hold while it arrives is bounded by the body size limit
//! ([`super::MAX_BODY_BYTES`]) and its pace by `http.body_read_timeout` and
//! `http.body_min_rate` (`super::timed_body`), so one client can hold at most
//! `max_body_reads_per_client` x 16 KiB, for as long as it keeps sending at the minimum rate.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body as _;

use super::problem::ApiError;

/// Whether the request has a body still to read (a GET without one has none).
pub fn has_body(req: &Request) -> bool {
    !req.body().is_end_stream()
}

/// Reads the whole body of `req`, at most `limit` bytes, and gives the request back with the
/// bytes as its body. Too large: 413; too slow (`super::timed_body`): 408; cut off: 400.
pub async fn read_whole(req: Request, limit: usize) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge),
        Err(e) if crate::http::timed_body::is_too_slow(e.as_ref()) => {
            return Err(ApiError::RequestTimeout);
        }
        Err(_) => {
            return Err(ApiError::BadRequest {
                field: None,
                detail: "The request body could not be read.".to_string(),
            });
        }
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_are_read_whole_under_the_limit() {
        let req = Request::post("/x")
            .body(Body::from("0123456789"))
            .expect("req");
        assert!(has_body(&req));
        let req = read_whole(req, 10).await.expect("fits");
        let bytes = req.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&bytes[..], b"0123456789");

        let req = Request::post("/x")
            .body(Body::from("0123456789!"))
            .expect("req");
        assert!(matches!(
            read_whole(req, 10).await,
            Err(ApiError::PayloadTooLarge)
        ));
        assert!(!has_body(
            &Request::get("/x").body(Body::empty()).expect("req")
        ));
    }
}
