//! The `auth` scans against two banks: the weak one (no owner checks, a counter for tokens,
//! logouts and password changes that revoke nothing, logins that say and show whether a user
//! exists, a balance taken from the request) must be caught by every scan with the right
//! technique; rampart, on its defaults with the scanners' network exempt from rate limits (as
//! `--spawn` makes it), must pass every one.

use crate::common;

use std::path::Path;

use common::{Rampart, check, scenario};
use serde_json::Value;

/// The expiry check of `session-tokens`.
const EXPIRY_CHECK: &str = "a token after its expires_at refused";

async fn scan(url: &str, ca: &Path) -> (Option<i32>, String, Value) {
    let run = common::scan(&["auth"], url, ca).await;
    (run.code, run.text, run.report)
}

/// (endpoint, technique) of every finding of `s`, sorted.
fn found(s: &Value) -> Vec<(String, String)> {
    let mut v: Vec<_> = s["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (text("endpoint"), text("technique"))
        })
        .collect();
    v.sort();
    v
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_planted_auth_flaw_is_found() {
    let bank = common::weak_bank::start().await;
    let (code, text, r) = scan(&bank.url, &bank.ca).await;
    assert_eq!(code, Some(1), "{text}");
    let idor = scenario(&r, "idor");
    assert_eq!(idor["verdict"], "vulnerable", "{text}");
    assert_eq!(
        found(idor),
        pairs(&[
            ("GET /v1/accounts/{id}", "idor"),
            ("POST /v1/accounts/{id}/deposits", "idor"),
            ("POST /v1/transfers", "idor"),
        ])
    );
    let tokens = scenario(&r, "session-tokens");
    assert_eq!(
        found(tokens),
        pairs(&[
            ("GET /v1/accounts", "token-errors-distinguishable"),
            ("GET /v1/accounts", "token-expiry"),
            ("GET /v1/accounts", "token-reuse"),
            ("GET /v1/accounts", "token-reuse"),
        ]),
        "{text}"
    );
    let enumeration = scenario(&r, "user-enumeration");
    assert_eq!(
        found(enumeration),
        pairs(&[
            ("POST /v1/sessions", "user-enumeration-message"),
            ("POST /v1/sessions", "user-enumeration-timing"),
        ]),
        "{text}"
    );
    assert_eq!(
        found(scenario(&r, "token-entropy")),
        pairs(&[("POST /v1/sessions", "weak-session-token")]),
        "{text}"
    );
    let mass = scenario(&r, "mass-assignment");
    assert_eq!(
        found(mass),
        pairs(&[("POST /v1/accounts", "mass-assignment")]),
        "{text}"
    );
    assert_eq!(mass["findings"][0]["parameter"], "body balance, currency");
    assert_eq!(
        found(scenario(&r, "user-confusables")),
        pairs(&[
            ("POST /v1/users", "user-confusables"),
            ("POST /v1/users", "user-confusables"),
            ("POST /v1/users", "user-confusables"),
        ]),
        "fullwidth, mathematical bold and upper case: {text}"
    );
    // Tokens are live credentials: a finding about them shows their shape, never them.
    let entropy = &scenario(&r, "token-entropy")["findings"][0]["evidence"];
    assert!(!entropy.to_string().contains("tok000"), "{entropy}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_passes_every_auth_scan() {
    let rampart = Rampart::start_scannable().await;
    let (code, text, r) = scan(&rampart.url, &rampart.ca).await;
    for name in [
        "idor",
        "session-tokens",
        "user-enumeration",
        "token-entropy",
        "mass-assignment",
        "user-confusables",
    ] {
        let s = scenario(&r, name);
        assert_eq!(s["verdict"], "passed", "{name}: {text}");
        assert!(
            s["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .all(|c| c["result"] == "passed" || c["name"] == EXPIRY_CHECK),
            "{s}"
        );
    }
    assert_eq!(code, Some(0), "{text}");
    // Tokens that live 12 hours are not waited out: skipped, and said why.
    let expiry = check(scenario(&r, "session-tokens"), EXPIRY_CHECK);
    assert_eq!(expiry["result"], "skipped", "{expiry}");
    assert!(
        expiry["detail"]
            .as_str()
            .expect("detail")
            .starts_with("tokens live 43200 s"),
        "{expiry}"
    );
    // The IDOR scan reached each id-taking operation.
    let idor = scenario(&r, "idor")["checks"].to_string();
    for endpoint in [
        "GET /v1/accounts/{id} with",
        "GET /v1/accounts/{id}/transactions with",
        "POST /v1/accounts/{id}/deposits with",
        "POST /v1/accounts/{id}/withdrawals with",
        "POST /v1/transfers with",
    ] {
        assert!(idor.contains(endpoint), "{endpoint}: {idor}");
    }
}

/// With a session lifetime short enough to wait out (rampart's least: a minute), the expiry
/// check is made, and rampart refuses the token once its `expires_at` has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rampart_refuses_a_token_past_its_expires_at() {
    let rampart = Rampart::start_with(|c| {
        common::exempt_scanners(c);
        c.auth.session_idle_timeout = std::time::Duration::from_secs(60);
        c.auth.session_absolute_timeout = std::time::Duration::from_secs(60);
    })
    .await;
    let run = common::scan(&["session-tokens"], &rampart.url, &rampart.ca).await;
    let s = scenario(&run.report, "session-tokens");
    assert_eq!(s["verdict"], "passed", "{}", run.text);
    let expiry = check(s, EXPIRY_CHECK);
    assert_eq!(expiry["result"], "passed", "{expiry}");
    assert_eq!(run.code, Some(0), "{}", run.text);
}
