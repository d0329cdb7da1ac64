//! The PostgreSQL the suites run against when one is given.
//!
//! `TEST_POSTGRES_URL` names a database on which the tests may create schemas (CI
//! starts a server and creates a role and a database for it). Every server a test starts gets
//! a fresh, empty schema of its own, through the URL's `options` (`search_path`), so tests run
//! in parallel without seeing each other's rows. `TEST_DATABASE_BACKEND=postgres` makes
//! [`super::test_config`], and so every suite built on it, use PostgreSQL instead of SQLite.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, PgConnection};

/// The URL of the test PostgreSQL. (Not `RAMPART_*`: rampart reads every such variable as
/// configuration and refuses unknown keys, so a shell that exported it could not run rampart.)
pub const URL_VAR: &str = "TEST_POSTGRES_URL";
/// `postgres` to run the suites on PostgreSQL.
pub const BACKEND_VAR: &str = "TEST_DATABASE_BACKEND";

/// Whether the suites were asked to run on PostgreSQL.
pub fn requested() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|b| b == "postgres")
}

/// The test PostgreSQL's URL, or a panic that says how to give one (for tests that exist only
/// for PostgreSQL: they are `#[ignore]`d, so they run only when asked for).
pub fn base_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set: give the URL of a PostgreSQL database the tests may create \
             schemas in (see .ci/run)"
        ),
    }
}

/// Creates a schema named by a bind parameter (an identifier cannot be one, so the function
/// quotes it with `%I`).
const CREATE_SCHEMA_FN: &str = "CREATE OR REPLACE FUNCTION rampart_test_schema(name text) \
     RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE SCHEMA %I', name); END $$";

/// A URL whose connections use a fresh, empty schema of the test PostgreSQL.
pub fn fresh_url() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = base_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!(
        "t{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // Callable from synchronous code and from inside a runtime alike.
    let (b, s) = (base.clone(), schema.clone());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(create_schema(&b, &s))
    })
    .join()
    .expect("schema creation");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

async fn create_schema(base: &str, schema: &str) {
    let mut conn = PgConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL ({URL_VAR}): {e}"));
    let mut tx = conn.begin().await.expect("begin");
    // Concurrent CREATE OR REPLACE of one function conflict: one test process at a time.
    sqlx::query("SELECT pg_advisory_xact_lock(727274)")
        .execute(&mut *tx)
        .await
        .expect("lock");
    sqlx::query(CREATE_SCHEMA_FN)
        .execute(&mut *tx)
        .await
        .expect("schema function");
    tx.commit().await.expect("commit");
    sqlx::query("SELECT rampart_test_schema($1)")
        .bind(schema)
        .execute(&mut conn)
        .await
        .expect("create schema");
}
