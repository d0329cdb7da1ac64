//! What a run leaves behind: the terminal scorecard, `report.json` (stable, versioned),
//! `junit.xml` for CI systems, `report.html` for people, `report.sarif` for code-scanning
//! dashboards, and a live progress bar on a TTY. Every file is written whole or not at all.

pub mod html;
pub mod json;
pub mod junit;
pub mod progress;
pub mod sarif;
pub mod scorecard;
pub mod svg;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::intensity::Intensity;
use crate::verdict::Slo;

/// What every report says of the run besides its scenarios' outcomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The target's URL.
    pub target: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// The intensity the DoS scenarios ran at.
    pub intensity: Intensity,
    /// The verdict thresholds.
    pub slo: Slo,
    /// False only with `--insecure`: the target's certificate was not verified.
    pub tls_verified: bool,
    /// What was trusted, in words.
    pub trust: String,
    /// What the legitimate client asked for (null when no DoS scenario ran).
    pub legit_client: Option<String>,
    /// What the harness could not do as asked, and did instead (setup steps skipped, a
    /// default probe chosen): in words.
    pub notes: Vec<String>,
}

impl RunInfo {
    /// The time `at` in RFC 3339.
    pub fn timestamp(at: time::OffsetDateTime) -> String {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename, so that a reader
/// never sees half a file.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
