//! Measurements for SECURITY.md, run the same way against rampart and against any other HTTPS
//! server (nginx) on this machine. Not a test: the figures depend on the machine.
//!
//! `idle`: resident memory per idle, established TLS keep-alive connection. Opens `--warm`
//! connections (one request each) and samples the server's RSS, then opens `--conns` more and
//! samples again; the difference divided by `--conns` is the marginal cost of a connection,
//! free of start-up and allocator warm-up. Connections come from many 127.x addresses
//! (`--per-source` each) so per-client caps are met, not tripped.
//!
//! `slowloris`: a slowloris of `--conns` TLS connections from `--sources` addresses (each
//! sends a partial request head, then one more header line every `--interval`, and reconnects
//! when cut), with a legitimate client on its own address opening a fresh connection for one
//! GET at `--rate` per second (open model: requests are started on schedule whether or not
//! earlier ones finished). Prints the legitimate success rate and latency before and during
//! the attack, and the attack's own counts.
//!
//! ```text
//! cargo run --release -p attack-sim --example dos_measure -- idle \
//!     --target 127.0.0.1:8443 --ca certs/dev/ca.pem --pid $(pgrep -x rampart)
//! cargo run --release -p attack-sim --example dos_measure -- slowloris \
//!     --target 127.0.0.1:8443 --ca certs/dev/ca.pem --pid $(pgrep -x rampart)
//! ```
//! Traffic goes only to loopback: the target must be a 127.0.0.0/8 address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use attack_sim::client::Client;
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::client::TlsStream;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(clap::Args, Clone)]
struct Target {
    /// The server, a loopback address and port.
    #[arg(long)]
    target: SocketAddr,
    /// PEM file of the CA that signed the server's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// Server process ids whose resident memory is summed (nginx: master and workers).
    #[arg(long, num_args = 1..)]
    pid: Vec<u32>,
    /// Request path.
    #[arg(long, default_value = "/healthz")]
    path: String,
}

#[derive(Subcommand)]
enum Mode {
    Idle {
        #[command(flatten)]
        t: Target,
        #[arg(long, default_value_t = 5000)]
        conns: usize,
        #[arg(long, default_value_t = 200)]
        warm: usize,
        #[arg(long, default_value_t = 10)]
        per_source: usize,
        /// Offer only HTTP/2 instead of HTTP/1.1.
        #[arg(long)]
        h2: bool,
        /// Seconds to wait after opening before sampling (allocators return freed pages
        /// lazily; idle HTTP/1.1 connections are parked after a quarter second).
        #[arg(long, default_value_t = 15)]
        settle: u64,
    },
    Slowloris {
        #[command(flatten)]
        t: Target,
        #[arg(long, default_value_t = 5000)]
        conns: usize,
        #[arg(long, default_value_t = 250)]
        sources: usize,
        /// Seconds between the header lines each attack connection sends.
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// Seconds of legitimate traffic before the attack.
        #[arg(long, default_value_t = 10)]
        baseline: u64,
        /// Seconds of attack.
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Legitimate requests per second.
        #[arg(long, default_value_t = 5)]
        rate: u64,
        /// Legitimate request timeout in seconds.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

/// A TLS client for the target, which is named `localhost` for SNI.
fn client(t: &Target, alpn: &[u8]) -> Client {
    let target = attack_sim::target::Target {
        url: format!("https://localhost:{}", t.target.port()),
        host: "localhost".to_string(),
        addr: t.target,
    };
    let trust = attack_sim::trust::Trust {
        ca: Some(t.ca.clone()),
        ..attack_sim::trust::Trust::default()
    };
    Client::new(&target, &trust, &[alpn]).expect("CA loads")
}

/// One HTTP/1.1 GET on an open connection; the status code.
async fn get(tls: &mut TlsStream<TcpStream>, path: &str) -> std::io::Result<u16> {
    attack_sim::client::get(tls, "localhost", path).await
}

/// The `i`-th source address of a block: 127.<block>.x.y, y in 1..=250.
fn source(block: u8, i: usize) -> IpAddr {
    let (hi, lo) = (i / 250, i % 250 + 1);
    IpAddr::V4(Ipv4Addr::new(
        127,
        block,
        u8::try_from(hi).expect("at most 62,500 sources"),
        u8::try_from(lo).expect("lo"),
    ))
}

/// An HTTP/2 connection with one completed request, kept open by its driver task.
async fn h2_request(tls: TlsStream<TcpStream>, path: &str) -> Option<H2Held> {
    use http_body_util::Empty;
    use hyper::body::Bytes;
    let io = hyper_util::rt::TokioIo::new(tls);
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
            .await
            .ok()?;
    let driver = tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .ok()?;
    let resp = send.send_request(req).await.ok()?;
    use http_body_util::BodyExt;
    let ok = resp.status().is_success();
    resp.into_body().collect().await.ok()?;
    ok.then_some(H2Held {
        _send: send,
        _driver: driver,
    })
}

struct H2Held {
    _send: hyper::client::conn::http2::SendRequest<http_body_util::Empty<hyper::body::Bytes>>,
    _driver: tokio::task::JoinHandle<Result<(), hyper::Error>>,
}

enum Held {
    H1(Box<TlsStream<TcpStream>>),
    H2(H2Held),
}

/// Resident memory of the processes, in KiB.
fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .sum()
}

/// The highest of three samples a second apart, after `settle` seconds.
async fn settled_rss(pids: &[u32], settle: u64) -> u64 {
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let mut best = 0;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        best = best.max(rss_kib(pids));
    }
    best
}

/// Opens `n` connections (sources `first..first + n` at `per_source` each), one request on
/// each; returns those that were served.
async fn open_held(
    t: &Target,
    tls: &Client,
    first: usize,
    n: usize,
    per_source: usize,
    h2: bool,
) -> Vec<Held> {
    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    for i in first..first + n {
        let (tls, t, gate) = (tls.clone(), t.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            let src = source(70, i / per_source);
            let mut conn = tokio::time::timeout(Duration::from_secs(10), tls.tls_from(src))
                .await
                .ok()?
                .ok()?;
            if h2 {
                return h2_request(conn, &t.path).await.map(Held::H2);
            }
            let status = get(&mut conn, &t.path).await.ok()?;
            (status == 200).then_some(Held::H1(Box::new(conn)))
        }));
    }
    let mut held = Vec::with_capacity(n);
    for task in tasks {
        if let Ok(Some(c)) = task.await {
            held.push(c);
        }
    }
    held
}

async fn idle(t: Target, conns: usize, warm: usize, per_source: usize, h2: bool, settle: u64) {
    let alpn: &[u8] = if h2 { b"h2" } else { b"http/1.1" };
    let tls = client(&t, alpn);
    let start_rss = rss_kib(&t.pid);
    let warm_held = open_held(&t, &tls, 0, warm, per_source, h2).await;
    let before = settled_rss(&t.pid, settle).await;
    let began = Instant::now();
    let held = open_held(&t, &tls, warm, conns, per_source, h2).await;
    let opened_in = began.elapsed();
    let after = settled_rss(&t.pid, settle).await;
    // Are they still open? An HTTP/1.1 server that closed an idle connection has sent EOF.
    let mut still_open = 0;
    for c in held.iter() {
        match c {
            Held::H1(s) => {
                let mut probe = [0u8; 1];
                let closed = matches!(
                    tokio::time::timeout(Duration::from_millis(1), s.get_ref().0.peek(&mut probe))
                        .await,
                    Ok(Ok(0))
                );
                if !closed {
                    still_open += 1;
                }
            }
            Held::H2(h) => {
                if !h._driver.is_finished() {
                    still_open += 1;
                }
            }
        }
    }
    let per_conn = (after.saturating_sub(before) as f64) / (held.len().max(1) as f64);
    println!(
        "protocol            {}",
        if h2 { "HTTP/2" } else { "HTTP/1.1" }
    );
    println!("rss at start        {start_rss} KiB");
    println!(
        "rss after warm-up   {before} KiB ({} connections held)",
        warm_held.len()
    );
    println!(
        "rss with all held   {after} KiB ({} more served of {conns}, opened in {:.1}s)",
        held.len(),
        opened_in.as_secs_f64()
    );
    println!("still open at end   {still_open}");
    println!("per connection      {per_conn:.1} KiB");
    drop((warm_held, held));
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_ms: Vec<f64>,
}

impl Tally {
    fn line(&mut self, phase: &str) -> String {
        self.latencies_ms.sort_by(|a, b| a.total_cmp(b));
        let p = |q: f64| {
            if self.latencies_ms.is_empty() {
                f64::NAN
            } else {
                self.latencies_ms[((self.latencies_ms.len() - 1) as f64 * q).round() as usize]
            }
        };
        let total = self.ok + self.failed;
        format!(
            "{phase:<10} legit {}/{} = {:.2}% success, p50 {:.1} ms, p99 {:.1} ms",
            self.ok,
            total,
            100.0 * self.ok as f64 / total.max(1) as f64,
            p(0.5),
            p(0.99)
        )
    }
}

#[derive(Default)]
struct AttackCounts {
    held: AtomicU64,
    peak: AtomicU64,
    connects: AtomicU64,
    refused: AtomicU64,
    cut: AtomicU64,
}

#[allow(clippy::too_many_arguments)]
async fn slowloris(
    t: Target,
    conns: usize,
    sources: usize,
    interval: u64,
    baseline: u64,
    duration: u64,
    rate: u64,
    timeout: u64,
) {
    let tls = client(&t, b"http/1.1");
    let start = tokio::time::Instant::now();
    let attack_start = start + Duration::from_secs(baseline);
    let end = attack_start + Duration::from_secs(duration);
    let counts = Arc::new(AttackCounts::default());

    // The legitimate client: one fresh connection and GET per tick, on its own address.
    let probe = {
        let (t, tls) = (t.clone(), tls.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut results = Vec::new();
            while tokio::time::Instant::now() < end {
                let at = tick.tick().await;
                let (t, tls) = (t.clone(), tls.clone());
                results.push(tokio::spawn(async move {
                    let attack = at >= attack_start;
                    let work = async {
                        let mut c = tls.tls_from(source(73, 0)).await.ok()?;
                        get(&mut c, &t.path).await.ok()
                    };
                    let status = tokio::time::timeout(Duration::from_secs(timeout), work)
                        .await
                        .ok()
                        .flatten();
                    // Latency from the intended start, so a stalled client is not hidden.
                    (
                        attack,
                        status == Some(200),
                        at.elapsed().as_secs_f64() * 1000.0,
                    )
                }));
            }
            let (mut base, mut during) = (Tally::default(), Tally::default());
            for r in results {
                if let Ok((attack, ok, ms)) = r.await {
                    let tally = if attack { &mut during } else { &mut base };
                    if ok {
                        tally.ok += 1;
                        tally.latencies_ms.push(ms);
                    } else {
                        tally.failed += 1;
                    }
                }
            }
            (base, during)
        })
    };

    tokio::time::sleep_until(attack_start).await;
    let mut workers = Vec::with_capacity(conns);
    for i in 0..conns {
        let (t, tls, counts) = (t.clone(), tls.clone(), counts.clone());
        let src = source(71, i % sources);
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while tokio::time::Instant::now() < end {
                counts.connects.fetch_add(1, Ordering::Relaxed);
                let opened = tokio::time::timeout(Duration::from_secs(10), tls.tls_from(src)).await;
                let Ok(Ok(mut c)) = opened else {
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                };
                let head = format!(
                    "GET {} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\n",
                    t.path
                );
                if c.write_all(head.as_bytes()).await.is_err() {
                    counts.cut.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let now = counts.held.fetch_add(1, Ordering::Relaxed) + 1;
                counts.peak.fetch_max(now, Ordering::Relaxed);
                loop {
                    tokio::time::sleep(Duration::from_secs(interval)).await;
                    n += 1;
                    if tokio::time::Instant::now() >= end {
                        break;
                    }
                    let line = format!("X-Slow-{n}: {n}\r\n");
                    let alive =
                        c.write_all(line.as_bytes()).await.is_ok() && c.flush().await.is_ok();
                    // A server that cut us has sent EOF or an error response: look for it.
                    let mut probe = [0u8; 64];
                    let answered =
                        tokio::time::timeout(Duration::from_millis(1), c.read(&mut probe))
                            .await
                            .is_ok();
                    if !alive || answered {
                        counts.cut.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                counts.held.fetch_sub(1, Ordering::Relaxed);
            }
        }));
    }
    let mut rss_peak = 0;
    while tokio::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(rss_kib(&t.pid));
    }
    for w in workers {
        let _ = w.await;
    }
    let (mut base, mut during) = probe.await.expect("probe");
    println!(
        "attack     {conns} connections from {sources} addresses, a header line every {interval}s, {duration}s"
    );
    println!("{}", base.line("baseline"));
    println!("{}", during.line("attack"));
    println!(
        "attack     peak held {}, connects {}, refused or failed {}, cut by the server {}",
        counts.peak.load(Ordering::Relaxed),
        counts.connects.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.cut.load(Ordering::Relaxed)
    );
    println!("server     peak rss {rss_peak} KiB");
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let target = match &cli.mode {
        Mode::Idle { t, .. } | Mode::Slowloris { t, .. } => t.target,
    };
    assert!(
        target.ip().is_loopback(),
        "dos_measure only sends traffic to loopback addresses"
    );
    if let Ok(limit) = attack_sim::raise_open_files() {
        eprintln!("open-files limit {limit}");
    }
    match cli.mode {
        Mode::Idle {
            t,
            conns,
            warm,
            per_source,
            h2,
            settle,
        } => idle(t, conns, warm, per_source, h2, settle).await,
        Mode::Slowloris {
            t,
            conns,
            sources,
            interval,
            baseline,
            duration,
            rate,
            timeout,
        } => {
            slowloris(
                t, conns, sources, interval, baseline, duration, rate, timeout,
            )
            .await
        }
    }
}
