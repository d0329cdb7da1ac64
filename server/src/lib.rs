//! `rampart`: a hardened, TLS-only HTTPS server for a small online bank.
//!
//! Layout: [`config`] (settings and their sources), [`tls`] (protocol policy and the
//! reloadable certificate), [`net`] (accept loop, handshake deadline, HTTP/1.1 and HTTP/2 via
//! hyper, draining), [`http`] (routes, the problem+json error type, security headers),
//! [`auth`] (credential rules, argon2id pool, tokens, the authenticated-user extractor),
//! [`db`] (the database pool and schema), [`store`] (domain queries, parameterised SQL only),
//! [`server`] (start-up and life cycle). Shared by the layers: [`limiter`] (bounded keyed
//! rate limiters), [`refusals`] (every refusal counted and logged), [`cooldown`] (clients that
//! keep exceeding their budgets), [`metrics`], [`admin`] (the `/metrics` listener).

pub mod admin;
pub mod auth;
pub mod config;
pub mod cooldown;
pub mod db;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
pub mod http;
pub mod ledger;
pub mod limiter;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod open_files;
pub mod refusals;
pub mod server;
pub mod store;
pub mod tls;

pub use server::{Running, StartError, start};
