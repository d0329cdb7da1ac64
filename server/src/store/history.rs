//! One page of an account's ledger entries: memo search with LIKE (wildcards in the search
//! text escaped; case-insensitive on both backends, both sides lowered: ASCII letters on
//! SQLite, all of Unicode on PostgreSQL), sort by time or amount in either order, keyset
//! pagination.
//!
//! A bind parameter cannot name a column or a direction, so each allowed (sort, order) pair
//! has its own complete `&'static str` statement, chosen by a `match` over enums: nothing
//! from the request is ever spliced into SQL.

use super::StoreError;
use super::ledger::Entry;
use crate::db::Db;

/// Sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// `created_at`.
    CreatedAt,
    /// `amount`.
    Amount,
}

/// Direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

const BY_TIME_ASC: &str = "SELECT id, account_id, kind, amount_cents, memo, transfer_id, \
     counterparty_account, created_at FROM transactions \
     WHERE account_id = $1 AND LOWER(memo) LIKE LOWER($2) ESCAPE '\\' \
     AND (created_at > $3 OR (created_at = $3 AND id > $4)) \
     ORDER BY created_at ASC, id ASC LIMIT $5";
const BY_TIME_DESC: &str = "SELECT id, account_id, kind, amount_cents, memo, transfer_id, \
     counterparty_account, created_at FROM transactions \
     WHERE account_id = $1 AND LOWER(memo) LIKE LOWER($2) ESCAPE '\\' \
     AND (created_at < $3 OR (created_at = $3 AND id < $4)) \
     ORDER BY created_at DESC, id DESC LIMIT $5";
const BY_AMOUNT_ASC: &str = "SELECT id, account_id, kind, amount_cents, memo, transfer_id, \
     counterparty_account, created_at FROM transactions \
     WHERE account_id = $1 AND LOWER(memo) LIKE LOWER($2) ESCAPE '\\' \
     AND (amount_cents > $3 OR (amount_cents = $3 AND id > $4)) \
     ORDER BY amount_cents ASC, id ASC LIMIT $5";
const BY_AMOUNT_DESC: &str = "SELECT id, account_id, kind, amount_cents, memo, transfer_id, \
     counterparty_account, created_at FROM transactions \
     WHERE account_id = $1 AND LOWER(memo) LIKE LOWER($2) ESCAPE '\\' \
     AND (amount_cents < $3 OR (amount_cents = $3 AND id < $4)) \
     ORDER BY amount_cents DESC, id DESC LIMIT $5";

/// The LIKE pattern matching memos that contain `q` literally: `\`, `%` and `_` in `q` are
/// escaped, so a search for `50%` finds "50%" and not everything starting with "50".
pub fn contains_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// Sort key of the last row.
    pub key: i64,
    /// Id of the last row.
    pub id: String,
}

/// Up to `limit` entries of `account_id` (whose ownership the caller has checked).
pub async fn page(
    db: &Db,
    account_id: &str,
    sort: Sort,
    order: Order,
    q: &str,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<Entry>, StoreError> {
    let sql = match (sort, order) {
        (Sort::CreatedAt, Order::Asc) => BY_TIME_ASC,
        (Sort::CreatedAt, Order::Desc) => BY_TIME_DESC,
        (Sort::Amount, Order::Asc) => BY_AMOUNT_ASC,
        (Sort::Amount, Order::Desc) => BY_AMOUNT_DESC,
    };
    // Before the first row: the smallest key in ascending order, the largest in descending
    // ('~' sorts after every UUID character).
    let (key, id) = match (after, order) {
        (Some(a), _) => (a.key, a.id.as_str()),
        (None, Order::Asc) => (i64::MIN, ""),
        (None, Order::Desc) => (i64::MAX, "~"),
    };
    type Row = (
        String,
        String,
        String,
        i64,
        String,
        Option<String>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(account_id)
        .bind(contains_pattern(q))
        .bind(key)
        .bind(id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                account_id,
                kind,
                amount_cents,
                memo,
                transfer_id,
                counterparty_account,
                created_at,
            )| {
                Entry {
                    id,
                    account_id,
                    kind,
                    amount_cents,
                    memo,
                    transfer_id,
                    counterparty_account,
                    created_at,
                }
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_escaped() {
        assert_eq!(contains_pattern(""), "%%");
        assert_eq!(contains_pattern("50%"), "%50\\%%");
        assert_eq!(contains_pattern("a_b"), "%a\\_b%");
        assert_eq!(contains_pattern("c:\\x"), "%c:\\\\x%");
        assert_eq!(contains_pattern("' OR 1=1 --"), "%' OR 1=1 --%");
    }
}
