//! `report.json`: a stable, versioned document (schema_version 1). Fields are only ever added
//! within a version; renaming or removing one bumps it.
//!
//! ```text
//! { "schema_version": 1, "tool": "attack-sim <version>", "target": "https://...",
//!   "started_at": RFC 3339, "intensity": "smoke|standard|stress", "slo": {...},
//!   "tls_verified": bool, "trust": "...", "legit_client": "..."|null, "notes": ["..."],
//!   "scenarios": [ { "name", "kind", "verdict", "note", "elapsed_ms", "attack_from_ms",
//!       "attack_to_ms",
//!       "legit": { "requests", "success_rate", "p50_ms", "p99_ms", "baseline_p99_ms",
//!                  "time_to_denial_ms", "recovery_ms",
//!                  "baseline": {...}, "attack": {...}, "recovery": {...} },
//!       "attack": { "connects", "refused", "open_peak", "cut", "responses", "throttled",
//!                   "sent" },
//!       "server": { "rss_peak_bytes", "fds_peak", "cpu_peak_percent", "alive_at_end",
//!                   "samples": [ { "at_ms", "rss_bytes", "fds", "cpu_percent" } ] },
//!       "checks": [],
//!       "findings": [],
//!       "samples": [ { "at_ms", "phase", "route", "status", "ok", "latency_ms" } ],
//!       "attack_samples": [ { "at_ms", "open", "connects", "responses" } ],
//!       "before": { "ready", "waited_ms", "limit_ms" }|null, "after": {...}|null },
//!     { "name", "kind": "injection|auth|tls|web", "verdict", "note", "elapsed_ms",
//!       "legit": null, "attack": null, "server": null,
//!       "checks": [ { "name", "result": "passed|failed|unmade|skipped", "detail" } ],
//!       "findings": [ { "severity": "info|low|medium|high|critical",
//!                       "confidence": "confirmed|tentative", "endpoint", "parameter",
//!                       "technique", "summary", "evidence": { "request", "response" } } ] } ],
//!   "capacity": { "scenario", "unit", "held_up_to"|null, "failed_at"|null, "max",
//!                 "steps": [ { "load", "verdict", "success_rate", "p99_ms",
//!                              "baseline_p99_ms", "note" } ], "note" },         (capacity only)
//!   "regressions": [ { "kind": "new-finding|worse-verdict|capacity-down", "scenario",
//!                      "detail", "fingerprint"? } ],                          (--baseline only)
//!   "baseline": { "report", "started_at", "absent": [finding...],
//!                 "scenarios": [ { "scenario", "verdict_before", "verdict_now",
//!                    "success_before", "success_now", "p99_ratio_before",
//!                    "p99_ratio_now" } ] } }                                 (--baseline only)
//! ```
//! `tls_verified` is false only with `--insecure`. `notes` says what the harness decided in
//! the user's place (a default probe, setup steps skipped). A sample's `ok` is its probe's
//! expectation met (any 2xx or 3xx unless the probe names a status). `before` is the wait for
//! the target to pass the probe before a scenario, `after` the wait after it (how long the
//! scenario left it down); null when not waited.
//! A DoS scenario's `verdict` is `held|degraded|denied|inconclusive`; a scan's is
//! `passed|suspected|vulnerable|inconclusive` (`vulnerable` when a finding is confirmed,
//! `suspected` when all are tentative, `inconclusive` when a check could not be made and
//! nothing was found; its `note` then names the checks). A scan's `legit`, `attack` and
//! `server` are null and a DoS scenario's `checks` and `findings` empty. `parameter` is null
//! when a finding is about the endpoint as a whole; evidence excerpts are at most 600
//! characters each, control bytes written as `\r`, `\n`, `\xNN`.
//! `server`'s fields are null (and its samples empty) unless the harness spawned the target.
//! `note` is null unless the verdict needs a reason the numbers do not give (a scenario whose
//! attack never got a usable connection is `inconclusive`, never `held`). `sent` counts the
//! requests, streams or frames the floods wrote. A sample's `route` is its probe's label:
//! `health`, `accounts` or `login` in rampart's preset, `METHOD PATH` or the plan's name. `time_to_denial_ms` (from the attack's start
//! to the first failed legitimate request scheduled during it) is null when none failed;
//! `recovery_ms` (from the attack's end to the first success after the last failure) is 0
//! when nothing failed from the attack's end on and null when failures lasted to the end.

use std::path::Path;

use serde::Serialize;

use super::RunInfo;
use crate::campaign::capacity::Capacity;
use crate::campaign::regression::{Comparison, Regression};
use crate::outcome::Outcome;

/// The schema version written.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Serialize)]
pub struct Report<'a> {
    schema_version: u32,
    tool: String,
    #[serde(flatten)]
    run: &'a RunInfo,
    scenarios: &'a [Outcome],
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity: Option<&'a Capacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    regressions: Option<&'a [Regression]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a Comparison>,
}

impl<'a> Report<'a> {
    /// Builds the document.
    pub fn new(run: &'a RunInfo, results: &'a [Outcome]) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: format!("attack-sim {}", env!("CARGO_PKG_VERSION")),
            run,
            scenarios: results,
            capacity: None,
            regressions: None,
            baseline: None,
        }
    }

    /// With the capacity search's result.
    pub fn with_capacity(mut self, c: &'a Capacity) -> Self {
        self.capacity = Some(c);
        self
    }

    /// With the comparison against a baseline report.
    pub fn with_baseline(mut self, c: &'a Comparison) -> Self {
        self.regressions = Some(&c.regressions);
        self.baseline = Some(c);
        self
    }

    /// Writes `report.json` into `dir` (created if missing), atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<std::path::PathBuf> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        super::write_atomically(dir, "report.json", &text)
    }
}
