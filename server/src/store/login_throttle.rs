//! Per-account failed-login backoff, in the database.

use super::StoreError;
use crate::db::Db;

/// The throttle state of one username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Consecutive failures.
    pub failures: i64,
    /// No attempt before this (Unix microseconds).
    pub next_attempt_at: i64,
    /// Locked until (Unix microseconds), after too many failures.
    pub locked_until: Option<i64>,
}

/// The state of `username`, if it has failed recently.
pub async fn get(db: &Db, username: &str) -> Result<Option<State>, StoreError> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT failures, next_attempt_at, locked_until FROM login_throttle WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(failures, next_attempt_at, locked_until)| State {
        failures,
        next_attempt_at,
        locked_until,
    }))
}

/// Counts one more failure atomically and returns the new count.
pub async fn record_failure(db: &Db, username: &str, now: i64) -> Result<i64, StoreError> {
    let (failures,): (i64,) = sqlx::query_as(
        "INSERT INTO login_throttle (username, failures, next_attempt_at, updated_at) \
         VALUES ($1, 1, $2, $2) \
         ON CONFLICT (username) DO UPDATE SET failures = login_throttle.failures + 1, \
         updated_at = excluded.updated_at \
         RETURNING failures",
    )
    .bind(username)
    .bind(now)
    .fetch_one(db.pool())
    .await?;
    Ok(failures)
}

/// Sets when the next attempt is allowed, and the lock if there is one.
pub async fn set_delay(
    db: &Db,
    username: &str,
    next_attempt_at: i64,
    locked_until: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE login_throttle SET next_attempt_at = \
         CASE WHEN next_attempt_at > $2 THEN next_attempt_at ELSE $2 END, \
         locked_until = COALESCE($3, locked_until) WHERE username = $1",
    )
    .bind(username)
    .bind(next_attempt_at)
    .bind(locked_until)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Forgets the failures of `username` (after a successful login).
pub async fn clear(db: &Db, username: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_throttle WHERE username = $1")
        .bind(username)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Deletes rows untouched since `before` whose lock has expired.
pub async fn prune(db: &Db, before: i64, now: i64) -> Result<u64, StoreError> {
    let r = sqlx::query(
        "DELETE FROM login_throttle WHERE updated_at < $1 \
         AND (locked_until IS NULL OR locked_until < $2)",
    )
    .bind(before)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected())
}
