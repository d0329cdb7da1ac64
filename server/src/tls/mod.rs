//! TLS policy: which versions, suites and groups are offered, ALPN, resumption, and the
//! certificate store that SIGHUP reloads.
//!
//! Policy (Mozilla "intermediate" by default): TLS 1.2 and 1.3, ECDHE key exchange with AEAD
//! suites only, the server's suite order wins, ALPN `h2` then `http/1.1`, stateless session
//! tickets, no 0-RTT. rustls implements no renegotiation, compression or export suites at all.

mod cert_store;

use std::sync::Arc;

use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::server::ResolvesServerCert;
use rustls::{CipherSuite, ServerConfig, SupportedCipherSuite, version};

pub use cert_store::{CertSource, CertStore, covers};

use crate::config::TlsProfile;

/// ALPN identifiers, in server preference order.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN for HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Suites in server preference order (Mozilla's intermediate list, minus the finite-field DHE
/// suites rustls does not implement).
const SUITE_ORDER: [CipherSuite; 9] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// An error building the TLS configuration.
#[derive(Debug, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsError(String);

/// The crypto provider restricted to our suite list and key-exchange groups.
pub fn provider() -> CryptoProvider {
    let base = aws_lc_rs::default_provider();
    let cipher_suites: Vec<SupportedCipherSuite> = SUITE_ORDER
        .iter()
        .filter_map(|want| {
            base.cipher_suites
                .iter()
                .find(|s| s.suite() == *want)
                .copied()
        })
        .collect();
    let kx_groups = vec![
        aws_lc_rs::kx_group::X25519,
        aws_lc_rs::kx_group::SECP256R1,
        aws_lc_rs::kx_group::SECP384R1,
    ];
    CryptoProvider {
        cipher_suites,
        kx_groups,
        ..base
    }
}

/// Whether `suite` is within the policy: ECDHE key exchange (every TLS 1.3 suite is) and an
/// AEAD cipher (AES-GCM or ChaCha20-Poly1305).
pub fn is_policy_suite(suite: rustls::CipherSuite) -> bool {
    let name = format!("{suite:?}");
    (name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_"))
        && (name.contains("GCM") || name.contains("CHACHA20_POLY1305"))
}

/// Builds the rustls server configuration for `profile`, serving certificates from `resolver`.
pub fn server_config(
    profile: TlsProfile,
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<ServerConfig, TlsError> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match profile {
        TlsProfile::Intermediate => &[&version::TLS13, &version::TLS12],
        TlsProfile::Modern => &[&version::TLS13],
    };
    let mut cfg = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(versions)
        .map_err(|e| TlsError(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    cfg.ignore_client_order = true;
    cfg.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
    cfg.ticketer = aws_lc_rs::Ticketer::new().map_err(|e| TlsError(e.to_string()))?;
    cfg.max_early_data_size = 0;
    cfg.send_half_rtt_data = false;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aead_ecdhe_suites_are_offered() {
        let p = provider();
        assert_eq!(p.cipher_suites.len(), SUITE_ORDER.len());
        for s in &p.cipher_suites {
            assert!(is_policy_suite(s.suite()), "{:?}", s.suite());
        }
        // The check itself refuses what the policy excludes.
        for weak in [
            rustls::CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
            rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
            rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        ] {
            assert!(!is_policy_suite(weak), "{weak:?}");
        }
    }

    #[test]
    fn profile_sets_versions_and_alpn() {
        let dir = tempfile::tempdir().expect("tmp");
        let paths = rampart_certs::generate_dev_set(dir.path()).expect("dev set");
        let store = Arc::new(
            CertStore::load(CertSource {
                cert: paths.leaf_cert,
                key: paths.leaf_key,
            })
            .expect("load"),
        );
        for profile in [TlsProfile::Intermediate, TlsProfile::Modern] {
            let cfg = server_config(profile, store.clone()).expect("config");
            assert!(cfg.ignore_client_order);
            assert_eq!(
                cfg.alpn_protocols,
                vec![b"h2".to_vec(), b"http/1.1".to_vec()]
            );
            assert_eq!(cfg.max_early_data_size, 0);
            assert!(cfg.ticketer.enabled());
        }
    }
}
