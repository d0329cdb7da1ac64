//! `tls-alpn-01` (RFC 8737): while a name is being proved, a handshake that offers only the
//! `acme-tls/1` protocol and names it is answered with a self-signed certificate for the name
//! carrying the critical `acmeIdentifier` extension (the SHA-256 of the key authorization), and
//! the connection ends there. Such handshakes are told apart at the ClientHello
//! ([`is_validation`]) and served by a configuration of their own ([`Challenges::config`]),
//! so the application protocols never see them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::AcmeError;
use super::shared::Shared;

/// How long a validation certificate made from another instance's published digest is kept.
const REMOTE_KEPT: Duration = Duration::from_secs(60);

/// The ALPN protocol of validation handshakes.
pub const ALPN_ACME_TLS: &[u8] = b"acme-tls/1";

/// Whether a ClientHello's ALPN offer is a `tls-alpn-01` validation: `acme-tls/1` and nothing
/// else (RFC 8737 section 3).
pub fn is_validation<'a>(mut offered: impl Iterator<Item = &'a [u8]>) -> bool {
    offered.next() == Some(ALPN_ACME_TLS) && offered.next().is_none()
}

/// A validation certificate, and until when it is answered (for one made from another
/// instance's digest; this instance's own are taken down when its order ends).
#[derive(Debug)]
struct Entry {
    key: Arc<CertifiedKey>,
    until: Option<Instant>,
}

/// The validation certificates in service, by name (lower case), and the database where other
/// instances publish theirs.
#[derive(Debug)]
pub struct Challenges {
    by_name: RwLock<HashMap<String, Entry>>,
    shared: Option<Arc<Shared>>,
}

impl Challenges {
    /// Answers this instance's validations, and, with `shared`, those other instances publish.
    pub fn new(shared: Option<Arc<Shared>>) -> Self {
        Challenges {
            by_name: RwLock::default(),
            shared,
        }
    }

    /// Before a validation handshake for `name`: when this instance is not proving it, the
    /// certificate of the instance that is (from the database), if one is.
    pub async fn prepare(&self, name: &str) {
        let Some(shared) = &self.shared else { return };
        if self.get(name).is_some() {
            return;
        }
        let Some(digest) = shared.validation(name).await else {
            return;
        };
        match validation_certificate(name, &digest) {
            Ok(key) => {
                let mut map = self.by_name.write().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                map.retain(|_, e| e.until.is_none_or(|u| u > now));
                map.insert(
                    name.to_ascii_lowercase(),
                    Entry {
                        key: Arc::new(key),
                        until: Some(now + REMOTE_KEPT),
                    },
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot answer another instance's validation"),
        }
    }

    /// Answers validations of `name` with a certificate for `digest` (the SHA-256 of the key
    /// authorization) until [`Challenges::remove`].
    pub fn insert(&self, name: &str, digest: &[u8]) -> Result<(), AcmeError> {
        let key = validation_certificate(name, digest)?;
        self.by_name
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                name.to_ascii_lowercase(),
                Entry {
                    key: Arc::new(key),
                    until: None,
                },
            );
        Ok(())
    }

    /// Stops answering validations of `name`.
    pub fn remove(&self, name: &str) {
        self.by_name
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name.to_ascii_lowercase());
    }

    fn get(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name.to_ascii_lowercase())
            .filter(|e| e.until.is_none_or(|u| u > Instant::now()))
            .map(|e| e.key.clone())
    }

    /// The TLS configuration of validation handshakes: `acme-tls/1` only, these certificates.
    pub fn config(self: &Arc<Self>) -> Result<ServerConfig, AcmeError> {
        let mut cfg = ServerConfig::builder_with_provider(Arc::new(crate::tls::provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| AcmeError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = vec![ALPN_ACME_TLS.to_vec()];
        cfg.max_early_data_size = 0;
        cfg.send_tls13_tickets = 0;
        Ok(cfg)
    }
}

impl ResolvesServerCert for Challenges {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A validation names the identifier it checks (RFC 8737 section 3); anything else is
        // refused with no certificate.
        let name = hello.server_name()?;
        let key = self.get(name);
        if key.is_none() {
            tracing::debug!(
                sni = name,
                "acme-tls/1 handshake for a name not being proved"
            );
        }
        key
    }
}

/// A self-signed certificate for `name` with the critical `acmeIdentifier` extension.
fn validation_certificate(name: &str, digest: &[u8]) -> Result<CertifiedKey, AcmeError> {
    let fail = |e: rcgen::Error| AcmeError::Tls(format!("validation certificate: {e}"));
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(fail)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    // Built directly: `CertifiedKey::keys_match` parses the certificate with webpki, which
    // refuses the critical extension this certificate exists for.
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
    let signing = crate::tls::provider()
        .key_provider
        .load_private_key(der.into())
        .map_err(|e| AcmeError::Tls(format!("validation certificate: {e}")))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing))
}

/// The digest a validation certificate proves (its `acmeIdentifier`, RFC 8737), when the
/// DER is a certificate carrying that extension marked critical.
pub fn acme_identifier(der: &[u8]) -> Option<Vec<u8>> {
    const ACME_IDENTIFIER: &str = "1.3.6.1.5.5.7.1.31";
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ACME_IDENTIFIER)?;
    // An OCTET STRING of the 32-byte SHA-256.
    match ext.value {
        [0x04, 32, digest @ ..] if ext.critical && digest.len() == 32 => Some(digest.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_offer_of_acme_tls_alone_is_a_validation() {
        let offer = |p: &[&'static [u8]]| is_validation(p.iter().copied());
        assert!(offer(&[b"acme-tls/1"]));
        assert!(!offer(&[b"acme-tls/1", b"h2"]), "RFC 8737: nothing else");
        assert!(!offer(&[b"h2", b"acme-tls/1"]));
        assert!(!offer(&[b"h2"]));
        assert!(!offer(&[]));
    }

    #[test]
    fn a_validation_certificate_carries_the_digest_in_a_critical_extension() {
        let c = Challenges::new(None);
        let digest = [7u8; 32];
        c.insert("Bank.Example", &digest).expect("insert");
        let key = c.get("bank.example").expect("by name, any case");
        assert_eq!(acme_identifier(&key.cert[0]).as_deref(), Some(&digest[..]));
        c.remove("bank.example");
        assert!(c.get("bank.example").is_none());
    }
}
