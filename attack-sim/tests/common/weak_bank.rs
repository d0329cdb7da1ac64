//! The `auth` scans' positive control: a bank with rampart's routes (so that the harness's
//! login flow works on it) and the mistakes that flow is meant to find. Test-only.
//!
//! - `GET /v1/accounts/{id}` and `POST /v1/accounts/{id}/deposits` never check the owner
//!   (IDOR);
//! - a login says "no such user" at once for an unknown name and "wrong password" after a
//!   hash for a known one (enumeration by message and by timing);
//! - tokens are a counter (`tok00000001`, ...), said to expire 3 s after login and served
//!   for ever;
//! - a logout answers 204 and leaves the token valid; a password change leaves the other
//!   sessions valid;
//! - a missing token and an unknown one are refused with different messages;
//! - `POST /v1/accounts` takes `balance` and `currency` from the request (mass assignment).
//! - usernames are stored as given: a look-alike (fullwidth, bold, upper case) is a second user.
//! - bodies are read leniently: a body that is not JSON (or not UTF-8) is read as empty, a
//!   field of the wrong type as empty, a duplicate key's last value wins, and any text is
//!   stored; an amount is counted as `cents` does (negative, unparsable as 0, wrapping).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use serde_json::{Value, json};

use super::TestServer;

#[derive(Default)]
struct Bank {
    /// The OpenAPI document it serves.
    doc: Value,
    /// name -> (id, password hash)
    users: HashMap<String, (String, [u8; 32])>,
    /// token -> user name
    tokens: HashMap<String, String>,
    next_token: u64,
    /// id -> (owner, name, balance in cents, currency)
    accounts: HashMap<String, (String, String, i64, String)>,
    next_id: u64,
}

fn hash(password: &str) -> [u8; 32] {
    let params = argon2::Params::new(19_456, 2, 1, Some(32)).expect("params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    let _ = a.hash_password_into(password.as_bytes(), b"weak-bank-salt!!", &mut out);
    out
}

const DOC: &str = r##"{"openapi": "3.1.0", "info": {"title": "weak bank", "version": "0"},
 "paths": {
  "/healthz": {"get": {}},
  "/v1/users": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Creds"}}}}}},
  "/v1/sessions": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Creds"}}}}}},
  "/v1/sessions/current": {"delete": {"security": [{"bearer": []}]}},
  "/v1/me/password": {"post": {"security": [{"bearer": []}], "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}}}}}}}},
  "/v1/accounts": {
    "get": {"security": [{"bearer": []}]},
    "post": {"security": [{"bearer": []}], "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}},
  "/v1/accounts/{id}": {"get": {"security": [{"bearer": []}], "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]}},
  "/v1/accounts/{id}/deposits": {"post": {"security": [{"bearer": []}], "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"amount": {"type": "string"}}}}}}}},
  "/v1/transfers": {"post": {"security": [{"bearer": []}], "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}], "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"from_account": {"type": "string"}, "to_account": {"type": "string"}, "amount": {"type": "string"}, "memo": {"type": "string"}}}}}}}}
 },
 "components": {"schemas": {"Creds": {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}}"##;

/// Cents as a careless ledger counts them: a sign taken as given, what does not parse as 0,
/// and arithmetic that wraps as a release build's does.
fn cents(amount: &str) -> i64 {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    let frac = format!("{frac:0<2}");
    let frac = frac
        .get(..2)
        .and_then(|f| f.parse::<i64>().ok())
        .unwrap_or(0);
    whole
        .parse::<i64>()
        .unwrap_or(0)
        .wrapping_mul(100)
        .wrapping_add(frac)
}

fn account_json(id: &str, a: &(String, String, i64, String)) -> Value {
    json!({"id": id, "name": a.1, "balance": format!("{}.{:02}", a.2 / 100, a.2 % 100), "currency": a.3})
}

/// What a login says of its token: three seconds from now (never enforced).
fn expires_at() -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

async fn handle(
    bank: Arc<Mutex<Bank>>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let input: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (status, out) = route(&bank, &method, &path, auth.as_deref(), &input).await;
    let mut r = hyper::Response::new(Full::new(Bytes::from(if out.is_null() {
        String::new()
    } else {
        out.to_string()
    })));
    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    Ok(r)
}

async fn route(
    bank: &Arc<Mutex<Bank>>,
    method: &str,
    path: &str,
    auth: Option<&str>,
    input: &Value,
) -> (u16, Value) {
    let text = |k: &str| input[k].as_str().unwrap_or_default().to_string();
    match (method, path) {
        ("GET", "/healthz") => return (200, json!({"status": "ok"})),
        ("GET", "/openapi.json") => {
            return (200, bank.lock().expect("lock").doc.clone());
        }
        ("POST", "/v1/users") => {
            let (name, password) = (text("username"), text("password"));
            let h = tokio::task::spawn_blocking(move || hash(&password))
                .await
                .expect("hash");
            let mut b = bank.lock().expect("lock");
            if b.users.contains_key(&name) {
                return (409, json!({"error": "taken"}));
            }
            b.next_id += 1;
            let id = format!("u{}", b.next_id);
            b.users.insert(name.clone(), (id.clone(), h));
            return (201, json!({"id": id, "username": name}));
        }
        ("POST", "/v1/sessions") => {
            let (name, password) = (text("username"), text("password"));
            let Some(stored) = bank.lock().expect("lock").users.get(&name).map(|u| u.1) else {
                return (401, json!({"error": "no such user"}));
            };
            let h = tokio::task::spawn_blocking(move || hash(&password))
                .await
                .expect("hash");
            if h != stored {
                return (401, json!({"error": "wrong password"}));
            }
            let mut b = bank.lock().expect("lock");
            b.next_token += 1;
            let token = format!("tok{:08}", b.next_token);
            b.tokens.insert(token.clone(), name);
            return (201, json!({"token": token, "expires_at": expires_at()}));
        }
        _ => {}
    }
    let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) else {
        return (401, json!({"error": "missing token"}));
    };
    let Some(user) = bank.lock().expect("lock").tokens.get(token).cloned() else {
        return (401, json!({"error": "invalid token"}));
    };
    let mut b = bank.lock().expect("lock");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        // The token stays valid.
        ("DELETE", ["v1", "sessions", "current"]) => (204, Value::Null),
        ("POST", ["v1", "me", "password"]) => {
            let stored = b.users.get(&user).map(|u| u.1);
            if stored != Some(hash(&text("current_password"))) {
                return (401, json!({"error": "wrong password"}));
            }
            let new = hash(&text("new_password"));
            if let Some(u) = b.users.get_mut(&user) {
                u.1 = new;
            }
            // Other sessions stay valid.
            (204, Value::Null)
        }
        ("GET", ["v1", "accounts"]) => {
            let items: Vec<Value> = b
                .accounts
                .iter()
                .filter(|(_, a)| a.0 == user)
                .map(|(id, a)| account_json(id, a))
                .collect();
            (200, json!({ "items": items }))
        }
        ("POST", ["v1", "accounts"]) => {
            b.next_id += 1;
            let id = format!("acc{}", b.next_id);
            // Whatever the client says.
            let balance = input["balance"].as_str().map_or(0, cents);
            let currency = input["currency"].as_str().unwrap_or("EUR").to_string();
            let a = (user, text("name"), balance, currency);
            let out = account_json(&id, &a);
            b.accounts.insert(id, a);
            (201, out)
        }
        // Nobody's account is checked against the caller.
        ("GET", ["v1", "accounts", id]) => match b.accounts.get(*id) {
            Some(a) => (200, account_json(id, a)),
            None => (404, json!({"error": "not found"})),
        },
        ("POST", ["v1", "accounts", id, "deposits"]) => {
            let amount = cents(&text("amount"));
            match b.accounts.get_mut(*id) {
                Some(a) => {
                    a.2 = a.2.wrapping_add(amount);
                    (201, json!({"account_id": id, "amount": text("amount")}))
                }
                None => (404, json!({"error": "not found"})),
            }
        }
        ("POST", ["v1", "transfers"]) => {
            let amount = cents(&text("amount"));
            let (from, to) = (text("from_account"), text("to_account"));
            if !b.accounts.contains_key(&from) || !b.accounts.contains_key(&to) {
                return (404, json!({"error": "not found"}));
            }
            if let Some(a) = b.accounts.get_mut(&from) {
                a.2 = a.2.wrapping_sub(amount);
            }
            if let Some(a) = b.accounts.get_mut(&to) {
                a.2 = a.2.wrapping_add(amount);
            }
            (
                201,
                json!({"from_account": from, "to_account": to, "amount": text("amount")}),
            )
        }
        _ => (404, json!({"error": "not found"})),
    }
}

/// Starts the weak bank on a loopback port.
pub async fn start() -> TestServer {
    start_with_doc(serde_json::from_str(DOC).expect("doc")).await
}

/// The same bank whose document lists no `POST /v1/transfers` (the route still answers): a
/// bank on another stack whose API has no transfers.
pub async fn start_without_transfers() -> TestServer {
    let mut doc: Value = serde_json::from_str(DOC).expect("doc");
    doc["paths"]
        .as_object_mut()
        .expect("paths")
        .remove("/v1/transfers");
    start_with_doc(doc).await
}

async fn start_with_doc(doc: Value) -> TestServer {
    let bank = Bank {
        doc,
        ..Bank::default()
    };
    super::serve_https(Arc::new(Mutex::new(bank)), handle).await
}
