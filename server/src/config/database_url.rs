//! What a database URL says before anything connects: which backend it names ([`Backend`],
//! checked when the configuration is validated) and how it is shown with its password masked
//! ([`redact_url`], for logs, errors and `--print-config`).

/// The database engine a URL names (and behind a `db::Db`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded: one instance per database file.
    Sqlite,
    /// PostgreSQL: any number of instances on one database.
    Postgres,
}

impl Backend {
    /// The backend a database URL names by its scheme (`sqlite:`, `postgres:` or
    /// `postgresql:`), if it is one of ours.
    pub fn of_url(url: &str) -> Option<Backend> {
        match url.split_once(':')?.0 {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

/// Masks the password of a `scheme://user:password@host/...` URL, and a `password=` query
/// parameter.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://bank:hunter2@db:5432/rampart"),
            "postgres://bank:***@db:5432/rampart"
        );
        assert_eq!(redact_url("sqlite://data/r.db"), "sqlite://data/r.db");
        assert_eq!(
            redact_url("postgres://db/rampart?user=bank&password=hunter2&sslmode=require"),
            "postgres://db/rampart?user=bank&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgresql://bank:hunter2@db?password=again"),
            "postgresql://bank:***@db?password=***"
        );
    }

    #[test]
    fn the_backend_is_the_scheme() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://h/d"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://h/d"), Some(Backend::Postgres));
        for other in ["mysql://h/d", "sqlite", "", "file:x.db", "SQLITE://x"] {
            assert_eq!(Backend::of_url(other), None, "{other}");
        }
    }
}
