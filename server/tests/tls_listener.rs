//! The TLS listener over real sockets: protocols by ALPN, refusal of plaintext and of old or
//! non-AEAD offers, the handshake deadline, readiness, headers, and draining.

use crate::common;

use std::time::Duration;

use common::client_hello::{self, Answer};
use common::{Conn, TestServer, bounded, client_config, get_once, tls_connect};
use hyper::{StatusCode, Version};
use rampart::config::TlsProfile;
use rampart::net::DrainOutcome;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const H2: &[u8] = b"h2";
const H1: &[u8] = b"http/1.1";

#[tokio::test]
async fn healthz_over_http2_and_http11() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let r = get_once(s.addr, &s.ca, &[H2, H1], "/healthz").await;
        assert_eq!(r.version, Version::HTTP_2);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json(), serde_json::json!({"status": "ok"}));
        assert_eq!(r.headers["content-type"], "application/json");

        let r = get_once(s.addr, &s.ca, &[H1], "/healthz").await;
        assert_eq!(r.version, Version::HTTP_11);
        assert_eq!(r.json(), serde_json::json!({"status": "ok"}));

        // No ALPN at all: HTTP/1.1.
        let mut c = Conn::open(s.addr, &s.ca, &[]).await.expect("connect");
        assert_eq!(c.alpn, None);
        assert_eq!(c.get("/healthz").await.expect("get").status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn every_response_has_the_security_headers_and_no_server_header() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        for path in ["/healthz", "/no/such/route"] {
            let r = get_once(s.addr, &s.ca, &[H2], path).await;
            for (name, value) in rampart::http::headers::SECURITY_HEADERS {
                assert_eq!(r.headers[&name], value, "{path}: {name}");
            }
            assert!(r.headers.get("server").is_none(), "{path}");
        }
        let r = get_once(s.addr, &s.ca, &[H1], "/no/such/route").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.headers["content-type"], "application/problem+json");
        assert_eq!(r.json()["status"], 404);
    })
    .await;
}

#[tokio::test]
async fn readyz_reports_an_unreachable_database() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let r = get_once(s.addr, &s.ca, &[H2], "/readyz").await;
        assert_eq!(r.status, StatusCode::OK);
        s.running.db().close().await;
        let r = get_once(s.addr, &s.ca, &[H2], "/readyz").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers.contains_key("retry-after"));
        assert_eq!(r.headers["content-type"], "application/problem+json");
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.to_lowercase().contains("pool"),
            "leaks internals: {text}"
        );
        // Liveness does not depend on the database.
        let r = get_once(s.addr, &s.ca, &[H2], "/healthz").await;
        assert_eq!(r.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn plaintext_http_gets_no_http_response() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut tcp = TcpStream::connect(s.addr).await.expect("connect");
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("write");
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut got))
            .await
            .expect("server closes the connection")
            .ok();
        assert!(
            !got.windows(5).any(|w| w == b"HTTP/"),
            "plaintext got an HTTP answer: {:?}",
            String::from_utf8_lossy(&got)
        );
        // Whatever came back is a TLS alert record, or nothing.
        assert!(got.is_empty() || got[0] == 0x15, "{got:?}");
    })
    .await;
}

#[tokio::test]
async fn tls11_only_client_is_refused() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        // TLS 1.1 hello with suites a TLS 1.1 client would offer.
        let hello = client_hello::client_hello(0x0302, &[0xc013, 0xc009, 0x002f, 0x0035]);
        assert_eq!(
            client_hello::offer(s.addr, &hello).await,
            Answer::Alert(rampart_wire::tls::ALERT_PROTOCOL_VERSION)
        );
        // TLS 1.0 likewise.
        let hello = client_hello::client_hello(0x0301, &[0xc013, 0x002f]);
        assert_eq!(
            client_hello::offer(s.addr, &hello).await,
            Answer::Alert(rampart_wire::tls::ALERT_PROTOCOL_VERSION)
        );
    })
    .await;
}

#[tokio::test]
async fn tls12_with_only_cbc_suites_is_refused_but_aead_is_served() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let cbc_only =
            client_hello::client_hello(0x0303, &[0xc023, 0xc009, 0xc027, 0xc013, 0x003c, 0x002f]);
        assert_eq!(
            client_hello::offer(s.addr, &cbc_only).await,
            Answer::Alert(rampart_wire::tls::ALERT_HANDSHAKE_FAILURE)
        );
        // The same hello with an ECDHE-ECDSA-AES128-GCM suite goes on with the handshake,
        // which shows the refusal above is about the suites and not a broken hello.
        let aead = client_hello::client_hello(0x0303, &[0xc02b]);
        assert_eq!(client_hello::offer(s.addr, &aead).await, Answer::Handshake);
    })
    .await;
}

/// A name the certificate does not cover is refused before any certificate is shown; the
/// names it covers, and no SNI at all (clients of an IP address, health checks), are served.
#[tokio::test]
async fn a_handshake_for_a_name_the_certificate_does_not_cover_is_refused() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let hello = |sni| client_hello::client_hello_for(0x0303, &[0xc02b], sni);
        for other in [
            "example.com",
            "unknown-name.attack-sim.invalid",
            "localhost.evil",
        ] {
            assert!(
                matches!(
                    client_hello::offer(s.addr, &hello(Some(other))).await,
                    Answer::Alert(_) | Answer::Closed
                ),
                "{other}"
            );
        }
        for served in [Some("localhost"), Some("LocalHost"), None] {
            assert_eq!(
                client_hello::offer(s.addr, &hello(served)).await,
                Answer::Handshake,
                "{served:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn modern_profile_refuses_tls12_and_intermediate_accepts_it() {
    bounded(async {
        let tls12_only =
            |ca: &std::path::Path| client_config(ca, &[H1], &[&rustls::version::TLS12]);
        let intermediate = TestServer::start(|_| {}).await;
        tls_connect(intermediate.addr, tls12_only(&intermediate.ca))
            .await
            .expect("intermediate speaks TLS 1.2");

        let modern = TestServer::start(|c| c.tls.profile = TlsProfile::Modern).await;
        let e = tls_connect(modern.addr, tls12_only(&modern.ca))
            .await
            .expect_err("modern refuses TLS 1.2");
        assert!(e.to_string().to_lowercase().contains("protocol"), "{e}");
        let r = get_once(modern.addr, &modern.ca, &[H2], "/healthz").await;
        assert_eq!(r.status, StatusCode::OK);
    })
    .await;
}

/// Reads until EOF or error; returns how many bytes came. Bounded by the caller.
async fn read_until_closed(tcp: &mut TcpStream) -> usize {
    let mut total = 0;
    let mut buf = [0u8; 1024];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

#[tokio::test]
async fn handshake_deadline_cuts_silent_and_stalled_clients() {
    bounded(async {
        let s = TestServer::start(|c| c.tls.handshake_timeout = Duration::from_millis(300)).await;
        // Silent: connects and says nothing.
        let mut silent = TcpStream::connect(s.addr).await.expect("connect");
        // Stalled: sends the first bytes of a ClientHello and stops.
        let mut stalled = TcpStream::connect(s.addr).await.expect("connect");
        let hello = client_hello::client_hello(0x0303, &[0xc02b]);
        stalled
            .write_all(&hello[..20])
            .await
            .expect("partial hello");
        // If the deadline were not enforced, these reads would hang until the test bound.
        let cut = Duration::from_secs(10);
        tokio::time::timeout(cut, read_until_closed(&mut silent))
            .await
            .expect("silent client is disconnected");
        tokio::time::timeout(cut, read_until_closed(&mut stalled))
            .await
            .expect("stalled client is disconnected");
        // And the server still serves others.
        let r = get_once(s.addr, &s.ca, &[H2], "/healthz").await;
        assert_eq!(r.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_the_port() {
    bounded(async {
        let s = TestServer::start(|c| c.shutdown_timeout = Duration::from_secs(20)).await;
        let mut h1 = Conn::open(s.addr, &s.ca, &[H1]).await.expect("h1");
        let mut h2 = Conn::open(s.addr, &s.ca, &[H2]).await.expect("h2");
        assert_eq!(
            h1.get("/healthz").await.expect("get").status,
            StatusCode::OK
        );
        assert_eq!(
            h2.get("/healthz").await.expect("get").status,
            StatusCode::OK
        );
        let addr = s.addr;
        // Idle keep-alive connections must not hold the drain for its whole bound.
        let outcome = s.running.shutdown().await;
        assert_eq!(outcome, DrainOutcome::Drained);
        assert!(TcpStream::connect(addr).await.is_err(), "port still open");
        assert!(h1.get("/healthz").await.is_err());
        assert!(h2.get("/healthz").await.is_err());
    })
    .await;
}

#[tokio::test]
async fn an_unfinished_request_head_does_not_hold_the_drain() {
    bounded(async {
        // A bound long enough that waiting it out would be visible as TimedOut.
        let s = TestServer::start(|c| c.shutdown_timeout = Duration::from_secs(20)).await;
        // Nothing of this request has been received as a request yet, so draining may drop it.
        let cfg = client_config(&s.ca, &[H1], rustls::DEFAULT_VERSIONS);
        let mut tls = tls_connect(s.addr, cfg).await.expect("connect");
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .await
            .expect("partial head");
        tls.flush().await.expect("flush");
        assert_eq!(s.running.shutdown().await, DrainOutcome::Drained);
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf))
            .await
            .expect("connection closed")
            .unwrap_or(0);
        assert_eq!(n, 0, "no response to an incomplete request");
    })
    .await;
}

#[tokio::test]
async fn sessions_resume_with_tickets_on_tls13_and_tls12() {
    use rustls::HandshakeKind;
    use std::sync::Arc;
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let cfg = Arc::new(client_config(&s.ca, &[H1], &[version]));
            let mut kinds = Vec::new();
            for _ in 0..2 {
                let tcp = TcpStream::connect(s.addr).await.expect("tcp");
                let mut tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect("localhost".try_into().expect("name"), tcp)
                    .await
                    .expect("handshake");
                kinds.push(tls.get_ref().1.handshake_kind());
                // One exchange, so TLS 1.3 tickets sent after the handshake are received.
                tls.write_all(
                    b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                )
                .await
                .expect("write");
                let mut resp = Vec::new();
                tls.read_to_end(&mut resp).await.ok();
                assert!(resp.starts_with(b"HTTP/1.1 200"), "{version:?}");
            }
            assert_eq!(
                kinds,
                vec![Some(HandshakeKind::Full), Some(HandshakeKind::Resumed)],
                "{version:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn drain_of_an_in_flight_request_is_bounded_by_shutdown_timeout() {
    bounded(async {
        let s = TestServer::start(|c| c.shutdown_timeout = Duration::from_millis(500)).await;
        // The handler is running, waiting for a body that never comes: the request is in
        // flight, so draining waits for it, but only up to shutdown_timeout.
        let cfg = client_config(&s.ca, &[H1], rustls::DEFAULT_VERSIONS);
        let mut tls = tls_connect(s.addr, cfg).await.expect("connect");
        tls.write_all(
            b"POST /v1/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .expect("request head");
        tls.flush().await.expect("flush");
        // hyper sends 100 Continue only when the handler starts reading the body: from then on
        // the request is in flight.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            assert_eq!(tls.read(&mut b).await.expect("read"), 1, "closed early");
            head.push(b[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 100"), "{:?}", String::from_utf8_lossy(&head));
        let outcome = s.running.shutdown().await;
        assert_eq!(outcome, DrainOutcome::TimedOut { open: 1 });
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf))
            .await
            .expect("connection closed after the drain bound")
            .unwrap_or(0);
        assert_eq!(n, 0, "no response to an incomplete request");
    })
    .await;
}

/// Blocks `workers` workers of `runtime` (each task says when it runs, then waits for its
/// release, at most 10 s); dropping the senders releases them. Checks made while they are
/// blocked must not need that runtime's timers.
fn block_workers(
    runtime: &tokio::runtime::Handle,
    workers: usize,
) -> Vec<std::sync::mpsc::Sender<()>> {
    let (started_tx, started) = std::sync::mpsc::channel();
    let mut releases = Vec::new();
    for _ in 0..workers {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        releases.push(release);
        let started_tx = started_tx.clone();
        runtime.spawn(async move {
            started_tx.send(()).expect("started");
            let _ = wait.recv_timeout(Duration::from_secs(10));
        });
    }
    for _ in 0..workers {
        started
            .recv_timeout(Duration::from_secs(5))
            .expect("every worker blocked");
    }
    releases
}

/// The listener is accepted on a thread of its own: with every worker of the runtime that
/// serves connections busy (here, blocked outright), connections are still taken off the
/// kernel's accept queue and admitted. On the runtime itself, the loop waited behind the
/// workers' tasks, and under a flood's opening (5,000 handshakes at once) the kernel's queue
/// held a thousand connections for seconds, a legitimate client's among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_admitted_while_every_worker_is_busy() {
    // Within one client's connection cap and handshake burst (all from 127.0.0.1).
    const CLIENTS: usize = 16;
    let s = bounded(TestServer::start(|_| {})).await;
    // Blocks both workers (each task tells when it runs, then waits for its release, at most
    // 10 s). The checks below use the OS's clock and sleep: the runtime's timers need a worker.
    let releases = block_workers(&tokio::runtime::Handle::current(), 2);
    let clients: Vec<std::net::TcpStream> = (0..CLIENTS)
        .map(|_| std::net::TcpStream::connect(s.addr).expect("connect"))
        .collect();
    let give_up = std::time::Instant::now() + Duration::from_secs(5);
    while s.running.open_connections() < CLIENTS && std::time::Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(5));
    }
    let admitted = s.running.open_connections();
    drop(releases);
    drop(clients);
    assert_eq!(
        admitted, CLIENTS,
        "connections admitted while the workers were busy"
    );
}

/// A client's connections beyond its standing share are served on the heavy lane's own
/// workers (`net::lanes`): with every one of them blocked, clients in good standing are still
/// served, and the heavy connection waits until the lane frees. On one runtime, a flood's
/// thousands of tasks queue in front of everybody (`request-flood` at the stress preset:
/// legitimate p99 967.6 ms with one runtime, 85.5 ms with the lanes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_in_good_standing_are_served_while_the_heavy_lane_is_blocked() {
    let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
    let s = bounded(TestServer::start(|c| {
        c.limits.standing_connections_per_client = 1;
    }))
    .await;
    let heavy = s.running.heavy_lane().expect("a heavy lane");
    assert_eq!(heavy.metrics().num_workers(), 2);
    let releases = block_workers(&heavy, 2);
    // 127.0.30.1's first connection is standing, its second heavy.
    let mut first = bounded(Conn::open_from(ip("127.0.30.1"), s.addr, &s.ca, &[b"h2"]))
        .await
        .expect("standing connection");
    let (addr, ca) = (s.addr, s.ca.clone());
    let second =
        tokio::spawn(async move { Conn::open_from(ip("127.0.30.1"), addr, &ca, &[b"h2"]).await });
    bounded(async {
        while s.running.metrics().heavy_lane() < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let mut other = bounded(Conn::open_from(
        ip("127.0.30.2"),
        s.addr,
        &s.ca,
        &[b"http/1.1"],
    ))
    .await
    .expect("another client");
    for conn in [&mut first, &mut other] {
        let r = bounded(conn.get("/healthz")).await.expect("get");
        assert_eq!(r.status, StatusCode::OK);
    }
    assert!(
        !second.is_finished(),
        "the heavy connection was served while its lane's workers were blocked"
    );
    drop(releases);
    let mut second = bounded(second)
        .await
        .expect("join")
        .expect("heavy connection once the lane frees");
    let r = bounded(second.get("/healthz")).await.expect("get");
    assert_eq!(r.status, StatusCode::OK);
    // Only the one connection beyond 127.0.30.1's standing share was heavy.
    assert_eq!(s.running.metrics().heavy_lane(), 1);
    let text = s.running.metrics_text();
    assert!(
        text.contains("rampart_connections_heavy_lane_total 1"),
        "{text}"
    );
}
