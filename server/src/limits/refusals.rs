//! Every refusal, at any layer, goes through here: it is counted by reason in [`Metrics`] and
//! logged at most once per client, reason and `log_interval`, never once per packet. A refusal
//! for the client's own excess is also a strike towards its cool-down ([`Cooldown`]), and takes
//! the client out of good standing for the cool-down's window ([`Standing`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::Quota;

use crate::limits::client_key::ClientKey;
use crate::limits::cooldown::{self, Cooldown};
use crate::limits::limiter::{Limiter, nz};
use crate::limits::standing::Standing;
use crate::metrics::{Metrics, Reason};

/// Counts and rate-limited logging of refusals.
#[derive(Debug)]
pub struct Refusals {
    metrics: Arc<Metrics>,
    cap: usize,
    gate: Limiter<(ClientKey, Reason)>,
    cooldown: Cooldown,
    standing: Standing,
}

impl Refusals {
    /// `cap` bounds the number of (client, reason) pairs remembered for log gating, and the
    /// clients remembered by `cooldown`.
    pub fn new(
        metrics: Arc<Metrics>,
        interval: Duration,
        cap: usize,
        cooldown: Cooldown,
    ) -> Arc<Self> {
        let quota = Quota::with_period(interval).unwrap_or_else(|| Quota::per_second(nz(1)));
        Arc::new(Refusals {
            metrics,
            cap,
            gate: Limiter::new(quota).capped(cap),
            standing: Standing::new(cooldown.window(), cap),
            cooldown,
        })
    }

    /// Counts a refusal of `ip` and logs it unless it was logged within the interval.
    pub fn refused(&self, ip: IpAddr, reason: Reason) {
        self.metrics.reject(reason);
        let key = ClientKey::from(ip);
        if self.gate.check(&(key, reason)).is_ok() {
            tracing::warn!(client = %key, reason = reason.as_str(), "refused");
        }
        if cooldown::is_strike(reason) || reason == Reason::LoginBackoff {
            self.standing.mark(key);
        }
        if self.cooldown.strike(key, cooldown::strike_weight(reason)) {
            self.metrics.cooled_down();
            tracing::warn!(client = %key, "cooling down: its new connections are refused");
        }
    }

    /// `ip`'s connection cost us a full TLS handshake and ended without carrying a request
    /// (a handshake flood; a slow client cut at the idle timeout): counted, and the client is
    /// out of good standing for the cool-down's window, so that its next connections are
    /// served in the heavy lane. Nothing is refused for it and it is no strike: a browser's
    /// unused preconnect ends the same way.
    pub fn carried_nothing(&self, ip: IpAddr) {
        self.metrics.carried_nothing();
        self.standing.mark(ClientKey::from(ip));
    }

    /// Whether `ip` was refused for its own excess, or had a connection that carried nothing,
    /// within the cool-down's window.
    pub fn out_of_standing(&self, ip: IpAddr) -> bool {
        self.standing.is_marked(ClientKey::from(ip))
    }

    /// How long `ip`'s cool-down still runs, if it is cooling down.
    pub fn cooling_for(&self, ip: IpAddr) -> Option<Duration> {
        self.cooldown.cooling_for(ClientKey::from(ip))
    }

    /// Clients cooling down now.
    pub fn cooling(&self) -> usize {
        self.cooldown.cooling()
    }

    /// Prunes the log gate and resets it past its cap.
    pub fn maintain(&self) {
        self.gate.maintain(self.cap);
        self.cooldown.maintain(self.cap);
        self.standing.maintain();
    }

    /// Pairs tracked by the log gate.
    pub fn tracked(&self) -> usize {
        self.gate.len() + self.cooldown.tracked() + self.standing.tracked()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}
