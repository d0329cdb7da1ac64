//! The DoS wing: one module per attack (and the helpers several share: [`hold`], [`drip`],
//! [`flood`], [`workers`], [`h2_abuse`], [`h2_requests`]), what an attack gets and counts,
//! and the [`runner`] that puts the legitimate client around it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::time::Instant;

use crate::client::Client;
use crate::intensity::Preset;
use crate::sources::Sources;

pub mod conn_flood;
pub mod credential_stuffing;
pub mod drip;
pub mod flood;
pub mod h2_abuse;
pub mod h2_continuation_flood;
pub mod h2_control_flood;
pub mod h2_rapid_reset;
pub mod h2_requests;
pub mod handshake_flood;
pub mod hold;
pub mod login_flood;
pub mod oversize;
pub mod request_flood;
pub mod runner;
pub mod slow_body;
pub mod slow_read;
pub mod slowloris;
pub mod tls_stall;
pub mod workers;

/// What an attack gets to work with.
#[derive(Clone)]
pub struct AttackCtx {
    /// TLS client for the target.
    pub client: Client,
    /// Attack source addresses.
    pub sources: Sources,
    /// The intensity's numbers.
    pub preset: Preset,
    /// When to stop (every connection is dropped by then).
    pub until: Instant,
}

/// What the attack side counted, live.
#[derive(Debug, Default)]
pub struct AttackCounters {
    /// Connection attempts.
    pub connects: AtomicU64,
    /// Attempts refused, reset or timed out before the attack could use them.
    pub refused: AtomicU64,
    /// Attack connections open now.
    pub open: AtomicU64,
    /// Most open at once.
    pub open_peak: AtomicU64,
    /// Connections the server cut after accepting them.
    pub cut: AtomicU64,
    /// Responses received (floods; for `handshake-flood`, handshakes completed).
    pub responses: AtomicU64,
    /// Of which 429 or 503: the server refused the work.
    pub throttled: AtomicU64,
    /// Requests, streams or frames sent (the floods).
    pub sent: AtomicU64,
}

impl AttackCounters {
    /// One more open connection.
    pub fn opened(&self) {
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.open_peak.fetch_max(now, Ordering::Relaxed);
    }

    /// One fewer.
    pub fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// `n` more requests, streams or frames sent.
    pub fn sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// A response with `status` came in.
    pub fn answered(&self, status: u16) {
        self.responses.fetch_add(1, Ordering::Relaxed);
        if matches!(status, 429 | 503) {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A snapshot for the report.
    pub fn snapshot(&self) -> AttackStats {
        AttackStats {
            connects: self.connects.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            open_peak: self.open_peak.load(Ordering::Relaxed),
            cut: self.cut.load(Ordering::Relaxed),
            responses: self.responses.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
        }
    }
}

/// The attack's counters at one moment (for charts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttackSample {
    /// When, in ms from the start of the scenario's run.
    pub at_ms: f64,
    /// Attack connections open.
    pub open: u64,
    /// Connection attempts so far.
    pub connects: u64,
    /// Responses so far.
    pub responses: u64,
}

impl AttackCounters {
    /// The counters now.
    pub fn sample(&self, at_ms: f64) -> AttackSample {
        AttackSample {
            at_ms,
            open: self.open.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            responses: self.responses.load(Ordering::Relaxed),
        }
    }
}

/// The attack's totals, as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AttackStats {
    /// Connection attempts.
    pub connects: u64,
    /// Refused, reset or timed out before use.
    pub refused: u64,
    /// Most attack connections open at once.
    pub open_peak: u64,
    /// Cut by the server after being accepted.
    pub cut: u64,
    /// Responses received (floods).
    pub responses: u64,
    /// Of which 429 or 503.
    pub throttled: u64,
    /// Requests, streams or frames sent (the floods).
    pub sent: u64,
}

impl AttackStats {
    /// The attack never had a connection to use and got nothing through: whatever the
    /// legitimate client saw, it was not under this attack.
    pub fn never_ran(&self) -> bool {
        self.open_peak == 0 && self.responses == 0 && self.sent == 0
    }
}

/// An attack: runs until `ctx.until`, counting into the counters.
pub type Attack = fn(AttackCtx, Arc<AttackCounters>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attack_with_no_connection_answer_or_byte_never_ran() {
        let refused = AttackStats {
            connects: 40,
            refused: 40,
            ..AttackStats::default()
        };
        assert!(refused.never_ran());
        for ran in [
            AttackStats {
                open_peak: 1,
                ..refused
            },
            AttackStats {
                responses: 1,
                ..refused
            },
            AttackStats { sent: 1, ..refused },
        ] {
            assert!(!ran.never_ran(), "{ran:?}");
        }
    }
}
