//! Counters of every rejection by reason, and gauges of open connections and handshakes in
//! progress, rendered in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why something was refused. Each has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The global connection cap was reached.
    ConnectionCap,
    /// The client's connection cap was reached.
    ClientConnectionCap,
    /// A handshake waited in line for a slot until its deadline.
    HandshakesBusy,
    /// The client started handshakes too fast.
    HandshakeRate,
    /// The TLS handshake did not finish in time.
    HandshakeTimeout,
    /// The TLS handshake failed (plaintext, old protocol, no common suite...).
    HandshakeFailed,
    /// A trusted proxy's connection had no valid PROXY v2 header in time.
    ProxyHeader,
    /// An HTTP/1.1 request head was not complete within `http.header_read_timeout`.
    HeaderTimeout,
    /// An HTTP/1.1 request head had too many fields or too many bytes (431).
    HeaderTooLarge,
    /// A request body sent nothing for `http.body_read_timeout` or fell below
    /// `http.body_min_rate` (408).
    BodyTimeout,
    /// A response write made no progress for `http.write_timeout` (slow read).
    WriteTimeout,
    /// An HTTP/2 client sent SETTINGS or PING frames beyond its budget.
    H2ControlFlood,
    /// An HTTP/2 client broke the protocol and its connection was ended with GOAWAY (h2's own
    /// checks: CONTINUATION floods, rapid resets, malformed frames).
    H2ProtocolError,
    /// The client sent requests too fast.
    RequestRate,
    /// The authenticated user sent requests too fast.
    UserRate,
    /// The client attempted logins too fast.
    LoginRate,
    /// The client registered users too fast.
    RegistrationRate,
    /// Too many requests in flight: shed.
    InFlight,
    /// A handler did not answer within `http.handler_timeout` (503).
    HandlerTimeout,
    /// The client already had `limits.max_body_reads_per_client` bodies in progress.
    BodyReads,
    /// The client is cooling down after too many refusals (`crate::limits::cooldown`).
    CoolingDown,
    /// A login for an account in failed-login backoff or locked.
    LoginBackoff,
    /// A login found the password-hashing pool and its queue full (503).
    HashingBusy,
}

impl Reason {
    /// Every reason, in the order of [`Reason::index`].
    pub const ALL: [Reason; 23] = [
        Reason::ConnectionCap,
        Reason::ClientConnectionCap,
        Reason::HandshakesBusy,
        Reason::HandshakeRate,
        Reason::HandshakeTimeout,
        Reason::HandshakeFailed,
        Reason::ProxyHeader,
        Reason::HeaderTimeout,
        Reason::HeaderTooLarge,
        Reason::BodyTimeout,
        Reason::WriteTimeout,
        Reason::H2ControlFlood,
        Reason::H2ProtocolError,
        Reason::RequestRate,
        Reason::UserRate,
        Reason::LoginRate,
        Reason::RegistrationRate,
        Reason::InFlight,
        Reason::HandlerTimeout,
        Reason::BodyReads,
        Reason::CoolingDown,
        Reason::LoginBackoff,
        Reason::HashingBusy,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ConnectionCap => "connection_cap",
            Reason::ClientConnectionCap => "client_connection_cap",
            Reason::HandshakesBusy => "handshakes_busy",
            Reason::HandshakeRate => "handshake_rate",
            Reason::HandshakeTimeout => "handshake_timeout",
            Reason::HandshakeFailed => "handshake_failed",
            Reason::ProxyHeader => "proxy_header",
            Reason::HeaderTimeout => "header_timeout",
            Reason::HeaderTooLarge => "header_too_large",
            Reason::BodyTimeout => "body_timeout",
            Reason::WriteTimeout => "write_timeout",
            Reason::H2ControlFlood => "h2_control_flood",
            Reason::H2ProtocolError => "h2_protocol_error",
            Reason::RequestRate => "request_rate",
            Reason::UserRate => "user_rate",
            Reason::LoginRate => "login_rate",
            Reason::RegistrationRate => "registration_rate",
            Reason::InFlight => "in_flight",
            Reason::HandlerTimeout => "handler_timeout",
            Reason::BodyReads => "body_reads",
            Reason::CoolingDown => "cooling_down",
            Reason::LoginBackoff => "login_backoff",
            Reason::HashingBusy => "hashing_busy",
        }
    }

    fn index(self) -> usize {
        Reason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    rejections: [AtomicU64; Reason::ALL.len()],
    accepted: AtomicU64,
    heavy: AtomicU64,
    parked: AtomicU64,
    cooldowns: AtomicU64,
    without_requests: AtomicU64,
}

/// Marks one HTTP/1.1 connection as parked while it lives.
#[derive(Debug)]
pub struct Parked<'a>(&'a Metrics);

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.0.parked.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts one client sent to cool down.
    pub fn cooled_down(&self) {
        self.cooldowns.fetch_add(1, Ordering::Relaxed);
    }

    /// Clients sent to cool down so far.
    pub fn cooldowns(&self) -> u64 {
        self.cooldowns.load(Ordering::Relaxed)
    }

    /// Counts one rejection.
    pub fn reject(&self, reason: Reason) {
        self.rejections[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one admitted connection, and whether it is served in the heavy lane.
    pub fn accept(&self, heavy: bool) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        if heavy {
            self.heavy.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one connection that ended without carrying a request.
    pub fn carried_nothing(&self) {
        self.without_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections that ended without carrying a request so far.
    pub fn without_requests(&self) -> u64 {
        self.without_requests.load(Ordering::Relaxed)
    }

    /// Connections admitted into the heavy lane so far.
    pub fn heavy_lane(&self) -> u64 {
        self.heavy.load(Ordering::Relaxed)
    }

    /// Counts an idle HTTP/1.1 connection as parked until the guard is dropped.
    pub fn park(&self) -> Parked<'_> {
        self.parked.fetch_add(1, Ordering::Relaxed);
        Parked(self)
    }

    /// Idle HTTP/1.1 connections parked now (holding only their TLS session).
    pub fn parked(&self) -> u64 {
        self.parked.load(Ordering::Relaxed)
    }

    /// Rejections so far for `reason`.
    pub fn rejections(&self, reason: Reason) -> u64 {
        self.rejections[reason.index()].load(Ordering::Relaxed)
    }

    /// Prometheus text exposition; `gauges` are (name, help, value) read by the caller.
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP rampart_rejections_total Requests and connections refused, by reason.\n",
        );
        out.push_str("# TYPE rampart_rejections_total counter\n");
        for r in Reason::ALL {
            let _ = writeln!(
                out,
                "rampart_rejections_total{{reason=\"{}\"}} {}",
                r.as_str(),
                self.rejections(r)
            );
        }
        out.push_str(
            "# HELP rampart_cooldowns_total Clients sent to cool down for repeated refusals.\n",
        );
        out.push_str("# TYPE rampart_cooldowns_total counter\n");
        let _ = writeln!(out, "rampart_cooldowns_total {}", self.cooldowns());
        out.push_str("# HELP rampart_connections_accepted_total Connections admitted.\n");
        out.push_str("# TYPE rampart_connections_accepted_total counter\n");
        let _ = writeln!(
            out,
            "rampart_connections_accepted_total {}",
            self.accepted.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP rampart_connections_heavy_lane_total Connections admitted into the heavy lane (their client held the standing lane's share, was refused lately, or had a connection that carried no request).\n",
        );
        out.push_str("# TYPE rampart_connections_heavy_lane_total counter\n");
        let _ = writeln!(
            out,
            "rampart_connections_heavy_lane_total {}",
            self.heavy_lane()
        );
        out.push_str(
            "# HELP rampart_connections_without_requests_total Connections that completed their TLS handshake and ended without a request (their client is served in the heavy lane for a while).\n",
        );
        out.push_str("# TYPE rampart_connections_without_requests_total counter\n");
        let _ = writeln!(
            out,
            "rampart_connections_without_requests_total {}",
            self.without_requests()
        );
        out.push_str(
            "# HELP rampart_connections_parked Idle HTTP/1.1 connections holding only their TLS session.\n",
        );
        out.push_str("# TYPE rampart_connections_parked gauge\n");
        let _ = writeln!(out, "rampart_connections_parked {}", self.parked());
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_reason() {
        let m = Metrics::default();
        m.reject(Reason::HandshakeRate);
        m.reject(Reason::HandshakeRate);
        let text = m.render(&[("rampart_open_connections", "Open connections.", 3)]);
        assert!(text.contains("rampart_rejections_total{reason=\"handshake_rate\"} 2"));
        assert!(text.contains("rampart_rejections_total{reason=\"connection_cap\"} 0"));
        assert!(text.contains("rampart_open_connections 3"));
    }
}
