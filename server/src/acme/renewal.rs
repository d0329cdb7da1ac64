//! When to order: at once when no stored certificate covers the configured names, else when
//! `renew_before` (default: a third of the lifetime) is left, plus a jitter so that a fleet
//! does not renew in one second. A failed order leaves the certificate in service and is
//! retried after a back-off that doubles from 2 s to an hour, and never sooner than the
//! server's `Retry-After`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

use super::http::AcmeHttp;
use super::shared::{Keep, LEASE, Shared};
use super::store::{AcmeFiles, Stored};
use super::{AcmeError, AcmeMetrics, Challenges};
use crate::config::AcmeConfig;
use crate::tls::{CertSource, CertStore};

/// The first retry's wait; each failure doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(2);
/// The longest wait between two failed orders.
const LONGEST_RETRY: Duration = Duration::from_secs(3600);
/// The most a renewal is put off to spread a fleet's renewals.
const MOST_JITTER: Duration = Duration::from_secs(3600);
/// The least time between two orders that succeeded (a `renew_before` longer than the
/// lifetime makes every certificate due at once).
const LEAST_BETWEEN_ORDERS: Duration = Duration::from_secs(5);

/// When `stored` is due for renewal.
pub fn renew_at(stored: &Stored, renew_before: Option<Duration>) -> OffsetDateTime {
    let lifetime = stored.not_after - stored.not_before;
    let before = match renew_before {
        Some(d) => time::Duration::try_from(d).unwrap_or(time::Duration::MAX),
        None => lifetime / 3,
    };
    stored.not_after.saturating_sub(before)
}

/// The wait after `failures` failed orders in a row (at least one).
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY
        .saturating_mul(1 << doublings)
        .min(LONGEST_RETRY)
}

/// A random wait of up to a tenth of `window` and at most an hour.
fn jitter(window: Duration) -> Duration {
    let most = (window / 10).min(MOST_JITTER);
    let mut bytes = [0u8; 8];
    if most.is_zero()
        || crate::tls::provider()
            .secure_random
            .fill(&mut bytes)
            .is_err()
    {
        return Duration::ZERO;
    }
    let millis = u64::try_from(most.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(u64::from_le_bytes(bytes) % millis)
}

fn until(at: OffsetDateTime) -> Duration {
    let left = at - OffsetDateTime::now_utc();
    Duration::try_from(left).unwrap_or(Duration::ZERO)
}

/// How long an order may run in all, below the lease ([`LEASE`]) so that no two instances
/// ever order at once.
const ORDER_BOUND: Duration = Duration::from_secs(300);
const _: () = assert!(ORDER_BOUND.as_secs() < LEASE.as_secs());
/// How often an instance waiting for another's order looks for its certificate.
const WAITING_FOR_OTHER: Duration = Duration::from_secs(2);

/// What one attempt came to.
enum Attempt {
    /// This instance ordered a certificate.
    Issued(Stored),
    /// Another instance had one (or has just obtained one) that is not due.
    Adopted(Stored),
    /// Another instance holds the lease and is ordering.
    OtherOrdering,
    /// The order failed; the current certificate stays.
    Failed(AcmeError),
}

/// The ACME side of a running server: the client, where state is kept, the validation
/// certificates in service and the counters.
#[derive(Debug)]
pub struct Acme {
    config: AcmeConfig,
    http: AcmeHttp,
    keep: Keep,
    challenges: Arc<Challenges>,
    metrics: Arc<AcmeMetrics>,
    certs: Arc<CertStore>,
}

impl Acme {
    /// Where the certificate store reads the ACME certificate from (on SIGHUP too).
    pub fn cert_source(config: &AcmeConfig) -> CertSource {
        let file = AcmeFiles::new(&config.dir).certificate();
        CertSource {
            cert: file.clone(),
            key: file,
        }
    }

    /// Ready to order for `config` into `certs`, which it fills with the stored certificate
    /// when one covers the configured names; with `shared`, in step with the other instances
    /// on that database. Fails only on a `directory_ca` that cannot be used.
    pub fn new(
        config: &AcmeConfig,
        certs: Arc<CertStore>,
        shared: Option<Shared>,
    ) -> Result<Acme, AcmeError> {
        let shared = shared.map(Arc::new);
        let acme = Acme {
            http: AcmeHttp::new(config.directory_ca.as_deref())?,
            keep: Keep {
                files: AcmeFiles::new(&config.dir),
                shared: shared.clone(),
            },
            config: config.clone(),
            challenges: Arc::new(Challenges::new(shared)),
            metrics: Arc::new(AcmeMetrics::default()),
            certs,
        };
        match acme.keep.files.load_certificate() {
            // Refused handshakes rather than an expired certificate (one a user may be invited
            // to click through) while the new one is ordered.
            Some(stored) if stored.not_after <= OffsetDateTime::now_utc() => tracing::warn!(
                serial = %stored.serial,
                not_after = %stored.not_after,
                "the stored ACME certificate has expired; ordering a new one (handshakes are \
                 refused until it is issued)"
            ),
            Some(stored) if stored.covers_all(&acme.config.domains) => {
                tracing::info!(
                    serial = %stored.serial,
                    not_after = %stored.not_after,
                    "serving the stored ACME certificate"
                );
                acme.serve(&stored);
            }
            Some(_) => tracing::info!(
                "the stored ACME certificate does not cover every name of tls.acme.domains; \
                 ordering a new one"
            ),
            None => tracing::info!(
                "no ACME certificate yet: handshakes are refused until one is issued"
            ),
        }
        Ok(acme)
    }

    /// The validation certificates in service (what `acme-tls/1` handshakes are answered with).
    pub fn challenges(&self) -> &Arc<Challenges> {
        &self.challenges
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<AcmeMetrics> {
        &self.metrics
    }

    fn serve(&self, stored: &Stored) {
        self.certs.install(stored.key.clone());
        let due = renew_at(stored, self.config.renew_before);
        self.metrics
            .serving(stored.not_after.unix_timestamp(), due.unix_timestamp());
    }

    /// The certificate in service, if it is one this configuration would keep.
    fn current(&self) -> Option<Stored> {
        let key = self.certs.current()?;
        Stored::of(key)
            .ok()
            .filter(|s| s.covers_all(&self.config.domains))
    }

    /// How long until the next order.
    fn next_order(&self) -> Duration {
        match self.current() {
            None => Duration::ZERO,
            Some(s) => {
                let due = renew_at(&s, self.config.renew_before);
                // Spread over a tenth of the renewal window; an overdue renewal goes at once.
                let wait = until(due);
                let spread = match wait.is_zero() {
                    true => Duration::ZERO,
                    false => jitter(until(s.not_after).saturating_sub(wait)),
                };
                wait + spread
            }
        }
    }

    /// Serves the certificate another instance stored when it lasts longer than ours;
    /// returns it when it is not due for renewal.
    async fn adopt(&self) -> Result<Option<Stored>, AcmeError> {
        let Some(stored) = self.keep.newer_shared(self.current().as_ref()).await? else {
            return Ok(None);
        };
        if !stored.covers_all(&self.config.domains) {
            return Ok(None);
        }
        self.serve(&stored);
        let due = renew_at(&stored, self.config.renew_before) <= OffsetDateTime::now_utc();
        Ok((!due).then_some(stored))
    }

    /// Orders now (bounded); serves and keeps what is issued.
    async fn order(&self) -> Attempt {
        let ordered = tokio::time::timeout(
            ORDER_BOUND,
            super::order::order(&self.config, &self.http, &self.keep, &self.challenges),
        )
        .await
        .unwrap_or_else(|_| {
            Err(AcmeError::Order {
                detail: format!("no end within {} s", ORDER_BOUND.as_secs()),
            })
        });
        match ordered {
            Ok(stored) => {
                self.serve(&stored);
                Attempt::Issued(stored)
            }
            Err(e) => Attempt::Failed(e),
        }
    }

    /// One attempt: adopt what another instance has, else order under the lease.
    async fn attempt(&self) -> Attempt {
        match self.adopt().await {
            Ok(Some(stored)) => return Attempt::Adopted(stored),
            Ok(None) => {}
            Err(e) => return Attempt::Failed(e),
        }
        let Some(shared) = &self.keep.shared else {
            return self.order().await;
        };
        match shared.take_lease().await {
            Ok(true) => {}
            Ok(false) => return Attempt::OtherOrdering,
            Err(e) => return Attempt::Failed(e),
        }
        // Again under the lease: the instance that held it may have finished just now.
        let attempt = match self.adopt().await {
            Ok(Some(stored)) => Attempt::Adopted(stored),
            Ok(None) => self.order().await,
            Err(e) => Attempt::Failed(e),
        };
        shared.release_lease().await;
        attempt
    }

    /// Orders whenever due until `shutdown` completes.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut failures = 0u32;
        let mut wait = self.next_order();
        loop {
            self.metrics.next_attempt_in(wait);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut shutdown => return,
            }
            let renewal = self.current().is_some();
            let attempt = tokio::select! {
                a = self.attempt() => a,
                _ = &mut shutdown => return,
            };
            wait = match attempt {
                Attempt::Issued(stored) => {
                    failures = 0;
                    self.metrics.issued();
                    tracing::info!(
                        serial = %stored.serial,
                        not_after = %stored.not_after,
                        renewal,
                        "ACME certificate in service, issued to this instance"
                    );
                    let wait = self.next_order();
                    if wait < LEAST_BETWEEN_ORDERS {
                        tracing::warn!(
                            "the new ACME certificate is already due for renewal: \
                             tls.acme.renew_before is longer than its lifetime"
                        );
                    }
                    wait.max(LEAST_BETWEEN_ORDERS)
                }
                Attempt::Adopted(stored) => {
                    failures = 0;
                    tracing::info!(
                        serial = %stored.serial,
                        not_after = %stored.not_after,
                        "ACME certificate in service, ordered by another instance"
                    );
                    self.next_order()
                }
                Attempt::OtherOrdering => {
                    tracing::debug!("another instance is ordering; waiting for its certificate");
                    WAITING_FOR_OTHER
                }
                Attempt::Failed(e) => {
                    failures = failures.saturating_add(1);
                    self.metrics.failed();
                    let server_says = self
                        .http
                        .take_retry_after()
                        .and_then(|at| at.duration_since(SystemTime::now()).ok())
                        .unwrap_or(Duration::ZERO);
                    let wait = backoff(failures).max(server_says);
                    tracing::warn!(
                        error = %e,
                        failures,
                        retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        keeping_current = renewal,
                        "ACME order failed"
                    );
                    wait
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(days: i64) -> Stored {
        let ca = rampart_certs::DevCa::generate().expect("ca");
        let (chain, key) =
            rampart_certs::issue_leaf(&ca, &["bank.example".to_string()], days).expect("leaf");
        let key = rampart_certs::certified_key_from_pem(
            chain.as_bytes(),
            key.as_bytes(),
            &crate::tls::provider(),
        )
        .expect("pair");
        Stored::of(Arc::new(key)).expect("stored")
    }

    #[test]
    fn renewal_is_due_when_a_third_of_the_lifetime_is_left() {
        let s = stored(90);
        let lifetime = s.not_after - s.not_before;
        let due = renew_at(&s, None);
        assert_eq!(s.not_after - due, lifetime / 3);
        let due = renew_at(&s, Some(Duration::from_secs(86_400)));
        assert_eq!(s.not_after - due, time::Duration::days(1));
        // A window longer than the lifetime makes it due at once.
        let due = renew_at(&s, Some(Duration::from_secs(200 * 86_400)));
        assert!(due < OffsetDateTime::now_utc());
    }

    /// A self-signed certificate for `bank.example` valid from `from` to `to` days from now,
    /// stored in `dir` as ACME would.
    fn store_certificate(dir: &std::path::Path, from: i64, to: i64) {
        let mut params =
            rcgen::CertificateParams::new(vec!["bank.example".to_string()]).expect("params");
        let now = OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(from);
        params.not_after = now + time::Duration::days(to);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let pem = super::super::store::combine(&key.serialize_pem(), &cert.pem());
        AcmeFiles::new(dir).save_pem(&pem).expect("stored");
    }

    #[test]
    fn a_stored_certificate_is_served_at_start_unless_it_has_expired() {
        for (from, to, served) in [(-10, 80, true), (-90, -1, false)] {
            let tmp = tempfile::tempdir().expect("tmp");
            store_certificate(tmp.path(), from, to);
            let config = AcmeConfig {
                directory: "https://acme.test/dir".into(),
                domains: vec!["bank.example".into()],
                contact: None,
                directory_ca: None,
                dir: tmp.path().to_path_buf(),
                renew_before: None,
            };
            let certs = Arc::new(CertStore::awaiting(Acme::cert_source(&config)));
            Acme::new(&config, certs.clone(), None).expect("acme");
            assert_eq!(certs.current().is_some(), served, "valid {from}..{to} days");
        }
    }

    #[test]
    fn failures_back_off_by_doubling_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(20), LONGEST_RETRY);
        assert_eq!(backoff(u32::MAX), LONGEST_RETRY);
    }

    #[test]
    fn jitter_stays_within_a_tenth_of_the_window_and_an_hour() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_secs(100)) < Duration::from_secs(10));
            assert!(jitter(Duration::from_secs(30 * 86_400)) < MOST_JITTER);
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
