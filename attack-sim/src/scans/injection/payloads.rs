//! The SQL injection payloads, kept as data in `attack-sim/payloads/sqli/` (each file says
//! its format in its header) and built into the binary.

use std::sync::LazyLock;

/// Where in the SQL an input's value is assumed to sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Inside quotes: `WHERE name = '...'`.
    String,
    /// A bare number: `WHERE id = ...`.
    Numeric,
    /// Inside a LIKE pattern: `WHERE memo LIKE '%...%'`.
    Like,
    /// An ORDER BY expression: `ORDER BY ...`.
    Order,
}

impl Context {
    fn parse(s: &str) -> Context {
        match s {
            "string" => Context::String,
            "numeric" => Context::Numeric,
            "like" => Context::Like,
            "order" => Context::Order,
            other => panic!("payload files: unknown context `{other}`"),
        }
    }

    /// As written in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::String => "string",
            Context::Numeric => "numeric",
            Context::Like => "LIKE",
            Context::Order => "ORDER BY",
        }
    }
}

/// A template of one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Its context.
    pub context: Context,
    /// The text, with `{orig}` and its other placeholders.
    pub text: &'static str,
}

/// A DBMS's error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The DBMS.
    pub dbms: &'static str,
    /// Text only its errors carry.
    pub text: &'static str,
}

/// A DBMS's delay: a condition that takes long to evaluate, and the same made instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    /// The DBMS.
    pub dbms: &'static str,
    /// The slow condition.
    pub delayed: &'static str,
    /// The quick one.
    pub control: &'static str,
}

const BREAKERS: &str = include_str!("../../../payloads/sqli/breakers.txt");
const SIGNATURES: &str = include_str!("../../../payloads/sqli/signatures.txt");
const BOOLEAN: &str = include_str!("../../../payloads/sqli/boolean.txt");
const TIME: &str = include_str!("../../../payloads/sqli/time.txt");
const DELAYS: &str = include_str!("../../../payloads/sqli/delays.txt");
const UNION: &str = include_str!("../../../payloads/sqli/union.txt");
const STACKED: &str = include_str!("../../../payloads/sqli/stacked.txt");

/// The lines of a payload file that are data: not blank, not `#` comments.
pub(crate) fn data(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
}

fn fields(line: &'static str, n: usize) -> Vec<&'static str> {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(
        f.len(),
        n,
        "payload files: `{line}` needs {n} tab-separated fields"
    );
    f
}

fn templates(text: &'static str) -> Vec<Template> {
    data(text)
        .map(|l| {
            let f = fields(l, 2);
            Template {
                context: Context::parse(f[0]),
                text: f[1],
            }
        })
        .collect()
}

/// What error-based checks append.
pub fn breakers() -> Vec<&'static str> {
    data(BREAKERS).collect()
}

static SIGNATURE_LIST: LazyLock<Vec<Signature>> = LazyLock::new(|| {
    data(SIGNATURES)
        .map(|l| {
            let f = fields(l, 2);
            Signature {
                dbms: f[0],
                text: f[1],
            }
        })
        .collect()
});

/// DBMS error signatures (parsed once: they are searched for in every error-based answer).
pub fn signatures() -> &'static [Signature] {
    &SIGNATURE_LIST
}

/// Boolean-based templates (`{cond}`, `{r}`).
pub fn boolean() -> Vec<Template> {
    templates(BOOLEAN)
}

/// Time-based templates (`{delay}`, `{r}`).
pub fn time() -> Vec<Template> {
    templates(TIME)
}

/// Stacked-query templates (`{delay}`).
pub fn stacked() -> Vec<Template> {
    templates(STACKED)
}

/// UNION templates (`{cols}`).
pub fn union() -> Vec<Template> {
    templates(UNION)
}

/// The delays, one per DBMS.
pub fn delays() -> Vec<Delay> {
    data(DELAYS)
        .map(|l| {
            let f = fields(l, 3);
            Delay {
                dbms: f[0],
                delayed: f[1],
                control: f[2],
            }
        })
        .collect()
}

/// `template` with `{orig}` and each `{key}` of `vars` replaced.
pub fn fill(template: &str, orig: &str, vars: &[(&str, &str)]) -> String {
    let mut s = template.replace("{orig}", orig);
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_file_parses_and_covers_every_context() {
        assert!(breakers().contains(&"'"));
        let sigs = signatures();
        for dbms in ["SQLite", "PostgreSQL", "MySQL"] {
            assert!(sigs.iter().any(|s| s.dbms == dbms), "{dbms}");
            assert!(delays().iter().any(|d| d.dbms == dbms), "{dbms}");
        }
        let b = boolean();
        for c in [
            Context::String,
            Context::Numeric,
            Context::Like,
            Context::Order,
        ] {
            assert!(b.iter().any(|t| t.context == c), "{c:?}");
            assert!(time().iter().any(|t| t.context == c), "{c:?}");
        }
        assert!(b.iter().all(|t| t.text.contains("{cond}")));
        assert!(time().iter().all(|t| t.text.contains("{delay}")));
        assert!(
            stacked()
                .iter()
                .all(|t| t.text.contains(";SELECT ({delay})"))
        );
        for c in [
            Context::String,
            Context::Numeric,
            Context::Like,
            Context::Order,
        ] {
            assert!(stacked().iter().any(|t| t.context == c), "{c:?}");
        }
        assert!(union().iter().all(|t| t.text.contains("{cols}")));
        // No OR in the time templates: on an UPDATE or DELETE it would reach every row.
        assert!(time().iter().all(|t| !t.text.contains(" OR ")));
    }

    #[test]
    fn templates_are_filled() {
        let t = "{orig}' AND {cond} AND '{r}'='{r}";
        assert_eq!(
            fill(t, "alice", &[("cond", "7=7"), ("r", "42")]),
            "alice' AND 7=7 AND '42'='42"
        );
    }
}
