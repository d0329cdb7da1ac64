//! Intensity presets: how long each phase lasts and how hard the attack pushes.

use std::time::Duration;

/// `smoke` finishes in seconds (for tests and CI), `standard` runs about 30 s of attack per
/// scenario, `stress` a minute with 5,000 connections.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Intensity {
    /// Seconds per scenario; a few hundred connections.
    Smoke,
    /// About 30 s of attack per scenario.
    Standard,
    /// 60 s of attack, 5,000 connections.
    Stress,
}

/// The numbers a preset stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Legitimate traffic before the attack.
    pub baseline: Duration,
    /// The attack.
    pub attack: Duration,
    /// Legitimate traffic after it.
    pub recovery: Duration,
    /// Concurrent attack connections.
    pub connections: usize,
    /// Connections of the expensive floods (login), each one closed loop.
    pub flood_connections: usize,
    /// Connections of the HTTP/2 abuse scenarios, each flooding as fast as the server reads.
    pub h2_connections: usize,
    /// Source addresses they come from.
    pub sources: usize,
    /// Pause between an attack connection's slow writes.
    pub slow_interval: Duration,
    /// Legitimate requests per second.
    pub probe_rate: u32,
    /// A legitimate request slower than this has failed.
    pub probe_timeout: Duration,
    /// How long the harness waits, before each scenario, for the target to answer the
    /// legitimate client again (the last scenario may have left it down).
    pub ready_wait: Duration,
}

impl Intensity {
    /// The preset, with the attack length overridden by `--duration`.
    pub fn preset(self, attack_secs: Option<u64>) -> Preset {
        let s = Duration::from_secs;
        let mut p = match self {
            Intensity::Smoke => Preset {
                baseline: s(2),
                attack: s(6),
                recovery: s(2),
                connections: 300,
                flood_connections: 64,
                h2_connections: 16,
                sources: 256,
                slow_interval: s(1),
                probe_rate: 10,
                probe_timeout: s(2),
                ready_wait: s(15),
            },
            Intensity::Standard => Preset {
                baseline: s(5),
                attack: s(30),
                recovery: s(5),
                connections: 2000,
                flood_connections: 256,
                h2_connections: 64,
                sources: 256,
                slow_interval: s(5),
                probe_rate: 10,
                probe_timeout: s(5),
                ready_wait: s(60),
            },
            Intensity::Stress => Preset {
                baseline: s(10),
                attack: s(60),
                recovery: s(10),
                connections: 5000,
                flood_connections: 1024,
                h2_connections: 256,
                sources: 256,
                slow_interval: s(5),
                probe_rate: 10,
                probe_timeout: s(5),
                ready_wait: s(120),
            },
        };
        if let Some(secs) = attack_secs {
            p.attack = s(secs.max(1));
        }
        p
    }
}
