//! attack-sim's integration tests, in one binary (one link instead of one per file). Each
//! module runs the `attack-sim` binary or its library against real targets: rampart
//! in-process or spawned, and the deliberately weak test-only servers of `common`, which
//! every scenario and scan must catch (a check that cannot fail proves nothing).
//!
//! Which suites the README's test command runs and which wait for `--profile long` (the DoS
//! scenarios and the scans against live servers) is set in `.config/nextest.toml`.

mod common;

mod auth;
mod bench;
mod campaign;
mod cli;
mod dos_scenarios;
mod flows;
mod h2_attacks;
mod injection;
mod input_abuse;
mod library;
mod real_servers;
mod regression;
mod scans_on_postgres;
mod slowhttptest;
mod sqlmap;
mod tls_policy;
mod trust;
mod web;
