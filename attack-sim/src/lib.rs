//! `attack-sim`: an attack harness for HTTPS servers (DoS floods from many source addresses,
//! slow attacks, HTTP/2 abuse, injection, authentication and TLS-policy attacks) that measures
//! a legitimate client's availability throughout and ends in a verdict, reports and an exit
//! code. See `../shared/DESIGN.md`, "The harness".
//!
//! This crate currently holds the command-line contract (subcommands and exit codes); the
//! scenario engine and scenarios are built on top of it.

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

/// One entry of `attack-sim list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioInfo {
    /// Name used on the command line.
    pub name: &'static str,
    /// `dos`, `injection`, `auth` or `tls`.
    pub kind: &'static str,
    /// One line.
    pub description: &'static str,
}

/// Every scenario this build can run.
pub const SCENARIOS: &[ScenarioInfo] = &[];
