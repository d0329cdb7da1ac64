//! `/v1/accounts`: open, list and read the caller's accounts, deposit and withdraw.
//! Another user's account is indistinguishable from a missing one (404).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::authenticated::Authenticated;
use super::idempotency;
use super::json::ApiJson;
use super::openapi::Problem;
use super::problem::ApiError;
use crate::ledger::amount::format_cents;
use crate::ledger::{Amount, text};
use crate::store::ledger::{self, Account, Entry, Kind, LedgerError, MovementRequest};
use crate::store::rfc3339;

/// Account as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountOut {
    id: String,
    name: String,
    #[schema(example = "12.50")]
    balance: String,
    currency: String,
    created_at: String,
}

impl From<Account> for AccountOut {
    fn from(a: Account) -> Self {
        AccountOut {
            id: a.id,
            name: a.name,
            balance: format_cents(a.balance_cents),
            currency: a.currency,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// Ledger entry as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryOut {
    id: String,
    account_id: String,
    /// `deposit`, `withdrawal`, `transfer_in` or `transfer_out`.
    kind: String,
    #[schema(example = "12.50")]
    amount: String,
    memo: String,
    transfer_id: Option<String>,
    counterparty_account: Option<String>,
    created_at: String,
}

impl From<Entry> for EntryOut {
    fn from(e: Entry) -> Self {
        EntryOut {
            id: e.id,
            account_id: e.account_id,
            kind: e.kind,
            amount: format_cents(e.amount_cents),
            memo: e.memo,
            transfer_id: e.transfer_id,
            counterparty_account: e.counterparty_account,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// `{"items": [...]}` of accounts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountList {
    items: Vec<AccountOut>,
}

/// `POST /v1/accounts` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Display name.
    pub name: String,
}

/// Deposit or withdrawal body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    /// Decimal string, e.g. `"12.50"`.
    #[schema(value_type = String, example = "12.50", pattern = r"^[0-9]{1,10}(\.[0-9]{1,2})?$")]
    pub amount: String,
    /// Optional free text.
    #[serde(default)]
    pub memo: String,
}

/// A path id that is not a UUID cannot name an account: 404 without a query.
pub(crate) fn account_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ApiError::NotFound)
}

pub(crate) fn ledger_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::NotFound => ApiError::NotFound,
        LedgerError::InsufficientFunds => {
            ApiError::field("amount", "exceeds the available balance")
        }
        LedgerError::BalanceLimit => {
            ApiError::field("amount", "would exceed the account's balance limit")
        }
        LedgerError::UnknownDestination => ApiError::field("to_account", "does not exist"),
        LedgerError::SameAccount => ApiError::field("to_account", "must differ from from_account"),
        LedgerError::KeyReused => ApiError::Unprocessable {
            field: "Idempotency-Key".to_string(),
            detail: "Idempotency-Key was already used for a different request".to_string(),
        },
        LedgerError::Store(e) => ApiError::from(e),
    }
}

#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", security(("bearer" = [])),
    request_body = NewAccount,
    responses((status = 201, description = "Account opened", body = AccountOut), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A rule is broken; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/accounts`.
pub async fn create(
    State(state): State<AppState>,
    who: Authenticated,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<AccountOut>), ApiError> {
    text::account_name(&body.name).map_err(|e| ApiError::field("name", e))?;
    let a = ledger::create_account(&state.db, &who.user_id, &body.name)
        .await
        .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The caller's accounts", body = AccountList), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `GET /v1/accounts`.
pub async fn list(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<Json<AccountList>, ApiError> {
    let items = ledger::accounts_of(&state.db, &who.user_id)
        .await
        .map_err(ApiError::from)?;
    Ok(Json(AccountList {
        items: items.into_iter().map(AccountOut::from).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])), params(("id" = String, Path, description = "Account id (UUID)")),
    responses((status = 200, description = "The account", body = AccountOut), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such account among the caller's", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `GET /v1/accounts/{id}`.
pub async fn get(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Json<AccountOut>, ApiError> {
    let id = account_id(&id)?;
    ledger::account(&state.db, &who.user_id, &id)
        .await
        .map_err(ApiError::from)?
        .map(|a| Json(a.into()))
        .ok_or(ApiError::NotFound)
}

/// Validates a deposit or withdrawal body and applies it, once per idempotency key when the
/// request carries one.
async fn move_money(
    state: &AppState,
    who: &Authenticated,
    id: &str,
    headers: &HeaderMap,
    body: &Movement,
    kind: Kind,
) -> Result<Response, ApiError> {
    let key = idempotency::optional(headers)?;
    let id = account_id(id)?;
    text::memo(&body.memo).map_err(|e| ApiError::field("memo", e))?;
    let cents = Amount::parse(&body.amount)
        .map(Amount::cents)
        .map_err(|e| ApiError::field("amount", e))?;
    let hash = idempotency::request_hash(&[
        kind.as_str().as_bytes(),
        id.as_bytes(),
        &cents.to_be_bytes(),
        body.memo.as_bytes(),
    ]);
    let request = MovementRequest {
        user_id: &who.user_id,
        account_id: &id,
        kind,
        cents,
        memo: &body.memo,
        key: key.as_deref().map(|k| (k, hash.as_str())),
    };
    let (entry, replayed) = ledger::movement(&state.db, &request)
        .await
        .map_err(ledger_error)?;
    Ok(idempotency::created(EntryOut::from(entry), replayed))
}

#[utoipa::path(post, path = "/v1/accounts/{id}/deposits", tag = "accounts", security(("bearer" = [])), params(("id" = String, Path, description = "Account id (UUID)"), ("Idempotency-Key" = Option<String>, Header, description = "Optional, 1-128 visible ASCII characters; a replay with the same key and body returns the original entry (Idempotent-Replayed: true), the same key with another body is refused (422)")),
    request_body = Movement,
    responses((status = 201, description = "Deposited (or replayed: header Idempotent-Replayed: true)", body = EntryOut), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such account among the caller's", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A rule is broken; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/accounts/{id}/deposits`.
pub async fn deposit(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Movement>,
) -> Result<Response, ApiError> {
    move_money(&state, &who, &id, &headers, &body, Kind::Deposit).await
}

#[utoipa::path(post, path = "/v1/accounts/{id}/withdrawals", tag = "accounts", security(("bearer" = [])), params(("id" = String, Path, description = "Account id (UUID)"), ("Idempotency-Key" = Option<String>, Header, description = "Optional, 1-128 visible ASCII characters; a replay with the same key and body returns the original entry (Idempotent-Replayed: true), the same key with another body is refused (422)")),
    request_body = Movement,
    responses((status = 201, description = "Withdrawn (or replayed: header Idempotent-Replayed: true)", body = EntryOut), (status = 400, description = "Malformed request; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 401, description = "Missing, malformed, unknown, expired or revoked token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such account among the caller's", body = Problem, content_type = "application/problem+json"), (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Insufficient funds or another rule; `field` names the field", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Shedding load, or the database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json")))]
/// `POST /v1/accounts/{id}/withdrawals`: 422 when funds are insufficient.
pub async fn withdraw(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Movement>,
) -> Result<Response, ApiError> {
    move_money(&state, &who, &id, &headers, &body, Kind::Withdrawal).await
}
