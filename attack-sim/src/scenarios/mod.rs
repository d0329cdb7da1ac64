//! The scenarios, one module each (the TLS-policy scans in [`tls_policy`]), and the registry
//! `list` and `run` read.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::time::Instant;

use crate::client::Client;
use crate::intensity::Preset;
use crate::scan::Scan;
use crate::sources::Sources;

pub mod auth;
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
pub mod injection;
pub mod login_flood;
pub mod oversize;
pub mod request_flood;
pub mod slow_body;
pub mod slow_read;
pub mod slowloris;
pub mod tls_policy;
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

/// What a scenario runs.
#[derive(Clone, Copy)]
pub enum Run {
    /// An attack, with the legitimate client measuring availability around it.
    Dos(Attack),
    /// A scan: checks and findings.
    Scan(Scan),
}

/// Which number of a [`Preset`] sizes a DoS scenario's attack: what `attack-sim capacity`
/// grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// Not a DoS scenario.
    None,
    /// [`Preset::connections`]: connections held open (slow attacks, request floods).
    Connections,
    /// [`Preset::flood_connections`]: closed-loop connections of the expensive floods.
    FloodConnections,
    /// [`Preset::h2_connections`]: abusive HTTP/2 connections.
    H2Connections,
}

impl Load {
    /// The preset with this number set to `n`.
    pub fn apply(self, mut preset: Preset, n: usize) -> Preset {
        match self {
            Load::None => {}
            Load::Connections => preset.connections = n,
            Load::FloodConnections => preset.flood_connections = n,
            Load::H2Connections => preset.h2_connections = n,
        }
        preset
    }

    /// The number in `preset`.
    pub fn of(self, preset: &Preset) -> usize {
        match self {
            Load::None => 0,
            Load::Connections => preset.connections,
            Load::FloodConnections => preset.flood_connections,
            Load::H2Connections => preset.h2_connections,
        }
    }

    /// What the number counts, as reports say it.
    pub fn unit(self) -> &'static str {
        match self {
            Load::None => "",
            Load::Connections => "connections",
            Load::FloodConnections => "flood connections",
            Load::H2Connections => "HTTP/2 connections",
        }
    }
}

/// One scenario of `attack-sim list`.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// Name used on the command line.
    pub name: &'static str,
    /// `dos`, `injection`, `auth` or `tls`.
    pub kind: &'static str,
    /// One line.
    pub description: &'static str,
    /// The attack or scan itself.
    pub run: Run,
    /// What sizes its attack.
    pub load: Load,
}

/// Every scenario this build can run.
pub const ALL: &[Scenario] = &[
    conn_flood::SCENARIO,
    handshake_flood::SCENARIO,
    tls_stall::SCENARIO,
    slowloris::SCENARIO,
    slow_body::SCENARIO,
    slow_read::SCENARIO,
    request_flood::SCENARIO,
    h2_rapid_reset::SCENARIO,
    h2_continuation_flood::SCENARIO,
    h2_control_flood::SCENARIO,
    oversize::SCENARIO,
    login_flood::SCENARIO,
    credential_stuffing::SCENARIO,
    injection::sqli::SCENARIO,
    injection::abuse::SCENARIO,
    auth::idor::SCENARIO,
    auth::tokens::SCENARIO,
    auth::enumeration::SCENARIO,
    auth::entropy::SCENARIO,
    auth::mass_assignment::SCENARIO,
    auth::confusables::SCENARIO,
    tls_policy::legacy_versions::SCENARIO,
    tls_policy::weak_ciphers::SCENARIO,
    tls_policy::plaintext::SCENARIO,
    tls_policy::wrong_sni::SCENARIO,
    tls_policy::security_headers::SCENARIO,
];

/// Why a selection was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown scenario or kind `{0}` (see `attack-sim list`)")]
pub struct UnknownScenario(pub String);

/// The scenarios named (by name or kind), in registry order; none named means all.
pub fn select(names: &[String]) -> Result<Vec<Scenario>, UnknownScenario> {
    if let Some(bad) = names.iter().find(|n| {
        !ALL.iter()
            .any(|s| s.name == n.as_str() || s.kind == n.as_str())
    }) {
        return Err(UnknownScenario(bad.clone()));
    }
    Ok(ALL
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name || n == s.kind))
        .copied()
        .collect())
}

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

    #[test]
    fn selection_by_name_and_kind() {
        assert_eq!(select(&[]).expect("all").len(), ALL.len());
        let dos = select(&["dos".to_string()]).expect("kind");
        assert!(
            dos.iter()
                .all(|s| s.kind == "dos" && matches!(s.run, Run::Dos(_)))
        );
        let tls = select(&["tls".to_string()]).expect("kind");
        assert!(tls.len() >= 5);
        assert!(tls.iter().all(|s| matches!(s.run, Run::Scan(_))));
        assert_eq!(select(&["slowloris".to_string()]).expect("name").len(), 1);
        let e = select(&["nope".to_string()]).err().expect("unknown");
        assert!(e.to_string().contains("nope"));
    }
}
