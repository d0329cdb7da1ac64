//! Amounts: decimal strings with at most two fraction digits (`"12.50"`), positive, at most
//! `"1000000000.00"`, held as integer cents. No signs, exponents, spaces, separators or
//! non-ASCII digits: the only accepted form is the one we print.

use std::fmt;

/// Largest single amount, in cents (1,000,000,000.00).
pub const MAX_CENTS: i64 = 100_000_000_000;

/// A positive amount of money in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

/// Why an amount string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not of the form `123` / `123.4` / `123.45`.
    #[error(
        "must be a decimal string such as \"12.50\" (digits, optional '.', at most two decimals)"
    )]
    Format,
    /// Zero.
    #[error("must be greater than zero")]
    Zero,
    /// Above [`MAX_CENTS`].
    #[error("must be at most 1000000000.00")]
    TooLarge,
}

impl Amount {
    /// Parses the API form.
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || int.len() > 10 || (int.len() > 1 && int.starts_with('0')) {
            return Err(AmountError::Format);
        }
        let frac_cents = match frac {
            None => 0,
            Some(f) if digits(f) && f.len() <= 2 => {
                let v: i64 = f.parse().map_err(|_| AmountError::Format)?;
                if f.len() == 1 { v * 10 } else { v }
            }
            Some(_) => return Err(AmountError::Format),
        };
        let units: i64 = int.parse().map_err(|_| AmountError::Format)?;
        let cents = units
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac_cents))
            .ok_or(AmountError::TooLarge)?;
        Self::from_cents(cents)
    }

    /// From stored cents.
    pub fn from_cents(cents: i64) -> Result<Self, AmountError> {
        match cents {
            c if c <= 0 => Err(AmountError::Zero),
            c if c > MAX_CENTS => Err(AmountError::TooLarge),
            c => Ok(Amount(c)),
        }
    }

    /// Integer cents.
    pub fn cents(self) -> i64 {
        self.0
    }
}

/// Formats cents (any non-negative balance) as `"units.cc"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_cents(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_canonical_forms() {
        assert_eq!(Amount::parse("12.50").map(Amount::cents), Ok(1250));
        assert_eq!(Amount::parse("12.5").map(Amount::cents), Ok(1250));
        assert_eq!(Amount::parse("12").map(Amount::cents), Ok(1200));
        assert_eq!(Amount::parse("0.01").map(Amount::cents), Ok(1));
        assert_eq!(
            Amount::parse("1000000000.00").map(Amount::cents),
            Ok(MAX_CENTS)
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "", ".", "1.", ".5", "1.234", "-1", "+1", "1e3", "1E3", " 1", "1 ", "1,00", "01",
            "00.50", "1.-5", "١٢", "１２", "0x10", "NaN", "inf", "1.5.5", "\u{0}1",
        ] {
            assert_eq!(Amount::parse(bad), Err(AmountError::Format), "{bad:?}");
        }
        assert_eq!(Amount::parse("0"), Err(AmountError::Zero));
        assert_eq!(Amount::parse("0.00"), Err(AmountError::Zero));
        assert_eq!(Amount::parse("1000000000.01"), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse("9999999999.99"), Err(AmountError::TooLarge));
        assert_eq!(Amount::parse("99999999999"), Err(AmountError::Format));
    }

    #[test]
    fn formatting_round_trips() {
        for cents in [1, 9, 10, 99, 100, 1250, 123_456_789, MAX_CENTS] {
            let a = Amount::from_cents(cents).expect("valid");
            assert_eq!(Amount::parse(&a.to_string()), Ok(a));
        }
        assert_eq!(format_cents(0), "0.00");
        assert_eq!(format_cents(5), "0.05");
    }
}
