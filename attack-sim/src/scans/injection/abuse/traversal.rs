//! Path traversal through path parameters: dot-segments (as the parameter, and raw in the
//! path), their single and double percent-encodings, a filter-bypass form and an absolute
//! path, aimed at `/etc/passwd` and `win.ini`. An answer that shows one of their signatures,
//! which the original did not, read a file outside what the route serves (`path-traversal`).

use std::sync::LazyLock;

use super::{Expect, Point, Probe};
use crate::findings::Severity;
use crate::scans::discovery::openapi::Location;
use crate::scans::injection::payloads::data;

/// The technique.
pub const TECHNIQUE: &str = "path-traversal";

/// How a value goes into the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As the parameter's value, percent-encoded like any value.
    Param,
    /// Into the path as written.
    Raw,
}

/// The payloads and the signatures, from `payloads/abuse/traversal.txt`.
pub struct Payloads {
    /// (form, value).
    pub values: Vec<(Form, &'static str)>,
    /// Texts only the files aimed at carry.
    pub signatures: Vec<&'static str>,
}

/// The parsed data file.
pub static PAYLOADS: LazyLock<Payloads> = LazyLock::new(|| {
    let mut p = Payloads {
        values: Vec::new(),
        signatures: Vec::new(),
    };
    for line in data(include_str!("../../../../payloads/abuse/traversal.txt")) {
        match line.split_once('\t') {
            Some(("param", v)) => p.values.push((Form::Param, v)),
            Some(("raw", v)) => p.values.push((Form::Raw, v)),
            Some(("sig", v)) => p.signatures.push(v),
            _ => panic!("payloads/abuse/traversal.txt: `{line}` is not FORM<TAB>value"),
        }
    }
    p
});

/// The probes for `p` (path parameters only).
pub fn probes(p: &Point<'_>) -> Vec<Probe> {
    if p.input.location != Location::Path {
        return Vec::new();
    }
    PAYLOADS
        .values
        .iter()
        .map(|(form, value)| Probe {
            technique: TECHNIQUE,
            severity: Severity::Critical,
            what: format!("the path parameter `{value}`"),
            req: match form {
                Form::Param => p.with(value),
                Form::Raw => p.raw(value.as_bytes()),
            },
            expect: Expect::NoText(PAYLOADS.signatures.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_has_both_forms_and_signatures() {
        assert!(PAYLOADS.values.iter().any(|(f, _)| *f == Form::Raw));
        assert!(PAYLOADS.values.iter().any(|(f, _)| *f == Form::Param));
        assert!(PAYLOADS.signatures.contains(&"root:x:0:0:"));
    }
}
