//! The slots for TLS handshakes in progress, handed out fairly across clients.
//!
//! The cap bounds the costly part of handshakes at once (`limits.max_handshakes_in_progress`).
//! When it is full, a handshake waits for a slot, within its own deadline, instead of being
//! refused; and when a slot frees, it goes to the waiting client that holds the fewest slots
//! (the one waiting longest among equals), and to a client in good standing before one out of
//! it ([`crate::limits::standing`]). So 256 flooding addresses, each within its own
//! handshake rate, can keep every slot busy and still not keep out a client that holds none:
//! it is next. Among equals, a client that holds none is one of hundreds: at the stress
//! preset's `handshake-flood` (256 addresses, each within its rate) the legitimate client
//! waited about a round of them for each handshake (p50 47.8 and 62.1 ms); the flood's
//! connections carry no request, which puts their clients out of good standing, and behind
//! it. Refusing when full, as before, made the legitimate client's handshakes fail
//! under every flood at the stress preset (`handshakes_busy`), because each attacker address
//! stayed within its own budget while together they kept the cap full.
//!
//! How many may wait is bounded by the connection caps (one handshake per connection), and
//! each waits at most until its handshake deadline.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::limits::client_key::ClientKey;

/// The slots and their queue.
#[derive(Debug)]
pub struct HandshakeSlots {
    cap: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Slots in use.
    busy: usize,
    /// Slots held per client (entries removed at zero).
    held: HashMap<ClientKey, usize>,
    /// Waiting handshakes per client, oldest first.
    queues: HashMap<ClientKey, VecDeque<oneshot::Sender<HandshakeSlot>>>,
    /// Clients with a waiting handshake, by (out of good standing, slots held, arrival): the
    /// first goes next.
    order: BTreeSet<(bool, usize, u64, ClientKey)>,
    /// Where each waiting client stands in `order`.
    position: HashMap<ClientKey, (bool, usize, u64)>,
    /// Arrival counter.
    seq: u64,
}

/// A slot, held while one handshake is in progress; given back (to the next in line) when
/// dropped.
#[derive(Debug)]
pub struct HandshakeSlot {
    /// `None` once given back (or never handed over).
    slots: Option<Arc<HandshakeSlots>>,
    key: ClientKey,
}

impl HandshakeSlots {
    /// `cap` handshakes in progress at once (at least 1).
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(HandshakeSlots {
            cap: cap.max(1),
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for `key` now if one is free and nobody waits, else a place in line; behind
    /// every client in good standing when `key` is `out_of_standing`.
    pub fn try_take(
        self: &Arc<Self>,
        key: ClientKey,
        out_of_standing: bool,
    ) -> Result<HandshakeSlot, Waiting> {
        let mut st = self.lock();
        if st.busy < self.cap && st.order.is_empty() {
            st.busy += 1;
            st.hold(key);
            return Ok(HandshakeSlot {
                slots: Some(self.clone()),
                key,
            });
        }
        let (tx, rx) = oneshot::channel();
        st.enqueue(key, out_of_standing, tx);
        Err(Waiting(rx))
    }

    /// Slots in use.
    pub fn busy(&self) -> usize {
        self.lock().busy
    }

    /// Handshakes waiting for a slot (including any whose waiter has given up and that will
    /// be skipped).
    pub fn waiting(&self) -> usize {
        self.lock().queues.values().map(VecDeque::len).sum()
    }

    /// Gives `key`'s slot to the next in line, or frees it.
    fn give_back(self: &Arc<Self>, key: ClientKey) {
        let mut st = self.lock();
        st.release(key);
        // The freed slot goes to the first live waiter; a waiter that gave up (its deadline
        // passed) is skipped, and its slot offered to the next.
        while let Some((next, tx)) = st.first_in_line() {
            st.hold(next);
            let slot = HandshakeSlot {
                slots: Some(self.clone()),
                key: next,
            };
            match tx.send(slot) {
                Ok(()) => return,
                Err(mut unsent) => {
                    // Disarmed, so that dropping it does not give back under this lock.
                    unsent.slots = None;
                    st.release(next);
                }
            }
        }
        st.busy -= 1;
    }
}

impl State {
    fn hold(&mut self, key: ClientKey) {
        *self.held.entry(key).or_insert(0) += 1;
        self.reorder(key);
    }

    fn release(&mut self, key: ClientKey) {
        if let Some(n) = self.held.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.held.remove(&key);
            }
        }
        self.reorder(key);
    }

    /// Puts a waiting client back in line by the slots it holds now, keeping its arrival.
    fn reorder(&mut self, key: ClientKey) {
        if let Some((out, held, seq)) = self.position.get(&key).copied() {
            let now = self.held.get(&key).copied().unwrap_or(0);
            if now != held {
                self.order.remove(&(out, held, seq, key));
                self.place(key, out, seq);
            }
        }
    }

    /// Puts `key` in line as it stands now: its standing, the slots it holds, its arrival.
    fn place(&mut self, key: ClientKey, out_of_standing: bool, seq: u64) {
        let held = self.held.get(&key).copied().unwrap_or(0);
        self.order.insert((out_of_standing, held, seq, key));
        self.position.insert(key, (out_of_standing, held, seq));
    }

    fn enqueue(
        &mut self,
        key: ClientKey,
        out_of_standing: bool,
        tx: oneshot::Sender<HandshakeSlot>,
    ) {
        let queue = self.queues.entry(key).or_default();
        queue.push_back(tx);
        if queue.len() == 1 {
            self.seq += 1;
            self.place(key, out_of_standing, self.seq);
        }
    }

    /// Takes the next waiter: the first handshake of the client first in line.
    fn first_in_line(&mut self) -> Option<(ClientKey, oneshot::Sender<HandshakeSlot>)> {
        let (out, _, _, key) = self.order.pop_first()?;
        self.position.remove(&key);
        let queue = self.queues.get_mut(&key)?;
        let tx = queue.pop_front()?;
        if queue.is_empty() {
            self.queues.remove(&key);
        } else {
            // Its next handshake waits its turn again, behind those who came meanwhile.
            self.seq += 1;
            self.place(key, out, self.seq);
        }
        Some((key, tx))
    }
}

/// A place in line for a handshake slot; await it with [`Waiting::slot`].
#[derive(Debug)]
pub struct Waiting(oneshot::Receiver<HandshakeSlot>);

impl Waiting {
    /// The slot, when it is this handshake's turn.
    pub async fn slot(self) -> Option<HandshakeSlot> {
        self.0.await.ok()
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            slots.give_back(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(ip: &str) -> ClientKey {
        ClientKey::from(ip.parse::<IpAddr>().expect("ip"))
    }

    #[tokio::test]
    async fn a_client_holding_none_goes_before_a_flooding_one() {
        let slots = HandshakeSlots::new(2);
        let flood = key("10.0.0.1");
        let a = slots.try_take(flood, false).expect("free");
        let b = slots.try_take(flood, false).expect("free");
        // The flood queues three more, then the legitimate client one.
        let queued: Vec<_> = (0..3)
            .map(|_| slots.try_take(flood, false).expect_err("full"))
            .collect();
        let legit = slots.try_take(key("10.0.0.9"), false).expect_err("full");
        assert_eq!(slots.waiting(), 4);
        drop(a);
        let got = legit.slot().await.expect("the legitimate client is next");
        assert_eq!(got.key, key("10.0.0.9"));
        assert_eq!(slots.busy(), 2);
        drop((b, got));
        // Then the flood's, oldest first, one per freed slot.
        let mut queued = queued.into_iter();
        let first = queued.next().expect("q").slot().await.expect("slot");
        let second = queued.next().expect("q").slot().await.expect("slot");
        assert_eq!(slots.busy(), 2);
        drop((first, second));
        let third = queued.next().expect("q").slot().await.expect("slot");
        drop(third);
        assert_eq!(slots.busy(), 0);
        assert_eq!(slots.waiting(), 0);
    }

    #[tokio::test]
    async fn a_client_in_good_standing_goes_before_those_out_of_it() {
        let slots = HandshakeSlots::new(1);
        let held = slots.try_take(key("10.0.0.1"), true).expect("free");
        // Flooders out of good standing, holding none, queue first; then a standing client.
        let flood: Vec<_> = (2..6)
            .map(|i| {
                slots
                    .try_take(key(&format!("10.0.0.{i}")), true)
                    .expect_err("full")
            })
            .collect();
        let legit = slots.try_take(key("10.0.0.9"), false).expect_err("full");
        drop(held);
        let got = legit.slot().await.expect("the standing client is next");
        assert_eq!(got.key, key("10.0.0.9"));
        drop(got);
        // Then the others, oldest first.
        let mut served = Vec::new();
        for w in flood {
            let s = w.slot().await.expect("slot");
            served.push(s.key);
            drop(s);
        }
        let k = |i: u8| key(&format!("10.0.0.{i}"));
        assert_eq!(served, [k(2), k(3), k(4), k(5)]);
        assert_eq!(slots.busy(), 0);
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_is_skipped_and_nothing_leaks() {
        let slots = HandshakeSlots::new(1);
        let held = slots.try_take(key("10.0.0.1"), false).expect("free");
        let gave_up = slots.try_take(key("10.0.0.2"), false).expect_err("full");
        let waits = slots.try_take(key("10.0.0.3"), false).expect_err("full");
        drop(gave_up);
        drop(held);
        let got = waits.slot().await.expect("the live waiter gets it");
        assert_eq!(got.key, key("10.0.0.3"));
        assert_eq!(slots.busy(), 1);
        drop(got);
        assert_eq!(slots.busy(), 0);
        assert!(slots.lock().held.is_empty());
        assert!(slots.lock().order.is_empty());
        // And the slot is free for the next one at once.
        let again = slots.try_take(key("10.0.0.4"), false).expect("free again");
        drop(again);
    }

    #[tokio::test]
    async fn many_clients_share_the_slots_round_robin() {
        let slots = HandshakeSlots::new(1);
        let first = slots.try_take(key("10.0.0.1"), false).expect("free");
        let mut waiting = Vec::new();
        for round in 0..3 {
            for c in 1..=3 {
                let w = slots
                    .try_take(key(&format!("10.0.0.{c}")), false)
                    .expect_err("full");
                waiting.push((round, c, w));
            }
        }
        drop(first);
        let mut served = Vec::new();
        for (_, _, w) in waiting {
            let s = w.slot().await.expect("slot");
            served.push(s.key);
            drop(s);
        }
        // Each client's handshakes are served in turn with the others', not all of one first.
        let k = |c: u8| key(&format!("10.0.0.{c}"));
        assert_eq!(&served[..3], &[k(1), k(2), k(3)]);
        assert_eq!(slots.busy(), 0);
    }
}
