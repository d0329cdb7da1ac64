//! The database handle: which backend a URL names (SQLite, the embedded default, or
//! PostgreSQL, for several instances on one database), the connection pool (SQLite with WAL,
//! foreign keys and `synchronous=FULL`, so that an acknowledged write is on disk), each
//! backend's embedded schema migrations, and the readiness probe.
//!
//! Both backends sit behind sqlx's `Any` driver, so the store's queries are written once:
//! `$1` placeholders, `BIGINT` and `TEXT`, no engine-specific functions. Where the engines
//! differ (how a write transaction starts, row locks), the store asks [`Db::backend`].

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Connection, Executor, SqlSafeStr};

use crate::config::DatabaseConfig;
pub use crate::config::database_url::{Backend, redact_url};

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
    pool: AnyPool,
    backend: Backend,
}

/// One embedded migration.
fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        name.into(),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )
}

/// The schema of `backend`, embedded in the binary. Each file is applied once, in order, in a
/// transaction; the two backends' files describe the same tables.
fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(match backend {
        Backend::Sqlite => vec![
            migration(
                1,
                "bank",
                include_str!("../migrations/sqlite/0001_bank.sql"),
            ),
            migration(
                2,
                "login throttle",
                include_str!("../migrations/sqlite/0002_login_throttle.sql"),
            ),
            migration(
                3,
                "movement keys",
                include_str!("../migrations/sqlite/0003_movement_keys.sql"),
            ),
            migration(
                4,
                "acme",
                include_str!("../migrations/sqlite/0004_acme.sql"),
            ),
        ],
        Backend::Postgres => vec![
            migration(
                1,
                "bank",
                include_str!("../migrations/postgres/0001_bank.sql"),
            ),
            migration(
                2,
                "login throttle",
                include_str!("../migrations/postgres/0002_login_throttle.sql"),
            ),
            migration(
                3,
                "movement keys",
                include_str!("../migrations/postgres/0003_movement_keys.sql"),
            ),
            migration(
                4,
                "acme",
                include_str!("../migrations/postgres/0004_acme.sql"),
            ),
        ],
    })
}

/// Whether `e` says the database cannot serve now but may soon: unreachable or restarting
/// (no connection within the pool's acquire timeout, a connection cut, PostgreSQL's
/// connection-exception and shutdown codes), out of resources (disk full, too many
/// connections), or SQLite's write lock held past its busy timeout, its file read-only or
/// unreadable. The HTTP edge answers these 503 with `Retry-After`; any other failure is a bug
/// (500).
///
/// PostgreSQL's codes are five-character SQLSTATEs; SQLite's are decimal extended result
/// codes, below 10,000, whose low byte is the primary code.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| unavailable_code(&c)),
        _ => false,
    }
}

fn unavailable_code(code: &str) -> bool {
    match code.parse::<u32>() {
        // SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL,
        // SQLITE_CANTOPEN, whatever their extended code.
        Ok(n) if code.len() < 5 => matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14),
        _ => postgres_unavailable(code),
    }
}

/// SQLSTATE class 08 (connection exception), class 53 (insufficient resources: disk full,
/// out of memory, too many connections), 57P01–57P03 (shutting down, crashed, not accepting
/// connections yet), and 25006 (a read-only transaction: a standby after a failover).
fn postgres_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08")
        || sqlstate.starts_with("53")
        || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "25006")
}

/// The SQLite URL to open: the configured one, created if missing unless it says otherwise
/// (`mode=`). Its folder is created owner-only: the database holds password hashes and
/// balances.
fn sqlite_url(url: &str) -> Result<String, String> {
    let opts = SqliteConnectOptions::from_str(url).map_err(|e| e.to_string())?;
    let file = opts.get_filename();
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
        && !in_memory(url)
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    if url.contains("mode=") {
        return Ok(url.to_string());
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}mode=rwc"))
}

/// The error for `url` that could not be used, with its password masked.
fn connect_error(url: &str) -> impl Fn(String) -> DbError + Copy + '_ {
    move |reason| DbError::Connect {
        url: redact_url(url),
        reason,
    }
}

/// What the database needs to reach, for the sandbox: a SQLite database's folder (which
/// [`Db::connect`] creates if missing), a PostgreSQL server's TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbReach {
    /// The folder of a SQLite file (it and its journal live there).
    pub dir: Option<std::path::PathBuf>,
    /// A PostgreSQL server's host and port (`None` for a Unix socket or SQLite).
    pub tcp: Option<(String, u16)>,
}

impl DbReach {
    /// What `cfg.url` needs, or the error [`Db::connect`] would give for it.
    pub fn of(cfg: &DatabaseConfig) -> Result<DbReach, DbError> {
        let fail = connect_error(&cfg.url);
        match Backend::of_url(&cfg.url) {
            Some(Backend::Sqlite) => {
                let opts =
                    SqliteConnectOptions::from_str(&cfg.url).map_err(|e| fail(e.to_string()))?;
                let dir = opts
                    .get_filename()
                    .parent()
                    .filter(|_| !in_memory(&cfg.url))
                    .map(|p| {
                        if p.as_os_str().is_empty() {
                            std::path::PathBuf::from(".")
                        } else {
                            p.to_path_buf()
                        }
                    });
                Ok(DbReach { dir, tcp: None })
            }
            Some(Backend::Postgres) => {
                let opts = PgConnectOptions::from_str(&cfg.url).map_err(|e| fail(e.to_string()))?;
                let host = opts.get_host().to_string();
                let tcp = (!host.starts_with('/')).then(|| (host, opts.get_port()));
                Ok(DbReach { dir: None, tcp })
            }
            None => Err(fail(
                "unsupported scheme (supported: sqlite:, postgres:)".into(),
            )),
        }
    }
}

/// How long the preflight waits for a database server.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the database `cfg.url` names can be reached, without changing it (no file made,
/// no migration): a PostgreSQL login and `SELECT 1`, an existing SQLite file opened read-only,
/// or the folder a new one would be made in. What was found, in words.
pub async fn probe(cfg: &DatabaseConfig) -> Result<String, DbError> {
    use sqlx::ConnectOptions;
    let fail = connect_error(&cfg.url);
    match Backend::of_url(&cfg.url) {
        Some(Backend::Postgres) => {
            let opts = PgConnectOptions::from_str(&cfg.url).map_err(|e| fail(e.to_string()))?;
            let check = async {
                let mut conn = opts.connect().await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
                conn.close().await
            };
            match tokio::time::timeout(PROBE_TIMEOUT, check).await {
                Ok(Ok(())) => Ok("PostgreSQL reachable, login accepted".into()),
                Ok(Err(e)) => Err(fail(e.to_string())),
                Err(_) => Err(fail(format!("no answer within {PROBE_TIMEOUT:?}"))),
            }
        }
        Some(Backend::Sqlite) => {
            let opts = SqliteConnectOptions::from_str(&cfg.url).map_err(|e| fail(e.to_string()))?;
            let file = opts.get_filename().to_path_buf();
            if in_memory(&cfg.url) {
                return Ok("SQLite in memory".into());
            }
            if !file.exists() {
                let folder = file
                    .ancestors()
                    .skip(1)
                    .find(|a| a.as_os_str().is_empty() || a.exists())
                    .map(|a| {
                        if a.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            a
                        }
                    })
                    .unwrap_or(Path::new("/"));
                let meta = std::fs::metadata(folder).map_err(|e| fail(e.to_string()))?;
                if meta.permissions().readonly() {
                    return Err(fail(format!("{} is read-only", folder.display())));
                }
                return Ok(format!(
                    "SQLite file {} will be created at start",
                    file.display()
                ));
            }
            let mut conn = opts
                .read_only(true)
                .connect()
                .await
                .map_err(|e| fail(e.to_string()))?;
            sqlx::query("SELECT 1")
                .execute(&mut conn)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let _ = conn.close().await;
            Ok(format!("SQLite file {} opens", file.display()))
        }
        None => Err(fail(
            "unsupported scheme (supported: sqlite:, postgres:)".into(),
        )),
    }
}

/// Whether a SQLite URL names an in-memory database (one per connection, gone with it).
fn in_memory(url: &str) -> bool {
    url.contains(":memory:")
}

impl Db {
    /// Opens the database named by `cfg.url` (creating a SQLite file and its folder if needed)
    /// and brings its schema up to date.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Self, DbError> {
        let fail = connect_error(&cfg.url);
        let backend = Backend::of_url(&cfg.url)
            .ok_or_else(|| fail("unsupported scheme (supported: sqlite:, postgres:)".into()))?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(&cfg.url).map_err(fail)?,
            Backend::Postgres => {
                PgConnectOptions::from_str(&cfg.url).map_err(|e| fail(e.to_string()))?;
                cfg.url.clone()
            }
        };
        install_default_drivers();
        // An in-memory SQLite database lives exactly as long as its connection (the fuzz
        // targets', the tests'): never retire that connection, or the data goes with it.
        let memory_only = backend == Backend::Sqlite && in_memory(&cfg.url);
        let pool = AnyPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .max_lifetime((!memory_only).then_some(Duration::from_secs(30 * 60)))
            .idle_timeout((!memory_only).then_some(Duration::from_secs(10 * 60)))
            // SQLite is a library in this process: a ping before each statement tests nothing
            // and costs a hand-off to its worker thread and back. A PostgreSQL connection may
            // have been dropped by the server or the network since its last use.
            .test_before_acquire(backend == Backend::Postgres)
            // A connection handed back inside a transaction (one dropped unfinished: its
            // rollback is only queued) goes back to the pool once the rollback has run, and is
            // closed if it is still in one: when a COMMIT fails on a full disk, SQLite may
            // roll the transaction back itself, the queued ROLLBACK then fails, and sqlx's
            // count of open transactions stays at one, so that every later `BEGIN` on that
            // connection failed until the process restarted
            // (`faults::sqlite_on_a_full_disk_refuses_writes_keeps_reads_and_loses_nothing`).
            .after_release(|conn, _| {
                Box::pin(async move {
                    if conn.is_in_transaction() {
                        conn.ping().await?;
                    }
                    Ok(!conn.is_in_transaction())
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per connection: WAL (readers never wait for the writer), a write
                        // acknowledged only once on disk, foreign keys enforced, and a wait
                        // for the write lock instead of an immediate "database is locked".
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let db = Db { pool, backend };
        db.ping().await.map_err(|e| fail(e.to_string()))?;
        migrator(backend)
            .run(&db.pool)
            .await
            .map_err(|e| fail(format!("migrations: {e}")))?;
        Ok(db)
    }

    /// The engine behind this pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The connection pool, for the query modules in [`crate::store`].
    pub(crate) fn pool(&self) -> &AnyPool {
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
    fn outages_are_told_from_bugs() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(is_unavailable(&e), "{e}");
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
            sqlx::Error::Protocol("unexpected message".into()),
        ] {
            assert!(!is_unavailable(&e), "{e}");
        }
        // PostgreSQL: connection failure, disk full, too many connections, shutting down,
        // starting up, a standby; not: a unique violation, a syntax error, a deadlock.
        for c in [
            "08006", "08001", "53100", "53300", "57P01", "57P03", "25006",
        ] {
            assert!(unavailable_code(c), "{c}");
        }
        for c in ["23505", "42601", "40P01", "22P02"] {
            assert!(!unavailable_code(c), "{c}");
        }
        // SQLite: BUSY, BUSY_TIMEOUT (773), LOCKED, READONLY, IOERR_WRITE (778), FULL,
        // CANTOPEN; not: CONSTRAINT_UNIQUE (2067), ERROR, MISMATCH.
        for c in ["5", "773", "6", "8", "778", "13", "14"] {
            assert!(unavailable_code(c), "{c}");
        }
        for c in ["2067", "1", "20", "19"] {
            assert!(!unavailable_code(c), "{c}");
        }
    }

    /// An unreachable PostgreSQL is an error naming the database, with the password masked,
    /// within the acquire timeout.
    #[tokio::test]
    async fn unreachable_postgres_names_the_url_without_the_password() {
        let e = Db::connect(&DatabaseConfig {
            url: "postgres://bank:hunter2@127.0.0.1:1/rampart".into(),
            max_connections: 1,
        })
        .await
        .expect_err("nothing listens on port 1");
        let text = e.to_string();
        assert!(
            text.contains("postgres://bank:***@127.0.0.1:1/rampart"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    /// A file is retired like any pooled connection and never pinged; an in-memory database
    /// (the fuzz targets' database) is never retired, which would drop its data; PostgreSQL is
    /// tested before each use.
    #[tokio::test]
    async fn pool_options_suit_the_backend() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = Db::connect(&DatabaseConfig {
            url: format!("sqlite://{}", dir.path().join("r.db").display()),
            max_connections: 1,
        })
        .await
        .expect("file");
        let memory = Db::connect(&DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 1,
        })
        .await
        .expect("memory");
        let (file, memory) = (file.pool.options(), memory.pool.options());
        assert!(file.get_max_lifetime().is_some() && file.get_idle_timeout().is_some());
        assert_eq!(memory.get_max_lifetime(), None);
        assert_eq!(memory.get_idle_timeout(), None);
        assert!(!file.get_test_before_acquire() && !memory.get_test_before_acquire());
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
