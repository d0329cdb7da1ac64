//! The development certificate set: a local CA and a short-lived leaf for
//! `localhost`/`127.0.0.1`, created on first run and renewed when it nears expiry.
//!
//! Layout of the folder (default `certs/dev/`): `ca.pem` (trust this), `ca.key`, `server.pem`,
//! `server.key`. Keys are written with mode 0600 and every file is written atomically.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

use crate::CertError;
use crate::atomic_write::write_atomic;

/// Lifetime of a generated leaf certificate.
pub const LEAF_LIFETIME_DAYS: i64 = 90;
/// A leaf with less than this left is renewed at start.
pub const RENEW_BEFORE_DAYS: i64 = 30;
/// Lifetime of the generated development CA.
pub const CA_LIFETIME_DAYS: i64 = 5 * 365;
/// Names the default dev leaf is valid for.
pub const DEV_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The files of a dev certificate set inside one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPaths {
    /// The folder.
    pub dir: PathBuf,
    /// CA certificate (what clients trust).
    pub ca_cert: PathBuf,
    /// CA private key.
    pub ca_key: PathBuf,
    /// Server leaf certificate.
    pub leaf_cert: PathBuf,
    /// Server leaf private key.
    pub leaf_key: PathBuf,
}

impl DevPaths {
    /// The standard file names inside `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        DevPaths {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            leaf_cert: dir.join("server.pem"),
            leaf_key: dir.join("server.key"),
            dir,
        }
    }
}

/// A CA able to sign leaves: its certificate PEM and its issuer (name + key).
pub struct DevCa {
    /// The CA certificate in PEM form.
    pub cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    // A minute of slack for clocks that disagree slightly.
    params.not_before = now - Duration::minutes(1);
    params.not_after = now + Duration::days(days);
}

impl DevCa {
    /// Generates a new ECDSA P-256 CA, constrained to issue leaves only (path length 0).
    pub fn generate() -> Result<Self, CertError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Rampart development");
        dn.push(
            DnType::CommonName,
            format!(
                "Rampart development CA {}",
                OffsetDateTime::now_utc().unix_timestamp()
            ),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, CA_LIFETIME_DAYS);
        let cert = params.self_signed(&key)?;
        let key_pem = key.serialize_pem();
        Ok(DevCa {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from its certificate and key PEM files.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, CertError> {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| CertError::read(p, e));
        let cert_pem = read(cert_path)?;
        let key_pem = read(key_path)?;
        let pem_err = |path: &Path, problem| CertError::Pem {
            path: path.to_path_buf(),
            problem,
        };
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| pem_err(key_path, crate::PemProblem::UnsupportedKey(e.to_string())))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| {
            pem_err(
                cert_path,
                crate::PemProblem::InvalidCertificate {
                    index: 0,
                    reason: e.to_string(),
                },
            )
        })?;
        Ok(DevCa {
            cert_pem,
            key_pem,
            issuer,
        })
    }

    /// Seconds until the CA certificate expires (negative once expired).
    pub fn remaining_secs(&self) -> Result<i64, CertError> {
        remaining_secs(self.cert_pem.as_bytes())
    }
}

/// Issues a leaf for `names` (DNS names or IP addresses) signed by `ca`, valid for `days`.
/// Returns `(certificate PEM, private key PEM)`.
pub fn issue_leaf(ca: &DevCa, names: &[String], days: i64) -> Result<(String, String), CertError> {
    if names.is_empty() {
        return Err(CertError::Generate(
            "a leaf needs at least one name".to_string(),
        ));
    }
    if !(1..=397).contains(&days) {
        return Err(CertError::Generate(format!(
            "leaf lifetime of {days} days is outside 1..=397 (the CA/Browser Forum maximum)"
        )));
    }
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names[0].clone());
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, days);
    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Seconds until the first certificate in `pem` expires.
fn remaining_secs(pem: &[u8]) -> Result<i64, CertError> {
    let chain = crate::parse_cert_chain(pem).map_err(|p| CertError::Generate(p.to_string()))?;
    let not_after = not_after(&chain[0]).map_err(CertError::Generate)?;
    Ok(not_after.unix_timestamp() - OffsetDateTime::now_utc().unix_timestamp())
}

/// When a certificate expires (its `notAfter`).
pub fn not_after(cert: &[u8]) -> Result<OffsetDateTime, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert).map_err(|e| e.to_string())?;
    Ok(cert.validity().not_after.to_datetime())
}

/// What [`ensure_dev_set`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevOutcome {
    /// A new CA and leaf were written.
    Created,
    /// The CA was kept and a new leaf issued, for the reason given.
    LeafRenewed(String),
    /// Everything on disk was valid and kept.
    Reused,
}

fn write_ca(paths: &DevPaths, ca: &DevCa) -> Result<(), CertError> {
    write_atomic(&paths.ca_key, ca.key_pem.as_bytes(), 0o600)?;
    write_atomic(&paths.ca_cert, ca.cert_pem.as_bytes(), 0o644)
}

fn write_leaf(paths: &DevPaths, ca: &DevCa) -> Result<(), CertError> {
    let names: Vec<String> = DEV_NAMES.iter().map(|s| s.to_string()).collect();
    let (cert, key) = issue_leaf(ca, &names, LEAF_LIFETIME_DAYS)?;
    // Key first: a crash between the two writes leaves a mismatched pair, which the next
    // start detects and repairs, rather than a certificate with no key.
    write_atomic(&paths.leaf_key, key.as_bytes(), 0o600)?;
    write_atomic(&paths.leaf_cert, cert.as_bytes(), 0o644)
}

fn create_dir(dir: &Path) -> Result<(), CertError> {
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes a brand-new CA and leaf into `dir`, replacing whatever was there.
pub fn generate_dev_set(dir: &Path) -> Result<DevPaths, CertError> {
    let paths = DevPaths::in_dir(dir);
    create_dir(dir)?;
    let ca = DevCa::generate()?;
    write_ca(&paths, &ca)?;
    write_leaf(&paths, &ca)?;
    Ok(paths)
}

/// Why the leaf on disk must be replaced, or `None` if it is fine.
fn leaf_needs_renewal(paths: &DevPaths, ca: &DevCa) -> Option<String> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let (cert, key) = match (
        std::fs::read(&paths.leaf_cert),
        std::fs::read(&paths.leaf_key),
    ) {
        (Ok(c), Ok(k)) => (c, k),
        _ => return Some("the leaf certificate or key is missing".to_string()),
    };
    if let Err(e) = crate::certified_key_from_pem(&cert, &key, &provider) {
        return Some(format!("the leaf on disk is unusable ({e:?})"));
    }
    if !signed_by(&cert, ca.cert_pem.as_bytes()) {
        return Some("the leaf was not issued by the CA on disk".to_string());
    }
    match remaining_secs(&cert) {
        Ok(s) if s >= RENEW_BEFORE_DAYS * 86_400 => None,
        Ok(s) => Some(format!(
            "the leaf expires in {} days (renewed under {RENEW_BEFORE_DAYS})",
            s.max(0) / 86_400
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// Whether the first certificate of `leaf_pem` carries a valid signature by `ca_pem`.
fn signed_by(leaf_pem: &[u8], ca_pem: &[u8]) -> bool {
    let (Ok(leaf), Ok(ca)) = (
        crate::parse_cert_chain(leaf_pem),
        crate::parse_cert_chain(ca_pem),
    ) else {
        return false;
    };
    let (Ok((_, leaf)), Ok((_, ca))) = (
        x509_parser::parse_x509_certificate(&leaf[0]),
        x509_parser::parse_x509_certificate(&ca[0]),
    ) else {
        return false;
    };
    leaf.verify_signature(Some(ca.public_key())).is_ok()
}

/// Makes sure `dir` holds a usable dev set: creates it if absent, renews the leaf when it has
/// less than [`RENEW_BEFORE_DAYS`] left or does not match, and regenerates everything when the
/// CA itself is about to expire. A CA certificate without its key (or the reverse) is an
/// error: silently replacing a CA that someone may trust would break their clients.
pub fn ensure_dev_set(dir: &Path) -> Result<(DevPaths, DevOutcome), CertError> {
    let paths = DevPaths::in_dir(dir);
    match (paths.ca_cert.exists(), paths.ca_key.exists()) {
        (false, false) => {
            generate_dev_set(dir)?;
            return Ok((paths, DevOutcome::Created));
        }
        (true, true) => {}
        (cert, _) => {
            return Err(CertError::DevSet {
                dir: dir.to_path_buf(),
                reason: format!(
                    "{} is missing; delete the folder to generate a new development CA",
                    if cert { "ca.key" } else { "ca.pem" }
                ),
            });
        }
    }
    let ca = DevCa::load(&paths.ca_cert, &paths.ca_key)?;
    if ca.remaining_secs()? < (LEAF_LIFETIME_DAYS + 1) * 86_400 {
        generate_dev_set(dir)?;
        return Ok((paths, DevOutcome::Created));
    }
    match leaf_needs_renewal(&paths, &ca) {
        None => Ok((paths, DevOutcome::Reused)),
        Some(reason) => {
            write_leaf(&paths, &ca)?;
            Ok((paths, DevOutcome::LeafRenewed(reason)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn first_run_creates_then_reuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("dev");
        let (paths, outcome) = ensure_dev_set(&d).expect("create");
        assert_eq!(outcome, DevOutcome::Created);
        assert_eq!(mode(&paths.ca_key), 0o600);
        assert_eq!(mode(&paths.leaf_key), 0o600);
        let before = std::fs::read(&paths.leaf_cert).expect("read");
        let (_, outcome) = ensure_dev_set(&d).expect("reuse");
        assert_eq!(outcome, DevOutcome::Reused);
        assert_eq!(std::fs::read(&paths.leaf_cert).expect("read"), before);
    }

    #[test]
    fn leaf_has_the_dev_names_and_short_lifetime() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = generate_dev_set(dir.path()).expect("gen");
        let pem = std::fs::read(&paths.leaf_cert).expect("read");
        let der = &crate::parse_cert_chain(&pem).expect("parse")[0];
        let (_, cert) = x509_parser::parse_x509_certificate(der).expect("x509");
        let san = cert
            .subject_alternative_name()
            .expect("ext")
            .expect("has san");
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert!(names.iter().any(|n| n.contains("localhost")), "{names:?}");
        assert!(
            names.iter().any(|n| n == "IPAddress(7f:00:00:01)"),
            "{names:?}"
        );
        let life = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert!(life <= (LEAF_LIFETIME_DAYS * 86_400) + 120, "{life}");
        assert!(signed_by(
            &pem,
            &std::fs::read(&paths.ca_cert).expect("read ca")
        ));
    }

    #[test]
    fn expiring_leaf_is_renewed_by_same_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = generate_dev_set(dir.path()).expect("gen");
        let ca_before = std::fs::read(&paths.ca_cert).expect("read");
        let ca = DevCa::load(&paths.ca_cert, &paths.ca_key).expect("load ca");
        let (cert, key) = issue_leaf(&ca, &["localhost".into()], 10).expect("short leaf");
        std::fs::write(&paths.leaf_cert, cert).expect("w");
        std::fs::write(&paths.leaf_key, key).expect("w");
        let (_, outcome) = ensure_dev_set(dir.path()).expect("ensure");
        assert!(
            matches!(&outcome, DevOutcome::LeafRenewed(r) if r.contains("expires")),
            "{outcome:?}"
        );
        assert_eq!(std::fs::read(&paths.ca_cert).expect("read"), ca_before);
        assert_eq!(
            ensure_dev_set(dir.path()).expect("again").1,
            DevOutcome::Reused
        );
    }

    #[test]
    fn leaf_from_another_ca_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = generate_dev_set(dir.path()).expect("gen");
        let stranger = DevCa::generate().expect("ca");
        let (cert, key) = issue_leaf(&stranger, &["localhost".into()], 90).expect("leaf");
        std::fs::write(&paths.leaf_cert, cert).expect("w");
        std::fs::write(&paths.leaf_key, key).expect("w");
        let (_, outcome) = ensure_dev_set(dir.path()).expect("ensure");
        assert!(
            matches!(&outcome, DevOutcome::LeafRenewed(r) if r.contains("not issued")),
            "{outcome:?}"
        );
    }

    #[test]
    fn ca_without_key_is_an_error_not_a_silent_replacement() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = generate_dev_set(dir.path()).expect("gen");
        std::fs::remove_file(&paths.ca_key).expect("rm");
        let e = ensure_dev_set(dir.path()).expect_err("must refuse");
        assert!(e.to_string().contains("ca.key is missing"), "{e}");
    }

    #[test]
    fn leaf_lifetime_and_names_are_validated() {
        let ca = DevCa::generate().expect("ca");
        assert!(issue_leaf(&ca, &[], 90).is_err());
        assert!(issue_leaf(&ca, &["a".into()], 0).is_err());
        assert!(issue_leaf(&ca, &["a".into()], 398).is_err());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let ca = DevCa::generate().expect("ca");
        let dbg = format!("{ca:?}");
        assert!(!dbg.contains("PRIVATE"), "{dbg}");
    }
}
