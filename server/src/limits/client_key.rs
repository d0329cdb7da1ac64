//! The identity per-client limits are keyed on: an IPv4 address, or the /64 prefix of an IPv6
//! address (one customer's network usually owns a whole /64, so per-address limits would be
//! trivially evaded by rotating through it). IPv4-mapped IPv6 addresses count as IPv4.

use std::fmt;
use std::net::IpAddr;

/// A client, for limiting purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    /// An IPv4 address (/32).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    ClientKey::V6(prefix)
                }
            },
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::V4(o) => write!(f, "{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
            ClientKey::V6(p) => {
                for (i, pair) in p.chunks(2).enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{:x}", u16::from_be_bytes([pair[0], pair[1]]))?;
                }
                f.write_str("::/64")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_keyed_by_its_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(ClientKey::from(a), ClientKey::from(b));
        assert_ne!(ClientKey::from(a), ClientKey::from(c));
        assert_eq!(ClientKey::from(a).to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_is_per_address_and_mapped_addresses_are_ipv4() {
        let a: IpAddr = "127.0.0.1".parse().expect("ip");
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
        let b: IpAddr = "127.0.0.2".parse().expect("ip");
        assert_eq!(ClientKey::from(a), ClientKey::from(mapped));
        assert_ne!(ClientKey::from(a), ClientKey::from(b));
        assert_eq!(ClientKey::from(a).to_string(), "127.0.0.1");
    }
}
