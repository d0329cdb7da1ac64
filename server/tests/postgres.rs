//! Several instances on one PostgreSQL database, as in a scaled-out deployment. These tests
//! exist only for PostgreSQL and are `#[ignore]`d, so a run without one reports them as
//! skipped; `.ci/run` starts PostgreSQL and runs them with `--run-ignored all` and
//! `TEST_POSTGRES_URL` set (and then runs the API, login and crash suites on
//! PostgreSQL too, with `TEST_DATABASE_BACKEND=postgres`).
//!
//! - What lives in the database is shared by every instance: a session opened on one works
//!   on the other and its logout ends it there; failed-login backoff counted on one throttles
//!   the other; an idempotency key used on one replays on the other, also when both get it at
//!   once; a history cursor from one pages on the other.
//! - The ledger holds under concurrency on PostgreSQL: crossing transfers from two instances'
//!   pools at once never overdraw, never deadlock into errors, and conserve money.

use crate::common;

use std::time::Duration;

use common::api::{Api, GOOD_PASSWORD};
use common::{TestServer, bounded, pg};
use hyper::StatusCode;
use rampart::config::DatabaseConfig;
use rampart::db::Db;
use rampart::store::ledger::{self, Kind, LedgerError, MovementRequest, TransferRequest};
use rampart::store::users::{self, User};
use serde_json::json;

/// Two in-process servers on one fresh schema.
async fn two_instances() -> (TestServer, TestServer) {
    let url = pg::fresh_url();
    let config = |c: &mut rampart::config::Config, url: &str| {
        c.database.url = url.to_string();
        c.limits.login_free_failures = 3;
        c.limits.login_backoff_base = Duration::from_secs(30);
    };
    let a = TestServer::start(|c| config(c, &url)).await;
    let b = TestServer::start(|c| config(c, &url)).await;
    (a, b)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
async fn sessions_backoff_idempotency_and_cursors_are_shared_by_instances() {
    bounded(async {
        let (a, b) = two_instances().await;
        let mut on_a = Api::open(a.addr, &a.ca).await;
        let mut on_b = Api::open(b.addr, &b.ca).await;

        // A session from A works on B, and a logout on B ends it on A.
        let token = on_a.user("alice").await;
        let r = on_b.call("GET", "/v1/me", Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let other = on_b.token("alice", GOOD_PASSWORD).await;
        let r = on_b
            .call("DELETE", "/v1/sessions/current", Some(&other), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = on_a.call("GET", "/v1/me", Some(&other), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);

        // Accounts made on A, money moved on B.
        let mut ids = Vec::new();
        for name in ["main", "savings"] {
            let r = on_a
                .call("POST", "/v1/accounts", Some(&token), Some(json!({"name": name})))
                .await;
            assert_eq!(r.status, StatusCode::CREATED);
            ids.push(r.json()["id"].as_str().expect("id").to_string());
        }
        let deposit = format!("/v1/accounts/{}/deposits", ids[0]);
        let r = on_b
            .call("POST", &deposit, Some(&token), Some(json!({"amount": "100.00"})))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);

        // One key, used on A and then on B: one transfer.
        let body = |amount: &str, memo: &str| {
            json!({"from_account": ids[0], "to_account": ids[1], "amount": amount, "memo": memo})
        };
        let first = on_a.transfer(&token, "k-1", &body("1.00", "m1")).await;
        assert_eq!(first.status, StatusCode::CREATED);
        let again = on_b.transfer(&token, "k-1", &body("1.00", "m1")).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert!(again.headers.contains_key("idempotent-replayed"));
        assert_eq!(again.json()["id"], first.json()["id"]);

        // One key sent to both at once, many times: each key moves money once.
        for i in 0..20 {
            let key = format!("race-{i}");
            let b1 = body("2.00", &key);
            let (x, y) = tokio::join!(
                on_a.transfer(&token, &key, &b1),
                on_b.transfer(&token, &key, &b1)
            );
            assert_eq!((x.status, y.status), (StatusCode::CREATED, StatusCode::CREATED), "{key}: {:?} {:?}", x.body, y.body);
            assert_eq!(x.json()["id"], y.json()["id"], "{key}");
            let replays = [&x, &y]
                .iter()
                .filter(|r| r.headers.contains_key("idempotent-replayed"))
                .count();
            assert_eq!(replays, 1, "{key}: exactly one of the two ran");
        }
        let r = on_a.call("GET", "/v1/accounts", Some(&token), None).await;
        let items = r.json()["items"].as_array().expect("items").clone();
        let balance = |id: &str| {
            items
                .iter()
                .find(|it| it["id"] == id)
                .map(|it| it["balance"].as_str().expect("balance").to_string())
        };
        assert_eq!(balance(&ids[0]).as_deref(), Some("59.00"));
        assert_eq!(balance(&ids[1]).as_deref(), Some("41.00"));

        // A cursor made by A pages on B (the cursor key is in the database).
        let page = format!("/v1/accounts/{}/transactions?limit=5", ids[0]);
        let r = on_a.call("GET", &page, Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let cursor = r.json()["next_cursor"].as_str().expect("cursor").to_string();
        let next = format!("{page}&cursor={cursor}");
        let r = on_b.call("GET", &next, Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.json()["items"].as_array().expect("items").len(), 5);

        // Failures counted on A throttle the account on B.
        for i in 0..4 {
            let r = Api::open_as(i, a.addr, &a.ca)
                .await
                .login("alice", "not the password at all")
                .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        let r = Api::open_as(9, b.addr, &b.ca)
            .await
            .login("alice", GOOD_PASSWORD)
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

/// Four accounts of one user, 10.00 each, on a fresh schema; two pools on it (two instances).
async fn ledger_on_two_pools() -> (Db, Db, String, Vec<String>) {
    let cfg = DatabaseConfig {
        url: pg::fresh_url(),
        max_connections: 8,
    };
    let a = Db::connect(&cfg).await.expect("instance a");
    let b = Db::connect(&cfg).await.expect("instance b");
    let user = User {
        id: rampart::store::new_id(),
        username: "ledger".into(),
        password_hash: "x".into(),
        created_at: 0,
    };
    users::insert(&a, &user).await.expect("user");
    let mut ids = Vec::new();
    for i in 0..4 {
        let acct = ledger::create_account(&a, &user.id, &format!("a{i}"))
            .await
            .expect("account");
        ledger::deposit(&b, &user.id, &acct.id, 1_000, "opening")
            .await
            .expect("deposit");
        ids.push(acct.id);
    }
    (a, b, user.id, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
async fn crossing_transfers_from_two_instances_conserve_money() {
    bounded(async {
        let (a, b, user, ids) = ledger_on_two_pools().await;
        let mut tasks = Vec::new();
        for w in 0..16usize {
            let db = if w % 2 == 0 { a.clone() } else { b.clone() };
            let (user, ids) = (user.clone(), ids.clone());
            tasks.push(tokio::spawn(async move {
                let (mut done, mut refused) = (0, 0);
                for i in 0..60usize {
                    // Every pair in both directions, so transfers cross all the time.
                    let from = (w + i) % 4;
                    let to = (from + 1 + (w * 7 + i) % 3) % 4;
                    let key = format!("w{w}-{i}");
                    let r = TransferRequest {
                        user_id: &user,
                        key: &key,
                        request_hash: &key,
                        from: &ids[from],
                        to: &ids[to],
                        cents: 1 + ((w * 31 + i * 17) % 400) as i64,
                        memo: "x",
                    };
                    match ledger::transfer(&db, &r).await {
                        Ok((_, false)) => done += 1,
                        Ok((_, true)) => panic!("{key} replayed"),
                        Err(LedgerError::InsufficientFunds) => refused += 1,
                        Err(e) => panic!("{key}: {e:?}"),
                    }
                }
                (done, refused)
            }));
        }
        let (mut done, mut refused) = (0, 0);
        for t in tasks {
            let (d, r) = t.await.expect("task");
            done += d;
            refused += r;
        }
        assert!(
            done > 100 && refused > 0,
            "{done} done, {refused} refused: not contended"
        );
        let (balances, net) = ledger::totals(&a).await.expect("totals");
        assert_eq!((balances, net), (4_000, 4_000), "money made or lost");
        let accounts = ledger::accounts_of(&b, &user).await.expect("accounts");
        let entries = ledger::entry_totals(&b).await.expect("entries");
        for acct in &accounts {
            assert!(acct.balance_cents >= 0, "{acct:?}");
            let sum = entries.iter().find(|(id, _)| *id == acct.id).map(|e| e.1);
            assert_eq!(sum, Some(acct.balance_cents), "entries of {}", acct.id);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
async fn one_deposit_key_on_two_instances_at_once_deposits_once() {
    bounded(async {
        let (a, b, user, ids) = ledger_on_two_pools().await;
        for i in 0..30 {
            let key = format!("d{i}");
            let r = MovementRequest {
                user_id: &user,
                account_id: &ids[0],
                kind: Kind::Deposit,
                cents: 10,
                memo: "x",
                key: Some((&key, "same")),
            };
            let (x, y) = tokio::join!(ledger::movement(&a, &r), ledger::movement(&b, &r));
            let (x, y) = (x.expect("a"), y.expect("b"));
            assert_eq!(x.0.id, y.0.id, "{key}");
            assert!(x.1 != y.1, "{key}: exactly one ran ({} {})", x.1, y.1);
        }
        let acct = ledger::account(&a, &user, &ids[0])
            .await
            .expect("q")
            .expect("acct");
        assert_eq!(acct.balance_cents, 1_000 + 30 * 10);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
async fn one_key_on_two_instances_at_once_moves_money_once() {
    bounded(async {
        let (a, b, user, ids) = ledger_on_two_pools().await;
        for i in 0..30 {
            let key = format!("k{i}");
            let r = TransferRequest {
                user_id: &user,
                key: &key,
                request_hash: "same",
                from: &ids[0],
                to: &ids[1],
                cents: 10,
                memo: "x",
            };
            let (x, y) = tokio::join!(ledger::transfer(&a, &r), ledger::transfer(&b, &r));
            let (x, y) = (x.expect("a"), y.expect("b"));
            assert_eq!(x.0.id, y.0.id, "{key}");
            assert!(x.1 != y.1, "{key}: exactly one ran ({} {})", x.1, y.1);
        }
        let acct = ledger::account(&a, &user, &ids[0])
            .await
            .expect("q")
            .expect("acct");
        assert_eq!(acct.balance_cents, 1_000 - 30 * 10);
    })
    .await;
}
