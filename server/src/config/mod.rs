//! Server configuration: the typed settings, their defaults, and validation.
//!
//! Values come from (highest precedence first) command-line flags, `RAMPART_*` environment
//! variables, a TOML file, and the embedded defaults below; [`load`] merges them. Unknown keys
//! are errors, and every error names the key, where it came from and what is wrong.

pub mod database_url;
mod error;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
mod load;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::{ConfigError, Layer};
pub use load::{load, parse_toml_str};

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address of the TLS listener.
    pub listen: SocketAddr,
    /// How long SIGTERM/SIGINT waits for in-flight requests before closing connections.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// TLS settings.
    pub tls: TlsConfig,
    /// Database settings.
    pub database: DatabaseConfig,
    /// HTTP protocol settings.
    pub http: HttpConfig,
    /// Credentials and sessions.
    pub auth: AuthConfig,
    /// Abuse limits.
    pub limits: LimitsConfig,
    /// The admin listener (`GET /metrics`).
    pub admin: AdminConfig,
    /// Logging.
    pub log: LogConfig,
    /// The sandbox the server puts itself in once started (Linux).
    pub sandbox: SandboxConfig,
    /// The process's identity.
    pub process: ProcessConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            shutdown_timeout: Duration::from_secs(10),
            tls: TlsConfig::default(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            admin: AdminConfig::default(),
            log: LogConfig::default(),
            sandbox: SandboxConfig::default(),
            process: ProcessConfig::default(),
        }
    }
}

/// Which protocol versions and suites are offered (Mozilla's server-side TLS profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsProfile {
    /// TLS 1.2 and 1.3, ECDHE with AEAD suites only.
    Intermediate,
    /// TLS 1.3 only.
    Modern,
}

/// TLS settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Protocol profile.
    pub profile: TlsProfile,
    /// Certificate chain PEM (leaf first). Unset: use the generated dev set in `dev_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// Private key PEM matching `cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Folder of the generated development CA and leaf (used when `cert`/`key` are unset).
    pub dev_dir: PathBuf,
    /// A connection that has not completed its TLS handshake by then is closed.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// Certificates from an ACME directory (RFC 8555, `tls-alpn-01`); excludes `cert`/`key`
    /// and the development set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeConfig>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            profile: TlsProfile::Intermediate,
            cert: None,
            key: None,
            dev_dir: PathBuf::from("certs/dev"),
            handshake_timeout: Duration::from_secs(5),
            acme: None,
        }
    }
}

/// `[tls.acme]`: the certificate is ordered from an ACME directory, proved with `tls-alpn-01`
/// answered on the API listener, kept in `dir` and renewed in the background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeConfig {
    /// The directory URL (`https://`), e.g. Let's Encrypt's
    /// `https://acme-v02.api.letsencrypt.org/directory`.
    pub directory: String,
    /// The DNS names the certificate covers (no wildcards: `tls-alpn-01` cannot prove them).
    pub domains: Vec<String>,
    /// The account's contact (`mailto:` URL), told to the CA for expiry notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// A PEM file of the certificates trusted for the directory's own HTTPS, in place of
    /// Mozilla's roots (a test CA such as Pebble's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_ca: Option<PathBuf>,
    /// Where the account key, certificate and key are kept (owner-only files, written
    /// atomically).
    #[serde(default = "AcmeConfig::default_dir")]
    pub dir: PathBuf,
    /// Renew when this much of the certificate's lifetime is left (unset: a third of it).
    #[serde(
        default,
        with = "humantime_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub renew_before: Option<Duration>,
}

impl AcmeConfig {
    fn default_dir() -> PathBuf {
        PathBuf::from("acme")
    }
}

/// Database settings. Its `Debug` masks the URL's password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created if missing; one instance per file) or
    /// `postgres://USER:PASSWORD@HOST/DB` (any number of instances). Credentials in a URL are
    /// never logged.
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &database_url::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://data/rampart.db".to_string(),
            max_connections: 8,
        }
    }
}

/// HTTP/1.1 and HTTP/2 protocol settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Time allowed for a client to send a complete request head (HTTP/1.1): from the start
    /// of the connection for the first request, then from the previous response, or from the
    /// first byte of the next request once an idle connection has been parked.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A request body that sends nothing for this long is cut (408); it is also the grace
    /// period before `body_min_rate` applies.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Minimum average request-body rate in bytes per second after the grace period.
    pub body_min_rate: u64,
    /// A response write that makes no progress for this long closes the connection.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// The longest a request's handler may run once its body is in (its database work and
    /// password hashing): past it the request is answered 503 with `Retry-After` and its work
    /// is dropped (a transaction not yet committed rolls back). It bounds what no other
    /// timeout does, a database that stops answering without closing its connections.
    #[serde(with = "humantime_serde")]
    pub handler_timeout: Duration,
    /// Kernel send buffer of each connection (`SO_SNDBUF`; Linux doubles it for its own
    /// bookkeeping), fixed so that a client that does not read is pushed back on within
    /// this many bytes, and then cut at `write_timeout`, instead of parking megabytes in the
    /// kernel's autotuned buffer while the server keeps working for it (slow read, HTTP/2
    /// control-frame floods). 0 leaves the kernel's autotuning. The default, 16 KiB (32 KiB
    /// in the kernel), holds any of rampart's responses whole (the largest, the OpenAPI
    /// document, is 18.7 KiB) and bounds a connection's bulk rate to 32 KiB per round trip.
    pub send_buffer_bytes: usize,
    /// A connection with no request in progress for this long is closed (HTTP/2 GOAWAY,
    /// HTTP/1.1 close). This is the keep-alive timeout of both protocols.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most header fields in one HTTP/1.1 request (431 beyond).
    pub max_headers: usize,
    /// Largest HTTP/1.1 request head in bytes (431 beyond; at least 8192).
    pub max_header_bytes: usize,
    /// Requests served on one connection before it is closed (HTTP/1.1) or sent GOAWAY
    /// (HTTP/2).
    pub max_requests_per_connection: u64,
    /// HTTP/2 PING interval, to find dead peers.
    #[serde(with = "humantime_serde")]
    pub h2_keepalive_interval: Duration,
    /// Close an HTTP/2 connection whose PING is not answered within this.
    #[serde(with = "humantime_serde")]
    pub h2_keepalive_timeout: Duration,
    /// Streams reset by the client before the server accepted them, per connection, before
    /// the connection is closed (rapid reset, CVE-2023-44487).
    pub h2_max_pending_accept_reset_streams: usize,
    /// Streams the server had to reset for protocol errors, per connection, before it is
    /// closed (CVE-2024-27316 / "MadeYouReset" class).
    pub h2_max_local_error_reset_streams: usize,
    /// Maximum concurrent streams per HTTP/2 connection.
    pub h2_max_concurrent_streams: u32,
    /// Maximum size of a decoded HTTP/2 header list, in bytes.
    pub h2_max_header_list_bytes: u32,
    /// SETTINGS and PING frames (not acknowledgements) an HTTP/2 client may send per second,
    /// sustained; beyond it and the burst the connection is closed (ping and settings floods).
    pub h2_control_frames_per_second: u32,
    /// The same, at once.
    pub h2_control_frame_burst: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            body_min_rate: 1024,
            write_timeout: Duration::from_secs(10),
            handler_timeout: Duration::from_secs(5),
            send_buffer_bytes: 16 * 1024,
            idle_timeout: Duration::from_secs(30),
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            max_requests_per_connection: 1000,
            h2_keepalive_interval: Duration::from_secs(20),
            h2_keepalive_timeout: Duration::from_secs(10),
            h2_max_pending_accept_reset_streams: 20,
            h2_max_local_error_reset_streams: 100,
            h2_max_concurrent_streams: 100,
            h2_max_header_list_bytes: 16 * 1024,
            h2_control_frames_per_second: 10,
            h2_control_frame_burst: 100,
        }
    }
}

/// Password hashing, password rules and session lifetimes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Optional file holding a secret mixed into every hash (argon2 "secret"); keep it outside
    /// the database and its backups. Changing it invalidates every stored password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pepper_file: Option<PathBuf>,
    /// Minimum password length in characters after NFKC normalisation (never below 8).
    pub password_min_length: usize,
    /// Hashes computed at once (each holds `argon2_memory_kib` of memory).
    pub hash_concurrency: usize,
    /// Hash requests allowed to wait for a slot; beyond this, logins are shed with 503.
    pub hash_queue: usize,
    /// Hashing slots, beyond `hash_concurrency`, only for logins to an account from a client
    /// network it logged in from within `known_login_ttl`: a login flood that fills the pool
    /// does not shed them. 0 turns the lane off.
    pub hash_reserved_for_known: usize,
    /// How long a successful login makes its (client network, account) pair known.
    #[serde(with = "humantime_serde")]
    pub known_login_ttl: Duration,
    /// Most (client network, account) pairs remembered (in memory, per instance).
    pub known_logins_max: usize,
    /// A session unused for this long expires.
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Duration,
    /// A session expires this long after login, however active.
    #[serde(with = "humantime_serde")]
    pub session_absolute_timeout: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            pepper_file: None,
            password_min_length: 15,
            hash_concurrency: 2,
            hash_queue: 16,
            hash_reserved_for_known: 1,
            known_login_ttl: Duration::from_secs(30 * 24 * 3600),
            known_logins_max: 100_000,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 3600),
        }
    }
}

/// Abuse limits (connection layer so far; see SECURITY.md for how each default compares with
/// nginx's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Open connections, all clients together. Sized so that many clients each at their own
    /// cap still leave room for others (slowloris from many addresses).
    pub max_connections: usize,
    /// Open connections per client (IPv4 address or IPv6 /64), checked before TLS.
    pub max_connections_per_client: u32,
    /// Connections the kernel may queue for `accept` (capped by `net.core.somaxconn`). When
    /// the queue is full, new clients' SYNs are dropped and retried only after a second.
    pub listen_backlog: u32,
    /// TLS handshakes in progress at once.
    pub max_handshakes_in_progress: usize,
    /// New connections (handshakes) per second per client, sustained.
    pub handshake_rate_per_client: u32,
    /// New connections per client in a burst.
    pub handshake_burst_per_client: u32,
    /// A client's first this many open connections are served in the standing lane, the rest
    /// in the heavy lane, a runtime of its own (`net::lanes`). 0: one runtime for all.
    pub standing_connections_per_client: usize,
    /// Clients whose rate state is remembered; beyond this the state is reset.
    pub max_tracked_clients: usize,
    /// A refusal is logged at most once per client and reason per interval.
    #[serde(with = "humantime_serde")]
    pub log_interval: Duration,
    /// Requests per second per client, sustained (429 beyond).
    pub requests_per_second_per_client: u32,
    /// Requests per client in a burst.
    pub request_burst_per_client: u32,
    /// Requests per second per authenticated user, whatever address they come from.
    pub requests_per_second_per_user: u32,
    /// Requests per user in a burst.
    pub request_burst_per_user: u32,
    /// Login attempts (POST /v1/sessions) per minute per client.
    pub logins_per_minute_per_client: u32,
    /// Login attempts per client in a burst.
    pub login_burst_per_client: u32,
    /// Registrations (POST /v1/users) per hour per client.
    pub registrations_per_hour_per_client: u32,
    /// Registrations per client in a burst.
    pub registration_burst_per_client: u32,
    /// Requests being handled at once, all clients together; beyond this, 503 + Retry-After.
    pub max_in_flight: usize,
    /// Requests per client whose bodies are still arriving, at once; beyond, 429. A body
    /// holds no in-flight slot while it arrives.
    pub max_body_reads_per_client: usize,
    /// Strikes for a client's own excess that are free; forgiven at this many per
    /// `cooldown_window`. A refusal for its request rate, connection cap or handshake rate is
    /// one strike; one that ends a connection (login and registration budgets, body-reading
    /// share, a broken HTTP/2 connection) is ten (`crate::limits::cooldown::strike_weight`).
    pub cooldown_after: u32,
    /// The window `cooldown_after` is counted in.
    #[serde(with = "humantime_serde")]
    pub cooldown_window: Duration,
    /// How long a client past `cooldown_after` has its new connections refused and its
    /// requests answered 429 with `Connection: close`. `0s` turns cool-downs off.
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Failed logins per account before any delay.
    pub login_free_failures: u32,
    /// First delay after the free failures; each further failure doubles it.
    #[serde(with = "humantime_serde")]
    pub login_backoff_base: Duration,
    /// Longest delay between failed logins of one account.
    #[serde(with = "humantime_serde")]
    pub login_backoff_max: Duration,
    /// Consecutive failures that lock an account (at most 100).
    pub login_lock_after: u32,
    /// How long a locked account stays locked.
    #[serde(with = "humantime_serde")]
    pub login_lock_cooldown: Duration,
    /// Proxies whose `X-Forwarded-For` is believed (rightmost untrusted hop). From any other
    /// peer the header is ignored. Empty by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Expect a PROXY protocol v2 header at the start of every connection from a trusted
    /// proxy (HAProxy `send-proxy-v2`) and key connection limits on the client it names.
    /// Connections from other peers are never read for one. Off by default.
    pub proxy_protocol: bool,
    /// Client networks exempt from request-rate limits (health checkers, an internal
    /// scanner). Never exempt from connection caps, timeouts or the in-flight cap.
    pub exempt: Vec<ipnet::IpNet>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 10_000,
            max_connections_per_client: 16,
            listen_backlog: 4096,
            max_handshakes_in_progress: 256,
            handshake_rate_per_client: 10,
            handshake_burst_per_client: 20,
            standing_connections_per_client: 2,
            max_tracked_clients: 100_000,
            log_interval: Duration::from_secs(10),
            requests_per_second_per_client: 50,
            request_burst_per_client: 100,
            requests_per_second_per_user: 20,
            request_burst_per_user: 40,
            logins_per_minute_per_client: 10,
            login_burst_per_client: 5,
            registrations_per_hour_per_client: 20,
            registration_burst_per_client: 5,
            max_in_flight: 512,
            max_body_reads_per_client: 8,
            cooldown_after: 100,
            cooldown_window: Duration::from_secs(10),
            cooldown: Duration::from_secs(30),
            login_free_failures: 5,
            login_backoff_base: Duration::from_secs(1),
            login_backoff_max: Duration::from_secs(15 * 60),
            login_lock_after: 100,
            login_lock_cooldown: Duration::from_secs(3600),
            trusted_proxies: Vec::new(),
            proxy_protocol: false,
            exempt: Vec::new(),
        }
    }
}

/// The admin listener: TLS with the same certificate, `GET /metrics` in the Prometheus text
/// format. Off unless `listen` is set; loopback only unless `allow_non_loopback`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin listener, e.g. `127.0.0.1:9443`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Allow a non-loopback admin address (put it behind a firewall: it has no authentication).
    pub allow_non_loopback: bool,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `rampart=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".to_string(),
        }
    }
}

/// The sandbox: Landlock (files and TCP ports), a seccomp allowlist of system calls and
/// no_new_privs, applied by `rampart serve` as it starts (SECURITY.md, "Deployment").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Confine the process (on by default).
    pub enabled: bool,
    /// Refuse to start where the kernel cannot enforce all of it (by default: serve, and say
    /// at warn level what is not enforced).
    pub require: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enabled: true,
            require: false,
        }
    }
}

/// Who the server runs as.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessConfig {
    /// Started as root: bind the listeners, then run as this user and its group with no
    /// capabilities (it must be able to write the store and read the certificates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Config {
    /// The effective configuration as TOML, whole (it parses back to the same config).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// The effective configuration as TOML with the database password masked: what
    /// `rampart check-config` prints, since its output ends up in terminals and CI logs.
    pub fn to_display_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = database_url::redact_url(&self.database.url);
        shown.to_toml()
    }
}
