//! HTTP/2 abuse on one connection, driven frame by frame: each costs the server a bounded
//! amount of work before the connection is closed, and an idle HTTP/2 connection is closed.
//! Every test fails when its limit is turned off (the flood tests would see the server keep
//! serving every stream or frame until the client's own bound runs out).

use crate::common;

use std::net::IpAddr;
use std::time::Duration;

use common::h2raw::{RawH2, get_healthz_block};
use common::{Conn, TestServer, bounded, wait_until};
use hyper::StatusCode;
use rampart::metrics::Reason;
use rampart_wire::h2::{
    CANCEL, CONTINUATION, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM, HEADERS, NO_ERROR, PING,
    RST_STREAM, frame,
};
use tokio::io::AsyncWriteExt;

/// How long a reader waits for the server to close before calling the limit absent.
const CUT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// How a flood ended.
#[derive(Debug, PartialEq)]
enum Flood {
    /// The server closed or reset the connection after this many rounds.
    Cut(usize),
    /// The server stopped reading (a write blocked for `CUT`) after this many rounds.
    Stalled(usize),
    /// Every round was written.
    Finished,
}

/// Writes `batch(i)` for i in 0..rounds until the server stops taking it.
async fn flood(
    mut writer: tokio::io::WriteHalf<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
    rounds: usize,
    mut batch: impl FnMut(usize) -> Vec<u8>,
) -> Flood {
    for i in 0..rounds {
        let bytes = batch(i);
        match tokio::time::timeout(CUT, writer.write_all(&bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Flood::Cut(i),
            Err(_) => return Flood::Stalled(i),
        }
    }
    let _ = writer.flush().await;
    Flood::Finished
}

#[tokio::test]
async fn rapid_reset_is_cut_after_a_bounded_number_of_streams() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let h2 = RawH2::open(ip("127.0.60.1"), s.addr, &s.ca, None)
            .await
            .expect("h2");
        const ROUNDS: usize = 1_000; // 100 streams each: 100,000 opened and reset
        let block = get_healthz_block();
        let writer = tokio::spawn(flood(h2.writer, ROUNDS, move |round| {
            let mut out = Vec::new();
            for i in 0..100u32 {
                let id = 1 + 2 * (u32::try_from(round).expect("round") * 100 + i);
                out.extend(frame(HEADERS, END_STREAM | END_HEADERS, id, &block));
                out.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
            }
            out
        }));
        let mut reader = h2.reader;
        let seen = RawH2::read_all(&mut reader, None, CUT).await;
        let written = writer.await.expect("writer");
        eprintln!("rapid reset: server saw {seen:?}; client flood {written:?}");
        let (last_stream, code) = seen.goaway.expect("a GOAWAY before the close");
        assert_eq!(code, ENHANCE_YOUR_CALM, "{seen:?}");
        assert!(seen.closed, "{seen:?}");
        // A strike towards the client's cool-down.
        wait_until("the broken connection counted", || {
            s.running.metrics().rejections(Reason::H2ProtocolError) == 1
        })
        .await;
        // The server looked at a bounded number of streams out of 100,000.
        assert!(
            last_stream < 2 * 1_000,
            "last stream {last_stream}, {seen:?}"
        );
        assert_ne!(written, Flood::Finished, "the flood was read to the end");
        // Another client is served meanwhile and afterwards.
        let mut c = Conn::open_from(ip("127.0.60.2"), s.addr, &s.ca, &[b"h2"])
            .await
            .expect("connect");
        assert_eq!(c.get("/healthz").await.expect("get").status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn continuation_flood_is_cut_after_a_bounded_header_block() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let h2 = RawH2::open(ip("127.0.61.1"), s.addr, &s.ca, None)
            .await
            .expect("h2");
        const ROUNDS: usize = 10_000; // up to 10,000 CONTINUATION frames of 16 KiB
        let writer = tokio::spawn(flood(h2.writer, ROUNDS, |round| {
            if round == 0 {
                // A header block that never ends: a literal field whose value keeps going.
                let mut b = vec![0x00, 3];
                b.extend_from_slice(b"x-a");
                b.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 0x0f]);
                frame(HEADERS, END_STREAM, 1, &b)
            } else {
                frame(CONTINUATION, 0, 1, &[b'a'; 16 * 1024])
            }
        }));
        let mut reader = h2.reader;
        let seen = RawH2::read_all(&mut reader, None, CUT).await;
        let written = writer.await.expect("writer");
        assert!(seen.closed, "{seen:?}");
        assert!(
            seen.goaway.is_some_and(|(_, code)| code != NO_ERROR),
            "{seen:?}"
        );
        assert_eq!(seen.responses, 0);
        assert_ne!(written, Flood::Finished, "the flood was read to the end");
        wait_until("the broken connection counted", || {
            s.running.metrics().rejections(Reason::H2ProtocolError) == 1
        })
        .await;
    })
    .await;
}

/// Opens an HTTP/2 connection from `from`, sends a CONTINUATION frame that follows no HEADERS
/// (a connection error, RFC 9113 section 6.10), and waits for the server's GOAWAY and close.
async fn break_the_protocol(s: &TestServer, from: IpAddr) {
    let h2 = RawH2::open(from, s.addr, &s.ca, None).await.expect("h2");
    let mut writer = h2.writer;
    writer
        .write_all(&frame(CONTINUATION, END_HEADERS, 1, b""))
        .await
        .expect("write");
    let mut reader = h2.reader;
    let seen = RawH2::read_all(&mut reader, None, CUT).await;
    assert!(seen.closed, "{seen:?}");
    assert!(
        seen.goaway.is_some_and(|(_, code)| code != NO_ERROR),
        "{seen:?}"
    );
}

/// How a client breaks an HTTP/2 connection, and the refusal the server counts for it.
#[derive(Clone, Copy)]
enum Break {
    /// A frame h2 itself rejects with a GOAWAY.
    Protocol,
    /// More control frames than the budget, read as fast as they are answered.
    ControlFlood,
}

impl Break {
    fn reason(self) -> Reason {
        match self {
            Break::Protocol => Reason::H2ProtocolError,
            Break::ControlFlood => Reason::H2ControlFlood,
        }
    }

    async fn commit(self, s: &TestServer, from: IpAddr) {
        match self {
            Break::Protocol => break_the_protocol(s, from).await,
            Break::ControlFlood => {
                let h2 = RawH2::open(from, s.addr, &s.ca, None).await.expect("h2");
                let writer = tokio::spawn(flood(h2.writer, 100, pings));
                let mut reader = h2.reader;
                let seen = RawH2::read_all(&mut reader, None, CUT).await;
                writer.await.expect("writer");
                assert!(seen.closed, "{seen:?}");
            }
        }
    }
}

/// Breaks HTTP/2 twice from one address: the second break sends it to cool down.
async fn breaking_http2_twice_cools_down(how: Break, breaker: IpAddr, other: IpAddr) {
    let s = TestServer::start(|c| {
        // One broken connection weighs ten strikes: the first is free, the second is not.
        c.limits.cooldown_after = 10;
        c.limits.cooldown_window = Duration::from_secs(60);
        c.limits.cooldown = Duration::from_secs(60);
    })
    .await;
    let reason = how.reason();
    how.commit(&s, breaker).await;
    wait_until("the first break counted", || {
        s.running.metrics().rejections(reason) == 1
    })
    .await;
    assert_eq!(s.running.metrics().cooldowns(), 0, "the first is free");
    how.commit(&s, breaker).await;
    wait_until("the second break cooled it down", || {
        s.running.metrics().cooldowns() == 1
    })
    .await;
    // Its new connections are refused before TLS; everybody else is served.
    assert!(
        Conn::open_from(breaker, s.addr, &s.ca, &[b"h2"])
            .await
            .is_err(),
        "a cooling client got a new connection"
    );
    let mut other = Conn::open_from(other, s.addr, &s.ca, &[b"h2"])
        .await
        .expect("connect");
    assert_eq!(
        other.get("/healthz").await.expect("get").status,
        StatusCode::OK
    );
    // Each break counted once; a refusal at accept is not another.
    assert_eq!(s.running.metrics().rejections(reason), 2);
}

#[tokio::test]
async fn a_client_that_keeps_breaking_http2_cools_down() {
    bounded(breaking_http2_twice_cools_down(
        Break::Protocol,
        ip("127.0.65.1"),
        ip("127.0.65.2"),
    ))
    .await;
}

#[tokio::test]
async fn a_client_that_keeps_flooding_control_frames_cools_down() {
    bounded(breaking_http2_twice_cools_down(
        Break::ControlFlood,
        ip("127.0.66.1"),
        ip("127.0.66.2"),
    ))
    .await;
}

/// Round `round` of a PING flood: 1,000 PINGs with distinct payloads.
fn pings(round: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 * 1000);
    for i in 0..1000u64 {
        let payload = (u64::try_from(round).expect("round") * 1000 + i).to_be_bytes();
        out.extend(frame(PING, 0, 0, &payload));
    }
    out
}

#[tokio::test]
async fn ping_flood_without_reading_is_cut_at_the_write_timeout() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.http.write_timeout = Duration::from_millis(500);
            // The control-frame budget would cut this flood first; here the write timeout must.
            c.http.h2_control_frames_per_second = 100_000;
            c.http.h2_control_frame_burst = 1_000_000;
        })
        .await;
        // A tiny receive window: the server's PING acknowledgements back up at once.
        let h2 = RawH2::open(ip("127.0.62.1"), s.addr, &s.ca, Some(4096))
            .await
            .expect("h2");
        const ROUNDS: usize = 100_000; // 1,000 PINGs each
        let written = flood(h2.writer, ROUNDS, pings).await;
        // The server stops reading while its acknowledgements are unsent, then cuts.
        assert!(matches!(written, Flood::Cut(_)), "{written:?}");
        drop(h2.reader);
    })
    .await;
}

#[tokio::test]
async fn ping_flood_from_a_client_that_reads_is_cut_by_the_control_frame_budget() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let h2 = RawH2::open(ip("127.0.64.1"), s.addr, &s.ca, None)
            .await
            .expect("h2");
        const ROUNDS: usize = 100; // 1,000 PINGs each
        let writer = tokio::spawn(flood(h2.writer, ROUNDS, pings));
        let mut reader = h2.reader;
        // Every acknowledgement is read: the server is never pushed back on.
        let seen = RawH2::read_all(&mut reader, None, CUT).await;
        let written = writer.await.expect("writer");
        eprintln!("ping flood: server saw {seen:?}; client flood {written:?}");
        assert!(seen.closed, "{seen:?}");
        // At most the burst (100) was answered, out of 100,000.
        assert!(seen.pongs <= 200, "{seen:?}");
        // Counted once the connection task has ended, as a strike towards a cool-down.
        wait_until("the flood counted", || {
            s.running
                .metrics_text()
                .contains("rampart_rejections_total{reason=\"h2_control_flood\"} 1")
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn idle_h2_connections_get_goaway_and_are_closed() {
    bounded(async {
        let s = TestServer::start(|c| c.http.idle_timeout = Duration::from_millis(300)).await;
        let h2 = RawH2::open(ip("127.0.63.1"), s.addr, &s.ca, None)
            .await
            .expect("h2");
        let mut writer = h2.writer;
        writer
            .write_all(&frame(
                HEADERS,
                END_STREAM | END_HEADERS,
                1,
                &get_healthz_block(),
            ))
            .await
            .expect("request");
        let mut reader = h2.reader;
        // Nothing more is sent: one response, then GOAWAY (no error) and close.
        let seen = RawH2::read_all(&mut reader, Some(&mut writer), CUT).await;
        assert_eq!(seen.responses, 1, "{seen:?}");
        assert_eq!(seen.last_goaway, Some((1, NO_ERROR)), "{seen:?}");
        assert!(seen.closed, "{seen:?}");
        drop(writer);
    })
    .await;
}

/// How one request of a busy HTTP/2 connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Answered,
    /// Refused before processing (GOAWAY past its stream, or REFUSED_STREAM): safe to retry.
    Refused,
    /// Anything else: an answer lost to the connection's end.
    Lost,
}

/// A connection that reaches its request cap while the client keeps opening streams ends
/// cleanly: every request is answered, or refused as never processed (past the GOAWAY's last
/// stream, RFC 9113 section 8.7) so that the client may send it again, and the connection
/// itself ends without error. Fails when the cap is not enforced (nothing is refused) and when
/// the connection is cut at the cap rather than shut down gracefully (answers are lost).
#[tokio::test]
async fn a_capped_h2_connection_ends_without_losing_answers() {
    bounded(async {
        let s = TestServer::start(|c| c.http.max_requests_per_connection = 10).await;
        let cfg = std::sync::Arc::new(common::client_config(
            &s.ca,
            &[b"h2"],
            rustls::DEFAULT_VERSIONS,
        ));
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for round in 0..50u8 {
            let tls = common::tls_from(
                ip(&format!("127.0.64.{}", round + 1)),
                s.addr,
                (*cfg).clone(),
            )
            .await
            .expect("tls");
            let (send, conn) = h2::client::handshake(tls).await.expect("h2 handshake");
            let conn = tokio::spawn(conn);
            let mut requests = tokio::task::JoinSet::new();
            for _ in 0..16 {
                let send = send.clone();
                requests.spawn(async move {
                    let mut ends = Vec::new();
                    loop {
                        let end = one(send.clone()).await;
                        ends.push(end);
                        if end != Ended::Answered {
                            return ends;
                        }
                    }
                });
            }
            async fn one(send: h2::client::SendRequest<bytes::Bytes>) -> Ended {
                let Ok(mut send) = send.ready().await else {
                    return Ended::Refused;
                };
                let req = hyper::Request::get("https://localhost/healthz")
                    .body(())
                    .expect("request");
                let Ok((response, _)) = send.send_request(req, true) else {
                    return Ended::Refused;
                };
                let refused = |e: &h2::Error| {
                    e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM)
                };
                let response = match response.await {
                    Ok(r) => r,
                    Err(e) if refused(&e) => return Ended::Refused,
                    Err(_) => return Ended::Lost,
                };
                let mut body = response.into_body();
                while let Some(chunk) = body.data().await {
                    match chunk {
                        Ok(c) => {
                            let _ = body.flow_control().release_capacity(c.len());
                        }
                        Err(_) => return Ended::Lost,
                    }
                }
                Ended::Answered
            }
            drop(send);
            while let Some(r) = requests.join_next().await {
                for end in r.expect("task") {
                    *seen.entry(format!("{end:?}")).or_default() += 1;
                }
            }
            let end = conn.await.expect("task");
            if let Err(e) = end {
                *seen.entry(format!("connection: {e}")).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), 2, "answered and refused only: {seen:?}");
    })
    .await;
}
