//! What a scan sends besides its payload. A session: from the run's login flow (a throwaway
//! user registered and logged in from the scanner's address), or a credential from the
//! command line (`--auth bearer:` / `header:`), or none. Data for the inputs: made by setup
//! steps after the login (rampart's preset opens two accounts, deposits and makes three
//! transfers, so that history pages have rows to sort and search; a plan declares its own),
//! each value a step captured, the document's examples, or a value of the input's type.
//!
//! A setup step whose operation the document does not list is skipped with a note, as is a
//! step that needs what a skipped or failed step would have captured: every check that does
//! not need the data still runs. Some inputs take a fresh value on every request:
//! idempotency keys, and the usernames of registrations and logins (so that a scan never
//! piles failed logins on one account, or registers one name twice).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::DiscoveryError;
use super::openapi::{Input, Kind, Operation};
use crate::declared::{Declared, DeclaredError, Vars, random_hex};
use crate::login::{Credentials, Flow, Session, Transport};

/// Inputs (by name, any case) that take a fresh random value on every request.
pub const FRESH: [&str; 2] = ["idempotency-key", "username"];

/// How a scan authenticates.
#[derive(Clone, Default)]
pub enum Auth {
    /// Not at all.
    #[default]
    None,
    /// A credential given on the command line: the header `name: value`.
    Static(String, String),
    /// Through a login flow: a throwaway user of the scans' own.
    Flow(Arc<Flow>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("none"),
            Auth::Static(name, _) => write!(f, "header {name}: (hidden)"),
            Auth::Flow(flow) => write!(f, "the {} login flow", flow.name),
        }
    }
}

/// One setup step: a declared request, and what to capture from its JSON answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupStep {
    /// What it does, for notes (`open an account`).
    pub name: String,
    /// The request (placeholders: `{username}`, `{password}`, `{fresh}`, earlier captures).
    pub request: Declared,
    /// Placeholder name -> JSON pointer into the answer (`{ account = "/id" }`).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Whether what it captures are the user's own object ids (the `idor` scan tries them with
    /// another user's session). Default true.
    #[serde(default = "yes")]
    pub owned: bool,
}

fn yes() -> bool {
    true
}

/// The setup: steps, then the values inputs are sent with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Setup {
    /// In order.
    pub steps: Vec<SetupStep>,
    /// Input name (any case) -> value (placeholders allowed).
    pub values: BTreeMap<String, String>,
}

impl Setup {
    /// Rampart's preset: two accounts, a deposit and three transfers, and values for its
    /// inputs.
    pub fn rampart() -> Setup {
        let step = |name: &str, request: Declared, capture: &[(&str, &str)]| SetupStep {
            name: name.into(),
            request,
            capture: capture
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            owned: true,
        };
        let mut steps = vec![
            step(
                "open an account",
                Declared::post_json("/v1/accounts", json!({"name": "attack-sim a"}), 201),
                &[("account_a", "/id")],
            ),
            step(
                "open a second account",
                Declared::post_json("/v1/accounts", json!({"name": "attack-sim b"}), 201),
                &[("account_b", "/id")],
            ),
            step(
                "deposit",
                Declared::post_json(
                    "/v1/accounts/{account_a}/deposits",
                    json!({"amount": "100000.00"}),
                    201,
                ),
                &[],
            ),
        ];
        // Amounts out of time order, so that sorting by amount and by time differ.
        for (memo, amount) in [
            ("rent march", "12.50"),
            ("groceries", "3.20"),
            ("rent april", "30.00"),
        ] {
            let mut transfer = Declared::post_json(
                "/v1/transfers",
                json!({"from_account": "{account_a}", "to_account": "{account_b}",
                       "amount": amount, "memo": memo}),
                201,
            );
            transfer
                .headers
                .insert("Idempotency-Key".into(), "scan_{fresh}".into());
            steps.push(step("transfer", transfer, &[]));
        }
        let values = [
            ("id", "{account_a}"),
            ("from_account", "{account_a}"),
            ("to_account", "{account_b}"),
            ("amount", "1.00"),
            ("name", "attack-sim"),
            ("memo", "attack-sim scan"),
            ("q", "rent"),
            ("sort", "created_at"),
            ("order", "desc"),
            ("limit", "20"),
            ("password", "{password}"),
        ];
        Setup {
            steps,
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Checks every placeholder against what is known by then.
    pub fn check(&self) -> Result<(), DeclaredError> {
        let mut known: Vec<String> = vec!["username".into(), "password".into()];
        for (i, step) in self.steps.iter().enumerate() {
            let k: Vec<&str> = known.iter().map(String::as_str).collect();
            step.request
                .check(&format!("[[setup]] {} ({})", i + 1, step.name), &k)?;
            for (name, pointer) in &step.capture {
                if !pointer.starts_with('/') {
                    return Err(DeclaredError::Invalid(format!(
                        "[[setup]] {} ({}): capture {name} = \"{pointer}\": a JSON pointer starts with /",
                        i + 1,
                        step.name
                    )));
                }
                known.push(name.clone());
            }
        }
        let k: Vec<&str> = known.iter().map(String::as_str).collect();
        for (name, value) in &self.values {
            for p in crate::declared::placeholders(value) {
                if p != "fresh" && !k.contains(&p.as_str()) {
                    return Err(DeclaredError::Placeholder {
                        what: format!("[values] {name}"),
                        name: p,
                        known: k.join(", "),
                    });
                }
            }
        }
        Ok(())
    }
}

/// What the login and the setup made, and what the scan sends.
#[derive(Clone, Default)]
pub struct Fixtures {
    /// The flow's session, when there is one.
    pub session: Option<Session>,
    /// A credential from the command line (`--auth bearer:` / `header:`).
    pub static_auth: Option<(String, String)>,
    /// Values by input name (lower case).
    values: BTreeMap<String, String>,
    /// Ids the setup captured for the flow's user (what `idor` tries with another session).
    pub owned: Vec<String>,
    /// Steps skipped or failed, in words.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures")
            .field("session", &self.session)
            .field("static_auth", &self.static_auth.as_ref().map(|(n, _)| n))
            .field("values", &self.values.keys().collect::<Vec<_>>())
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
}

/// A value of the declared kind for an input nothing else gives a value to.
fn by_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer | Kind::Number => "1",
        Kind::Boolean => "true",
        Kind::String | Kind::Structured => "attacksim",
    }
}

impl Fixtures {
    /// The value `input` is sent with when it is not the one injected: fresh, from the setup,
    /// the document's example, or (when required) one of its kind; `None` leaves it out.
    pub fn value(&self, input: &Input) -> Option<String> {
        let name = input.name.to_ascii_lowercase();
        if FRESH.contains(&name.as_str()) {
            return Some(format!("scan_{}", random_hex(8)));
        }
        if let Some(v) = self.values.get(&name) {
            return Some(v.clone());
        }
        if let Some(e) = &input.example {
            return Some(e.clone());
        }
        input.required.then(|| by_kind(input.kind).to_string())
    }

    /// The header that authenticates, name and value.
    pub fn auth_header(&self) -> Option<(String, String)> {
        match (&self.session, &self.static_auth) {
            (Some(s), _) => Some(s.header()),
            (None, Some(h)) => Some(h.clone()),
            (None, None) => None,
        }
    }

    /// The secret in [`Fixtures::auth_header`], to be masked wherever it is shown.
    pub fn secret(&self) -> Option<String> {
        match (&self.session, &self.static_auth) {
            (Some(s), _) => Some(s.token().to_string()),
            (None, Some((_, v))) => Some(v.clone()),
            (None, None) => None,
        }
    }

    /// `template` with each `{name}` replaced by the value of the input `name`; `None` when
    /// one has no value.
    pub fn fill(&self, template: &str) -> Option<String> {
        let mut vars = Vars::default();
        for p in crate::declared::placeholders(template) {
            vars.set(&p, self.values.get(&p.to_ascii_lowercase())?.as_str());
        }
        Some(vars.fill(template))
    }

    /// The flow's user, when there is one.
    pub fn user(&self) -> Option<&Credentials> {
        self.session.as_ref().map(|s| &s.credentials)
    }

    /// Fixtures with only these values (for tests and for targets without a flow).
    pub fn with_values(values: &[(&str, &str)]) -> Fixtures {
        Fixtures {
            values: values
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            ..Fixtures::default()
        }
    }
}

/// Whether `doc`'s operations include `d`'s method and path (a path parameter matches a
/// placeholder, as `/v1/accounts/{id}/deposits` matches `/v1/accounts/{account_a}/deposits`).
pub fn documented(ops: &[Operation], d: &Declared) -> bool {
    let path = d.path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    ops.iter().any(|op| {
        let theirs: Vec<&str> = op.path.split('/').collect();
        op.method == d.method
            && theirs.len() == segments.len()
            && theirs
                .iter()
                .zip(&segments)
                .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
    })
}

/// Sets up the session and data per `auth` and `setup`, using only operations in `ops`.
pub async fn establish(
    t: &impl Transport,
    ops: &[Operation],
    auth: &Auth,
    setup: &Setup,
) -> Result<Fixtures, DiscoveryError> {
    let mut fixtures = Fixtures::default();
    let flow = match auth {
        Auth::None => return Ok(fixtures),
        Auth::Static(name, value) => {
            fixtures.static_auth = Some((name.clone(), value.clone()));
            return Ok(fixtures);
        }
        Auth::Flow(flow) => flow,
    };
    if let Some(missing) = flow.operations().into_iter().find(|d| !documented(ops, d)) {
        return Err(DiscoveryError::Flow {
            step: format!("the {} login flow", flow.name),
            detail: format!(
                "the target's OpenAPI document lists no {}",
                missing.describe()
            ),
        });
    }
    let session = flow
        .establish(t, "scan")
        .await
        .map_err(|e| DiscoveryError::Flow {
            step: format!("the {} login flow", flow.name),
            detail: e.to_string(),
        })?;
    let made = run_setup(t, ops, setup, &session).await;
    fixtures.values = made.values;
    fixtures.owned = made.owned;
    fixtures.notes = made.notes;
    fixtures.session = Some(session);
    Ok(fixtures)
}

/// What the setup made for one user.
#[derive(Debug, Default)]
pub struct Made {
    /// Input values.
    pub values: BTreeMap<String, String>,
    /// Captured ids of the user's own objects.
    pub owned: Vec<String>,
    /// What was skipped, and why.
    pub notes: Vec<String>,
}

/// Runs `setup`'s steps as `session`'s user, skipping what the document does not list.
pub async fn run_setup(
    t: &impl Transport,
    ops: &[Operation],
    setup: &Setup,
    session: &Session,
) -> Made {
    let mut vars: Vars = session.credentials.vars();
    let mut made = Made::default();
    for step in &setup.steps {
        let what = format!("{} ({})", step.name, step.request.describe());
        if !documented(ops, &step.request) {
            made.notes.push(format!(
                "setup: {what} skipped: the document lists no such operation"
            ));
            continue;
        }
        if let Some(missing) = step
            .request
            .placeholders()
            .into_iter()
            .find(|p| !vars.has(p))
        {
            made.notes.push(format!(
                "setup: {what} skipped: it needs {{{missing}}}, which no earlier step made"
            ));
            continue;
        }
        let req = session.authorize(step.request.render(&vars));
        let answer = match t.exchange(&req).await {
            Ok(r) if step.request.expects(r.status) => r,
            Ok(r) => {
                made.notes.push(format!(
                    "setup: {what} failed: expected {}, {}",
                    step.request.expectation(),
                    crate::login::answer(r.status, &r.body)
                ));
                continue;
            }
            Err(e) => {
                made.notes.push(format!("setup: {what} failed: {e}"));
                continue;
            }
        };
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        for (name, pointer) in &step.capture {
            let value = match body.pointer(pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    made.notes.push(format!(
                        "setup: {what}: nothing at {pointer} in its answer for {{{name}}}"
                    ));
                    continue;
                }
            };
            if step.owned {
                made.owned.push(value.clone());
            }
            vars.set(name, value);
        }
    }
    for (name, template) in &setup.values {
        if crate::declared::placeholders(template)
            .iter()
            .all(|p| vars.has(p))
        {
            made.values
                .insert(name.to_ascii_lowercase(), vars.fill(template));
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scans::discovery::openapi::Location;

    fn input(name: &str, kind: Kind, required: bool, example: Option<&str>) -> Input {
        Input {
            name: name.into(),
            location: Location::Query,
            kind,
            required,
            example: example.map(str::to_string),
        }
    }

    fn op(method: &str, path: &str) -> Operation {
        Operation {
            method: method.into(),
            path: path.into(),
            inputs: Vec::new(),
            json_body: true,
            form_body: false,
            secured: true,
        }
    }

    #[test]
    fn values_come_fresh_from_the_setup_from_examples_or_by_kind() {
        let f = Fixtures::with_values(&[("Q", "rent")]);
        assert_eq!(
            f.value(&input("q", Kind::String, false, None)).as_deref(),
            Some("rent")
        );
        let key = input("Idempotency-Key", Kind::String, false, Some("fixed"));
        let (k1, k2) = (f.value(&key), f.value(&key));
        assert_ne!(k1, k2, "fresh every time");
        assert_eq!(
            f.value(&input("sort", Kind::String, false, Some("id")))
                .as_deref(),
            Some("id")
        );
        assert_eq!(
            f.value(&input("limit", Kind::Integer, true, None))
                .as_deref(),
            Some("1")
        );
        assert_eq!(f.value(&input("cursor", Kind::String, false, None)), None);
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let f = Fixtures {
            static_auth: Some(("Authorization".into(), "Bearer s3cret".into())),
            ..Fixtures::with_values(&[("password", "hunter2hunter2")])
        };
        let d = format!("{f:?}");
        assert!(!d.contains("s3cret") && !d.contains("hunter2"), "{d}");
    }

    #[test]
    fn steps_match_documented_operations_by_shape() {
        let ops = [
            op("POST", "/v1/accounts/{id}/deposits"),
            op("GET", "/v1/accounts"),
        ];
        let deposit = Declared::post_json("/v1/accounts/{account_a}/deposits", json!({}), 201);
        assert!(documented(&ops, &deposit));
        assert!(!documented(
            &ops,
            &Declared::post_json("/v1/transfers", json!({}), 201)
        ));
        assert!(!documented(
            &ops,
            &Declared::post_json("/v1/accounts", json!({}), 201)
        ));
        assert!(documented(
            &ops,
            &Declared::new("GET", "/v1/accounts?limit=1", None)
        ));
    }

    /// Answers every request 201 with a fresh id, and records what was asked.
    struct Bank(std::sync::Mutex<Vec<String>>);

    impl Transport for Bank {
        async fn exchange(
            &self,
            req: &crate::request::Request,
        ) -> Result<crate::client::Response, String> {
            self.0
                .lock()
                .expect("lock")
                .push(format!("{} {}", req.method, req.target));
            Ok(crate::client::Response {
                status: 201,
                head: "HTTP/1.1 201 Created".into(),
                body: format!("{{\"id\":\"id-{}\"}}", random_hex(2)).into_bytes(),
            })
        }
    }

    #[tokio::test]
    async fn a_step_the_document_lacks_is_skipped_with_a_note_and_the_rest_made() {
        let ops = [
            op("POST", "/v1/accounts"),
            op("POST", "/v1/accounts/{id}/deposits"),
        ];
        let session = Session::for_tests(crate::login::Present::Cookie("sid".into()));
        let bank = Bank(std::sync::Mutex::new(Vec::new()));
        let made = run_setup(&bank, &ops, &Setup::rampart(), &session).await;
        let asked = bank.0.lock().expect("lock").clone();
        assert_eq!(asked.len(), 3, "two accounts and a deposit: {asked:?}");
        assert!(
            asked[2].ends_with("/deposits") && asked[2].contains("/id-"),
            "{asked:?}"
        );
        assert_eq!(
            made.notes.len(),
            3,
            "three transfers skipped: {:?}",
            made.notes
        );
        assert!(made.notes[0].contains("POST /v1/transfers") && made.notes[0].contains("lists no"));
        assert_eq!(made.owned.len(), 2);
        assert_eq!(made.values["from_account"], made.owned[0]);
        assert_eq!(made.values["password"], "not-a-real-password");
    }

    #[test]
    fn setups_are_checked() {
        Setup::rampart().check().expect("the preset is valid");
        let mut bad = Setup::rampart();
        bad.values.insert("x".into(), "{acount_a}".into());
        let e = bad.check().expect_err("typo");
        assert!(e.to_string().contains("{acount_a}"), "{e}");
    }
}
