//! CRLF injection: a line break and a header field in the value (raw, bare LF, already
//! percent-encoded, and as the two CJK characters whose low bytes are CR and LF). An answer
//! whose head carries the field was split by the input (`crlf-injection`). Not tried on
//! header inputs, where a line break would end the scanner's own field.

use std::sync::LazyLock;

use super::{Expect, Point, Probe};
use crate::declared::random_hex;
use crate::findings::Severity;
use crate::scans::discovery::openapi::Location;
use crate::scans::injection::payloads::{data, fill};

/// The technique.
pub const TECHNIQUE: &str = "crlf-injection";

static TEMPLATES: LazyLock<Vec<String>> = LazyLock::new(|| {
    data(include_str!("../../../../payloads/abuse/crlf.txt"))
        .map(unescape)
        .collect()
});

/// `line` with `\r`, `\n`, `\\` and `\u{XXXX}` turned into what they name.
pub fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (c, used) = match after.chars().next() {
            Some('r') => (Some('\r'), 1),
            Some('n') => (Some('\n'), 1),
            Some('\\') => (Some('\\'), 1),
            Some('u') if after.starts_with("u{") => match after.find('}') {
                Some(end) => (
                    u32::from_str_radix(&after[2..end], 16)
                        .ok()
                        .and_then(char::from_u32),
                    end + 1,
                ),
                None => (None, 0),
            },
            _ => (None, 0),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

/// The probes for `p`.
pub fn probes(p: &Point<'_>) -> Vec<Probe> {
    if p.input.location == Location::Header {
        return Vec::new();
    }
    let canary = format!("cnry{}", random_hex(4));
    TEMPLATES
        .iter()
        .map(|t| {
            let payload = fill(t, &p.orig, &[("canary", &canary)]);
            Probe {
                technique: TECHNIQUE,
                severity: Severity::High,
                what: format!("a line break and a header field ({:?})", payload),
                req: p.with(&payload),
                expect: Expect::NoHeader(canary.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_carry_real_line_breaks() {
        assert_eq!(unescape(r"a\r\nb\\c\u{560d}"), "a\r\nb\\c\u{560d}");
        assert_eq!(unescape(r"odd\q"), r"odd\q");
        assert!(TEMPLATES.len() >= 4);
        assert!(TEMPLATES.iter().all(|t| t.contains("{canary}")));
        assert!(TEMPLATES[0].contains("\r\n"));
    }
}
