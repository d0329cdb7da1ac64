//! `rampart check-config`'s preflight, the operator's `nginx -t`: beyond a valid file, would
//! the server start and be safe? The certificate chain parses and matches its key (and when it
//! expires), the key is not readable by others, the database answers, the listen addresses
//! are free. One line per finding, each naming the key and the file or address.

use std::os::unix::fs::PermissionsExt;

use time::OffsetDateTime;

use crate::config::Config;

/// Days before expiry from which a certificate is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fine.
    Ok,
    /// Serves, but needs attention.
    Warning,
    /// Would not start, or would be unsafe.
    Error,
}

/// One line of the preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious.
    pub level: Level,
    /// What was found, naming the key.
    pub text: String,
}

impl Finding {
    fn new(level: Level, text: impl Into<String>) -> Finding {
        Finding {
            level,
            text: text.into(),
        }
    }

    /// The line as printed: `ok: …`, `warning: …`, `error: …`.
    pub fn line(&self) -> String {
        let tag = match self.level {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        };
        format!("{tag}: {}", self.text)
    }
}

/// Every check, in order: certificate, key permissions, database, listen addresses.
pub async fn run(config: &Config, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = certificate(config, now);
    findings.extend(key_permissions(config));
    findings.push(match crate::db::probe(&config.database).await {
        Ok(what) => Finding::new(Level::Ok, format!("database.url: {what}")),
        Err(e) => Finding::new(Level::Error, format!("database.url: {e}")),
    });
    findings.push(free("listen", config.listen));
    if let Some(admin) = config.admin.listen {
        findings.push(free("admin.listen", admin));
    }
    findings
}

/// Under ACME: the directory's CA loads, and what is stored (or that an order comes first).
fn acme_certificate(acme: &crate::config::AcmeConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Err(e) = crate::acme::http::AcmeHttp::new(acme.directory_ca.as_deref()) {
        out.push(Finding::new(Level::Error, e.to_string()));
    }
    let files = crate::acme::store::AcmeFiles::new(&acme.dir);
    out.push(match files.load_certificate() {
        Some(s) if s.covers_all(&acme.domains) => Finding::new(
            Level::Ok,
            format!(
                "tls.acme: the stored certificate (serial {}) covers {} and expires {}; renewed \
                 in the background",
                s.serial,
                acme.domains.join(", "),
                s.not_after
            ),
        ),
        _ => Finding::new(
            Level::Ok,
            format!(
                "tls.acme: no stored certificate for {} in {}; one is ordered from {} at start \
                 (handshakes are refused until it is issued)",
                acme.domains.join(", "),
                acme.dir.display(),
                acme.directory
            ),
        ),
    });
    out
}

fn certificate(config: &Config, now: OffsetDateTime) -> Vec<Finding> {
    if let Some(acme) = &config.tls.acme {
        return acme_certificate(acme);
    }
    let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) else {
        return vec![Finding::new(
            Level::Ok,
            format!(
                "tls: no tls.cert/tls.key; development certificates in {} (made or renewed at \
                 start; not for production)",
                config.tls.dev_dir.display()
            ),
        )];
    };
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let pair = match rampart_certs::load_certified_key(cert, key, &provider) {
        Ok(pair) => pair,
        Err(e) => return vec![Finding::new(Level::Error, format!("tls.cert/tls.key: {e}"))],
    };
    let Some(leaf) = pair.cert.first() else {
        return vec![Finding::new(
            Level::Error,
            format!("tls.cert {}: no certificate", cert.display()),
        )];
    };
    let not_after = match rampart_certs::not_after(leaf) {
        Ok(t) => t,
        Err(e) => {
            return vec![Finding::new(
                Level::Error,
                format!("tls.cert {}: cannot read the expiry: {e}", cert.display()),
            )];
        }
    };
    let days = (not_after - now).whole_days();
    let date = not_after.date();
    let (level, when) = if not_after <= now {
        (Level::Error, format!("expired on {date}"))
    } else if days <= EXPIRY_WARNING_DAYS {
        (Level::Warning, format!("expires on {date}, in {days} days"))
    } else {
        (Level::Ok, format!("expires on {date}, in {days} days"))
    };
    vec![Finding::new(
        level,
        format!(
            "tls.cert {}: a chain of {} that matches tls.key; {when}",
            cert.display(),
            pair.cert.len()
        ),
    )]
}

fn key_permissions(config: &Config) -> Option<Finding> {
    let key = config.tls.key.as_ref()?;
    let mode = std::fs::metadata(key).ok()?.permissions().mode() & 0o777;
    Some(if mode & 0o004 != 0 {
        Finding::new(
            Level::Error,
            format!(
                "tls.key {}: readable by others (mode {mode:o}); chmod o-r it (600 or 640)",
                key.display()
            ),
        )
    } else {
        Finding::new(
            Level::Ok,
            format!(
                "tls.key {}: not readable by others (mode {mode:o})",
                key.display()
            ),
        )
    })
}

fn free(key: &str, addr: std::net::SocketAddr) -> Finding {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Finding::new(Level::Ok, format!("{key} {addr}: free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            Finding::new(Level::Error, format!("{key} {addr}: already in use"))
        }
        Err(e) => Finding::new(Level::Error, format!("{key} {addr}: cannot bind: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_certs::{DevCa, issue_leaf};

    fn with_leaf(dir: &std::path::Path, days: i64, key_mode: u32) -> Config {
        let ca = DevCa::generate().expect("ca");
        let (cert, key) = issue_leaf(&ca, &["localhost".into()], days).expect("leaf");
        let (cert_path, key_path) = (dir.join("leaf.pem"), dir.join("leaf.key"));
        std::fs::write(&cert_path, cert).expect("cert");
        std::fs::write(&key_path, key).expect("key");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(key_mode))
            .expect("chmod");
        let mut c = Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        };
        c.tls.cert = Some(cert_path);
        c.tls.key = Some(key_path);
        c.database.url = format!("sqlite://{}", dir.join("data/bank.db").display());
        c
    }

    #[tokio::test]
    async fn a_sound_setup_is_all_ok_and_names_the_expiry() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = with_leaf(dir.path(), 60, 0o600);
        let f = run(&c, OffsetDateTime::now_utc()).await;
        assert!(f.iter().all(|f| f.level == Level::Ok), "{f:#?}");
        assert!(
            f[0].text
                .contains("a chain of 1 that matches tls.key; expires on "),
            "{f:#?}"
        );
        assert!(
            f[0].text.ends_with("in 59 days") || f[0].text.ends_with("in 60 days"),
            "{f:#?}"
        );
        assert!(f[2].text.contains("will be created at start"), "{f:#?}");
    }

    #[tokio::test]
    async fn near_expiry_warns_past_expiry_and_an_open_key_are_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = with_leaf(dir.path(), 10, 0o644);
        let f = run(&c, OffsetDateTime::now_utc()).await;
        assert_eq!(f[0].level, Level::Warning, "{f:#?}");
        assert_eq!(f[1].level, Level::Error, "{f:#?}");
        assert!(f[1].line().starts_with("error: tls.key "), "{f:#?}");
        assert!(
            f[1].text.contains("readable by others (mode 644)"),
            "{f:#?}"
        );
        let later = OffsetDateTime::now_utc() + time::Duration::days(11);
        let f = run(&c, later).await;
        assert_eq!(f[0].level, Level::Error, "{f:#?}");
        assert!(f[0].text.contains("expired on"), "{f:#?}");
    }

    #[tokio::test]
    async fn a_mismatched_key_a_taken_port_and_no_database_are_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut c = with_leaf(dir.path(), 60, 0o600);
        let ca = DevCa::generate().expect("ca");
        let (_, key) = issue_leaf(&ca, &["x".into()], 30).expect("leaf");
        let stray = dir.path().join("stray.key");
        std::fs::write(&stray, key).expect("key");
        std::fs::set_permissions(&stray, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        c.tls.key = Some(stray);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        c.listen = taken.local_addr().expect("addr");
        c.database.url = "postgres://nobody:pw@127.0.0.1:1/none".into();
        let f = run(&c, OffsetDateTime::now_utc()).await;
        let errors: Vec<String> = f
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(Finding::line)
            .collect();
        assert_eq!(errors.len(), 3, "{f:#?}");
        assert!(
            errors[0].starts_with("error: tls.cert/tls.key: "),
            "{errors:#?}"
        );
        assert!(errors[0].contains("does not match"), "{errors:#?}");
        assert!(
            errors[1].starts_with("error: database.url: "),
            "{errors:#?}"
        );
        assert!(!errors[1].contains(":pw@"), "password shown: {errors:#?}");
        assert_eq!(
            errors[2],
            format!("error: listen {}: already in use", c.listen)
        );
    }
}
