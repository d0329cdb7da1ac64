//! `rampart`: a hardened, TLS-only HTTPS server for a small online bank.
//!
//! The modules are layers; each uses only those below it (a test in `tests/` checks this):
//!
//! - [`server`] (start-up and life cycle) and [`admin`] (the `/metrics` listener) at the top;
//! - [`net`]: the accept loop, admission, the TLS handshake under a deadline, HTTP/1.1 and
//!   HTTP/2 via hyper, draining;
//! - [`http`]: routes, shared state, the authenticated-user extractor, request budgets and
//!   body reading, the problem+json error type, security headers;
//! - [`auth`]: credential rules, the argon2id pool, tokens, login backoff;
//! - [`store`]: domain queries, parameterised SQL only; [`db`]: the pool and the schema;
//!   [`sandbox`]: Landlock, seccomp and no_new_privs around the serving process;
//!   [`preflight`]: `check-config`'s checks of certificate, key, database and ports;
//! - [`limits`]: per-client keys, rate limiters, slots, the cool-down and every refusal;
//!   [`tls`]: protocol policy and the reloadable certificate;
//! - at the bottom [`config`] (settings and their sources), [`ledger`] (amounts, cursors and
//!   text rules, pure), [`metrics`], [`logging`], [`open_files`] and [`systemd`] (inherited
//!   sockets and service-manager notifications).

pub mod acme;
pub mod admin;
pub mod auth;
pub mod config;
pub mod db;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod http;
pub mod ledger;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod open_files;
pub mod preflight;
pub mod sandbox;
pub mod server;
pub mod store;
pub mod systemd;
pub mod tls;

pub use server::{Prebound, Running, StartError, start, start_on};
