//! Who the client is, for request-layer limits and the audit trail.
//!
//! The socket peer, unless the peer is a configured trusted proxy: then `X-Forwarded-For` is
//! read from the right, skipping trusted proxies, and the first address that is not one is the
//! client (the rightmost untrusted hop — everything left of it was written by the client and
//! proves nothing). From anyone else the header is ignored, so spoofing it changes nothing.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The header, as proxies append to it.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Most addresses read from `X-Forwarded-For` before giving up (a proxy chain is short).
const MAX_HOPS: usize = 16;

/// The client address for a request that arrived from `peer`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = 0;
    // Several header lines are one list, in order.
    for value in headers.get_all(X_FORWARDED_FOR).iter().rev() {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for item in text.rsplit(',') {
            hops += 1;
            if hops > MAX_HOPS {
                return peer;
            }
            let Ok(ip) = item.trim().parse::<IpAddr>() else {
                // A malformed hop: trust nothing further left, keep the last good one.
                return peer;
            };
            if !is_trusted(&ip) {
                return ip;
            }
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    fn proxies() -> Vec<ipnet::IpNet> {
        vec!["10.0.0.0/24".parse().expect("net")]
    }

    #[test]
    fn ignored_from_untrusted_peers() {
        assert_eq!(
            resolve(ip("203.0.113.9"), &xff(&["1.2.3.4"]), &proxies()),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(ip("203.0.113.9"), &xff(&["1.2.3.4"]), &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn rightmost_untrusted_hop_from_trusted_proxies() {
        let p = proxies();
        assert_eq!(
            resolve(ip("10.0.0.5"), &xff(&["198.51.100.7"]), &p),
            ip("198.51.100.7")
        );
        // The client prepended a fake address; the proxy appended the real one.
        assert_eq!(
            resolve(ip("10.0.0.5"), &xff(&["1.1.1.1, 198.51.100.7"]), &p),
            ip("198.51.100.7")
        );
        // Two proxies in a row.
        assert_eq!(
            resolve(
                ip("10.0.0.5"),
                &xff(&["1.1.1.1, 198.51.100.7, 10.0.0.9"]),
                &p
            ),
            ip("198.51.100.7")
        );
        // Several header lines are one list.
        assert_eq!(
            resolve(ip("10.0.0.5"), &xff(&["1.1.1.1", "198.51.100.7"]), &p),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("10.0.0.5"), &xff(&["2001:db8::1"]), &p),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn malformed_or_missing_headers_leave_the_peer() {
        let p = proxies();
        assert_eq!(
            resolve(ip("10.0.0.5"), &HeaderMap::new(), &p),
            ip("10.0.0.5")
        );
        assert_eq!(
            resolve(ip("10.0.0.5"), &xff(&["not-an-ip"]), &p),
            ip("10.0.0.5")
        );
        assert_eq!(
            resolve(ip("10.0.0.5"), &xff(&["10.0.0.7"]), &p),
            ip("10.0.0.5")
        );
        let long = vec!["10.0.0.1"; 40].join(", ");
        assert_eq!(resolve(ip("10.0.0.5"), &xff(&[&long]), &p), ip("10.0.0.5"));
    }
}
