//! A small client for the bank API on top of [`super::Conn`].

use serde_json::{Value, json};

use super::{Conn, Reply};

/// A strong password that passes every rule.
pub const GOOD_PASSWORD: &str = "correct horse battery staple";

pub struct Api {
    pub conn: Conn,
}

impl Api {
    pub async fn open(addr: std::net::SocketAddr, ca: &std::path::Path) -> Api {
        Api {
            conn: Conn::open(addr, ca, &[b"h2"]).await.expect("connect"),
        }
    }

    /// Opens from source address 127.0.`n / 256`.`n % 256` + 1, so that many concurrent
    /// clients are many clients, as they would be in the field.
    pub async fn open_as(n: usize, addr: std::net::SocketAddr, ca: &std::path::Path) -> Api {
        let src = std::net::Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250) as u8 + 1);
        Api::open_from(src.into(), addr, ca).await
    }

    /// Opens from the source address `src`.
    pub async fn open_from(
        src: std::net::IpAddr,
        addr: std::net::SocketAddr,
        ca: &std::path::Path,
    ) -> Api {
        Api {
            conn: Conn::open_from(src, addr, ca, &[b"h2"])
                .await
                .expect("connect"),
        }
    }

    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.conn
            .send(method, path, &headers, body.as_ref())
            .await
            .expect("request")
    }

    pub async fn register(&mut self, username: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/v1/users",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/v1/sessions",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// `POST /v1/transfers` with an idempotency key.
    pub async fn transfer(&mut self, token: &str, key: &str, body: &Value) -> Reply {
        let auth = format!("Bearer {token}");
        self.conn
            .send(
                "POST",
                "/v1/transfers",
                &[("authorization", &auth), ("idempotency-key", key)],
                Some(body),
            )
            .await
            .expect("send")
    }

    /// Opens an account named `name` for the holder of `token`; its id.
    pub async fn open_account(&mut self, token: &str, name: &str) -> String {
        let r = self
            .call(
                "POST",
                "/v1/accounts",
                Some(token),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(r.status, 201, "open account {name}: {:?}", r.body);
        r.json()["id"].as_str().expect("id").to_string()
    }

    /// `POST /v1/accounts/{account}/deposits` of `amount` (a decimal string).
    pub async fn deposit(&mut self, token: &str, account: &str, amount: &str) -> Reply {
        self.call(
            "POST",
            &format!("/v1/accounts/{account}/deposits"),
            Some(token),
            Some(json!({"amount": amount})),
        )
        .await
    }

    /// The balance of `account`, as the API writes it (`"12.50"`).
    pub async fn balance(&mut self, token: &str, account: &str) -> String {
        let r = self
            .call("GET", &format!("/v1/accounts/{account}"), Some(token), None)
            .await;
        assert_eq!(r.status, 200, "balance of {account}: {:?}", r.body);
        r.json()["balance"].as_str().expect("balance").to_string()
    }

    /// Registers `username` with [`GOOD_PASSWORD`] and returns a session token.
    pub async fn user(&mut self, username: &str) -> String {
        let r = self.register(username, GOOD_PASSWORD).await;
        assert_eq!(r.status, 201, "register {username}: {:?}", r.body);
        self.token(username, GOOD_PASSWORD).await
    }

    pub async fn token(&mut self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status, 201, "login {username}: {:?}", r.body);
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// The bank journey a customer makes, end to end, checked at each step: two users
    /// register and log in, open accounts, deposit, transfer with an idempotency key (and
    /// replay it), see the balances, and find the transfer by its memo in the history.
    /// `tag` keeps the usernames apart when a server sees several journeys.
    pub async fn journey(&mut self, tag: &str) {
        let alice = self.user(&format!("alice-{tag}")).await;
        let bob = self.user(&format!("bob-{tag}")).await;
        let from = self.open_account(&alice, "Checking").await;
        let to = self.open_account(&bob, "Savings").await;
        let r = self.deposit(&alice, &from, "100.00").await;
        assert_eq!(r.status, 201, "deposit: {:?}", r.body);
        let body = json!({"from_account": from, "to_account": to, "amount": "25.50", "memo": "rent share"});
        for _ in 0..2 {
            let r = self
                .transfer(&alice, &format!("journey-{tag}"), &body)
                .await;
            assert!(
                r.status == 201 || r.status == 200,
                "transfer: {} {:?}",
                r.status,
                r.body
            );
        }
        assert_eq!(self.balance(&alice, &from).await, "74.50");
        assert_eq!(self.balance(&bob, &to).await, "25.50");
        let r = self
            .call(
                "GET",
                &format!("/v1/accounts/{from}/transactions?q=rent"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "history: {:?}", r.body);
        let items = r.json()["items"].as_array().expect("items").clone();
        assert_eq!(items.len(), 1, "one transfer found by its memo: {items:?}");
        assert_eq!(items[0]["memo"], "rent share");
    }
}
