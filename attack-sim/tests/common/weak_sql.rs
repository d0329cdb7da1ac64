//! The weak target's SQL, written the way injection happens: queries built by string
//! concatenation over an in-memory SQLite, one per context the scanner knows. Test-only.
//!
//! - `GET /w/users?name=` string context, and its SQL errors are sent to the client verbatim;
//! - `GET /w/items/{id}` numeric context (404 when nothing matches, errors hidden);
//! - `GET /w/memos?q=` LIKE context (errors hidden);
//! - `GET /w/memos/sorted?sort=` ORDER BY context (errors hidden);
//! - `POST /w/audit` `{"user"}` an INSERT whose answer never changes: only time tells.
#![expect(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the planted SQL injections: statements built from request text on purpose (.clippy.toml)"
)]

use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};

/// The OpenAPI paths of these routes, with the examples a scanner starts from.
pub const PATHS: &str = r#"
  "/w/users": {"get": {"parameters": [
    {"name": "name", "in": "query", "schema": {"type": "string"}, "example": "alice"}]}},
  "/w/items/{id}": {"get": {"parameters": [
    {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "example": 1}]}},
  "/w/memos": {"get": {"parameters": [
    {"name": "q", "in": "query", "schema": {"type": "string"}, "example": "rent"}]}},
  "/w/memos/sorted": {"get": {"parameters": [
    {"name": "sort", "in": "query", "schema": {"type": "string"}, "example": "id"}]}},
  "/w/audit": {"post": {"requestBody": {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"user": {"type": "string", "example": "alice"}}}}}}}}
"#;

/// The database, seeded.
pub async fn open() -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    for sql in [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)",
        "INSERT INTO users VALUES (1, 'alice', 'alice@example.test'), (2, 'bob', 'bob@example.test')",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO items VALUES (1, 'apple'), (2, 'pear'), (3, 'plum')",
        "CREATE TABLE memos (id INTEGER PRIMARY KEY, memo TEXT, amount INTEGER)",
        "INSERT INTO memos VALUES (1, 'rent march', 1250), (2, 'groceries', 320), (3, 'rent april', 3000)",
        "CREATE TABLE audit (user TEXT)",
    ] {
        sqlx::query(sql).execute(&pool).await.expect("seed");
    }
    pool
}

/// The rows of `sql` (every column selected as text), as a JSON array of arrays.
async fn rows(pool: &SqlitePool, sql: String) -> Result<String, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
    let out: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).unwrap_or(None))
                .collect()
        })
        .collect();
    Ok(serde_json::to_string(&out).unwrap_or_default())
}

pub fn query_value(query: &str, name: &str) -> String {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
        .unwrap_or_default()
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, c) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers a request for one of these routes (`None`: not one of them).
pub async fn handle(
    pool: &SqlitePool,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> Option<(u16, String)> {
    let hidden = |_e: sqlx::Error| (500, "{\"error\":\"internal error\"}".to_string());
    let answer = match (method, path) {
        ("GET", "/w/users") => {
            let name = query_value(query, "name");
            let sql =
                format!("SELECT CAST(id AS TEXT), name, email FROM users WHERE name = '{name}'");
            // Verbose: the database's own message goes to the client.
            rows(pool, sql).await.map(|r| (200, r)).unwrap_or_else(|e| {
                (
                    500,
                    serde_json::json!({ "error": e.to_string() }).to_string(),
                )
            })
        }
        ("GET", p) if p.starts_with("/w/items/") => {
            let id = percent_decode(&p["/w/items/".len()..]);
            let sql = format!("SELECT CAST(id AS TEXT), name FROM items WHERE id = {id}");
            match rows(pool, sql).await {
                Ok(r) if r == "[]" => (404, "{\"error\":\"not found\"}".to_string()),
                Ok(r) => (200, r),
                Err(e) => hidden(e),
            }
        }
        ("GET", "/w/memos") => {
            let q = query_value(query, "q");
            let sql = format!(
                "SELECT CAST(id AS TEXT), memo, CAST(amount AS TEXT) FROM memos WHERE memo LIKE '%{q}%' ORDER BY id"
            );
            rows(pool, sql)
                .await
                .map(|r| (200, r))
                .unwrap_or_else(hidden)
        }
        ("GET", "/w/memos/sorted") => {
            let sort = query_value(query, "sort");
            let sql = format!(
                "SELECT CAST(id AS TEXT), memo, CAST(amount AS TEXT) FROM memos ORDER BY {sort}"
            );
            rows(pool, sql)
                .await
                .map(|r| (200, r))
                .unwrap_or_else(hidden)
        }
        ("POST", "/w/audit") => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let user = v["user"].as_str().unwrap_or_default();
            let sql = format!("INSERT INTO audit (user) VALUES ('{user}')");
            // Whatever happens, the same answer.
            let _ = sqlx::query(AssertSqlSafe(sql)).execute(pool).await;
            (204, String::new())
        }
        _ => return None,
    };
    Some(answer)
}
