//! Which server certificates the harness accepts, as curl does: `--ca FILE` is a bundle of CAs
//! or the server's own certificate, pinned exactly (a self-signed one included, even one
//! that says `CA:TRUE`, which a chain verifier refuses as an end entity); `--pin
//! sha256//BASE64` pins the server's public key (curl's `--pinnedpubkey` form); `--insecure`
//! accepts any certificate and is shown in every report. Whatever is trusted, the server must
//! still prove it holds the certificate's key (the handshake signature is always verified).
//!
//! When a handshake fails on the certificate, [`explain`] says why in words.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

/// What the operator told the harness to trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// `--ca FILE`: CAs, or the server's own certificate.
    pub ca: Option<PathBuf>,
    /// `--pin sha256//BASE64`, any number: the server's key must be one of them.
    pub pins: Vec<Pin>,
    /// `--insecure`: any certificate.
    pub insecure: bool,
}

impl Trust {
    /// Whether the server's certificate is verified at all (false only with `--insecure`).
    pub fn verified(&self) -> bool {
        !self.insecure
    }

    /// For the run's header: what is trusted.
    pub fn describe(&self) -> String {
        if self.insecure {
            return "INSECURE: the server's certificate is not verified (--insecure)".into();
        }
        let mut parts = Vec::new();
        if let Some(ca) = &self.ca {
            parts.push(format!("certificates in {}", ca.display()));
        }
        for p in &self.pins {
            parts.push(format!("the key {p}"));
        }
        format!("trusting {}", parts.join(" and "))
    }
}

/// A SHA-256 digest of a DER `SubjectPublicKeyInfo`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pin([u8; 32]);

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sha256//{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        )
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Pin {
    type Err = String;

    /// `sha256//BASE64` (curl's form; several joined with `;` are several `--pin`s).
    fn from_str(s: &str) -> Result<Pin, String> {
        let b64 = s.strip_prefix("sha256//").ok_or_else(|| {
            format!("`{s}`: a pin is sha256// and the base64 SHA-256 of the server's public key")
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("`{s}`: not base64: {e}"))?;
        let digest: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("`{s}`: {} bytes, a SHA-256 is 32", b.len()))?;
        Ok(Pin(digest))
    }
}

impl Pin {
    /// The pin of `cert`'s public key.
    pub fn of(cert: &CertificateDer<'_>) -> Result<Pin, String> {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert)
            .map_err(|e| format!("the certificate does not parse: {e}"))?;
        Ok(Pin(
            Sha256::digest(parsed.tbs_certificate.subject_pki.raw).into()
        ))
    }
}

/// Why the trust could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The `--ca` file did not load.
    #[error("--ca {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Nothing to trust.
    #[error(
        "no trust given: pass --ca FILE (the CA that signed the target's certificate, or the \
         certificate itself), --pin sha256//BASE64 (its public key), or --insecure"
    )]
    Nothing,
}

/// Builds the verifier for `trust`.
pub fn verifier(
    trust: &Trust,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TrustError> {
    if !trust.insecure && trust.ca.is_none() && trust.pins.is_empty() {
        return Err(TrustError::Nothing);
    }
    let (chain, exact) = match &trust.ca {
        Some(path) => load_ca(path, provider)?,
        None => (None, Vec::new()),
    };
    Ok(Arc::new(Verifier {
        chain,
        exact,
        pins: trust.pins.clone(),
        insecure: trust.insecure,
        algorithms: provider.signature_verification_algorithms,
    }))
}

/// The chain verifier of the CAs in `path` (none when no certificate there can be a root) and
/// every certificate of the file, each trusted exactly as the server's own.
fn load_ca(
    path: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<
    (
        Option<Arc<WebPkiServerVerifier>>,
        Vec<CertificateDer<'static>>,
    ),
    TrustError,
> {
    let err = |reason: String| TrustError::Ca {
        path: path.display().to_string(),
        reason,
    };
    let certs = rampart_certs::load_cert_chain(path).map_err(|e| err(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    // A certificate that cannot be a root (not a CA) may still be the server's own: it is
    // kept among the exact pins.
    roots.add_parsable_certificates(certs.iter().cloned());
    let chain = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| err(e.to_string()))?,
        )
    };
    Ok((chain, certs))
}

/// The verifier behind [`verifier`].
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    exact: Vec<CertificateDer<'static>>,
    pins: Vec<Pin>,
    insecure: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

/// A certificate problem of our own, in words.
#[derive(Debug)]
struct Problem(String);

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Problem {}

fn problem(text: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Problem(text)))))
}

impl Verifier {
    /// The end entity is one of `--ca`'s certificates, byte for byte, and within its dates.
    fn exactly_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        now: UnixTime,
    ) -> Option<Result<(), rustls::Error>> {
        if !self.exact.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return None;
        }
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity) else {
            return Some(Err(CertificateError::BadEncoding.into()));
        };
        let now_secs = now.as_secs() as i64;
        let validity = cert.validity();
        if now_secs > validity.not_after.timestamp() {
            return Some(Err(problem(format!(
                "the server's certificate (pinned by --ca) expired on {}",
                validity.not_after
            ))));
        }
        if now_secs < validity.not_before.timestamp() {
            return Some(Err(problem(format!(
                "the server's certificate (pinned by --ca) is not valid before {}",
                validity.not_before
            ))));
        }
        Some(Ok(()))
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if !self.pins.is_empty() {
            let key = Pin::of(end_entity).map_err(problem)?;
            if !self.pins.contains(&key) {
                return Err(problem(format!(
                    "the server's public key is {key}, which no --pin names"
                )));
            }
        }
        if self.exact.is_empty() {
            // Pins alone: the key is the identity.
            return Ok(ServerCertVerified::assertion());
        }
        let by_chain = match &self.chain {
            Some(chain) => {
                chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(CertificateError::UnknownIssuer.into()),
        };
        match by_chain {
            Ok(v) => Ok(v),
            // The server's own certificate, given with --ca: trusted as it is, for whatever
            // names it carries (the operator vouched for this very certificate).
            Err(e) => match self.exactly_pinned(end_entity, now) {
                Some(Ok(())) => Ok(ServerCertVerified::assertion()),
                Some(Err(pinned)) => Err(pinned),
                None => Err(e),
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Why a TLS connection failed, in words, when it failed in the handshake (the certificate,
/// or an alert from the server); `None` for other I/O errors (refused, reset, timed out).
pub fn explain(e: &std::io::Error, host: &str) -> Option<String> {
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(describe(tls, host))
}

/// [`explain`] for a rustls error.
pub fn describe(e: &rustls::Error, host: &str) -> String {
    use rustls::AlertDescription as A;
    match e {
        rustls::Error::InvalidCertificate(c) => certificate(c, host),
        rustls::Error::AlertReceived(A::UnrecognisedName) => {
            format!("the server refused the name {host} (SNI): it holds no certificate for it")
        }
        rustls::Error::AlertReceived(
            A::HandshakeFailure | A::ProtocolVersion | A::InsufficientSecurity,
        ) => "the server found no TLS version, cipher suite or key exchange in common with the \
             harness (TLS 1.2 and 1.3 with AEAD suites)"
            .into(),
        rustls::Error::AlertReceived(alert) => format!("the server ended the handshake: {alert:?}"),
        rustls::Error::PeerIncompatible(why) => {
            format!("the server's TLS is incompatible with the harness: {why:?}")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not speak TLS (is this a plaintext port?)".into()
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

fn certificate(c: &CertificateError, host: &str) -> String {
    const PIN_HINT: &str = "give the server's own certificate with --ca to trust it exactly, \
                            or its key with --pin";
    match c {
        CertificateError::UnknownIssuer => {
            format!("the server's certificate was not issued by a CA in --ca ({PIN_HINT})")
        }
        CertificateError::NotValidForName => {
            format!("the server's certificate is not valid for {host}")
        }
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "the server's certificate is not valid for {host}: it names {}",
            if presented.is_empty() {
                "no DNS name or IP address (no subjectAltName)".to_string()
            } else {
                presented
                    .iter()
                    .map(|p| unwrap_name(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        CertificateError::Expired => "the server's certificate has expired".into(),
        CertificateError::ExpiredContext { not_after, .. } => format!(
            "the server's certificate expired {} s ago",
            UnixTime::now()
                .as_secs()
                .saturating_sub(not_after.as_secs())
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (check the clocks)".into()
        }
        CertificateError::Revoked => "the server's certificate is revoked".into(),
        CertificateError::BadEncoding => "the server's certificate does not parse".into(),
        CertificateError::BadSignature => format!(
            "a signature in the server's certificate chain does not verify (an issuer of the same \
             name as a CA in --ca, but another key?); {PIN_HINT}"
        ),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (extended key usage)".into()
        }
        CertificateError::Other(OtherError(inner)) => {
            let text = inner.to_string();
            if text.contains("CaUsedAsEndEntity") {
                format!(
                    "the server's certificate is a CA certificate (CA:TRUE), which a chain \
                     cannot end in; {PIN_HINT}"
                )
            } else {
                text
            }
        }
        other => format!("the server's certificate was refused: {other:?}"),
    }
}

/// A presented name as webpki writes it (`DnsName("a.example")`, `IpAddress(...)`), bare.
fn unwrap_name(p: &str) -> &str {
    match (p.find("(\""), p.rfind("\")")) {
        (Some(open), Some(close)) if close > open => &p[open + 2..close],
        _ => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_in_curls_form_and_print_back() {
        let text = "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=";
        let pin: Pin = text.parse().expect("pin");
        assert_eq!(pin.to_string(), text);
        for bad in [
            "YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=",
            "sha256//not base64!",
            "sha256//AAAA",
            "sha1//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=",
        ] {
            let e = bad.parse::<Pin>().expect_err(bad);
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn nothing_to_trust_is_refused_by_name() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let e = verifier(&Trust::default(), &provider).expect_err("refused");
        assert!(e.to_string().contains("--insecure"), "{e}");
    }

    #[test]
    fn the_insecure_run_says_so() {
        let t = Trust {
            insecure: true,
            ..Trust::default()
        };
        assert!(!t.verified());
        assert!(t.describe().starts_with("INSECURE"));
    }

    #[test]
    fn certificate_problems_are_worded() {
        let ca_as_leaf =
            CertificateError::Other(OtherError(Arc::new(Problem("CaUsedAsEndEntity".into()))));
        let text = certificate(&ca_as_leaf, "localhost");
        assert!(text.contains("CA:TRUE") && text.contains("--ca"), "{text}");
        let text = certificate(
            &CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("localhost").expect("name"),
                presented: vec![],
            },
            "localhost",
        );
        assert!(text.contains("no subjectAltName"), "{text}");
        let text = certificate(
            &CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("localhost").expect("name"),
                presented: vec!["DnsName(\"other.example\")".into(), "10.0.0.1".into()],
            },
            "localhost",
        );
        assert!(text.ends_with("it names other.example, 10.0.0.1"), "{text}");
        assert!(certificate(&CertificateError::UnknownIssuer, "h").contains("not issued by a CA"));
    }
}
