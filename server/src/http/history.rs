//! `GET /v1/accounts/{id}/transactions?q=&sort=&order=&limit=&cursor=`.
//!
//! Unknown or repeated parameters are refused (400 naming the parameter), `sort` and `order`
//! are allowlisted, `limit` is 1..=100 (default 20), and `cursor` must be one this server
//! issued for the same account and query.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::accounts::{EntryOut, account_id};
use super::authenticated::Authenticated;
use super::openapi::Problem;
use super::problem::ApiError;
use crate::ledger::cursor::Cursor;
use crate::store::history::{self, After, Order, Sort};
use crate::store::ledger;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
/// Longest search text.
pub const Q_MAX: usize = 100;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    q: String,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// A page of history.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page {
    items: Vec<EntryOut>,
    next_cursor: Option<String>,
}

fn bad(field: &str, detail: &str) -> ApiError {
    ApiError::BadRequest {
        field: Some(field.to_string()),
        detail: format!("Query parameter `{field}` {detail}."),
    }
}

fn params(raw: Option<&str>) -> Result<Params, ApiError> {
    let raw = raw.unwrap_or("");
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let msg = e.inner().to_string();
        let name = ["unknown field `", "duplicate field `"]
            .iter()
            .find_map(|p| msg.strip_prefix(p))
            .and_then(|r| r.split('`').next())
            .map(super::json::echo_name)
            .unwrap_or_else(|| super::json::echo_name(&e.path().to_string()));
        if msg.starts_with("duplicate field") {
            bad(&name, "is given more than once")
        } else if msg.starts_with("unknown field") {
            bad(&name, "is not supported")
        } else {
            ApiError::BadRequest {
                field: None,
                detail: "The query string is malformed.".to_string(),
            }
        }
    })
}

#[utoipa::path(get, path = "/v1/accounts/{id}/transactions", tag = "accounts", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Account id (UUID)"),
        ("q" = Option<String>, Query, description = "Text the memo contains (wildcards are literal), at most 100 characters"),
        ("sort" = Option<String>, Query, description = "created_at (default) or amount"),
        ("order" = Option<String>, Query, description = "desc (default) or asc"),
        ("limit" = Option<u32>, Query, description = "1..=100, default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, description = "A page of ledger entries", body = Page), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such account among the caller's", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// The handler.
pub async fn list(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let id = account_id(&id)?;
    let p = params(raw.as_deref())?;
    let (sort, sort_name) = match p.sort.as_deref().unwrap_or("created_at") {
        "created_at" => (Sort::CreatedAt, "created_at"),
        "amount" => (Sort::Amount, "amount"),
        _ => return Err(bad("sort", "must be created_at or amount")),
    };
    let (order, order_name) = match p.order.as_deref().unwrap_or("desc") {
        "asc" => (Order::Asc, "asc"),
        "desc" => (Order::Desc, "desc"),
        _ => return Err(bad("order", "must be asc or desc")),
    };
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad("limit", "must be an integer from 1 to 100"))?,
    };
    if p.q.chars().count() > Q_MAX || p.q.chars().any(char::is_control) {
        return Err(bad(
            "q",
            "must be at most 100 characters without control characters",
        ));
    }
    if ledger::account(&state.db, &who.user_id, &id)
        .await
        .map_err(ApiError::from)?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let key = state.cursor_key.expose();
    let after = match p.cursor.as_deref() {
        None => None,
        Some(c) => {
            let c = Cursor::decode_for(c, key, &id, sort_name, order_name, &p.q)
                .map_err(|e| bad("cursor", &e.to_string()))?;
            Some(After {
                key: c.key,
                id: c.id,
            })
        }
    };
    let mut rows = history::page(&state.db, &id, sort, order, &p.q, after.as_ref(), limit + 1)
        .await
        .map_err(ApiError::from)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(
            Cursor {
                account_id: id.clone(),
                sort: sort_name.to_string(),
                order: order_name.to_string(),
                q: p.q.clone(),
                key: match sort {
                    Sort::CreatedAt => last.created_at,
                    Sort::Amount => last.amount_cents,
                },
                id: last.id.clone(),
            }
            .encode(key),
        ),
        _ => None,
    };
    Ok(Json(Page {
        items: rows.into_iter().map(EntryOut::from).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(raw: &str) -> Option<String> {
        match params(Some(raw)) {
            Err(ApiError::BadRequest { field, .. }) => field,
            Ok(_) => None,
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        assert_eq!(field("q=a&q=b").as_deref(), Some("q"));
        assert_eq!(field("sort=amount&evil=1").as_deref(), Some("evil"));
        assert!(params(Some("q=%25_x&sort=amount&order=asc&limit=5")).is_ok());
        assert!(params(None).is_ok());
    }
}
