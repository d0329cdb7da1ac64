//! The browser's side of the API without a browser: the pages and their policy, the session
//! cookie's attributes and life (shared with bearer tokens), and the cross-site guard on
//! state changes the cookie authenticates. `browser.rs` runs the same in Chromium.

use hyper::StatusCode;
use serde_json::json;

use crate::common::api::{Api, GOOD_PASSWORD};
use crate::common::{Reply, TestServer, bounded, get_once};

const H2: &[u8] = b"h2";
const H1: &[u8] = b"http/1.1";

/// What the test client's requests carry as `Host`, so this server's own origin.
const OWN_ORIGIN: &str = "https://localhost";

/// Logs `user` in through the browser's login; the `Cookie` header value to send back.
async fn cookie_login(api: &mut Api, user: &str, password: &str) -> (Reply, Option<String>) {
    let r = api
        .conn
        .send(
            "POST",
            "/v1/sessions/cookie",
            &[("origin", OWN_ORIGIN), ("sec-fetch-site", "same-origin")],
            Some(&json!({"username": user, "password": password})),
        )
        .await
        .expect("request");
    let cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    (r, cookie)
}

/// A request authenticated by `cookie`, from `origin` (none when `None`).
async fn with_cookie(
    api: &mut Api,
    method: &str,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    body: Option<serde_json::Value>,
) -> Reply {
    let mut headers = vec![("cookie", cookie)];
    if let Some(o) = origin {
        headers.push(("origin", o));
    }
    api.conn
        .send(method, path, &headers, body.as_ref())
        .await
        .expect("request")
}

#[tokio::test]
async fn the_pages_are_served_with_their_own_strict_policy_and_the_api_keeps_its_own() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        for (path, media) in [
            ("/", "text/html; charset=utf-8"),
            ("/assets/app.js", "text/javascript; charset=utf-8"),
            ("/assets/app.css", "text/css; charset=utf-8"),
            ("/assets/icon.svg", "image/svg+xml"),
        ] {
            let r = get_once(s.addr, &s.ca, &[H2], path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(r.headers["content-type"], media, "{path}");
            assert_eq!(
                r.headers["content-security-policy"],
                rampart::http::pages::PAGE_CSP,
                "{path}"
            );
            assert_eq!(r.headers["x-frame-options"], "DENY", "{path}");
            assert!(!r.body.is_empty());
        }
        let page = get_once(s.addr, &s.ca, &[H1], "/").await;
        let html = String::from_utf8_lossy(&page.body);
        assert!(html.contains(r#"autocomplete="current-password""#));
        for path in ["/healthz", "/v1/me", "/no/such/page"] {
            let r = get_once(s.addr, &s.ca, &[H2], path).await;
            assert_eq!(
                r.headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
                "{path}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_browser_login_sets_a_host_only_cookie_and_hands_out_no_token() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.register("carol", GOOD_PASSWORD).await;
        let (r, cookie) = cookie_login(&mut api, "carol", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let set = r.headers["set-cookie"].to_str().expect("ascii");
        let attrs: Vec<&str> = set.split("; ").collect();
        assert!(attrs[0].starts_with("__Host-rampart-session="), "{set}");
        for a in [
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(attrs.contains(&a), "{a} missing: {set}");
        }
        assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
        let body = r.json();
        assert!(body.get("token").is_none(), "{body}");
        assert!(body["expires_at"].is_string());

        // The cookie authenticates reads without an Origin (a navigation sends none).
        let cookie = cookie.expect("cookie");
        let me = with_cookie(&mut api, "GET", "/v1/me", &cookie, None, None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json()["username"], "carol");

        // A wrong password is the API's 401, and no cookie.
        let (r, cookie) = cookie_login(&mut api, "carol", "not the password at all").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(cookie, None);
    })
    .await;
}

#[tokio::test]
async fn state_changes_by_cookie_from_another_origin_are_refused_and_change_nothing() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.register("dave", GOOD_PASSWORD).await;
        let (_, cookie) = cookie_login(&mut api, "dave", GOOD_PASSWORD).await;
        let cookie = cookie.expect("cookie");
        let open = || Some(json!({"name": "Everyday"}));

        for origin in [
            None,
            Some("https://evil.test"),
            Some("null"),
            Some("http://localhost"),
        ] {
            let r = with_cookie(&mut api, "POST", "/v1/accounts", &cookie, origin, open()).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin:?}");
            assert_eq!(r.json()["type"], "urn:rampart:problem:cross-site");
        }
        // Same origin, but the browser says another site started it.
        let r = api
            .conn
            .send(
                "POST",
                "/v1/accounts",
                &[
                    ("cookie", &cookie),
                    ("origin", OWN_ORIGIN),
                    ("sec-fetch-site", "cross-site"),
                ],
                open().as_ref(),
            )
            .await
            .expect("request");
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = with_cookie(
            &mut api,
            "DELETE",
            "/v1/sessions/current",
            &cookie,
            None,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "logout CSRF");
        let list = with_cookie(&mut api, "GET", "/v1/accounts", &cookie, None, None).await;
        assert_eq!(list.json()["items"], json!([]), "nothing was opened");

        // From the bank's own page it works.
        let r = with_cookie(
            &mut api,
            "POST",
            "/v1/accounts",
            &cookie,
            Some(OWN_ORIGIN),
            open(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);

        // Another site cannot sign a visitor in either (login CSRF).
        let r = api
            .conn
            .send(
                "POST",
                "/v1/sessions/cookie",
                &[("origin", "https://evil.test")],
                Some(&json!({"username": "dave", "password": GOOD_PASSWORD})),
            )
            .await
            .expect("request");
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.headers.get("set-cookie").is_none());

        // A bearer client is not a browser: no Origin needed.
        let token = api.token("dave", GOOD_PASSWORD).await;
        let r = api.call("POST", "/v1/accounts", Some(&token), open()).await;
        assert_eq!(r.status, StatusCode::CREATED);
    })
    .await;
}

#[tokio::test]
async fn sign_out_and_a_password_change_end_cookie_sessions_as_they_end_tokens() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.register("erin", GOOD_PASSWORD).await;

        // Sign-out through the cookie deletes it and revokes the session.
        let (_, cookie) = cookie_login(&mut api, "erin", GOOD_PASSWORD).await;
        let cookie = cookie.expect("cookie");
        let r = with_cookie(&mut api, "DELETE", "/v1/sessions/current", &cookie, Some(OWN_ORIGIN), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let cleared = r.headers["set-cookie"].to_str().expect("ascii");
        assert!(cleared.starts_with("__Host-rampart-session=;") && cleared.contains("Max-Age=0"));
        let me = with_cookie(&mut api, "GET", "/v1/me", &cookie, None, None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "a replayed cookie is dead");

        // A password changed through the API ends the browser's session.
        let (_, cookie) = cookie_login(&mut api, "erin", GOOD_PASSWORD).await;
        let cookie = cookie.expect("cookie");
        let token = api.token("erin", GOOD_PASSWORD).await;
        let r = api
            .call(
                "POST",
                "/v1/me/password",
                Some(&token),
                Some(json!({"current_password": GOOD_PASSWORD, "new_password": "another long passphrase here"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let me = with_cookie(&mut api, "GET", "/v1/me", &cookie, None, None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn the_browser_login_spends_the_same_login_budget_as_the_api() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.limits.login_burst_per_client = 2;
            c.limits.logins_per_minute_per_client = 1;
        })
        .await;
        let mut api = Api::open(s.addr, &s.ca).await;
        api.register("frank", GOOD_PASSWORD).await;
        assert_eq!(
            api.login("frank", GOOD_PASSWORD).await.status,
            StatusCode::CREATED
        );
        let (r, _) = cookie_login(&mut api, "frank", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let (r, cookie) = cookie_login(&mut api, "frank", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers.contains_key("retry-after"));
        assert_eq!(cookie, None);
        assert_eq!(
            api.login("frank", GOOD_PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}
