//! The network front: our own accept loop, the TLS handshake under a deadline, and HTTP/1.1 or
//! HTTP/2 (chosen by ALPN) served by hyper with a timer installed, plus the shutdown signal
//! that lets connections drain.

pub mod admission;
mod connection;
pub mod control_budget;
pub mod handshake_slots;
pub mod idle;
pub mod lanes;
mod listener;
pub mod prefixed;
pub mod proxy_header;
mod shutdown;
pub mod timed_io;

pub(crate) use connection::ConnShared;
#[cfg(any(test, fuzzing))]
pub(crate) use connection::serve_http;
pub(crate) use lanes::{HeavyRuntime, Lanes};
pub(crate) use listener::{accept_loop, spawn_accept_thread};
pub(crate) use shutdown::{ConnTracker, ShutdownSignal};
pub use shutdown::{DrainOutcome, Phase};
