//! The legitimate client's own account, on targets with rampart's auth flow (`--auth`): found
//! in the target's OpenAPI document, a throwaway user registered once per run from the
//! probe's address, and logged in, so that the probe's mix can include logins and
//! authenticated reads. The password and token never appear in output.

use serde_json::Value;

use crate::client::{self, Client};
use crate::discovery::fixtures::random_hex;
use crate::sources::PROBE_ADDR;

/// Where the OpenAPI document is read.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Registration.
pub const USERS_PATH: &str = "/v1/users";
/// Login.
pub const SESSIONS_PATH: &str = "/v1/sessions";
/// The authenticated read of the mix.
pub const ACCOUNTS_PATH: &str = "/v1/accounts";

/// How the harness authenticates (`--auth`): `auto`, `rampart`, `none`, `bearer:TOKEN` or
/// `header:NAME=VALUE`. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// `rampart` when the target's OpenAPI document has rampart's auth routes, else `none`.
    Auto,
    /// Register throwaway users and log in (the probe mixes logins and `GET /v1/accounts`
    /// in; the scanners get sessions and data); an error if the target cannot.
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

/// The probe's logged-in user.
#[derive(Clone)]
pub struct Session {
    /// Its name (random, `probe_` and 16 hex digits).
    pub username: String,
    password: String,
    token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Why the session could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The OpenAPI document could not be read.
    #[error("--auth rampart: GET {OPENAPI_PATH}: {0}")]
    Discovery(String),
    /// It lacks a route the flow needs.
    #[error(
        "--auth rampart: the target's OpenAPI document has no `{0}` (needs POST {USERS_PATH}, POST {SESSIONS_PATH} and GET {ACCOUNTS_PATH})"
    )]
    Missing(&'static str),
    /// A step of the flow failed.
    #[error("--auth rampart: {step}: {detail}")]
    Step {
        /// Which request.
        step: &'static str,
        /// What came back.
        detail: String,
    },
}

/// Which of the routes the flow needs `doc` lacks, if any.
pub fn missing_route(doc: &Value) -> Option<&'static str> {
    [
        (USERS_PATH, "post", "POST /v1/users"),
        (SESSIONS_PATH, "post", "POST /v1/sessions"),
        (ACCOUNTS_PATH, "get", "GET /v1/accounts"),
    ]
    .into_iter()
    .find(|(path, method, _)| doc["paths"][path][method].is_null())
    .map(|(_, _, name)| name)
}

/// Sets up the probe's session per `mode`: `Ok(None)` for `none`, and for `auto` on a target
/// without the routes.
pub async fn establish(client: &Client, mode: &AuthMode) -> Result<Option<Session>, SessionError> {
    if !matches!(mode, AuthMode::Auto | AuthMode::Rampart) {
        return Ok(None);
    }
    let doc = match fetch_openapi(client).await {
        Ok(doc) => doc,
        Err(_) if *mode == AuthMode::Auto => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Some(route) = missing_route(&doc) {
        return match *mode {
            AuthMode::Auto => Ok(None),
            _ => Err(SessionError::Missing(route)),
        };
    }
    let mut session = Session {
        username: format!("probe_{}", random_hex(8)),
        password: random_hex(24),
        token: String::new(),
    };
    let (status, body) = request(client, &session.credentials_post(client.host(), USERS_PATH))
        .await
        .map_err(|detail| SessionError::Step {
            step: "register (POST /v1/users)",
            detail,
        })?;
    if status != 201 {
        return Err(SessionError::Step {
            step: "register (POST /v1/users)",
            detail: answer(status, &body),
        });
    }
    session.token = session.login(client).await?;
    Ok(Some(session))
}

impl Session {
    /// A session with made-up credentials, for tests of the request builders.
    #[cfg(test)]
    pub fn for_tests() -> Session {
        Session {
            username: "probe_test".into(),
            password: "not-a-real-password".into(),
            token: "not-a-real-token".into(),
        }
    }

    /// The login request.
    pub fn login_request(&self, host: &str) -> Vec<u8> {
        self.credentials_post(host, SESSIONS_PATH)
    }

    /// The authenticated read.
    pub fn accounts_request(&self, host: &str) -> Vec<u8> {
        format!(
            "GET {ACCOUNTS_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim probe\r\n\
             Authorization: Bearer {}\r\n\r\n",
            self.token
        )
        .into_bytes()
    }

    fn credentials_post(&self, host: &str, path: &str) -> Vec<u8> {
        // Both are [a-z0-9_]: nothing to escape.
        let body = format!(
            "{{\"username\":\"{}\",\"password\":\"{}\"}}",
            self.username, self.password
        );
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: attack-sim probe\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Logs in; returns the token.
    async fn login(&self, client: &Client) -> Result<String, SessionError> {
        let step = "log in (POST /v1/sessions)";
        let (status, body) = request(client, &self.login_request(client.host()))
            .await
            .map_err(|detail| SessionError::Step { step, detail })?;
        let token = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["token"].as_str().map(str::to_string));
        match (status, token) {
            (201, Some(token)) => Ok(token),
            _ => Err(SessionError::Step {
                step,
                detail: answer(status, &body),
            }),
        }
    }
}

/// `status` and the start of `body`, for an error (never a token: only failures are shown).
fn answer(status: u16, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
    format!("answered {status}: {text}")
}

async fn fetch_openapi(client: &Client) -> Result<Value, SessionError> {
    let get = format!(
        "GET {OPENAPI_PATH} HTTP/1.1\r\nHost: {}\r\nUser-Agent: attack-sim probe\r\n\r\n",
        client.host()
    );
    let (status, body) = request(client, get.as_bytes())
        .await
        .map_err(SessionError::Discovery)?;
    if status != 200 {
        return Err(SessionError::Discovery(answer(status, &body)));
    }
    serde_json::from_slice(&body).map_err(|e| SessionError::Discovery(format!("not JSON: {e}")))
}

/// One request on a fresh connection from the probe's address.
async fn request(client: &Client, bytes: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let work = async {
        let mut tls = client.tls_from(PROBE_ADDR).await?;
        client::exchange_body(&mut tls, bytes).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(30), work).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 30 s".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_needs_all_three_routes() {
        let doc = serde_json::json!({"paths": {
            "/v1/users": {"post": {}},
            "/v1/sessions": {"post": {}},
            "/v1/accounts": {"get": {}, "post": {}},
        }});
        assert_eq!(missing_route(&doc), None);
        let doc = serde_json::json!({"paths": {
            "/v1/users": {"post": {}},
            "/v1/sessions": {"delete": {}},
        }});
        assert_eq!(missing_route(&doc), Some("POST /v1/sessions"));
        assert_eq!(
            missing_route(&serde_json::json!({})),
            Some("POST /v1/users")
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
            username: "probe_1".into(),
            password: "hunter2hunter2hunter2".into(),
            token: "tok-secret".into(),
        };
        let d = format!("{s:?}");
        assert!(d.contains("probe_1") && !d.contains("hunter2") && !d.contains("tok-secret"));
        let r = String::from_utf8(s.accounts_request("h")).expect("utf-8");
        assert!(r.contains("Authorization: Bearer tok-secret\r\n"));
        let l = String::from_utf8(s.login_request("h")).expect("utf-8");
        assert!(l.ends_with("{\"username\":\"probe_1\",\"password\":\"hunter2hunter2hunter2\"}"));
    }
}
