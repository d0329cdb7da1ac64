//! The serving certificate, swappable at run time: SIGHUP re-reads the files, and only a
//! complete, matching certificate and key replace the current one. Handshakes already in
//! progress and open connections keep what they have.

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
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    /// Loads the certificate and key, failing with an error naming the file and problem.
    pub fn load(source: CertSource) -> Result<Self, CertError> {
        let current = RwLock::new(read(&source)?);
        Ok(CertStore { source, current })
    }

    /// Re-reads the files. On error the current certificate stays in service.
    pub fn reload(&self) -> Result<(), CertError> {
        let fresh = read(&self.source)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// Where the certificate comes from.
    pub fn source(&self) -> &CertSource {
        &self.source
    }

    /// The certificate chain currently served.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn read(source: &CertSource) -> Result<Arc<CertifiedKey>, CertError> {
    rampart_certs::load_certified_key(&source.cert, &source.key, &super::provider())
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_swaps_only_on_success() {
        let dir = tempfile::tempdir().expect("tmp");
        let paths = rampart_certs::generate_dev_set(dir.path()).expect("gen");
        let store = CertStore::load(CertSource {
            cert: paths.leaf_cert.clone(),
            key: paths.leaf_key.clone(),
        })
        .expect("load");
        let first = store.current().cert[0].clone();

        std::fs::write(&paths.leaf_cert, "garbage").expect("w");
        let e = store.reload().expect_err("broken file");
        assert!(e.to_string().contains("server.pem"), "{e}");
        assert_eq!(store.current().cert[0], first, "old certificate stays");

        rampart_certs::generate_dev_set(dir.path()).expect("regen");
        store.reload().expect("reload");
        assert_ne!(store.current().cert[0], first, "new certificate served");
    }
}
