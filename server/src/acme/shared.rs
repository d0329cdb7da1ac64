//! Where ACME state is kept: in `tls.acme.dir` always, and on PostgreSQL also in the database
//! every instance shares ([`crate::store::acme`]), so that a fleet has one account, orders
//! one certificate at a time under a lease, serves what any of them obtained, and answers a
//! validation whichever instance the CA reaches. (SQLite serves one instance: its files are
//! enough, and the bank's database does not get a copy of the TLS key.)

use std::sync::Arc;
use std::time::Duration;

use instant_acme::AccountCredentials;

use super::AcmeError;
use super::store::{AcmeFiles, Stored};
use crate::config::AcmeConfig;
use crate::db::Db;
use crate::store::{acme as rows, now_micros};

/// How long the instance ordering holds the lease: past the longest order (every request and
/// poll is bounded), so that one that crashed holds the others back no longer than this.
pub const LEASE: Duration = Duration::from_secs(600);

/// How long a published validation is answered at most.
const VALIDATION_LIFETIME: Duration = Duration::from_secs(600);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// An error of the state kept in the database (a query that failed, or what it returned).
fn in_database(reason: impl std::fmt::Display) -> AcmeError {
    AcmeError::Store {
        path: "the database".into(),
        reason: reason.to_string(),
    }
}

/// The database side of one ACME configuration.
pub struct Shared {
    db: Db,
    directory: String,
    /// The certificate's key in the tables: the directory and the sorted names.
    scope: String,
    /// This instance, as a lease holder.
    holder: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("scope", &self.scope)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The shared state of `cfg` in `db`, for this instance.
    pub fn new(db: Db, cfg: &AcmeConfig) -> Shared {
        let mut names: Vec<String> = cfg.domains.iter().map(|d| d.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        Shared {
            db,
            directory: cfg.directory.clone(),
            scope: format!("{} {}", cfg.directory, names.join(",")),
            holder: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Takes the lease (or extends this instance's); `false` when another instance holds it.
    pub async fn take_lease(&self) -> Result<bool, AcmeError> {
        let now = now_micros();
        rows::take_lease(
            &self.db,
            &self.scope,
            &self.holder,
            now,
            now.saturating_add(micros(LEASE)),
        )
        .await
        .map_err(in_database)
    }

    /// Gives the lease back (best effort: it runs out anyway).
    pub async fn release_lease(&self) {
        if let Err(e) = rows::release_lease(&self.db, &self.scope, &self.holder).await {
            tracing::warn!(error = %e, "cannot release the ACME lease; it runs out by itself");
        }
    }

    /// The certificate another instance may have stored.
    pub async fn certificate(&self) -> Result<Option<String>, AcmeError> {
        rows::certificate(&self.db, &self.scope)
            .await
            .map_err(in_database)
    }

    async fn save_certificate(&self, pem: &str, stored: &Stored) -> Result<(), AcmeError> {
        rows::save_certificate(
            &self.db,
            &self.scope,
            pem,
            stored.not_after.unix_timestamp(),
            now_micros(),
        )
        .await
        .map_err(in_database)
    }

    /// Answers validations of `name` from any instance.
    pub async fn publish_validation(&self, name: &str, digest: &[u8]) -> Result<(), AcmeError> {
        let hex = hex::encode(digest);
        let until = now_micros().saturating_add(micros(VALIDATION_LIFETIME));
        rows::publish_validation(&self.db, &name.to_ascii_lowercase(), &hex, until)
            .await
            .map_err(in_database)
    }

    /// Stops answering validations of `name` (best effort: they run out anyway).
    pub async fn withdraw_validation(&self, name: &str) {
        let name = name.to_ascii_lowercase();
        if let Err(e) = rows::withdraw_validation(&self.db, &name, now_micros()).await {
            tracing::warn!(error = %e, "cannot withdraw an ACME validation; it runs out by itself");
        }
    }

    /// The digest another instance published for `name`, if it is being proved now.
    pub async fn validation(&self, name: &str) -> Option<Vec<u8>> {
        let name = name.to_ascii_lowercase();
        let hex = match rows::validation(&self.db, &name, now_micros()).await {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up an ACME validation");
                return None;
            }
        };
        hex::decode(hex).ok()
    }
}

/// The files, and the database when instances share one.
#[derive(Debug)]
pub struct Keep {
    /// `tls.acme.dir`.
    pub files: AcmeFiles,
    /// The database's copy, on PostgreSQL.
    pub shared: Option<Arc<Shared>>,
}

impl Keep {
    /// The account: the shared one first, then the local file.
    pub async fn account(&self) -> Result<Option<AccountCredentials>, AcmeError> {
        if let Some(s) = &self.shared {
            let stored = rows::account(&s.db, &s.directory)
                .await
                .map_err(in_database)?;
            if let Some(json) = stored {
                return super::store::account_from_json(json.as_bytes())
                    .map(Some)
                    .map_err(in_database);
            }
        }
        self.files.load_account()
    }

    /// Keeps a new account in the file and the database.
    pub async fn save_account(&self, creds: &AccountCredentials) -> Result<(), AcmeError> {
        self.files.save_account(creds)?;
        if let Some(s) = &self.shared {
            let json = serde_json::to_string(creds).map_err(in_database)?;
            rows::save_account(&s.db, &s.directory, &json)
                .await
                .map_err(in_database)?;
        }
        Ok(())
    }

    /// Forgets the account (one the server no longer knows) everywhere.
    pub async fn forget_account(&self) -> Result<(), AcmeError> {
        self.files.forget_account()?;
        if let Some(s) = &self.shared {
            rows::forget_account(&s.db, &s.directory)
                .await
                .map_err(in_database)?;
        }
        Ok(())
    }

    /// Keeps an issued key and chain (checked to belong together) and returns them.
    pub async fn save_certificate(
        &self,
        key_pem: &str,
        chain_pem: &str,
    ) -> Result<Stored, AcmeError> {
        let pem = super::store::combine(key_pem, chain_pem);
        let stored = self.files.save_pem(&pem)?;
        if let Some(s) = &self.shared {
            s.save_certificate(&pem, &stored).await?;
        }
        Ok(stored)
    }

    /// The certificate the database holds, when it lasts longer than `current`'s (kept in the
    /// file too, for a restart).
    pub async fn newer_shared(
        &self,
        current: Option<&Stored>,
    ) -> Result<Option<Stored>, AcmeError> {
        let Some(s) = &self.shared else {
            return Ok(None);
        };
        let Some(pem) = s.certificate().await? else {
            return Ok(None);
        };
        let stored = super::store::parse_pem(&pem).map_err(|reason| {
            in_database(format_args!(
                "the shared certificate does not load: {reason}"
            ))
        })?;
        if current.is_some_and(|c| c.not_after >= stored.not_after) {
            return Ok(None);
        }
        self.files.save_pem(&pem)?;
        Ok(Some(stored))
    }
}
