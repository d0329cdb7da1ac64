//! The ACME state instances on one database share (migration `0004_acme`): the account of a
//! directory, the certificate in service, the lease of the instance ordering it, and the names
//! being proved. What is stored means nothing here; `acme::shared` gives it meaning.

use super::StoreError;
use crate::db::Db;

/// The stored credentials JSON of `directory`'s account.
pub async fn account(db: &Db, directory: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT credentials FROM acme_accounts WHERE directory = $1")
            .bind(directory)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(c,)| c))
}

/// Keeps `credentials` as `directory`'s account (replacing any).
pub async fn save_account(db: &Db, directory: &str, credentials: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO acme_accounts (directory, credentials) VALUES ($1, $2) \
         ON CONFLICT (directory) DO UPDATE SET credentials = excluded.credentials",
    )
    .bind(directory)
    .bind(credentials)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Forgets `directory`'s account.
pub async fn forget_account(db: &Db, directory: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM acme_accounts WHERE directory = $1")
        .bind(directory)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The key-and-chain PEM in service for `scope`.
pub async fn certificate(db: &Db, scope: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT pem FROM acme_certificates WHERE scope = $1")
            .bind(scope)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(p,)| p))
}

/// Keeps `pem` as `scope`'s certificate unless one that lasts longer is stored already.
pub async fn save_certificate(
    db: &Db,
    scope: &str,
    pem: &str,
    not_after: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO acme_certificates (scope, pem, not_after, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope) DO UPDATE SET pem = excluded.pem, not_after = excluded.not_after, \
         updated_at = excluded.updated_at WHERE acme_certificates.not_after <= excluded.not_after",
    )
    .bind(scope)
    .bind(pem)
    .bind(not_after)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Takes (or extends) the lease of `scope` for `holder` until `until` (microseconds), unless
/// another holder's lease runs past `now`. `true` when `holder` has it.
pub async fn take_lease(
    db: &Db,
    scope: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO acme_leases (scope, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE acme_leases.expires_at <= $4 OR acme_leases.holder = excluded.holder",
    )
    .bind(scope)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives `scope`'s lease back, if `holder` has it.
pub async fn release_lease(db: &Db, scope: &str, holder: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM acme_leases WHERE scope = $1 AND holder = $2")
        .bind(scope)
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Publishes `name`'s validation digest (hex) until `until` (microseconds).
pub async fn publish_validation(
    db: &Db,
    name: &str,
    digest: &str,
    until: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO acme_validations (name, digest, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, expires_at = excluded.expires_at",
    )
    .bind(name)
    .bind(digest)
    .bind(until)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// `name`'s validation digest (hex), if one is published past `now`.
pub async fn validation(db: &Db, name: &str, now: i64) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT digest FROM acme_validations WHERE name = $1 AND expires_at > $2")
            .bind(name)
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(d,)| d))
}

/// Withdraws `name`'s validation, and every one that has run out.
pub async fn withdraw_validation(db: &Db, name: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM acme_validations WHERE name = $1 OR expires_at <= $2")
        .bind(name)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = crate::config::DatabaseConfig {
            url: format!("sqlite://{}", dir.path().join("t.db").display()),
            ..Default::default()
        };
        let db = Db::connect(&cfg).await.expect("db");
        (dir, db)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_its_lease_runs_out() {
        let (_d, db) = db().await;
        assert!(take_lease(&db, "s", "a", 100, 200).await.expect("a"));
        assert!(
            !take_lease(&db, "s", "b", 150, 250).await.expect("b"),
            "held"
        );
        assert!(
            take_lease(&db, "s", "a", 150, 300).await.expect("a"),
            "extended"
        );
        assert!(
            take_lease(&db, "other", "b", 150, 250).await.expect("b"),
            "per scope"
        );
        assert!(
            take_lease(&db, "s", "b", 300, 400).await.expect("b"),
            "run out"
        );
        release_lease(&db, "s", "a").await.expect("not a's");
        assert!(!take_lease(&db, "s", "a", 310, 400).await.expect("a"));
        release_lease(&db, "s", "b").await.expect("b's");
        assert!(take_lease(&db, "s", "a", 320, 400).await.expect("a"));
    }

    #[tokio::test]
    async fn a_certificate_is_replaced_only_by_one_that_lasts_longer() {
        let (_d, db) = db().await;
        assert_eq!(certificate(&db, "s").await.expect("none"), None);
        save_certificate(&db, "s", "new", 200, 1)
            .await
            .expect("save");
        save_certificate(&db, "s", "older", 100, 2)
            .await
            .expect("save");
        assert_eq!(
            certificate(&db, "s").await.expect("one").as_deref(),
            Some("new")
        );
        save_certificate(&db, "s", "newer", 300, 3)
            .await
            .expect("save");
        assert_eq!(
            certificate(&db, "s").await.expect("one").as_deref(),
            Some("newer")
        );
    }

    #[tokio::test]
    async fn validations_and_accounts_round_trip() {
        let (_d, db) = db().await;
        publish_validation(&db, "bank.example", "ab", 100)
            .await
            .expect("publish");
        assert_eq!(
            validation(&db, "bank.example", 50)
                .await
                .expect("q")
                .as_deref(),
            Some("ab")
        );
        assert_eq!(
            validation(&db, "bank.example", 100).await.expect("q"),
            None,
            "ran out"
        );
        withdraw_validation(&db, "bank.example", 50)
            .await
            .expect("withdraw");
        assert_eq!(validation(&db, "bank.example", 50).await.expect("q"), None);
        save_account(&db, "d", "{1}").await.expect("save");
        save_account(&db, "d", "{2}").await.expect("replace");
        assert_eq!(account(&db, "d").await.expect("q").as_deref(), Some("{2}"));
        forget_account(&db, "d").await.expect("forget");
        assert_eq!(account(&db, "d").await.expect("q"), None);
    }
}
