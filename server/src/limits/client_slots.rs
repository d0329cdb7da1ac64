//! Per-client counts of things held at once, with a cap: a client's open connections
//! (`net::admission`) and its request bodies still arriving (`http::body_read`). A slot is
//! given back when dropped, and a client's entry goes with its last slot, so the map is
//! bounded by what is held, not by how many clients were ever seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::client_key::ClientKey;

/// How many slots each client holds, and the most it may.
#[derive(Debug)]
pub struct ClientSlots {
    max: usize,
    held: Mutex<HashMap<ClientKey, usize>>,
}

/// One slot of one client; given back when dropped.
#[derive(Debug)]
pub struct ClientSlot {
    slots: Arc<ClientSlots>,
    key: ClientKey,
    others: usize,
}

impl ClientSlots {
    /// At most `max` slots per client (at least 1).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(ClientSlots {
            max: max.max(1),
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `key`, or `None` when the client already holds as many as it may.
    pub fn take(self: &Arc<Self>, key: ClientKey) -> Option<ClientSlot> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let n = held.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        let others = *n;
        *n += 1;
        Some(ClientSlot {
            slots: self.clone(),
            key,
            others,
        })
    }

    /// Clients holding at least one slot.
    pub fn clients(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl ClientSlot {
    /// How many slots the client held when this one was taken.
    pub fn others(&self) -> usize {
        self.others
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
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

    #[test]
    fn each_client_has_its_own_slots_and_gets_them_back() {
        let slots = ClientSlots::new(2);
        let a1 = slots.take(key("10.0.0.1")).expect("first");
        let a2 = slots.take(key("10.0.0.1")).expect("second");
        assert_eq!(
            (a1.others(), a2.others()),
            (0, 1),
            "each knows what was held before it"
        );
        assert!(slots.take(key("10.0.0.1")).is_none(), "a third is over");
        // Another client is not affected by the first being at its cap.
        let b = slots.take(key("10.0.0.2")).expect("other client");
        drop(a1);
        let a3 = slots.take(key("10.0.0.1")).expect("one given back");
        assert_eq!(a3.others(), 1);
        assert_eq!(slots.clients(), 2);
        drop((a2, a3, b));
        assert_eq!(slots.clients(), 0, "entries go with their last slot");
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        let slots = ClientSlots::new(1);
        let _held = slots.take(key("2001:db8:1:2::1")).expect("first");
        assert!(slots.take(key("2001:db8:1:2:ffff::9")).is_none());
        assert!(slots.take(key("2001:db8:1:3::1")).is_some());
    }
}
