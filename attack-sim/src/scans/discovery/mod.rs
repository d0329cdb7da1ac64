//! What the injection and auth scans attack: the target's operations and every input they
//! take, read from its OpenAPI document ([`openapi`]), and the session and data that reach
//! them ([`fixtures`]); [`request`] puts the two together into one request, a payload in one
//! input and the fixtures in the others.

pub mod fixtures;
pub mod openapi;
pub mod request;

use std::sync::Arc;

use serde_json::Value;

use crate::scans::http::{Http, Request};
use crate::scans::{ScanCtx, Scanned};
use crate::target::Target;

/// Where the document is read when `--openapi` is not given.
pub const DEFAULT_DOCUMENT: &str = "/openapi.json";

/// Why discovery failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DiscoveryError {
    /// The document could not be had or read.
    #[error("OpenAPI document {place}: {detail}")]
    Document {
        /// Where it was looked for.
        place: String,
        /// What went wrong.
        detail: String,
    },
    /// The login flow failed.
    #[error("{step}: {detail}")]
    Flow {
        /// Which step.
        step: String,
        /// What came back.
        detail: String,
    },
}

/// Where `source` (`--openapi`) points: a path on the target (a URL on it, or a path starting
/// with `/`), or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `GET` this path on the target.
    OnTarget(String),
    /// Read this file.
    File(String),
}

/// Classifies `--openapi`; a URL elsewhere than the target is refused (the scan attacks what
/// the document describes, so it must describe the target).
pub fn source(target: &Target, arg: Option<&str>) -> Result<Source, DiscoveryError> {
    let Some(arg) = arg else {
        return Ok(Source::OnTarget(DEFAULT_DOCUMENT.into()));
    };
    if arg.starts_with("https://") || arg.starts_with("http://") {
        let base = target.url.trim_end_matches('/');
        return match arg.strip_prefix(base) {
            Some(path) if path.starts_with('/') => Ok(Source::OnTarget(path.to_string())),
            _ => Err(DiscoveryError::Document {
                place: arg.to_string(),
                detail: format!("a URL must be on the target ({base}/...); or give a file"),
            }),
        };
    }
    Ok(Source::File(arg.to_string()))
}

/// Reads the document `source` names.
pub async fn document(http: &Http, source: &Source) -> Result<Value, DiscoveryError> {
    let (name, text) = match source {
        Source::File(path) => {
            let text = std::fs::read(path).map_err(|e| DiscoveryError::Document {
                place: path.clone(),
                detail: e.to_string(),
            })?;
            (path.clone(), text)
        }
        Source::OnTarget(path) => {
            let reply = http.send(&Request::get(path.clone())).await.map_err(|e| {
                DiscoveryError::Document {
                    place: path.clone(),
                    detail: e.to_string(),
                }
            })?;
            if reply.status() != 200 {
                return Err(DiscoveryError::Document {
                    place: path.clone(),
                    detail: format!("answered {}", reply.status()),
                });
            }
            (path.clone(), reply.response.body)
        }
    };
    serde_json::from_slice(&text).map_err(|e| DiscoveryError::Document {
        place: name,
        detail: format!("not JSON: {e}"),
    })
}

/// What a scan found out about its target before attacking it.
pub struct Discovered {
    /// The OpenAPI document.
    pub doc: Value,
    /// Its operations.
    pub ops: Vec<openapi::Operation>,
    /// The session and data.
    pub fixtures: fixtures::Fixtures,
}

/// The target's document, operations, session and data, per `ctx`: found by the run's first
/// scan that asks (through `http`, its client), and the same for every later one.
pub async fn discover(ctx: &ScanCtx, http: &Http) -> Result<Arc<Discovered>, DiscoveryError> {
    ctx.discovery
        .get_or_init(|| async { discover_now(ctx, http).await.map(Arc::new) })
        .await
        .clone()
}

/// [`discover`], recorded in `s` as a check not made when it fails.
pub async fn prepare(ctx: &ScanCtx, http: &Http, s: &mut Scanned) -> Option<Arc<Discovered>> {
    match discover(ctx, http).await {
        Ok(d) => Some(d),
        Err(e) => {
            s.unmade("discovery", e.to_string());
            None
        }
    }
}

async fn discover_now(ctx: &ScanCtx, http: &Http) -> Result<Discovered, DiscoveryError> {
    let source = source(&ctx.target, ctx.openapi.as_deref())?;
    let doc = document(http, &source).await?;
    let ops = openapi::operations(&doc).map_err(|e| DiscoveryError::Document {
        place: match &source {
            Source::OnTarget(p) | Source::File(p) => p.clone(),
        },
        detail: e.to_string(),
    })?;
    let fixtures = fixtures::establish(http, &ops, &ctx.auth, &ctx.setup).await?;
    Ok(Discovered { doc, ops, fixtures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_must_describe_the_target() {
        let t = Target::resolve("https://localhost:8443", false).expect("target");
        assert_eq!(
            source(&t, None),
            Ok(Source::OnTarget("/openapi.json".into()))
        );
        assert_eq!(
            source(&t, Some("https://localhost:8443/docs/api.json")),
            Ok(Source::OnTarget("/docs/api.json".into()))
        );
        assert_eq!(
            source(&t, Some("spec/api.json")),
            Ok(Source::File("spec/api.json".into()))
        );
        let e = source(&t, Some("https://example.com/api.json")).expect_err("elsewhere");
        assert!(e.to_string().contains("must be on the target"), "{e}");
    }
}
