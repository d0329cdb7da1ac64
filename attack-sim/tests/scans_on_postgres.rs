//! The injection scans against rampart on PostgreSQL, where they meet another SQL dialect
//! (`pg_sleep` delays, PostgreSQL's error texts) and a text type that refuses NUL bytes: a NUL
//! that reached the database would fail there (a 5xx, `unhandled-input`). Needs
//! `TEST_POSTGRES_URL`, so it is ignored unless asked for; `.ci/run` runs it.

use crate::common;

use common::{Rampart, exempt_scanners, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TEST_POSTGRES_URL); .ci/run runs it"]
async fn rampart_on_postgres_yields_no_injection_finding() {
    let url = common::pg::fresh_url();
    let rampart = Rampart::start_with(|c| {
        exempt_scanners(c);
        c.database.url = url;
    })
    .await;
    let run = common::scan(&["injection"], &rampart.url, &rampart.ca).await;
    for name in ["sql-injection", "input-abuse"] {
        let s = scenario(&run.report, name);
        assert_eq!(s["verdict"], "passed", "{name}: {}", run.text);
        assert_eq!(s["findings"], serde_json::json!([]), "{name}");
        let checks = s["checks"].as_array().expect("checks");
        assert!(
            checks.iter().all(|c| c["result"] == "passed"),
            "{name}: every check made: {s}"
        );
        // The money and text fields were reached, through the flow's data on PostgreSQL.
        for point in [
            "POST /v1/transfers body memo",
            "POST /v1/transfers body amount",
            "GET /v1/accounts/{id}/transactions query q",
        ] {
            assert!(checks.iter().any(|c| c["name"] == point), "{name}: {point}");
        }
    }
    assert_eq!(run.code, Some(0), "{}", run.text);
}
