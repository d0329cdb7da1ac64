//! Users and their password hashes.

use super::StoreError;
use crate::db::Db;

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Opaque id.
    pub id: String,
    /// Normalised username.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time, Unix microseconds.
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash stays out of debug output and logs.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

type Row = (String, String, String, i64);

fn from_row((id, username, password_hash, created_at): Row) -> User {
    User {
        id,
        username,
        password_hash,
        created_at,
    }
}

/// Creates a user; [`StoreError::Conflict`] if the username is taken.
pub async fn insert(db: &Db, user: &User) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.password_hash)
    .bind(user.created_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Looks a user up by normalised username.
pub async fn by_username(db: &Db, username: &str) -> Result<Option<User>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, username, password_hash, created_at FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(from_row))
}

/// Looks a user up by id.
pub async fn by_id(db: &Db, id: &str) -> Result<Option<User>, StoreError> {
    let row: Option<Row> =
        sqlx::query_as("SELECT id, username, password_hash, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(from_row))
}

/// Replaces a user's password hash (password change, or rehash with new parameters).
pub async fn set_password_hash(db: &Db, id: &str, hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}
