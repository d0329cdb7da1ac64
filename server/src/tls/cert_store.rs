//! The serving certificate, swappable at run time: SIGHUP re-reads the files, and only a
//! complete, matching certificate and key replace the current one. Handshakes already in
//! progress and open connections keep what they have.
//!
//! A client that names (by SNI) a host the certificate does not cover is refused before any
//! certificate is shown, as nginx's `ssl_reject_handshake` does: a server that answers for
//! any name invites domain fronting and virtual-host confusion, and hands its certificate to
//! whoever scans by address. A client that sends no SNI (one connecting to an IP address, a
//! load balancer's health check) is served.
//!
//! Under ACME the store starts empty until the first certificate is issued: every handshake
//! is then refused (no certificate at all rather than a self-signed one), and issuance and
//! renewal [`CertStore::install`] what they obtain.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rampart_certs::CertError;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the certificate chain and key are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSource {
    /// Certificate chain PEM.
    pub cert: PathBuf,
    /// Private key PEM.
    pub key: PathBuf,
}

/// The current certificate and where to reload it from.
#[derive(Debug)]
pub struct CertStore {
    source: CertSource,
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl CertStore {
    /// Loads the certificate and key, failing with an error naming the file and problem.
    pub fn load(source: CertSource) -> Result<Self, CertError> {
        let current = RwLock::new(Some(read(&source)?));
        Ok(CertStore { source, current })
    }

    /// A store with no certificate yet (ACME before its first issuance), to be reloaded from
    /// `source` or given one by [`CertStore::install`].
    pub fn awaiting(source: CertSource) -> Self {
        CertStore {
            source,
            current: RwLock::new(None),
        }
    }

    /// Re-reads the files. On error the current certificate stays in service.
    pub fn reload(&self) -> Result<(), CertError> {
        self.install(read(&self.source)?);
        Ok(())
    }

    /// Serves `key` from now on.
    pub fn install(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
    }

    /// Where the certificate comes from.
    pub fn source(&self) -> &CertSource {
        &self.source
    }

    /// The certificate chain currently served (none yet under ACME before its first one).
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn read(source: &CertSource) -> Result<Arc<CertifiedKey>, CertError> {
    rampart_certs::load_certified_key(&source.cert, &source.key, &super::provider())
}

/// Whether the leaf of `key` is valid for the DNS name `sni` (the matching rules clients
/// use, wildcards included).
pub fn covers(key: &CertifiedKey, sni: &str) -> bool {
    let (Some(leaf), Ok(name)) = (
        key.cert.first(),
        rustls::pki_types::ServerName::try_from(sni),
    ) else {
        return false;
    };
    webpki::EndEntityCert::try_from(leaf)
        .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(key) = self.current() else {
            tracing::debug!("handshake refused: no certificate has been issued yet");
            return None;
        };
        match hello.server_name() {
            Some(sni) if !covers(&key, sni) => {
                tracing::debug!(
                    sni,
                    "handshake refused: the certificate does not cover the name asked for"
                );
                None
            }
            _ => Some(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_certificate_names_are_covered() {
        let dir = tempfile::tempdir().expect("tmp");
        let paths = rampart_certs::generate_dev_set(dir.path()).expect("gen");
        let store = CertStore::load(CertSource {
            cert: paths.leaf_cert,
            key: paths.leaf_key,
        })
        .expect("load");
        let key = store.current().expect("loaded");
        assert!(covers(&key, "localhost"));
        assert!(covers(&key, "LOCALHOST"), "names match without case");
        for other in [
            "example.com",
            "localhost.example",
            "unknown.invalid",
            "",
            "not a name",
        ] {
            assert!(!covers(&key, other), "{other}");
        }
    }

    #[test]
    fn reload_swaps_only_on_success() {
        let dir = tempfile::tempdir().expect("tmp");
        let paths = rampart_certs::generate_dev_set(dir.path()).expect("gen");
        let store = CertStore::load(CertSource {
            cert: paths.leaf_cert.clone(),
            key: paths.leaf_key.clone(),
        })
        .expect("load");
        let first = store.current().expect("loaded").cert[0].clone();

        std::fs::write(&paths.leaf_cert, "garbage").expect("w");
        let e = store.reload().expect_err("broken file");
        assert!(e.to_string().contains("server.pem"), "{e}");
        assert_eq!(
            store.current().expect("kept").cert[0],
            first,
            "old certificate stays"
        );

        rampart_certs::generate_dev_set(dir.path()).expect("regen");
        store.reload().expect("reload");
        assert_ne!(
            store.current().expect("new").cert[0],
            first,
            "new certificate served"
        );
    }
}
