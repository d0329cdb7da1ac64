//! PEM loading for certificate chains and private keys.
//!
//! The `parse_*` functions work on bytes (and are what the fuzz targets drive); the `load_*`
//! functions add the file name to every error.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self as pki_pem, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::{CertError, PemProblem};

fn malformed(e: pki_pem::Error) -> PemProblem {
    PemProblem::Malformed(match e {
        pki_pem::Error::MissingSectionEnd { .. } => "a PEM block has no END line".to_string(),
        pki_pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_string(),
        pki_pem::Error::Base64Decode(_) => "a PEM block's base64 does not decode".to_string(),
        other => other.to_string(),
    })
}

/// Parses every `CERTIFICATE` block, leaf first, and checks each is well-formed X.509.
pub fn parse_cert_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemProblem> {
    let mut chain = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        chain.push(item.map_err(malformed)?);
    }
    if chain.is_empty() {
        return Err(PemProblem::NoCertificate);
    }
    for (index, der) in chain.iter().enumerate() {
        x509_parser::parse_x509_certificate(der).map_err(|e| PemProblem::InvalidCertificate {
            index,
            reason: e.to_string(),
        })?;
    }
    Ok(chain)
}

/// True when the text holds a password-protected key (PKCS#8 `ENCRYPTED PRIVATE KEY`, or a
/// legacy OpenSSL `Proc-Type: 4,ENCRYPTED` header), which the PEM parser would otherwise skip
/// silently and report as "no key".
fn looks_encrypted(pem: &[u8]) -> bool {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    has(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED")
}

/// Parses exactly one private key (PKCS#8, SEC1 or PKCS#1) and checks that `provider` can sign
/// with it.
pub fn parse_private_key(
    pem: &[u8],
    provider: &CryptoProvider,
) -> Result<PrivateKeyDer<'static>, PemProblem> {
    if looks_encrypted(pem) {
        return Err(PemProblem::EncryptedKey);
    }
    let mut keys = Vec::new();
    for item in PrivateKeyDer::pem_slice_iter(pem) {
        keys.push(item.map_err(malformed)?);
    }
    let key = match keys.len() {
        0 => return Err(PemProblem::NoPrivateKey),
        1 => keys.pop().ok_or(PemProblem::NoPrivateKey)?,
        n => return Err(PemProblem::MultipleKeys(n)),
    };
    provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| PemProblem::UnsupportedKey(e.to_string()))?;
    Ok(key)
}

/// Which of the two inputs of [`certified_key_from_pem`] was at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairProblem {
    /// The certificate PEM.
    Cert(PemProblem),
    /// The key PEM (including a key that does not match the certificate).
    Key(PemProblem),
}

/// Builds a rustls [`CertifiedKey`] from PEM bytes and checks that the key matches the leaf.
pub fn certified_key_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, PairProblem> {
    let chain = parse_cert_chain(cert_pem).map_err(PairProblem::Cert)?;
    let key = parse_private_key(key_pem, provider).map_err(PairProblem::Key)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| PairProblem::Key(PemProblem::UnsupportedKey(e.to_string())))?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        // `Unknown` means the key type cannot report its public key; aws-lc-rs keys always can,
        // so anything but a proven match is refused.
        Err(_) => Err(PairProblem::Key(PemProblem::KeyMismatch)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|e| CertError::read(path, e))
}

/// Loads a certificate chain from a PEM file.
pub fn load_cert_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    parse_cert_chain(&read(path)?).map_err(|problem| CertError::Pem {
        path: path.to_path_buf(),
        problem,
    })
}

/// Loads one private key from a PEM file.
pub fn load_private_key(
    path: &Path,
    provider: &CryptoProvider,
) -> Result<PrivateKeyDer<'static>, CertError> {
    parse_private_key(&read(path)?, provider).map_err(|problem| CertError::Pem {
        path: path.to_path_buf(),
        problem,
    })
}

/// Loads a certificate chain and its key and checks that they belong together.
pub fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, CertError> {
    let cert_pem = read(cert_path)?;
    let key_pem = read(key_path)?;
    certified_key_from_pem(&cert_pem, &key_pem, provider)
        .map(Arc::new)
        .map_err(|p| match p {
            PairProblem::Cert(problem) => CertError::Pem {
                path: cert_path.to_path_buf(),
                problem,
            },
            PairProblem::Key(PemProblem::KeyMismatch) => CertError::KeyMismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            },
            PairProblem::Key(problem) => CertError::Pem {
                path: key_path.to_path_buf(),
                problem,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::{DevCa, issue_leaf};

    fn provider() -> CryptoProvider {
        rustls::crypto::aws_lc_rs::default_provider()
    }

    fn leaf() -> (String, String) {
        let ca = DevCa::generate().expect("ca");
        issue_leaf(&ca, &["localhost".into()], 90).expect("leaf")
    }

    #[test]
    fn loads_a_generated_pair() {
        let (cert, key) = leaf();
        let ck = certified_key_from_pem(cert.as_bytes(), key.as_bytes(), &provider())
            .expect("pair loads");
        assert_eq!(ck.cert.len(), 1);
    }

    #[test]
    fn empty_file_has_no_certificate() {
        assert_eq!(parse_cert_chain(b""), Err(PemProblem::NoCertificate));
        assert_eq!(
            parse_cert_chain(b"hello, not pem\n"),
            Err(PemProblem::NoCertificate)
        );
    }

    #[test]
    fn key_file_given_as_certificate_has_no_certificate() {
        let (_, key) = leaf();
        assert_eq!(
            parse_cert_chain(key.as_bytes()),
            Err(PemProblem::NoCertificate)
        );
    }

    #[test]
    fn truncated_block_is_malformed() {
        let (cert, _) = leaf();
        let cut = &cert[..cert.len() / 2];
        assert!(matches!(
            parse_cert_chain(cut.as_bytes()),
            Err(PemProblem::Malformed(_))
        ));
    }

    #[test]
    fn garbage_in_certificate_block_is_invalid_x509() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_cert_chain(pem.as_bytes()),
            Err(PemProblem::InvalidCertificate { index: 0, .. })
        ));
    }

    #[test]
    fn certificate_given_as_key_has_no_key() {
        let (cert, _) = leaf();
        assert_eq!(
            parse_private_key(cert.as_bytes(), &provider()).map(|_| ()),
            Err(PemProblem::NoPrivateKey)
        );
    }

    #[test]
    fn encrypted_keys_are_named_as_such() {
        let pkcs8 =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(
            parse_private_key(pkcs8.as_bytes(), &provider()).map(|_| ()),
            Err(PemProblem::EncryptedKey)
        );
        let legacy = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(
            parse_private_key(legacy.as_bytes(), &provider()).map(|_| ()),
            Err(PemProblem::EncryptedKey)
        );
    }

    #[test]
    fn unusable_key_bytes_are_unsupported() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            parse_private_key(pem.as_bytes(), &provider()),
            Err(PemProblem::UnsupportedKey(_))
        ));
    }

    #[test]
    fn two_keys_are_refused() {
        let (_, k1) = leaf();
        let (_, k2) = leaf();
        let both = format!("{k1}{k2}");
        assert_eq!(
            parse_private_key(both.as_bytes(), &provider()).map(|_| ()),
            Err(PemProblem::MultipleKeys(2))
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let (cert, _) = leaf();
        let (_, other_key) = leaf();
        assert_eq!(
            certified_key_from_pem(cert.as_bytes(), other_key.as_bytes(), &provider()).map(|_| ()),
            Err(PairProblem::Key(PemProblem::KeyMismatch))
        );
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent.pem");
        let e = load_cert_chain(&missing).expect_err("missing");
        assert!(matches!(e, CertError::Missing { .. }));
        assert!(e.to_string().contains("absent.pem: file not found"), "{e}");

        let (cert, key) = leaf();
        let (_, other) = leaf();
        let c = dir.path().join("c.pem");
        let k = dir.path().join("k.pem");
        std::fs::write(&c, cert).expect("w");
        std::fs::write(&k, other).expect("w");
        let e = load_certified_key(&c, &k, &provider()).expect_err("mismatch");
        assert!(matches!(e, CertError::KeyMismatch { .. }), "{e}");
        assert!(e.to_string().contains("k.pem"), "{e}");
        std::fs::write(&k, key).expect("w");
        load_certified_key(&c, &k, &provider()).expect("matching pair loads");
    }
}
