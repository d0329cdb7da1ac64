//! Sessions: only the SHA-256 of each bearer token is stored.

use super::StoreError;
use crate::db::Db;

/// A session that has not been revoked (expiry is checked by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Owner.
    pub user_id: String,
    /// Owner's username.
    pub username: String,
    /// When it was last used, Unix microseconds.
    pub last_seen_at: i64,
    /// Absolute expiry, Unix microseconds.
    pub expires_at: i64,
}

/// Stores a new session.
pub async fn create(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The unrevoked session with this token hash, with its user.
pub async fn find(db: &Db, token_hash: &str) -> Result<Option<Session>, StoreError> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.user_id, u.username, s.last_seen_at, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    Ok(
        row.map(|(user_id, username, last_seen_at, expires_at)| Session {
            user_id,
            username,
            last_seen_at,
            expires_at,
        }),
    )
}

/// Records use of a session (for idle expiry).
pub async fn touch(db: &Db, token_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Revokes one session (logout).
pub async fn revoke(db: &Db, token_hash: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Revokes every session of `user_id` except `keep` (password change). Returns how many.
pub async fn revoke_others(
    db: &Db,
    user_id: &str,
    keep: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE user_id = $2 AND token_hash <> $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep)
    .execute(db.pool())
    .await?;
    Ok(r.rows_affected())
}
