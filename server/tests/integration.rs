//! rampart's integration tests, in one binary (ripgrep's habit: one link instead of one per
//! file). Each module is one suite over real TLS on 127.0.0.1 with ephemeral ports; `common`
//! starts servers and speaks to them.
//!
//! Which suites the README's test command runs and which wait for `--profile long` (servers
//! killed or flooded, PostgreSQL, HAProxy) is set in `.config/nextest.toml`.

mod common;

mod acme_pebble;
mod acme_postgres;
mod acme_rate_limit;
mod admin_metrics;
mod api_auth;
mod api_history;
mod api_ledger;
mod api_openapi;
mod browser;
mod crash_safety;
mod faults;
mod haproxy;
mod layers;
mod limiter_model;
mod limits_connection;
mod limits_h2;
mod limits_http;
mod limits_login;
mod limits_proxy;
mod limits_proxy_protocol;
mod limits_request;
mod parser_props;
mod postgres;
mod process;
mod sandbox;
mod supply_chain;
mod systemd;
mod tls_listener;
mod web_session;
