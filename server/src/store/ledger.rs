//! Accounts, ledger entries and transfers.
//!
//! Money is created only by deposits and destroyed only by withdrawals; a transfer moves it
//! between two accounts atomically and writes exactly two entries. Balances never go below
//! zero: every debit is a conditional `UPDATE ... WHERE balance_cents >= amount` (so two
//! concurrent debits cannot both pass a stale check), and the schema's
//! `CHECK (balance_cents >= 0)` backs it up.
//!
//! Concurrency, per backend: on SQLite, write transactions start with `BEGIN IMMEDIATE`,
//! taking the write lock up front instead of failing on upgrade under contention, so writes
//! are serial. On PostgreSQL (read committed), the conditional updates re-check their
//! condition on the newest row version after waiting for its lock, a transfer locks its two
//! accounts in id order before touching them (so crossing transfers wait instead of
//! deadlocking), and a transaction that still fails with a serialization failure, a deadlock
//! or the idempotency key's uniqueness (two requests with one key at once) is retried from the
//! start, a bounded number of times: the retry finds the other request's transfer (or deposit
//! or withdrawal) and replays it.

use sqlx::{Any, Transaction};

use super::{StoreError, new_id, now_micros};
use crate::db::{Backend, Db};

/// Attempts of one write transaction that keeps meeting a transient conflict.
const ATTEMPTS: usize = 5;

/// Locks a transfer's two accounts in a fixed order (PostgreSQL only: SQLite's write lock is
/// already exclusive).
const LOCK_PAIR: &str = "SELECT id FROM accounts WHERE id = $1 OR id = $2 ORDER BY id FOR UPDATE";

/// Takes `$1` cents from account `$2` of user `$3`, only if the balance covers it: the one
/// statement every debit goes through, so no path can overdraw.
const DEBIT: &str = "UPDATE accounts SET balance_cents = balance_cents - $1 \
     WHERE id = $2 AND user_id = $3 AND balance_cents >= $1";

/// Largest balance an account may hold, in cents (keeps every sum far from `i64` overflow).
pub const MAX_BALANCE_CENTS: i64 = 1_000_000_000_000_000;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Balance in cents.
    pub balance_cents: i64,
    /// Always `EUR`.
    pub currency: String,
    /// Unix microseconds.
    pub created_at: i64,
}

/// What kind of ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Money in from outside.
    Deposit,
    /// Money out to outside.
    Withdrawal,
    /// Credit side of a transfer.
    TransferIn,
    /// Debit side of a transfer.
    TransferOut,
}

impl Kind {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deposit => "deposit",
            Kind::Withdrawal => "withdrawal",
            Kind::TransferIn => "transfer_in",
            Kind::TransferOut => "transfer_out",
        }
    }
}

/// One ledger entry of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Opaque id.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// `deposit`, `withdrawal`, `transfer_in` or `transfer_out`.
    pub kind: String,
    /// Positive cents.
    pub amount_cents: i64,
    /// Free text.
    pub memo: String,
    /// The transfer, for transfer entries.
    pub transfer_id: Option<String>,
    /// The other account, for transfer entries.
    pub counterparty_account: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
}

/// A transfer between two accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Opaque id.
    pub id: String,
    /// Debited account.
    pub from_account: String,
    /// Credited account.
    pub to_account: String,
    /// Positive cents.
    pub amount_cents: i64,
    /// Free text.
    pub memo: String,
    /// Unix microseconds.
    pub created_at: i64,
}

/// Why a ledger operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// No such account among the caller's.
    #[error("account not found")]
    NotFound,
    /// The debit would make the balance negative.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The credit would exceed [`MAX_BALANCE_CENTS`].
    #[error("balance limit reached")]
    BalanceLimit,
    /// The destination account of a transfer does not exist.
    #[error("unknown destination account")]
    UnknownDestination,
    /// A transfer from an account to itself (the database refuses it too).
    #[error("transfer to the same account")]
    SameAccount,
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused with a different request")]
    KeyReused,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Store(e.into())
    }
}

type AccountRow = (String, String, i64, String, i64);

fn account_from((id, name, balance_cents, currency, created_at): AccountRow) -> Account {
    Account {
        id,
        name,
        balance_cents,
        currency,
        created_at,
    }
}

/// Opens an account for `user_id`.
pub async fn create_account(db: &Db, user_id: &str, name: &str) -> Result<Account, StoreError> {
    let account = Account {
        id: new_id(),
        name: name.to_string(),
        balance_cents: 0,
        currency: "EUR".to_string(),
        created_at: now_micros(),
    };
    sqlx::query(
        "INSERT INTO accounts (id, user_id, name, balance_cents, currency, created_at) \
         VALUES ($1, $2, $3, 0, 'EUR', $4)",
    )
    .bind(&account.id)
    .bind(user_id)
    .bind(&account.name)
    .bind(account.created_at)
    .execute(db.pool())
    .await?;
    Ok(account)
}

/// The caller's accounts, oldest first.
pub async fn accounts_of(db: &Db, user_id: &str) -> Result<Vec<Account>, StoreError> {
    let rows: Vec<AccountRow> = sqlx::query_as(
        "SELECT id, name, balance_cents, currency, created_at FROM accounts \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(account_from).collect())
}

/// One of the caller's accounts; `None` for a missing account or another user's.
pub async fn account(db: &Db, user_id: &str, id: &str) -> Result<Option<Account>, StoreError> {
    let row: Option<AccountRow> = sqlx::query_as(
        "SELECT id, name, balance_cents, currency, created_at FROM accounts \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(account_from))
}

async fn begin(db: &Db) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match db.backend() {
        Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => db.pool().begin().await,
    }
}

/// Whether a failed transaction may succeed if run again: a serialization failure or deadlock
/// (PostgreSQL's SQLSTATE 40001 and 40P01), or a uniqueness race another transaction won.
fn transient(e: &LedgerError) -> bool {
    match e {
        LedgerError::Store(StoreError::Conflict) => true,
        LedgerError::Store(StoreError::Db(sqlx::Error::Database(d))) => {
            matches!(d.code().as_deref(), Some("40001" | "40P01"))
        }
        _ => false,
    }
}

async fn owned(
    tx: &mut Transaction<'_, Any>,
    user_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM accounts WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.is_some())
}

async fn insert_entry(tx: &mut Transaction<'_, Any>, e: &Entry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO transactions \
         (id, account_id, kind, amount_cents, memo, transfer_id, counterparty_account, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(&e.account_id)
    .bind(&e.kind)
    .bind(e.amount_cents)
    .bind(&e.memo)
    .bind(&e.transfer_id)
    .bind(&e.counterparty_account)
    .bind(e.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn entry(account_id: &str, kind: Kind, cents: i64, memo: &str, now: i64) -> Entry {
    Entry {
        id: new_id(),
        account_id: account_id.to_string(),
        kind: kind.as_str().to_string(),
        amount_cents: cents,
        memo: memo.to_string(),
        transfer_id: None,
        counterparty_account: None,
        created_at: now,
    }
}

/// A deposit or withdrawal, optionally identified by the caller's idempotency key.
#[derive(Debug, Clone)]
pub struct MovementRequest<'a> {
    /// Caller.
    pub user_id: &'a str,
    /// The caller's account.
    pub account_id: &'a str,
    /// [`Kind::Deposit`] or [`Kind::Withdrawal`].
    pub kind: Kind,
    /// Positive cents.
    pub cents: i64,
    /// Free text.
    pub memo: &'a str,
    /// The `Idempotency-Key` header and the hash of the canonical request it is bound to.
    pub key: Option<(&'a str, &'a str)>,
}

/// Adds money to one of the caller's accounts.
pub async fn deposit(
    db: &Db,
    user_id: &str,
    account_id: &str,
    cents: i64,
    memo: &str,
) -> Result<Entry, LedgerError> {
    let r = MovementRequest {
        user_id,
        account_id,
        kind: Kind::Deposit,
        cents,
        memo,
        key: None,
    };
    movement(db, &r).await.map(|(e, _)| e)
}

/// Takes money out of one of the caller's accounts, never below zero.
pub async fn withdraw(
    db: &Db,
    user_id: &str,
    account_id: &str,
    cents: i64,
    memo: &str,
) -> Result<Entry, LedgerError> {
    let r = MovementRequest {
        user_id,
        account_id,
        kind: Kind::Withdrawal,
        cents,
        memo,
        key: None,
    };
    movement(db, &r).await.map(|(e, _)| e)
}

/// Applies a deposit or withdrawal. Returns its entry and whether it is a replay of an earlier
/// request with the same key (in which case nothing moved this time).
pub async fn movement(db: &Db, r: &MovementRequest<'_>) -> Result<(Entry, bool), LedgerError> {
    let mut attempt = 1;
    loop {
        match movement_once(db, r).await {
            Err(e) if attempt < ATTEMPTS && transient(&e) => attempt += 1,
            outcome => return outcome,
        }
    }
}

/// The entry an earlier request with this key made, if there was one; a key the caller used
/// for another request is refused.
async fn replayed(
    tx: &mut Transaction<'_, Any>,
    user_id: &str,
    key: &str,
    hash: &str,
) -> Result<Option<Entry>, LedgerError> {
    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT request_hash, entry_id FROM movement_keys \
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((stored, entry_id)) = existing else {
        return Ok(None);
    };
    if stored != hash {
        return Err(LedgerError::KeyReused);
    }
    type Row = (String, String, String, i64, String, i64);
    let (id, account_id, kind, amount_cents, memo, created_at): Row = sqlx::query_as(
        "SELECT id, account_id, kind, amount_cents, memo, created_at \
         FROM transactions WHERE id = $1",
    )
    .bind(entry_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Some(Entry {
        id,
        account_id,
        kind,
        amount_cents,
        memo,
        transfer_id: None,
        counterparty_account: None,
        created_at,
    }))
}

/// One attempt of [`movement`], in one transaction.
async fn movement_once(db: &Db, r: &MovementRequest<'_>) -> Result<(Entry, bool), LedgerError> {
    let mut tx = begin(db).await?;
    if let Some((key, hash)) = r.key
        && let Some(e) = replayed(&mut tx, r.user_id, key, hash).await?
    {
        return Ok((e, true));
    }
    let (updated, refusal) = if r.kind == Kind::Deposit {
        let updated = sqlx::query(
            "UPDATE accounts SET balance_cents = balance_cents + $1 \
             WHERE id = $2 AND user_id = $3 AND balance_cents <= $4",
        )
        .bind(r.cents)
        .bind(r.account_id)
        .bind(r.user_id)
        .bind(MAX_BALANCE_CENTS - r.cents)
        .execute(&mut *tx)
        .await?;
        (updated, LedgerError::BalanceLimit)
    } else {
        let updated = sqlx::query(DEBIT)
            .bind(r.cents)
            .bind(r.account_id)
            .bind(r.user_id)
            .execute(&mut *tx)
            .await?;
        (updated, LedgerError::InsufficientFunds)
    };
    // None updated: the account is not the caller's (404) or the condition refused it.
    if updated.rows_affected() == 0 {
        return Err(if owned(&mut tx, r.user_id, r.account_id).await? {
            refusal
        } else {
            LedgerError::NotFound
        });
    }
    let now = now_micros();
    let e = entry(r.account_id, r.kind, r.cents, r.memo, now);
    insert_entry(&mut tx, &e).await?;
    if let Some((key, hash)) = r.key {
        sqlx::query(
            "INSERT INTO movement_keys (user_id, idempotency_key, request_hash, entry_id, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.user_id)
        .bind(key)
        .bind(hash)
        .bind(&e.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((e, false))
}

/// A transfer request, identified by the caller's idempotency key.
#[derive(Debug, Clone)]
pub struct TransferRequest<'a> {
    /// Caller.
    pub user_id: &'a str,
    /// The `Idempotency-Key` header.
    pub key: &'a str,
    /// Hash of the canonical request, to detect a key reused for another request.
    pub request_hash: &'a str,
    /// Debited account (must be the caller's).
    pub from: &'a str,
    /// Credited account (anyone's).
    pub to: &'a str,
    /// Positive cents.
    pub cents: i64,
    /// Free text.
    pub memo: &'a str,
}

/// Moves money atomically. Returns the transfer and whether it is a replay of an earlier
/// request with the same key (in which case nothing moved this time).
pub async fn transfer(db: &Db, r: &TransferRequest<'_>) -> Result<(Transfer, bool), LedgerError> {
    let mut attempt = 1;
    loop {
        match transfer_once(db, r).await {
            Err(e) if attempt < ATTEMPTS && transient(&e) => attempt += 1,
            outcome => return outcome,
        }
    }
}

/// One attempt of [`transfer`], in one transaction.
async fn transfer_once(db: &Db, r: &TransferRequest<'_>) -> Result<(Transfer, bool), LedgerError> {
    let mut tx = begin(db).await?;
    type Row = (String, String, String, String, i64, String, i64);
    let existing: Option<Row> = sqlx::query_as(
        "SELECT id, request_hash, from_account, to_account, amount_cents, memo, created_at \
         FROM transfers WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(r.user_id)
    .bind(r.key)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, hash, from_account, to_account, amount_cents, memo, created_at)) = existing {
        if hash != r.request_hash {
            return Err(LedgerError::KeyReused);
        }
        let t = Transfer {
            id,
            from_account,
            to_account,
            amount_cents,
            memo,
            created_at,
        };
        return Ok((t, true));
    }
    if r.from == r.to {
        return Err(LedgerError::SameAccount);
    }
    if db.backend() == Backend::Postgres {
        sqlx::query(LOCK_PAIR)
            .bind(r.from)
            .bind(r.to)
            .execute(&mut *tx)
            .await?;
    }
    let debited = sqlx::query(DEBIT)
        .bind(r.cents)
        .bind(r.from)
        .bind(r.user_id)
        .execute(&mut *tx)
        .await?;
    if debited.rows_affected() == 0 {
        return Err(if owned(&mut tx, r.user_id, r.from).await? {
            LedgerError::InsufficientFunds
        } else {
            LedgerError::NotFound
        });
    }
    let credited = sqlx::query(
        "UPDATE accounts SET balance_cents = balance_cents + $1 \
         WHERE id = $2 AND balance_cents <= $3",
    )
    .bind(r.cents)
    .bind(r.to)
    .bind(MAX_BALANCE_CENTS - r.cents)
    .execute(&mut *tx)
    .await?;
    if credited.rows_affected() == 0 {
        let exists: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM accounts WHERE id = $1")
            .bind(r.to)
            .fetch_optional(&mut *tx)
            .await?;
        return Err(if exists.is_some() {
            LedgerError::BalanceLimit
        } else {
            LedgerError::UnknownDestination
        });
    }
    let now = now_micros();
    let t = Transfer {
        id: new_id(),
        from_account: r.from.to_string(),
        to_account: r.to.to_string(),
        amount_cents: r.cents,
        memo: r.memo.to_string(),
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO transfers (id, user_id, idempotency_key, request_hash, from_account, \
         to_account, amount_cents, memo, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&t.id)
    .bind(r.user_id)
    .bind(r.key)
    .bind(r.request_hash)
    .bind(&t.from_account)
    .bind(&t.to_account)
    .bind(t.amount_cents)
    .bind(&t.memo)
    .bind(t.created_at)
    .execute(&mut *tx)
    .await?;
    for (account, kind, other) in [
        (r.from, Kind::TransferOut, r.to),
        (r.to, Kind::TransferIn, r.from),
    ] {
        let mut e = entry(account, kind, r.cents, r.memo, now);
        e.transfer_id = Some(t.id.clone());
        e.counterparty_account = Some(other.to_string());
        insert_entry(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok((t, false))
}

/// Totals over the whole database, for invariant checks: (sum of balances, deposits minus
/// withdrawals).
pub async fn totals(db: &Db) -> Result<(i64, i64), StoreError> {
    let (balances,): (i64,) =
        sqlx::query_as("SELECT CAST(COALESCE(SUM(balance_cents), 0) AS BIGINT) FROM accounts")
            .fetch_one(db.pool())
            .await?;
    let (net,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE kind WHEN 'deposit' THEN amount_cents \
         WHEN 'withdrawal' THEN -amount_cents ELSE 0 END), 0) AS BIGINT) FROM transactions",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((balances, net))
}

/// Each account's entries added up with their signs (deposits and transfers in, less
/// withdrawals and transfers out), for invariant checks: it must equal the account's balance.
pub async fn entry_totals(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT account_id, CAST(COALESCE(SUM(CASE kind WHEN 'deposit' THEN amount_cents \
         WHEN 'transfer_in' THEN amount_cents ELSE -amount_cents END), 0) AS BIGINT) \
         FROM transactions GROUP BY account_id",
    )
    .fetch_all(db.pool())
    .await?)
}
