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
