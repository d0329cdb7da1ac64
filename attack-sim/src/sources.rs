//! Source addresses. Attack traffic comes from a pool of loopback addresses (default 256 in
//! 127.77.0.0/16), bound before connect, so that per-client limits meet many clients; the
//! legitimate client uses an address outside the pool.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

/// Why a pool could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourcesError {
    /// The network holds fewer usable addresses than asked for.
    #[error("--sources {net} holds {usable} usable addresses, fewer than the {wanted} needed")]
    TooSmall {
        /// The network.
        net: Ipv4Net,
        /// Usable addresses in it.
        usable: u64,
        /// Addresses wanted.
        wanted: usize,
    },
    /// Attack sources must be loopback (the kernel would not let us bind others anyway).
    #[error("--sources {0} is not inside 127.0.0.0/8")]
    NotLoopback(Ipv4Net),
}

/// The attack's source addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    addrs: Vec<IpAddr>,
}

/// The default attack network.
pub const DEFAULT_NET: &str = "127.77.0.0/16";

/// The legitimate client's own address, outside the default pool: where it registers its
/// account, and where it runs the first scenario from.
pub const PROBE_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 78, 0, 1));

/// Where the legitimate client runs scenario `i` of a run from: an address of its own per
/// scenario (`PROBE_ADDR` for the first), so that each scenario meets the target as a fresh
/// client and none inherits what the previous ones spent of the client's budgets (logins
/// per minute above all: two a scenario, back to back, outrun rampart's ten a minute).
pub fn probe_addr(i: usize) -> IpAddr {
    nth_in_slash16(78, i)
}

/// The `i`-th host address of 127.`second`.0.0/16 (skipping .0 and .255), wrapping.
fn nth_in_slash16(second: u8, i: usize) -> IpAddr {
    let i = u32::try_from(i % (254 * 256)).unwrap_or(0);
    IpAddr::V4(Ipv4Addr::new(
        127,
        second,
        (i / 254) as u8,
        (1 + i % 254) as u8,
    ))
}

/// The scanners' network (`injection`, `auth`, `tls`), apart from the floods' and the
/// legitimate client's: `--spawn` puts it in rampart's `limits.exempt` when a scan runs, so
/// that a scan runs at full speed while the DoS scenarios still meet every limit.
pub const SCANNER_NET: &str = "127.79.0.0/16";

/// Where scenario `i` scans from, when it is a scan: an address of its own per scenario in
/// [`SCANNER_NET`].
pub fn scanner_addr(i: usize) -> IpAddr {
    nth_in_slash16(79, i)
}

impl Sources {
    /// The first `count` host addresses of `net` (skipping .0 and .255 of every /24).
    pub fn new(net: Ipv4Net, count: usize) -> Result<Sources, SourcesError> {
        if !Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8)
            .expect("static")
            .contains(&net)
        {
            return Err(SourcesError::NotLoopback(net));
        }
        let addrs: Vec<IpAddr> = net
            .hosts()
            .filter(|a| !matches!(a.octets()[3], 0 | 255))
            .take(count)
            .map(IpAddr::V4)
            .collect();
        if addrs.len() < count {
            return Err(SourcesError::TooSmall {
                net,
                usable: addrs.len() as u64,
                wanted: count,
            });
        }
        Ok(Sources { addrs })
    }

    /// The address for attack connection `i` (round robin).
    pub fn pick(&self, i: usize) -> IpAddr {
        self.addrs[i % self.addrs.len()]
    }

    /// How many addresses.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Never true for a built pool.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_distinct_loopback_addresses() {
        let s = Sources::new(DEFAULT_NET.parse().expect("net"), 256).expect("pool");
        assert_eq!(s.len(), 256);
        let mut all: Vec<_> = (0..256).map(|i| s.pick(i)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 256);
        assert!(all.iter().all(|a| a.is_loopback() && *a != PROBE_ADDR));
        assert_eq!(probe_addr(0), PROBE_ADDR);
        let probes: std::collections::HashSet<_> = (0..1000).map(probe_addr).collect();
        assert_eq!(probes.len(), 1000);
        assert!(probes.iter().all(|a| a.is_loopback() && !all.contains(a)));
        let net: ipnet::IpNet = SCANNER_NET.parse().expect("net");
        let scanners: std::collections::HashSet<_> = (0..1000).map(scanner_addr).collect();
        assert_eq!(scanners.len(), 1000);
        assert!(
            scanners
                .iter()
                .all(|a| net.contains(a) && !probes.contains(a))
        );
        assert_eq!(s.pick(0), s.pick(256));
    }

    #[test]
    fn bad_pools_are_named() {
        let e = Sources::new("10.0.0.0/8".parse().expect("net"), 4).expect_err("not loopback");
        assert!(e.to_string().contains("10.0.0.0/8"));
        let e = Sources::new("127.9.9.0/30".parse().expect("net"), 4).expect_err("small");
        assert!(e.to_string().contains("fewer"), "{e}");
    }
}
