//! ACME with several instances on one PostgreSQL database: one account, one order between
//! them, the same certificate served by all, and a `tls-alpn-01` validation answered by
//! whichever instance the CA reaches.
//!
//! Needs PostgreSQL (`TEST_POSTGRES_URL`) and, for the order, the `pebble` binary, so the
//! suite is `#[ignore]`d and reported as skipped without them; `.ci/run` runs it beside the
//! other PostgreSQL suites.

use crate::acme_pebble::{
    FAILED, ISSUED, Pebble, curl, free_port, metric, serve, served_serial, write_config_on,
};
use crate::common;

use std::sync::Arc;

use common::pg;
use rustls::pki_types::ServerName;

/// Takes any certificate unverified, as an ACME validator does (it checks the one extension
/// it asked for, which webpki refuses as an unknown critical extension).
#[derive(Debug)]
struct AnyCertificate(Vec<rustls::SignatureScheme>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.clone()
    }
}

/// A handshake offering `alpn` for `sni`, accepting any certificate; the leaf served.
async fn leaf_of(addr: std::net::SocketAddr, sni: &str, alpn: &[u8]) -> std::io::Result<Vec<u8>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let schemes = provider
        .signature_verification_algorithms
        .supported_schemes();
    let verifier = Arc::new(AnyCertificate(schemes));
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from(sni.to_string()).expect("name"), tcp)
        .await?;
    let certs = tls.get_ref().1.peer_certificates().unwrap_or_default();
    Ok(certs.first().map(|c| c.to_vec()).unwrap_or_default())
}

#[tokio::test]
#[ignore = "needs PostgreSQL (TEST_POSTGRES_URL); .ci/run starts one"]
async fn a_validation_reaching_an_instance_that_is_not_ordering_is_answered_from_the_database() {
    common::bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = common::test_config(dir.path());
        config.database.url = pg::fresh_url();
        // Nothing answers there: this instance never gets a certificate of its own.
        config.tls.acme = Some(rampart::config::AcmeConfig {
            directory: "https://127.0.0.1:9/dir".into(),
            domains: vec!["localhost".into()],
            contact: None,
            directory_ca: None,
            dir: dir.path().join("acme"),
            renew_before: None,
        });
        let running = rampart::start(config).await.expect("starts");
        let addr = running.local_addr();

        let refused = leaf_of(addr, "localhost", b"acme-tls/1").await;
        assert!(refused.is_err(), "nothing is being proved yet");
        // Another instance is proving `localhost`: it published its digest.
        let digest = [0x5au8; 32];
        let hex = hex::encode(digest);
        let until = rampart::store::now_micros() + 60_000_000;
        rampart::store::acme::publish_validation(running.db(), "localhost", &hex, until)
            .await
            .expect("publish");

        let leaf = leaf_of(addr, "localhost", b"acme-tls/1")
            .await
            .expect("answered from the database");
        assert_eq!(
            rampart::acme::challenge::acme_identifier(&leaf).as_deref(),
            Some(&digest[..]),
            "the published digest, in a critical acmeIdentifier"
        );
        assert!(
            leaf_of(addr, "other.test", b"acme-tls/1").await.is_err(),
            "only the name being proved"
        );
        assert!(
            leaf_of(addr, "localhost", b"h2").await.is_err(),
            "an application handshake still gets no certificate"
        );
        running.shutdown().await;
    })
    .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL (TEST_POSTGRES_URL) and pebble; .ci/run has both"]
async fn two_instances_make_one_order_and_serve_the_same_certificate() {
    common::bounded(async {
        let db = pg::fresh_url();
        let (a_dir, b_dir) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        let (a_port, b_port) = (free_port(), free_port());
        // Pebble validates on A's port only: when B orders, A answers for it.
        let mut pebble = Pebble::prepare(a_dir.path(), a_port);
        pebble.start().await;
        let a_config = write_config_on(a_dir.path(), a_port, &pebble, &db, "");
        let b_config = write_config_on(b_dir.path(), b_port, &pebble, &db, "");
        let (a, b) = tokio::join!(
            serve(a_dir.path(), &a_config),
            serve(b_dir.path(), &b_config)
        );
        let ((mut a, a_admin), (mut b, b_admin)) = (a, b);
        let a_says = a.wait_stderr("ACME certificate in service").await;
        let b_says = b.wait_stderr("ACME certificate in service").await;
        let issued_here = [&a_says, &b_says]
            .iter()
            .filter(|l| l.contains("issued to this instance"))
            .count();
        assert_eq!(issued_here, 1, "one order: {a_says} / {b_says}");

        let trust = pebble.trust(a_dir.path());
        let serial = served_serial(a_port, &trust).await;
        assert_eq!(served_serial(b_port, &trust).await, serial, "the same one");
        assert_eq!(
            metric(a_admin, ISSUED, &trust) + metric(b_admin, ISSUED, &trust),
            1
        );
        assert_eq!(
            metric(a_admin, FAILED, &trust) + metric(b_admin, FAILED, &trust),
            0,
            "neither tried an order of its own"
        );
        assert_eq!(pebble.orders(), 1, "Pebble was sent one order");
        for port in [a_port, b_port] {
            assert_eq!(
                curl(port, "/healthz", &trust).expect("trusted"),
                "{\"status\":\"ok\"}"
            );
        }
        // Both keep the certificate for a restart.
        for dir in [a_dir.path(), b_dir.path()] {
            assert!(dir.join("acme/certificate.pem").exists());
        }
    })
    .await;
}
