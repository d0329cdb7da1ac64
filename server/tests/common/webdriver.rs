//! A headless Chromium driven over W3C WebDriver (Debian's `chromium` and `chromium-driver`):
//! the few commands the browser tests need, over plain HTTP/1.1 to a `chromedriver` this
//! process starts on a loopback port and kills on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// The key W3C WebDriver names element references by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait for the page polls before it fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The browser tools, or why they are missing.
pub fn tools() -> Result<(PathBuf, PathBuf), String> {
    let find = |name: &str| {
        ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.exists())
            .ok_or_else(|| {
                format!(
                    "{name} is not installed (Debian: apt-get install chromium chromium-driver)"
                )
            })
    };
    Ok((find("chromium")?, find("chromedriver")?))
}

/// A `chromedriver` process and one browser session in it.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile that trusts the
    /// server certificate whose SPKI SHA-256 is `spki_sha256_b64` (and nothing else extra).
    pub async fn start(spki_sha256_b64: &str) -> Browser {
        let (chromium, chromedriver) = tools().expect("browser tools");
        let mut driver = Command::new(chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let mut lines = BufReader::new(driver.stdout.take().expect("stdout")).lines();
        let port = loop {
            let line = lines
                .next_line()
                .await
                .expect("chromedriver output")
                .expect("chromedriver exited before it listened");
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').parse().expect("port");
            }
        };
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let profile = tempfile::tempdir().expect("profile dir");
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-extensions",
                    "--disable-component-update", "--window-size=1100,900",
                    format!("--user-data-dir={}", b._profile.path().display()),
                    format!("--ignore-certificate-errors-spki-list={spki_sha256_b64}"),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = b.call(Method::POST, "/session", Some(caps)).await;
        b.session = created["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        b
    }

    /// One WebDriver command; the `value` of its answer. A WebDriver error fails the test.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to chromedriver");
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .expect("request");
        let resp = send.send_request(req).await.expect("webdriver answer");
        let status = resp.status();
        let raw = resp.into_body().collect().await.expect("body").to_bytes();
        let answer: Value = serde_json::from_slice(&raw).expect("webdriver json");
        assert!(status.is_success(), "webdriver {path}: {status} {answer}");
        answer.get("value").cloned().unwrap_or(answer)
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.call(Method::POST, &self.at("/url"), Some(json!({"url": url})))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            Method::POST,
            &self.at("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Polls `condition` (a script returning a truthy value when met) until it holds or
    /// [`WAIT`] has passed; returns its value.
    pub async fn wait_for(&self, what: &str, condition: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let v = self.script(condition, json!([])).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {WAIT:?} for {what}; page says: {}",
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an element matching `css` is displayed.
    pub async fn wait_visible(&self, css: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.checkVisibility();",
            json!(css)
        );
        self.wait_for(css, &script).await;
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                Method::POST,
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().expect("element id").to_string()
    }

    /// Types `text` into the element matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.element(css).await;
        self.call(
            Method::POST,
            &self.at(&format!("/element/{e}/clear")),
            Some(json!({})),
        )
        .await;
        self.call(
            Method::POST,
            &self.at(&format!("/element/{e}/value")),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let e = self.element(css).await;
        self.call(
            Method::POST,
            &self.at(&format!("/element/{e}/click")),
            Some(json!({})),
        )
        .await;
    }

    /// The rendered text of the element matching `css`.
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

    /// The browser's cookies for the current page, as WebDriver reports them (`httpOnly`
    /// ones included).
    pub async fn cookies(&self) -> Vec<Value> {
        self.call(Method::GET, &self.at("/cookie"), None)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The console and network messages logged since the last call.
    pub async fn log(&self) -> Vec<Value> {
        self.call(
            Method::POST,
            &self.at("/se/log"),
            Some(json!({"type": "browser"})),
        )
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call(Method::GET, &self.at("/screenshot"), None).await;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("png")
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        let path = self.at("");
        self.call(Method::DELETE, &path, None).await;
        let _ = self.driver.kill().await;
    }
}
