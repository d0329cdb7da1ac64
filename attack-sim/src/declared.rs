//! A request declared in a plan file (or by a built-in preset) rather than in code: the
//! legitimate client's probes, a login flow's registration and login, and the setup steps
//! that make a scan's data. Strings may hold `{name}` placeholders, filled in when the
//! request is made: `{username}` and `{password}` (the throwaway user's), `{fresh}` (new
//! random hex every time) and whatever earlier steps captured.
//!
//! ```toml
//! method = "POST"
//! path = "/api/signin"
//! form = { login = "{username}", pass = "{password}" }   # or json = {...}, or body + content_type
//! headers = { Accept = "application/json" }
//! status = 303                                           # expected; default any 2xx or 3xx
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::request::{self, Request};

/// A declared request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    /// `GET`, `POST`, ... (default `GET`).
    #[serde(default = "get")]
    pub method: String,
    /// The path and query, percent-encoded where it must be.
    pub path: String,
    /// Header fields.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (placeholders filled in its strings).
    pub json: Option<Value>,
    /// A form body (`application/x-www-form-urlencoded`).
    pub form: Option<BTreeMap<String, String>>,
    /// A body as text, sent as `content_type`.
    pub body: Option<String>,
    /// The media type of `body` (default `text/plain`).
    pub content_type: Option<String>,
    /// The expected status; none: any 2xx or 3xx.
    pub status: Option<u16>,
}

fn get() -> String {
    "GET".into()
}

/// Why a declaration was refused, or a request could not be made from it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DeclaredError {
    /// A probe given as `METHOD PATH [STATUS]` was not.
    #[error("`{0}`: expected \"METHOD PATH [STATUS]\", e.g. \"GET /\" or \"GET /healthz 200\"")]
    Line(String),
    /// More than one body.
    #[error("{0}: give one of json, form or body")]
    Bodies(String),
    /// A placeholder names nothing.
    #[error("{what}: `{{{name}}}` names no value (known: {known})")]
    Placeholder {
        /// Which request.
        what: String,
        /// The placeholder.
        name: String,
        /// The names there are.
        known: String,
    },
    /// Not a method, path or status.
    #[error("{0}")]
    Invalid(String),
}

/// Values for placeholders.
#[derive(Clone, Default)]
pub struct Vars(BTreeMap<String, String>);

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be passwords and tokens: names only.
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Vars {
    /// With `name` set to `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether `name` has a value.
    pub fn has(&self, name: &str) -> bool {
        name == "fresh" || self.0.contains_key(name)
    }

    /// `text` with every `{name}` this knows replaced (`{fresh}` by new random hex); other
    /// braces stay as they are.
    pub fn fill(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}').map(|close| (&after[..close], close)) {
                Some((name, close)) if is_name(name) && self.has(name) => {
                    if name == "fresh" {
                        out.push_str(&random_hex(8));
                    } else {
                        out.push_str(&self.0[name]);
                    }
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// Every `{name}` in `text` (lower case, digits and `_`, not starting with a digit).
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                found.push(after[..close].to_string());
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

/// `n` random bytes as lowercase hex (the system RNG; zeros if it fails, which only makes a
/// name collide and a step fail with a clear error).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let _ = rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn json_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        Value::Object(o) => o.iter().for_each(|(k, v)| {
            out.push(k);
            json_strings(v, out)
        }),
        _ => {}
    }
}

fn fill_json(v: &Value, vars: &Vars) -> Value {
    match v {
        Value::String(s) => Value::String(vars.fill(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| fill_json(v, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (vars.fill(k), fill_json(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Declared {
    /// `method path`, no body, `status` expected.
    pub fn new(method: &str, path: &str, status: Option<u16>) -> Declared {
        Declared {
            method: method.to_string(),
            path: path.to_string(),
            headers: BTreeMap::new(),
            json: None,
            form: None,
            body: None,
            content_type: None,
            status,
        }
    }

    /// `POST path` with the JSON `body`, `status` expected.
    pub fn post_json(path: &str, body: Value, status: u16) -> Declared {
        Declared {
            json: Some(body),
            ..Declared::new("POST", path, Some(status))
        }
    }

    /// From `METHOD PATH [STATUS]` (`--probe`).
    pub fn parse_line(line: &str) -> Result<Declared, DeclaredError> {
        let bad = || DeclaredError::Line(line.to_string());
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (method, path, status) = match parts.as_slice() {
            [m, p] => (*m, *p, None),
            [m, p, s] => (*m, *p, Some(s.parse::<u16>().map_err(|_| bad())?)),
            _ => return Err(bad()),
        };
        let d = Declared::new(&method.to_ascii_uppercase(), path, status);
        d.check(line, &[]).map_err(|_| bad())?;
        Ok(d)
    }

    /// `METHOD PATH`, as labels and messages show it.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Checks the declaration `what` names: a method, a path from `/`, a status that is one,
    /// at most one body, and placeholders among `known` (besides `{fresh}`).
    pub fn check(&self, what: &str, known: &[&str]) -> Result<(), DeclaredError> {
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(DeclaredError::Invalid(format!(
                "{what}: method `{}` is not an upper-case HTTP method",
                self.method
            )));
        }
        if !self.path.starts_with('/') || self.path.bytes().any(|b| b <= b' ') {
            return Err(DeclaredError::Invalid(format!(
                "{what}: path `{}` must start with / and hold no spaces or control characters",
                self.path
            )));
        }
        if self.status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err(DeclaredError::Invalid(format!(
                "{what}: status {} is not an HTTP status",
                self.status.unwrap_or_default()
            )));
        }
        let bodies = [
            self.json.is_some(),
            self.form.is_some(),
            self.body.is_some(),
        ];
        if bodies.iter().filter(|b| **b).count() > 1 {
            return Err(DeclaredError::Bodies(what.to_string()));
        }
        for (name, value) in &self.headers {
            if name.is_empty()
                || name.bytes().any(|b| b <= b' ' || b == b':')
                || value.contains(['\r', '\n'])
            {
                return Err(DeclaredError::Invalid(format!(
                    "{what}: header `{name}` is not a valid field"
                )));
            }
        }
        for name in self.placeholders() {
            if name != "fresh" && !known.contains(&name.as_str()) {
                return Err(DeclaredError::Placeholder {
                    what: what.to_string(),
                    name,
                    known: std::iter::once("fresh")
                        .chain(known.iter().copied())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }

    /// Every placeholder used.
    pub fn placeholders(&self) -> Vec<String> {
        let mut texts: Vec<&str> = vec![&self.path];
        texts.extend(self.headers.values().map(String::as_str));
        if let Some(j) = &self.json {
            json_strings(j, &mut texts);
        }
        if let Some(f) = &self.form {
            texts.extend(f.values().map(String::as_str));
        }
        if let Some(b) = &self.body {
            texts.push(b);
        }
        texts.into_iter().flat_map(placeholders).collect()
    }

    /// The request, with `vars` filled in.
    pub fn render(&self, vars: &Vars) -> Request {
        let mut req = Request::new(&self.method, vars.fill(&self.path));
        for (name, value) in &self.headers {
            req.headers.push((name.clone(), vars.fill(value)));
        }
        if let Some(j) = &self.json {
            req.body = Some(fill_json(j, vars).to_string().into_bytes());
        } else if let Some(f) = &self.form {
            let pairs: Vec<(String, String)> =
                f.iter().map(|(k, v)| (k.clone(), vars.fill(v))).collect();
            req.body = Some(request::form(&pairs).into_bytes());
            req.content_type = Some(request::FORM.into());
        } else if let Some(b) = &self.body {
            req.body = Some(vars.fill(b).into_bytes());
            req.content_type = Some(
                self.content_type
                    .clone()
                    .unwrap_or_else(|| "text/plain".into()),
            );
        }
        req
    }

    /// Whether `status` is what this expects.
    pub fn expects(&self, status: u16) -> bool {
        match self.status {
            Some(want) => status == want,
            None => (200..400).contains(&status),
        }
    }

    /// What this expects, in words.
    pub fn expectation(&self) -> String {
        match self.status {
            Some(s) => s.to_string(),
            None => "2xx or 3xx".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("username", "u1");
        v.set("password", "p w");
        v.set("account", "acc-9");
        v
    }

    #[test]
    fn probe_lines_parse_and_bad_ones_are_named() {
        let d = Declared::parse_line("GET /").expect("line");
        assert_eq!(
            (d.method.as_str(), d.path.as_str(), d.status),
            ("GET", "/", None)
        );
        assert!(d.expects(200) && d.expects(302) && !d.expects(404) && !d.expects(500));
        let d = Declared::parse_line("head /healthz 204").expect("line");
        assert_eq!((d.method.as_str(), d.status), ("HEAD", Some(204)));
        assert!(d.expects(204) && !d.expects(200));
        for bad in [
            "GET",
            "GET / 2x",
            "GET healthz",
            "GET / 200 extra",
            "GET / 999",
        ] {
            let e = Declared::parse_line(bad).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn placeholders_are_filled_everywhere() {
        let d: Declared = toml::from_str(
            r#"
            method = "POST"
            path = "/accounts/{account}/notes"
            headers = { X-User = "{username}" }
            json = { user = "{username}", tags = ["{account}", 3], note = "{Literal} {" }
            status = 201
            "#,
        )
        .expect("toml");
        d.check("setup", &["username", "account"]).expect("valid");
        let r = d.render(&vars());
        assert_eq!(r.target, "/accounts/acc-9/notes");
        assert_eq!(r.headers, vec![("X-User".into(), "u1".into())]);
        let body: Value = serde_json::from_slice(r.body.as_deref().expect("body")).expect("json");
        assert_eq!(body["user"], "u1");
        assert_eq!(body["tags"][0], "acc-9");
        assert_eq!(body["note"], "{Literal} {");
    }

    #[test]
    fn forms_and_raw_bodies_get_their_types() {
        let d: Declared =
            toml::from_str("method = \"POST\"\npath = \"/signin\"\nform = { login = \"{username}\", pass = \"{password}\" }")
                .expect("toml");
        let r = d.render(&vars());
        assert_eq!(r.content_type.as_deref(), Some(request::FORM));
        assert_eq!(r.body.as_deref(), Some(&b"login=u1&pass=p%20w"[..]));
        let d: Declared =
            toml::from_str("path = \"/x\"\nbody = \"a={fresh}\"\ncontent_type = \"text/x\"")
                .expect("toml");
        let (a, b) = (d.render(&vars()), d.render(&vars()));
        assert_ne!(a.body, b.body, "fresh every time");
        assert_eq!(a.method, "GET");
    }

    #[test]
    fn bad_declarations_are_refused_by_name() {
        let two: Declared =
            toml::from_str("path = \"/x\"\nbody = \"a\"\nform = { a = \"b\" }").expect("toml");
        assert!(matches!(
            two.check("probe 1", &[]),
            Err(DeclaredError::Bodies(_))
        ));
        let typo: Declared = toml::from_str("path = \"/x/{acount}\"").expect("toml");
        let e = typo.check("setup step 2", &["account"]).expect_err("typo");
        assert!(
            e.to_string().contains("{acount}") && e.to_string().contains("setup step 2"),
            "{e}"
        );
        let e = toml::from_str::<Declared>("path = \"/x\"\nbogus = 1").expect_err("unknown key");
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn vars_never_show_their_values() {
        assert!(!format!("{:?}", vars()).contains("p w"));
    }
}
