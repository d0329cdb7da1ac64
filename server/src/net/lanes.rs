//! Two lanes for connections, so that a flood's work cannot queue in front of clients in good
//! standing: a tokio runtime has no task priorities, and its run queues are first come, first
//! served, so thousands of flooding connections doing their handshakes and spending their
//! request budgets put every other client's next step behind theirs.
//!
//! - The **standing** lane (the main runtime) serves a client's first
//!   `limits.standing_connections_per_client` connections.
//! - The **heavy** lane (a runtime of its own, as many workers, threads named
//!   `rampart-heavy`) serves a client's connections beyond those: what a flood opens from one
//!   address.
//!
//! A lane is chosen once, at admission, by how many connections the client holds then; a
//! flooder's first connections stay standing, and the cool-down
//! ([`crate::limits::cooldown`]) is what ends them once it keeps exceeding its budget (within
//! a second under a flood).
//!
//! Each lane's workers are OS threads, and the kernel shares the CPU between threads that want
//! it; the standing lane's few tasks find a worker free, while the heavy lane's queue is
//! long. The heavy lane's threads keep the same priority as the rest: the lanes share the
//! password hashing slots, the in-flight cap and the database, and a heavy lane at a lower
//! priority held them while it waited for the CPU (`login-flood` at the stress preset, heavy
//! threads at nice 10: legitimate success 79.5 %, p50 407 ms).
//!
//! A client refused for its own excess within the cool-down's window (a strike, or a login in
//! backoff: [`crate::limits::standing`]) is out of good standing, and its new connections are
//! heavy whatever it holds: a flood from one connection per address leaves the standing lane
//! once refused. Nothing is refused by the lanes: they order work, the limits bound it. A flood
//! from as many addresses as it has connections, none of them ever refused, is all standing,
//! and is then no better served than with one runtime.

use tokio::runtime::{Handle, Runtime};

/// Where a connection is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// One of its client's first connections: the main runtime.
    Standing,
    /// Its client holds as many connections as the standing lane takes, or is out of good
    /// standing: the heavy runtime.
    Heavy,
}

impl Lane {
    /// The lane of a client's new connection when it already holds `others`, with
    /// `standing` connections per client taken by the standing lane.
    pub fn for_client(others: usize, standing: usize) -> Lane {
        if others < standing {
            Lane::Standing
        } else {
            Lane::Heavy
        }
    }

    /// As `/metrics` and the log name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Standing => "standing",
            Lane::Heavy => "heavy",
        }
    }
}

/// The runtimes connections are served on. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Lanes {
    standing: Handle,
    heavy: Option<Handle>,
}

impl Lanes {
    /// Every connection on `handle` (the admin listener's, and `standing_connections_per_client
    /// = 0`).
    pub(crate) fn single(handle: Handle) -> Lanes {
        Lanes {
            standing: handle,
            heavy: None,
        }
    }

    /// The standing lane on the current runtime and the heavy lane on `heavy`'s.
    pub(crate) fn split(heavy: &HeavyRuntime) -> Lanes {
        Lanes {
            standing: Handle::current(),
            heavy: Some(heavy.handle()),
        }
    }

    /// Whether there is a heavy lane at all.
    pub(crate) fn is_split(&self) -> bool {
        self.heavy.is_some()
    }

    /// The runtime that serves `lane`.
    pub(crate) fn handle(&self, lane: Lane) -> &Handle {
        match (lane, &self.heavy) {
            (Lane::Heavy, Some(heavy)) => heavy,
            _ => &self.standing,
        }
    }
}

/// The heavy lane's runtime. Dropping it stops its workers without waiting (a runtime may not
/// be dropped from async code otherwise); connections still on it are cut.
#[derive(Debug)]
pub(crate) struct HeavyRuntime {
    handle: Handle,
    /// Taken only by `drop`.
    runtime: Option<Runtime>,
}

impl HeavyRuntime {
    /// A multi-threaded runtime with as many workers as the current one.
    pub(crate) fn start() -> std::io::Result<HeavyRuntime> {
        let workers = Handle::current().metrics().num_workers().max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("rampart-heavy")
            .enable_all()
            .build()?;
        Ok(HeavyRuntime {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// Where connections in the heavy lane are spawned.
    pub(crate) fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for HeavyRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_first_connections_are_standing_and_the_rest_heavy() {
        assert_eq!(Lane::for_client(0, 2), Lane::Standing);
        assert_eq!(Lane::for_client(1, 2), Lane::Standing);
        assert_eq!(Lane::for_client(2, 2), Lane::Heavy);
        assert_eq!(Lane::for_client(50, 2), Lane::Heavy);
        assert_eq!(Lane::for_client(0, 0), Lane::Heavy, "0: no standing lane");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_heavy_lane_runs_on_threads_of_its_own() {
        let heavy = HeavyRuntime::start().expect("runtime");
        let lanes = Lanes::split(&heavy);
        assert!(lanes.is_split());
        let name = lanes
            .handle(Lane::Heavy)
            .spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .expect("join");
        assert_eq!(name.as_deref(), Some("rampart-heavy"));
        assert_eq!(
            lanes.handle(Lane::Heavy).metrics().num_workers(),
            2,
            "as many workers as the main runtime"
        );
        let single = Lanes::single(Handle::current());
        assert!(!single.is_split());
        let name = single
            .handle(Lane::Heavy)
            .spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .expect("join");
        assert_ne!(name.as_deref(), Some("rampart-heavy"));
    }
}
