//! argon2id hashing off the async workers, on a bounded pool.
//!
//! At most `hash_concurrency` hashes run at once (each holds `argon2_memory_kib` of memory),
//! and at most `hash_queue` more wait for a slot. A request beyond that is refused at once
//! with [`HashError::Busy`] (the HTTP layer answers 503 + Retry-After) instead of queueing
//! without bound: that is what stops a login flood from turning argon2's cost into a
//! denial of service.
//!
//! A caller takes its place first ([`Hasher::admit`]: refused at once when the pool and its
//! queue are full), then hashes in it; a login does so before any database work.
//!
//! `hash_reserved_for_known` more slots, outside the pool and its queue, serve only logins
//! the caller marks as known (see [`crate::auth::known_logins`]); such a login takes one when
//! it is free and the shared pool otherwise, so a flood that fills the pool does not shed it.
//!
//! Unknown usernames are verified against a dummy hash made with the same parameters, so the
//! time a failed login takes does not reveal whether the user exists.

use std::path::Path;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::AuthConfig;

/// Shortest pepper accepted, in bytes.
pub const MIN_PEPPER_BYTES: usize = 16;

/// Why hashing did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The pool and its queue are full: shed the request.
    #[error("password hashing is saturated")]
    Busy,
    /// argon2 failed (bad parameters, corrupt stored hash, task failure).
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matched a real user's hash.
    pub ok: bool,
    /// The stored hash used other parameters than the current ones: store a fresh hash.
    pub needs_rehash: bool,
}

/// The bounded argon2id hashing pool.
pub struct Hasher {
    params: Params,
    pepper: Option<Arc<[u8]>>,
    slots: Arc<Semaphore>,
    admission: Arc<Semaphore>,
    reserved: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .field("pepper", &self.pepper.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

/// Reads a pepper file: its bytes with trailing whitespace removed, at least 16 bytes.
pub fn read_pepper(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes =
        std::fs::read(path).map_err(|e| format!("auth.pepper_file {}: {e}", path.display()))?;
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    if bytes.len() < MIN_PEPPER_BYTES {
        return Err(format!(
            "auth.pepper_file {}: must hold at least {MIN_PEPPER_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// An argon2id context for `params`, keyed with the pepper when there is one.
fn context<'a>(params: &Params, pepper: Option<&'a [u8]>) -> Result<Argon2<'a>, HashError> {
    match pepper {
        Some(p) => Argon2::new_with_secret(p, Algorithm::Argon2id, Version::V0x13, params.clone())
            .map_err(|e| HashError::Failed(e.to_string())),
        None => Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
        )),
    }
}

fn hash_blocking(
    params: &Params,
    pepper: Option<&[u8]>,
    password: &[u8],
) -> Result<String, HashError> {
    context(params, pepper)?
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// Returns (matches, stored with other parameters than `params`).
fn verify_blocking(
    params: &Params,
    pepper: Option<&[u8]>,
    password: &[u8],
    phc: &str,
) -> Result<(bool, bool), HashError> {
    let parsed = PasswordHash::new(phc).map_err(|e| HashError::Failed(e.to_string()))?;
    let ok = context(params, pepper)?
        .verify_password(password, &parsed)
        .is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        });
    Ok((ok, !current))
}

impl Hasher {
    /// Builds the pool and the dummy hash (one hash at start-up).
    pub async fn new(cfg: &AuthConfig, pepper: Option<Vec<u8>>) -> Result<Self, HashError> {
        let params = Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let pepper: Option<Arc<[u8]>> = pepper.map(Arc::from);
        let mut dummy_secret = [0u8; 24];
        crate::tls::provider()
            .secure_random
            .fill(&mut dummy_secret)
            .map_err(|e| HashError::Failed(format!("{e:?}")))?;
        let (p, pep) = (params.clone(), pepper.clone());
        let dummy =
            tokio::task::spawn_blocking(move || hash_blocking(&p, pep.as_deref(), &dummy_secret))
                .await
                .map_err(|e| HashError::Failed(e.to_string()))??;
        Ok(Hasher {
            params,
            pepper,
            slots: Arc::new(Semaphore::new(cfg.hash_concurrency)),
            admission: Arc::new(Semaphore::new(cfg.hash_concurrency + cfg.hash_queue)),
            reserved: Arc::new(Semaphore::new(cfg.hash_reserved_for_known)),
            dummy: Arc::from(dummy),
        })
    }

    /// Takes a place for one hash, or refuses at once with [`HashError::Busy`] when the pool
    /// and its queue are full. A `known` login takes a reserved slot when one is free. Taking
    /// the place first lets a caller shed a login before it does any other work for it.
    pub fn admit(&self, known: bool) -> Result<Admitted<'_>, HashError> {
        if known && let Ok(reserved) = self.reserved.clone().try_acquire_owned() {
            return Ok(Admitted {
                hasher: self,
                place: Place::Reserved(reserved),
            });
        }
        let queued = self
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        Ok(Admitted {
            hasher: self,
            place: Place::Pool(queued),
        })
    }

    /// Hashes a (normalised) password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.admit(false)?
            .run(move |params, pepper| hash_blocking(params, pepper, password.as_bytes()))
            .await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no such
    /// user (then `ok` is always false, and the work done is the same), in the shared pool. A
    /// login admits itself first ([`Hasher::admit`]) and verifies with [`Admitted::verify`].
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        self.admit(false)?.verify(password, stored).await
    }

    /// Hash requests that could be admitted right now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.admission.available_permits()
    }
}

/// Runs a hash on the blocking pool, so that the async workers go on serving meanwhile.
#[cfg(not(fuzzing))]
async fn off_the_workers<T: Send + 'static>(
    hash: impl FnOnce() -> Result<T, HashError> + Send + 'static,
) -> Result<T, HashError> {
    tokio::task::spawn_blocking(hash)
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
}

/// Fuzzing builds hash on the calling thread instead (at the harnesses' cheapest parameters,
/// microseconds): the hand-off to the blocking pool and back was two thread switches per
/// login, and which of the runtime's wake paths ran depended on the scheduler, which libFuzzer
/// took for new coverage (fuzz/README.md, "The stateful targets' speed"). Admission and the
/// permits are the same.
#[cfg(fuzzing)]
async fn off_the_workers<T: Send + 'static>(
    hash: impl FnOnce() -> Result<T, HashError> + Send + 'static,
) -> Result<T, HashError> {
    hash()
}

/// Where an admitted hash runs: a reserved slot, or a place in the pool's queue.
enum Place {
    Reserved(OwnedSemaphorePermit),
    Pool(OwnedSemaphorePermit),
}

/// A place for one hash, taken by [`Hasher::admit`]; dropping it unused gives it back.
pub struct Admitted<'a> {
    hasher: &'a Hasher,
    place: Place,
}

impl std::fmt::Debug for Admitted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.place {
            Place::Reserved(_) => "reserved",
            Place::Pool(_) => "pool",
        };
        f.debug_struct("Admitted").field("place", &place).finish()
    }
}

impl Admitted<'_> {
    async fn run<T: Send + 'static>(
        self,
        job: impl FnOnce(&Params, Option<&[u8]>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        // The permits go into the blocking job and are released when the hash is done, not
        // when the caller stops waiting: a request cut at `http.handler_timeout` leaves its
        // hash running, and that hash still counts against the pool.
        let held = match self.place {
            Place::Reserved(reserved) => (reserved, None),
            Place::Pool(queued) => {
                let slot = self
                    .hasher
                    .slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| HashError::Busy)?;
                (queued, Some(slot))
            }
        };
        let (params, pepper) = (self.hasher.params.clone(), self.hasher.pepper.clone());
        off_the_workers(move || {
            let _held = held;
            job(&params, pepper.as_deref())
        })
        .await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no such
    /// user (then `ok` is always false, and the work done is the same).
    pub async fn verify(
        self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let real = stored.is_some();
        let phc: String = stored.unwrap_or_else(|| self.hasher.dummy.to_string());
        let (ok, needs_rehash) = self
            .run(move |params, pepper| verify_blocking(params, pepper, password.as_bytes(), &phc))
            .await?;
        Ok(Verified {
            ok: ok && real,
            needs_rehash: real && ok && needs_rehash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> AuthConfig {
        AuthConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            hash_concurrency: 1,
            hash_queue: 1,
            ..AuthConfig::default()
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_with_configured_params() {
        let h = Hasher::new(&AuthConfig::default(), None)
            .await
            .expect("hasher");
        let phc = h
            .hash("correct horse battery staple".into())
            .await
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let v = h
            .verify("correct horse battery staple".into(), Some(phc.clone()))
            .await
            .expect("verify");
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        let v = h.verify("wrong".into(), Some(phc)).await.expect("verify");
        assert!(!v.ok);
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        let h = Hasher::new(&cheap(), None).await.expect("hasher");
        let v = h.verify("anything".into(), None).await.expect("verify");
        assert_eq!(
            v,
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn parameter_change_asks_for_rehash() {
        let old = Hasher::new(&cheap(), None).await.expect("hasher");
        let phc = old.hash("pw pw pw pw pw pw".into()).await.expect("hash");
        let new = Hasher::new(
            &AuthConfig {
                argon2_memory_kib: 128,
                ..cheap()
            },
            None,
        )
        .await
        .expect("hasher");
        let v = new
            .verify("pw pw pw pw pw pw".into(), Some(phc))
            .await
            .expect("verify");
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn pepper_is_required_to_verify() {
        let pepper = b"0123456789abcdef-pepper".to_vec();
        let with = Hasher::new(&cheap(), Some(pepper)).await.expect("hasher");
        let phc = with
            .hash("some long passphrase".into())
            .await
            .expect("hash");
        let without = Hasher::new(&cheap(), None).await.expect("hasher");
        let v = without
            .verify("some long passphrase".into(), Some(phc.clone()))
            .await
            .expect("verify");
        assert!(!v.ok, "a stolen hash without the pepper verifies nothing");
        assert!(
            with.verify("some long passphrase".into(), Some(phc))
                .await
                .expect("v")
                .ok
        );
    }

    #[tokio::test]
    async fn saturation_sheds_instead_of_queueing() {
        let h = Arc::new(Hasher::new(&cheap(), None).await.expect("hasher"));
        // Take every admission permit (1 running + 1 queued) and check the next is refused.
        let a = h
            .admission
            .clone()
            .try_acquire_many_owned(2)
            .expect("permits");
        assert!(matches!(h.hash("x".repeat(20)).await, Err(HashError::Busy)));
        drop(a);
        assert!(h.hash("x".repeat(20)).await.is_ok());
    }

    #[tokio::test]
    async fn a_place_is_refused_at_once_and_one_given_back_unused_is_free_again() {
        let h = Hasher::new(&cheap(), None).await.expect("hasher");
        // One running and one waiting: the third is refused before any work is done.
        let first = h.admit(false).expect("first");
        let second = h.admit(false).expect("second");
        assert!(matches!(h.admit(false), Err(HashError::Busy)));
        drop(first);
        let third = h.admit(false).expect("a dropped place is free again");
        let phc = h.dummy.to_string();
        assert!(
            !second
                .verify("z".repeat(20), Some(phc))
                .await
                .expect("v")
                .ok
        );
        drop(third);
        assert_eq!(h.available(), 2);
    }

    #[tokio::test]
    async fn known_logins_take_the_reserved_slot_when_the_pool_is_full() {
        let cfg = AuthConfig {
            hash_reserved_for_known: 1,
            ..cheap()
        };
        let h = Arc::new(Hasher::new(&cfg, None).await.expect("hasher"));
        let phc = h.hash("y".repeat(20)).await.expect("hash");
        let full = h
            .admission
            .clone()
            .try_acquire_many_owned(2)
            .expect("permits");
        assert!(matches!(h.admit(false), Err(HashError::Busy)));
        let known = h.admit(true).expect("reserved slot");
        assert!(known.verify("y".repeat(20), Some(phc)).await.expect("v").ok);
        // With the reserved slot taken too, a known login is shed like any other.
        let reserved = h.reserved.clone().try_acquire_owned().expect("reserved");
        assert!(matches!(h.admit(true), Err(HashError::Busy)));
        drop((full, reserved));
    }

    #[test]
    fn short_peppers_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("pepper");
        std::fs::write(&p, "short\n").expect("w");
        assert!(read_pepper(&p).expect_err("short").contains("at least 16"));
        std::fs::write(&p, "0123456789abcdef0123\n").expect("w");
        assert_eq!(read_pepper(&p).expect("ok").len(), 20);
    }
}
