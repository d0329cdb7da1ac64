//! Login flows: how the harness gets a session on a target, declared rather than coded, so
//! that it works on any target. One implementation, shared by the legitimate client (whose
//! mix logs in and makes authenticated requests) and the scans (which attack what only a
//! session reaches).
//!
//! A flow is an optional registration request, a login request (both [`Declared`], with the
//! throwaway user's `{username}` and `{password}`), where the token is in the login's answer
//! (a JSON pointer into its body, or a cookie it sets), and how a request presents it (a
//! header with a prefix, or a cookie). Rampart's flow is the built-in preset
//! [`Flow::rampart`]; a plan file declares others:
//!
//! ```toml
//! [login]
//! register = { method = "POST", path = "/signup", form = { login = "{username}", pass = "{password}" }, status = 303 }
//! request = { method = "POST", path = "/signin", form = { login = "{username}", pass = "{password}" }, status = 303 }
//! token = { cookie = "sid" }            # or { json = "/token" }
//! send = { cookie = "sid" }             # default: a cookie as it came, a JSON token as Authorization: Bearer
//! login_every = "6s"                    # the legitimate client's logins (default 6 s; "0s": none)
//! ```

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::Response;
use crate::declared::{Declared, DeclaredError, Vars, random_hex};
use crate::request::Request;

/// Sends one request and reads its answer: the probe's fresh connections, or a scanner's
/// paced client.
pub trait Transport {
    /// `req`'s answer, or why there was none.
    fn exchange(&self, req: &Request) -> impl Future<Output = Result<Response, String>> + Send;
}

/// Where the login's answer carries the token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum TokenFrom {
    /// A JSON pointer into the body (`/token`).
    Json(String),
    /// A cookie it sets (`Set-Cookie: NAME=...`).
    Cookie(String),
}

/// How a request presents the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Present {
    /// The header `name: {prefix}{token}`.
    Header {
        /// Field name.
        name: String,
        /// What goes before the token (`Bearer `).
        prefix: String,
    },
    /// The cookie `name={token}`.
    Cookie(String),
}

/// `send` in a plan: `{ header = "Authorization", prefix = "Bearer " }` or `{ cookie = "sid" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresentSpec {
    /// A header field.
    pub header: Option<String>,
    /// Its prefix (default none).
    pub prefix: Option<String>,
    /// A cookie.
    pub cookie: Option<String>,
}

/// `[login]` in a plan.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Registration of the throwaway user, if the target needs one.
    pub register: Option<Declared>,
    /// The login.
    pub request: Declared,
    /// Where the token is.
    pub token: TokenFrom,
    /// How to present it.
    pub send: Option<PresentSpec>,
    /// How often the legitimate client logs in (`0s`: never).
    #[serde(default, with = "humantime_serde::option")]
    pub login_every: Option<Duration>,
}

/// A login flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// `rampart` (the preset) or `declared`.
    pub name: &'static str,
    /// Registration, if any.
    pub register: Option<Declared>,
    /// The login.
    pub login: Declared,
    /// Where the token is.
    pub token: TokenFrom,
    /// How to present it.
    pub present: Present,
    /// How often the legitimate client logs in; none: only once, at the start.
    pub login_every: Option<Duration>,
}

/// How often the legitimate client logs in unless a flow says otherwise: 10 a minute,
/// rampart's default per-client login budget.
pub const LOGIN_EVERY: Duration = Duration::from_secs(6);

/// Why a flow was refused or failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FlowError {
    /// The declaration is wrong.
    #[error("[login]: {0}")]
    Declared(String),
    /// A step failed.
    #[error("login flow: {step}: {detail}")]
    Step {
        /// Which request.
        step: String,
        /// What came back.
        detail: String,
    },
}

impl From<DeclaredError> for FlowError {
    fn from(e: DeclaredError) -> Self {
        FlowError::Declared(e.to_string())
    }
}

/// The throwaway user's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Lower-case letters, digits and `_`.
    pub username: String,
    /// 32 hex digits.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// A fresh user named `{prefix}_` and 16 hex digits.
    pub fn throwaway(prefix: &str) -> Credentials {
        Credentials {
            username: format!("{prefix}_{}", random_hex(8)),
            password: random_hex(16),
        }
    }

    /// As placeholders.
    pub fn vars(&self) -> Vars {
        let mut v = Vars::default();
        v.set("username", &self.username);
        v.set("password", &self.password);
        v
    }
}

/// A logged-in user.
#[derive(Clone)]
pub struct Session {
    /// Who.
    pub credentials: Credentials,
    /// The token.
    token: String,
    /// How it is presented.
    present: Present,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("credentials", &self.credentials)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Session {
    /// A session with made-up values, for tests of request builders.
    pub fn for_tests(present: Present) -> Session {
        Session {
            credentials: Credentials {
                username: "probe_test".into(),
                password: "not-a-real-password".into(),
            },
            token: "not-a-real-token".into(),
            present,
        }
    }

    /// The header that presents it: name and value.
    pub fn header(&self) -> (String, String) {
        match &self.present {
            Present::Header { name, prefix } => (name.clone(), format!("{prefix}{}", self.token)),
            Present::Cookie(name) => ("Cookie".into(), format!("{name}={}", self.token)),
        }
    }

    /// The token itself (a secret: for masking, and for the token checks).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// How it is presented.
    pub fn present(&self) -> &Present {
        &self.present
    }

    /// `req` with the session added (and its token marked secret).
    pub fn authorize(&self, req: Request) -> Request {
        let (name, value) = self.header();
        req.with_secret_header(&name, &value, &self.token)
    }
}

/// `status` and the start of `body`, for an error (never a token: only failures are shown).
pub fn answer(status: u16, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
    format!("answered {status}: {text}")
}

/// The value of the cookie `name` among a response's `Set-Cookie` fields.
pub fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.header_values("set-cookie").into_iter().find_map(|v| {
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (n, value) = pair.split_once('=')?;
        (n.trim() == name && !value.trim().is_empty()).then(|| value.trim().to_string())
    })
}

impl Flow {
    /// Rampart's flow: `POST /v1/users` (201), `POST /v1/sessions` (201) with
    /// `{"username","password"}`, the token at `/token`, sent as `Authorization: Bearer`.
    pub fn rampart() -> Flow {
        let creds = json!({"username": "{username}", "password": "{password}"});
        Flow {
            name: "rampart",
            register: Some(Declared::post_json(USERS_PATH, creds.clone(), 201)),
            login: Declared::post_json(SESSIONS_PATH, creds, 201),
            token: TokenFrom::Json("/token".into()),
            present: Present::Header {
                name: "Authorization".into(),
                prefix: "Bearer ".into(),
            },
            login_every: Some(LOGIN_EVERY),
        }
    }

    /// The flow a plan's `[login]` declares, checked.
    pub fn declared(spec: &FlowSpec) -> Result<Flow, FlowError> {
        let known = ["username", "password"];
        if let Some(r) = &spec.register {
            r.check("[login] register", &known)?;
        }
        spec.request.check("[login] request", &known)?;
        match &spec.token {
            TokenFrom::Json(p) if !p.starts_with('/') => {
                return Err(FlowError::Declared(format!(
                    "token = {{ json = \"{p}\" }}: a JSON pointer starts with /"
                )));
            }
            TokenFrom::Cookie(c) | TokenFrom::Json(c) if c.trim().is_empty() => {
                return Err(FlowError::Declared("token: an empty name".into()));
            }
            _ => {}
        }
        let present = match (&spec.send, &spec.token) {
            (None, TokenFrom::Json(_)) => Present::Header {
                name: "Authorization".into(),
                prefix: "Bearer ".into(),
            },
            (None, TokenFrom::Cookie(c)) => Present::Cookie(c.clone()),
            (
                Some(PresentSpec {
                    header: Some(h),
                    prefix,
                    cookie: None,
                }),
                _,
            ) => Present::Header {
                name: h.clone(),
                prefix: prefix.clone().unwrap_or_default(),
            },
            (
                Some(PresentSpec {
                    header: None,
                    prefix: None,
                    cookie: Some(c),
                }),
                _,
            ) => Present::Cookie(c.clone()),
            _ => {
                return Err(FlowError::Declared(
                    "send: give either header (and perhaps prefix) or cookie".into(),
                ));
            }
        };
        Ok(Flow {
            name: "declared",
            register: spec.register.clone(),
            login: spec.request.clone(),
            token: spec.token.clone(),
            present,
            login_every: match spec.login_every {
                None => Some(LOGIN_EVERY),
                Some(d) if d.is_zero() => None,
                Some(d) => Some(d),
            },
        })
    }

    /// The operations the flow uses (`METHOD path`), to check against a document.
    pub fn operations(&self) -> Vec<&Declared> {
        self.register.iter().chain([&self.login]).collect()
    }

    /// The login request for `creds`.
    pub fn login_request(&self, creds: &Credentials) -> Request {
        self.login.render(&creds.vars())
    }

    /// Registers `creds` (when the flow has a registration).
    pub async fn register(&self, t: &impl Transport, creds: &Credentials) -> Result<(), FlowError> {
        let Some(register) = &self.register else {
            return Ok(());
        };
        let step = format!("register ({})", register.describe());
        let r = t
            .exchange(&register.render(&creds.vars()))
            .await
            .map_err(|detail| FlowError::Step {
                step: step.clone(),
                detail,
            })?;
        if !register.expects(r.status) {
            return Err(FlowError::Step {
                step,
                detail: format!(
                    "expected {}, {}",
                    register.expectation(),
                    answer(r.status, &r.body)
                ),
            });
        }
        Ok(())
    }

    /// Logs `creds` in.
    pub async fn login(
        &self,
        t: &impl Transport,
        creds: &Credentials,
    ) -> Result<Session, FlowError> {
        Ok(self.login_answer(t, creds).await?.0)
    }

    /// Logs `creds` in; the session and the login's answer.
    pub async fn login_answer(
        &self,
        t: &impl Transport,
        creds: &Credentials,
    ) -> Result<(Session, Response), FlowError> {
        let step = format!("log in ({})", self.login.describe());
        let r = t
            .exchange(&self.login_request(creds))
            .await
            .map_err(|detail| FlowError::Step {
                step: step.clone(),
                detail,
            })?;
        if !self.login.expects(r.status) {
            return Err(FlowError::Step {
                step,
                detail: format!(
                    "expected {}, {}",
                    self.login.expectation(),
                    answer(r.status, &r.body)
                ),
            });
        }
        let token = match &self.token {
            TokenFrom::Json(pointer) => serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| {
                    v.pointer(pointer)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .ok_or_else(|| FlowError::Step {
                    step: step.clone(),
                    detail: format!("no string at {pointer} in the answer's JSON body"),
                })?,
            TokenFrom::Cookie(name) => set_cookie(&r, name).ok_or_else(|| FlowError::Step {
                step: step.clone(),
                detail: format!("the answer sets no cookie `{name}`"),
            })?,
        };
        let session = Session {
            credentials: creds.clone(),
            token,
            present: self.present.clone(),
        };
        Ok((session, r))
    }

    /// A fresh user (`{prefix}_...`), registered and logged in.
    pub async fn establish(&self, t: &impl Transport, prefix: &str) -> Result<Session, FlowError> {
        let creds = Credentials::throwaway(prefix);
        self.register(t, &creds).await?;
        self.login(t, &creds).await
    }
}

/// How the harness authenticates (`--auth`): `auto`, `rampart`, `none`, `bearer:TOKEN` or
/// `header:NAME=VALUE`. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// `rampart` when the target's OpenAPI document has rampart's auth routes, else `none`.
    Auto,
    /// Rampart's flow (throwaway users; the probe mixes logins and `GET /v1/accounts` in; the
    /// scanners get sessions and data); an error if the target's document lacks it.
    Rampart,
    /// No authentication (the probe: unauthenticated `GET /healthz` only).
    None,
    /// Scanners send `Authorization: Bearer TOKEN` (the probe: as `none`).
    Bearer(String),
    /// Scanners send the header `NAME: VALUE` (the probe: as `none`).
    Header(String, String),
}

impl std::fmt::Debug for AuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthMode::Auto => f.write_str("auto"),
            AuthMode::Rampart => f.write_str("rampart"),
            AuthMode::None => f.write_str("none"),
            AuthMode::Bearer(_) => f.write_str("bearer:(hidden)"),
            AuthMode::Header(name, _) => write!(f, "header:{name}=(hidden)"),
        }
    }
}

impl std::str::FromStr for AuthMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => return Ok(AuthMode::Auto),
            "rampart" => return Ok(AuthMode::Rampart),
            "none" => return Ok(AuthMode::None),
            _ => {}
        }
        if let Some(token) = s.strip_prefix("bearer:") {
            if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
                return Err(
                    "bearer:TOKEN needs a token without spaces or control characters".into(),
                );
            }
            return Ok(AuthMode::Bearer(token.to_string()));
        }
        if let Some(header) = s.strip_prefix("header:") {
            let valid_name = |n: &str| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            };
            return match header.split_once('=') {
                Some((name, value))
                    if valid_name(name) && !value.chars().any(|c| c.is_control()) =>
                {
                    Ok(AuthMode::Header(name.to_string(), value.to_string()))
                }
                _ => Err(
                    "header:NAME=VALUE needs a header name and a value without control characters"
                        .into(),
                ),
            };
        }
        Err(format!(
            "`{s}`: expected auto, rampart, none, bearer:TOKEN or header:NAME=VALUE"
        ))
    }
}

/// Rampart's registration.
pub const USERS_PATH: &str = "/v1/users";
/// Rampart's login.
pub const SESSIONS_PATH: &str = "/v1/sessions";

#[cfg(test)]
mod tests {
    use super::*;

    fn response(head: &str, body: &str) -> Response {
        Response {
            status: head[9..12].parse().expect("status"),
            head: head.to_string(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// A transport answering from a script.
    struct Script(
        std::sync::Mutex<Vec<Response>>,
        std::sync::Mutex<Vec<Request>>,
    );

    impl Transport for Script {
        async fn exchange(&self, req: &Request) -> Result<Response, String> {
            self.1.lock().expect("lock").push(req.clone());
            let mut answers = self.0.lock().expect("lock");
            if answers.is_empty() {
                return Err("no answer".into());
            }
            Ok(answers.remove(0))
        }
    }

    fn flow(toml_text: &str) -> Result<Flow, FlowError> {
        let spec: FlowSpec =
            toml::from_str(toml_text).map_err(|e| FlowError::Declared(e.to_string()))?;
        Flow::declared(&spec)
    }

    #[tokio::test]
    async fn a_cookie_flow_registers_logs_in_and_presents_the_cookie() {
        let f = flow(
            r#"
            register = { method = "POST", path = "/signup", form = { login = "{username}", pass = "{password}" }, status = 303 }
            request = { method = "POST", path = "/signin", form = { login = "{username}", pass = "{password}" } }
            token = { cookie = "sid" }
            "#,
        )
        .expect("flow");
        let t = Script(
            std::sync::Mutex::new(vec![
                response("HTTP/1.1 303 See Other\r\nLocation: /", ""),
                response(
                    "HTTP/1.1 302 Found\r\nSet-Cookie: theme=x\r\nSet-Cookie: sid=abc123; Path=/; HttpOnly",
                    "",
                ),
            ]),
            std::sync::Mutex::new(Vec::new()),
        );
        let s = f.establish(&t, "probe").await.expect("session");
        assert_eq!(s.header(), ("Cookie".into(), "sid=abc123".into()));
        let sent = t.1.lock().expect("lock");
        assert_eq!(sent[0].target, "/signup");
        let body = String::from_utf8(sent[1].body.clone().expect("body")).expect("utf-8");
        assert!(
            body.starts_with(&format!("login={}&pass=", s.credentials.username)),
            "{body}"
        );
        let authed = s.authorize(Request::get("/notes"));
        assert!(!authed.describe("h").contains("abc123"));
        assert_eq!(f.login_every, Some(LOGIN_EVERY));
    }

    #[tokio::test]
    async fn failures_say_which_step_and_what_came_back() {
        let f = Flow::rampart();
        let t = Script(
            std::sync::Mutex::new(vec![
                response("HTTP/1.1 201 Created", "{}"),
                response("HTTP/1.1 201 Created", "{\"no_token\":1}"),
            ]),
            std::sync::Mutex::new(Vec::new()),
        );
        let e = f.establish(&t, "scan").await.expect_err("no token");
        assert!(
            e.to_string().contains("POST /v1/sessions") && e.to_string().contains("/token"),
            "{e}"
        );
        let t = Script(
            std::sync::Mutex::new(vec![response("HTTP/1.1 404 Not Found", "nope")]),
            std::sync::Mutex::new(Vec::new()),
        );
        let e = f.establish(&t, "scan").await.expect_err("404");
        assert!(
            e.to_string().contains("register (POST /v1/users)") && e.to_string().contains("404"),
            "{e}"
        );
    }

    #[test]
    fn declarations_are_checked() {
        let bad = [
            (
                "request = { path = \"/l\" }\ntoken = { json = \"token\" }",
                "JSON pointer",
            ),
            (
                "request = { path = \"/l/{user}\" }\ntoken = { json = \"/t\" }",
                "{user}",
            ),
            (
                "request = { path = \"/l\" }\ntoken = { json = \"/t\" }\nsend = { header = \"A\", cookie = \"c\" }",
                "either header",
            ),
            (
                "request = { path = \"/l\" }\ntoken = { jwt = \"/t\" }",
                "jwt",
            ),
        ];
        for (text, says) in bad {
            let e = flow(text).expect_err(text);
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        let f =
            flow("request = { path = \"/l\" }\ntoken = { json = \"/t\" }\nlogin_every = \"0s\"")
                .expect("ok");
        assert_eq!(f.login_every, None);
        assert_eq!(
            f.present,
            Present::Header {
                name: "Authorization".into(),
                prefix: "Bearer ".into()
            }
        );
    }

    #[test]
    fn auth_modes_parse_and_hide_their_secrets() {
        assert_eq!("auto".parse(), Ok(AuthMode::Auto));
        assert_eq!("none".parse(), Ok(AuthMode::None));
        let bearer: AuthMode = "bearer:abc.def".parse().expect("bearer");
        assert_eq!(bearer, AuthMode::Bearer("abc.def".into()));
        assert_eq!(format!("{bearer:?}"), "bearer:(hidden)");
        let header: AuthMode = "header:X-Api-Key=s3cret=x".parse().expect("header");
        assert_eq!(
            header,
            AuthMode::Header("X-Api-Key".into(), "s3cret=x".into())
        );
        assert!(!format!("{header:?}").contains("s3cret"));
        for bad in [
            "bearer:",
            "bearer:a b",
            "header:=x",
            "header:bad name=x",
            "header:X",
            "basic:x",
        ] {
            let e = bad.parse::<AuthMode>().expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let s = Session {
            credentials: Credentials {
                username: "u".into(),
                password: "hunter2hunter2".into(),
            },
            token: "tok-secret".into(),
            present: Present::Cookie("sid".into()),
        };
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2") && !d.contains("tok-secret"), "{d}");
    }
}
