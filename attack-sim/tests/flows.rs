//! Declared login flows, on an API in another style than rampart's (its own paths, a form
//! login that sets a cookie, field names of its own, its document under `/api`), driven by a
//! plan file: the scans reach what only a signed-in user can and find the planted
//! injections; without the flow, those operations are checks not made, never passes; the
//! legitimate client signs in with the same flow and makes the plan's authenticated probe.

use std::collections::BTreeSet;

use crate::common;

use common::{attack_sim, report, scenario, weak_notes};
use serde_json::Value;

fn findings(s: &Value) -> BTreeSet<(String, String)> {
    s["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["endpoint"].as_str().expect("endpoint").to_string(),
                f["parameter"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_cookie_flow_reaches_the_planted_injections() {
    let notes = weak_notes::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, weak_notes::plan(&notes.url, &notes.ca, "")).expect("plan");
    let out = dir.path().join("reports");
    let (code, text) = attack_sim(&[
        "run",
        "sql-injection",
        "--plan",
        plan.to_str().expect("utf-8"),
        "--report-dir",
        out.to_str().expect("utf-8"),
    ])
    .await;
    assert_eq!(code, Some(1), "{text}");
    let r = report(&out);
    let s = scenario(&r, "sql-injection");
    assert_eq!(s["verdict"], "vulnerable", "{s}");
    let found = findings(s);
    let endpoints: BTreeSet<&str> = found.iter().map(|(e, _)| e.as_str()).collect();
    assert!(
        found.contains(&("GET /api/notes".into(), "query search".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("GET /api/notes/{note_id}".into(), "path note_id".into())),
        "{found:?}"
    );
    // Nothing else: the bound queries (signup, signin, writing a note) hold.
    assert_eq!(
        endpoints,
        BTreeSet::from(["GET /api/notes", "GET /api/notes/{note_id}"]),
        "{found:?}"
    );
    // The session cookie never shows in the evidence.
    let evidence = s["findings"].to_string();
    assert!(evidence.contains("sid=(secret)"), "{evidence}");
    // The setup made its note: no step was skipped.
    assert!(!r["notes"].to_string().contains("setup:"), "{}", r["notes"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_flow_the_signed_in_operations_are_not_made() {
    let notes = weak_notes::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = format!("{}/api/openapi.json", notes.url);
    let (code, text) = attack_sim(&[
        "run",
        "sql-injection",
        "--target",
        &notes.url,
        "--ca",
        notes.ca.to_str().expect("utf-8"),
        "--openapi",
        &doc,
        "--report-dir",
        dir.path().to_str().expect("utf-8"),
    ])
    .await;
    // Nothing found, and not a pass: the notes answered 401 to every request.
    assert_eq!(code, Some(3), "{text}");
    let r = report(dir.path());
    let s = scenario(&r, "sql-injection");
    assert_eq!(s["verdict"], "inconclusive", "{s}");
    assert_eq!(s["findings"], serde_json::json!([]));
    let notes_check = common::check(s, "GET /api/notes");
    assert_eq!(notes_check["result"], "unmade", "{s}");
    assert!(
        notes_check["detail"]
            .as_str()
            .expect("detail")
            .contains("no session reaches it"),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legitimate_client_signs_in_with_the_declared_flow() {
    let notes = weak_notes::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        weak_notes::plan(&notes.url, &notes.ca, "intensity = \"smoke\""),
    )
    .expect("plan");
    let out = dir.path().join("reports");
    let (code, text) = attack_sim(&[
        "run",
        "slowloris",
        "--plan",
        plan.to_str().expect("utf-8"),
        "--report-dir",
        out.to_str().expect("utf-8"),
    ])
    .await;
    assert_ne!(code, Some(2), "{text}");
    assert!(
        text.contains(
            "legitimate client: GET /api/status (2 in 3 requests), GET /api/notes as probe_"
        ),
        "{text}"
    );
    let r = report(&out);
    assert!(
        r["legit_client"]
            .as_str()
            .expect("legit_client")
            .contains("a login every 6 s"),
        "{r}"
    );
    let samples = scenario(&r, "slowloris")["samples"]
        .as_array()
        .expect("samples")
        .clone();
    let baseline_ok = |route: &str| {
        samples
            .iter()
            .any(|x| x["route"] == route && x["phase"] == "baseline" && x["ok"] == true)
    };
    assert!(baseline_ok("notes"), "{samples:?}");
    assert!(baseline_ok("login"), "{samples:?}");
    assert!(baseline_ok("GET /api/status"), "{samples:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixture_the_document_lacks_is_skipped_and_the_other_checks_still_run() {
    // Rampart's routes but no transfers in the document: rampart's preset cannot make its
    // three transfers. Before, discovery failed ("transfer (POST /v1/transfers): answered
    // 404") and every scan was not made.
    let bank = common::weak_bank::start_without_transfers().await;
    let run = common::scan(&["idor", "sql-injection"], &bank.url, &bank.ca).await;
    assert_eq!(run.code, Some(1), "{}", run.text);
    let notes = run.report["notes"].to_string();
    assert!(
        notes.contains(
            "setup: transfer (POST /v1/transfers) skipped: the document lists no such operation"
        ),
        "{notes}"
    );
    assert!(run.text.contains("note: setup: transfer"), "{}", run.text);
    // The weak bank's missing owner checks are still found with what the setup made.
    assert_eq!(
        scenario(&run.report, "idor")["verdict"],
        "vulnerable",
        "{}",
        run.text
    );
    for name in ["idor", "sql-injection"] {
        let checks = scenario(&run.report, name)["checks"].to_string();
        assert!(!checks.contains("\"discovery\""), "{name}: {checks}");
    }
}
