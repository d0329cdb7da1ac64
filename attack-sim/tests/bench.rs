//! `attack-sim bench` against rampart in-process with its per-client limits lifted (as
//! `bench/rampart-bench.toml` does): every measurement has figures, resumed handshakes
//! really resume, and bench.json follows its schema; with `--server-pid` (this test process,
//! which serves), every measurement has the server's CPU per operation (`cli.rs` has the
//! refusal of a pid it cannot read). The figures themselves are not judged here (no timed assertions): they
//! are recorded by running the bench, see SECURITY.md.

use crate::common;

use common::{Rampart, attack_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_measures_handshakes_and_both_protocols() {
    let rampart = Rampart::start_with(|c| {
        c.limits.max_connections_per_client = 10_000;
        c.limits.handshake_rate_per_client = 100_000;
        c.limits.handshake_burst_per_client = 100_000;
        c.limits.exempt = vec!["127.77.0.0/16".parse().expect("net")];
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, text) = attack_sim(&[
        "bench",
        "--target",
        &rampart.url,
        "--ca",
        rampart.ca.to_str().expect("utf-8 path"),
        "--duration",
        "1",
        "--report-dir",
        dir.path().to_str().expect("utf-8 path"),
        "--server-pid",
        &std::process::id().to_string(),
    ])
    .await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("resumed handshakes") && text.contains("http/2 at 50%"),
        "{text}"
    );
    assert!(text.contains("SERVER CPU PER  full handshake: "), "{text}");
    let b: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bench.json")).expect("bench.json"),
    )
    .expect("JSON");
    assert_eq!(b["schema_version"], 1);
    assert_eq!(b["target"], rampart.url.as_str());
    let n = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let full = &b["full_handshakes"];
    assert!(n(&full["per_second"]) > 0.0, "{full}");
    for m in ["full_handshakes", "resumed_handshakes", "http1", "http2"] {
        assert!(n(&b[m]["server_cpu_us"]) > 0.0, "{m}: {}", b[m]);
    }
    assert_eq!(full["resumed"], 0, "a full handshake never resumes: {full}");
    assert_eq!(
        full["hello_retries"], 0,
        "rampart takes the X25519 share the client sends beside its hybrid one: {full}"
    );
    let resumed = &b["resumed_handshakes"];
    assert!(
        n(&resumed["resumed"]) > 0.5 * n(&resumed["completed"]),
        "most resumed: {resumed}"
    );
    for proto in ["http1", "http2"] {
        let r = &b[proto];
        assert!(n(&r["max_per_second"]) > 0.0, "{r}");
        assert_eq!(r["closed_errors"], 0, "{r}");
        let open = &r["open"];
        assert!(n(&open["latency"]["count"]) > 0.0, "{r}");
        assert!(
            n(&open["latency"]["p999_ms"]) >= n(&open["latency"]["p50_ms"]),
            "{r}"
        );
        assert_eq!(open["errors"], 0, "{r}");
    }
}
