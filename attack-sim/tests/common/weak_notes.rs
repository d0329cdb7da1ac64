//! A small API in another style than rampart's, for the declared login flows: its own paths
//! under `/api`, its OpenAPI document at `/api/openapi.json`, forms instead of JSON, field
//! names of its own (`login`, `pass`), and a session cookie `sid` set by the login. Two of
//! its queries are built by string concatenation (test-only, the planted flaws):
//!
//! - `GET /api/notes?search=` a LIKE over the signed-in user's notes;
//! - `GET /api/notes/{note_id}` a numeric id.
//!
//! Everything else binds its values. Without a session, the notes answer 401: only a flow
//! that signs in reaches the flaws.
#![expect(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the planted SQL injections: statements built from request text on purpose (.clippy.toml)"
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use serde_json::json;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};

use super::TestServer;
use super::weak_sql::{percent_decode, query_value};

/// The document, served at `/api/openapi.json`.
pub const DOC: &str = r##"{"openapi": "3.0.3", "info": {"title": "notes", "version": "1"},
 "components": {"securitySchemes": {"cookie": {"type": "apiKey", "in": "cookie", "name": "sid"}}},
 "paths": {
  "/api/status": {"get": {}},
  "/api/signup": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
     "type": "object", "required": ["login", "pass"],
     "properties": {"login": {"type": "string"}, "pass": {"type": "string"}}}}}}}},
  "/api/signin": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
     "type": "object", "required": ["login", "pass"],
     "properties": {"login": {"type": "string"}, "pass": {"type": "string"}}}}}}}},
  "/api/notes": {
    "get": {"security": [{"cookie": []}], "parameters": [
      {"name": "search", "in": "query", "schema": {"type": "string"}}]},
    "post": {"security": [{"cookie": []}], "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
      "type": "object", "properties": {"title": {"type": "string"}, "body": {"type": "string"}}}}}}}},
  "/api/notes/{note_id}": {"get": {"security": [{"cookie": []}], "parameters": [
      {"name": "note_id", "in": "path", "required": true, "schema": {"type": "integer"}}]}}
 }}"##;

#[derive(Default)]
struct Sessions {
    /// login -> password
    users: HashMap<String, String>,
    /// sid -> login
    sids: HashMap<String, String>,
}

struct Notes {
    pool: SqlitePool,
    sessions: Mutex<Sessions>,
}

async fn open() -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT, title TEXT, body TEXT)")
        .execute(&pool)
        .await
        .expect("schema");
    pool
}

/// Every row of `sql` as arrays of text.
async fn rows(pool: &SqlitePool, sql: String) -> Result<serde_json::Value, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).unwrap_or(None))
                .collect::<Vec<_>>()
        })
        .collect())
}

fn sid_of(cookie: Option<&str>) -> Option<String> {
    cookie?.split(';').find_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        (name == "sid").then(|| value.to_string())
    })
}

type Answer = (u16, Vec<(&'static str, String)>, String);

async fn route(
    n: &Notes,
    method: &str,
    path: &str,
    query: &str,
    cookie: Option<&str>,
    body: &str,
) -> Answer {
    let plain = |status: u16, text: serde_json::Value| (status, Vec::new(), text.to_string());
    let user =
        sid_of(cookie).and_then(|sid| n.sessions.lock().expect("lock").sids.get(&sid).cloned());
    match (method, path) {
        ("GET", "/api/openapi.json") => (200, Vec::new(), DOC.to_string()),
        ("GET", "/api/status") => plain(200, json!({"ok": true})),
        ("POST", "/api/signup") => {
            let (login, pass) = (query_value(body, "login"), query_value(body, "pass"));
            if login.is_empty() || pass.len() < 8 {
                return plain(400, json!({"error": "login and a pass of 8 or more"}));
            }
            let mut s = n.sessions.lock().expect("lock");
            if s.users.contains_key(&login) {
                return plain(409, json!({"error": "taken"}));
            }
            s.users.insert(login, pass);
            plain(201, json!({"created": true}))
        }
        ("POST", "/api/signin") => {
            let (login, pass) = (query_value(body, "login"), query_value(body, "pass"));
            let mut s = n.sessions.lock().expect("lock");
            if s.users.get(&login) != Some(&pass) {
                return plain(401, json!({"error": "no"}));
            }
            let sid = format!("{:032x}", super::random_u128());
            s.sids.insert(sid.clone(), login);
            (
                204,
                vec![("set-cookie", format!("sid={sid}; Path=/; HttpOnly; Secure"))],
                String::new(),
            )
        }
        (_, p) if p.starts_with("/api/notes") && user.is_none() => {
            plain(401, json!({"error": "sign in"}))
        }
        ("POST", "/api/notes") => {
            let owner = user.unwrap_or_default();
            let r =
                sqlx::query("INSERT INTO notes (owner, title, body) VALUES (?, ?, ?) RETURNING id")
                    .bind(&owner)
                    .bind(query_value(body, "title"))
                    .bind(query_value(body, "body"))
                    .fetch_one(&n.pool)
                    .await;
            match r {
                Ok(row) => plain(
                    201,
                    json!({"note_id": row.try_get::<i64, _>(0).unwrap_or(0)}),
                ),
                Err(_) => plain(500, json!({"error": "internal"})),
            }
        }
        ("GET", "/api/notes") => {
            let owner = user.unwrap_or_default().replace('\'', "''");
            let search = query_value(query, "search");
            let sql = format!(
                "SELECT CAST(id AS TEXT), title FROM notes WHERE owner = '{owner}' AND body LIKE '%{search}%' ORDER BY id"
            );
            match rows(&n.pool, sql).await {
                Ok(v) => plain(200, json!({"notes": v})),
                Err(_) => plain(500, json!({"error": "internal"})),
            }
        }
        ("GET", p) if p.starts_with("/api/notes/") => {
            let id = percent_decode(&p["/api/notes/".len()..]);
            let sql = format!("SELECT title, body FROM notes WHERE id = {id}");
            match rows(&n.pool, sql).await {
                Ok(v) if v.as_array().is_some_and(|a| a.is_empty()) => {
                    plain(404, json!({"error": "no such note"}))
                }
                Ok(v) => plain(200, json!({"note": v})),
                Err(_) => plain(500, json!({"error": "internal"})),
            }
        }
        _ => plain(404, json!({"error": "not found"})),
    }
}

async fn handle(
    n: Arc<Notes>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let a = super::asked(req, "cookie").await;
    let (status, headers, out) = route(
        &n,
        &a.method,
        &a.path,
        &a.query,
        a.header.as_deref(),
        &a.body,
    )
    .await;
    super::answer(status, "application/json", headers, out)
}

pub async fn start() -> TestServer {
    let notes = Notes {
        pool: open().await,
        sessions: Mutex::new(Sessions::default()),
    };
    super::serve_https(Arc::new(notes), handle).await
}

/// A plan for this API: its flow, probes and setup, trusting `ca`, against `url`.
pub fn plan(url: &str, ca: &std::path::Path, extra: &str) -> String {
    format!(
        r#"target = "{url}"
ca = "{ca}"
openapi = "{url}/api/openapi.json"
{extra}

[[probe]]
path = "/api/status"
weight = 2

[[probe]]
name = "notes"
path = "/api/notes"
auth = true
status = 200

[login]
register = {{ method = "POST", path = "/api/signup", form = {{ login = "{{username}}", pass = "{{password}}" }}, status = 201 }}
request = {{ method = "POST", path = "/api/signin", form = {{ login = "{{username}}", pass = "{{password}}" }}, status = 204 }}
token = {{ cookie = "sid" }}

[[setup]]
name = "write a note"
request = {{ method = "POST", path = "/api/notes", form = {{ title = "attack-sim", body = "rent april" }}, status = 201 }}
capture = {{ note = "/note_id" }}

[values]
note_id = "{{note}}"
search = "rent"
"#,
        ca = ca.display()
    )
}
