//! The target: an `https://HOST:PORT` URL resolved to one socket address, and the name sent as
//! SNI (which certificates it may show is [`crate::trust`]'s business). Attack traffic may only go to loopback unless the operator
//! says, with `--authorized-target`, that they are allowed to attack the host.

use std::net::{SocketAddr, ToSocketAddrs};

/// Why a target was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// Not `https://HOST:PORT[/]`.
    #[error("target `{0}` must look like https://HOST:PORT")]
    Syntax(String),
    /// The name did not resolve.
    #[error("target host `{0}` does not resolve")]
    Unresolved(String),
    /// Not loopback and not authorized.
    #[error(
        "target {0} is not a loopback address; attack traffic goes elsewhere only with \
         --authorized-target (and only against hosts you are allowed to attack)"
    )]
    NotLoopback(SocketAddr),
}

/// A resolved target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As given on the command line.
    pub url: String,
    /// The host name, used for SNI and the Host header.
    pub host: String,
    /// Where to connect.
    pub addr: SocketAddr,
}

impl Target {
    /// Parses and resolves `url`, refusing non-loopback addresses unless `authorized`.
    pub fn resolve(url: &str, authorized: bool) -> Result<Target, TargetError> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| TargetError::Syntax(url.to_string()))?;
        let hostport = rest.strip_suffix('/').unwrap_or(rest);
        if hostport.is_empty() || hostport.contains('/') {
            return Err(TargetError::Syntax(url.to_string()));
        }
        let syntax = || TargetError::Syntax(url.to_string());
        let (host, port) = match hostport.strip_prefix('[') {
            Some(v6) => v6.split_once("]:").ok_or_else(syntax)?,
            None => hostport
                .rsplit_once(':')
                .filter(|(h, _)| !h.contains(':'))
                .ok_or_else(syntax)?,
        };
        if host.is_empty() {
            return Err(syntax());
        }
        let port: u16 = port.parse().map_err(|_| syntax())?;
        let host = host.to_string();
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|_| TargetError::Unresolved(host.clone()))?
            .next()
            .ok_or_else(|| TargetError::Unresolved(host.clone()))?;
        if !addr.ip().is_loopback() && !authorized {
            return Err(TargetError::NotLoopback(addr));
        }
        Ok(Target {
            url: url.to_string(),
            host,
            addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_resolve() {
        let t = Target::resolve("https://127.0.0.1:8443", false).expect("ok");
        assert_eq!(t.addr, "127.0.0.1:8443".parse().expect("addr"));
        assert_eq!(t.host, "127.0.0.1");
        let t = Target::resolve("https://localhost:9/", false).expect("ok");
        assert!(t.addr.ip().is_loopback());
        let t = Target::resolve("https://[::1]:8443", false).expect("ok");
        assert_eq!(t.addr, "[::1]:8443".parse().expect("addr"));
    }

    #[test]
    fn other_hosts_need_authorization() {
        let e = Target::resolve("https://192.0.2.1:443", false).expect_err("refused");
        assert!(matches!(e, TargetError::NotLoopback(_)));
        assert!(e.to_string().contains("--authorized-target"));
        Target::resolve("https://192.0.2.1:443", true).expect("authorized");
    }

    #[test]
    fn malformed_urls_are_named() {
        for bad in [
            "http://127.0.0.1:1",
            "https://127.0.0.1",
            "https://:1",
            "https://h:1/x",
            "https://h:port",
        ] {
            let e = Target::resolve(bad, false).expect_err(bad);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
