//! What ACME leaves on disk, in `tls.acme.dir` (owner-only, written atomically by rename so a
//! crash leaves the old file or the new one, never half of either):
//! - `account.json`: the account's URL and private key (instant-acme's credentials);
//! - `certificate.pem`: the private key then the chain, in one file so that the pair is
//!   replaced as one (a key and a certificate written apart could be caught mismatched).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use super::AcmeError;

/// The files of one ACME configuration.
#[derive(Debug, Clone)]
pub struct AcmeFiles {
    dir: PathBuf,
}

/// A stored certificate with what renewal needs to know of it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The chain and key, as served.
    pub key: Arc<CertifiedKey>,
    /// The leaf's `notBefore`.
    pub not_before: OffsetDateTime,
    /// The leaf's `notAfter`.
    pub not_after: OffsetDateTime,
    /// The leaf's serial number, in hex (for logs and tests).
    pub serial: String,
}

impl Stored {
    /// From the chain and key a handshake serves (the leaf's validity read from it).
    pub fn of(key: Arc<CertifiedKey>) -> Result<Self, String> {
        let leaf = key.cert.first().ok_or("an empty chain")?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf).map_err(|e| e.to_string())?;
        let validity = cert.validity();
        Ok(Stored {
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            serial: cert.raw_serial_as_string(),
            key,
        })
    }

    /// Whether the leaf covers every name of `domains`.
    pub fn covers_all(&self, domains: &[String]) -> bool {
        domains
            .iter()
            .all(|d| crate::tls::covers(&self.key, d.as_str()))
    }
}

/// Account credentials from their JSON (in `account.json` or the database).
pub fn account_from_json(json: &[u8]) -> Result<instant_acme::AccountCredentials, String> {
    serde_json::from_slice(json).map_err(|e| format!("not an ACME account: {e}"))
}

impl AcmeFiles {
    /// The files under `dir`.
    pub fn new(dir: &Path) -> Self {
        AcmeFiles {
            dir: dir.to_path_buf(),
        }
    }

    /// The account credentials' file.
    pub fn account(&self) -> PathBuf {
        self.dir.join("account.json")
    }

    /// The key-and-chain file (what `tls.cert` and `tls.key` would name).
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("certificate.pem")
    }

    fn ensure_dir(&self) -> Result<(), AcmeError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| AcmeError::Store {
                path: self.dir.display().to_string(),
                reason: e.to_string(),
            })
    }

    fn write(&self, path: &Path, data: &[u8]) -> Result<(), AcmeError> {
        self.ensure_dir()?;
        rampart_certs::write_atomic(path, data, 0o600).map_err(|e| AcmeError::Store {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// The stored account credentials, if any.
    pub fn load_account(&self) -> Result<Option<instant_acme::AccountCredentials>, AcmeError> {
        let path = self.account();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(AcmeError::Store {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        account_from_json(&text)
            .map(Some)
            .map_err(|reason| AcmeError::Store {
                path: path.display().to_string(),
                reason,
            })
    }

    /// Keeps the account credentials.
    pub fn save_account(&self, creds: &instant_acme::AccountCredentials) -> Result<(), AcmeError> {
        let json = serde_json::to_vec_pretty(creds).map_err(|e| AcmeError::Store {
            path: self.account().display().to_string(),
            reason: e.to_string(),
        })?;
        self.write(&self.account(), &json)
    }

    /// Removes the stored account (one the server no longer knows).
    pub fn forget_account(&self) -> Result<(), AcmeError> {
        match std::fs::remove_file(self.account()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AcmeError::Store {
                path: self.account().display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The stored certificate, if there is one that loads (a broken file is reported and
    /// treated as none: a new order replaces it).
    pub fn load_certificate(&self) -> Option<Stored> {
        let path = self.certificate();
        if !path.exists() {
            return None;
        }
        let loaded = rampart_certs::load_certified_key(&path, &path, &crate::tls::provider())
            .map_err(|e| e.to_string())
            .and_then(Stored::of);
        match loaded {
            Ok(stored) => Some(stored),
            Err(e) => {
                tracing::warn!(error = %e, "the stored ACME certificate does not load; ordering a new one");
                None
            }
        }
    }

    /// Keeps a key-and-chain PEM (checked to load and belong together first) and returns it.
    pub fn save_pem(&self, pem: &str) -> Result<Stored, AcmeError> {
        let stored = parse_pem(pem).map_err(|reason| AcmeError::Order {
            detail: format!("the issued certificate is unusable: {reason}"),
        })?;
        self.write(&self.certificate(), pem.as_bytes())?;
        Ok(stored)
    }
}

/// One PEM of the key, then the chain.
pub fn combine(key_pem: &str, chain_pem: &str) -> String {
    let mut both = String::with_capacity(key_pem.len() + chain_pem.len() + 1);
    both.push_str(key_pem.trim_end());
    both.push('\n');
    both.push_str(chain_pem);
    both
}

/// A key-and-chain PEM as served, checked to belong together.
pub fn parse_pem(pem: &str) -> Result<Stored, String> {
    let key = rampart_certs::certified_key_from_pem(
        pem.as_bytes(),
        pem.as_bytes(),
        &crate::tls::provider(),
    )
    .map_err(|e| format!("{e:?}"))?;
    Stored::of(Arc::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_certificate_is_kept_owner_only_and_loads_back() {
        let tmp = tempfile::tempdir().expect("tmp");
        let files = AcmeFiles::new(&tmp.path().join("acme"));
        assert!(files.load_certificate().is_none());
        let ca = rampart_certs::DevCa::generate().expect("ca");
        let (chain, key) =
            rampart_certs::issue_leaf(&ca, &["bank.example".to_string()], 30).expect("leaf");
        let saved = files.save_pem(&combine(&key, &chain)).expect("save");
        let mode = std::fs::metadata(files.certificate())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(tmp.path().join("acme"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let loaded = files.load_certificate().expect("loads");
        assert_eq!(loaded.serial, saved.serial);
        assert!(loaded.covers_all(&["bank.example".to_string()]));
        assert!(!loaded.covers_all(&["other.example".to_string()]));
        let lifetime = loaded.not_after - loaded.not_before;
        assert!(lifetime.whole_days() >= 29, "{lifetime}");
    }

    #[test]
    fn a_mismatched_pair_is_refused_and_nothing_is_written() {
        let tmp = tempfile::tempdir().expect("tmp");
        let files = AcmeFiles::new(tmp.path());
        let ca = rampart_certs::DevCa::generate().expect("ca");
        let names = ["bank.example".to_string()];
        let (chain, _) = rampart_certs::issue_leaf(&ca, &names, 30).expect("leaf");
        let (_, other_key) = rampart_certs::issue_leaf(&ca, &names, 30).expect("leaf");
        let e = files
            .save_pem(&combine(&other_key, &chain))
            .expect_err("mismatch");
        assert!(e.to_string().contains("unusable"), "{e}");
        assert!(!files.certificate().exists());
        std::fs::write(files.certificate(), "garbage").expect("write");
        assert!(files.load_certificate().is_none(), "broken: ordered anew");
    }
}
