//! Connection-layer limits over real sockets, from several 127.x source addresses: each test
//! fails if its limit is turned off.

use crate::common;

use std::net::IpAddr;

use common::{Conn, Proc, TestServer, bounded, tcp_from, wait_until};
use hyper::StatusCode;
use nix::sys::signal::Signal;
use rampart::metrics::Reason;
use tokio::io::AsyncWriteExt;

const H1: &[u8] = b"http/1.1";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

async fn served(s: &TestServer, src: &str) -> Option<Conn> {
    let mut c = Conn::open_from(ip(src), s.addr, &s.ca, &[H1]).await.ok()?;
    (c.get("/healthz").await.ok()?.status == StatusCode::OK).then_some(c)
}

#[tokio::test]
async fn per_client_cap_refuses_before_tls_while_others_are_served() {
    bounded(async {
        let s = TestServer::start(|c| c.limits.max_connections_per_client = 2).await;
        let a1 = served(&s, "127.0.10.1").await.expect("first");
        let a2 = served(&s, "127.0.10.1").await.expect("second");
        assert!(
            served(&s, "127.0.10.1").await.is_none(),
            "third from the same address"
        );
        let b = served(&s, "127.0.10.2").await;
        assert!(b.is_some(), "another address is still served");
        assert!(s.running.metrics().rejections(Reason::ClientConnectionCap) >= 1);
        drop((a1, a2, b));
    })
    .await;
}

#[tokio::test]
async fn global_cap_refuses_new_connections() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.limits.max_connections = 3;
            c.limits.max_connections_per_client = 3;
            c.limits.max_handshakes_in_progress = 3;
        })
        .await;
        let mut held = Vec::new();
        for i in 1..=3 {
            held.push(
                served(&s, &format!("127.0.11.{i}"))
                    .await
                    .expect("under the cap"),
            );
        }
        assert!(
            served(&s, "127.0.11.9").await.is_none(),
            "over the global cap"
        );
        assert!(s.running.metrics().rejections(Reason::ConnectionCap) >= 1);
    })
    .await;
}

#[tokio::test]
async fn handshake_rate_is_limited_per_client() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.limits.handshake_rate_per_client = 1;
            c.limits.handshake_burst_per_client = 3;
        })
        .await;
        for _ in 0..3 {
            assert!(served(&s, "127.0.12.1").await.is_some(), "within the burst");
        }
        assert!(served(&s, "127.0.12.1").await.is_none(), "burst spent");
        assert!(
            served(&s, "127.0.12.2").await.is_some(),
            "other clients unaffected"
        );
        assert!(s.running.metrics().rejections(Reason::HandshakeRate) >= 1);
    })
    .await;
}

/// Five idle TCP connections from five addresses, accepted (counted as open) but silent.
async fn idle_sockets(s: &TestServer) -> Vec<tokio::net::TcpStream> {
    let mut idle = Vec::new();
    for i in 1..=5 {
        idle.push(
            tcp_from(ip(&format!("127.0.14.{i}")), s.addr)
                .await
                .expect("tcp"),
        );
    }
    wait_until("five idle connections", || {
        s.running.open_connections() >= 5
    })
    .await;
    idle
}

#[tokio::test]
async fn handshakes_in_progress_are_capped() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.limits.max_handshakes_in_progress = 2;
            c.tls.handshake_timeout = std::time::Duration::from_secs(30);
        })
        .await;
        // Idle sockets cost no crypto and take no handshake slot...
        let _idle: Vec<_> = idle_sockets(&s).await;
        assert!(
            s.running
                .metrics_text()
                .contains("rampart_handshakes_in_progress 0")
        );
        // ...but two handshakes that send a ClientHello and never finish hold two, both from
        // one client.
        let hello = common::client_hello::client_hello(0x0303, &[0xc02b]);
        let mut _stall1 = tcp_from(ip("127.0.13.1"), s.addr).await.expect("tcp");
        _stall1.write_all(&hello).await.expect("hello");
        let mut _stall2 = tcp_from(ip("127.0.13.1"), s.addr).await.expect("tcp");
        _stall2.write_all(&hello).await.expect("hello");
        wait_until("two stalled handshakes", || {
            s.running
                .metrics_text()
                .contains("rampart_handshakes_in_progress 2")
        })
        .await;
        // A third from the same client waits in line; then another client's does.
        let mut _stall3 = tcp_from(ip("127.0.13.1"), s.addr).await.expect("tcp");
        _stall3.write_all(&hello).await.expect("hello");
        wait_until("one handshake waiting", || {
            s.running
                .metrics_text()
                .contains("rampart_handshakes_waiting 1")
        })
        .await;
        let (addr, ca) = (s.addr, s.ca.clone());
        let other = tokio::spawn(async move {
            let mut c = Conn::open_from(ip("127.0.13.3"), addr, &ca, &[H1])
                .await
                .ok()?;
            (c.get("/healthz").await.ok()?.status == StatusCode::OK).then_some(c)
        });
        wait_until("two handshakes waiting", || {
            s.running
                .metrics_text()
                .contains("rampart_handshakes_waiting 2")
        })
        .await;
        assert!(!other.is_finished(), "no slot is free");
        // The slot freed goes to the client holding none, ahead of the one that came first
        // from the client holding two.
        drop(_stall1);
        assert!(
            other.await.expect("task").is_some(),
            "served once a slot frees"
        );
        // Its slot then goes to the stalling client's third.
        wait_until("the third stalled handshake in progress", || {
            let m = s.running.metrics_text();
            m.contains("rampart_handshakes_waiting 0")
                && m.contains("rampart_handshakes_in_progress 2")
        })
        .await;
        assert_eq!(s.running.metrics().rejections(Reason::HandshakesBusy), 0);
    })
    .await;
}

#[tokio::test]
async fn refusals_are_logged_once_per_client_per_interval() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let mut p = Proc::spawn(
            dir.path(),
            &["serve", "--listen", "127.0.0.1:0"],
            &[("RAMPART_LIMITS__MAX_CONNECTIONS_PER_CLIENT", "1")],
        );
        let addr = p.wait_listening().await;
        let ca = dir.path().join("certs/dev/ca.pem");
        let _held = Conn::open_from(ip("127.0.14.1"), addr, &ca, &[H1])
            .await
            .expect("held");
        for _ in 0..20 {
            assert!(
                Conn::open_from(ip("127.0.14.1"), addr, &ca, &[H1])
                    .await
                    .is_err()
            );
        }
        assert!(
            Conn::open_from(ip("127.0.14.2"), addr, &ca, &[H1])
                .await
                .is_ok()
        );
        p.signal(Signal::SIGTERM);
        p.wait_stderr("all connections drained").await;
        let refused: Vec<&String> = p
            .seen_stderr
            .iter()
            .filter(|l| l.contains("refused"))
            .collect();
        assert_eq!(refused.len(), 1, "{refused:#?}");
        assert!(refused[0].contains("127.0.14.1") && refused[0].contains("client_connection_cap"));
    })
    .await;
}
