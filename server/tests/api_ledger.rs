//! Accounts, deposits, withdrawals and transfers over real TLS: ownership (IDOR), atomicity
//! and no overdraft under concurrency, idempotent replays, amounts, and hostile text stored
//! as plain data.

use crate::common;

use common::api::Api;
use common::{Reply, TestServer, bounded};
use hyper::StatusCode;
use serde_json::{Value, json};

async fn withdraw(api: &mut Api, token: &str, account: &str, body: Value) -> Reply {
    api.call(
        "POST",
        &format!("/v1/accounts/{account}/withdrawals"),
        Some(token),
        Some(body),
    )
    .await
}

async fn transfer(api: &mut Api, token: &str, key: &str, body: Value) -> Reply {
    api.transfer(token, key, &body).await
}

#[tokio::test]
async fn deposit_withdraw_transfer_journey() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let bob = api.user("bob").await;
        let checking = api.open_account(&alice, "Checking").await;
        let savings = api.open_account(&alice, "Savings").await;
        let bobs = api.open_account(&bob, "Bob's").await;

        let r = api.deposit(&alice, &checking, "100.00").await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json()["kind"], "deposit");
        assert_eq!(r.json()["amount"], "100.00");
        assert_eq!(r.json()["transfer_id"], Value::Null);

        let r = withdraw(&mut api, &alice, &checking, json!({"amount": "10.5"})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json()["amount"], "10.50");
        let r = withdraw(&mut api, &alice, &checking, json!({"amount": "1000.00"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "insufficient funds");
        assert_eq!(r.json()["field"], "amount");

        let r = transfer(
            &mut api,
            &alice,
            "k1",
            json!({"from_account": checking, "to_account": savings, "amount": "20.00", "memo": "rainy day"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let t = r.json();
        assert_eq!(t["from_account"], checking.as_str());
        assert_eq!(t["to_account"], savings.as_str());
        assert_eq!(t["amount"], "20.00");
        assert_eq!(t["memo"], "rainy day");

        let r = transfer(
            &mut api,
            &alice,
            "k2",
            json!({"from_account": savings, "to_account": bobs, "amount": "5.25", "memo": "lunch"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);

        assert_eq!(api.balance(&alice, &checking).await, "69.50");
        assert_eq!(api.balance(&alice, &savings).await, "14.75");
        assert_eq!(api.balance(&bob, &bobs).await, "5.25");

        let r = api.call("GET", "/v1/accounts", Some(&alice), None).await;
        let list = r.json();
        let ids: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [checking.as_str(), savings.as_str()]);
        let (balances, net) = rampart::store::ledger::totals(s.running.db()).await.expect("totals");
        assert_eq!(balances, net, "money is conserved");
    })
    .await;
}

#[tokio::test]
async fn other_users_accounts_are_not_found() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let mallory = api.user("mallory").await;
        let acct = api.open_account(&alice, "Checking").await;
        api.deposit(&alice, &acct, "50.00").await;
        let mine = api.open_account(&mallory, "Mine").await;

        let missing = api
            .call(
                "GET",
                &format!("/v1/accounts/{}", uuid::Uuid::new_v4()),
                Some(&mallory),
                None,
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let r = api
            .call("GET", &format!("/v1/accounts/{acct}"), Some(&mallory), None)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.body, missing.body, "another user's account looks missing");
        let r = withdraw(&mut api, &mallory, &acct, json!({"amount": "1.00"})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = api.deposit(&mallory, &acct, "1.00").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = transfer(
            &mut api,
            &mallory,
            "steal",
            json!({"from_account": acct, "to_account": mine, "amount": "50.00"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = api.call("GET", "/v1/accounts", Some(&mallory), None).await;
        assert_eq!(r.json()["items"].as_array().expect("items").len(), 1);
        assert_eq!(api.balance(&alice, &acct).await, "50.00");
        let r = api
            .call("GET", "/v1/accounts/not-a-uuid", Some(&mallory), None)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn concurrent_full_balance_withdrawals_and_transfers_succeed_once() {
    bounded(async {
        // One user firing 50 requests at once: above the per-user burst, which is not what
        // this test is about.
        let s = TestServer::start(|c| c.limits.request_burst_per_user = 1000).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let a = api.open_account(&alice, "A").await;
        let b = api.open_account(&alice, "B").await;

        for (label, is_transfer) in [("withdrawals", false), ("transfers", true)] {
            api.deposit(&alice, &a, "100.00").await;
            let mut tasks = Vec::new();
            for i in 0..50 {
                let (addr, ca, token, a, b) =
                    (s.addr, s.ca.clone(), alice.clone(), a.clone(), b.clone());
                tasks.push(tokio::spawn(async move {
                    let mut api = Api::open_as(i, addr, &ca).await;
                    if is_transfer {
                        transfer(
                            &mut api,
                            &token,
                            &format!("race-{i}"),
                            json!({"from_account": a, "to_account": b, "amount": "100.00"}),
                        )
                        .await
                        .status
                    } else {
                        withdraw(&mut api, &token, &a, json!({"amount": "100.00"}))
                            .await
                            .status
                    }
                }));
            }
            let mut ok = 0;
            for t in tasks {
                match t.await.expect("task") {
                    StatusCode::CREATED => ok += 1,
                    StatusCode::UNPROCESSABLE_ENTITY => {}
                    other => panic!("{label}: unexpected {other}"),
                }
            }
            assert_eq!(ok, 1, "{label}: exactly one full-balance debit succeeds");
            assert_eq!(api.balance(&alice, &a).await, "0.00", "{label}");
        }
        assert_eq!(api.balance(&alice, &b).await, "100.00");
        let (balances, net) = rampart::store::ledger::totals(s.running.db())
            .await
            .expect("totals");
        assert_eq!(balances, net, "sum of balances = deposits - withdrawals");
    })
    .await;
}

#[tokio::test]
async fn transfers_are_idempotent() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let a = api.open_account(&alice, "A").await;
        let b = api.open_account(&alice, "B").await;
        api.deposit(&alice, &a, "30.00").await;
        let body = json!({"from_account": a, "to_account": b, "amount": "10.00", "memo": "once"});
        let first = transfer(&mut api, &alice, "pay-1", body.clone()).await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert!(first.headers.get("idempotent-replayed").is_none());
        let again = transfer(&mut api, &alice, "pay-1", body.clone()).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(
            again.json(),
            first.json(),
            "a replay returns the same transfer"
        );
        assert_eq!(api.balance(&alice, &a).await, "20.00", "moved once");

        let changed =
            json!({"from_account": a, "to_account": b, "amount": "11.00", "memo": "once"});
        let r = transfer(&mut api, &alice, "pay-1", changed).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["field"], "Idempotency-Key");

        // The key is required.
        let r = api
            .call("POST", "/v1/transfers", Some(&alice), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["field"], "Idempotency-Key");
        assert_eq!(api.balance(&alice, &a).await, "20.00");
    })
    .await;
}

/// `POST /v1/accounts/{account}/{what}` with `Idempotency-Key: key`.
async fn keyed(
    api: &mut Api,
    token: &str,
    account: &str,
    what: &str,
    key: &str,
    body: &Value,
) -> Reply {
    let auth = format!("Bearer {token}");
    api.conn
        .send(
            "POST",
            &format!("/v1/accounts/{account}/{what}"),
            &[("authorization", &auth), ("idempotency-key", key)],
            Some(body),
        )
        .await
        .expect("request")
}

#[tokio::test]
async fn deposits_and_withdrawals_with_a_key_move_money_once() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let a = api.open_account(&alice, "A").await;
        let body = json!({"amount": "30.00", "memo": "salary"});
        let first = keyed(&mut api, &alice, &a, "deposits", "dep-1", &body).await;
        assert_eq!(first.status, StatusCode::CREATED);
        assert!(first.headers.get("idempotent-replayed").is_none());
        let again = keyed(&mut api, &alice, &a, "deposits", "dep-1", &body).await;
        assert_eq!(again.status, StatusCode::CREATED);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(
            again.json(),
            first.json(),
            "a replay returns the same entry"
        );
        assert_eq!(api.balance(&alice, &a).await, "30.00", "deposited once");

        // The same key with another amount, or for a withdrawal, is another request.
        let r = keyed(
            &mut api,
            &alice,
            &a,
            "deposits",
            "dep-1",
            &json!({"amount": "31.00", "memo": "salary"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["field"], "Idempotency-Key");
        let r = keyed(&mut api, &alice, &a, "withdrawals", "dep-1", &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        let out = json!({"amount": "5.00"});
        for _ in 0..3 {
            let r = keyed(&mut api, &alice, &a, "withdrawals", "wd-1", &out).await;
            assert_eq!(r.status, StatusCode::CREATED);
        }
        assert_eq!(api.balance(&alice, &a).await, "25.00", "withdrawn once");

        // Keys are per user: another user's same key is theirs.
        let bob = api.user("bob").await;
        let b = api.open_account(&bob, "B").await;
        let r = keyed(&mut api, &bob, &b, "deposits", "dep-1", &body).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(r.headers.get("idempotent-replayed").is_none());

        // A malformed key is refused; no key at all is still a plain deposit.
        let r = keyed(&mut api, &alice, &a, "deposits", "has space", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["field"], "Idempotency-Key");
        assert_eq!(
            api.deposit(&alice, &a, "1.00").await.status,
            StatusCode::CREATED
        );
        assert_eq!(
            api.deposit(&alice, &a, "1.00").await.status,
            StatusCode::CREATED
        );
        assert_eq!(api.balance(&alice, &a).await, "27.00");
    })
    .await;
}

#[tokio::test]
async fn one_deposit_key_sent_at_once_on_many_connections_moves_money_once() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let a = api.open_account(&alice, "A").await;
        let body = json!({"amount": "10.00", "memo": "double click"});
        // Connected first, then released together, so that the requests overlap.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let mut api = Api::open(s.addr, &s.ca).await;
            let (alice, a, body, start) = (alice.clone(), a.clone(), body.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                keyed(&mut api, &alice, &a, "deposits", "same-key", &body).await
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for t in tasks {
            let r = t.await.expect("task");
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            ids.insert(r.json()["id"].as_str().expect("id").to_string());
        }
        assert_eq!(ids.len(), 1, "every answer is the one entry");
        assert_eq!(api.balance(&alice, &a).await, "10.00");
    })
    .await;
}

#[tokio::test]
async fn amounts_are_validated_with_the_field_named() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let t = api.user("alice").await;
        let a = api.open_account(&t, "A").await;
        for bad in [
            "0",
            "-5.00",
            "1e3",
            "1.234",
            "1000000000.01",
            "١٢",
            " 5",
            "NaN",
        ] {
            let r = api.deposit(&t, &a, bad).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert_eq!(r.json()["field"], "amount", "{bad}");
        }
        // A JSON number is the wrong type: 400 naming the field.
        let r = api
            .call(
                "POST",
                &format!("/v1/accounts/{a}/deposits"),
                Some(&t),
                Some(json!({"amount": 5})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["field"], "amount");
        // Mass assignment: a balance field is refused, not applied.
        let r = api
            .call(
                "POST",
                "/v1/accounts",
                Some(&t),
                Some(json!({"name": "X", "balance": "1000.00"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["field"], "balance");
        assert_eq!(
            api.deposit(&t, &a, "1000000000.00").await.status,
            StatusCode::CREATED
        );
        assert_eq!(api.balance(&t, &a).await, "1000000000.00");
    })
    .await;
}

#[tokio::test]
async fn sql_metacharacters_are_plain_data() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let t = api.user("alice").await;
        let hostile = [
            "'; DROP TABLE accounts; --",
            "\" OR \"1\"=\"1",
            "%_\\% LIKE '%'",
            "Robert'); DELETE FROM transactions;--",
            "1 UNION SELECT password_hash FROM users",
        ];
        let mut ids = Vec::new();
        for name in hostile {
            let r = api
                .call(
                    "POST",
                    "/v1/accounts",
                    Some(&t),
                    Some(json!({"name": name})),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{name}");
            assert_eq!(r.json()["name"], name);
            ids.push(r.json()["id"].as_str().expect("id").to_string());
        }
        let r = api.deposit(&t, &ids[0], "1.00").await;
        assert_eq!(r.status, StatusCode::CREATED);
        let r = withdraw(
            &mut api,
            &t,
            &ids[0],
            json!({"amount": "0.50", "memo": hostile[3]}),
        )
        .await;
        assert_eq!(r.json()["memo"], hostile[3]);
        let r = api.call("GET", "/v1/accounts", Some(&t), None).await;
        let list = r.json();
        let names: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, hostile);
    })
    .await;
}
