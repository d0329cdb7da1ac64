//! Transaction history over real TLS: LIKE search with escaped wildcards, allowlisted sort and
//! order, keyset pagination with tamper-evident cursors, ownership, transfer entries.

use crate::common;

use common::api::Api;
use common::{Reply, TestServer, bounded};
use hyper::StatusCode;
use serde_json::{Value, json};

struct Fixture {
    api: Api,
    token: String,
    account: String,
    _server: TestServer,
}

async fn fixture() -> Fixture {
    let s = TestServer::start(|_| {}).await;
    let mut api = Api::open(s.addr, &s.ca).await;
    let token = api.user("alice").await;
    let r = api
        .call(
            "POST",
            "/v1/accounts",
            Some(&token),
            Some(json!({"name": "A"})),
        )
        .await;
    let account = r.json()["id"].as_str().expect("id").to_string();
    for (amount, memo) in [
        ("10.00", "rent march"),
        ("30.00", "rent april"),
        ("5.00", "50% off"),
        ("20.00", "groceries_x"),
        ("1.00", "coffee"),
        ("7.00", "groceriesXx"),
    ] {
        let r = api
            .call(
                "POST",
                &format!("/v1/accounts/{account}/deposits"),
                Some(&token),
                Some(json!({"amount": amount, "memo": memo})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    Fixture {
        api,
        token,
        account,
        _server: s,
    }
}

impl Fixture {
    async fn history(&mut self, query: &str) -> Reply {
        let path = format!("/v1/accounts/{}/transactions{query}", self.account);
        self.api.call("GET", &path, Some(&self.token), None).await
    }
}

fn memos(r: &Reply) -> Vec<String> {
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["memo"].as_str().expect("memo").to_string())
        .collect()
}

#[tokio::test]
async fn search_treats_wildcards_as_text() {
    bounded(async {
        let mut f = fixture().await;
        let mut rent = memos(&f.history("?q=rent").await);
        rent.sort();
        assert_eq!(rent, ["rent april", "rent march"]);
        assert_eq!(memos(&f.history("?q=50%25").await), ["50% off"]);
        assert_eq!(
            memos(&f.history("?q=%25").await),
            ["50% off"],
            "% is literal"
        );
        assert_eq!(
            memos(&f.history("?q=_").await),
            ["groceries_x"],
            "_ is literal"
        );
        assert_eq!(
            memos(&f.history("?q=%27%20OR%201%3D1%20--").await),
            Vec::<String>::new()
        );
        assert_eq!(memos(&f.history("").await).len(), 6);
    })
    .await;
}

#[tokio::test]
async fn sort_and_order_are_allowlisted() {
    bounded(async {
        let mut f = fixture().await;
        let r = f.history("?sort=amount&order=asc").await;
        let amounts: Vec<f64> = r.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| {
                e["amount"]
                    .as_str()
                    .expect("amount")
                    .parse()
                    .expect("number")
            })
            .collect();
        assert_eq!(amounts, [1.0, 5.0, 7.0, 10.0, 20.0, 30.0]);
        // Default: newest first.
        assert_eq!(memos(&f.history("").await)[0], "groceriesXx");
        for (query, field) in [
            ("?sort=memo", "sort"),
            ("?sort=amount;DROP%20TABLE%20users", "sort"),
            ("?sort=(SELECT%201)", "sort"),
            ("?order=sideways", "order"),
            ("?limit=0", "limit"),
            ("?limit=101", "limit"),
            ("?limit=1e1", "limit"),
            ("?evil=1", "evil"),
            ("?q=a&q=b", "q"),
        ] {
            let r = f.history(query).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(r.json()["field"], field, "{query}");
        }
    })
    .await;
}

async fn walk(f: &mut Fixture, base: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut query = base.to_string();
    for _ in 0..20 {
        let r = f.history(&query).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {:?}", r.body);
        let page = r.json();
        all.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("{base}&cursor={c}"),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

#[tokio::test]
async fn pagination_visits_every_entry_once_in_order() {
    bounded(async {
        let mut f = fixture().await;
        for (sort, order) in [
            ("created_at", "desc"),
            ("amount", "asc"),
            ("amount", "desc"),
        ] {
            let full = f
                .history(&format!("?sort={sort}&order={order}&limit=100"))
                .await
                .json()["items"]
                .clone();
            let paged = walk(&mut f, &format!("?sort={sort}&order={order}&limit=2")).await;
            assert_eq!(Value::Array(paged), full, "{sort} {order}");
        }
        let rent = walk(&mut f, "?q=rent&limit=1").await;
        assert_eq!(rent.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn cursors_are_tamper_evident_and_bound_to_the_query() {
    bounded(async {
        let mut f = fixture().await;
        let r = f.history("?limit=2").await;
        let cursor = r.json()["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_string();
        let mut bytes = cursor.clone().into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        for query in [
            format!("?limit=2&cursor={tampered}"),
            format!("?limit=2&cursor={}", &cursor[..cursor.len() - 3]),
            format!("?limit=2&sort=amount&cursor={cursor}"),
            format!("?limit=2&q=rent&cursor={cursor}"),
            "?cursor=not-a-cursor".to_string(),
        ] {
            let r = f.history(&query).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(r.json()["field"], "cursor", "{query}");
        }
        // And for another account.
        let r = f
            .api
            .call(
                "POST",
                "/v1/accounts",
                Some(&f.token),
                Some(json!({"name": "B"})),
            )
            .await;
        let other = r.json()["id"].as_str().expect("id").to_string();
        let r = f
            .api
            .call(
                "GET",
                &format!("/v1/accounts/{other}/transactions?limit=2&cursor={cursor}"),
                Some(&f.token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn history_of_another_users_account_is_not_found() {
    bounded(async {
        let mut f = fixture().await;
        let mallory = f.api.user("mallory").await;
        let path = format!("/v1/accounts/{}/transactions", f.account);
        let r = f.api.call("GET", &path, Some(&mallory), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_transfer_makes_exactly_two_entries() {
    bounded(async {
        let mut f = fixture().await;
        let bob = f.api.user("bob").await;
        let r = f.api.call("POST", "/v1/accounts", Some(&bob), Some(json!({"name": "Bob"}))).await;
        let bobs = r.json()["id"].as_str().expect("id").to_string();
        let auth = format!("Bearer {}", f.token);
        let body = json!({"from_account": f.account, "to_account": bobs, "amount": "2.50", "memo": "split bill"});
        let r = f
            .api
            .conn
            .send("POST", "/v1/transfers", &[("authorization", &auth), ("idempotency-key", "t1")], Some(&body))
            .await
            .expect("send");
        assert_eq!(r.status, StatusCode::CREATED);
        let transfer_id = r.json()["id"].as_str().expect("id").to_string();
        let mine = f.history("?q=split").await.json()["items"].clone();
        let theirs = f
            .api
            .call("GET", &format!("/v1/accounts/{bobs}/transactions"), Some(&bob), None)
            .await
            .json()["items"]
            .clone();
        assert_eq!(mine.as_array().expect("items").len(), 1);
        assert_eq!(theirs.as_array().expect("items").len(), 1);
        let (out, inn) = (&mine[0], &theirs[0]);
        assert_eq!(out["kind"], "transfer_out");
        assert_eq!(inn["kind"], "transfer_in");
        for (e, other) in [(out, &bobs), (inn, &f.account)] {
            assert_eq!(e["transfer_id"], transfer_id.as_str());
            assert_eq!(e["counterparty_account"], other.as_str());
            assert_eq!(e["amount"], "2.50");
        }
    })
    .await;
}
