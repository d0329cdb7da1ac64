//! The admin listener: `GET /metrics` over TLS on its own port, counting every rejection by
//! reason; nothing of the API is served there.

use crate::common;

use common::{Conn, TestServer, bounded, get_once};
use hyper::StatusCode;

#[tokio::test]
async fn metrics_count_rejections_by_reason() {
    bounded(async {
        let s = TestServer::start(|c| {
            c.admin.listen = Some("127.0.0.1:0".parse().expect("addr"));
            c.limits.requests_per_second_per_client = 1;
            c.limits.request_burst_per_client = 1;
        })
        .await;
        let admin = s.running.admin_addr().expect("admin enabled");
        let mut api = Conn::open(s.addr, &s.ca, &[b"h2"]).await.expect("connect");
        api.get("/healthz").await.expect("first");
        assert_eq!(
            api.get("/healthz").await.expect("second").status,
            StatusCode::TOO_MANY_REQUESTS
        );

        let r = get_once(admin, &s.ca, &[b"h2"], "/metrics").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/plain")
        );
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            text.contains("rampart_rejections_total{reason=\"request_rate\"} 1"),
            "{text}"
        );
        for reason in rampart::metrics::Reason::ALL {
            assert!(
                text.contains(&format!("reason=\"{}\"", reason.as_str())),
                "{} missing",
                reason.as_str()
            );
        }
        assert!(text.contains("rampart_open_connections"));
        // The admin port serves only metrics, and the API port does not serve them.
        assert_eq!(
            get_once(admin, &s.ca, &[b"h2"], "/healthz").await.status,
            StatusCode::NOT_FOUND
        );
        // (From another address: this one has spent its request budget above.)
        let mut fresh = Conn::open_from("127.0.40.1".parse().expect("ip"), s.addr, &s.ca, &[b"h2"])
            .await
            .expect("connect");
        assert_eq!(
            fresh.get("/metrics").await.expect("get").status,
            StatusCode::NOT_FOUND
        );
    })
    .await;
}
