//! Abuse costs the abuser: a client that keeps exceeding its request budgets is sent to cool
//! down, and while it cools down its new connections are refused right after `accept`, before
//! any TLS work (a reset, as for the connection caps), and its requests on connections it
//! already has get 429 and `Connection: close` before any limiter or handler work.
//!
//! A strike is one refusal for the client's own excess: its connection cap or its rate of new
//! connections, its request rate, its login or registration budget, its share of body
//! reading, or an HTTP/2 connection it broke (a protocol error or its control-frame budget).
//! A refusal that ends a connection we had already paid a TLS handshake for (the login,
//! registration and body-share refusals close it; a broken HTTP/2 connection is ended) weighs
//! [`CLOSING_STRIKE`] strikes, because the client's next attempt costs us another handshake:
//! a flood held to one attempt per handshake by those closes, within its handshake rate
//! (`limits.handshake_rate_per_client`, 10/s), never outran the plain count's refill (100 per
//! 10 s) and was never cooled down. `limits.cooldown_after` strikes are free
//! and they are forgiven at that many per `limits.cooldown_window`; one more within the window
//! starts a cool-down of `limits.cooldown`. A legitimate client that overruns its budget now
//! and then and honours Retry-After never gets there; a flood that ignores the 429s gets
//! there within a second.
//!
//! Keyed per client ([`ClientKey`]: IPv4 /32, IPv6 /64) and bounded: strike state lives in a
//! pruned [`Limiter`], cooling clients in [`Deadlines`] bounded by `limits.max_tracked_clients`
//! (forgetting, never growing).

use std::time::Duration;

use governor::Quota;
use tokio::time::Instant;

use crate::config::LimitsConfig;
use crate::limits::client_key::ClientKey;
use crate::limits::deadlines::Deadlines;
use crate::limits::limiter::{Limiter, nz};
use crate::metrics::Reason;

/// How many strikes a refusal for a connection-ending excess counts as.
pub const CLOSING_STRIKE: u32 = 10;

/// How many strikes a refusal for `reason` counts as: 0 for shared capacity and faults that
/// are not the client's own excess, [`CLOSING_STRIKE`] where the refusal ends a connection
/// whose handshake we paid for, 1 for the others.
pub fn strike_weight(reason: Reason) -> u32 {
    match reason {
        Reason::ClientConnectionCap | Reason::HandshakeRate | Reason::RequestRate => 1,
        Reason::LoginRate
        | Reason::RegistrationRate
        | Reason::BodyReads
        | Reason::H2ProtocolError
        | Reason::H2ControlFlood => CLOSING_STRIKE,
        _ => 0,
    }
}

/// Whether a refusal for `reason` counts as a strike: a client's excess over its own budgets.
pub fn is_strike(reason: Reason) -> bool {
    strike_weight(reason) > 0
}

/// Strikes per client, and the clients cooling down.
#[derive(Debug)]
pub struct Cooldown {
    strikes: Limiter<ClientKey>,
    window: Duration,
    length: Duration,
    cooling: Deadlines,
}

impl Cooldown {
    /// `after` free strikes, forgiven at `after` per `window`; then `length` of cool-down.
    pub fn new(after: u32, window: Duration, length: Duration) -> Self {
        let per = window / after.max(1);
        let quota = Quota::with_period(per)
            .unwrap_or_else(|| Quota::per_second(nz(after)))
            .allow_burst(nz(after));
        Cooldown {
            strikes: Limiter::new(quota),
            window,
            length,
            cooling: Deadlines::new("cool-down"),
        }
    }

    /// The same cool-down, remembering at most about `cap` clients at any time (strikes and
    /// cool-downs each), not only after a periodic `maintain`.
    pub fn capped(mut self, cap: usize) -> Self {
        self.strikes = self.strikes.capped(cap);
        self.cooling = self.cooling.capped(cap);
        self
    }

    /// The cool-down `limits` configure.
    pub fn from_config(l: &LimitsConfig) -> Self {
        Cooldown::new(l.cooldown_after, l.cooldown_window, l.cooldown).capped(l.max_tracked_clients)
    }

    /// Counts `weight` strikes ([`strike_weight`]) against `key` at once; `true` when they
    /// start a cool-down now.
    pub fn strike(&self, key: ClientKey, weight: u32) -> bool {
        let Some(n) = std::num::NonZeroU32::new(weight) else {
            return false;
        };
        if self.length.is_zero() || self.strikes.check_n(&key, n).is_ok() {
            return false;
        }
        // Already cooling: the cool-down runs from the latest strike past the budget.
        self.cooling.set(key, Instant::now() + self.length)
    }

    /// The window strikes are counted in.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How long `key`'s cool-down still runs, if it is cooling down.
    pub fn cooling_for(&self, key: ClientKey) -> Option<Duration> {
        self.cooling.left(key)
    }

    /// Drops finished cool-downs and strike state; clears past `cap` clients.
    pub fn maintain(&self, cap: usize) {
        self.strikes.maintain(cap);
        self.cooling.maintain(cap);
    }

    /// Clients cooling down now (expired entries not yet pruned are not counted).
    pub fn cooling(&self) -> usize {
        self.cooling.running()
    }

    /// Keys tracked (strike state and cooling clients).
    pub fn tracked(&self) -> usize {
        self.strikes.len() + self.cooling.len()
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
    async fn strikes_past_the_budget_start_a_cool_down_that_ends() {
        let c = Cooldown::new(3, Duration::from_secs(10), Duration::from_secs(30));
        for _ in 0..3 {
            assert!(!c.strike(key("10.0.0.1"), 1), "free strikes");
        }
        assert!(c.cooling_for(key("10.0.0.1")).is_none());
        assert!(c.strike(key("10.0.0.1"), 1), "one past the budget");
        assert!(c.cooling_for(key("10.0.0.1")).is_some());
        assert!(
            c.cooling_for(key("10.0.0.2")).is_none(),
            "others are not affected"
        );
        assert!(
            !c.strike(key("10.0.0.1"), 1),
            "already cooling: not a new cool-down"
        );
        assert_eq!(c.cooling(), 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(
            c.cooling_for(key("10.0.0.1")).is_none(),
            "over after its length"
        );
        c.maintain(100);
        assert_eq!(c.cooling(), 0);
    }

    #[test]
    fn closing_refusals_weigh_more() {
        let c = Cooldown::new(100, Duration::from_secs(10), Duration::from_secs(30));
        let weight = strike_weight(Reason::LoginRate);
        assert_eq!(weight, CLOSING_STRIKE);
        // Ten connection-ending refusals use up the free hundred; the eleventh cools it down,
        // where plain ones take a hundred and one.
        for n in 0..10 {
            assert!(!c.strike(key("10.0.0.1"), weight), "refusal {n} is free");
            assert!(!c.strike(key("10.0.0.2"), 1));
        }
        assert!(c.strike(key("10.0.0.1"), weight), "the eleventh");
        assert!(
            c.cooling_for(key("10.0.0.2")).is_none(),
            "ten plain strikes"
        );
        assert_eq!(strike_weight(Reason::H2ProtocolError), CLOSING_STRIKE);
        assert_eq!(strike_weight(Reason::H2ControlFlood), CLOSING_STRIKE);
        assert_eq!(strike_weight(Reason::RequestRate), 1);
        assert!(!c.strike(key("10.0.0.3"), strike_weight(Reason::InFlight)));
    }

    #[test]
    fn only_a_clients_own_excess_is_a_strike() {
        assert!(is_strike(Reason::RequestRate));
        assert!(is_strike(Reason::BodyReads));
        assert!(is_strike(Reason::HandshakeRate));
        // Shared capacity and protocol faults are not the client's budget.
        assert!(!is_strike(Reason::InFlight));
        assert!(!is_strike(Reason::UserRate));
        assert!(!is_strike(Reason::ConnectionCap));
        assert!(!is_strike(Reason::HandshakesBusy));
        assert!(!is_strike(Reason::CoolingDown));
    }

    #[test]
    fn a_zero_length_turns_it_off() {
        let c = Cooldown::new(1, Duration::from_secs(10), Duration::ZERO);
        for _ in 0..10 {
            assert!(!c.strike(key("10.0.0.1"), 1));
        }
        assert!(c.cooling_for(key("10.0.0.1")).is_none());
    }

    #[test]
    fn state_stays_bounded() {
        let c = Cooldown::new(1, Duration::from_secs(10), Duration::from_secs(60));
        for i in 0..1000u32 {
            let k = key(&format!("2001:db8:{:x}::1", i));
            c.strike(k, 1);
            c.strike(k, 1);
        }
        assert_eq!(c.cooling(), 1000);
        c.maintain(100);
        assert!(c.tracked() <= 200, "{}", c.tracked());
    }
}
