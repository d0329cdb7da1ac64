//! The CA's rate limit, waited out as the CA says: a directory that answers the new-account
//! request with RFC 8555's `rateLimited` problem and `Retry-After: 3600`. (Pebble, which the
//! `acme_pebble` suite runs against, has no rate limits; this directory serves only the three
//! resources the client reaches before it is refused.) The server is in-process, so the test
//! reads its ACME counters directly.

use crate::common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Seconds the directory asks the client to wait.
const RETRY_AFTER: u64 = 3600;

/// Answers as an ACME directory whose new-account resource is rate limited.
async fn answer(req: Request<hyper::body::Incoming>, base: String) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode| {
        Response::builder()
            .status(status)
            .header("Replay-Nonce", "bm9uY2U")
            .header("Cache-Control", "no-store")
    };
    match req.uri().path() {
        "/dir" => reply(StatusCode::OK)
            .header("Content-Type", "application/json")
            .body(Full::from(
                serde_json::json!({
                    "newNonce": format!("{base}/nonce"),
                    "newAccount": format!("{base}/account"),
                    "newOrder": format!("{base}/order"),
                })
                .to_string(),
            )),
        "/nonce" => reply(StatusCode::OK).body(Full::default()),
        _ => reply(StatusCode::TOO_MANY_REQUESTS)
            .header("Content-Type", "application/problem+json")
            .header("Retry-After", RETRY_AFTER.to_string())
            .body(Full::from(
                serde_json::json!({
                    "type": "urn:ietf:params:acme:error:rateLimited",
                    "detail": "too many new registrations from this address",
                    "status": 429,
                })
                .to_string(),
            )),
    }
    .expect("response")
}

/// Serves the directory over TLS (a development certificate) on an ephemeral port; returns
/// its directory URL and the CA to trust for it.
async fn rate_limited_directory(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let certs = rampart_certs::generate_dev_set(&dir.join("directory")).expect("certs");
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let chain = rampart_certs::load_cert_chain(&certs.leaf_cert).expect("chain");
    let key = rampart_certs::load_private_key(&certs.leaf_key, &provider).expect("key");
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let served = base.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, base) = (acceptor.clone(), served.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req| {
                    let base = base.clone();
                    async move { Ok::<_, Infallible>(answer(req, base).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("{base}/dir"), certs.ca_cert)
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_for_as_long_as_the_ca_says() {
    common::bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let (directory, ca) = rate_limited_directory(dir.path()).await;
        let mut config = common::test_config(dir.path());
        config.tls.acme = Some(rampart::config::AcmeConfig {
            directory,
            domains: vec!["localhost".into()],
            contact: None,
            directory_ca: Some(ca),
            dir: dir.path().join("acme"),
            renew_before: None,
        });
        let started = SystemTime::now();
        let running = rampart::start(config).await.expect("starts");
        let metrics = running.acme().expect("acme").metrics().clone();
        common::wait_until("the refused order", || metrics.orders_failed() == 1).await;
        let next = Duration::from_secs(metrics.next_attempt());
        let since_epoch = started
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970");
        // The back-off alone would have been 2 s.
        assert!(
            next >= since_epoch + Duration::from_secs(RETRY_AFTER - 60),
            "next attempt {next:?}, started at {since_epoch:?}"
        );
        assert_eq!(metrics.orders_issued(), 0);
        assert!(
            running
                .metrics_text()
                .contains("rampart_acme_next_attempt_seconds"),
            "on /metrics"
        );
        running.shutdown().await;
    })
    .await;
}
