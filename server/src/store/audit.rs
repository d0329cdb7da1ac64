//! The audit trail of security events, with the client address and time.

use super::StoreError;
use crate::db::Db;

/// A security event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A user registered.
    Register,
    /// A login succeeded.
    LoginSuccess,
    /// A login failed (unknown user or wrong password: the row does not say which).
    LoginFailure,
    /// An account was locked after repeated failures.
    Lockout,
    /// A password was changed.
    PasswordChange,
    /// A session was ended by its owner.
    Logout,
}

impl Event {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Register => "register",
            Event::LoginSuccess => "login_success",
            Event::LoginFailure => "login_failure",
            Event::Lockout => "lockout",
            Event::PasswordChange => "password_change",
            Event::Logout => "logout",
        }
    }
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When, Unix microseconds.
    pub at: i64,
    /// What.
    pub event: String,
    /// Whose account, when known.
    pub user_id: Option<String>,
    /// The username as given (for failures of unknown users).
    pub username: Option<String>,
    /// The client's address.
    pub client_addr: String,
}

/// Appends an event.
pub async fn record(db: &Db, r: &Record) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (at, event, user_id, username, client_addr) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.at)
    .bind(&r.event)
    .bind(&r.user_id)
    .bind(&r.username)
    .bind(&r.client_addr)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The most recent events, newest first (for operators and tests).
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Record>, StoreError> {
    type Row = (i64, String, Option<String>, Option<String>, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT at, event, user_id, username, client_addr FROM audit_events \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, event, user_id, username, client_addr)| Record {
            at,
            event,
            user_id,
            username,
            client_addr,
        })
        .collect())
}
