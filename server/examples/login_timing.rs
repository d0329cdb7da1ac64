//! Report: does a failed login take measurably different time for an unknown username than
//! for a known username with the wrong password? (It should not: unknown users are verified
//! against a dummy hash with the same parameters.)
//!
//! Run with the real parameters, optimised:
//! `cargo run --release -p rampart --example login_timing -- [SAMPLES]`
//! Prints per-kind latency statistics, the difference of means and medians, and Welch's t.
//! This is a measurement, not a test: timing depends on the machine.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::TestServer;
use common::api::Api;

fn stats(v: &mut [f64]) -> (f64, f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (mean, var, p(0.5), p(0.95))
}

#[tokio::main]
async fn main() {
    let samples: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let server = TestServer::start(|_| {}).await;
    let mut api = Api::open(server.addr, &server.ca).await;
    api.user("timing_user").await;
    // Warm-up, then interleave the two kinds so drift affects both equally.
    for _ in 0..10 {
        api.login("timing_user", "warm up the pool please").await;
    }
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..samples * 2 {
        let user = if i % 2 == 0 {
            "timing_user"
        } else {
            "no_such_user_here"
        };
        let t = Instant::now();
        let r = api.login(user, "definitely not the password").await;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(r.status, 401);
        if i % 2 == 0 {
            wrong.push(ms)
        } else {
            unknown.push(ms)
        }
    }
    let (mw, vw, p50w, p95w) = stats(&mut wrong);
    let (mu, vu, p50u, p95u) = stats(&mut unknown);
    let n = samples as f64;
    let t = (mw - mu) / (vw / n + vu / n).sqrt();
    println!("samples per kind: {samples} (argon2id m=19456 KiB, t=2, p=1)");
    println!(
        "wrong password : mean {mw:.3} ms  p50 {p50w:.3}  p95 {p95w:.3}  sd {:.3}",
        vw.sqrt()
    );
    println!(
        "unknown user   : mean {mu:.3} ms  p50 {p50u:.3}  p95 {p95u:.3}  sd {:.3}",
        vu.sqrt()
    );
    println!(
        "difference     : mean {:+.3} ms ({:+.2}%), p50 {:+.3} ms; Welch t = {t:.2} (|t| < 2: no detectable gap)",
        mw - mu,
        (mw - mu) / mu * 100.0,
        p50w - p50u
    );
}
