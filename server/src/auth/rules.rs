//! Username and password rules.
//!
//! Usernames: NFKC-normalised, lowercased, then 3..=32 of `[a-z0-9_.-]` — so two names that
//! look alike after normalisation are the same name. Passwords (NIST 800-63B 5.1.1.2):
//! NFKC-normalised, at least `min` and at most 128 characters, no composition rules, not in the
//! embedded list of the 10,000 most common passwords, not the username, no control characters.

use std::collections::HashSet;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// Longest password accepted, in characters.
pub const PASSWORD_MAX_CHARS: usize = 128;

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

/// Number of entries in the embedded blocklist.
pub fn blocklist_len() -> usize {
    COMMON_PASSWORDS.len()
}

/// Why a username or password was refused (shown to the client; names no internals).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Username length outside 3..=32.
    #[error("must be 3 to 32 characters")]
    UsernameLength,
    /// A character outside `[a-z0-9_.-]` after normalisation.
    #[error("may contain only letters a-z, digits, '_', '.' and '-'")]
    UsernameCharset,
    /// Too short.
    #[error("must be at least {0} characters")]
    PasswordTooShort(usize),
    /// Too long.
    #[error("must be at most {PASSWORD_MAX_CHARS} characters")]
    PasswordTooLong,
    /// Control characters (including NUL) are not accepted.
    #[error("must not contain control characters")]
    PasswordControl,
    /// In the common-password list.
    #[error("is too common; choose a longer, less predictable passphrase")]
    PasswordCommon,
    /// Same as the username.
    #[error("must not be the username")]
    PasswordIsUsername,
}

/// Normalises a username for storage and lookup, or says why it is not acceptable.
pub fn normalize_username(raw: &str) -> Result<String, RuleError> {
    let name: String = raw.nfkc().collect::<String>().to_lowercase();
    let len = name.chars().count();
    if !(3..=32).contains(&len) {
        return Err(RuleError::UsernameLength);
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
    {
        return Err(RuleError::UsernameCharset);
    }
    Ok(name)
}

/// NFKC form of a password: what is hashed and compared, at registration and at login.
pub fn normalize_password(raw: &str) -> String {
    raw.nfkc().collect()
}

/// Checks a new password for `username` (already normalised); returns the normalised password.
pub fn check_new_password(raw: &str, username: &str, min: usize) -> Result<String, RuleError> {
    let pw = normalize_password(raw);
    let len = pw.chars().count();
    if len < min {
        return Err(RuleError::PasswordTooShort(min));
    }
    if len > PASSWORD_MAX_CHARS {
        return Err(RuleError::PasswordTooLong);
    }
    if pw.chars().any(char::is_control) {
        return Err(RuleError::PasswordControl);
    }
    let lower = pw.to_lowercase();
    if COMMON_PASSWORDS.contains(lower.as_str()) {
        return Err(RuleError::PasswordCommon);
    }
    if lower == username || normalize_username(&pw).is_ok_and(|n| n == username) {
        return Err(RuleError::PasswordIsUsername);
    }
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(normalize_username("Alice_01").as_deref(), Ok("alice_01"));
        // Fullwidth letters normalise to ASCII: the same user, not a look-alike.
        assert_eq!(normalize_username("ａｌｉｃｅ").as_deref(), Ok("alice"));
        assert_eq!(normalize_username("al"), Err(RuleError::UsernameLength));
        assert_eq!(
            normalize_username(&"a".repeat(33)),
            Err(RuleError::UsernameLength)
        );
        assert_eq!(
            normalize_username("al ice"),
            Err(RuleError::UsernameCharset)
        );
        assert_eq!(normalize_username("alïce"), Err(RuleError::UsernameCharset));
        assert_eq!(normalize_username("al'--"), Err(RuleError::UsernameCharset));
    }

    #[test]
    fn passwords_follow_nist_rules() {
        let ok = "correct horse battery staple";
        assert_eq!(check_new_password(ok, "alice", 15).as_deref(), Ok(ok));
        assert_eq!(
            check_new_password("short", "alice", 15),
            Err(RuleError::PasswordTooShort(15))
        );
        assert_eq!(
            check_new_password(&"x".repeat(129), "alice", 15),
            Err(RuleError::PasswordTooLong)
        );
        assert_eq!(
            check_new_password("with a nul \0 inside it", "alice", 15),
            Err(RuleError::PasswordControl)
        );
        // No composition rules: all lowercase letters and spaces is fine.
        assert!(check_new_password("just lowercase words here", "alice", 15).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        assert_eq!(blocklist_len(), 10_000);
        assert_eq!(
            check_new_password("password", "alice", 8),
            Err(RuleError::PasswordCommon)
        );
        assert_eq!(
            check_new_password("PassWord1", "alice", 8),
            Err(RuleError::PasswordCommon)
        );
        assert_eq!(
            check_new_password("baseball", "alice", 8),
            Err(RuleError::PasswordCommon)
        );
    }

    #[test]
    fn password_equal_to_username_is_refused() {
        assert_eq!(
            check_new_password("longusername_123", "longusername_123", 15),
            Err(RuleError::PasswordIsUsername)
        );
        assert_eq!(
            check_new_password("LongUserName_123", "longusername_123", 15),
            Err(RuleError::PasswordIsUsername)
        );
    }

    #[test]
    fn length_counts_characters_after_nfkc() {
        // 15 characters, 45 bytes: accepted at minimum 15.
        let pw = "ßßßßßßßßßßßßßßß";
        assert_eq!(pw.chars().count(), 15);
        assert!(check_new_password(pw, "alice", 15).is_ok());
        // The ligature "ﬁ" is one code point that NFKC turns into two ("fi").
        assert_eq!(normalize_password("ﬁ"), "fi");
    }
}
