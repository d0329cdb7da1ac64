//! The `web` scans in headless Chromium: the weak web bank (test-only; unescaped notes and
//! search text, a `SameSite=None` cookie script can read, no origin check, any body type,
//! framing allowed, inline script in its policy) must be caught on each flaw with the right
//! technique, and rampart's own pages must pass every check.
//!
//! Ignored unless asked for (`--run-ignored only -E 'test(/^web::/)'`): they need Debian's
//! `chromium` and `chromium-driver`, which `.ci/run` installs.

use crate::common;

use std::collections::BTreeSet;

use common::{Rampart, attack_sim, report, scenario, weak_web};
use serde_json::Value;

/// (scenario, technique, endpoint) of every finding of the run.
fn found(r: &Value) -> BTreeSet<(String, String, String)> {
    r["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .flat_map(|s| {
            let name = s["name"].as_str().unwrap_or_default().to_string();
            s["findings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |f| {
                    let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (name.clone(), text("technique"), text("endpoint"))
                })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (.ci/run installs them)"]
async fn the_weak_web_bank_is_caught_on_each_flaw() {
    let bank = weak_web::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, weak_web::plan(&bank.url, &bank.ca)).expect("plan");
    let out = dir.path().join("reports");
    let (code, text) = attack_sim(&[
        "run",
        "web",
        "--plan",
        plan.to_str().expect("utf-8"),
        "--report-dir",
        out.to_str().expect("utf-8"),
    ])
    .await;
    assert_eq!(code, Some(1), "{text}");
    let r = report(&out);
    for name in [
        "web-csp",
        "web-cookie",
        "web-framing",
        "web-csrf",
        "web-xss",
    ] {
        assert_eq!(
            scenario(&r, name)["verdict"],
            "vulnerable",
            "{name}: {text}"
        );
    }
    let found = found(&r);
    let t = |s: &str, t: &str, e: &str| (s.to_string(), t.to_string(), e.to_string());
    for expected in [
        t("web-csp", "weak-csp", "GET /"),
        t("web-cookie", "weak-session-cookie", "Set-Cookie"),
        t("web-framing", "clickjacking", "GET /"),
        t("web-csrf", "csrf", "POST /notes"),
        t("web-csrf", "csrf", "POST /transfer"),
        t("web-xss", "stored-xss", "POST /notes"),
        t("web-xss", "reflected-xss", "GET /search"),
    ] {
        assert!(
            found.contains(&expected),
            "{expected:?} not in {found:?}\n{}",
            scenario(&r, &expected.0)
        );
    }
    let csp = &scenario(&r, "web-csp")["findings"][0]["summary"];
    for w in ["'unsafe-inline'", "object-src", "base-uri"] {
        assert!(csp.as_str().unwrap_or_default().contains(w), "{w}: {csp}");
    }
    let cookie = &scenario(&r, "web-cookie")["findings"][0]["summary"];
    for w in ["HttpOnly", "SameSite=None"] {
        assert!(
            cookie.as_str().unwrap_or_default().contains(w),
            "{w}: {cookie}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (.ci/run installs them)"]
async fn rampart_passes_every_web_check() {
    let rampart = Rampart::start_scannable().await;
    let run = common::scan(&["web"], &rampart.url, &rampart.ca).await;
    for name in [
        "web-csp",
        "web-cookie",
        "web-framing",
        "web-csrf",
        "web-xss",
    ] {
        let s = scenario(&run.report, name);
        assert_eq!(s["verdict"], "passed", "{name}: {s}");
        assert_eq!(s["findings"], serde_json::json!([]), "{name}");
    }
    assert_eq!(run.code, Some(0), "{}", run.text);
    // The stored payloads reached the pages and were shown as text: the checks judged
    // something, in the account list (names) and an account's history (memos).
    let xss = scenario(&run.report, "web-xss");
    let details: Vec<String> = xss["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| format!("{} {} {}", c["name"], c["result"], c["detail"]))
        .collect();
    for shown in [
        "POST /v1/accounts body name",
        "/deposits body memo",
        "POST /v1/transfers body memo",
    ] {
        assert!(
            details
                .iter()
                .any(|d| d.contains(shown) && d.contains("shown as text")),
            "{shown}: {details:#?}"
        );
    }
    let csrf = scenario(&run.report, "web-csrf");
    assert!(
        csrf["checks"].as_array().expect("checks").len() >= 8,
        "every documented POST forged: {csrf}"
    );
}
