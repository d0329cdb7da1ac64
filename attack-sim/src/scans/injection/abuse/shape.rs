//! The shape of a JSON body: each declared field given a value of another JSON type (a
//! number or a boolean for a string, a string for a number, an array, an object such as
//! `{"$ne": null}`, and `null` where the field is required), and each field given twice. A
//! write that accepts the first is `type-confusion`: the value reached code that expected
//! another type, or was coerced. One that accepts the second is `duplicate-keys`: which of the
//! two values counts depends on the parser, so a proxy or validator that reads the first and
//! an application that reads the last see different requests (I-JSON, RFC 7493, forbids it).

use serde_json::{Value, json};

use super::{Expect, Point, Probe};
use crate::findings::Severity;
use crate::scans::discovery::openapi::{Kind, Location};

/// A field of another type.
pub const CONFUSION: &str = "type-confusion";
/// A field given twice.
pub const DUPLICATE: &str = "duplicate-keys";

/// The field's usual value as JSON, as the request builder writes it.
fn orig_json(p: &Point<'_>) -> Value {
    match p.input.kind {
        Kind::Integer | Kind::Number | Kind::Boolean => {
            serde_json::from_str(&p.orig).unwrap_or_else(|_| Value::String(p.orig.clone()))
        }
        _ => Value::String(p.orig.clone()),
    }
}

/// Values of other types than `kind` declares (`orig` is the usual value).
pub fn other_types(kind: Kind, orig: &Value, required: bool) -> Vec<Value> {
    let mut v = match kind {
        Kind::String => vec![
            json!(12345),
            json!(true),
            json!([orig]),
            json!({"$ne": null}),
        ],
        Kind::Integer | Kind::Number => vec![
            Value::String(match orig {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            json!(true),
            json!([orig]),
            json!({}),
        ],
        Kind::Boolean => vec![json!("true"), json!(1), json!([orig])],
        Kind::Structured => vec![json!("x"), json!(1)],
    };
    if required {
        v.push(Value::Null);
    }
    v
}

/// The probes for `p` (JSON body fields only).
pub fn probes(p: &Point<'_>) -> Vec<Probe> {
    if p.input.location != Location::Body {
        return Vec::new();
    }
    let expect = || {
        if p.writes() {
            Expect::Refused
        } else {
            Expect::Survived
        }
    };
    let orig = orig_json(p);
    let mut all: Vec<Probe> = other_types(p.input.kind, &orig, p.input.required)
        .into_iter()
        .map(|v| Probe {
            technique: CONFUSION,
            severity: Severity::Medium,
            what: format!("`{}` given as {v}", p.input.name),
            req: p.raw(v.to_string().as_bytes()),
            expect: expect(),
        })
        .collect();
    let name = Value::String(p.input.name.clone());
    let twice = format!("{orig},{name}:{orig}");
    all.push(Probe {
        technique: DUPLICATE,
        severity: Severity::Low,
        what: format!("`{}` given twice ({name}:{twice})", p.input.name),
        req: p.raw(twice.as_bytes()),
        expect: expect(),
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_other_type_and_null_only_where_required() {
        let s = other_types(Kind::String, &json!("rent"), false);
        assert!(s.iter().all(|v| !v.is_string() && !v.is_null()), "{s:?}");
        assert!(s.contains(&json!(["rent"])));
        let n = other_types(Kind::Integer, &json!(3), true);
        assert_eq!(n[0], json!("3"));
        assert!(n.contains(&Value::Null));
        assert!(
            other_types(Kind::Boolean, &json!(true), false)
                .iter()
                .all(|v| !v.is_boolean())
        );
    }
}
