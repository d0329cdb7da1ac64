//! One HTTP/1.1 request, built field by field so that every byte lands where it is meant to:
//! what the legitimate client, the login flows and the scanners send. Secrets it carries (a
//! session's token or cookie) are named, and never shown by [`Request::describe`].

/// A request to send.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query string, already percent-encoded.
    pub target: String,
    /// Header fields besides `Host`, `User-Agent`, `Content-Type` and `Content-Length`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// The body's media type (`application/json` when unset).
    pub content_type: Option<String>,
    /// Values in the headers that are secrets (a session's token or cookie value): masked in
    /// [`Request::describe`] and in `Debug`.
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("(host)"))
    }
}

/// The `Content-Type` of a form.
pub const FORM: &str = "application/x-www-form-urlencoded";

impl Request {
    /// `GET target`.
    pub fn get(target: impl Into<String>) -> Request {
        Request::new("GET", target)
    }

    /// `METHOD target`, no body.
    pub fn new(method: &str, target: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            ..Request::default()
        }
    }

    /// `POST target` with the JSON `body`.
    pub fn post_json(target: impl Into<String>, body: &serde_json::Value) -> Request {
        Request {
            method: "POST".into(),
            target: target.into(),
            body: Some(body.to_string().into_bytes()),
            ..Request::default()
        }
    }

    /// With the header `name: value` added.
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// With the header `name: value` added, `secret` (a part of `value`) never shown.
    pub fn with_secret_header(mut self, name: &str, value: &str, secret: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        if !secret.is_empty() {
            self.secrets.push(secret.to_string());
        }
        self
    }

    /// The bytes on the wire, sent as `agent`.
    pub fn to_bytes(&self, host: &str, agent: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n",
            self.method, self.target
        );
        for (name, value) in &self.headers {
            head += &format!("{name}: {value}\r\n");
        }
        let mut bytes = match &self.body {
            Some(body) => {
                let ct = self.content_type.as_deref().unwrap_or("application/json");
                head += &format!(
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let mut b = head.into_bytes();
                b.extend_from_slice(body);
                b
            }
            None => {
                head += "\r\n";
                head.into_bytes()
            }
        };
        bytes.shrink_to_fit();
        bytes
    }

    /// For evidence: the request as text, with a bearer token and every secret masked.
    pub fn describe(&self, host: &str) -> String {
        let text = String::from_utf8_lossy(&self.to_bytes(host, "attack-sim")).into_owned();
        text.lines()
            .map(|l| match l.split_once(": ") {
                Some((name, _)) if name.eq_ignore_ascii_case("authorization") => {
                    format!("{name}: (the scanner's credentials)")
                }
                _ => self
                    .secrets
                    .iter()
                    .fold(l.to_string(), |l, s| l.replace(s, "(secret)")),
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    }
}

/// Percent-encodes `s` for a path segment, a query value or a form field: everything but
/// RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_written_as_built() {
        let r = Request::post_json("/v1/x?q=a%27", &serde_json::json!({"a": "b'"}))
            .with_header("Authorization", "Bearer secret-token")
            .with_header("X-Forwarded-For", "1.2.3.4");
        let text = String::from_utf8(r.to_bytes("localhost", "attack-sim scanner")).expect("utf-8");
        assert!(text.starts_with(
            "POST /v1/x?q=a%27 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: attack-sim scanner\r\n"
        ));
        assert!(text.contains("X-Forwarded-For: 1.2.3.4\r\n"));
        assert!(
            text.ends_with(
                "Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\":\"b'\"}"
            ),
            "{text}"
        );
        let shown = r.describe("localhost");
        assert!(!shown.contains("secret-token"), "{shown}");
        assert!(Request::get("/").to_bytes("h", "a").ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn secrets_are_never_shown() {
        let r = Request::get("/notes")
            .with_secret_header("Cookie", "theme=dark; sid=s3cr3t", "s3cr3t")
            .with_header("X-Other", "visible");
        let shown = r.describe("h");
        assert!(
            shown.contains("sid=(secret)") && shown.contains("theme=dark"),
            "{shown}"
        );
        assert!(!format!("{r:?}").contains("s3cr3t"));
        assert!(String::from_utf8_lossy(&r.to_bytes("h", "a")).contains("sid=s3cr3t"));
    }

    #[test]
    fn forms_are_encoded() {
        let mut r = Request::new("POST", "/signin");
        r.body = Some(
            form(&[
                ("login".into(), "a b".into()),
                ("pass".into(), "x&y=z".into()),
            ])
            .into_bytes(),
        );
        r.content_type = Some(FORM.into());
        let text = String::from_utf8(r.to_bytes("h", "a")).expect("utf-8");
        assert!(text.contains("Content-Type: application/x-www-form-urlencoded\r\n"));
        assert!(
            text.ends_with("\r\n\r\nlogin=a%20b&pass=x%26y%3Dz"),
            "{text}"
        );
    }

    #[test]
    fn inputs_are_percent_encoded() {
        assert_eq!(encode("a b'%/é"), "a%20b%27%25%2F%C3%A9");
        assert_eq!(encode("Az09-._~"), "Az09-._~");
    }
}
