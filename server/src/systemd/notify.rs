//! Service-manager notifications (`sd_notify(3)`): one datagram per state change to the Unix
//! socket `NOTIFY_SOCKET` names (a path, or an abstract name after `@`). `READY=1` once the
//! listener and the store are ready, `STOPPING=1` when the drain starts, and `WATCHDOG=1`
//! every half of `WATCHDOG_USEC` from a task on the serving runtime, so that a runtime that
//! stops making progress stops feeding the watchdog and is restarted.
//!
//! The socket is connected when the notifier is made, at start, before the sandbox closes
//! the file system; sending needs nothing more.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends notifications to the service manager, or nothing when there is none.
#[derive(Debug, Default)]
pub struct Notifier {
    socket: Option<UnixDatagram>,
    watchdog: Option<Duration>,
}

/// Why `NOTIFY_SOCKET` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("NOTIFY_SOCKET={path:?}: {source}")]
pub struct NotifyError {
    path: String,
    source: io::Error,
}

impl Notifier {
    /// A notifier for `NOTIFY_SOCKET` and `WATCHDOG_USEC`/`WATCHDOG_PID`, or one that sends
    /// nothing when they are absent.
    pub fn from_env() -> Result<Notifier, NotifyError> {
        let watchdog = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        match std::env::var("NOTIFY_SOCKET") {
            Ok(path) => {
                let socket = connect(&path).map_err(|source| NotifyError {
                    path: path.clone(),
                    source,
                })?;
                Ok(Notifier {
                    socket: Some(socket),
                    watchdog,
                })
            }
            Err(_) => Ok(Notifier {
                socket: None,
                watchdog: None,
            }),
        }
    }

    /// Whether a service manager listens.
    pub fn is_active(&self) -> bool {
        self.socket.is_some()
    }

    /// How often to send `WATCHDOG=1` (half the manager's timeout), when it asked for it.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.watchdog
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!(
            "READY=1\nSTATUS={status}\nMAINPID={}\n",
            std::process::id()
        ))
    }

    /// `STOPPING=1`: the drain has started.
    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1\nSTATUS=draining connections\n")
    }

    /// `WATCHDOG=1`: still alive.
    pub fn watchdog(&self) -> io::Result<()> {
        self.send("WATCHDOG=1\n")
    }

    fn send(&self, message: &str) -> io::Result<()> {
        match &self.socket {
            Some(s) => s.send(message.as_bytes()).map(|_| ()),
            None => Ok(()),
        }
    }
}

fn connect(path: &str) -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            socket.connect_addr(&addr)?;
        }
        None => socket.connect(path)?,
    }
    Ok(socket)
}

/// Half of `WATCHDOG_USEC`, when it is set for this process (`WATCHDOG_PID` absent or ours),
/// as `sd_watchdog_enabled(3)` reads it.
fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.parse().ok().filter(|u| *u > 0)?;
    if let Some(pid) = pid
        && pid.parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_fed_at_half_its_timeout_for_this_process_only() {
        assert_eq!(
            watchdog_interval(Some("30000000"), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[test]
    fn messages_reach_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().expect("ok");
        let path = dir.path().join("notify");
        let manager = UnixDatagram::bind(&path).expect("ok");
        let n = Notifier {
            socket: Some(connect(path.to_str().expect("ok")).expect("ok")),
            watchdog: None,
        };
        n.stopping().expect("ok");
        let mut buf = [0u8; 256];
        let len = manager.recv(&mut buf).expect("ok");
        assert_eq!(&buf[..len], b"STOPPING=1\nSTATUS=draining connections\n");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("rampart-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("ok");
        let manager = UnixDatagram::bind_addr(&addr).expect("ok");
        let n = Notifier {
            socket: Some(connect(&format!("@{name}")).expect("ok")),
            watchdog: None,
        };
        n.watchdog().expect("ok");
        let len = manager.recv(&mut buf).expect("ok");
        assert_eq!(&buf[..len], b"WATCHDOG=1\n");
    }

    #[test]
    fn without_a_manager_nothing_is_sent_and_nothing_fails() {
        let n = Notifier::default();
        assert!(!n.is_active());
        n.ready("serving").expect("ok");
    }
}
