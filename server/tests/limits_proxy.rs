//! `X-Forwarded-For` is believed only from configured proxies: spoofing it from anywhere else
//! changes nothing, while clients behind a trusted proxy get their own budgets and audit rows.

use crate::common;

use common::{Conn, TestServer, bounded};
use hyper::StatusCode;
use serde_json::json;

async fn get_with_xff(c: &mut Conn, xff: &str) -> StatusCode {
    c.send("GET", "/healthz", &[("x-forwarded-for", xff)], None)
        .await
        .expect("get")
        .status
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.limits.requests_per_second_per_client = 1;
            c.limits.request_burst_per_client = 2;
            c.limits.trusted_proxies = vec!["127.0.51.0/24".parse().expect("net")];
        })
        .await;
        let mut c = Conn::open_from("127.0.50.1".parse().expect("ip"), s.addr, &s.ca, &[b"h2"])
            .await
            .expect("connect");
        // A new fake address on every request: the budget is still the peer's.
        assert_eq!(get_with_xff(&mut c, "198.51.100.1").await, StatusCode::OK);
        assert_eq!(get_with_xff(&mut c, "198.51.100.2").await, StatusCode::OK);
        assert_eq!(
            get_with_xff(&mut c, "198.51.100.3").await,
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_told_apart() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.limits.requests_per_second_per_client = 1;
            c.limits.request_burst_per_client = 2;
            c.limits.trusted_proxies = vec!["127.0.51.0/24".parse().expect("net")];
        })
        .await;
        let mut proxy = Conn::open_from("127.0.51.1".parse().expect("ip"), s.addr, &s.ca, &[b"h2"])
            .await
            .expect("connect");
        // The client wrote a fake first hop; the proxy appended the real address.
        let a = "6.6.6.6, 198.51.100.10";
        assert_eq!(get_with_xff(&mut proxy, a).await, StatusCode::OK);
        assert_eq!(get_with_xff(&mut proxy, a).await, StatusCode::OK);
        assert_eq!(
            get_with_xff(&mut proxy, a).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        // Another client through the same proxy has its own budget.
        assert_eq!(
            get_with_xff(&mut proxy, "198.51.100.11").await,
            StatusCode::OK
        );
        // And the audit trail names the client, not the proxy.
        let r = proxy
            .send(
                "POST",
                "/v1/sessions",
                &[("x-forwarded-for", "198.51.100.12")],
                Some(&json!({"username": "nobody_here", "password": "whatever it is"})),
            )
            .await
            .expect("login");
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let events = rampart::store::audit::recent(s.running.db(), 1)
            .await
            .expect("audit");
        assert_eq!(events[0].client_addr, "198.51.100.12");
    })
    .await;
}
