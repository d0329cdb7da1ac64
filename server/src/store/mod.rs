//! Domain queries. Every statement is a `&'static str` with bind parameters: sqlx 0.9 only
//! accepts [`sqlx::SqlSafeStr`] (implemented for `&'static str`), and clippy refuses sqlx's
//! escape hatches for runtime SQL (`AssertSqlSafe`, `QueryBuilder`, `raw_sql`:
//! `.clippy.toml`).

pub mod acme;
pub mod audit;
pub mod history;
pub mod ledger;
pub mod login_throttle;
pub mod secrets;
pub mod sessions;
pub mod users;

/// A failure of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (the caller decides what that means to the client).
    #[error("unique constraint violated")]
    Conflict,
    /// Any other database error.
    #[error(transparent)]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Db(e),
        }
    }
}

/// Now, in Unix microseconds (how every time is stored).
pub fn now_micros() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A new opaque identifier (UUIDv4).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Renders stored microseconds as RFC 3339 (UTC).
pub fn rfc3339(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500_000), "1970-01-01T00:00:01.5Z");
    }

    #[test]
    fn ids_are_random_uuid_v4() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        let u = uuid::Uuid::parse_str(&a).expect("uuid");
        assert_eq!(u.get_version_num(), 4);
    }
}
