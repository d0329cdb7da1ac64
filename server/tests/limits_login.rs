//! Per-account failed-login backoff, stored in the database: credential stuffing spread over
//! many addresses is throttled per account, unknown usernames behave the same, the lock is
//! audited and survives a restart, and a success clears the record.

use crate::common;

use std::time::Duration;

use common::api::{Api, GOOD_PASSWORD};
use common::{Reply, TestServer, bounded};
use hyper::StatusCode;
use rampart::config::Config;

const WRONG: &str = "not the password at all";

/// Each attempt from its own address, as a stuffing botnet would.
async fn attempt(s: &TestServer, n: usize, user: &str, password: &str) -> Reply {
    Api::open_as(n, s.addr, &s.ca)
        .await
        .login(user, password)
        .await
}

fn stuffing(c: &mut Config) {
    c.limits.login_free_failures = 3;
    c.limits.login_backoff_base = Duration::from_secs(30);
}

#[tokio::test]
async fn failures_from_many_addresses_throttle_the_account() {
    bounded(async {
        let s = TestServer::start(stuffing).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.user("victim").await;
        api.user("bystander").await;
        for (user, first) in [("victim", 0), ("no_such_user", 100)] {
            for i in 0..4 {
                let r = attempt(&s, first + i, user, WRONG).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user} attempt {i}");
            }
            // The fifth attempt, from yet another address and with the right password for
            // the real account, is refused before any hashing.
            let r = attempt(&s, first + 10, user, GOOD_PASSWORD).await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{user}");
            let retry: u64 = r.headers["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("n");
            assert!((1..=31).contains(&retry), "{retry}");
        }
        // Other accounts are unaffected.
        assert_eq!(
            attempt(&s, 50, "bystander", GOOD_PASSWORD).await.status,
            StatusCode::CREATED
        );
    })
    .await;
}

#[tokio::test]
async fn a_success_clears_the_failures() {
    bounded(async {
        let s = TestServer::start(stuffing).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.user("forgetful").await;
        for round in 0..2 {
            for i in 0..3 {
                let r = attempt(&s, round * 10 + i, "forgetful", WRONG).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            }
            let r = attempt(&s, round * 10 + 5, "forgetful", GOOD_PASSWORD).await;
            assert_eq!(r.status, StatusCode::CREATED, "round {round}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_lock_is_audited_and_survives_a_restart() {
    bounded(async {
        let lock = |c: &mut Config| {
            c.limits.login_free_failures = 4;
            c.limits.login_lock_after = 5;
            c.limits.login_backoff_base = Duration::from_millis(100);
            c.limits.login_backoff_max = Duration::from_millis(100);
            c.limits.login_lock_cooldown = Duration::from_secs(3600);
        };
        let s = TestServer::start(lock).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.user("target").await;
        for i in 0..5 {
            assert_eq!(
                attempt(&s, i, "target", WRONG).await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        let r = attempt(&s, 9, "target", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = r.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("n");
        assert!(
            retry > 3000,
            "locked for the cool-down, not the short backoff: {retry}"
        );
        let events = rampart::store::audit::recent(s.running.db(), 20)
            .await
            .expect("audit");
        assert!(
            events
                .iter()
                .any(|e| e.event == "lockout" && e.username.as_deref() == Some("target"))
        );

        let TestServer { running, dir, .. } = s;
        running.shutdown().await;
        let s = TestServer::start_in(dir, lock).await;
        let r = attempt(&s, 20, "target", GOOD_PASSWORD).await;
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "the lock outlives the process"
        );
    })
    .await;
}
