//! The bank in a real browser: headless Chromium over WebDriver (`common::webdriver`) against
//! rampart on 127.0.0.1, trusting only its certificate. A customer's whole journey through
//! the pages; user text with markup shown as text and never run; another site (127.0.0.2,
//! another site to the browser) that tries to move money and to frame the bank; the session
//! cookie's attributes; and no Content-Security-Policy violation on any page.
//!
//! Ignored unless asked for (`--run-ignored only -E 'test(/^browser::/)'`): it needs Debian's
//! `chromium` and `chromium-driver`, which `.ci/run` installs. With `RAMPART_SCREENSHOTS` set
//! to a folder, the journey leaves a screenshot of each page there.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::common::api::{Api, GOOD_PASSWORD};
use crate::common::webdriver::Browser;
use crate::common::{TestServer, bounded};

/// Markup that would run script if it were ever parsed as HTML.
const MARKUP: &str = r#"<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"#;

/// What Chromium trusts: the server certificate's public key, and nothing else.
fn spki_pin(s: &TestServer) -> String {
    let paths = rampart_certs::dev::DevPaths::in_dir(s.dir.path().join("certs"));
    let chain = rampart_certs::pem::load_cert_chain(&paths.leaf_cert).expect("leaf");
    attack_sim::browser::spki_pin(&chain[0]).expect("SPKI")
}

fn bank_url(s: &TestServer) -> String {
    format!("https://127.0.0.1:{}", s.addr.port())
}

/// Fails on any Content-Security-Policy or Trusted Types violation and any uncaught script
/// error the browser logged since the last look.
async fn assert_no_policy_violation(b: &Browser, page: &str) {
    for entry in b.log().await {
        let msg = entry["message"].as_str().unwrap_or_default();
        for bad in [
            "Content Security Policy",
            "Trusted Type",
            "Uncaught",
            "Refused to",
        ] {
            assert!(!msg.contains(bad), "{page}: the browser logged: {msg}");
        }
    }
}

/// Saves a screenshot of the page as `name.png` when `RAMPART_SCREENSHOTS` names a folder.
async fn snapshot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("RAMPART_SCREENSHOTS") {
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, b.screenshot().await).expect("write screenshot");
    }
}

/// Submits the form `form` after filling `fields` (input name, text).
async fn submit(b: &Browser, form: &str, fields: &[(&str, &str)]) {
    for (name, text) in fields {
        b.fill(&format!("#{form} [name={name}]"), text).await;
    }
    b.click(&format!("#{form} button[type=submit]")).await;
}

async fn wait_text(b: &Browser, css: &str, needle: &str) {
    let script = format!(
        "const e = document.querySelector({}); return !!e && !e.hidden && e.innerText.includes({});",
        json!(css),
        json!(needle)
    );
    b.wait_for(&format!("{css} to say {needle:?}"), &script)
        .await;
}

async fn rows(b: &Browser, tbody: &str) -> Vec<Vec<String>> {
    let script = format!(
        "return [...document.querySelectorAll('{tbody} tr')].map(r => [...r.cells].map(c => c.innerText));"
    );
    serde_json::from_value(b.script(&script, json!([])).await).expect("rows")
}

/// The account ids the API lists for `user`, in the order the page shows them.
async fn account_ids(api: &mut Api, token: &str) -> Vec<String> {
    let r = api.call("GET", "/v1/accounts", Some(token), None).await;
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (.ci/run installs them)"]
async fn a_customer_banks_in_the_browser_from_registration_to_sign_out() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let b = Browser::start(&spki_pin(&s)).await;
        let bank = bank_url(&s);

        // Sign-in page.
        b.goto(&format!("{bank}/")).await;
        b.wait_visible("#signin-form").await;
        snapshot(&b, "01-sign-in").await;
        assert_no_policy_violation(&b, "sign-in").await;

        // Registration signs the customer in.
        submit(&b, "register-form", &[("username", "alice"), ("password", GOOD_PASSWORD)]).await;
        wait_text(&b, "#whoami", "alice").await;
        b.wait_visible("#accounts").await;
        assert!(b.text("#notice").await.contains("Welcome"));

        // The session is a cookie script cannot read, with every attribute.
        let cookies = b.cookies().await;
        let session = cookies
            .iter()
            .find(|c| c["name"] == "__Host-rampart-session")
            .unwrap_or_else(|| panic!("no session cookie in {cookies:?}"));
        assert_eq!(session["httpOnly"], true);
        assert_eq!(session["secure"], true);
        assert_eq!(session["sameSite"], "Strict");
        assert_eq!(session["path"], "/");
        assert_eq!(session["domain"], "127.0.0.1", "host-only");
        assert_eq!(b.script("return document.cookie;", json!([])).await, "");
        let stored = b
            .script("return [localStorage.length, sessionStorage.length];", json!([]))
            .await;
        assert_eq!(stored, json!([0, 0]), "nothing kept in web storage");

        // Two accounts, one with markup in its name.
        let everyday = r#"Everyday <b onclick="window.__xss=3">1</b>"#;
        submit(&b, "open-form", &[("name", everyday)]).await;
        wait_text(&b, "#notice", "is open").await;
        submit(&b, "open-form", &[("name", "Savings")]).await;
        b.wait_for("two accounts", "return document.querySelectorAll('#account-rows tr').length === 2;")
            .await;
        assert_eq!(rows(&b, "#account-rows").await[0][0], everyday, "a name is text");
        snapshot(&b, "02-accounts").await;

        let mut api = Api::open(s.addr, &s.ca).await;
        let token = api.token("alice", GOOD_PASSWORD).await;
        let ids = account_ids(&mut api, &token).await;
        let (everyday_id, savings_id) = (ids[0].clone(), ids[1].clone());

        // Deposit with markup in the memo, then withdraw.
        b.click("#account-rows tr:nth-child(1) button").await;
        b.wait_visible("#deposit-form").await;
        submit(&b, "deposit-form", &[("amount", "100.00"), ("memo", MARKUP)]).await;
        wait_text(&b, "#account-balance", "100.00").await;
        submit(&b, "withdraw-form", &[("amount", "10"), ("memo", "cash")]).await;
        wait_text(&b, "#account-balance", "90.00").await;
        let history = rows(&b, "#history-rows").await;
        assert_eq!(history.len(), 2);
        assert_eq!(history[1][3], MARKUP, "the memo is shown as text");
        assert_eq!(history[0][2], "−10.00");
        let ran = b
            .script(
                "return [window.__xss, document.querySelectorAll('main img, main script').length];",
                json!([]),
            )
            .await;
        assert_eq!(ran, json!([null, 0]), "the markup never became elements or ran");

        // A withdrawal beyond the balance is explained in words, and moves nothing.
        submit(&b, "withdraw-form", &[("amount", "1000")]).await;
        wait_text(&b, "#error", "exceeds").await;
        assert_eq!(b.text("#error").await, "The amount exceeds the available balance.");
        snapshot(&b, "03-account").await;
        assert_no_policy_violation(&b, "account").await;

        // A transfer, submitted twice at once (a double click): money moves once.
        b.click("#nav-accounts").await;
        b.wait_visible("#transfer-form").await;
        b.script(
            "document.getElementById('transfer-from').value = arguments[0];",
            json!([everyday_id]),
        )
        .await;
        b.fill("#transfer-form [name=to_account]", &savings_id).await;
        b.fill("#transfer-form [name=amount]", "25.50").await;
        b.fill("#transfer-form [name=memo]", "rent for <i>May</i>").await;
        b.script(
            "const f = document.getElementById('transfer-form'); f.requestSubmit(); f.requestSubmit();",
            json!([]),
        )
        .await;
        wait_text(&b, "#notice", "Sent 25.50").await;
        let accounts = rows(&b, "#account-rows").await;
        assert_eq!(accounts[0][1], "64.50 EUR");
        assert_eq!(accounts[1][1], "25.50 EUR");
        assert_eq!(api.balance(&token, &everyday_id).await, "64.50");
        snapshot(&b, "04-transfer").await;

        // History: paging, search and sort over 14 entries.
        for n in 1..=11 {
            let r = api.deposit(&token, &everyday_id, &format!("{n}.00")).await;
            assert_eq!(r.status, StatusCode::CREATED);
        }
        b.click("#account-rows tr:nth-child(1) button").await;
        b.wait_for("a full page", "return document.querySelectorAll('#history-rows tr').length === 10;")
            .await;
        assert_eq!(b.script("return document.getElementById('history-prev').disabled;", json!([])).await, true);
        b.click("#history-next").await;
        b.wait_for("the last page", "return document.querySelectorAll('#history-rows tr').length === 4;")
            .await;
        assert_eq!(b.script("return document.getElementById('history-next').disabled;", json!([])).await, true);
        b.click("#history-prev").await;
        b.wait_for("the first page again", "return document.querySelectorAll('#history-rows tr').length === 10;")
            .await;
        b.fill("#history-form [name=q]", "rent").await;
        b.click("#history-form button[type=submit]").await;
        b.wait_for("the search", "return document.querySelectorAll('#history-rows tr').length === 1;")
            .await;
        let found = rows(&b, "#history-rows").await;
        assert_eq!(found[0][3], "rent for <i>May</i>");
        assert!(found[0][1].starts_with("Transfer sent to "), "{found:?}");
        b.fill("#history-form [name=q]", "").await;
        b.script(
            "const f = document.getElementById('history-form'); f.elements.sort.value = 'amount'; f.elements.order.value = 'asc';",
            json!([]),
        )
        .await;
        b.click("#history-form button[type=submit]").await;
        b.wait_for("sorted by amount", "const r = document.querySelector('#history-rows tr'); return !!r && r.cells[2].innerText === '+1.00';")
            .await;
        snapshot(&b, "05-history").await;
        assert_no_policy_violation(&b, "history").await;

        // Password change, sign-out, sign-in with the new password.
        b.click("#nav-password").await;
        b.wait_visible("#password-form").await;
        snapshot(&b, "06-password").await;
        let new_password = "a different long passphrase";
        submit(
            &b,
            "password-form",
            &[("current_password", GOOD_PASSWORD), ("new_password", new_password)],
        )
        .await;
        wait_text(&b, "#notice", "password is changed").await;
        let me = api.call("GET", "/v1/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "other sessions ended");

        b.click("#sign-out").await;
        b.wait_visible("#signin-form").await;
        wait_text(&b, "#notice", "signed out").await;
        assert!(
            b.cookies().await.iter().all(|c| c["name"] != "__Host-rampart-session"),
            "the cookie is gone"
        );
        submit(&b, "signin-form", &[("username", "alice"), ("password", GOOD_PASSWORD)]).await;
        wait_text(&b, "#error", "do not match").await;
        snapshot(&b, "07-wrong-password").await;
        submit(&b, "signin-form", &[("username", "alice"), ("password", new_password)]).await;
        wait_text(&b, "#whoami", "alice").await;
        b.wait_visible("#accounts").await;
        assert_no_policy_violation(&b, "signed in again").await;
        b.quit().await;
    })
    .await;
}

/// Serves `page` at `/` over plain HTTP on 127.0.0.2: another site, as far as the browser
/// is concerned.
async fn serve_other_site(page: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let page = page.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let page = page.clone();
                    async move {
                        let mut r = Response::new(Full::new(Bytes::from(page)));
                        r.headers_mut()
                            .insert("content-type", "text/html".parse().expect("value"));
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// The attacker's page: a form that posts a transfer as JSON in `text/plain` into a hidden
/// frame, two credentialed `fetch`es (a transfer and a withdrawal), an image that tries to
/// sign the visitor out, and a frame of the bank itself. Its title turns `done` when every
/// attempt has had its answer.
fn attack_page(bank: &str, from: &str, to: &str) -> String {
    let transfer = json!({"from_account": from, "to_account": to, "amount": "50.00", "memo": "x"});
    let transfer = transfer.to_string();
    let (field, _) = transfer.rsplit_once("\"x\"").expect("memo");
    let form_name = format!("{field}\"");
    let form_value = "\"}";
    format!(
        r#"<!doctype html><title>Win a prize</title>
<iframe id="bank" src="{bank}/"></iframe>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="{bank}/v1/transfers" enctype="text/plain" target="sink">
<input type="hidden" name='{form_name}' value='{form_value}'></form>
<img src="{bank}/v1/sessions/current">
<script>
let pending = 3;
const done = () => {{ if (--pending === 0) document.title = 'done'; }};
const opts = (body) => ({{ method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: {{ 'Content-Type': 'text/plain' }}, body }});
fetch('{bank}/v1/transfers', opts('{transfer}')).then(done, done);
fetch('{bank}/v1/accounts/{from}/withdrawals', opts('{{"amount":"50.00"}}')).then(done, done);
document.getElementById('sink').addEventListener('load', done, {{ once: true }});
document.getElementById('f').submit();
</script>"#
    )
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver (.ci/run installs them)"]
async fn another_site_moves_no_money_and_cannot_frame_the_bank() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let bank = bank_url(&s);
        let mut api = Api::open(s.addr, &s.ca).await;
        api.register("bob", GOOD_PASSWORD).await;
        api.register("mallory", GOOD_PASSWORD).await;
        let bob = api.token("bob", GOOD_PASSWORD).await;
        let mallory = api.token("mallory", GOOD_PASSWORD).await;
        let from = api.open_account(&bob, "Current").await;
        let to = api.open_account(&mallory, "Loot").await;
        api.deposit(&bob, &from, "100.00").await;

        // Bob signs in to the bank in his browser, then visits another site.
        let b = Browser::start(&spki_pin(&s)).await;
        b.goto(&format!("{bank}/")).await;
        submit(
            &b,
            "signin-form",
            &[("username", "bob"), ("password", GOOD_PASSWORD)],
        )
        .await;
        wait_text(&b, "#whoami", "bob").await;
        b.log().await;

        let evil = serve_other_site(attack_page(&bank, &from, &to)).await;
        b.goto(&format!("http://{evil}/")).await;
        b.wait_for(
            "every attempt answered",
            "return document.title === 'done';",
        )
        .await;
        let log: Vec<Value> = b.log().await;
        let framing_refused = log.iter().any(|e| {
            let m = e["message"].as_str().unwrap_or_default();
            m.contains("frame-ancestors") || m.contains("X-Frame-Options")
        });
        assert!(framing_refused, "the bank was framed: {log:?}");

        assert_eq!(api.balance(&bob, &from).await, "100.00", "no money moved");
        assert_eq!(api.balance(&mallory, &to).await, "0.00");

        // Bob is still signed in: the image did not sign him out.
        b.goto(&format!("{bank}/")).await;
        wait_text(&b, "#whoami", "bob").await;
        b.quit().await;
    })
    .await;
}
