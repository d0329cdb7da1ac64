//! Every refusal, at any layer, goes through here: it is counted by reason in [`Metrics`] and
//! logged at most once per client, reason and `log_interval`, never once per packet.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::metrics::{Metrics, Reason};
use crate::net::client_key::ClientKey;

type Gate = DefaultKeyedRateLimiter<(ClientKey, Reason)>;

/// Counts and rate-limited logging of refusals.
#[derive(Debug)]
pub struct Refusals {
    metrics: Arc<Metrics>,
    interval: Duration,
    cap: usize,
    gate: RwLock<Arc<Gate>>,
}

fn gate(interval: Duration) -> Arc<Gate> {
    let q = Quota::with_period(interval)
        .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN));
    Arc::new(RateLimiter::keyed(q))
}

impl Refusals {
    /// `cap` bounds the number of (client, reason) pairs remembered for log gating.
    pub fn new(metrics: Arc<Metrics>, interval: Duration, cap: usize) -> Arc<Self> {
        Arc::new(Refusals {
            metrics,
            interval,
            cap,
            gate: RwLock::new(gate(interval)),
        })
    }

    fn current(&self) -> Arc<Gate> {
        self.gate.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Counts a refusal of `ip` and logs it unless it was logged within the interval.
    pub fn refused(&self, ip: IpAddr, reason: Reason) {
        self.metrics.reject(reason);
        let key = ClientKey::from(ip);
        if self.current().check_key(&(key, reason)).is_ok() {
            tracing::warn!(client = %key, reason = reason.as_str(), "refused");
        }
    }

    /// Prunes the log gate and resets it past its cap.
    pub fn maintain(&self) {
        let g = self.current();
        g.retain_recent();
        if g.len() > self.cap {
            *self.gate.write().unwrap_or_else(|e| e.into_inner()) = gate(self.interval);
        }
    }

    /// Pairs tracked by the log gate.
    pub fn tracked(&self) -> usize {
        self.current().len()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}
