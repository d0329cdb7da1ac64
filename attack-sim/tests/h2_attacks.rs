//! The HTTP/2 attack code against rampart in-process, without the runner: each part does
//! what it says on the wire (requests answered over multiplexed streams; abusive connections
//! cut by the server).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use attack_sim::dos::{AttackCounters, AttackCtx, h2_requests};
use attack_sim::intensity::Intensity;
use attack_sim::sources::Sources;
use common::Rampart;

fn ctx(rampart: &Rampart, secs: u64) -> AttackCtx {
    AttackCtx {
        client: common::client_for(&rampart.url, &rampart.ca),
        sources: Sources::new("127.78.0.0/16".parse().expect("net"), 16).expect("sources"),
        preset: Intensity::Smoke.preset(None),
        until: tokio::time::Instant::now() + Duration::from_secs(secs),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiplexed_requests_are_answered_over_http2() {
    // This is about the attack's wire, not rampart's defences: its cool-down would refuse the
    // reconnects of a client past 100 refusals (the DoS suite judges that).
    let rampart = Rampart::start_with(|c| c.limits.cooldown = Duration::ZERO).await;
    let counters = Arc::new(AttackCounters::default());
    let run = h2_requests::run(ctx(&rampart, 2), counters.clone(), 2, 0, "/healthz");
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("stops at its deadline");
    let a = counters.snapshot();
    // Two connections with 16 streams each: far more answers than two closed loops of one.
    assert_eq!(a.refused, 0, "{a:?}");
    assert!(a.responses >= 100, "{a:?}");
    assert!(a.sent >= a.responses, "{a:?}");
    assert_eq!(a.open_peak, 2, "{a:?}");
}
