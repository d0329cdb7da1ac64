//! The few W3C WebDriver commands the `web` scans need, over plain HTTP/1.1 to a
//! `chromedriver` started on a loopback port for one session and killed with it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

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
/// How long chromedriver may take to start, and one command to be answered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the browser could not do what was asked.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BrowserError {
    /// A tool is not installed.
    #[error("{0} is not installed (Debian: apt-get install chromium chromium-driver)")]
    Missing(String),
    /// The target's certificate could not be read.
    #[error("the target's certificate: {0}")]
    Certificate(String),
    /// chromedriver did not start or did not answer.
    #[error("chromedriver: {0}")]
    Driver(String),
    /// A command was refused.
    #[error("webdriver {command}: {detail}")]
    Command {
        /// The command's path.
        command: String,
        /// What chromedriver said.
        detail: String,
    },
}

fn driver(e: impl std::fmt::Display) -> BrowserError {
    BrowserError::Driver(e.to_string())
}

/// A `chromedriver` process and one headless Chromium session in it.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, trusting the
    /// certificate whose SPKI SHA-256 is `spki_pin` besides the system's, with its console
    /// and network events logged.
    pub async fn start(
        chromium: &Path,
        chromedriver: &Path,
        spki_pin: &str,
    ) -> Result<Browser, BrowserError> {
        let mut child = Command::new(chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(driver)?;
        let mut lines =
            BufReader::new(child.stdout.take().ok_or_else(|| driver("no stdout"))?).lines();
        let port = tokio::time::timeout(COMMAND_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.map_err(driver)? {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').parse::<u16>().map_err(driver);
                }
            }
            Err(driver("exited before it listened"))
        })
        .await
        .map_err(|_| driver("did not start in time"))??;
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let profile = tempfile::tempdir().map_err(driver)?;
        let mut b = Browser {
            driver: child,
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
                    format!("--ignore-certificate-errors-spki-list={spki_pin}"),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let created = b.call(Method::POST, "/session", Some(caps)).await?;
        b.session = created["sessionId"]
            .as_str()
            .ok_or_else(|| driver("no session id"))?
            .to_string();
        Ok(b)
    }

    /// One WebDriver command; the `value` of its answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, BrowserError> {
        let fail = |detail: String| BrowserError::Command {
            command: path.to_string(),
            detail,
        };
        let exchange = async {
            let tcp = TcpStream::connect(("127.0.0.1", self.port))
                .await
                .map_err(driver)?;
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(driver)?;
            tokio::spawn(conn);
            let req = Request::builder()
                .method(method)
                .uri(path)
                .header("host", format!("127.0.0.1:{}", self.port))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(
                    body.map(|b| b.to_string()).unwrap_or_default(),
                )))
                .map_err(driver)?;
            let resp = send.send_request(req).await.map_err(driver)?;
            let status = resp.status();
            let raw = resp.into_body().collect().await.map_err(driver)?.to_bytes();
            let answer: Value = serde_json::from_slice(&raw).map_err(|e| fail(e.to_string()))?;
            if !status.is_success() {
                let msg = answer["value"]["message"].as_str().unwrap_or_default();
                return Err(fail(format!(
                    "{status}: {}",
                    msg.lines().next().unwrap_or_default()
                )));
            }
            Ok(answer.get("value").cloned().unwrap_or(answer))
        };
        tokio::time::timeout(COMMAND_TIMEOUT, exchange)
            .await
            .map_err(|_| fail("no answer in time".into()))?
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.call(Method::POST, &self.at("/url"), Some(json!({"url": url})))
            .await
            .map(drop)
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the current frame.
    pub async fn script(&self, script: &str, args: Value) -> Result<Value, BrowserError> {
        self.call(
            Method::POST,
            &self.at("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Polls `condition` (a script returning a truthy value when met) every 50 ms for at most
    /// `wait`; its last value.
    pub async fn wait_for(&self, condition: &str, wait: Duration) -> Result<Value, BrowserError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let v = self.script(condition, json!([])).await?;
            let met = !(v.is_null() || v == json!(false) || v == json!(""));
            if met || tokio::time::Instant::now() >= deadline {
                return Ok(v);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Adds a cookie for the current page's site (navigate there first) with the attributes a
    /// `Set-Cookie` field gave it, so that the browser treats it as the site's own.
    pub async fn add_cookie(
        &self,
        name: &str,
        value: &str,
        set_cookie: &str,
    ) -> Result<(), BrowserError> {
        let attrs: Vec<(String, String)> = set_cookie
            .split(';')
            .skip(1)
            .map(|a| {
                let (k, v) = a.split_once('=').unwrap_or((a, ""));
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let has = |k: &str| attrs.iter().any(|(n, _)| n == k);
        let mut cookie = json!({
            "name": name, "value": value, "path": "/",
            "secure": has("secure"), "httpOnly": has("httponly"),
        });
        if let Some((_, same_site)) = attrs.iter().find(|(n, _)| n == "samesite") {
            let mut v = same_site.to_ascii_lowercase();
            if let Some(first) = v.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            cookie["sameSite"] = json!(v);
        }
        self.call(
            Method::POST,
            &self.at("/cookie"),
            Some(json!({"cookie": cookie})),
        )
        .await
        .map(drop)
    }

    /// Makes the first frame matching `css` the current browsing context.
    pub async fn enter_frame(&self, css: &str) -> Result<(), BrowserError> {
        let e = self
            .call(
                Method::POST,
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        let id = e[ELEMENT].clone();
        self.call(
            Method::POST,
            &self.at("/frame"),
            Some(json!({"id": {ELEMENT: id}})),
        )
        .await
        .map(drop)
    }

    /// Makes the top-level page the current browsing context again.
    pub async fn leave_frames(&self) -> Result<(), BrowserError> {
        self.call(Method::POST, &self.at("/frame"), Some(json!({"id": null})))
            .await
            .map(drop)
    }

    /// The entries of a log (`browser`: the console; `performance`: DevTools events) since the
    /// last read of it.
    pub async fn log(&self, kind: &str) -> Result<Vec<Value>, BrowserError> {
        let v = self
            .call(
                Method::POST,
                &self.at("/se/log"),
                Some(json!({"type": kind})),
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The answers the browser received since the performance log was last read: each
    /// request's URL and the status the server gave it, including answers the browser then
    /// kept from the page (a no-CORS or cross-origin-blocked response: DevTools' "extra info"
    /// still carries its status).
    pub async fn responses(&self) -> Result<Vec<(String, u16)>, BrowserError> {
        let mut urls: HashMap<String, String> = HashMap::new();
        let mut out = Vec::new();
        let mut extra = Vec::new();
        for entry in self.log("performance").await? {
            let Some(text) = entry["message"].as_str() else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let m = &event["message"];
            let p = &m["params"];
            let id = p["requestId"].as_str().unwrap_or_default().to_string();
            let status = |v: &Value| v.as_u64().and_then(|s| u16::try_from(s).ok());
            match m["method"].as_str() {
                Some("Network.requestWillBeSent") => {
                    if let Some(url) = p["request"]["url"].as_str() {
                        urls.insert(id, url.to_string());
                    }
                }
                Some("Network.responseReceived") => {
                    if let (Some(url), Some(st)) = (
                        p["response"]["url"].as_str(),
                        status(&p["response"]["status"]),
                    ) {
                        out.push((id, url.to_string(), st));
                    }
                }
                Some("Network.responseReceivedExtraInfo") => {
                    if let Some(st) = status(&p["statusCode"]) {
                        extra.push((id, st));
                    }
                }
                _ => {}
            }
        }
        for (id, st) in extra {
            if !out.iter().any(|(i, _, _)| *i == id)
                && let Some(url) = urls.get(&id)
            {
                out.push((id, url.clone(), st));
            }
        }
        Ok(out.into_iter().map(|(_, url, st)| (url, st)).collect())
    }

    async fn element(&self, css: &str) -> Result<String, BrowserError> {
        let v = self
            .call(
                Method::POST,
                &self.at("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        v[ELEMENT]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| BrowserError::Command {
                command: "element".into(),
                detail: format!("no element matches {css}"),
            })
    }

    /// Types `text` into the element matching `css`, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), BrowserError> {
        let e = self.element(css).await?;
        self.call(
            Method::POST,
            &self.at(&format!("/element/{e}/clear")),
            Some(json!({})),
        )
        .await?;
        self.call(
            Method::POST,
            &self.at(&format!("/element/{e}/value")),
            Some(json!({"text": text})),
        )
        .await
        .map(drop)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), BrowserError> {
        let e = self.element(css).await?;
        self.call(
            Method::POST,
            &self.at(&format!("/element/{e}/click")),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// The browser's cookies for the current page, as it stored them (`HttpOnly` ones
    /// included).
    pub async fn cookies(&self) -> Result<Vec<Value>, BrowserError> {
        let v = self.call(Method::GET, &self.at("/cookie"), None).await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, BrowserError> {
        use base64::Engine;
        let v = self
            .call(Method::GET, &self.at("/screenshot"), None)
            .await?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(driver)
    }

    /// Ends the session and the driver.
    pub async fn quit(mut self) {
        let path = self.at("");
        let _ = self.call(Method::DELETE, &path, None).await;
        let _ = self.driver.kill().await;
    }
}
