//! Registration, login, sessions and password change over real TLS, and the JSON edge
//! (content type, size, depth, unknown fields), plus the audit trail.

use crate::common;

use common::api::{Api, GOOD_PASSWORD};
use common::{TestServer, bounded};
use hyper::StatusCode;
use rampart::metrics::Reason;
use serde_json::json;

#[tokio::test]
async fn register_login_me_logout() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let r = api.register("alice", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let id = r.json()["id"].as_str().expect("id").to_string();
        assert_eq!(r.json()["username"], "alice");
        assert_eq!(
            uuid::Uuid::parse_str(&id).expect("uuid").get_version_num(),
            4
        );

        let r = api.login("alice", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let token = r.json()["token"].as_str().expect("token").to_string();
        assert_eq!(token.len(), 43);
        assert!(
            r.json()["expires_at"]
                .as_str()
                .expect("expiry")
                .ends_with('Z')
        );

        let r = api.call("GET", "/v1/me", Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["id"], id.as_str());
        assert_eq!(r.json()["username"], "alice");
        assert!(r.json()["created_at"].is_string());

        let r = api
            .call("DELETE", "/v1/sessions/current", Some(&token), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = api.call("GET", "/v1/me", Some(&token), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "token reuse after logout"
        );
    })
    .await;
}

#[tokio::test]
async fn usernames_are_normalised_so_lookalikes_are_one_user() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let r = api.register("ＡＬＩＣＥ_x", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.json()["username"], "alice_x");
        let r = api
            .register("alice_x", "another long passphrase here")
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        // Either spelling logs in to the same account.
        api.token("ALICE_X", GOOD_PASSWORD).await;
        api.token("ａｌｉｃｅ_ｘ", GOOD_PASSWORD).await;
    })
    .await;
}

#[tokio::test]
async fn password_and_username_rules_name_the_field() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let cases = [
            ("bob", "too short", "password"),
            ("bob", "baseball", "password"),
            ("bob_the_builder_x", "bob_the_builder_x", "password"),
            ("bo", GOOD_PASSWORD, "username"),
            ("bob'; DROP TABLE users;--", GOOD_PASSWORD, "username"),
        ];
        for (user, pw, field) in cases {
            let r = api.register(user, pw).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{user}/{pw}");
            assert_eq!(r.json()["field"], field, "{user}/{pw}");
            assert_eq!(r.headers["content-type"], "application/problem+json");
            assert!(r.json()["detail"].as_str().expect("detail").contains(field));
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.user("carol").await;
        let wrong = api.login("carol", "not the right passphrase").await;
        let unknown = api.login("nobody_here", "not the right passphrase").await;
        let invalid = api.login("x", "y").await;
        for r in [&wrong, &unknown, &invalid] {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(wrong.body, unknown.body);
        assert_eq!(wrong.body, invalid.body);
    })
    .await;
}

#[tokio::test]
async fn bad_tokens_all_get_the_same_401() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let token = api.user("dave").await;
        let forged = "A".repeat(43);
        let truncated = &token[..42];
        let mut bodies = Vec::new();
        for auth in [
            None,
            Some("Bearer".to_string()),
            Some(format!("Bearer {forged}")),
            Some(format!("Bearer {truncated}")),
            Some(format!("Basic {token}")),
            Some("Bearer ' OR 1=1 --".to_string()),
        ] {
            let headers: Vec<(&str, &str)> = auth
                .as_deref()
                .map(|a| vec![("authorization", a)])
                .unwrap_or_default();
            let r = api
                .conn
                .send("GET", "/v1/me", &headers, None)
                .await
                .expect("send");
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
            assert!(r.headers.contains_key("www-authenticate"));
            bodies.push(r.body);
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]));
        let r = api.call("GET", "/v1/me", Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn expired_and_idle_sessions_are_refused() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let absolute = api.user("erin").await;
        let idle = api.token("erin", GOOD_PASSWORD).await;
        sqlx::any::install_default_drivers();
        let db = sqlx::AnyPool::connect(&s.db_url)
            .await
            .expect("open test db");
        // Age one session past its absolute expiry and the other past the idle timeout.
        let hash = |t: &str| rampart::auth::token::hash_of(t).expect("hash");
        sqlx::query("UPDATE sessions SET expires_at = 0 WHERE token_hash = $1")
            .bind(hash(&absolute))
            .execute(&db)
            .await
            .expect("expire");
        sqlx::query("UPDATE sessions SET last_seen_at = 0 WHERE token_hash = $1")
            .bind(hash(&idle))
            .execute(&db)
            .await
            .expect("idle");
        for t in [&absolute, &idle] {
            let r = api.call("GET", "/v1/me", Some(t), None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let fresh = api.token("erin", GOOD_PASSWORD).await;
        assert_eq!(
            api.call("GET", "/v1/me", Some(&fresh), None).await.status,
            StatusCode::OK
        );
    })
    .await;
}

#[tokio::test]
async fn password_change_revokes_other_sessions() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let a = api.user("frank").await;
        let b = api.token("frank", GOOD_PASSWORD).await;
        let new_pw = "a different long passphrase";
        let r = api
            .call(
                "POST",
                "/v1/me/password",
                Some(&a),
                Some(
                    json!({"current_password": "wrong wrong wrong wrong", "new_password": new_pw}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json()["field"], "current_password");
        let r = api
            .call(
                "POST",
                "/v1/me/password",
                Some(&a),
                Some(json!({"current_password": GOOD_PASSWORD, "new_password": "short"})),
            )
            .await;
        assert_eq!(r.json()["field"], "new_password");
        let r = api
            .call(
                "POST",
                "/v1/me/password",
                Some(&a),
                Some(json!({"current_password": GOOD_PASSWORD, "new_password": new_pw})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(
            api.call("GET", "/v1/me", Some(&b), None).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            api.call("GET", "/v1/me", Some(&a), None).await.status,
            StatusCode::OK
        );
        assert_eq!(
            api.login("frank", GOOD_PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        api.token("frank", new_pw).await;
    })
    .await;
}

#[tokio::test]
async fn json_edge_rules() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let body = json!({"username": "gina", "password": GOOD_PASSWORD}).to_string();
        let r = api
            .conn
            .send_raw(
                hyper::Request::post("/v1/users")
                    .header("content-type", "text/plain")
                    .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                    .expect("req"),
            )
            .await
            .expect("send");
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let big = json!({"username": "gina", "password": "x".repeat(20 * 1024)});
        let r = api.call("POST", "/v1/users", None, Some(big)).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

        let mut deep = json!(1);
        for _ in 0..20 {
            deep = json!([deep]);
        }
        let r = api
            .call(
                "POST",
                "/v1/users",
                None,
                Some(json!({"username": deep, "password": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);

        let r = api
            .call(
                "POST",
                "/v1/users",
                None,
                Some(json!({"username": "gina", "password": GOOD_PASSWORD, "is_admin": true})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["field"], "is_admin");
        for r in [&r] {
            for k in ["type", "title", "status", "detail"] {
                assert!(r.json().get(k).is_some(), "{k}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn security_events_are_audited_with_the_client_address() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let t = api.user("hank").await;
        api.login("hank", "not my passphrase at all").await;
        api.call(
            "POST",
            "/v1/me/password",
            Some(&t),
            Some(json!({"current_password": GOOD_PASSWORD, "new_password": "brand new long passphrase"})),
        )
        .await;
        api.call("DELETE", "/v1/sessions/current", Some(&t), None).await;
        let events = rampart::store::audit::recent(s.running.db(), 10).await.expect("audit");
        let names: Vec<&str> = events.iter().rev().map(|e| e.event.as_str()).collect();
        assert_eq!(
            names,
            ["register", "login_success", "login_failure", "password_change", "logout"]
        );
        assert!(events.iter().all(|e| e.client_addr == "127.0.0.1"), "{events:?}");
        assert_eq!(events[2].username.as_deref(), Some("hank"));
    })
    .await;
}

/// One hash at a time, nothing queued, and a cost high enough that requests overlap.
fn one_slow_hash_at_a_time(c: &mut rampart::config::Config) {
    c.auth.hash_concurrency = 1;
    c.auth.hash_queue = 0;
    c.auth.argon2_memory_kib = 65_536;
    c.auth.argon2_iterations = 3;
}

/// No per-client rate limit for [`Api::open_as`]'s clients (127.1.0.0/16), and a 503 only
/// ever a shed login, never a handler cut short on a busy machine (the PostgreSQL run shares
/// two cores with CI's background fuzz build).
fn exempt_the_test_clients(c: &mut rampart::config::Config) {
    c.limits.exempt = vec!["127.1.0.0/16".parse().expect("net")];
    c.http.handler_timeout = std::time::Duration::from_secs(60);
}

#[tokio::test]
async fn saturated_hashing_sheds_with_503_and_retry_after() {
    bounded(async {
        // One hash at a time, nothing queued, and a cost high enough that requests overlap.
        let s = TestServer::start(one_slow_hash_at_a_time).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.user("ivan").await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (addr, ca) = (s.addr, s.ca.clone());
            tasks.push(tokio::spawn(async move {
                let mut a = Api::open_as(i, addr, &ca).await;
                a.login("ivan", "wrong wrong wrong wrong").await
            }));
        }
        let mut shed = 0;
        for t in tasks {
            let r = t.await.expect("task");
            match r.status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(r.headers.contains_key("retry-after"));
                    shed += 1;
                }
                StatusCode::UNAUTHORIZED => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert!(shed > 0, "no request was shed");
        // Counted as refusals of their clients (and logged at most once per client), not as
        // one log line each.
        assert_eq!(
            s.running.metrics().rejections(Reason::HashingBusy),
            shed,
            "every shed login counted"
        );
    })
    .await;
}

#[tokio::test]
async fn a_login_the_hashing_pool_sheds_is_shed_before_its_account_is_looked_up() {
    bounded(async {
        // One expensive hash at a time, nothing queued; one failure puts an account in a long
        // backoff; no per-client login budget in the way. Fails if `sign_in` reads the
        // account's backoff before it takes a hashing place.
        let s = TestServer::start(|c| {
            one_slow_hash_at_a_time(c);
            exempt_the_test_clients(c);
            c.limits.login_free_failures = 0;
            c.limits.login_backoff_base = std::time::Duration::from_secs(600);
            c.limits.login_backoff_max = std::time::Duration::from_secs(600);
        })
        .await;
        let mut api = Api::open_as(0, s.addr, &s.ca).await;
        assert_eq!(api.register("kate", GOOD_PASSWORD).await.status, 201);
        // kate's attempts come from an address she never logged in from (a known pair would
        // have a hashing place of its own).
        let mut kate = Api::open_as(1, s.addr, &s.ca).await;
        assert_eq!(
            kate.login("kate", "wrong wrong wrong wrong").await.status,
            401
        );
        // With the pool free, the backoff answers (the account is looked up).
        assert_eq!(kate.login("kate", GOOD_PASSWORD).await.status, 429);
        // With the pool busy, the shed answers first: the account is never looked up.
        for round in 0..20 {
            let (addr, ca) = (s.addr, s.ca.clone());
            let hashing = tokio::spawn(async move {
                let mut a = Api::open_as(2 + round, addr, &ca).await;
                a.login(&format!("nobody{round}"), "wrong wrong wrong wrong")
                    .await
            });
            // Paced: the connection's request cap (1,000) must outlast a slow hash.
            let mut pace = tokio::time::interval(std::time::Duration::from_millis(5));
            while !hashing.is_finished() {
                pace.tick().await;
                let r = kate.login("kate", GOOD_PASSWORD).await;
                match r.status {
                    StatusCode::SERVICE_UNAVAILABLE => {
                        assert!(r.headers.contains_key("retry-after"));
                        return;
                    }
                    StatusCode::TOO_MANY_REQUESTS => {}
                    other => panic!("unexpected {other}: {:?}", r.body),
                }
            }
            // Shed itself if it came while one of kate's logins held the place for its
            // lookups.
            let status = hashing.await.expect("task").status;
            assert!(
                [StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
                "{status}"
            );
        }
        panic!("in 20 slow hashes, kate's login was never shed: her backoff was read first");
    })
    .await;
}

#[tokio::test]
async fn a_known_login_gets_through_a_full_hashing_pool() {
    bounded(async {
        // One expensive hash at a time, nothing queued, and no per-client rate limit in the
        // way (the test clients' network is exempt): a handful of flooding clients keep the
        // pool full.
        let s = TestServer::start(|c| {
            one_slow_hash_at_a_time(c);
            exempt_the_test_clients(c);
        })
        .await;
        // judy registers and logs in from 127.1.0.1: that pair is now known.
        let mut judy = Api::open_as(0, s.addr, &s.ca).await;
        judy.user("judy").await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (started, mut flooding) = tokio::sync::mpsc::channel::<()>(8);
        let mut flood = Vec::new();
        for i in 0..8 {
            let (addr, ca, stop, started) = (s.addr, s.ca.clone(), stop.clone(), started.clone());
            flood.push(tokio::spawn(async move {
                let mut a = Api::open_as(100 + i, addr, &ca).await;
                let mut n = 0;
                // Paced, not spinning: a shed login is answered at once, without touching the
                // database, so an unpaced client would only burn the two cores the server and
                // judy share. One attempt per 5 ms from each of eight still takes a freed slot
                // within a millisecond or so.
                let mut pace = tokio::time::interval(std::time::Duration::from_millis(5));
                pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    pace.tick().await;
                    n += 1;
                    // Ever-new usernames: no account backoff slows the flood down.
                    a.login(&format!("flood{i}x{n}"), "wrong wrong wrong wrong")
                        .await;
                    if n == 1 {
                        let _ = started.send(()).await;
                    }
                }
            }));
        }
        // Every flooding client is connected and answered before judy's first round.
        drop(started);
        for _ in 0..8 {
            flooding.recv().await.expect("a flooding client started");
        }
        // The same right password from a network judy never logged in from is shed at least
        // once; from the known one, never. Each stranger attempt comes from an address of its
        // own: one that got through would be a known network from then on.
        let (mut known_ok, mut stranger_shed) = (0, 0);
        // At least 8 rounds, and on until the stranger has been shed once (the flood keeps
        // the pool full most of the time, not every moment).
        for round in 0..40 {
            if round >= 8 && stranger_shed > 0 {
                break;
            }
            let r = judy.login("judy", GOOD_PASSWORD).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            known_ok += 1;
            let mut stranger = Api::open_as(200 + round, s.addr, &s.ca).await;
            let r = stranger.login("judy", GOOD_PASSWORD).await;
            match r.status {
                StatusCode::SERVICE_UNAVAILABLE => stranger_shed += 1,
                StatusCode::CREATED => {}
                other => panic!("unexpected {other}"),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for f in flood {
            f.await.expect("flood task");
        }
        assert!(known_ok >= 8);
        assert!(
            stranger_shed > 0,
            "the pool was never full in {known_ok} rounds"
        );
    })
    .await;
}

async fn stored(db: &rampart::db::Db) -> String {
    rampart::store::users::by_username(db, "olga")
        .await
        .expect("query")
        .expect("user")
        .password_hash
}

#[tokio::test]
async fn login_upgrades_hashes_made_with_old_parameters() {
    bounded(async {
        let old = TestServer::start(|c| {
            c.auth.argon2_memory_kib = 8192;
            c.auth.argon2_iterations = 1;
        })
        .await;
        let mut api = Api::open(old.addr, &old.ca).await;
        api.user("olga").await;
        assert!(stored(old.running.db()).await.contains("m=8192,t=1,p=1"));
        let TestServer { running, dir, .. } = old;
        running.shutdown().await;

        // Restart on the same database with the default (OWASP) parameters.
        let new = TestServer::start_in(dir, |_| {}).await;
        let mut api = Api::open(new.addr, &new.ca).await;
        api.token("olga", GOOD_PASSWORD).await;
        let upgraded = stored(new.running.db()).await;
        assert!(upgraded.contains("m=19456,t=2,p=1"), "{upgraded}");
        // And the upgraded hash still verifies.
        api.token("olga", GOOD_PASSWORD).await;
    })
    .await;
}
