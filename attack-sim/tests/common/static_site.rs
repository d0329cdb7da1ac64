//! A static site over HTTPS with a certificate of the test's choosing: `GET /` and
//! `GET /style.css` answer 200, anything else 404, and there is no OpenAPI document, as on a
//! web server nobody here wrote. Test-only.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::TestServer;

/// A certificate and its key, as PEM.
pub struct Cert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// What `openssl req -x509 -subj /CN=localhost -addext subjectAltName=...` makes: a
/// self-signed certificate for `names` whose basic constraints say CA:TRUE.
pub fn self_signed_ca_true(names: &[&str]) -> Cert {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("params");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed");
    Cert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A CA (its PEM) and a leaf for `names` it signed.
pub fn ca_and_leaf(names: &[&str]) -> (String, Cert) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::default();
    // A name of its own: two test CAs are two issuers, not one name with two keys.
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("attack-sim test CA {}", attack_sim::declared::random_hex(4)),
    );
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("leaf");
    (
        ca_cert.pem(),
        Cert {
            cert_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
        },
    )
}

const PAGE: &str =
    "<!doctype html><title>a static site</title><link rel=stylesheet href=/style.css><p>hello";

/// Serves the site with `cert` on a loopback port.
pub async fn start(cert: &Cert) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("chain");
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("key");
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("certificate");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let ca = dir.path().join("server.pem");
    std::fs::write(&ca, &cert.cert_pem).expect("write");
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            while conns.try_join_next().is_some() {}
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            conns.spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let (status, body) = match req.uri().path() {
                        "/" => (200, PAGE),
                        "/style.css" => (200, "p { color: #333 }"),
                        _ => (404, "not found"),
                    };
                    let mut r =
                        hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                    Ok::<_, std::convert::Infallible>(r)
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    TestServer {
        url: format!("https://localhost:{}", addr.port()),
        ca,
        _dir: dir,
        task,
    }
}
