//! The browser's session cookie: the same token as a bearer token (the same `sessions` row,
//! so the same expiry, revocation and login backoff), carried in a `__Host-` cookie that
//! script cannot read (`HttpOnly`), that travels only over TLS (`Secure`), only to this host
//! (`__Host-`: no `Domain`, `Path=/`) and never on a request another site starts
//! (`SameSite=Strict`).

/// The cookie's name. The `__Host-` prefix makes browsers refuse it unless it is `Secure`,
/// has `Path=/` and no `Domain`.
pub const NAME: &str = "__Host-rampart-session";

/// The `Set-Cookie` value that stores `token` for `max_age_secs` seconds.
pub fn set(token: &str, max_age_secs: u64) -> String {
    format!("{NAME}={token}; Max-Age={max_age_secs}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that deletes the cookie.
pub fn clear() -> String {
    format!("{NAME}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The session token in a `Cookie` header value, if it carries exactly one session cookie.
/// Two cookies of that name (one planted by a sibling host, say) are refused rather than
/// guessed between.
pub fn from_header(value: &str) -> Option<&str> {
    let mut found = None;
    for pair in value.split(';') {
        let Some((name, token)) = pair.trim().split_once('=') else {
            continue;
        };
        if name == NAME {
            if found.is_some() {
                return None;
            }
            found = Some(token);
        }
    }
    found.filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_has_every_attribute_and_no_domain() {
        let c = set("abc", 60);
        for part in [
            "__Host-rampart-session=abc",
            "Max-Age=60",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(c.split("; ").any(|p| p == part), "{part} missing in {c}");
        }
        assert!(!c.to_ascii_lowercase().contains("domain"));
        assert!(clear().contains("Max-Age=0"));
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        assert_eq!(from_header("__Host-rampart-session=tok"), Some("tok"));
        assert_eq!(
            from_header("a=1; __Host-rampart-session=tok; b=2"),
            Some("tok")
        );
        assert_eq!(from_header("a=1; b=2"), None);
        assert_eq!(from_header("__Host-rampart-session="), None);
        assert_eq!(from_header("rampart-session=tok"), None);
        assert_eq!(
            from_header("__Host-rampart-session=a; __Host-rampart-session=b"),
            None
        );
    }
}
