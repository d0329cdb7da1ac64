//! Connection admission, decided right after `accept` and before any TLS work, so that a
//! refused connection costs a hash lookup and a close:
//!
//! - a global cap on open connections;
//! - clients cooling down after repeated refusals ([`crate::limits::cooldown`]) are refused first;
//! - a per-client cap ([`ClientKey`]: IPv4 /32, IPv6 /64);
//! - a per-client rate of new connections (each one is a TLS handshake to pay for);
//! - a cap on handshakes in progress, taken once a complete ClientHello has arrived (the
//!   expensive part starts there) and held until the handshake ends. Waiting for the
//!   ClientHello costs a socket, not CPU, and is bounded by the caps above and the handshake
//!   deadline, so idle or stalled connections cannot take the slots legitimate clients need.
//!   When the cap is full a handshake waits for a slot, and a freed slot goes to the client
//!   holding the fewest ([`super::handshake_slots`]).
//!
//! Every refusal goes through [`Refusals`] (counted by reason, logged at most once per client,
//! reason and `log_interval`). Rate-limiter state is pruned periodically and hard-capped at
//! `max_tracked_clients` keys, checked on the way as well as periodically: past the cap it is
//! reset (forgetting budgets, never growing).

use std::net::IpAddr;
use std::sync::Arc;

use governor::Quota;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::handshake_slots::{HandshakeSlot, HandshakeSlots, Waiting};
use super::lanes::Lane;

use crate::config::LimitsConfig;
use crate::limits::client_key::ClientKey;
use crate::limits::client_slots::{ClientSlot, ClientSlots};
use crate::limits::limiter::{Limiter, nz};
use crate::limits::refusals::Refusals;
use crate::metrics::{Metrics, Reason};

/// The admission state shared by the accept loop and connection tasks.
#[derive(Debug)]
pub struct Admission {
    limits: LimitsConfig,
    global: Arc<Semaphore>,
    per_client: Arc<ClientSlots>,
    handshakes: Arc<HandshakeSlots>,
    handshake_rate: Limiter<ClientKey>,
    refusals: Arc<Refusals>,
}

/// Held by an admitted connection for its whole life.
#[derive(Debug)]
pub struct ConnPermit {
    _client: ClientSlot,
    _global: OwnedSemaphorePermit,
    lane: Lane,
    /// Whether its client was out of good standing when it was admitted.
    out_of_standing: bool,
}

impl ConnPermit {
    /// The lane the connection is served in: by how many its client already holds.
    pub fn lane(&self) -> Lane {
        self.lane
    }
}

/// A slot under the global connection cap, not yet tied to a client.
#[derive(Debug)]
pub struct GlobalPermit(OwnedSemaphorePermit);

fn handshake_quota(l: &LimitsConfig) -> Quota {
    Quota::per_second(nz(l.handshake_rate_per_client)).allow_burst(nz(l.handshake_burst_per_client))
}

impl Admission {
    /// Builds the gate from the configured limits.
    pub fn new(limits: &LimitsConfig, refusals: Arc<Refusals>) -> Arc<Self> {
        Arc::new(Admission {
            global: Arc::new(Semaphore::new(limits.max_connections)),
            per_client: ClientSlots::new(limits.max_connections_per_client as usize),
            handshakes: HandshakeSlots::new(limits.max_handshakes_in_progress),
            handshake_rate: Limiter::new(handshake_quota(limits))
                .capped(limits.max_tracked_clients),
            limits: limits.clone(),
            refusals,
        })
    }

    /// Decides on a new connection from `ip`: the global cap, then [`Admission::admit_client`].
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnPermit, Reason> {
        let global = self.admit_global()?;
        self.admit_client(ip, global)
    }

    /// A slot for the costly part of `ip`'s TLS handshake, once its ClientHello is in: now,
    /// or a place in line (await it under the handshake deadline), behind clients in good
    /// standing if it was out of it when `conn` was admitted.
    pub fn begin_handshake(&self, ip: IpAddr, conn: &ConnPermit) -> Result<HandshakeSlot, Waiting> {
        self.handshakes
            .try_take(ClientKey::from(ip), conn.out_of_standing)
    }

    /// Whether a connection from `peer` starts with a PROXY v2 header naming the real client
    /// (the peer is a trusted proxy and `limits.proxy_protocol` is on).
    pub fn expects_proxy_header(&self, peer: IpAddr) -> bool {
        self.limits.proxy_protocol
            && self
                .limits
                .trusted_proxies
                .iter()
                .any(|n| n.contains(&peer))
    }

    /// Takes a slot under the global cap; held while a proxied connection's header is read.
    pub fn admit_global(&self) -> Result<GlobalPermit, Reason> {
        self.global
            .clone()
            .try_acquire_owned()
            .map(GlobalPermit)
            .map_err(|_| Reason::ConnectionCap)
    }

    /// The per-client checks, for the client `ip` (the socket peer, or the client a trusted
    /// proxy named): its cool-down, its connection cap, then its handshake rate.
    pub fn admit_client(
        self: &Arc<Self>,
        ip: IpAddr,
        global: GlobalPermit,
    ) -> Result<ConnPermit, Reason> {
        if self.refusals.cooling_for(ip).is_some() {
            return Err(Reason::CoolingDown);
        }
        let key = ClientKey::from(ip);
        let Some(client) = self.per_client.take(key) else {
            return Err(Reason::ClientConnectionCap);
        };
        // From here dropping the permit gives both slots back.
        // Out of good standing (refused lately for its own excess): heavy, whatever it holds.
        let out_of_standing = self.refusals.out_of_standing(ip);
        let lane = if out_of_standing {
            Lane::Heavy
        } else {
            Lane::for_client(client.others(), self.limits.standing_connections_per_client)
        };
        let permit = ConnPermit {
            _client: client,
            _global: global.0,
            lane,
            out_of_standing,
        };
        if self.handshake_rate.check(&key).is_err() {
            return Err(Reason::HandshakeRate);
        }
        let lanes_on = self.limits.standing_connections_per_client > 0;
        self.refusals
            .metrics()
            .accept(lanes_on && lane == Lane::Heavy);
        Ok(permit)
    }

    /// Counts a refusal and logs it, at most once per client and reason per interval.
    pub fn refused(&self, ip: IpAddr, reason: Reason) {
        self.refusals.refused(ip, reason);
    }

    /// `ip`'s connection cost a full handshake and ended without a request.
    pub fn carried_nothing(&self, ip: IpAddr) {
        self.refusals.carried_nothing(ip);
    }

    /// Prunes limiter state and enforces the hard cap on tracked clients.
    pub fn maintain(&self) {
        self.handshake_rate
            .maintain(self.limits.max_tracked_clients);
        self.refusals.maintain();
    }

    /// Keys currently tracked by the rate limiters (for tests and metrics).
    pub fn tracked_clients(&self) -> usize {
        self.handshake_rate.len() + self.refusals.tracked()
    }

    /// Clients with at least one open connection.
    pub fn clients_connected(&self) -> usize {
        self.per_client.clients()
    }

    /// Clients cooling down now.
    pub fn clients_cooling_down(&self) -> usize {
        self.refusals.cooling()
    }

    /// Handshakes in progress.
    pub fn handshakes_in_progress(&self) -> usize {
        self.handshakes.busy()
    }

    /// Handshakes waiting for a slot.
    pub fn handshakes_waiting(&self) -> usize {
        self.handshakes.waiting()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.refusals.metrics()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> LimitsConfig {
        LimitsConfig {
            max_connections: 4,
            max_connections_per_client: 2,
            max_handshakes_in_progress: 3,
            handshake_rate_per_client: 1,
            handshake_burst_per_client: 100,
            max_tracked_clients: 50,
            log_interval: Duration::from_secs(10),
            ..LimitsConfig::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn refusals() -> Arc<Refusals> {
        Refusals::new(
            Arc::default(),
            Duration::from_secs(10),
            50,
            crate::limits::cooldown::Cooldown::from_config(&limits()),
        )
    }

    #[test]
    fn per_client_and_global_caps() {
        let a = Admission::new(&limits(), refusals());
        let c1 = a.admit(ip("10.0.0.1")).expect("first");
        let c2 = a.admit(ip("10.0.0.1")).expect("second");
        assert_eq!(
            a.admit(ip("10.0.0.1")).err(),
            Some(Reason::ClientConnectionCap)
        );
        let c3 = a.admit(ip("10.0.0.2")).expect("other client");
        let c4 = a.admit(ip("10.0.0.3")).expect("fourth overall");
        assert_eq!(a.admit(ip("10.0.0.4")).err(), Some(Reason::ConnectionCap));
        drop(c1);
        assert!(
            a.admit(ip("10.0.0.1")).is_ok(),
            "a closed connection frees its slots"
        );
        drop((c2, c3, c4));
    }

    #[tokio::test]
    async fn handshakes_in_progress_are_capped_until_they_end() {
        let a = Admission::new(
            &LimitsConfig {
                max_connections: 100,
                max_connections_per_client: 100,
                ..limits()
            },
            refusals(),
        );
        // Admitted connections take no handshake slot until their ClientHello is in.
        let conns: Vec<_> = (0..5)
            .map(|i| a.admit(ip(&format!("10.1.0.{i}"))).expect("ok"))
            .collect();
        assert_eq!(a.handshakes_in_progress(), 0);
        let mut held: Vec<_> = (0..3)
            .map(|i| {
                a.begin_handshake(ip(&format!("10.1.0.{i}")), &conns[i])
                    .expect("slot")
            })
            .collect();
        assert_eq!(a.handshakes_in_progress(), 3);
        let waiting = a
            .begin_handshake(ip("10.1.0.4"), &conns[4])
            .expect_err("full: waits");
        assert_eq!(a.handshakes_waiting(), 1);
        held.pop();
        assert!(
            waiting.slot().await.is_some(),
            "a finished handshake gives its slot to the one waiting"
        );
        drop(conns);
    }

    #[test]
    fn handshake_rate_is_per_client() {
        let a = Admission::new(
            &LimitsConfig {
                max_connections: 100,
                max_connections_per_client: 100,
                max_handshakes_in_progress: 100,
                handshake_rate_per_client: 1,
                handshake_burst_per_client: 2,
                ..limits()
            },
            refusals(),
        );
        let keep = vec![
            a.admit(ip("10.2.0.1")).expect("1"),
            a.admit(ip("10.2.0.1")).expect("2"),
        ];
        assert_eq!(a.admit(ip("10.2.0.1")).err(), Some(Reason::HandshakeRate));
        assert!(a.admit(ip("10.2.0.2")).is_ok());
        assert_eq!(
            a.clients_connected(),
            1,
            "refused and finished clients are not tracked"
        );
        drop(keep);
    }

    #[test]
    fn limiter_state_stays_bounded_with_many_ipv6_prefixes() {
        let a = Admission::new(
            &LimitsConfig {
                max_connections: 1_000_000,
                max_connections_per_client: 100,
                max_handshakes_in_progress: 1_000_000,
                ..limits()
            },
            refusals(),
        );
        for i in 0..10_000u32 {
            let addr = format!("2001:db8:{:x}:{:x}::1", i >> 16, i & 0xffff);
            let _ = a.admit(ip(&addr));
            if i % 100 == 0 {
                a.maintain();
            }
        }
        a.maintain();
        assert!(
            a.tracked_clients() <= 2 * 50,
            "tracked {}",
            a.tracked_clients()
        );
        assert_eq!(a.clients_connected(), 0);
    }
}
