//! PROXY protocol v2 from trusted proxies: the client the header names is who the connection
//! and request limits count; the proxy itself is not capped as one client; a header from any
//! other peer is never read, and a trusted proxy that sends none is refused.

use crate::common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{Conn, TestServer, bounded, tcp_from};
use hyper::StatusCode;
use ppp::v2::{Builder, Command, Protocol, Version};
use rampart::config::Config;
use rampart::metrics::Reason;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const H1: &[u8] = b"http/1.1";
const PROXY: &str = "127.0.52.1";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn with_proxy(c: &mut Config) {
    c.limits.trusted_proxies = vec!["127.0.52.0/24".parse().expect("net")];
    c.limits.proxy_protocol = true;
    c.limits.max_connections_per_client = 2;
    c.limits.requests_per_second_per_client = 1;
    c.limits.request_burst_per_client = 2;
    c.tls.handshake_timeout = Duration::from_millis(500);
}

fn header(cmd: Command, client: &str, server: SocketAddr) -> Vec<u8> {
    let client: SocketAddr = client.parse().expect("client");
    Builder::with_addresses(Version::Two | cmd, Protocol::Stream, (client, server))
        .build()
        .expect("header")
}

/// A connection from `src` that first writes `prefix`, then speaks TLS and HTTP/1.1.
async fn open_with(s: &TestServer, src: &str, prefix: &[u8]) -> Option<Conn> {
    let mut tcp = tcp_from(ip(src), s.addr).await.ok()?;
    tcp.write_all(prefix).await.ok()?;
    let mut c = Conn::over(tcp, &s.ca, &[H1]).await.ok()?;
    (c.get("/healthz").await.ok()?.status == StatusCode::OK).then_some(c)
}

async fn relayed(s: &TestServer, client: &str) -> Option<Conn> {
    open_with(s, PROXY, &header(Command::Proxy, client, s.addr)).await
}

#[tokio::test]
async fn limits_count_the_client_a_trusted_proxy_names() {
    bounded(async {
        let s = TestServer::start(|c| {
            with_proxy(c);
            c.limits.standing_connections_per_client = 1;
        })
        .await;
        let a1 = relayed(&s, "203.0.113.7:4001").await.expect("first of .7");
        let mut a2 = relayed(&s, "203.0.113.7:4002").await.expect("second of .7");
        assert!(
            relayed(&s, "203.0.113.7:4003").await.is_none(),
            "a third connection for the same relayed client is over its cap"
        );
        assert!(s.running.metrics().rejections(Reason::ClientConnectionCap) >= 1);
        // Three connections from one proxy address: the proxy is not capped as one client.
        let mut b = relayed(&s, "203.0.113.8:4001")
            .await
            .expect("another client");
        // The request budget is the relayed client's too (two requests were spent above).
        assert_eq!(
            a2.get("/healthz").await.expect("get").status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(b.get("/healthz").await.expect("get").status, StatusCode::OK);
        // Lanes by the relayed client too: only .7's second connection is heavy (the first and
        // .8's moved to the standing lane once their headers were read), not the proxy's
        // second and third.
        assert_eq!(s.running.metrics().heavy_lane(), 1);
        drop((a1, a2, b));
    })
    .await;
}

#[tokio::test]
async fn a_header_from_an_untrusted_peer_is_never_read() {
    bounded(async {
        let s = TestServer::start(with_proxy).await;
        let spoof = header(Command::Proxy, "203.0.113.9:1", s.addr);
        assert!(
            open_with(&s, "127.0.53.1", &spoof).await.is_none(),
            "the header is just bytes before a ClientHello: the handshake fails"
        );
        assert!(s.running.metrics().rejections(Reason::HandshakeFailed) >= 1);
        assert_eq!(s.running.metrics().rejections(Reason::ProxyHeader), 0);
        // The same peer speaking plain TLS is an ordinary client with its own cap.
        let c1 = open_with(&s, "127.0.53.1", b"").await.expect("direct");
        let c2 = open_with(&s, "127.0.53.1", b"").await.expect("direct");
        assert!(
            open_with(&s, "127.0.53.1", b"").await.is_none(),
            "peer's cap"
        );
        drop((c1, c2));
    })
    .await;
}

#[tokio::test]
async fn a_trusted_proxy_must_send_a_valid_header_in_time() {
    bounded(async {
        let s = TestServer::start(with_proxy).await;
        assert!(
            open_with(&s, PROXY, b"").await.is_none(),
            "TLS straight from the proxy"
        );
        let mut bad = header(Command::Proxy, "203.0.113.7:1", s.addr);
        bad[14..16].copy_from_slice(&60_000u16.to_be_bytes());
        assert!(open_with(&s, PROXY, &bad).await.is_none(), "oversized");
        // Silent after connecting: closed at the deadline.
        let mut silent = tcp_from(ip(PROXY), s.addr).await.expect("tcp");
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf))
            .await
            .expect("closed by the server")
            .unwrap_or(0);
        assert_eq!(n, 0);
        assert!(s.running.metrics().rejections(Reason::ProxyHeader) >= 3);
        // A LOCAL header (the proxy's own health check) is served as the proxy.
        let local = header(Command::Local, "0.0.0.0:0", s.addr);
        assert!(open_with(&s, PROXY, &local).await.is_some(), "health check");
    })
    .await;
}

/// The value of the gauge `name` in Prometheus text.
fn gauge(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Clients a trusted proxy names, all different: 20,000 here (seconds); the million
/// with `RAMPART_PROXY_CLIENTS=1000000` (SECURITY.md, "Faults", has the figures). Each
/// connection is the proxy's: its PROXY v2 header names the next client, then it closes.
/// The connection layer's keyed state (handshake rate, refusal log gate, strikes) must stay
/// within `max_tracked_clients` plus one look per limiter at every moment, not only after a
/// maintenance tick, and a legitimate client relayed afterwards keeps its whole budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_clients_named_by_a_trusted_proxy_leave_the_limiter_state_bounded() {
    const CAP: usize = 1_000;
    let n: u32 = std::env::var("RAMPART_PROXY_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let s = TestServer::start(|c| {
        with_proxy(c);
        c.limits.max_tracked_clients = CAP;
    })
    .await;
    let rss_before = rss_kib();
    let started = std::time::Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut most = 0;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..32u32 {
        let (next, addr) = (next.clone(), s.addr);
        workers.spawn(async move {
            // The proxy's connections come from 127.0.52.1-.250, so that its ports last.
            let src = ip(&format!("127.0.52.{}", 1 + w % 250));
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let client = std::net::Ipv4Addr::from(0x0a00_0000 + i);
                let Ok(mut tcp) = tcp_from(src, addr).await else {
                    continue;
                };
                let _ = tcp
                    .write_all(&header(Command::Proxy, &format!("{client}:4000"), addr))
                    .await;
                // The server reads the header and admits the client, then waits for a
                // ClientHello; the end of the stream ends it.
                let _ = tcp.shutdown().await;
                let mut sink = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut sink)).await;
            }
        });
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1800);
    while !workers.is_empty() {
        tokio::select! {
            _ = workers.join_next() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                most = most.max(gauge(&s.running.metrics_text(), "rampart_clients_tracked"));
                assert!(tokio::time::Instant::now() < deadline, "the clients took too long");
            }
        }
    }
    let tracked = gauge(&s.running.metrics_text(), "rampart_clients_tracked");
    most = most.max(tracked);
    let bound = 3 * (CAP + rampart::limits::limiter::CHECKS_PER_LOOK) as u64;
    eprintln!(
        "{n} clients relayed in {:.1} s; connection-layer keys: at most {most} seen, {tracked} at the end (bound {bound}); RSS {} -> {} KiB",
        started.elapsed().as_secs_f64(),
        rss_before,
        rss_kib()
    );
    assert!(most <= bound, "{most} keys held, over {bound}");
    let accepted = gauge(
        &s.running.metrics_text(),
        "rampart_connections_accepted_total",
    );
    assert!(
        accepted >= u64::from(n),
        "every relayed client was admitted: {accepted}"
    );

    // A legitimate client relayed now has its whole budget: a connection, then its burst.
    let mut legit = relayed(&s, "198.51.100.9:5000")
        .await
        .expect("the legitimate client connects");
    assert_eq!(
        legit.get("/healthz").await.expect("request").status,
        StatusCode::OK,
        "its second request, within its burst of two"
    );
}
