//! A keyed rate limiter whose memory stays bounded: `maintain` prunes keys whose budget has
//! refilled, and resets the whole limiter when it still tracks more keys than the cap (budgets
//! are forgotten, memory never grows). Every per-client, per-user and log-gating limit in the
//! server is one of these.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A non-zero count from a configured value (values are validated to be at least 1).
pub fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v.max(1)).unwrap_or(NonZeroU32::MIN)
}

/// A bounded keyed limiter.
#[derive(Debug)]
pub struct Limiter<K: Hash + Eq + Clone> {
    quota: Quota,
    inner: RwLock<Arc<DefaultKeyedRateLimiter<K>>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter allowing `quota` per key.
    pub fn new(quota: Quota) -> Self {
        Limiter {
            quota,
            inner: RwLock::new(Arc::new(RateLimiter::keyed(quota))),
        }
    }

    fn current(&self) -> Arc<DefaultKeyedRateLimiter<K>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `Ok` if `key` may proceed now, else the seconds to wait (at least 1).
    pub fn check(&self, key: &K) -> Result<(), u32> {
        self.current().check_key(key).map_err(|nu| {
            let wait = nu.wait_time_from(DefaultClock::default().now());
            u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX)
        })
    }

    /// Prunes refilled keys; resets the limiter past `cap` keys.
    pub fn maintain(&self, cap: usize) {
        let lim = self.current();
        lim.retain_recent();
        if lim.len() > cap {
            tracing::warn!(keys = lim.len(), cap, "limiter state over its cap; reset");
            *self.inner.write().unwrap_or_else(|e| e.into_inner()) =
                Arc::new(RateLimiter::keyed(self.quota));
        }
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
