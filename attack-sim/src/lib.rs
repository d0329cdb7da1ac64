//! `attack-sim`: an attack harness for HTTPS servers (DoS floods from many source addresses,
//! slow attacks, HTTP/2 abuse, injection, authentication and TLS-policy attacks) that measures
//! a legitimate client's availability throughout and ends in a verdict, reports and an exit
//! code. The repository's ARCHITECTURE.md maps it and holds its contracts.
//!
//! A run is a [`campaign`] (the command line only fills in its [`campaign::Config`], from
//! flags and a [`plan`] file): it reaches the [`target`] with the [`trust`] it was given
//! through a [`client`], learns the target from its OpenAPI document ([`discovery`]) and a
//! [`login`] flow, then runs each scenario of the catalogue in [`scenarios`]: the DoS wing,
//! [`dos`], through its runner (the legitimate client, [`probe`], around the attack from
//! [`sources`], judged by [`verdict`]); the scan wing, [`scans`] (checks and [`findings`],
//! reached through the target's document and fixtures, `scans::discovery`); each ends as
//! an [`outcome`], and [`report`] writes them. [`bench`] measures
//! a target's capacity as an attacker's budget; [`spawn`] starts a rampart to attack.
//! Smaller parts: [`request`] and [`declared`] (requests built field by field, or declared
//! in a plan), [`intensity`] (the presets), [`h2wire`] (HTTP/2 connections driven frame
//! by frame with `rampart-wire`'s frames, for the abuse a client library will not send).

pub mod bench;
pub mod browser;
pub mod campaign;
pub mod client;
pub mod declared;
pub mod dos;
pub mod findings;
pub mod h2wire;
pub mod intensity;
pub mod login;
pub mod outcome;
pub mod plan;
pub mod probe;
pub mod report;
pub mod request;
pub mod scans;
pub mod scenarios;
pub mod sources;
pub mod spawn;
pub mod target;
pub mod trust;
pub mod verdict;

/// Process exit codes, part of the external contract.
pub mod exit {
    /// Every scenario held and there was no finding.
    pub const OK: u8 = 0;
    /// A scenario failed or a finding was reported.
    pub const FAILED: u8 = 1;
    /// Usage or configuration error.
    pub const USAGE: u8 = 2;
    /// At least one scenario was inconclusive.
    pub const INCONCLUSIVE: u8 = 3;
}

/// The exit code for a set of verdicts: any failure (a DoS scenario not held, a finding) wins
/// over inconclusive.
pub fn exit_code(verdicts: &[verdict::Verdict]) -> u8 {
    use verdict::Verdict::*;
    if verdicts.iter().any(|v| v.failed()) {
        exit::FAILED
    } else if verdicts.iter().any(|v| matches!(v, Inconclusive)) {
        exit::INCONCLUSIVE
    } else {
        exit::OK
    }
}

/// Raises the open-files soft limit to the hard limit; returns the limit now in force.
pub fn raise_open_files() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict::Verdict::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(exit_code(&[Held, Held]), exit::OK);
        assert_eq!(exit_code(&[Held, Inconclusive]), exit::INCONCLUSIVE);
        assert_eq!(exit_code(&[Inconclusive, Degraded]), exit::FAILED);
        assert_eq!(exit_code(&[Denied]), exit::FAILED);
        assert_eq!(exit_code(&[Passed, Held]), exit::OK);
        assert_eq!(exit_code(&[Passed, Inconclusive]), exit::INCONCLUSIVE);
        assert_eq!(exit_code(&[Suspected, Inconclusive]), exit::FAILED);
        assert_eq!(exit_code(&[Held, Vulnerable]), exit::FAILED);
    }
}
