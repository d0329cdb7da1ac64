//! Secrets the server generates for itself and keeps in the database, so that every instance
//! (and every restart) shares them: today, the key that signs history cursors.

use std::sync::Arc;

use super::StoreError;
use crate::db::Db;

/// Secret bytes whose `Debug` output never shows them.
#[derive(Clone)]
pub struct SecretBytes(Arc<[u8]>);

impl SecretBytes {
    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

/// The named secret, created from `fresh` if no instance has created it yet.
pub async fn get_or_create(db: &Db, name: &str, fresh: &[u8]) -> Result<SecretBytes, StoreError> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh)
    .execute(db.pool())
    .await?;
    let (value,): (Vec<u8>,) = sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(db.pool())
        .await?;
    Ok(SecretBytes(Arc::from(value)))
}
