//! The catalogue of scenarios `list`, `run` and `capacity` read: each names its kind, says in
//! a line what it does, and points into one of the two wings, the DoS attacks
//! ([`crate::dos`]) or the scans ([`crate::scans`]).

use crate::dos::{self, Attack};
use crate::intensity::Preset;
use crate::scans::{self, Scan};

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
    /// `dos`, `injection`, `auth`, `tls` or `web`.
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
    dos::conn_flood::SCENARIO,
    dos::handshake_flood::SCENARIO,
    dos::tls_stall::SCENARIO,
    dos::slowloris::SCENARIO,
    dos::slow_body::SCENARIO,
    dos::slow_read::SCENARIO,
    dos::request_flood::SCENARIO,
    dos::h2_rapid_reset::SCENARIO,
    dos::h2_continuation_flood::SCENARIO,
    dos::h2_control_flood::SCENARIO,
    dos::oversize::SCENARIO,
    dos::login_flood::SCENARIO,
    dos::credential_stuffing::SCENARIO,
    scans::injection::sqli::SCENARIO,
    scans::injection::abuse::SCENARIO,
    scans::auth::idor::SCENARIO,
    scans::auth::tokens::SCENARIO,
    scans::auth::enumeration::SCENARIO,
    scans::auth::entropy::SCENARIO,
    scans::auth::mass_assignment::SCENARIO,
    scans::auth::confusables::SCENARIO,
    scans::tls_policy::legacy_versions::SCENARIO,
    scans::tls_policy::weak_ciphers::SCENARIO,
    scans::tls_policy::plaintext::SCENARIO,
    scans::tls_policy::wrong_sni::SCENARIO,
    scans::tls_policy::security_headers::SCENARIO,
    scans::web::csp::SCENARIO,
    scans::web::cookie::SCENARIO,
    scans::web::framing::SCENARIO,
    scans::web::csrf::SCENARIO,
    scans::web::xss::SCENARIO,
];

/// What a finding's technique shows, in a sentence (a SARIF rule's description): the scans
/// describe their own techniques; others get a generic sentence.
pub fn technique_description(id: &str) -> &'static str {
    scans::tls_policy::TECHNIQUES
        .iter()
        .chain(scans::web::TECHNIQUES)
        .find(|(t, _)| *t == id)
        .map_or("A flaw found by attack-sim.", |(_, d)| d)
}

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
