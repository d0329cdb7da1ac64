//! The `input-abuse` scan's positive control for the flaws a hand-written HTTP server has (as
//! CGI code in C often is, and as no hyper-based server can be: hyper refuses a line break in
//! a header value). It reads a request head over TLS, answers, and closes. Test-only.
//!
//! - `GET /r/redirect?next=` writes the decoded `next` into `Location` as it is (CRLF
//!   injection, response splitting);
//! - `GET /r/files/{name}` serves `root/<name>`, decoded and joined without a check (path
//!   traversal: `../`, and an absolute path replaces the root);
//! - `GET /r/lookup?id=` parses the id and fails with a 500 when it is not a number
//!   (unhandled input);
//! - `GET /r/fragile?q=` answers only `q=plain` and drops the connection on anything else, as
//!   a filter that cuts what it does not like does: no scan may call it safe on that.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::TestServer;
use super::weak_sql::{percent_decode, query_value};

const DOC: &str = r#"{"openapi": "3.1.0", "info": {"title": "weak raw", "version": "0"},
 "paths": {
  "/healthz": {"get": {}},
  "/r/redirect": {"get": {"parameters": [
    {"name": "next", "in": "query", "schema": {"type": "string"}, "example": "/home"}]}},
  "/r/files/{name}": {"get": {"parameters": [
    {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "example": "statement.txt"}]}},
  "/r/fragile": {"get": {"parameters": [
    {"name": "q", "in": "query", "schema": {"type": "string"}, "example": "plain"}]}},
  "/r/lookup": {"get": {"parameters": [
    {"name": "id", "in": "query", "schema": {"type": "integer"}, "example": 7}]}}
 }}"#;

fn answer(status: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn route(root: &Path, target: &str) -> Vec<u8> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/healthz" {
        return answer("200 OK", "", b"{\"status\":\"ok\"}");
    }
    if path == "/openapi.json" {
        return answer("200 OK", "", DOC.as_bytes());
    }
    if path == "/r/redirect" {
        let next = query_value(query, "next");
        // Written as decoded: a CR LF in `next` ends the field and starts another.
        return answer("302 Found", &format!("Location: {next}\r\n"), b"");
    }
    if let Some(name) = path.strip_prefix("/r/files/") {
        // Joined as given: `..` climbs out, and an absolute path replaces the root.
        return match std::fs::read(root.join(percent_decode(name))) {
            Ok(content) => answer("200 OK", "", &content),
            Err(_) => answer("404 Not Found", "", b"{\"error\":\"no such file\"}"),
        };
    }
    if path == "/r/lookup" {
        return match query_value(query, "id").parse::<u32>() {
            Ok(id) => answer("200 OK", "", format!("{{\"id\":{id}}}").as_bytes()),
            // What an unchecked parse does to a CGI program.
            Err(_) => answer("500 Internal Server Error", "", b"{\"error\":\"crashed\"}"),
        };
    }
    if path == "/r/fragile" {
        return match query_value(query, "q").as_str() {
            "plain" => answer("200 OK", "", b"{\"items\":[]}"),
            // No answer at all.
            _ => Vec::new(),
        };
    }
    answer("404 Not Found", "", b"{\"error\":\"not found\"}")
}

/// Starts the hand-written server on a loopback port.
pub async fn start() -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let (acceptor, ca) = super::dev_tls(dir.path(), &[]);
    let root = dir.path().join("files");
    std::fs::create_dir_all(&root).expect("files dir");
    std::fs::write(root.join("statement.txt"), "statement of account\n").expect("file");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            while conns.try_join_next().is_some() {}
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, root) = (acceptor.clone(), root.clone());
            conns.spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let target = text.split(' ').nth(1).unwrap_or("/").to_string();
                let _ = tls.write_all(&route(&root, &target)).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TestServer {
        url: format!("https://localhost:{port}"),
        ca,
        _dir: dir,
        task,
    }
}
