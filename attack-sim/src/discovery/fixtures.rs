//! What a scan sends besides its payload. A session: rampart's flow (a throwaway user
//! registered and logged in from the scanner's address), a bearer token or a header from the
//! command line, or none. Values for the inputs: from the flow's own data (two accounts, a
//! deposit, transfers with memos, so that history pages have rows to sort and search), from
//! the document's examples, or by type. Some inputs take a fresh value on every request:
//! idempotency keys, and the usernames of registrations and logins (so that a scan never
//! piles failed logins on one account, or registers one name twice).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::DiscoveryError;
use super::openapi::{Input, Kind};
use crate::probe::session::{self, AuthMode};
use crate::scan::http::{Http, Request};

/// Inputs (by name, any case) that take a fresh random value on every request.
pub const FRESH: [&str; 2] = ["idempotency-key", "username"];

/// What the flow made and what the scan sends.
#[derive(Clone, Default)]
pub struct Fixtures {
    /// The header that authenticates (`Authorization: Bearer ...` or `--auth header:`).
    pub auth_header: Option<(String, String)>,
    /// Values by input name (lower case).
    values: HashMap<String, String>,
    /// The flow's user (name and password), when there is one.
    pub user: Option<(String, String)>,
    /// Accounts the flow's user owns.
    pub accounts: Vec<String>,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures")
            .field("auth_header", &self.auth_header.as_ref().map(|(n, _)| n))
            .field("user", &self.user.as_ref().map(|(name, _)| name))
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
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

/// A value of the declared kind for an input nothing else gives a value to.
fn by_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer | Kind::Number => "1",
        Kind::Boolean => "true",
        Kind::String | Kind::Structured => "attacksim",
    }
}

impl Fixtures {
    /// The value `input` is sent with when it is not the one injected: fresh, from the flow,
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

async fn step(http: &Http, name: &str, req: Request, want: u16) -> Result<Value, DiscoveryError> {
    let err = |detail: String| DiscoveryError::Flow {
        step: name.to_string(),
        detail,
    };
    let reply = http.send(&req).await.map_err(|e| err(e.to_string()))?;
    if reply.status() != want {
        let body: String = String::from_utf8_lossy(&reply.response.body)
            .chars()
            .take(200)
            .collect();
        return Err(err(format!("answered {}: {body}", reply.status())));
    }
    Ok(serde_json::from_slice(&reply.response.body).unwrap_or(Value::Null))
}

/// Sets up the session and data per `auth` on the target `doc` describes.
pub async fn establish(
    http: &Http,
    doc: &Value,
    auth: &AuthMode,
) -> Result<Fixtures, DiscoveryError> {
    match auth {
        AuthMode::None => Ok(Fixtures::default()),
        AuthMode::Bearer(token) => Ok(Fixtures {
            auth_header: Some(("Authorization".into(), format!("Bearer {token}"))),
            ..Fixtures::default()
        }),
        AuthMode::Header(name, value) => Ok(Fixtures {
            auth_header: Some((name.clone(), value.clone())),
            ..Fixtures::default()
        }),
        AuthMode::Auto | AuthMode::Rampart => match session::missing_route(doc) {
            None => rampart_flow(http).await,
            Some(_) if *auth == AuthMode::Auto => Ok(Fixtures::default()),
            Some(route) => Err(DiscoveryError::Flow {
                step: "rampart".into(),
                detail: format!("the target's OpenAPI document has no `{route}`"),
            }),
        },
    }
}

/// Registers `username` with `password` (rampart's `POST /v1/users`).
pub async fn register(http: &Http, username: &str, password: &str) -> Result<(), DiscoveryError> {
    let creds = json!({"username": username, "password": password});
    step(
        http,
        "register (POST /v1/users)",
        Request::post_json(session::USERS_PATH, &creds),
        201,
    )
    .await
    .map(drop)
}

/// Logs `username` in (rampart's `POST /v1/sessions`); returns the token.
pub async fn login(http: &Http, username: &str, password: &str) -> Result<String, DiscoveryError> {
    let creds = json!({"username": username, "password": password});
    let login = step(
        http,
        "log in (POST /v1/sessions)",
        Request::post_json(session::SESSIONS_PATH, &creds),
        201,
    )
    .await?;
    login["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DiscoveryError::Flow {
            step: "log in (POST /v1/sessions)".into(),
            detail: "no token in the answer".into(),
        })
}

/// Opens an account named `name` for the session `bearer` (`Bearer ...`); returns its id.
pub async fn open_account(http: &Http, bearer: &str, name: &str) -> Result<String, DiscoveryError> {
    let account = step(
        http,
        "open an account (POST /v1/accounts)",
        Request::post_json(session::ACCOUNTS_PATH, &json!({ "name": name }))
            .with_header("Authorization", bearer),
        201,
    )
    .await?;
    Ok(account["id"].as_str().unwrap_or_default().to_string())
}

/// A throwaway user's name and password.
pub fn throwaway() -> (String, String) {
    (format!("scan_{}", random_hex(8)), random_hex(16))
}

/// rampart's flow: a user, a session, two accounts, a deposit and three transfers.
async fn rampart_flow(http: &Http) -> Result<Fixtures, DiscoveryError> {
    let (username, password) = throwaway();
    register(http, &username, &password).await?;
    let token = login(http, &username, &password).await?;
    let bearer = format!("Bearer {token}");
    let authed = |req: Request| req.with_header("Authorization", &bearer);
    let mut accounts = Vec::new();
    for name in ["attack-sim a", "attack-sim b"] {
        accounts.push(open_account(http, &bearer, name).await?);
    }
    let (a, b) = (accounts[0].clone(), accounts[1].clone());
    step(
        http,
        "deposit (POST /v1/accounts/{id}/deposits)",
        authed(Request::post_json(
            format!("/v1/accounts/{a}/deposits"),
            &json!({"amount": "100000.00"}),
        )),
        201,
    )
    .await?;
    // Amounts out of time order, so that sorting by amount and by time differ.
    for (memo, amount) in [
        ("rent march", "12.50"),
        ("groceries", "3.20"),
        ("rent april", "30.00"),
    ] {
        step(
            http,
            "transfer (POST /v1/transfers)",
            authed(
                Request::post_json(
                    "/v1/transfers",
                    &json!({"from_account": a, "to_account": b, "amount": amount, "memo": memo}),
                )
                .with_header("Idempotency-Key", &format!("scan_{}", random_hex(8))),
            ),
            201,
        )
        .await?;
    }
    let password_value = password.clone();
    let values = [
        ("id", a.as_str()),
        ("from_account", a.as_str()),
        ("to_account", b.as_str()),
        ("amount", "1.00"),
        ("name", "attack-sim"),
        ("memo", "attack-sim scan"),
        ("q", "rent"),
        ("sort", "created_at"),
        ("order", "desc"),
        ("limit", "20"),
        ("password", password_value.as_str()),
    ];
    Ok(Fixtures {
        auth_header: Some(("Authorization".into(), bearer)),
        user: Some((username, password.clone())),
        accounts,
        ..Fixtures::with_values(&values)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::openapi::Location;

    fn input(name: &str, kind: Kind, required: bool, example: Option<&str>) -> Input {
        Input {
            name: name.into(),
            location: Location::Query,
            kind,
            required,
            example: example.map(str::to_string),
        }
    }

    #[test]
    fn values_come_fresh_from_the_flow_from_examples_or_by_kind() {
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
            auth_header: Some(("Authorization".into(), "Bearer s3cret".into())),
            ..Fixtures::with_values(&[("password", "hunter2hunter2")])
        };
        let d = format!("{f:?}");
        assert!(!d.contains("s3cret") && !d.contains("hunter2"), "{d}");
    }

    #[test]
    fn random_hex_is_fresh_hex() {
        let (a, b) = (random_hex(8), random_hex(8));
        assert!(a.len() == 16 && a != b && a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
