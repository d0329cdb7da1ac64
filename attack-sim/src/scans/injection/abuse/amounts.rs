//! Money fields given what a ledger must refuse: negative, exponent and hexadecimal forms,
//! values past any 64-bit count of cents, fractions of a cent, non-ASCII digits, NaN and
//! infinity. A write that accepts one (2xx) is `amount-abuse`. An input is a money field
//! when its name says `amount`.

use std::sync::LazyLock;

use serde_json::Value;

use super::{Expect, Point, Probe};
use crate::findings::Severity;
use crate::scans::discovery::openapi::{Kind, Location};
use crate::scans::injection::payloads::data;

/// The technique.
pub const TECHNIQUE: &str = "amount-abuse";

/// (value, what it is), from `payloads/abuse/amounts.txt`.
pub static AMOUNTS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    data(include_str!("../../../../payloads/abuse/amounts.txt"))
        .map(|l| {
            l.split_once('\t').unwrap_or_else(|| {
                panic!("payloads/abuse/amounts.txt: `{l}` is not VALUE<TAB>what")
            })
        })
        .collect()
});

/// Whether an input named `name` carries money.
pub fn is_amount(name: &str) -> bool {
    name.to_ascii_lowercase().contains("amount")
}

/// The probes for `p` (money fields only; judged as refusals on writes, else for survival).
pub fn probes(p: &Point<'_>) -> Vec<Probe> {
    if !is_amount(&p.input.name) {
        return Vec::new();
    }
    let numeric = matches!(p.input.kind, Kind::Integer | Kind::Number);
    AMOUNTS
        .iter()
        .map(|(value, what)| {
            let req = match serde_json::from_str::<Value>(value) {
                // As written: a number's own text is the abuse (`1E+2`, `-1.00`).
                Ok(Value::Number(_)) if numeric && p.input.location == Location::Body => {
                    p.raw(value.as_bytes())
                }
                _ => p.with(value),
            };
            Probe {
                technique: TECHNIQUE,
                severity: Severity::High,
                what: format!("the amount `{value}` ({what})"),
                req,
                expect: if p.writes() {
                    Expect::Refused
                } else {
                    Expect::Survived
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_fields_and_their_abuses() {
        assert!(is_amount("amount") && is_amount("min_amount") && !is_amount("memo"));
        let values: Vec<&str> = AMOUNTS.iter().map(|(v, _)| *v).collect();
        for v in ["-1.00", "1e3", "0x10", "١٠٠", "１００", "NaN"] {
            assert!(values.contains(&v), "{v}");
        }
    }
}
