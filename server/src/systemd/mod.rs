//! Running as a systemd service: listening sockets passed in by socket activation
//! (`LISTEN_FDS`) and the service-manager notifications (`NOTIFY_SOCKET`: ready, stopping,
//! watchdog). Both follow systemd's documented protocols and need no systemd library; without
//! the variables they do nothing, so the same binary runs from a shell.

pub mod activation;
pub mod notify;

pub use activation::{ActivationError, Inherited, InheritedSocket};
pub use notify::Notifier;
