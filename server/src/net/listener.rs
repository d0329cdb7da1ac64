//! The accept loop: takes TCP connections until shutdown and hands each to its own task.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::admission::Admission;
use super::connection::{self, ConnShared};
use super::shutdown::{ConnTracker, Phase, ShutdownSignal};

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts until the phase leaves `Running`, then drops the listener so the port closes.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ConnShared>,
    admission: Arc<Admission>,
    mut shutdown: ShutdownSignal,
    tracker: ConnTracker,
) {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.reached(Phase::Draining) => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let (permit, handshake) = match admission.admit(peer.ip()) {
                        Ok(p) => p,
                        Err(reason) => {
                            admission.refused(peer.ip(), reason);
                            // Reset rather than close: no TIME_WAIT left behind for a refusal.
                            let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
                            drop(tcp);
                            continue;
                        }
                    };
                    let _ = tcp.set_nodelay(true);
                    let guard = tracker.guard();
                    let shared = shared.clone();
                    let signal = shutdown.clone();
                    tokio::spawn(async move {
                        connection::serve(tcp, peer, shared, handshake, signal).await;
                        drop(permit);
                        drop(guard);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
        }
    }
    tracing::info!("listener closed; draining connections");
}
