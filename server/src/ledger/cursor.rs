//! Opaque, tamper-evident pagination cursors for the transaction history.
//!
//! A cursor names the last row of a page (its sort key and id) and the query it belongs to
//! (account, sort, order, search text). It is `base64url(payload || tag)` where `tag` is the
//! first 16 bytes of HMAC-SHA256 over the payload with a server key shared by every instance.
//! A forged, truncated or altered cursor, or one from another query, is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Longest encoded cursor accepted.
pub const MAX_ENCODED: usize = 512;

/// Where a page ended, and for which query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The account whose history this is.
    pub account_id: String,
    /// `created_at` or `amount`.
    pub sort: String,
    /// `asc` or `desc`.
    pub order: String,
    /// The search text.
    pub q: String,
    /// Sort key of the last row (microseconds or cents).
    pub key: i64,
    /// Id of the last row (tie-breaker).
    pub id: String,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not base64url, too short or too long, wrong version, or a bad layout.
    #[error("is malformed")]
    Malformed,
    /// The tag does not match: altered or forged.
    #[error("is not valid")]
    Forged,
    /// Valid, but for another account or other query parameters.
    #[error("belongs to a different query")]
    OtherQuery,
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

fn take_str<'a>(buf: &mut &'a [u8]) -> Option<&'a str> {
    let (len, rest) = buf.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    let (s, rest) = (rest.get(..len)?, rest.get(len..)?);
    *buf = rest;
    std::str::from_utf8(s).ok()
}

fn tag(key: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

impl Cursor {
    /// Encodes and signs.
    pub fn encode(&self, key: &[u8]) -> String {
        let mut payload = vec![VERSION];
        for s in [&self.account_id, &self.sort, &self.order, &self.q] {
            push_str(&mut payload, s);
        }
        payload.extend_from_slice(&self.key.to_be_bytes());
        push_str(&mut payload, &self.id);
        let t = tag(key, &payload);
        payload.extend_from_slice(&t);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// Verifies and decodes.
    pub fn decode(encoded: &str, key: &[u8]) -> Result<Self, CursorError> {
        if encoded.len() > MAX_ENCODED {
            return Err(CursorError::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CursorError::Malformed)?;
        if raw.len() < 1 + TAG_LEN {
            return Err(CursorError::Malformed);
        }
        let (payload, got) = raw.split_at(raw.len() - TAG_LEN);
        let want = tag(key, payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], got)) {
            return Err(CursorError::Forged);
        }
        let (&version, mut rest) = payload.split_first().ok_or(CursorError::Malformed)?;
        if version != VERSION {
            return Err(CursorError::Malformed);
        }
        let mut s = || {
            take_str(&mut rest)
                .map(str::to_string)
                .ok_or(CursorError::Malformed)
        };
        let (account_id, sort, order, q) = (s()?, s()?, s()?, s()?);
        let (k, tail) = rest
            .split_first_chunk::<8>()
            .ok_or(CursorError::Malformed)?;
        let key_value = i64::from_be_bytes(*k);
        let mut tail = tail;
        let id = take_str(&mut tail)
            .map(str::to_string)
            .ok_or(CursorError::Malformed)?;
        if !tail.is_empty() {
            return Err(CursorError::Malformed);
        }
        Ok(Cursor {
            account_id,
            sort,
            order,
            q,
            key: key_value,
            id,
        })
    }

    /// Decodes and checks that the cursor belongs to this query.
    pub fn decode_for(
        encoded: &str,
        key: &[u8],
        account_id: &str,
        sort: &str,
        order: &str,
        q: &str,
    ) -> Result<Self, CursorError> {
        let c = Self::decode(encoded, key)?;
        if c.account_id != account_id || c.sort != sort || c.order != order || c.q != q {
            return Err(CursorError::OtherQuery);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn sample() -> Cursor {
        Cursor {
            account_id: "a1".into(),
            sort: "amount".into(),
            order: "desc".into(),
            q: "rent %".into(),
            key: -42,
            id: "t9".into(),
        }
    }

    #[test]
    fn round_trips() {
        let c = sample();
        let e = c.encode(KEY);
        assert_eq!(Cursor::decode(&e, KEY), Ok(c.clone()));
        assert_eq!(
            Cursor::decode_for(&e, KEY, "a1", "amount", "desc", "rent %"),
            Ok(c)
        );
    }

    #[test]
    fn any_change_is_detected() {
        let e = sample().encode(KEY);
        let mut raw = URL_SAFE_NO_PAD.decode(&e).expect("b64");
        for i in 0..raw.len() {
            raw[i] ^= 1;
            let altered = URL_SAFE_NO_PAD.encode(&raw);
            assert!(
                Cursor::decode(&altered, KEY).is_err(),
                "byte {i} flip accepted"
            );
            raw[i] ^= 1;
        }
        assert_eq!(Cursor::decode(&e, b"another key"), Err(CursorError::Forged));
        assert!(Cursor::decode(&e[..e.len() - 2], KEY).is_err());
        assert_eq!(Cursor::decode("", KEY), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode("!!!", KEY), Err(CursorError::Malformed));
        assert_eq!(
            Cursor::decode(&"A".repeat(600), KEY),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn cursors_are_bound_to_their_query() {
        let e = sample().encode(KEY);
        for (acct, sort, order, q) in [
            ("a2", "amount", "desc", "rent %"),
            ("a1", "created_at", "desc", "rent %"),
            ("a1", "amount", "asc", "rent %"),
            ("a1", "amount", "desc", "rent"),
        ] {
            assert_eq!(
                Cursor::decode_for(&e, KEY, acct, sort, order, q),
                Err(CursorError::OtherQuery)
            );
        }
    }
}
