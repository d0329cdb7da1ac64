//! HTTP-level limits over real TLS: header read timeout (silent, trickling and idle keep-alive
//! clients), header count and size caps, requests per connection, and the h2 version floor.
//! Each test fails if its limit is turned off.

use crate::common;

use std::time::Duration;

use common::{Conn, TestServer, bounded, client_config, tls_connect};
use hyper::StatusCode;
use rampart::metrics::Reason;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const H1: &[u8] = b"http/1.1";
const H2: &[u8] = b"h2";
/// How long a test waits for the server to cut a connection before calling the limit absent.
const CUT: Duration = Duration::from_secs(10);

async fn h1_stream(s: &TestServer) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    tls_connect(
        s.addr,
        client_config(&s.ca, &[H1], rustls::DEFAULT_VERSIONS),
    )
    .await
    .expect("connect")
}

/// Reads until the server closes; returns what it sent.
async fn until_closed(tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// Slowloris: one more header line every 50 ms until the server closes (bounded by the caller).
async fn trickle(tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) {
    let mut buf = [0u8; 256];
    let mut pace = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            r = tls.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            _ = pace.tick() => {
                if tls.write_all(b"X-Keep: waiting\r\n").await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads `n` complete responses (head and `Content-Length` body); returns their status lines.
async fn responses(
    tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    n: usize,
) -> Vec<String> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < n {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().expect("length"))
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                out.push(head.lines().next().unwrap_or_default().to_string());
                buf.drain(..end + 4 + len);
                continue;
            }
        }
        let k = tls.read(&mut chunk).await.expect("read");
        assert!(k > 0, "closed after {} responses", out.len());
        buf.extend_from_slice(&chunk[..k]);
    }
    out
}

const GET: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn parked_keep_alive_connections_serve_the_next_requests_intact() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let metrics = s.running.metrics();
        let mut tls = h1_stream(&s).await;
        tls.write_all(GET).await.expect("first");
        assert_eq!(responses(&mut tls, 1).await, ["http/1.1 200 ok"]);
        common::wait_until("the idle connection to be parked", || metrics.parked() == 1).await;
        // Woken by the first byte of two pipelined requests, sent in pieces.
        tls.write_all(b"G").await.expect("first byte");
        tls.write_all(b"ET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("rest");
        tls.write_all(GET).await.expect("pipelined");
        assert_eq!(
            responses(&mut tls, 2).await,
            ["http/1.1 200 ok", "http/1.1 200 ok"]
        );
        common::wait_until("parked again", || metrics.parked() == 1).await;
        // A request with a body after waking.
        let body = br#"{"username":"parked_user","password":"a long enough passphrase"}"#;
        let post = format!(
            "POST /v1/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        tls.write_all(post.as_bytes()).await.expect("head");
        tls.write_all(body).await.expect("body");
        assert_eq!(responses(&mut tls, 1).await, ["http/1.1 201 created"]);
    })
    .await;
}

#[tokio::test]
async fn a_next_request_head_sent_in_slow_pieces_is_not_parked_away() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut tls = h1_stream(&s).await;
        tls.write_all(GET).await.expect("first");
        assert_eq!(responses(&mut tls, 1).await, ["http/1.1 200 ok"]);
        tls.write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("part");
        // A pause longer than the park delay, well inside the header deadline: the client's
        // pacing, not synchronisation.
        tokio::time::sleep(Duration::from_millis(750)).await;
        tls.write_all(b"Host: localhost\r\n\r\n")
            .await
            .expect("rest");
        assert_eq!(responses(&mut tls, 1).await, ["http/1.1 200 ok"]);
        assert_eq!(s.running.metrics().parked(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_trickled_second_request_is_cut_at_the_header_timeout() {
    bounded(async {
        let s =
            TestServer::start(|c| c.http.header_read_timeout = Duration::from_millis(500)).await;
        let mut tls = h1_stream(&s).await;
        tls.write_all(GET).await.expect("first");
        assert_eq!(responses(&mut tls, 1).await, ["http/1.1 200 ok"]);
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("head");
        tokio::time::timeout(CUT, trickle(&mut tls))
            .await
            .expect("a trickling second request head was not cut");
        assert_eq!(s.running.metrics().parked(), 0);
    })
    .await;
}

#[tokio::test]
async fn silent_client_is_cut_at_the_header_timeout() {
    bounded(async {
        let s =
            TestServer::start(|c| c.http.header_read_timeout = Duration::from_millis(300)).await;
        let mut tls = h1_stream(&s).await;
        tokio::time::timeout(CUT, until_closed(&mut tls))
            .await
            .expect("silent connection was not closed");
        assert_eq!(s.running.metrics().rejections(Reason::HeaderTimeout), 1);
    })
    .await;
}

#[tokio::test]
async fn trickled_headers_are_cut_at_the_header_timeout() {
    bounded(async {
        let s =
            TestServer::start(|c| c.http.header_read_timeout = Duration::from_millis(500)).await;
        let mut tls = h1_stream(&s).await;
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("head");
        tokio::time::timeout(CUT, trickle(&mut tls))
            .await
            .expect("a trickling request head was not cut");
        assert_eq!(s.running.metrics().rejections(Reason::HeaderTimeout), 1);
    })
    .await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    bounded(async {
        let s = TestServer::start(|c| c.http.idle_timeout = Duration::from_millis(300)).await;
        let mut tls = h1_stream(&s).await;
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("req");
        let got = tokio::time::timeout(CUT, until_closed(&mut tls))
            .await
            .expect("idle keep-alive connection was not closed");
        assert!(
            got.starts_with(b"HTTP/1.1 200"),
            "the request itself was served"
        );
    })
    .await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_get_431() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.http.max_headers = 16;
            c.http.max_header_bytes = 8192;
        })
        .await;
        let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
        for i in 0..20 {
            many.push_str(&format!("X-H{i}: v\r\n"));
        }
        many.push_str("\r\n");
        let big = format!(
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
            "a".repeat(10_000)
        );
        for req in [many, big] {
            let mut tls = h1_stream(&s).await;
            tls.write_all(req.as_bytes()).await.expect("write");
            let got = tokio::time::timeout(CUT, until_closed(&mut tls))
                .await
                .expect("answer");
            assert!(
                got.starts_with(b"HTTP/1.1 431"),
                "{:?}",
                String::from_utf8_lossy(&got[..got.len().min(40)])
            );
        }
        assert_eq!(s.running.metrics().rejections(Reason::HeaderTooLarge), 2);
        // Within the limits the same request is served.
        let mut ok = Conn::open(s.addr, &s.ca, &[H1]).await.expect("connect");
        let headers: Vec<(String, String)> = (0..10)
            .map(|i| (format!("x-h{i}"), "v".to_string()))
            .collect();
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = ok
            .send("GET", "/healthz", &refs, None)
            .await
            .expect("served");
        assert_eq!(r.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn connections_end_after_max_requests() {
    bounded(async {
        let s = TestServer::start(|c| c.http.max_requests_per_connection = 3).await;
        for alpn in [H1, H2] {
            let mut c = Conn::open(s.addr, &s.ca, &[alpn]).await.expect("connect");
            for i in 0..3 {
                let r = c
                    .get("/healthz")
                    .await
                    .unwrap_or_else(|e| panic!("request {i}: {e}"));
                assert_eq!(r.status, StatusCode::OK);
            }
            let fourth = tokio::time::timeout(CUT, c.get("/healthz"))
                .await
                .expect("answered");
            assert!(
                fourth.is_err(),
                "{alpn:?}: a fourth request was served on the connection"
            );
        }
    })
    .await;
}

/// Sends a request head promising `len` body bytes, then feeds the body with `feed`.
async fn slow_post(s: &TestServer, len: usize, chunk: &[u8], every: Duration) -> Vec<u8> {
    let mut tls = h1_stream(s).await;
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).await.expect("head");
    let mut got = Vec::new();
    let feed = async {
        let mut buf = [0u8; 1024];
        let mut pace = tokio::time::interval(every);
        let mut sent = 0;
        loop {
            tokio::select! {
                r = tls.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                },
                _ = pace.tick(), if !chunk.is_empty() && sent + chunk.len() < len => {
                    if tls.write_all(chunk).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            }
        }
    };
    tokio::time::timeout(CUT, feed)
        .await
        .expect("slow body was not cut");
    got
}

#[tokio::test]
async fn slow_request_bodies_get_408() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.http.body_read_timeout = Duration::from_millis(300);
            c.http.body_min_rate = 1024;
        })
        .await;
        // A body that never comes.
        let got = slow_post(&s, 1000, b"", Duration::from_millis(50)).await;
        assert!(
            got.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        // A body that trickles in, never idle for long, but far below 1 KiB/s.
        let got = slow_post(&s, 10_000, b"{\"username\":", Duration::from_millis(100)).await;
        assert!(
            got.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        assert!(
            String::from_utf8_lossy(&got)
                .to_lowercase()
                .contains("connection: close"),
            "the connection is not reused after a slow body"
        );
        assert_eq!(s.running.metrics().rejections(Reason::BodyTimeout), 2);
    })
    .await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_at_the_write_timeout() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.http.write_timeout = Duration::from_millis(500);
            // Keep the other clocks out of the way: only the write timeout may end this.
            c.http.header_read_timeout = Duration::from_secs(60);
            c.http.max_requests_per_connection = 1_000_000;
        })
        .await;
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        sock.set_recv_buffer_size(4096).expect("rcvbuf");
        let tcp = sock.connect(s.addr).await.expect("connect");
        let cfg = client_config(&s.ca, &[H1], rustls::DEFAULT_VERSIONS);
        let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
            .connect("localhost".try_into().expect("name"), tcp)
            .await
            .expect("tls");
        // Pipeline far more response bytes than the socket buffers hold, then never read.
        let one = b"GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n";
        let many: Vec<u8> = one.iter().copied().cycle().take(one.len() * 2000).collect();
        tls.write_all(&many).await.expect("pipeline");
        tls.flush().await.expect("flush");
        common::wait_until("the stalled connection to be closed", || {
            s.running.open_connections() == 0
        })
        .await;
        assert_eq!(s.running.metrics().rejections(Reason::WriteTimeout), 1);
        drop(tls);
    })
    .await;
}

/// A client that ends its side right after its pipelined requests (a half-close, as
/// `printf ... | nc` does) still gets every answer, then the connection ends. Without
/// `half_close` hyper drops the requests it has not answered yet when it reads the end.
#[tokio::test]
async fn a_half_closed_client_gets_every_answer() {
    let s = TestServer::start(|_| {}).await;
    let mut tls = h1_stream(&s).await;
    let got = bounded(async {
        tls.write_all(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\
              POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 44\r\n\r\n{\"username\":\"nobody\",\"password\":\"wrong one\"}",
        )
        .await
        .expect("write");
        tls.shutdown().await.expect("half-close");
        until_closed(&mut tls).await
    })
    .await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(
        text.contains("HTTP/1.1 401 "),
        "the login after the health check: {text}"
    );
}
