//! The `input-abuse` scan against three targets: a hand-written HTTP server (a value written
//! into `Location`, files joined without a check, a parse that fails with a 500) and the weak
//! bank (lenient bodies, careless amounts) must each be caught with the right technique and
//! nothing else; rampart, reached through its login flow, must refuse or survive every probe.

use crate::common;

use std::path::Path;

use common::{Rampart, scenario};
use serde_json::Value;

async fn scan(url: &str, ca: &Path) -> (Option<i32>, String, Value) {
    let run = common::scan(&["input-abuse"], url, ca).await;
    (run.code, run.text, run.report)
}

/// (endpoint, parameter, technique) of every finding of the scan, sorted.
fn found(r: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = scenario(r, "input-abuse")["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (text("endpoint"), text("parameter"), text("technique"))
        })
        .collect();
    v.sort();
    v
}

fn triples(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_written_server_is_caught_splitting_climbing_and_failing() {
    let weak = common::weak_raw::start().await;
    let (code, text, r) = scan(&weak.url, &weak.ca).await;
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(scenario(&r, "input-abuse")["verdict"], "vulnerable");
    assert_eq!(
        found(&r),
        triples(&[
            ("GET /r/files/{name}", "path name", "path-traversal"),
            ("GET /r/lookup", "query id", "unhandled-input"),
            ("GET /r/redirect", "query next", "crlf-injection"),
        ]),
        "{text}"
    );
    let findings = scenario(&r, "input-abuse")["findings"].to_string();
    // The evidence shows the split head and the file read.
    assert!(findings.contains("X-Attack-Sim-Injected"), "{findings}");
    assert!(findings.contains("root:x:0:0:"), "{findings}");
    // What was cut rather than answered was not shown safe.
    let checks = scenario(&r, "input-abuse")["checks"].to_string();
    assert!(
        checks.contains(r#""name":"GET /r/fragile query q","result":"unmade""#),
        "{checks}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lenient_bank_is_caught_on_types_duplicates_amounts_and_bytes() {
    let bank = common::weak_bank::start().await;
    let (code, text, r) = scan(&bank.url, &bank.ca).await;
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(scenario(&r, "input-abuse")["verdict"], "vulnerable");
    let (accounts, deposits, transfers, users) = (
        "POST /v1/accounts",
        "POST /v1/accounts/{id}/deposits",
        "POST /v1/transfers",
        "POST /v1/users",
    );
    // Bodies are read in the order the document lists fields (alphabetical here). A body that
    // is not JSON reads as empty: the first such registration takes the name "", so the later
    // ones are refused as taken; a transfer between "" and "" is refused as unknown accounts.
    assert_eq!(
        found(&r),
        triples(&[
            (accounts, "body name", "duplicate-keys"),
            (accounts, "body name", "invalid-utf8"),
            (accounts, "body name", "nul-byte"),
            (accounts, "body name", "type-confusion"),
            (deposits, "body amount", "amount-abuse"),
            (deposits, "body amount", "duplicate-keys"),
            (deposits, "body amount", "invalid-utf8"),
            (deposits, "body amount", "nul-byte"),
            (deposits, "body amount", "type-confusion"),
            (transfers, "body amount", "amount-abuse"),
            (transfers, "body amount", "duplicate-keys"),
            (transfers, "body amount", "nul-byte"),
            (transfers, "body amount", "type-confusion"),
            (transfers, "body from_account", "duplicate-keys"),
            (transfers, "body memo", "duplicate-keys"),
            (transfers, "body memo", "nul-byte"),
            (transfers, "body memo", "type-confusion"),
            (transfers, "body to_account", "duplicate-keys"),
            (users, "body password", "duplicate-keys"),
            (users, "body password", "invalid-utf8"),
            (users, "body password", "nul-byte"),
            (users, "body password", "type-confusion"),
            (users, "body username", "duplicate-keys"),
            (users, "body username", "nul-byte"),
        ]),
        "{text}"
    );
    let findings = scenario(&r, "input-abuse")["findings"]
        .as_array()
        .expect("findings")
        .clone();
    let amount = findings
        .iter()
        .find(|f| f["technique"] == "amount-abuse")
        .expect("amount-abuse");
    assert_eq!(amount["severity"], "high");
    assert!(
        amount["summary"]
            .as_str()
            .expect("summary")
            .contains("-1.00"),
        "the first abuse, a negative amount: {amount}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_refuses_or_survives_every_abusive_input() {
    let rampart = Rampart::start_scannable().await;
    let (code, text, r) = scan(&rampart.url, &rampart.ca).await;
    let s = scenario(&r, "input-abuse");
    assert_eq!(s["verdict"], "passed", "{text}");
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(s["findings"], serde_json::json!([]));
    let checks = s["checks"].as_array().expect("checks");
    assert!(checks.iter().all(|c| c["result"] == "passed"), "{s}");
    let detail = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["detail"].as_str())
            .unwrap_or_else(|| panic!("{name} probed: {s}"))
            .to_string()
    };
    // Every money field, every path id, every text field was probed.
    for name in [
        "POST /v1/transfers body amount",
        "POST /v1/accounts/{id}/deposits body amount",
        "POST /v1/accounts/{id}/withdrawals body amount",
        "GET /v1/accounts/{id} path id",
        "POST /v1/transfers body memo",
        "POST /v1/users body username",
        "GET /v1/accounts/{id}/transactions query q",
    ] {
        assert!(detail(name).contains("probes refused or handled"), "{name}");
    }
}
