//! Report: the CPU one request costs in rampart's router, apart from TLS, hyper and the
//! network: `GET /healthz` through `http::router` (every layer: the request limits, the
//! handler deadline, the body limit, the security headers) on an in-memory SQLite state,
//! called back to back. `SECURITY.md` ("Where the HTTP/1.1 gap is") found the router to be
//! what rampart adds to the floor; this is the measure to take before and after changing it.
//!
//! `cargo run --release -p rampart --example router_cost -- [REQUESTS] [ROUNDS] [THREADS]`
//! Prints each round's ns per request, then the median of the rounds. With THREADS above 1
//! (default 1), that many workers call the one router at once, as the server's workers do,
//! each REQUESTS per round: the time per request of each, so that what the threads share (the
//! reference counts each request takes, the counters) shows as the difference from one
//! thread. A measurement, not a test: the figures depend on the machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::body::Body;
use http::Request;
use rampart::auth::backoff::Backoff;
use rampart::config::{Config, DatabaseConfig};
use rampart::db::Db;
use rampart::http::ClientAddr;
use rampart::http::rate_limit::RequestLimits;
use rampart::limits::cooldown::Cooldown;
use rampart::limits::refusals::Refusals;
use rampart::metrics::Metrics;

// The allocator rampart's binary uses.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: u32 = args
        .next()
        .map_or(Ok(200_000), |a| a.parse())
        .context("REQUESTS")?;
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse()).context("ROUNDS")?;
    let threads: usize = args
        .next()
        .map_or(Ok(1), |a| a.parse())
        .context("THREADS")?;
    anyhow::ensure!(threads >= 1, "THREADS: at least 1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut config = Config {
            database: DatabaseConfig {
                url: "sqlite::memory:".to_string(),
                max_connections: 1,
            },
            ..Config::default()
        };
        // As `bench/rampart-bench.toml`: the load tool's address is exempt from the rates.
        config.limits.exempt = vec!["127.0.0.0/8".parse()?];
        let db = Db::connect(&config.database).await?;
        let refusals = Refusals::new(
            Arc::new(Metrics::default()),
            config.limits.log_interval,
            config.limits.max_tracked_clients,
            Cooldown::from_config(&config.limits),
        );
        let limits = RequestLimits::new(&config.limits, refusals);
        let backoff = Backoff::from_config(&config.limits);
        let state = rampart::server::app_state(&config, db, limits, backoff).await?;
        let router = rampart::http::router(state);
        let client = ClientAddr(SocketAddr::from(([127, 0, 0, 1], 40000)));
        let mut per_round = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let t = Instant::now();
            let workers = (0..threads)
                .map(|_| {
                    let router = router.clone();
                    tokio::spawn(async move {
                        for _ in 0..requests {
                            let mut req = Request::get("/healthz").body(Body::empty())?;
                            req.extensions_mut().insert(client);
                            // As the connection's service calls it.
                            let resp = router.call(req).await?;
                            anyhow::ensure!(
                                resp.status() == 200,
                                "GET /healthz: {}",
                                resp.status()
                            );
                        }
                        anyhow::Ok(())
                    })
                })
                .collect::<Vec<_>>();
            for worker in workers {
                worker.await??;
            }
            let ns = t.elapsed().as_nanos() as f64 / f64::from(requests);
            println!("round {}: {ns:.0} ns per request", round + 1);
            per_round.push(ns);
        }
        per_round.sort_by(f64::total_cmp);
        println!(
            "median of {rounds} rounds of {requests}: {:.0} ns per request",
            per_round[rounds / 2]
        );
        Ok(())
    })
}
