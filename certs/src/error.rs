//! Error types: every error names the file it concerns and what is wrong with it.

use std::path::PathBuf;

/// What is wrong with the contents of a PEM file (independent of where it came from).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemProblem {
    /// No `CERTIFICATE` block in the file.
    #[error("no certificate found (expected a \"-----BEGIN CERTIFICATE-----\" block)")]
    NoCertificate,
    /// A block is present but its base64 or framing is broken.
    #[error("malformed PEM: {0}")]
    Malformed(String),
    /// A certificate block does not hold a parseable X.509 certificate.
    #[error("certificate {index} is not a valid X.509 certificate: {reason}")]
    InvalidCertificate {
        /// Zero-based position in the chain.
        index: usize,
        /// Parser message.
        reason: String,
    },
    /// No private key block in the file.
    #[error(
        "no private key found (expected a \"PRIVATE KEY\", \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\" block)"
    )]
    NoPrivateKey,
    /// The key is password-protected; Rampart does not prompt for passphrases.
    #[error(
        "the private key is encrypted; decrypt it (e.g. `openssl pkey -in KEY -out KEY.plain`) and protect the file with mode 0600 instead"
    )]
    EncryptedKey,
    /// More than one key: we refuse to guess which one goes with the certificate.
    #[error("the file holds {0} private keys; it must hold exactly one")]
    MultipleKeys(usize),
    /// The key parses as PEM but the crypto provider cannot use it.
    #[error("unsupported private key: {0}")]
    UnsupportedKey(String),
    /// The key does not belong to the leaf certificate.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
}

/// An error loading, generating or writing certificate material.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The file does not exist.
    #[error("{}: file not found", path.display())]
    Missing {
        /// The path that was looked up.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file was read but its contents are unusable.
    #[error("{}: {problem}", path.display())]
    Pem {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        problem: PemProblem,
    },
    /// The key file's key does not match the certificate file's leaf.
    #[error("{}: the private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
    },
    /// Writing generated material failed.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The dev set on disk is incomplete or inconsistent in a way we will not silently repair.
    #[error("{}: {reason}", dir.display())]
    DevSet {
        /// The dev certificate folder.
        dir: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Certificate generation failed (invalid name, crypto failure).
    #[error("certificate generation failed: {0}")]
    Generate(String),
}

impl CertError {
    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            CertError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            CertError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

impl From<rcgen::Error> for CertError {
    fn from(e: rcgen::Error) -> Self {
        CertError::Generate(e.to_string())
    }
}
