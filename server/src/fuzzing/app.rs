//! The real application for the whole-path fuzz targets (`request_bytes`, `request_sequence`):
//! the router, API and state of `server::app_state` over an in-memory SQLite database with the
//! real migrations, on a single-threaded runtime. Argon2 runs at its cheapest parameters and
//! loopback clients are exempt from the request-rate limits, so that inputs reach the handlers
//! rather than a 429.

use std::sync::Arc;

use crate::auth::backoff::Backoff;
use crate::config::{Config, DatabaseConfig};
use crate::db::Db;
use crate::http::AppState;
use crate::http::rate_limit::RequestLimits;
use crate::limits::refusals::Refusals;
use crate::metrics::Metrics;

/// Its database: one connection to `:memory:`.
const DATABASE: &str = "sqlite::memory:";

/// An application ready to serve, with what the targets need to look inside it.
pub struct App {
    /// Runs the handlers (current-thread: one input at a time, reproducibly).
    pub rt: tokio::runtime::Runtime,
    /// The configuration it was built from.
    pub config: Config,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// Its state (database, hasher, limits).
    pub state: AppState,
}

impl App {
    /// Builds the application; panics if it cannot (a harness failure, not a finding).
    pub fn new() -> App {
        let rt = super::runtime(DATABASE);
        let mut config = Config {
            database: DatabaseConfig {
                // One connection: every connection to `:memory:` is a database of its own.
                url: DATABASE.to_string(),
                max_connections: 1,
            },
            ..Config::default()
        };
        config.auth.argon2_memory_kib = 8;
        config.auth.argon2_iterations = 1;
        config.auth.argon2_parallelism = 1;
        config.limits.exempt = vec!["127.0.0.0/8".parse().expect("network")];
        let metrics = Arc::new(Metrics::default());
        let state = rt.block_on(async {
            let db = Db::connect(&config.database)
                .await
                .expect("in-memory database");
            let refusals = Refusals::new(
                metrics.clone(),
                config.limits.log_interval,
                config.limits.max_tracked_clients,
                crate::limits::cooldown::Cooldown::from_config(&config.limits),
            );
            let limits = RequestLimits::new(&config.limits, refusals);
            let backoff = Backoff::from_config(&config.limits);
            crate::server::app_state(&config, db, limits, backoff)
                .await
                .expect("app state")
        });
        App {
            rt,
            config,
            metrics,
            state,
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.state.db
    }
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}
