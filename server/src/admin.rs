//! The admin listener's application: `GET /metrics` (Prometheus text format, version 0.0.4).
//! It is served over TLS by the same connection code as the API, with its own small
//! connection caps, and is not part of the public OpenAPI document.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::headers;
use crate::http::problem::ApiError;
use crate::net::admission::Admission;

/// Everything `/metrics` reports: counters plus live gauges.
#[derive(Debug, Clone)]
pub struct MetricsSource {
    /// The API listener's admission state (its counters are shared by every layer).
    pub admission: Arc<Admission>,
    /// Open connections.
    pub open: Arc<AtomicUsize>,
    /// ACME's outcomes, when `tls.acme` is set.
    pub acme: Option<Arc<crate::acme::AcmeMetrics>>,
}

impl MetricsSource {
    /// The Prometheus text.
    pub fn render(&self) -> String {
        let mut out = self.admission.metrics().render(&[
            (
                "rampart_open_connections",
                "Connections open now.",
                self.open.load(Ordering::Relaxed) as u64,
            ),
            (
                "rampart_handshakes_in_progress",
                "TLS handshakes in progress.",
                self.admission.handshakes_in_progress() as u64,
            ),
            (
                "rampart_clients_connected",
                "Distinct clients (IPv4 address or IPv6 /64) with an open connection.",
                self.admission.clients_connected() as u64,
            ),
            (
                "rampart_handshakes_waiting",
                "TLS handshakes waiting for a slot (the client holding the fewest goes next).",
                self.admission.handshakes_waiting() as u64,
            ),
            (
                "rampart_clients_tracked",
                "Keys held by the connection-layer limiters (handshake rate, refusal log gate, cool-down strikes): each holds at most limits.max_tracked_clients plus 1,024.",
                self.admission.tracked_clients() as u64,
            ),
            (
                "rampart_clients_cooling_down",
                "Clients whose new connections are refused for repeated refusals.",
                self.admission.clients_cooling_down() as u64,
            ),
        ]);
        if let Some(acme) = &self.acme {
            acme.render(&mut out);
        }
        out
    }
}

/// The admin router.
pub fn router(source: Arc<MetricsSource>) -> Router {
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = source.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response()
                }
            }),
        )
        .fallback(|| async { ApiError::NotFound });
    headers::apply(app)
}
