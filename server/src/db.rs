//! The database handle: connection pool setup (SQLite by default, with WAL, foreign keys,
//! `synchronous=FULL` so that an acknowledged write is on disk), the embedded schema
//! migrations, and the readiness probe.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlSafeStr, SqlitePool};

use crate::config::DatabaseConfig;

/// A database failure, with credentials removed from anything that names the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened.
    #[error("database {url}: {reason}")]
    Connect {
        /// The URL with any password masked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pool of database connections.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
}

/// The schema, embedded in the binary. Each file is applied once, in order, in a transaction.
fn migrator() -> Migrator {
    Migrator::with_migrations(vec![
        Migration::new(
            1,
            "bank".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0001_bank.sql").into_sql_str(),
            false,
        ),
        Migration::new(
            2,
            "login throttle".into(),
            MigrationType::Simple,
            include_str!("../migrations/sqlite/0002_login_throttle.sql").into_sql_str(),
            false,
        ),
    ])
}

/// Masks the password of a `scheme://user:password@host/...` URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_string(),
    }
}

impl Db {
    /// Opens the database named by `cfg.url`, creating a SQLite file and its folder if needed.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Self, DbError> {
        let fail = |reason: String| DbError::Connect {
            url: redact_url(&cfg.url),
            reason,
        };
        let opts = SqliteConnectOptions::from_str(&cfg.url)
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let file = opts.get_filename();
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
            && file.as_os_str() != ":memory:"
        {
            use std::os::unix::fs::DirBuilderExt;
            // The database holds credentials hashes and balances: owner-only folder.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let db = Db { pool };
        db.ping().await.map_err(|e| fail(e.to_string()))?;
        migrator()
            .run(&db.pool)
            .await
            .map_err(|e| fail(format!("migrations: {e}")))?;
        Ok(db)
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The connection pool, for the query modules in [`crate::store`].
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool: later queries fail (used on shutdown, and by tests to simulate an
    /// unreachable database).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://bank:hunter2@db:5432/rampart"),
            "postgres://bank:***@db:5432/rampart"
        );
        assert_eq!(redact_url("sqlite://data/r.db"), "sqlite://data/r.db");
    }

    #[tokio::test]
    async fn creates_the_file_and_folder_and_answers() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub").join("r.db");
        let db = Db::connect(&DatabaseConfig {
            url: format!("sqlite://{}", path.display()),
            max_connections: 2,
        })
        .await
        .expect("connect");
        assert!(path.exists());
        db.ping().await.expect("ping");
        let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&db.pool)
            .await
            .expect("pragma");
        assert_eq!(mode.0, "wal");
        let sync: (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&db.pool)
            .await
            .expect("pragma");
        assert_eq!(sync.0, 2, "synchronous=FULL");
        let tables: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .fetch_all(&db.pool)
                .await
                .expect("tables");
        let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
        for t in [
            "accounts",
            "audit_events",
            "sessions",
            "transactions",
            "transfers",
            "users",
        ] {
            assert!(names.contains(&t), "{t} missing from {names:?}");
        }
        db.close().await;
        assert!(db.ping().await.is_err());
        // Reopening applies nothing twice.
        Db::connect(&DatabaseConfig {
            url: format!("sqlite://{}", path.display()),
            max_connections: 1,
        })
        .await
        .expect("reopen");
    }

    #[tokio::test]
    async fn unopenable_database_names_the_url() {
        let e = Db::connect(&DatabaseConfig {
            url: "sqlite:///proc/definitely/not/here.db".into(),
            max_connections: 1,
        })
        .await
        .expect_err("cannot open");
        assert!(e.to_string().contains("/proc/definitely"), "{e}");
    }
}
