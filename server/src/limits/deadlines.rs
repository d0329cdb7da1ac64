//! A deadline per client, bounded: the one map behind the cool-down ([`super::cooldown`]) and
//! good standing ([`super::standing`]). A client's entry says until when something about it
//! holds; ended entries are pruned, and past the cap every entry is forgotten (never growing;
//! a flooder forgotten earns its entry back at its next refusal).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::client_key::ClientKey;

/// Until when something holds, per client.
#[derive(Debug)]
pub struct Deadlines {
    /// What an entry means, for the log line when the map is reset past its cap.
    what: &'static str,
    /// Clients remembered at most between two `maintain`s (none: only `maintain` bounds them).
    cap: Option<usize>,
    until: Mutex<HashMap<ClientKey, Instant>>,
}

impl Deadlines {
    /// An empty map whose entries mean `what` (for its log line).
    pub fn new(what: &'static str) -> Self {
        Deadlines {
            what,
            cap: None,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// The same map, remembering at most about `cap` clients at any time.
    pub fn capped(mut self, cap: usize) -> Self {
        self.cap = Some(cap.max(1));
        self
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ClientKey, Instant>> {
        self.until.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `key`'s deadline is now `until`; `true` when it had none running before.
    pub fn set(&self, key: ClientKey, until: Instant) -> bool {
        let mut map = self.lock();
        if let Some(cap) = self.cap
            && map.len() >= cap
            && !map.contains_key(&key)
        {
            // Room for one more within the cap.
            self.prune(&mut map, cap - 1);
        }
        match map.insert(key, until) {
            Some(previous) => previous <= Instant::now(),
            None => true,
        }
    }

    /// How long `key`'s deadline still runs, if it runs.
    pub fn left(&self, key: ClientKey) -> Option<Duration> {
        let left = self
            .lock()
            .get(&key)?
            .saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Drops ended entries; forgets every client past `most`.
    pub fn maintain(&self, most: usize) {
        self.prune(&mut self.lock(), most);
    }

    /// Clients whose deadline runs now (ended entries not yet pruned are not counted).
    pub fn running(&self) -> usize {
        let now = Instant::now();
        self.lock().values().filter(|until| **until > now).count()
    }

    /// Entries held (ended ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn prune(&self, map: &mut HashMap<ClientKey, Instant>, most: usize) {
        let now = Instant::now();
        map.retain(|_, until| *until > now);
        if map.len() > most {
            tracing::warn!(
                clients = map.len(),
                cap = most,
                state = self.what,
                "per-client state over its cap; reset"
            );
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(i: u32) -> ClientKey {
        ClientKey::from(IpAddr::from(Ipv4Addr::from(0x0a00_0000 + i)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_runs_for_its_client_until_it_ends() {
        let d = Deadlines::new("test");
        assert!(d.set(key(1), Instant::now() + Duration::from_secs(10)));
        assert!(
            !d.set(key(1), Instant::now() + Duration::from_secs(10)),
            "already running"
        );
        assert!(d.left(key(1)).is_some());
        assert!(d.left(key(2)).is_none(), "others are not affected");
        assert_eq!(d.running(), 1);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(d.left(key(1)).is_none(), "ended");
        assert_eq!((d.running(), d.len()), (0, 1), "ended, not yet pruned");
        assert!(
            d.set(key(1), Instant::now() + Duration::from_secs(1)),
            "a new deadline after the old one ended"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        d.maintain(100);
        assert!(d.is_empty(), "ended entries are pruned");
    }

    #[tokio::test(start_paused = true)]
    async fn entries_never_grow_past_the_cap() {
        let d = Deadlines::new("test").capped(50);
        for i in 0..1_000 {
            d.set(key(i), Instant::now() + Duration::from_secs(10));
            assert!(d.len() <= 50, "{}", d.len());
        }
        d.maintain(10);
        assert!(d.len() <= 10);
    }
}
