//! A keyed rate limiter whose memory stays bounded: `maintain` prunes keys whose budget has
//! refilled, and resets the whole limiter when it still tracks more keys than the cap (budgets
//! are forgotten, memory never grows). A limiter built [`Limiter::capped`] also looks at its
//! key count every [`CHECKS_PER_LOOK`] checks and maintains itself at once when it is over
//! its cap, so that a flood of new keys (a million clients named by a trusted proxy) cannot
//! grow it between two periodic maintenance ticks: it never holds more than the cap plus
//! [`CHECKS_PER_LOOK`] keys. Every per-client, per-user and log-gating limit in the server is
//! one of these.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// How many checks pass between two looks at a capped limiter's key count: it holds at most
/// its cap plus this many keys.
pub const CHECKS_PER_LOOK: usize = 1024;

/// A non-zero count from a configured value (values are validated to be at least 1).
pub fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v.max(1)).unwrap_or(NonZeroU32::MIN)
}

type Keyed<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A bounded keyed limiter, on the real clock unless built [`Limiter::with_clock`] (the
/// property tests drive it with governor's fake clock).
#[derive(Debug)]
pub struct Limiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    quota: Quota,
    clock: C,
    inner: RwLock<Arc<Keyed<K, C>>>,
    /// Keys past which a check maintains the limiter at once (none: only `maintain` does).
    cap: Option<usize>,
    checks: AtomicUsize,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter allowing `quota` per key.
    pub fn new(quota: Quota) -> Self {
        Limiter::with_clock(quota, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> Limiter<K, C> {
    /// A limiter allowing `quota` per key, timed by `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        let inner = RwLock::new(Arc::new(Self::fresh(quota, &clock)));
        Limiter {
            quota,
            clock,
            inner,
            cap: None,
            checks: AtomicUsize::new(0),
        }
    }

    /// The same limiter, holding at most `cap` plus [`CHECKS_PER_LOOK`] keys at any time.
    pub fn capped(mut self, cap: usize) -> Self {
        self.cap = Some(cap);
        self
    }

    fn fresh(quota: Quota, clock: &C) -> Keyed<K, C> {
        RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone())
    }

    fn current(&self) -> Arc<Keyed<K, C>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `Ok` if `key` may proceed now, else the seconds to wait (at least 1).
    pub fn check(&self, key: &K) -> Result<(), u32> {
        self.check_n(key, NonZeroU32::MIN)
    }

    /// [`Limiter::check`] for `n` cells at once: all or none are taken. More than the burst
    /// never fits: `Err(u32::MAX)`.
    pub fn check_n(&self, key: &K, n: NonZeroU32) -> Result<(), u32> {
        let lim = self.current();
        let verdict = match lim.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(nu)) => {
                let wait = nu.wait_time_from(self.clock.now());
                Err(u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX))
            }
            Err(_insufficient) => Err(u32::MAX),
        };
        if let Some(cap) = self.cap
            && self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_LOOK == CHECKS_PER_LOOK - 1
            && lim.len() > cap
        {
            self.maintain(cap);
        }
        verdict
    }

    /// Prunes refilled keys; resets the limiter past `cap` keys (and says so).
    pub fn maintain(&self, cap: usize) -> bool {
        let lim = self.current();
        lim.retain_recent();
        let reset = lim.len() > cap;
        if reset {
            tracing::warn!(keys = lim.len(), cap, "limiter state over its cap; reset");
            *self.inner.write().unwrap_or_else(|e| e.into_inner()) =
                Arc::new(Self::fresh(self.quota, &self.clock));
        }
        reset
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood of new keys between two periodic maintenance ticks: the capped limiter never
    /// holds more than its cap plus one look's worth; an uncapped one holds every key.
    #[test]
    fn a_capped_limiter_stays_bounded_without_maintenance() {
        let quota = Quota::per_minute(nz(1));
        let capped: Limiter<u32> = Limiter::new(quota).capped(100);
        let uncapped: Limiter<u32> = Limiter::new(quota);
        let mut most = 0;
        for k in 0..10_000 {
            assert!(capped.check(&k).is_ok());
            assert!(uncapped.check(&k).is_ok());
            most = most.max(capped.len());
        }
        assert!(most <= 100 + CHECKS_PER_LOOK, "held {most} keys");
        assert_eq!(uncapped.len(), 10_000);
    }

    #[test]
    fn several_cells_are_taken_all_or_none() {
        let lim: Limiter<u32> = Limiter::new(Quota::per_minute(nz(1)).allow_burst(nz(10)));
        assert!(lim.check_n(&1, nz(6)).is_ok());
        assert!(lim.check_n(&1, nz(6)).is_err(), "4 left: 6 do not fit");
        assert!(lim.check_n(&1, nz(4)).is_ok(), "and none were taken");
        assert_eq!(lim.check_n(&2, nz(11)), Err(u32::MAX), "past the burst");
        assert!(lim.check(&2).is_ok(), "a refusal takes nothing");
    }
}
