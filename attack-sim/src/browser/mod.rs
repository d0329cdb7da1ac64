//! A real browser for the `web` scans: headless Chromium driven over W3C WebDriver
//! ([`webdriver`]), trusting exactly the certificate the harness itself verified, and pages
//! served from another site ([`other_site`]) for the cross-site checks.
//!
//! Debian's `chromium` and `chromium-driver` are what it runs; without them the checks that
//! need a browser are not made, and say so.

pub mod other_site;
pub mod webdriver;

use std::path::{Path, PathBuf};

pub use webdriver::{Browser, BrowserError};

/// Where the browser tools are looked for, besides `PATH`.
const DIRS: [&str; 3] = ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"];

/// Chromium and its WebDriver, or why they cannot be used.
pub fn tools() -> Result<(PathBuf, PathBuf), BrowserError> {
    Ok((find("chromium")?, find("chromedriver")?))
}

fn find(name: &str) -> Result<PathBuf, BrowserError> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .iter()
        .map(|d| d.join(name))
        .chain(DIRS.iter().map(|d| Path::new(d).join(name)))
        .find(|p| p.is_file())
        .ok_or_else(|| BrowserError::Missing(name.to_string()))
}

/// Base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo: what Chromium's
/// `--ignore-certificate-errors-spki-list` trusts.
pub fn spki_pin(cert_der: &[u8]) -> Result<String, BrowserError> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| BrowserError::Certificate(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(cert.tbs_certificate.subject_pki.raw)))
}
