//! The failed-login backoff policy: the first `free` failures cost nothing; after that each
//! failure doubles the wait before the next attempt, from `base` up to `max`; at `lock_after`
//! consecutive failures (at most 100) the account is locked for `lock_cooldown`. A success
//! clears the record. While an account is throttled, attempts are refused with 429 before any
//! password hashing, whoever sends them and from wherever.

use std::time::Duration;

use crate::config::LimitsConfig;
use crate::store::login_throttle::State;

/// The policy, from `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    free: i64,
    base: Duration,
    max: Duration,
    lock_after: i64,
    lock_cooldown: Duration,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Backoff {
    /// From the configuration.
    pub fn from_config(l: &LimitsConfig) -> Self {
        Backoff {
            free: i64::from(l.login_free_failures),
            base: l.login_backoff_base,
            max: l.login_backoff_max,
            lock_after: i64::from(l.login_lock_after),
            lock_cooldown: l.login_lock_cooldown,
        }
    }

    /// The wait imposed after the `failures`-th consecutive failure.
    pub fn delay_after(&self, failures: i64) -> Duration {
        if failures <= self.free {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(failures - self.free - 1)
            .unwrap_or(u32::MAX)
            .min(30);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// What to store after the `failures`-th failure at `now`: the next allowed attempt, and
    /// the lock when the threshold is reached (`Some` exactly when it is).
    pub fn after_failure(&self, failures: i64, now: i64) -> (i64, Option<i64>) {
        let next = now.saturating_add(micros(self.delay_after(failures)));
        let lock =
            (failures >= self.lock_after).then(|| now.saturating_add(micros(self.lock_cooldown)));
        (next, lock)
    }

    /// Whether `failures` is the one that locks the account (for the audit trail).
    pub fn locks_at(&self, failures: i64) -> bool {
        failures == self.lock_after
    }

    /// Until when attempts are refused (Unix microseconds); in the past when allowed.
    pub fn blocked_until(state: &State) -> i64 {
        state
            .next_attempt_at
            .max(state.locked_until.unwrap_or(i64::MIN))
    }

    /// How long after their last update records can be forgotten.
    pub fn retention(&self) -> Duration {
        self.max + self.lock_cooldown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Backoff {
        Backoff::from_config(&LimitsConfig {
            login_free_failures: 3,
            login_backoff_base: Duration::from_secs(1),
            login_backoff_max: Duration::from_secs(60),
            login_lock_after: 10,
            login_lock_cooldown: Duration::from_secs(3600),
            ..LimitsConfig::default()
        })
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let p = policy();
        let d: Vec<u64> = (1..=12).map(|n| p.delay_after(n).as_secs()).collect();
        assert_eq!(d, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.delay_after(i64::MAX).as_secs(), 60, "no overflow");
    }

    #[test]
    fn the_lock_comes_at_the_threshold() {
        let p = policy();
        assert_eq!(p.after_failure(9, 0).1, None);
        assert_eq!(p.after_failure(10, 0).1, Some(3_600_000_000));
        assert!(p.locks_at(10) && !p.locks_at(11));
        let s = State {
            failures: 10,
            next_attempt_at: 5,
            locked_until: Some(100),
        };
        assert_eq!(Backoff::blocked_until(&s), 100);
    }
}
