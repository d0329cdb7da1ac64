//! Keep-alive requests per second (`GET /healthz`) over HTTP/1.1 and HTTP/2: first a closed
//! loop (every connection, or stream, sends its next request when the last is answered) for
//! the most the target serves, then an open model at `open_share` of that, where request `k`
//! of a connection is due at a fixed time and its latency counts from then, so a server that
//! stalls shows it in the tail instead of slowing the client down.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::BenchConfig;
use super::latency::{self, Latency};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::client::{self, Buffers, Client};
use crate::probe::HEALTH_PATH;
use crate::sources::Sources;

/// One protocol's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Requests {
    /// `http/1.1` or `h2`.
    pub protocol: &'static str,
    /// Connections used.
    pub connections: usize,
    /// Requests in flight per connection in the closed loop.
    pub in_flight_per_connection: usize,
    /// Answered (2xx) per second in the closed loop.
    pub max_per_second: f64,
    /// The closed loop's latency (service time: it hides queueing, see `open`).
    pub closed_latency: Latency,
    /// Requests that failed or were not 2xx in the closed loop.
    pub closed_errors: u64,
    /// The open model.
    pub open: OpenModel,
    /// The server's CPU per answered request over both runs, in µs (with `--server-pid`).
    pub server_cpu_us: Option<f64>,
}

/// The open-model run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OpenModel {
    /// Requests due per second.
    pub rate_per_second: f64,
    /// Sent.
    pub sent: u64,
    /// Failed or not 2xx.
    pub errors: u64,
    /// From when each request was due to its answer.
    pub latency: Latency,
}

/// What the workers of one run add up to.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
}

pub(super) struct Shared {
    hist: Mutex<Histogram<u64>>,
    tally: Mutex<Tally>,
}

impl Shared {
    pub(super) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            hist: Mutex::new(latency::histogram()),
            tally: Mutex::new(Tally::default()),
        })
    }

    pub(super) async fn add(&self, hist: &Histogram<u64>, ok: u64, errors: u64) {
        let _ = self.hist.lock().await.add(hist);
        let mut t = self.tally.lock().await;
        t.ok += ok;
        t.errors += errors;
    }

    /// (2xx per second since `start`, latency, errors).
    pub(super) async fn result(&self, start: Instant) -> Run {
        let elapsed = start.elapsed().as_secs_f64().max(1e-9);
        let t = self.tally.lock().await;
        let lat = Latency::of(&*self.hist.lock().await);
        (t.ok as f64 / elapsed, lat, t.errors)
    }
}

/// The rate of the open model, from the closed loop's.
pub(super) fn open_rate(max_per_second: f64, cfg: &BenchConfig) -> f64 {
    (max_per_second * cfg.open_share).max(1.0)
}

/// Request `k`'s due time on connection `c` of `connections` at `rate` per second overall:
/// connections are offset so that together they send evenly.
pub(super) fn due(start: Instant, rate: f64, connections: usize, c: usize, k: u64) -> Instant {
    let interval = connections as f64 / rate;
    start + Duration::from_secs_f64(interval * (k as f64 + c as f64 / connections as f64))
}

/// HTTP/1.1: `h1_connections` keep-alive connections.
pub async fn measure_h1(client: &Client, sources: &Sources, cfg: &BenchConfig) -> Requests {
    let closed = h1_run(client, sources, cfg, None).await;
    let rate = open_rate(closed.0, cfg);
    let open = h1_run(client, sources, cfg, Some(rate)).await;
    Requests::of_runs("http/1.1", cfg.h1_connections.max(1), 1, closed, rate, open)
}

/// What a run returns: (2xx per second, latency, errors).
pub(super) type Run = (f64, Latency, u64);

impl Requests {
    /// The figures of a closed-loop run and of an open-model run at `rate`.
    pub(super) fn of_runs(
        protocol: &'static str,
        connections: usize,
        in_flight_per_connection: usize,
        closed: Run,
        rate: f64,
        open: Run,
    ) -> Requests {
        let (max_per_second, closed_latency, closed_errors) = closed;
        let (_, latency, errors) = open;
        Requests {
            protocol,
            connections,
            in_flight_per_connection,
            max_per_second,
            closed_latency,
            closed_errors,
            open: OpenModel {
                rate_per_second: rate,
                sent: latency.count + errors,
                errors,
                latency,
            },
            server_cpu_us: None,
        }
    }
}

/// One HTTP/1.1 run: closed loop when `rate` is `None`; returns (2xx per second, latency,
/// errors).
async fn h1_run(client: &Client, sources: &Sources, cfg: &BenchConfig, rate: Option<f64>) -> Run {
    let conns = cfg.h1_connections.max(1);
    let shared = Shared::new();
    let start = Instant::now();
    let until = start + cfg.duration;
    let request = format!(
        "GET {HEALTH_PATH} HTTP/1.1\r\nHost: {}\r\nUser-Agent: attack-sim bench\r\n\r\n",
        client.host()
    );
    let mut set = JoinSet::new();
    for c in 0..conns {
        let (client, src, shared) = (client.clone(), sources.pick(c), shared.clone());
        let request = request.clone();
        set.spawn(async move {
            let mut hist = latency::histogram();
            let (mut ok, mut errors) = (0u64, 0u64);
            let mut tls = None;
            for k in 0u64.. {
                let t0 = match rate {
                    Some(r) => due(start, r, conns, c, k),
                    None => Instant::now(),
                };
                if t0 >= until {
                    break;
                }
                tokio::time::sleep_until(t0).await;
                match h1_request(&client, src, &mut tls, request.as_bytes(), until).await {
                    H1::Ok => {
                        ok += 1;
                        latency::record(&mut hist, t0.elapsed());
                    }
                    H1::Failed => errors += 1,
                    H1::TimeUp => break,
                }
            }
            shared.add(&hist, ok, errors).await;
        });
    }
    while set.join_next().await.is_some() {}
    shared.result(start).await
}

/// How one HTTP/1.1 request ended.
enum H1 {
    /// A 2xx.
    Ok,
    /// Another status, or no answer.
    Failed,
    /// The run's time ran out first.
    TimeUp,
}

/// Sends one request on `tls`, connecting first when there is no connection. A kept-alive
/// connection the server has closed (its requests-per-connection limit, its idle timeout) is
/// replaced and the request sent once more on the new one; the time that takes counts in its
/// latency, and only a request that fails on a fresh connection is an error.
async fn h1_request(
    client: &Client,
    src: std::net::IpAddr,
    tls: &mut Option<TlsStream<TcpStream>>,
    request: &[u8],
    until: Instant,
) -> H1 {
    loop {
        let fresh = tls.is_none();
        if fresh {
            *tls = client.tls_from_with(src, Buffers::default()).await.ok();
        }
        let Some(conn) = tls.as_mut() else {
            return H1::Failed;
        };
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client::exchange(conn, request)).await {
            Ok(Ok(200..=299)) => return H1::Ok,
            Ok(Ok(_)) => return H1::Failed,
            Ok(Err(_)) => {
                *tls = None;
                if fresh {
                    return H1::Failed;
                }
            }
            Err(_) => return H1::TimeUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_offset_to_send_evenly() {
        let start = Instant::now();
        // 100 per second over 4 connections: every 10 ms one of them is due.
        let mut all: Vec<_> = (0..4)
            .flat_map(|c| (0..5).map(move |k| due(start, 100.0, 4, c, k) - start))
            .collect();
        all.sort();
        for (i, d) in all.iter().enumerate() {
            assert_eq!(d.as_millis(), i as u128 * 10, "{all:?}");
        }
    }
}
