//! PROXY protocol v2: the binary header a TCP load balancer (HAProxy `send-proxy-v2`, AWS NLB)
//! writes before the client's bytes, naming the client it is relaying.
//!
//! Read only on connections whose peer is in `limits.trusted_proxies`, and only when
//! `limits.proxy_protocol` is on; from anyone else the bytes would simply be a broken TLS
//! ClientHello. The header is read exactly (nothing past it, which belongs to TLS), its
//! length is capped, and parsing is done by the `ppp` crate; what we own is the framing, the
//! cap and the mapping to the address the per-client limits are keyed on.

use std::net::SocketAddr;

use ppp::v2;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The fixed part: 12-byte signature, version/command, family/protocol, 2-byte length.
pub const FIXED_LEN: usize = 16;

/// The most address and TLV bytes accepted after the fixed part. The protocol allows 65,535;
/// HAProxy's largest headers (addresses plus SSL, ALPN, authority and unique-id TLVs) stay
/// well under this.
pub const MAX_PAYLOAD: usize = 2048;

const SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// Who the proxy says it is relaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    /// A TCP client over IPv4 or IPv6 (`PROXY` command).
    Client(SocketAddr),
    /// The proxy speaking for itself (`LOCAL` command, e.g. a health check), or an address
    /// family that carries no IP (`UNSPEC`): the proxy's own address stands.
    Local,
}

/// Why a trusted proxy's connection was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProxyHeaderError {
    /// The first bytes were not the PROXY v2 signature (for example a direct TLS ClientHello).
    #[error("connection from a trusted proxy did not start with a PROXY v2 header")]
    NoSignature,
    /// The declared length is larger than we accept.
    #[error(
        "PROXY header declares {0} bytes of addresses and TLVs; at most {MAX_PAYLOAD} accepted"
    )]
    TooLong(usize),
    /// The header does not parse.
    #[error("malformed PROXY v2 header: {0}")]
    Malformed(String),
    /// A `PROXY` command over UDP or UNIX sockets: nothing we can key limits on.
    #[error("PROXY v2 header relays a {0} connection; only TCP over IPv4 or IPv6 is accepted")]
    Unsupported(&'static str),
    /// The stream ended or failed before the header was complete.
    #[error("connection ended before the PROXY header was complete")]
    Truncated,
}

/// The length of the payload that follows the fixed part, after checking the signature.
pub fn declared_len(fixed: &[u8; FIXED_LEN]) -> Result<usize, ProxyHeaderError> {
    if &fixed[..12] != SIGNATURE {
        return Err(ProxyHeaderError::NoSignature);
    }
    let len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    if len > MAX_PAYLOAD {
        return Err(ProxyHeaderError::TooLong(len));
    }
    Ok(len)
}

/// Decodes one complete header (the fixed part and exactly the declared payload).
pub fn decode(header: &[u8]) -> Result<Relayed, ProxyHeaderError> {
    let fixed: &[u8; FIXED_LEN] = header
        .get(..FIXED_LEN)
        .and_then(|f| f.try_into().ok())
        .ok_or(ProxyHeaderError::Truncated)?;
    let len = declared_len(fixed)?;
    if header.len() != FIXED_LEN + len {
        return Err(ProxyHeaderError::Malformed(format!(
            "{} bytes given for a header of {}",
            header.len(),
            FIXED_LEN + len
        )));
    }
    let parsed =
        v2::Header::try_from(header).map_err(|e| ProxyHeaderError::Malformed(e.to_string()))?;
    // TLVs are not used, but a header whose TLV area does not parse is not a header we trust.
    if let Some(Err(e)) = parsed.tlvs().find(Result::is_err) {
        return Err(ProxyHeaderError::Malformed(e.to_string()));
    }
    if parsed.command == v2::Command::Local {
        return Ok(Relayed::Local);
    }
    let transport_ok = matches!(
        parsed.protocol,
        v2::Protocol::Stream | v2::Protocol::Unspecified
    );
    match parsed.addresses {
        v2::Addresses::Unspecified => Ok(Relayed::Local),
        v2::Addresses::IPv4(_) | v2::Addresses::IPv6(_) if !transport_ok => {
            Err(ProxyHeaderError::Unsupported("UDP"))
        }
        v2::Addresses::IPv4(a) => Ok(Relayed::Client(SocketAddr::new(
            a.source_address.into(),
            a.source_port,
        ))),
        v2::Addresses::IPv6(a) => Ok(Relayed::Client(SocketAddr::new(
            a.source_address.into(),
            a.source_port,
        ))),
        v2::Addresses::Unix(_) => Err(ProxyHeaderError::Unsupported("UNIX socket")),
    }
}

/// Reads exactly one header from `stream`, leaving every byte after it unread.
pub async fn read<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Relayed, ProxyHeaderError> {
    let mut buf = vec![0u8; FIXED_LEN];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|_| ProxyHeaderError::Truncated)?;
    let fixed: &[u8; FIXED_LEN] = buf[..]
        .try_into()
        .map_err(|_| ProxyHeaderError::Truncated)?;
    let len = declared_len(fixed)?;
    buf.resize(FIXED_LEN + len, 0);
    stream
        .read_exact(&mut buf[FIXED_LEN..])
        .await
        .map_err(|_| ProxyHeaderError::Truncated)?;
    decode(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ppp::v2::{Builder, Command, Protocol, Type, Version};

    fn header(cmd: Command, proto: Protocol, src: &str, dst: &str) -> Vec<u8> {
        let (s, d): (SocketAddr, SocketAddr) =
            (src.parse().expect("src"), dst.parse().expect("dst"));
        Builder::with_addresses(Version::Two | cmd, proto, (s, d))
            .build()
            .expect("build")
    }

    #[test]
    fn tcp_sources_are_relayed() {
        let h = header(
            Command::Proxy,
            Protocol::Stream,
            "203.0.113.7:5555",
            "10.0.0.1:443",
        );
        assert_eq!(
            decode(&h),
            Ok(Relayed::Client("203.0.113.7:5555".parse().expect("addr")))
        );
        let h = header(
            Command::Proxy,
            Protocol::Stream,
            "[2001:db8::9]:1",
            "[2001:db8::1]:443",
        );
        assert_eq!(
            decode(&h),
            Ok(Relayed::Client("[2001:db8::9]:1".parse().expect("addr")))
        );
    }

    #[test]
    fn local_and_unspecified_keep_the_proxy_address() {
        let h = header(
            Command::Local,
            Protocol::Stream,
            "203.0.113.7:1",
            "10.0.0.1:443",
        );
        assert_eq!(decode(&h), Ok(Relayed::Local));
        let h = Builder::new(
            Version::Two | Command::Proxy,
            ppp::v2::AddressFamily::Unspecified | Protocol::Unspecified,
        )
        .build()
        .expect("build");
        assert_eq!(decode(&h), Ok(Relayed::Local));
    }

    #[test]
    fn datagrams_and_unix_sockets_are_refused() {
        let h = header(
            Command::Proxy,
            Protocol::Datagram,
            "203.0.113.7:1",
            "10.0.0.1:443",
        );
        assert_eq!(decode(&h), Err(ProxyHeaderError::Unsupported("UDP")));
        let unix = ppp::v2::Unix::new([1; 108], [2; 108]);
        let h = Builder::with_addresses(Version::Two | Command::Proxy, Protocol::Stream, unix)
            .build()
            .expect("build");
        assert_eq!(
            decode(&h),
            Err(ProxyHeaderError::Unsupported("UNIX socket"))
        );
    }

    #[test]
    fn a_client_hello_is_not_a_header() {
        let mut hello = [0u8; FIXED_LEN];
        hello[..5].copy_from_slice(&[0x16, 0x03, 0x01, 0x02, 0x00]);
        assert_eq!(declared_len(&hello), Err(ProxyHeaderError::NoSignature));
    }

    #[test]
    fn oversized_and_inexact_headers_are_refused() {
        let mut h = header(
            Command::Proxy,
            Protocol::Stream,
            "203.0.113.7:1",
            "10.0.0.1:443",
        );
        h[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(
            decode(&h),
            Err(ProxyHeaderError::TooLong(usize::from(u16::MAX)))
        );
        let mut h = header(
            Command::Proxy,
            Protocol::Stream,
            "203.0.113.7:1",
            "10.0.0.1:443",
        );
        h.push(0);
        assert!(matches!(decode(&h), Err(ProxyHeaderError::Malformed(_))));
        assert_eq!(decode(&h[..10]), Err(ProxyHeaderError::Truncated));
    }

    #[test]
    fn tlvs_are_accepted_when_well_formed() {
        let (s, d): (SocketAddr, SocketAddr) = (
            "203.0.113.7:1".parse().expect("s"),
            "10.0.0.1:443".parse().expect("d"),
        );
        let h = Builder::with_addresses(Version::Two | Command::Proxy, Protocol::Stream, (s, d))
            .write_tlv(Type::Authority, b"bank.example")
            .expect("tlv")
            .build()
            .expect("build");
        assert_eq!(decode(&h), Ok(Relayed::Client(s)));
        // A TLV whose length runs past the end.
        let mut bad = h.clone();
        let n = bad.len();
        bad[n - 13] = 0xff;
        assert!(matches!(decode(&bad), Err(ProxyHeaderError::Malformed(_))));
    }

    #[tokio::test]
    async fn read_stops_exactly_at_the_end_of_the_header() {
        let mut bytes = header(
            Command::Proxy,
            Protocol::Stream,
            "203.0.113.7:9",
            "10.0.0.1:443",
        );
        bytes.extend_from_slice(b"\x16\x03\x01rest-of-tls");
        let mut r = &bytes[..];
        let got = read(&mut r).await.expect("header");
        assert_eq!(got, Relayed::Client("203.0.113.7:9".parse().expect("addr")));
        assert_eq!(r, b"\x16\x03\x01rest-of-tls");
        let mut short = &bytes[..20];
        assert_eq!(read(&mut short).await, Err(ProxyHeaderError::Truncated));
    }
}
