//! Certificates from an ACME directory (RFC 8555), the way Caddy gets its own: `[tls.acme]`
//! names the directory and the domains; the server proves them with `tls-alpn-01` (RFC 8737)
//! on its own API listener, keeps the account and certificate in `tls.acme.dir`, reuses them
//! across restarts, and renews in the background when a third of the lifetime is left.
//!
//! Until the first certificate is issued every handshake is refused (never a self-signed or
//! development certificate in its place) except validation handshakes, which
//! [`challenge`] answers. A failed order or renewal leaves the certificate in service, waits
//! (doubling, and never less than the server's `Retry-After`) and tries again; every outcome
//! is logged and counted on `/metrics` ([`AcmeMetrics`]).
//!
//! The protocol itself is instant-acme's (a maintained RFC 8555 client by a rustls maintainer,
//! which leaves the TLS listener and the storage to us); rustls-acme was set aside because it
//! owns the accept loop and the renewal policy, which here belong to `net` and [`renewal`].
//!
//! - [`http`]: the client's HTTPS (trusted roots, timeouts, `Retry-After` kept);
//! - [`challenge`]: validation certificates and the handshakes that ask for them;
//! - [`store`]: the account and certificate files;
//! - [`order`]: one order, start to finish;
//! - [`shared`]: the files, and on PostgreSQL the database every instance shares (one account,
//!   one order at a time under a lease, the certificate, the validations);
//! - [`renewal`]: when to order, the back-off, the background task.

pub mod challenge;
pub mod http;
pub mod order;
pub mod renewal;
pub mod shared;
pub mod store;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

pub use challenge::{ALPN_ACME_TLS, Challenges, is_validation};
pub use renewal::Acme;

/// What went wrong obtaining a certificate, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The directory did not answer (down, unreachable, or its TLS is not trusted).
    #[error("ACME directory {url} is unreachable: {reason}")]
    DirectoryUnreachable {
        /// The directory URL.
        url: String,
        /// What failed: connection, TLS, timeout.
        reason: String,
    },
    /// The server refused to create or find the account.
    #[error("the ACME server refused the account: {detail}")]
    AccountRefused {
        /// The problem document's detail.
        detail: String,
    },
    /// A name could not be proved.
    #[error("an ACME challenge failed: {detail}")]
    ChallengeFailed {
        /// Each failed name with the problem document's detail.
        detail: String,
    },
    /// The server's rate limit (retried no sooner than its `Retry-After`).
    #[error("the ACME server's rate limit: {detail}")]
    RateLimited {
        /// The problem document's detail.
        detail: String,
    },
    /// Any other refusal or unexpected answer during the order.
    #[error("the ACME order failed: {detail}")]
    Order {
        /// The step and what the server said.
        detail: String,
    },
    /// `tls.acme.directory_ca` cannot be used.
    #[error("tls.acme.directory_ca {path}: {reason}")]
    DirectoryCa {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file in `tls.acme.dir` could not be read or written.
    #[error("ACME store {path}: {reason}")]
    Store {
        /// The file or folder.
        path: String,
        /// The I/O or format error.
        reason: String,
    },
    /// Building a key, a CSR or a TLS configuration failed.
    #[error("ACME TLS material: {0}")]
    Tls(String),
}

/// ACME outcomes for `/metrics`.
#[derive(Debug, Default)]
pub struct AcmeMetrics {
    issued: AtomicU64,
    failed: AtomicU64,
    failing: AtomicU64,
    not_after: AtomicU64,
    renew_at: AtomicU64,
    next_attempt: AtomicU64,
}

impl AcmeMetrics {
    fn issued(&self) {
        self.issued.fetch_add(1, Ordering::Relaxed);
        self.failing.store(0, Ordering::Relaxed);
    }

    fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.failing.fetch_add(1, Ordering::Relaxed);
    }

    fn serving(&self, not_after: i64, renew_at: i64) {
        self.not_after
            .store(u64::try_from(not_after).unwrap_or(0), Ordering::Relaxed);
        self.renew_at
            .store(u64::try_from(renew_at).unwrap_or(0), Ordering::Relaxed);
    }

    fn next_attempt_in(&self, wait: std::time::Duration) {
        let at = std::time::SystemTime::now() + wait;
        let secs = at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.next_attempt.store(secs, Ordering::Relaxed);
    }

    /// Unix time of the next attempt (an order, or a look for another instance's certificate).
    pub fn next_attempt(&self) -> u64 {
        self.next_attempt.load(Ordering::Relaxed)
    }

    /// Orders that ended with a certificate.
    pub fn orders_issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Orders that failed.
    pub fn orders_failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Appends the Prometheus text of these metrics to `out`.
    pub fn render(&self, out: &mut String) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP rampart_acme_orders_total ACME orders (issuance and renewal), by outcome.\n\
             # TYPE rampart_acme_orders_total counter\n\
             rampart_acme_orders_total{{outcome=\"issued\"}} {}\n\
             rampart_acme_orders_total{{outcome=\"failed\"}} {}",
            load(&self.issued),
            load(&self.failed)
        );
        for (name, help, value) in [
            (
                "rampart_acme_consecutive_failures",
                "ACME orders failed since the last one that succeeded.",
                load(&self.failing),
            ),
            (
                "rampart_acme_certificate_not_after_seconds",
                "Unix time the served ACME certificate expires (0: none yet).",
                load(&self.not_after),
            ),
            (
                "rampart_acme_renewal_due_seconds",
                "Unix time the served ACME certificate is due for renewal (0: none yet).",
                load(&self.renew_at),
            ),
            (
                "rampart_acme_next_attempt_seconds",
                "Unix time of the next ACME attempt (after a failure: the back-off, or the CA's Retry-After when later).",
                load(&self.next_attempt),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
    }
}
