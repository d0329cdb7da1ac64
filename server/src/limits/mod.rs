//! Per-client limits, shared by every layer that refuses work: the identity clients are keyed
//! on ([`client_key`]), bounded keyed rate limiters ([`limiter`]), per-client counts of things
//! held at once ([`client_slots`]), a bounded deadline per client ([`deadlines`]), the
//! cool-down of clients that keep exceeding their budgets ([`cooldown`]), the clients out of
//! good standing ([`standing`]), and the one place every refusal is counted and logged
//! ([`refusals`]).
//!
//! This sits below `net` (admission, handshakes) and `http` (request budgets, body reads) and
//! above only `config` and `metrics`: it knows nothing of sockets, TLS or requests.

pub mod client_key;
pub mod client_slots;
pub mod cooldown;
pub mod deadlines;
pub mod limiter;
pub mod refusals;
pub mod standing;
