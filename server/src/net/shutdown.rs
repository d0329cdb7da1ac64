//! Shutdown phases shared by the accept loop and every connection, and a tracker that tells
//! when the last connection has ended.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, watch};

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Accepting and serving.
    Running,
    /// No new connections; in-flight requests finish, idle connections close.
    Draining,
    /// The drain bound passed: remaining connections are dropped.
    Closing,
}

/// The receiving side of the phase, cloned into every task.
#[derive(Clone, Debug)]
pub(crate) struct ShutdownSignal(pub(crate) watch::Receiver<Phase>);

impl ShutdownSignal {
    /// Resolves once the phase is at least `phase`.
    pub(crate) async fn reached(&mut self, phase: Phase) {
        // An error means the sender is gone, which only happens when the server is dropped:
        // treat that as reached.
        let _ = self.0.wait_for(|p| *p >= phase).await;
    }
}

/// Counts open connections; its channel closes when the last guard is dropped.
#[derive(Debug, Clone)]
pub(crate) struct ConnTracker {
    open: Arc<AtomicUsize>,
    tx: mpsc::Sender<()>,
}

impl ConnTracker {
    pub(crate) fn new() -> (Self, mpsc::Receiver<()>, Arc<AtomicUsize>) {
        let (tx, rx) = mpsc::channel(1);
        let open = Arc::new(AtomicUsize::new(0));
        (
            ConnTracker {
                open: open.clone(),
                tx,
            },
            rx,
            open,
        )
    }

    /// A guard held by one connection task for its whole life.
    pub(crate) fn guard(&self) -> ConnGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        ConnGuard {
            open: self.open.clone(),
            _tx: self.tx.clone(),
        }
    }
}

/// Held by a connection task; dropping it marks the connection closed.
#[derive(Debug)]
pub(crate) struct ConnGuard {
    open: Arc<AtomicUsize>,
    _tx: mpsc::Sender<()>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every connection finished within the bound.
    Drained,
    /// The bound passed; this many connections were closed with requests possibly in flight.
    TimedOut {
        /// Connections still open at the deadline.
        open: usize,
    },
}
