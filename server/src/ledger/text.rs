//! Limits on free text stored in the ledger (account names, memos). Any characters are data —
//! SQL metacharacters included — except control characters, which have no place in either.

/// Longest account name, in characters.
pub const NAME_MAX: usize = 64;
/// Longest memo, in characters.
pub const MEMO_MAX: usize = 140;

/// Why a text field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty or whitespace only.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// Control characters (including NUL).
    #[error("must not contain control characters")]
    Control,
}

fn check(s: &str, max: usize, allow_empty: bool) -> Result<(), TextError> {
    if !allow_empty && s.trim().is_empty() {
        return Err(TextError::Empty);
    }
    if s.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if s.chars().any(char::is_control) {
        return Err(TextError::Control);
    }
    Ok(())
}

/// An account name: 1..=64 characters, no control characters.
pub fn account_name(s: &str) -> Result<(), TextError> {
    check(s, NAME_MAX, false)
}

/// A memo: 0..=140 characters, no control characters.
pub fn memo(s: &str) -> Result<(), TextError> {
    check(s, MEMO_MAX, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(account_name("Savings"), Ok(()));
        assert_eq!(account_name("'; DROP TABLE accounts; --"), Ok(()));
        assert_eq!(account_name(" "), Err(TextError::Empty));
        assert_eq!(account_name(&"x".repeat(65)), Err(TextError::TooLong(64)));
        assert_eq!(memo(""), Ok(()));
        assert_eq!(memo("rent\r\nX-Injected: 1"), Err(TextError::Control));
        assert_eq!(memo(&"é".repeat(140)), Ok(()));
    }
}
