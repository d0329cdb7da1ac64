//! Another site, for the cross-site checks: plain HTTP on a loopback address that is not the
//! target's, serving the pages the checks write (a page that frames the target, a page that
//! forges its requests). To the browser it is a different site from the target, as an
//! attacker's page would be.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

/// The addresses tried, in order: one of them is not the target's.
const ADDRS: [Ipv4Addr; 2] = [
    Ipv4Addr::new(127, 79, 255, 254),
    Ipv4Addr::new(127, 79, 255, 253),
];

/// The site and its pages; it stops serving when dropped.
pub struct OtherSite {
    addr: SocketAddr,
    pages: Arc<Mutex<HashMap<String, String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OtherSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OtherSite {
    /// Listens on an ephemeral port of a loopback address other than `target`.
    pub async fn start(target: IpAddr) -> std::io::Result<OtherSite> {
        let ip = ADDRS
            .into_iter()
            .find(|a| IpAddr::V4(*a) != target)
            .unwrap_or(ADDRS[0]);
        let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        let pages: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let served = pages.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let pages = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let page = pages
                            .lock()
                            .ok()
                            .and_then(|p| p.get(req.uri().path()).cloned());
                        async move {
                            let (status, body) = match page {
                                Some(html) => (StatusCode::OK, html),
                                None => (StatusCode::NOT_FOUND, String::new()),
                            };
                            let mut r = Response::new(Full::new(Bytes::from(body)));
                            *r.status_mut() = status;
                            r.headers_mut().insert(
                                "content-type",
                                hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
                            );
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Ok(OtherSite { addr, pages, task })
    }

    /// Serves `html` at `path`; the page's URL.
    pub fn page(&self, path: &str, html: String) -> String {
        if let Ok(mut p) = self.pages.lock() {
            p.insert(path.to_string(), html);
        }
        format!("http://{}{path}", self.addr)
    }
}
