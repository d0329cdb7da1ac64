//! `GET /openapi.json` describes exactly what is served: every route of the API contract is
//! in it, and every operation in it is routed.

use crate::common;

use common::{TestServer, bounded, get_once};
use hyper::StatusCode;

/// The routes of ARCHITECTURE.md's API table.
const CONTRACT: [(&str, &str); 15] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("post", "/v1/users"),
    ("post", "/v1/sessions"),
    ("delete", "/v1/sessions/current"),
    ("get", "/v1/me"),
    ("post", "/v1/me/password"),
    ("post", "/v1/accounts"),
    ("get", "/v1/accounts"),
    ("get", "/v1/accounts/{id}"),
    ("post", "/v1/accounts/{id}/deposits"),
    ("post", "/v1/accounts/{id}/withdrawals"),
    ("post", "/v1/transfers"),
    ("get", "/v1/accounts/{id}/transactions"),
];

#[tokio::test]
async fn document_matches_the_served_routes() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let r = get_once(s.addr, &s.ca, &[b"h2"], "/openapi.json").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["content-type"], "application/json");
        let doc = r.json();
        assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented = Vec::new();
        for (path, ops) in paths {
            for method in ops.as_object().expect("ops").keys() {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    documented.push((method.clone(), path.clone()));
                }
            }
        }
        for (m, p) in CONTRACT {
            assert!(
                documented.contains(&(m.to_string(), p.to_string())),
                "{m} {p} missing from the document"
            );
        }
        // Every documented operation is routed: without credentials or a body it may be
        // refused (401, 415), but never "no such route" (404) or "wrong method" (405).
        let mut conn = common::Conn::open(s.addr, &s.ca, &[b"h2"])
            .await
            .expect("connect");
        let id = uuid::Uuid::new_v4().to_string();
        for (m, p) in &documented {
            let path = p.replace("{id}", &id);
            let r = conn
                .send(&m.to_uppercase(), &path, &[], None)
                .await
                .expect("request");
            assert!(
                r.status != StatusCode::NOT_FOUND && r.status != StatusCode::METHOD_NOT_ALLOWED,
                "{m} {p} documented but answered {}",
                r.status
            );
        }
        // Authenticated operations declare the bearer scheme.
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert!(doc["paths"]["/v1/me"]["get"]["security"].is_array());
        let r = conn
            .send("DELETE", "/v1/accounts", &[], None)
            .await
            .expect("req");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers["content-type"], "application/problem+json");
    })
    .await;
}
