//! The `web` scans' positive control: a small web bank written the careless way (test-only).
//! It renders stored notes and the search text into its pages unescaped, keeps its session in
//! a `SameSite=None` cookie that script can read, checks no origin, accepts any body type
//! (JSON, form or text/plain), lets any site frame it, and allows inline script in its
//! policy (with no `object-src` or `base-uri`). Each flaw is one the `web` scans must name.
//!
//! Routes: `GET /openapi.json`; `POST /register` and `POST /login` (JSON
//! `{username, password}`, the login sets `sid`); `POST /notes` `{text}` and `POST /transfer`
//! `{to, amount}` for the signed-in user; `GET /` the page (the user's notes, server-rendered);
//! `GET /search?q=` a page that repeats `q`; `GET /balance` the user's balance as JSON.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use serde_json::{Value, json};

use super::TestServer;
use super::weak_sql::{percent_decode, query_value};

/// The document, served at `/openapi.json`.
pub const DOC: &str = r##"{"openapi": "3.0.3", "info": {"title": "weak web bank", "version": "1"},
 "components": {"securitySchemes": {"cookie": {"type": "apiKey", "in": "cookie", "name": "sid"}}},
 "paths": {
  "/register": {"post": {"requestBody": {"content": {"application/json": {"schema": {
     "type": "object", "required": ["username", "password"],
     "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}}}},
  "/login": {"post": {"requestBody": {"content": {"application/json": {"schema": {
     "type": "object", "required": ["username", "password"],
     "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}}}},
  "/notes": {"post": {"security": [{"cookie": []}], "requestBody": {"content": {"application/json": {"schema": {
     "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}}}},
  "/transfer": {"post": {"security": [{"cookie": []}], "requestBody": {"content": {"application/json": {"schema": {
     "type": "object", "required": ["to", "amount"],
     "properties": {"to": {"type": "string", "example": "savings"}, "amount": {"type": "integer", "example": 1}}}}}}}},
  "/balance": {"get": {"security": [{"cookie": []}]}},
  "/search": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}]}}
 }}"##;

#[derive(Default)]
struct Bank {
    users: HashMap<String, String>,
    sids: HashMap<String, String>,
    notes: HashMap<String, Vec<String>>,
    balances: HashMap<String, i64>,
}

/// A body as fields, whatever its type: JSON, a form, or `text/plain` `name=value` lines.
fn fields(body: &str) -> HashMap<String, String> {
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(body) {
        return m
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect();
    }
    // A text/plain form that smuggled JSON: `{"a":"b=` + `"}`.
    if let Some((name, value)) = body.split_once('=')
        && let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&format!("{name}{value}"))
    {
        return m
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect();
    }
    body.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(&v.replace('+', " "))))
        .collect()
}

fn sid_of(cookie: Option<&str>) -> Option<String> {
    cookie?.split(';').find_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        (name == "sid").then(|| value.to_string())
    })
}

type Answer = (u16, &'static str, Vec<(&'static str, String)>, String);

fn route(
    bank: &Mutex<Bank>,
    method: &str,
    path: &str,
    query: &str,
    cookie: Option<&str>,
    body: &str,
) -> Answer {
    let json = |status: u16, v: Value| (status, "application/json", Vec::new(), v.to_string());
    let page = |html: String| {
        (
            200,
            "text/html; charset=utf-8",
            vec![(
                "content-security-policy",
                "default-src 'self'; script-src 'self' 'unsafe-inline'".to_string(),
            )],
            html,
        )
    };
    let mut b = bank.lock().expect("lock");
    let user = sid_of(cookie).and_then(|sid| b.sids.get(&sid).cloned());
    let f = fields(body);
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    match (method, path) {
        ("GET", "/openapi.json") => (200, "application/json", Vec::new(), DOC.to_string()),
        ("POST", "/register") => {
            b.users.insert(field("username"), field("password"));
            json(201, json!({"ok": true}))
        }
        ("POST", "/login") => {
            if b.users.get(&field("username")) != Some(&field("password")) {
                return json(401, json!({"error": "no"}));
            }
            let sid = format!("{:032x}", super::random_u128());
            b.sids.insert(sid.clone(), field("username"));
            b.balances.entry(field("username")).or_insert(100);
            (
                200,
                "application/json",
                vec![(
                    "set-cookie",
                    format!("sid={sid}; Path=/; Secure; SameSite=None"),
                )],
                json!({"ok": true}).to_string(),
            )
        }
        ("GET", "/") => {
            let notes = user
                .as_ref()
                .and_then(|u| b.notes.get(u))
                .map(|n| {
                    n.iter()
                        .map(|t| format!("<li>{t}</li>"))
                        .collect::<String>()
                })
                .unwrap_or_default();
            page(format!(
                "<!doctype html><title>Weak bank</title><h1>Notes</h1><ul>{notes}</ul>"
            ))
        }
        ("GET", "/search") => {
            let q = query_value(query, "q");
            page(format!(
                "<!doctype html><title>Search</title><p>Results for {q}</p>"
            ))
        }
        _ if user.is_none() => json(401, json!({"error": "sign in"})),
        ("POST", "/notes") => {
            let u = user.unwrap_or_default();
            b.notes.entry(u).or_default().push(field("text"));
            json(201, json!({"ok": true}))
        }
        ("POST", "/transfer") => {
            let u = user.unwrap_or_default();
            let amount: i64 = field("amount").parse().unwrap_or(0);
            *b.balances.entry(u).or_insert(100) -= amount;
            json(200, json!({"ok": true}))
        }
        ("GET", "/balance") => {
            let u = user.unwrap_or_default();
            json(
                200,
                json!({"balance": b.balances.get(&u).copied().unwrap_or(0)}),
            )
        }
        _ => json(404, json!({"error": "not found"})),
    }
}

async fn handle(
    bank: Arc<Mutex<Bank>>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let a = super::asked(req, "cookie").await;
    let (status, media, headers, out) = route(
        &bank,
        &a.method,
        &a.path,
        &a.query,
        a.header.as_deref(),
        &a.body,
    );
    super::answer(status, media, headers, out)
}

pub async fn start() -> TestServer {
    super::serve_https(Arc::new(Mutex::new(Bank::default())), handle).await
}

/// A plan for it: its document and its cookie login.
pub fn plan(url: &str, ca: &std::path::Path) -> String {
    format!(
        r#"target = "{url}"
ca = "{ca}"
openapi = "{url}/openapi.json"

[login]
register = {{ method = "POST", path = "/register", json = {{ username = "{{username}}", password = "{{password}}" }}, status = 201 }}
request = {{ method = "POST", path = "/login", json = {{ username = "{{username}}", password = "{{password}}" }}, status = 200 }}
token = {{ cookie = "sid" }}
"#,
        ca = ca.display()
    )
}
