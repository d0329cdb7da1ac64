//! The OpenAPI 3.1 document. Every route is registered through `utoipa_axum`'s
//! `OpenApiRouter` with `routes!`, which takes the method and path from each handler's
//! `#[utoipa::path]` annotation: a route cannot be served without being documented, and the
//! document cannot describe a route that is not served.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Info, OpenApi};
use utoipa::{Modify, ToSchema};

/// An RFC 9457 problem document, as every error is rendered.
#[derive(ToSchema)]
pub struct Problem {
    /// A URI identifying the problem type.
    #[schema(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, for this occurrence (never internals).
    pub detail: String,
    /// The request field concerned, for validation problems.
    pub field: Option<String>,
}

/// `{"status": ...}` bodies of the health routes.
#[derive(ToSchema, serde::Serialize)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: String,
}

/// The bearer-token security scheme.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Token from POST /v1/sessions: 256 random bits, base64url",
                    ))
                    .build(),
            ),
        );
        components
            .schemas
            .entry("Problem".to_string())
            .or_insert_with(<Problem as utoipa::PartialSchema>::schema);
    }
}

/// The document's fixed parts; paths are added by the router.
pub fn base() -> OpenApi {
    let mut doc = OpenApi::new(
        Info::builder()
            .title("Rampart bank API")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "A small online bank over TLS. Amounts are decimal strings with at most two \
                 fraction digits; ids are opaque UUIDv4 strings; every error is \
                 application/problem+json.",
            ))
            .build(),
        utoipa::openapi::Paths::new(),
    );
    BearerAuth.modify(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;

    /// The documented problem schema has exactly the members an error renders.
    #[tokio::test]
    async fn problem_schema_matches_rendered_errors() {
        let doc = serde_json::to_value(base()).expect("doc");
        let props = doc["components"]["schemas"]["Problem"]["properties"]
            .as_object()
            .expect("Problem properties");
        let mut documented: Vec<&str> = props.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let resp = crate::http::problem::ApiError::Unprocessable {
            field: "amount".into(),
            detail: "amount must be positive".into(),
        }
        .into_response();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let rendered: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let mut keys: Vec<&str> = rendered
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(documented, keys);
    }
}
