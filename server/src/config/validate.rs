//! Checks of values that parse but are out of range or inconsistent.

use std::time::Duration;

use super::Config;
use super::error::{ConfigError, Origins};

fn check(ok: bool, key: &str, origins: &Origins, reason: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Key {
            key: key.to_string(),
            origin: origins.of(key),
            reason: reason.to_string(),
        })
    }
}

fn within(d: Duration, lo_ms: u64, hi_ms: u64) -> bool {
    d >= Duration::from_millis(lo_ms) && d <= Duration::from_millis(hi_ms)
}

/// Whether `name` is a DNS name a `tls-alpn-01` order can cover: letters, digits and hyphens
/// in labels of 1 to 63, 253 at most in all, no wildcard, not an address.
fn is_acme_domain(name: &str) -> bool {
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (1..=253).contains(&name.len())
        && name.split('.').all(label)
        && name.parse::<std::net::IpAddr>().is_err()
}

fn validate_acme(c: &Config, acme: &super::AcmeConfig, o: &Origins) -> Result<(), ConfigError> {
    for (other, set) in [
        ("tls.cert", c.tls.cert.is_some()),
        ("tls.key", c.tls.key.is_some()),
    ] {
        check(
            !set,
            "tls.acme",
            o,
            &format!(
                "tls.acme and {other} are both set: the certificate comes from ACME or from \
                 files, not both (remove one)"
            ),
        )?;
    }
    check(
        acme.directory.starts_with("https://") && acme.directory.len() > "https://".len(),
        "tls.acme.directory",
        o,
        "must be an https:// URL (the ACME directory)",
    )?;
    check(
        (1..=100).contains(&acme.domains.len()),
        "tls.acme.domains",
        o,
        "must name between 1 and 100 DNS names",
    )?;
    if let Some(bad) = acme.domains.iter().find(|d| !is_acme_domain(d)) {
        check(
            false,
            "tls.acme.domains",
            o,
            &format!(
                "{bad:?} is not a DNS name tls-alpn-01 can prove (no wildcards, addresses or \
                 other characters)"
            ),
        )?;
    }
    check(
        acme.contact
            .as_deref()
            .is_none_or(|m| m.starts_with("mailto:") && m.len() > "mailto:".len()),
        "tls.acme.contact",
        o,
        "must be a mailto: URL",
    )?;
    check(
        !acme.dir.as_os_str().is_empty(),
        "tls.acme.dir",
        o,
        "must name a folder",
    )
}

pub(super) fn validate(c: &Config, o: &Origins) -> Result<(), ConfigError> {
    check(
        within(c.tls.handshake_timeout, 100, 60_000),
        "tls.handshake_timeout",
        o,
        "must be between 100ms and 60s",
    )?;
    check(
        c.shutdown_timeout <= Duration::from_secs(300),
        "shutdown_timeout",
        o,
        "must be at most 300s",
    )?;
    check(
        within(c.http.header_read_timeout, 100, 120_000),
        "http.header_read_timeout",
        o,
        "must be between 100ms and 120s",
    )?;
    let h = &c.http;
    check(
        within(h.body_read_timeout, 100, 120_000),
        "http.body_read_timeout",
        o,
        "must be between 100ms and 120s",
    )?;
    check(
        (1..=1_000_000_000).contains(&h.body_min_rate),
        "http.body_min_rate",
        o,
        "must be between 1 and 1000000000 bytes per second",
    )?;
    check(
        within(h.write_timeout, 100, 120_000),
        "http.write_timeout",
        o,
        "must be between 100ms and 120s",
    )?;
    check(
        within(h.handler_timeout, 100, 120_000),
        "http.handler_timeout",
        o,
        "must be between 100ms and 120s",
    )?;
    check(
        h.send_buffer_bytes == 0 || (4096..=16 << 20).contains(&h.send_buffer_bytes),
        "http.send_buffer_bytes",
        o,
        "must be 0 (kernel autotuning) or between 4096 and 16777216 bytes",
    )?;
    check(
        within(h.idle_timeout, 100, 600_000),
        "http.idle_timeout",
        o,
        "must be between 100ms and 10m",
    )?;
    check(
        (1..=256).contains(&h.max_headers),
        "http.max_headers",
        o,
        "must be between 1 and 256",
    )?;
    check(
        (8192..=1024 * 1024).contains(&h.max_header_bytes),
        "http.max_header_bytes",
        o,
        "must be between 8192 and 1048576",
    )?;
    check(
        (1..=1_000_000).contains(&h.max_requests_per_connection),
        "http.max_requests_per_connection",
        o,
        "must be between 1 and 1000000",
    )?;
    check(
        within(h.h2_keepalive_interval, 1_000, 3_600_000),
        "http.h2_keepalive_interval",
        o,
        "must be between 1s and 1h",
    )?;
    check(
        within(h.h2_keepalive_timeout, 1_000, 600_000),
        "http.h2_keepalive_timeout",
        o,
        "must be between 100ms and 10m",
    )?;
    check(
        (1..=10_000).contains(&h.h2_max_pending_accept_reset_streams),
        "http.h2_max_pending_accept_reset_streams",
        o,
        "must be between 1 and 10000",
    )?;
    check(
        (1..=10_000).contains(&h.h2_max_local_error_reset_streams),
        "http.h2_max_local_error_reset_streams",
        o,
        "must be between 1 and 10000",
    )?;
    check(
        (1..=100).contains(&c.http.h2_max_concurrent_streams),
        "http.h2_max_concurrent_streams",
        o,
        "must be between 1 and 100",
    )?;
    check(
        (1024..=16 * 1024).contains(&c.http.h2_max_header_list_bytes),
        "http.h2_max_header_list_bytes",
        o,
        "must be between 1024 and 16384",
    )?;
    check(
        (1..=100_000).contains(&c.http.h2_control_frames_per_second),
        "http.h2_control_frames_per_second",
        o,
        "must be between 1 and 100000",
    )?;
    check(
        (1..=1_000_000).contains(&c.http.h2_control_frame_burst),
        "http.h2_control_frame_burst",
        o,
        "must be between 1 and 1000000",
    )?;
    check(
        c.tls.cert.is_some() || c.tls.key.is_none(),
        "tls.cert",
        o,
        "must be set when tls.key is set",
    )?;
    check(
        c.tls.key.is_some() || c.tls.cert.is_none(),
        "tls.key",
        o,
        "must be set when tls.cert is set",
    )?;
    if let Some(acme) = &c.tls.acme {
        validate_acme(c, acme, o)?;
    }
    check(
        super::database_url::Backend::of_url(&c.database.url).is_some(),
        "database.url",
        o,
        "unsupported scheme (supported: sqlite:, postgres:)",
    )?;
    check(
        (1..=256).contains(&c.database.max_connections),
        "database.max_connections",
        o,
        "must be between 1 and 256",
    )?;
    let a = &c.auth;
    check(
        (8..=1024 * 1024).contains(&a.argon2_memory_kib),
        "auth.argon2_memory_kib",
        o,
        "must be between 8 and 1048576 (KiB)",
    )?;
    check(
        (1..=100).contains(&a.argon2_iterations),
        "auth.argon2_iterations",
        o,
        "must be between 1 and 100",
    )?;
    check(
        (1..=16).contains(&a.argon2_parallelism),
        "auth.argon2_parallelism",
        o,
        "must be between 1 and 16",
    )?;
    check(
        (8..=64).contains(&a.password_min_length),
        "auth.password_min_length",
        o,
        "must be between 8 and 64 (NIST 800-63B: never below 8)",
    )?;
    check(
        (1..=256).contains(&a.hash_concurrency),
        "auth.hash_concurrency",
        o,
        "must be between 1 and 256",
    )?;
    check(
        a.hash_queue <= 10_000,
        "auth.hash_queue",
        o,
        "must be at most 10000",
    )?;
    check(
        a.hash_reserved_for_known <= 64,
        "auth.hash_reserved_for_known",
        o,
        "must be at most 64",
    )?;
    check(
        within(a.known_login_ttl, 60_000, 365 * 86_400_000),
        "auth.known_login_ttl",
        o,
        "must be between 1m and 365 days",
    )?;
    check(
        (1..=10_000_000).contains(&a.known_logins_max),
        "auth.known_logins_max",
        o,
        "must be between 1 and 10000000",
    )?;
    check(
        within(a.session_idle_timeout, 60_000, 86_400_000),
        "auth.session_idle_timeout",
        o,
        "must be between 1m and 24h",
    )?;
    check(
        a.session_absolute_timeout >= a.session_idle_timeout
            && a.session_absolute_timeout <= Duration::from_secs(30 * 86_400),
        "auth.session_absolute_timeout",
        o,
        "must be at least auth.session_idle_timeout and at most 30 days",
    )?;
    let l = &c.limits;
    check(
        (1..=1_000_000).contains(&l.max_connections),
        "limits.max_connections",
        o,
        "must be between 1 and 1000000",
    )?;
    check(
        l.max_connections_per_client >= 1
            && (l.max_connections_per_client as usize) <= l.max_connections,
        "limits.max_connections_per_client",
        o,
        "must be at least 1 and at most limits.max_connections",
    )?;
    check(
        (1..=l.max_connections).contains(&l.max_handshakes_in_progress),
        "limits.max_handshakes_in_progress",
        o,
        "must be at least 1 and at most limits.max_connections",
    )?;
    check(
        (1..=100_000).contains(&l.handshake_rate_per_client),
        "limits.handshake_rate_per_client",
        o,
        "must be between 1 and 100000 per second",
    )?;
    check(
        l.handshake_burst_per_client >= l.handshake_rate_per_client,
        "limits.handshake_burst_per_client",
        o,
        "must be at least limits.handshake_rate_per_client",
    )?;
    check(
        l.standing_connections_per_client <= 65_536,
        "limits.standing_connections_per_client",
        o,
        "must be between 0 and 65536",
    )?;
    check(
        (1_000..=10_000_000).contains(&l.max_tracked_clients),
        "limits.max_tracked_clients",
        o,
        "must be between 1000 and 10000000",
    )?;
    check(
        within(l.log_interval, 1_000, 3_600_000),
        "limits.log_interval",
        o,
        "must be between 1s and 1h",
    )?;
    for (key, rate, burst) in [
        (
            "limits.request_burst_per_client",
            l.requests_per_second_per_client,
            l.request_burst_per_client,
        ),
        (
            "limits.request_burst_per_user",
            l.requests_per_second_per_user,
            l.request_burst_per_user,
        ),
        ("limits.login_burst_per_client", 1, l.login_burst_per_client),
        (
            "limits.registration_burst_per_client",
            1,
            l.registration_burst_per_client,
        ),
    ] {
        check(
            rate >= 1 && (1..=1_000_000).contains(&burst),
            key,
            o,
            "rates and bursts must be between 1 and 1000000",
        )?;
    }
    check(
        l.logins_per_minute_per_client >= 1 && l.registrations_per_hour_per_client >= 1,
        "limits.logins_per_minute_per_client",
        o,
        "login and registration rates must be at least 1",
    )?;
    check(
        l.login_free_failures < l.login_lock_after,
        "limits.login_free_failures",
        o,
        "must be below limits.login_lock_after",
    )?;
    check(
        (1..=100).contains(&l.login_lock_after),
        "limits.login_lock_after",
        o,
        "must be between 1 and 100",
    )?;
    check(
        within(l.login_backoff_base, 100, 600_000)
            && l.login_backoff_max >= l.login_backoff_base
            && l.login_backoff_max <= Duration::from_secs(86_400),
        "limits.login_backoff_max",
        o,
        "backoff base must be 100ms..10m and the max between base and 24h",
    )?;
    check(
        within(l.login_lock_cooldown, 1_000, 7 * 86_400_000),
        "limits.login_lock_cooldown",
        o,
        "must be between 1s and 7 days",
    )?;
    check(
        (1..=1_000_000).contains(&l.max_in_flight),
        "limits.max_in_flight",
        o,
        "must be between 1 and 1000000",
    )?;
    check(
        (16..=65_535).contains(&l.listen_backlog),
        "limits.listen_backlog",
        o,
        "must be between 16 and 65535",
    )?;
    check(
        (1..=1_000_000).contains(&l.cooldown_after),
        "limits.cooldown_after",
        o,
        "must be between 1 and 1000000",
    )?;
    check(
        within(l.cooldown_window, 1_000, 3_600_000),
        "limits.cooldown_window",
        o,
        "must be between 1s and 1h",
    )?;
    check(
        within(l.cooldown, 0, 3_600_000),
        "limits.cooldown",
        o,
        "must be between 0s (off) and 1h",
    )?;
    check(
        (1..=10_000).contains(&l.max_body_reads_per_client),
        "limits.max_body_reads_per_client",
        o,
        "must be between 1 and 10000",
    )?;
    check(
        !l.proxy_protocol || !l.trusted_proxies.is_empty(),
        "limits.proxy_protocol",
        o,
        "needs limits.trusted_proxies: PROXY headers are read only from trusted proxies",
    )?;
    if let Some(admin) = c.admin.listen {
        check(
            admin.ip().is_loopback() || c.admin.allow_non_loopback,
            "admin.listen",
            o,
            "must be a loopback address unless admin.allow_non_loopback = true (it has no authentication)",
        )?;
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&c.log.level) {
        check(false, "log.level", o, &format!("invalid filter: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, parse_toml_str};

    fn key_of(text: &str) -> String {
        match parse_toml_str(text) {
            Err(ConfigError::Key { key, .. }) => key,
            other => panic!("expected key error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn ranges_are_enforced() {
        assert_eq!(
            key_of("[tls]\nhandshake_timeout = \"0s\""),
            "tls.handshake_timeout"
        );
        assert_eq!(
            key_of("[tls]\nhandshake_timeout = \"2m\""),
            "tls.handshake_timeout"
        );
        assert_eq!(key_of("shutdown_timeout = \"1h\""), "shutdown_timeout");
        assert_eq!(
            key_of("[http]\nh2_max_concurrent_streams = 1000"),
            "http.h2_max_concurrent_streams"
        );
        assert_eq!(
            key_of("[http]\nh2_max_header_list_bytes = 1048576"),
            "http.h2_max_header_list_bytes"
        );
        assert_eq!(
            key_of("[http]\nh2_control_frames_per_second = 0"),
            "http.h2_control_frames_per_second"
        );
        assert_eq!(
            key_of("[auth]\nhash_reserved_for_known = 1000"),
            "auth.hash_reserved_for_known"
        );
        assert_eq!(
            key_of("[http]\nhandler_timeout = \"0s\""),
            "http.handler_timeout"
        );
        assert_eq!(
            key_of("[http]\nsend_buffer_bytes = 100"),
            "http.send_buffer_bytes"
        );
        assert_eq!(
            key_of("[limits]\nstanding_connections_per_client = 70000"),
            "limits.standing_connections_per_client"
        );
        parse_toml_str("[limits]\nstanding_connections_per_client = 0").expect("0: one runtime");
        assert_eq!(
            key_of("[database]\nmax_connections = 0"),
            "database.max_connections"
        );
        assert_eq!(key_of("[database]\nurl = \"mysql://x\""), "database.url");
        let pg = parse_toml_str("[database]\nurl = \"postgres://bank:hunter2@db/rampart\"")
            .expect("postgres is a backend");
        let shown = pg.to_display_toml();
        assert!(shown.contains("postgres://bank:***@db/rampart"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!format!("{pg:?}").contains("hunter2"));
        assert_eq!(key_of("[log]\nlevel = \"[[[\""), "log.level");
        assert_eq!(
            key_of("[auth]\npassword_min_length = 6"),
            "auth.password_min_length"
        );
        assert_eq!(
            key_of("[auth]\nargon2_iterations = 0"),
            "auth.argon2_iterations"
        );
        assert_eq!(
            key_of("[auth]\nsession_idle_timeout = \"2h\"\nsession_absolute_timeout = \"1h\""),
            "auth.session_absolute_timeout"
        );
    }

    #[test]
    fn proxy_protocol_needs_trusted_proxies() {
        assert_eq!(
            key_of("[limits]\nproxy_protocol = true"),
            "limits.proxy_protocol"
        );
        parse_toml_str("[limits]\nproxy_protocol = true\ntrusted_proxies = [\"10.0.0.0/8\"]")
            .expect("with proxies");
    }

    #[test]
    fn cert_and_key_go_together() {
        assert_eq!(key_of("[tls]\ncert = \"a.pem\""), "tls.key");
        assert_eq!(key_of("[tls]\nkey = \"a.key\""), "tls.cert");
        parse_toml_str("[tls]\ncert = \"a.pem\"\nkey = \"a.key\"").expect("both set");
    }

    /// A `[tls.acme]` table with `extra` lines (which replace the defaults' keys they name).
    fn acme(extra: &str) -> String {
        let mut t = String::from("[tls.acme]\n");
        let named = |k: &str| extra.lines().any(|l| l.split(' ').next() == Some(k));
        if !named("directory") {
            t.push_str("directory = \"https://acme.test/dir\"\n");
        }
        if !named("domains") {
            t.push_str("domains = [\"bank.example\"]\n");
        }
        t + extra
    }

    #[test]
    fn acme_is_checked_and_excludes_certificate_files() {
        let c = parse_toml_str(&acme("")).expect("valid");
        let a = c.tls.acme.expect("set");
        assert_eq!(a.dir, std::path::PathBuf::from("acme"));
        assert_eq!(a.renew_before, None);
        let mixed = format!("[tls]\ncert = \"a.pem\"\nkey = \"a.key\"\n{}", acme(""));
        let e = parse_toml_str(&mixed).expect_err("mixed").to_string();
        assert!(e.contains("tls.acme") && e.contains("tls.cert"), "{e}");
        for (extra, key) in [
            ("directory = \"http://acme.test/dir\"", "tls.acme.directory"),
            ("domains = []", "tls.acme.domains"),
            ("domains = [\"*.bank.example\"]", "tls.acme.domains"),
            ("domains = [\"127.0.0.1\"]", "tls.acme.domains"),
            ("domains = [\"-bad.example\"]", "tls.acme.domains"),
            ("contact = \"ops@bank.example\"", "tls.acme.contact"),
        ] {
            assert_eq!(key_of(&acme(extra)), key, "{extra}");
        }
        for bad in ["renew_before = \"soon\"", "dirr = \"x\""] {
            let e = parse_toml_str(&acme(bad)).expect_err(bad).to_string();
            assert!(e.contains("tls.acme"), "{bad}: {e}");
        }
        let e =
            parse_toml_str("[tls.acme]\ndomains = [\"bank.example\"]").expect_err("no directory");
        assert!(e.to_string().contains("directory"), "{e}");
    }
}
