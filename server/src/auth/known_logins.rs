//! Where a user has logged in before: (client, username) pairs that gave the right password
//! within `auth.known_login_ttl`, kept in memory under a hard cap. A login from such a pair may
//! use the hashing slots reserved for them (`auth.hash_reserved_for_known`), so that a login
//! flood from many addresses, which fills the shared pool and has logins shed with 503, does
//! not lock out users who log in from where they did before (the server-side form of
//! OWASP's "known device" lane).
//!
//! Being known gives an attacker nothing against other accounts: the lane is per account, and
//! failures from a known client still count toward that account's backoff. The state is per
//! instance and lost at restart; users then take the shared pool, as everyone does without
//! the lane.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::client_key::ClientKey;

/// The (client, username) pairs of recent successful logins.
#[derive(Debug)]
pub struct KnownLogins {
    seen: Mutex<HashMap<(ClientKey, String), Instant>>,
    ttl: Duration,
    cap: usize,
}

impl KnownLogins {
    /// Pairs are remembered for `ttl`, at most `cap` at once.
    pub fn new(ttl: Duration, cap: usize) -> Self {
        KnownLogins {
            seen: Mutex::new(HashMap::new()),
            ttl,
            cap,
        }
    }

    /// Whether `username` logged in successfully from `ip`'s network within the TTL.
    pub fn contains(&self, ip: IpAddr, username: &str) -> bool {
        let key = (ClientKey::from(ip), username.to_string());
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&key).is_some_and(|at| at.elapsed() < self.ttl)
    }

    /// Notes a successful login. When the cap is reached, expired pairs are dropped first;
    /// if none has expired, the pair is not remembered (the oldest are not evicted for it, so
    /// that a burst of new pairs cannot push out the established ones).
    pub fn remember(&self, ip: IpAddr, username: &str) {
        let key = (ClientKey::from(ip), username.to_string());
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= self.cap && !seen.contains_key(&key) {
            let ttl = self.ttl;
            seen.retain(|_, at| at.elapsed() < ttl);
            if seen.len() >= self.cap {
                return;
            }
        }
        seen.insert(key, Instant::now());
    }

    /// Pairs held now.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[tokio::test(start_paused = true)]
    async fn a_pair_is_known_for_its_ttl_and_only_for_that_account_and_network() {
        let k = KnownLogins::new(Duration::from_secs(60), 10);
        k.remember(ip("203.0.113.7"), "alice");
        assert!(k.contains(ip("203.0.113.7"), "alice"));
        assert!(!k.contains(ip("203.0.113.7"), "bob"));
        assert!(!k.contains(ip("203.0.113.8"), "alice"));
        // An IPv6 client is its /64.
        k.remember(ip("2001:db8:1:2::10"), "carol");
        assert!(k.contains(ip("2001:db8:1:2:ffff::1"), "carol"));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!k.contains(ip("203.0.113.7"), "alice"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_holds_and_makes_room_only_from_expired_pairs() {
        let k = KnownLogins::new(Duration::from_secs(60), 2);
        k.remember(ip("198.51.100.1"), "a");
        k.remember(ip("198.51.100.2"), "b");
        k.remember(ip("198.51.100.3"), "c");
        assert_eq!(k.len(), 2);
        assert!(!k.contains(ip("198.51.100.3"), "c"));
        assert!(k.contains(ip("198.51.100.1"), "a"));
        tokio::time::advance(Duration::from_secs(61)).await;
        k.remember(ip("198.51.100.3"), "c");
        assert!(k.contains(ip("198.51.100.3"), "c"));
        assert_eq!(k.len(), 1);
    }
}
