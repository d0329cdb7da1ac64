//! `attack-sim bench`: how fast the target is, measured the way an attacker's budget is:
//! full and resumed TLS handshakes per second, and HTTP/1.1 and HTTP/2 keep-alive requests
//! per second, each first as fast as answered (closed loop, as wrk and h2load measure) and then
//! at half that rate in an open model (each request due at a fixed time, latency from when it
//! was due, so that a stalled server is not hidden by a stalled client, as wrk2 measures).
//!
//! Connections come from the attack source pool, so a server's per-client limits meet many
//! clients; a server with per-client handshake or request rates measures its limits, not its
//! capacity, unless they are lifted for the bench (`bench/rampart-bench.toml` does so for
//! rampart).

pub mod h2;
pub mod handshakes;
pub mod latency;
pub mod requests;
pub mod server_cpu;

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::client::Client;
use crate::sources::Sources;
use handshakes::Handshakes;
use requests::Requests;
use server_cpu::ServerCpu;

/// The schema version of `bench.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// How the bench runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BenchConfig {
    /// Length of each measurement (there are six).
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
    /// Handshakes in flight at once.
    pub handshake_workers: usize,
    /// HTTP/1.1 keep-alive connections.
    pub h1_connections: usize,
    /// HTTP/2 connections.
    pub h2_connections: usize,
    /// Requests in flight on each HTTP/2 connection in the closed loop.
    pub h2_streams: usize,
    /// The open model's rate as a share of the closed loop's.
    pub open_share: f64,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl BenchConfig {
    /// The defaults, with each measurement lasting `duration`.
    pub fn new(duration: Duration) -> Self {
        BenchConfig {
            duration,
            handshake_workers: 16,
            h1_connections: 32,
            h2_connections: 4,
            h2_streams: 16,
            open_share: 0.5,
        }
    }
}

/// `bench.json`.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `attack-sim <version>`.
    pub tool: String,
    /// The target's URL.
    pub target: String,
    /// RFC 3339.
    pub started_at: String,
    /// How it ran.
    pub config: BenchConfig,
    /// Full handshakes (no resumption).
    pub full_handshakes: Handshakes,
    /// Resumed handshakes (session tickets).
    pub resumed_handshakes: Handshakes,
    /// `GET /healthz` over HTTP/1.1 keep-alive connections.
    pub http1: Requests,
    /// The same over HTTP/2.
    pub http2: Requests,
}

/// Runs every measurement against the target `client` reaches, with the server's CPU per
/// handshake and per request when `cpu` names its processes.
pub async fn run(
    client: &Client,
    sources: &Sources,
    cfg: BenchConfig,
    cpu: &ServerCpu,
) -> BenchReport {
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let handshakes = |resume| async move {
        let from = cpu.mark();
        let mut h = handshakes::measure(client, sources, &cfg, resume).await;
        h.server_cpu_us = cpu.per_op_us(from, h.completed);
        h
    };
    let full_handshakes = handshakes(false).await;
    let resumed_handshakes = handshakes(true).await;
    let answered = |r: &Requests| r.closed_latency.count + r.open.latency.count;
    let from = cpu.mark();
    let mut http1 = requests::measure_h1(client, sources, &cfg).await;
    http1.server_cpu_us = cpu.per_op_us(from, answered(&http1));
    let from = cpu.mark();
    let mut http2 = h2::measure(client, sources, &cfg).await;
    http2.server_cpu_us = cpu.per_op_us(from, answered(&http2));
    BenchReport {
        schema_version: SCHEMA_VERSION,
        tool: format!("attack-sim {}", env!("CARGO_PKG_VERSION")),
        target: client.host().to_string(),
        started_at,
        config: cfg,
        full_handshakes,
        resumed_handshakes,
        http1,
        http2,
    }
}

impl BenchReport {
    /// The figures as a table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<20} {:>12} {:>10} {:>10} {:>10} {:>8}\n",
            "MEASUREMENT", "PER SECOND", "P50 MS", "P99 MS", "P99.9 MS", "ERRORS"
        );
        let mut row = |name: &str, rate: f64, l: &latency::Latency, errors: u64| {
            out += &format!(
                "{name:<20} {rate:>12.0} {:>10.2} {:>10.2} {:>10.2} {errors:>8}\n",
                l.p50_ms, l.p99_ms, l.p999_ms
            );
        };
        let (f, r) = (&self.full_handshakes, &self.resumed_handshakes);
        row("full handshakes", f.per_second, &f.latency, f.failed);
        row("resumed handshakes", r.per_second, &r.latency, r.failed);
        for (name, q) in [("http/1.1", &self.http1), ("http/2", &self.http2)] {
            row(
                &format!("{name} max"),
                q.max_per_second,
                &q.closed_latency,
                q.closed_errors,
            );
            row(
                &format!("{name} at {:.0}%", self.config.open_share * 100.0),
                q.open.rate_per_second,
                &q.open.latency,
                q.open.errors,
            );
        }
        for (name, h) in [("full", f), ("resumed", r)] {
            if h.hello_retries > 0 {
                out += &format!(
                    "{name} handshakes: {} of {} needed a HelloRetryRequest (the server wanted a \
                     key share the client had not sent)\n",
                    h.hello_retries, h.completed
                );
            }
        }
        let cpu = [
            ("full handshake", f.server_cpu_us),
            ("resumed handshake", r.server_cpu_us),
            ("http/1.1 request", self.http1.server_cpu_us),
            ("http/2 request", self.http2.server_cpu_us),
        ];
        if cpu.iter().any(|(_, us)| us.is_some()) {
            out += "SERVER CPU PER";
            for (name, us) in cpu {
                match us {
                    Some(us) => out += &format!("  {name}: {us:.0} us"),
                    None => out += &format!("  {name}: -"),
                }
            }
            out += "\n";
        }
        out
    }

    /// Writes `bench.json` into `dir`, atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<std::path::PathBuf> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::report::write_atomically(dir, "bench.json", &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latency::Latency;
    use requests::OpenModel;

    fn handshakes(completed: u64, hello_retries: u64, cpu: Option<f64>) -> Handshakes {
        Handshakes {
            per_second: completed as f64 / 2.0,
            completed,
            resumed: 0,
            hello_retries,
            failed: 0,
            latency: Latency::default(),
            server_cpu_us: cpu,
        }
    }

    fn requests(protocol: &'static str, cpu: Option<f64>) -> Requests {
        Requests {
            protocol,
            connections: 4,
            in_flight_per_connection: 1,
            max_per_second: 1_000.0,
            closed_latency: Latency::default(),
            closed_errors: 0,
            open: OpenModel {
                rate_per_second: 500.0,
                sent: 1_000,
                errors: 0,
                latency: Latency::default(),
            },
            server_cpu_us: cpu,
        }
    }

    fn report(full_retries: u64, cpu: Option<f64>) -> BenchReport {
        BenchReport {
            schema_version: SCHEMA_VERSION,
            tool: "attack-sim test".into(),
            target: "https://127.0.0.1:1".into(),
            started_at: "2026-12-07T00:00:00Z".into(),
            config: BenchConfig::new(Duration::from_secs(2)),
            full_handshakes: handshakes(3_261, full_retries, cpu),
            resumed_handshakes: handshakes(4_000, 0, cpu),
            http1: requests("http/1.1", cpu),
            http2: requests("h2", cpu),
        }
    }

    #[test]
    fn the_table_says_how_many_handshakes_needed_a_hello_retry_and_only_then() {
        let table = report(3_261, None).table();
        assert!(
            table.contains(
                "full handshakes: 3261 of 3261 needed a HelloRetryRequest (the server wanted a \
                 key share the client had not sent)"
            ),
            "{table}"
        );
        assert!(!table.contains("resumed handshakes: "), "{table}");
        let table = report(0, None).table();
        assert!(!table.contains("HelloRetryRequest"), "{table}");
    }

    #[test]
    fn the_table_has_the_server_cpu_line_only_when_it_was_measured() {
        assert!(!report(0, None).table().contains("SERVER CPU PER"));
        let table = report(0, Some(254.4)).table();
        assert!(
            table.contains("SERVER CPU PER  full handshake: 254 us  resumed handshake: 254 us"),
            "{table}"
        );
    }
}
