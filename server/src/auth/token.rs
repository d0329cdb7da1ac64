//! Bearer tokens: 256 random bits, base64url without padding (43 characters). The server keeps
//! only their SHA-256, so a database leak yields no usable token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Length of an encoded token.
pub const TOKEN_CHARS: usize = 43;

/// A freshly generated token and the hash to store.
pub struct NewToken {
    /// Given to the client once.
    pub token: String,
    /// Stored.
    pub hash: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewToken(..)")
    }
}

/// Generates a token from the TLS provider's CSPRNG.
pub fn generate() -> Result<NewToken, String> {
    let mut bytes = [0u8; 32];
    crate::tls::provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|e| format!("random generator failed: {e:?}"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_hex(&bytes);
    Ok(NewToken { token, hash })
}

fn hash_hex(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// The stored hash for a presented token, or `None` if it is not a well-formed token.
pub fn hash_of(token: &str) -> Option<String> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    (raw.len() == 32).then(|| hash_hex(&raw))
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn from_authorization(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_consistently() {
        let a = generate().expect("token");
        let b = generate().expect("token");
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), TOKEN_CHARS);
        assert_eq!(hash_of(&a.token).as_deref(), Some(a.hash.as_str()));
        assert_eq!(a.hash.len(), 64);
        assert!(!format!("{a:?}").contains(&a.token));
    }

    #[test]
    fn malformed_tokens_have_no_hash() {
        assert_eq!(hash_of(""), None);
        assert_eq!(hash_of(&"A".repeat(42)), None);
        assert_eq!(hash_of(&"!".repeat(43)), None);
        assert_eq!(hash_of(&"A".repeat(44)), None);
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(from_authorization("Bearer abc"), Some("abc"));
        assert_eq!(from_authorization("bearer  abc "), Some("abc"));
        assert_eq!(from_authorization("Basic abc"), None);
        assert_eq!(from_authorization("Bearer "), None);
        assert_eq!(from_authorization("Bearer"), None);
    }
}
