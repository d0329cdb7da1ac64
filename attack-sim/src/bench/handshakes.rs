//! TLS handshakes per second: `handshake_workers` connections in flight, each opened from the
//! next source address, taken through the handshake and dropped, as fast as completed. Full
//! handshakes never offer a session; resumed ones read the tickets the server sends after
//! each handshake and offer one in the next (the first handshake of each worker is full), and
//! the count of those really resumed is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::HandshakeKind;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::BenchConfig;
use super::latency::{self, Latency};
use crate::client::{self, Client};
use crate::sources::Sources;

/// How long a resumed run waits for the tickets of each handshake (they follow it at once).
const TICKET_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// One handshake measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Handshakes {
    /// Completed per second.
    pub per_second: f64,
    /// Completed.
    pub completed: u64,
    /// Of which resumed.
    pub resumed: u64,
    /// Of which needed a HelloRetryRequest (the server wanted a key share the client had not
    /// sent: one more round trip and key generation).
    pub hello_retries: u64,
    /// Failed or refused.
    pub failed: u64,
    /// Time from connect to the end of the handshake.
    pub latency: Latency,
    /// The server's CPU per completed handshake, in µs (with `--server-pid`).
    pub server_cpu_us: Option<f64>,
}

/// Measures full (`resume` false) or resumed handshakes.
pub async fn measure(
    client: &Client,
    sources: &Sources,
    cfg: &BenchConfig,
    resume: bool,
) -> Handshakes {
    let hist = Arc::new(Mutex::new(latency::histogram()));
    let (completed, resumed, retried, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let start = Instant::now();
    let until = start + cfg.duration;
    let workers = cfg.handshake_workers.max(1);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (client, sources, hist) = (client.clone(), sources.clone(), hist.clone());
            let (completed, resumed, retried, failed) = (
                completed.clone(),
                resumed.clone(),
                retried.clone(),
                failed.clone(),
            );
            tokio::spawn(async move {
                let mut local = latency::histogram();
                let mut n = 0usize;
                while Instant::now() < until {
                    let src = sources.pick(w + n * workers);
                    n += 1;
                    let t0 = Instant::now();
                    let tls = if resume {
                        client.tls_from(src).await
                    } else {
                        client.tls_full_from(src).await
                    };
                    match tls {
                        Ok(mut tls) => {
                            latency::record(&mut local, t0.elapsed());
                            completed.fetch_add(1, Ordering::Relaxed);
                            match tls.get_ref().1.handshake_kind() {
                                Some(HandshakeKind::Resumed) => {
                                    resumed.fetch_add(1, Ordering::Relaxed);
                                }
                                Some(HandshakeKind::FullWithHelloRetryRequest) => {
                                    retried.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => {}
                            }
                            if resume {
                                // The next handshake resumes with the tickets of this one.
                                let _ = tokio::time::timeout(
                                    TICKET_WAIT,
                                    client::await_tickets(&mut tls),
                                )
                                .await;
                            }
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let _ = hist.lock().await.add(&local);
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let completed = completed.load(Ordering::Relaxed);
    let latency = Latency::of(&*hist.lock().await);
    Handshakes {
        per_second: completed as f64 / elapsed.max(1e-9),
        completed,
        resumed: resumed.load(Ordering::Relaxed),
        hello_retries: retried.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        latency,
        server_cpu_us: None,
    }
}
