//! The browser suite's headless Chromium: attack-sim's WebDriver client
//! ([`attack_sim::browser`]) with what a test needs on top: every command fails the test
//! when it fails, and waits poll the page within a bound.

use std::time::Duration;

use serde_json::{Value, json};

/// How long a wait for the page polls before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// A headless Chromium under chromedriver.
pub struct Browser(attack_sim::browser::Browser);

impl Browser {
    /// Starts one with a fresh profile that trusts the server certificate whose SPKI SHA-256
    /// (base64) is `spki_pin`.
    pub async fn start(spki_pin: &str) -> Browser {
        let (chromium, driver) = attack_sim::browser::tools().expect("browser tools");
        Browser(
            attack_sim::browser::Browser::start(&chromium, &driver, spki_pin)
                .await
                .expect("start the browser"),
        )
    }

    pub async fn goto(&self, url: &str) {
        self.0.goto(url).await.expect("navigate");
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.0.script(script, args).await.expect("script")
    }

    /// Polls `condition` until it holds; fails the test after [`WAIT`], with the page's text.
    pub async fn wait_for(&self, what: &str, condition: &str) -> Value {
        let v = self.0.wait_for(condition, WAIT).await.expect("script");
        if v.is_null() || v == json!(false) || v == json!("") {
            panic!(
                "waited {WAIT:?} for {what}; page says: {}",
                self.text("body").await
            );
        }
        v
    }

    /// Waits until an element matching `css` is displayed.
    pub async fn wait_visible(&self, css: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.checkVisibility();",
            json!(css)
        );
        self.wait_for(css, &script).await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.0.fill(css, text).await.expect("fill");
    }

    pub async fn click(&self, css: &str) {
        self.0.click(css).await.expect("click");
    }

    /// The rendered text of the element matching `css` (empty when none does).
    pub async fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.innerText : '';",
            json!(css)
        );
        self.script(&script, json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn cookies(&self) -> Vec<Value> {
        self.0.cookies().await.expect("cookies")
    }

    /// The console messages logged since the last call.
    pub async fn log(&self) -> Vec<Value> {
        self.0.log("browser").await.expect("log")
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        self.0.screenshot().await.expect("screenshot")
    }

    pub async fn quit(self) {
        self.0.quit().await;
    }
}
