//! The ACME client's HTTPS: one HTTP/1.1 connection per request over rustls, trusting
//! Mozilla's roots or the configured `directory_ca` only, each request bounded in time and
//! each response body in size, and the `Retry-After` of every refused request kept so that
//! the order's retries can respect it (instant-acme reads it only while polling an order).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Request;
use hyper_util::rt::TokioIo;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::AcmeError;

/// A request that has not answered within this is a failure (the order is retried later).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of a response body read (a chain is a few KiB; a directory, an order, less).
const MOST_BODY: usize = 1024 * 1024;

/// The directory's HTTPS client.
#[derive(Clone)]
pub struct AcmeHttp {
    tls: tokio_rustls::TlsConnector,
    retry_after: Arc<Mutex<Option<SystemTime>>>,
}

impl std::fmt::Debug for AcmeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeHttp").finish_non_exhaustive()
    }
}

impl AcmeHttp {
    /// Trusts the certificates of the PEM file `ca`, or Mozilla's roots without one.
    pub fn new(ca: Option<&std::path::Path>) -> Result<Self, AcmeError> {
        let mut roots = RootCertStore::empty();
        match ca {
            Some(path) => {
                let bad = |reason: String| AcmeError::DirectoryCa {
                    path: path.display().to_string(),
                    reason,
                };
                let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                    .map_err(|e| bad(e.to_string()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no CERTIFICATE block".into()));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| bad(e.to_string()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let config = ClientConfig::builder_with_provider(Arc::new(crate::tls::provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| AcmeError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(AcmeHttp {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            retry_after: Arc::new(Mutex::new(None)),
        })
    }

    /// The `Retry-After` of the last refused request, taken (so each is used once).
    pub fn take_retry_after(&self) -> Option<SystemTime> {
        self.retry_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    async fn send(
        tls: tokio_rustls::TlsConnector,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Result<BytesResponse, Box<dyn std::error::Error + Send + Sync>> {
        let uri = req.uri().clone();
        if uri.scheme_str() != Some("https") {
            return Err(format!("{uri}: not an https:// URL").into());
        }
        let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?;
        let port = uri.port_u16().unwrap_or(443);
        // An IPv6 literal comes bracketed in a URI.
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
        let name = ServerName::try_from(bare.clone())
            .map_err(|e| format!("{host}: not a server name: {e}"))?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP with {host}:{port}: {e}"))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "ACME connection ended");
            }
        });
        // HTTP/1.1 needs a Host header; the request line carries only the path.
        let (mut parts, body) = req.into_parts();
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default();
        parts.headers.insert(
            http::header::HOST,
            http::HeaderValue::from_str(&authority).map_err(|e| e.to_string())?,
        );
        parts.uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let rsp = sender
            .send_request(Request::from_parts(parts, body))
            .await
            .map_err(|e| format!("request to {host}:{port}: {e}"))?;
        Ok(BytesResponse::from(
            rsp.map(|body| http_body_util::Limited::new(body, MOST_BODY)),
        ))
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &http::HeaderMap) -> Option<SystemTime> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    match value.parse::<u64>() {
        Ok(secs) => Some(SystemTime::now() + Duration::from_secs(secs)),
        Err(_) => httpdate_parse(value),
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 says to send.
fn httpdate_parse(value: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc();
    Some(SystemTime::from(at))
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let tls = self.tls.clone();
        let slot = self.retry_after.clone();
        Box::pin(async move {
            let rsp = tokio::time::timeout(REQUEST_TIMEOUT, Self::send(tls, req))
                .await
                .map_err(|_| {
                    instant_acme::Error::Other(
                        format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()).into(),
                    )
                })?
                .map_err(instant_acme::Error::Other)?;
            if !rsp.parts.status.is_success()
                && let Some(at) = retry_after(&rsp.parts.headers)
            {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
            }
            Ok(rsp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, "120".parse().expect("value"));
        let at = retry_after(&h).expect("seconds");
        let wait = at.duration_since(SystemTime::now()).expect("future");
        assert!(wait > Duration::from_secs(110) && wait <= Duration::from_secs(120));
        h.insert(
            http::header::RETRY_AFTER,
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().expect("value"),
        );
        let at = retry_after(&h).expect("date");
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH)
                .expect("after")
                .as_secs(),
            784_111_777
        );
        h.insert(http::header::RETRY_AFTER, "soon".parse().expect("value"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn a_broken_directory_ca_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let e = AcmeHttp::new(Some(&path)).expect_err("no certificate");
        assert!(e.to_string().contains("ca.pem"), "{e}");
        assert!(AcmeHttp::new(None).is_ok(), "Mozilla's roots");
    }
}
