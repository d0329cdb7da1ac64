//! Page comparison, as sqlmap judges boolean differentials: two answers are the same page
//! when their status codes are equal and their bodies are at least [`SAME_PAGE`] similar.
//! Bodies are compared as multisets of tokens (runs of letters and digits, and single
//! punctuation marks), with every token that holds a digit folded into one: ids, timestamps,
//! balances and counters change between identical requests and must not make a page differ.

use std::collections::HashMap;

use super::http::Reply;

/// The similarity at or above which two bodies are the same page (sqlmap's upper ratio
/// bound).
pub const SAME_PAGE: f64 = 0.98;

/// The tokens of `body`, dynamic ones folded.
pub fn tokens(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            if word.chars().any(|c| c.is_ascii_digit()) {
                out.push("\u{0}#".to_string());
            } else {
                out.push(std::mem::take(word));
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// How alike two bodies are, 0..=1: twice the tokens they share over all their tokens (1 when
/// both are empty).
pub fn similarity(a: &[u8], b: &[u8]) -> f64 {
    let (ta, tb) = (tokens(a), tokens(b));
    if ta.is_empty() && tb.is_empty() {
        return 1.0;
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for t in &ta {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &tb {
        if let Some(n) = counts.get_mut(t.as_str())
            && *n > 0
        {
            *n -= 1;
            common += 1;
        }
    }
    2.0 * common as f64 / (ta.len() + tb.len()) as f64
}

/// Whether two answers are the same page.
pub fn same_page(a: &Reply, b: &Reply) -> bool {
    a.status() == b.status() && similarity(&a.response.body, &b.response.body) >= SAME_PAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_values_do_not_make_a_page_differ() {
        let a = br#"{"id":"5f0c9e1a-0b7d-4c4e-9a4e-3b1e2f7d9c01","balance":"99.00","created_at":"2026-12-01T09:23:56Z","name":"main"}"#;
        let b = br#"{"id":"77aa01ff-1c2d-4e5f-8a9b-0c1d2e3f4a5b","balance":"98.00","created_at":"2026-12-01T09:24:01Z","name":"main"}"#;
        assert_eq!(similarity(a, b), 1.0);
    }

    #[test]
    fn different_content_is_a_different_page() {
        let rows = br#"[{"id":1,"name":"alice","email":"alice@example.test"}]"#;
        assert!(similarity(rows, b"[]") < 0.5);
        assert!(
            similarity(
                rows,
                br#"[{"id":2,"name":"bob","email":"bob@example.test"}]"#
            ) < SAME_PAGE
        );
        assert_eq!(similarity(b"", b""), 1.0);
        assert_eq!(similarity(b"x", b""), 0.0);
        assert_eq!(
            tokens(b"ab-cd 12 e3"),
            ["ab", "-", "cd", "\u{0}#", "\u{0}#"]
        );
    }
}
