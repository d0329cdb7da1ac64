//! Which clients are out of good standing: refused for their own excess (a strike towards the
//! cool-down, a login in backoff, an HTTP/2 connection they broke) or with a connection that
//! carried no request, within the last window. Their new connections are served in the heavy
//! lane ([`crate::net::lanes`]) whatever they hold, so a flood from one connection per address
//! (a login flood, a handshake flood) leaves the standing lane once it has shown itself.
//! Nothing is refused for it.
//!
//! Keyed per client ([`ClientKey`]) and bounded by [`Deadlines`].

use std::time::Duration;

use tokio::time::Instant;

use crate::limits::client_key::ClientKey;
use crate::limits::deadlines::Deadlines;

/// Clients refused within the last `window`.
#[derive(Debug)]
pub struct Standing {
    window: Duration,
    cap: usize,
    marked: Deadlines,
}

impl Standing {
    /// Marks last `window`; at most about `cap` clients are remembered.
    pub fn new(window: Duration, cap: usize) -> Self {
        Standing {
            window,
            cap,
            marked: Deadlines::new("good standing").capped(cap),
        }
    }

    /// `key` was refused now.
    pub fn mark(&self, key: ClientKey) {
        self.marked.set(key, Instant::now() + self.window);
    }

    /// Whether `key` was refused within the window.
    pub fn is_marked(&self, key: ClientKey) -> bool {
        self.marked.left(key).is_some()
    }

    /// Drops expired marks; forgets every mark past the cap.
    pub fn maintain(&self) {
        self.marked.maintain(self.cap);
    }

    /// Clients marked (expired marks not yet pruned included).
    pub fn tracked(&self) -> usize {
        self.marked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(ip: &str) -> ClientKey {
        ClientKey::from(ip.parse::<IpAddr>().expect("ip"))
    }

    #[tokio::test(start_paused = true)]
    async fn a_mark_lasts_its_window_for_its_client_only() {
        let s = Standing::new(Duration::from_secs(10), 100);
        assert!(!s.is_marked(key("10.0.0.1")));
        s.mark(key("10.0.0.1"));
        assert!(s.is_marked(key("10.0.0.1")));
        assert!(!s.is_marked(key("10.0.0.2")));
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(s.is_marked(key("10.0.0.1")));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!s.is_marked(key("10.0.0.1")), "past the window");
        s.maintain();
        assert_eq!(s.tracked(), 0, "expired marks are pruned");
    }

    #[tokio::test(start_paused = true)]
    async fn marks_never_grow_past_the_cap() {
        let s = Standing::new(Duration::from_secs(10), 50);
        for i in 0..1_000u32 {
            s.mark(ClientKey::from(IpAddr::from(std::net::Ipv4Addr::from(
                0x0a00_0000 + i,
            ))));
            assert!(s.tracked() <= 50);
        }
    }
}
