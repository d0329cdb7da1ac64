//! One request for an operation: every input at its fixture value, except the one injected,
//! which carries the payload. Besides the documented inputs, every operation takes
//! `X-Forwarded-For` and every authenticated one the session's header (`Authorization`,
//! `--auth header:`) or cookie as inputs: servers read them, and they have carried injections.

use serde_json::{Map, Value};

use super::fixtures::Fixtures;
use super::openapi::{Input, Kind, Location, Operation};
use crate::login::Present;
use crate::scans::http::{Request, encode};

/// The value `X-Forwarded-For` has when not injected.
pub const FORWARDED_FOR: &str = "203.0.113.7";

/// The inputs a scan tries on `op`: the documented ones, then the implicit ones: the
/// `X-Forwarded-For` header, and on a secured operation the session's header or cookie.
pub fn inputs(op: &Operation, fixtures: &Fixtures) -> Vec<Input> {
    let mut all = op.inputs.clone();
    let implicit = |name: &str, location, example: &str| Input {
        name: name.to_string(),
        location,
        kind: Kind::String,
        required: false,
        example: Some(example.to_string()),
    };
    let has = |all: &[Input], name: &str, location| {
        all.iter()
            .any(|i| i.location == location && i.name.eq_ignore_ascii_case(name))
    };
    if !has(&all, "X-Forwarded-For", Location::Header) {
        all.push(implicit("X-Forwarded-For", Location::Header, FORWARDED_FOR));
    }
    if op.secured {
        match (&fixtures.session, fixtures.auth_header()) {
            (Some(s), _) if matches!(s.present(), Present::Cookie(_)) => {
                if let Present::Cookie(name) = s.present()
                    && !has(&all, name, Location::Cookie)
                {
                    all.push(implicit(name, Location::Cookie, s.token()));
                }
            }
            (_, Some((name, value))) if !has(&all, &name, Location::Header) => {
                all.push(implicit(&name, Location::Header, &value));
            }
            _ => {}
        }
    }
    all
}

/// The request for `op` with `payload` in `target` (none: the original request).
pub fn build(op: &Operation, fixtures: &Fixtures, target: Option<(&Input, &str)>) -> Request {
    let is_target =
        |i: &Input| target.is_some_and(|(t, _)| t.name == i.name && t.location == i.location);
    let secret = fixtures.secret();
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    let mut body = Map::new();
    let mut form = Vec::new();
    for input in inputs(op, fixtures) {
        let value = match target {
            Some((_, payload)) if is_target(&input) => Some(payload.to_string()),
            _ => fixtures.value(&input),
        };
        let Some(value) = value else {
            continue;
        };
        match input.location {
            Location::Path => {
                path = path.replace(&format!("{{{}}}", input.name), &encode(&value));
            }
            Location::Query => query.push(format!("{}={}", encode(&input.name), encode(&value))),
            // A header cannot carry CR or LF; what else the payload holds goes as it is.
            Location::Header => {
                headers.push((input.name.clone(), value.replace(['\r', '\n'], " ")))
            }
            // The session's cookie goes as it came (a server does not decode it); others
            // percent-encoded.
            Location::Cookie if !is_target(&input) && secret.as_deref() == Some(value.as_str()) => {
                cookies.push(format!("{}={value}", input.name))
            }
            Location::Cookie => cookies.push(format!("{}={}", input.name, encode(&value))),
            Location::Form => form.push((input.name.clone(), value)),
            Location::Body => {
                // Fixture values of numeric and boolean fields go as JSON numbers and
                // booleans; a payload always as a string.
                let v = match (input.kind, is_target(&input)) {
                    (Kind::Integer | Kind::Number | Kind::Boolean, false) => {
                        serde_json::from_str(&value).unwrap_or(Value::String(value))
                    }
                    _ => Value::String(value),
                };
                body.insert(input.name.clone(), v);
            }
        }
    }
    if !op.secured {
        headers.retain(|(n, _)| {
            !fixtures
                .auth_header()
                .is_some_and(|(a, _)| a.eq_ignore_ascii_case(n))
        });
    }
    if !cookies.is_empty() {
        headers.push(("Cookie".into(), cookies.join("; ")));
    }
    let target_path = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let (body, content_type) = if op.form_body || !form.is_empty() {
        (
            Some(crate::request::form(&form).into_bytes()),
            Some(crate::request::FORM.to_string()),
        )
    } else {
        (
            (op.json_body || !body.is_empty())
                .then(|| Value::Object(body).to_string().into_bytes()),
            None,
        )
    };
    Request {
        method: op.method.clone(),
        target: target_path,
        headers,
        body,
        content_type,
        secrets: secret.into_iter().collect(),
    }
}

/// What stands in for the injected value while a request is built by [`build_raw`].
const MARKER: &str = "attacksimRaw7f3q";

/// The request for `op` with `raw` in `target` exactly as given, bypassing the encoding
/// [`build`] applies: for a body field, `raw` replaces the field's whole JSON value (so it may
/// be a number, an array, bytes that are not UTF-8, or a value followed by more members); in
/// a path or query, it is written into the request target as it is (percent-encode it first
/// where it must be); in a header, it is the value (lossily as text).
pub fn build_raw(op: &Operation, fixtures: &Fixtures, target: &Input, raw: &[u8]) -> Request {
    let mut req = build(op, fixtures, Some((target, MARKER)));
    let text = String::from_utf8_lossy(raw);
    match target.location {
        Location::Body => {
            if let Some(body) = req.body.take() {
                req.body = Some(replace_once(&body, format!("\"{MARKER}\"").as_bytes(), raw));
            }
        }
        Location::Form => {
            if let Some(body) = req.body.take() {
                req.body = Some(replace_once(&body, MARKER.as_bytes(), raw));
            }
        }
        Location::Path | Location::Query | Location::Cookie => {
            req.target = req.target.replacen(MARKER, &text, 1);
            for (_, v) in &mut req.headers {
                *v = v.replacen(MARKER, &text, 1);
            }
        }
        Location::Header => {
            for (_, v) in &mut req.headers {
                *v = v.replacen(MARKER, &text, 1);
            }
        }
    }
    req
}

fn replace_once(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    match haystack.windows(needle.len()).position(|w| w == needle) {
        Some(i) => [&haystack[..i], with, &haystack[i + needle.len()..]].concat(),
        None => haystack.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op() -> Operation {
        let input = |name: &str, location, kind| Input {
            name: name.into(),
            location,
            kind,
            required: location == Location::Path,
            example: None,
        };
        Operation {
            method: "POST".into(),
            path: "/v1/accounts/{id}/x".into(),
            inputs: vec![
                input("id", Location::Path, Kind::String),
                input("q", Location::Query, Kind::String),
                input("Idempotency-Key", Location::Header, Kind::String),
                input("amount", Location::Body, Kind::String),
                input("count", Location::Body, Kind::Integer),
            ],
            json_body: true,
            form_body: false,
            secured: true,
        }
    }

    #[test]
    fn the_payload_goes_where_it_is_aimed_and_nowhere_else() {
        let mut f = Fixtures::with_values(&[
            ("id", "acc-1"),
            ("q", "rent"),
            ("amount", "1.00"),
            ("count", "3"),
        ]);
        f.static_auth = Some(("Authorization".into(), "Bearer t".into()));
        let op = op();
        let all = inputs(&op, &f);
        assert_eq!(
            all.len(),
            7,
            "X-Forwarded-For and Authorization added: {all:?}"
        );
        let original = build(&op, &f, None);
        assert_eq!(original.target, "/v1/accounts/acc-1/x?q=rent");
        let body: Value =
            serde_json::from_slice(original.body.as_deref().expect("body")).expect("json");
        assert_eq!(body, serde_json::json!({"amount": "1.00", "count": 3}));
        assert!(
            original
                .headers
                .contains(&("Authorization".into(), "Bearer t".into()))
        );
        assert!(
            original
                .headers
                .contains(&("X-Forwarded-For".into(), FORWARDED_FOR.into()))
        );

        let in_path = build(&op, &f, Some((&all[0], "a' OR '1")));
        assert_eq!(in_path.target, "/v1/accounts/a%27%20OR%20%271/x?q=rent");
        let in_count = build(&op, &f, Some((&all[4], "3 AND 1=1")));
        let body: Value =
            serde_json::from_slice(in_count.body.as_deref().expect("body")).expect("json");
        assert_eq!(body["count"], "3 AND 1=1");
        let in_header = build(&op, &f, Some((&all[5], "x'\r\nInjected: 1")));
        assert!(
            in_header
                .headers
                .contains(&("X-Forwarded-For".into(), "x'  Injected: 1".into()))
        );
    }

    #[test]
    fn public_operations_carry_no_credentials() {
        let mut f = Fixtures::default();
        f.static_auth = Some(("Authorization".into(), "Bearer t".into()));
        let mut op = op();
        op.secured = false;
        assert_eq!(inputs(&op, &f).len(), 6);
        let r = build(&op, &f, None);
        assert!(r.headers.iter().all(|(n, _)| n != "Authorization"));
        assert_eq!(
            r.target, "/v1/accounts/attacksim/x",
            "a path input always has a value"
        );
    }

    #[test]
    fn a_raw_value_lands_unencoded() {
        let f = Fixtures::with_values(&[
            ("id", "acc-1"),
            ("q", "rent"),
            ("amount", "1.00"),
            ("count", "3"),
        ]);
        let op = op();
        let all = inputs(&op, &f);
        let path = build_raw(&op, &f, &all[0], b"../../etc/passwd");
        assert_eq!(path.target, "/v1/accounts/../../etc/passwd/x?q=rent");
        let query = build_raw(&op, &f, &all[1], b"rent%00");
        assert_eq!(query.target, "/v1/accounts/acc-1/x?q=rent%00");
        let body = build_raw(&op, &f, &all[3], b"\"1.00\",\"amount\":\"1.00\"");
        assert_eq!(
            body.body.as_deref(),
            Some(&b"{\"amount\":\"1.00\",\"amount\":\"1.00\",\"count\":3}"[..])
        );
        let bytes = build_raw(&op, &f, &all[4], b"\"\xc0\xaf\"");
        assert_eq!(
            bytes.body.as_deref(),
            Some(&b"{\"amount\":\"1.00\",\"count\":\"\xc0\xaf\"}"[..])
        );
        let header = build_raw(&op, &f, &all[2], b"k\0x");
        assert!(
            header
                .headers
                .contains(&("Idempotency-Key".into(), "k\0x".into()))
        );
    }
}
