//! The whole request path from raw bytes, for the `request_bytes` fuzz target: a client's
//! bytes (after TLS) go through an in-memory pipe into the server's own connection handler
//! (`net::serve_http`: the HTTP/2 control-frame budget, the write timeout, hyper with the
//! server's limits, the request service, the router, the API, an in-memory SQLite database),
//! written in pieces whose size the input chooses, and everything the server sends back is
//! read until it closes.
//!
//! Properties: no panic; the connection ends once the client's bytes are all sent (no hang);
//! over HTTP/1.1 every response the server writes has a well-formed status line, and none is
//! a 500 (an internal error is a bug whatever the input: malformed input is the client's
//! error). The application is [`super::app::App`]. The database outlives inputs (users
//! registered by one input exist for the next), as a server's does.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::app::App;
use crate::net::{ConnShared, Phase, ShutdownSignal, serve_http};

/// How long one input may keep the connection open before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// The address the fuzzed client connects from.
const PEER: &str = "127.0.0.1:40000";

/// Everything a connection needs, built once per process.
struct Harness {
    app: App,
    shared: Arc<ConnShared>,
    signal: ShutdownSignal,
    _phase: watch::Sender<Phase>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let app = App::new();
        let shared = Arc::new(ConnShared::new(
            app.metrics.clone(),
            &[],
            TlsAcceptor::from(super::tls_config()),
            app.config.tls.handshake_timeout,
            crate::http::router(app.state.clone()),
            &app.config.http,
        ));
        let (phase, rx) = watch::channel(Phase::Running);
        Harness {
            app,
            shared,
            signal: ShutdownSignal(rx),
            _phase: phase,
        }
    })
}

/// The `request_bytes` target. The first byte chooses the protocol (low bit: HTTP/2) and the
/// size of the pieces the rest is written in (the other seven bits, plus one).
pub fn check_request_bytes(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let h2 = control & 1 == 1;
    let out = exchange(h2, usize::from(control >> 1) + 1, input);
    if !h2 {
        check_http1_responses(&out);
    }
}

/// Writes `input` in pieces of `piece` bytes into a fresh connection, then ends the client's
/// side; returns all the server sent until it closed.
fn exchange(h2: bool, piece: usize, input: &[u8]) -> Vec<u8> {
    let h = harness();
    h.app.rt.block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (shared, signal) = (h.shared.clone(), h.signal.clone());
        let peer: SocketAddr = PEER.parse().expect("address");
        let conn = tokio::spawn(async move {
            serve_http(server, h2, peer, &shared, signal).await;
        });
        let (mut rd, mut wr) = tokio::io::split(client);
        let write = async {
            for chunk in input.chunks(piece) {
                if wr.write_all(chunk).await.is_err() {
                    break;
                }
                tokio::task::yield_now().await;
            }
            let _ = wr.shutdown().await;
        };
        let read = async {
            let mut out = Vec::new();
            let _ = rd.read_to_end(&mut out).await;
            out
        };
        let both = async {
            let ((), out) = tokio::join!(write, read);
            let _ = conn.await;
            out
        };
        tokio::time::timeout(HANG, both)
            .await
            .expect("the connection did not end after the client's last byte")
    })
}

/// Every `HTTP/` status line in `out` is well formed and not a 500.
fn check_http1_responses(out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for (i, _) in text.match_indices("HTTP/1.1 ") {
        // Only heads: a status line starts the output or follows a response's end.
        if i != 0 && !text[..i].ends_with('\n') && !text[..i].ends_with('}') {
            continue;
        }
        let line = text[i..].lines().next().unwrap_or_default();
        let code = line.get(9..12).unwrap_or_default();
        assert!(
            code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()),
            "malformed status line {line:?}"
        );
        assert_ne!(code, "500", "an internal error: {line:?}\n{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_reach_the_api_and_malformed_ones_get_an_answer() {
        // HTTP/1.1 in pieces of 3 bytes: a health check, then a registration.
        let mut input = vec![4u8];
        input.extend_from_slice(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\
              POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 59\r\n\r\n\
              {\"username\":\"fuzzer\",\"password\":\"a long enough passphrase\"}",
        );
        check_request_bytes(&input);
        let out = String::from_utf8_lossy(&exchange(false, 3, &input[1..])).to_string();
        assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
        // The user exists from the first call: a conflict now, from the real handler.
        assert!(out.contains("HTTP/1.1 409 "), "{out}");
        // Garbage and a truncated head both end without a hang.
        check_request_bytes(&[0, 0xff, 0, b'\r', b'\n']);
        check_request_bytes(b"\x00GET / HTTP/1.1\r\nHost");
        // HTTP/2: a preface alone, then garbage after it.
        check_request_bytes(b"\x01PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        check_request_bytes(b"\x01PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00");
    }

    #[test]
    fn a_500_fails_the_check() {
        check_http1_responses(b"HTTP/1.1 200 OK\r\n\r\n");
        let caught = std::panic::catch_unwind(|| {
            check_http1_responses(
                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 500 x\r\n\r\n",
            )
        });
        assert!(caught.is_err());
    }
}
