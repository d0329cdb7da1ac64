//! The accept loop: takes TCP connections until shutdown and hands each to its own task.
//! A connection from a trusted proxy speaking PROXY v2 is admitted in two steps: the global
//! cap at accept, the per-client checks once its header (read under the handshake deadline)
//! has named the client.

use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use tokio::net::{TcpListener, TcpStream};

use super::admission::Admission;
use super::connection::{self, ConnShared};
use super::proxy_header::{self, Relayed};
use super::shutdown::{ConnTracker, Phase, ShutdownSignal};
use crate::metrics::Reason;

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
                    if admission.expects_proxy_header(peer.ip()) {
                        let global = match admission.admit_global() {
                            Ok(g) => g,
                            Err(reason) => {
                                refuse(&admission, tcp, peer.ip(), reason);
                                continue;
                            }
                        };
                        let guard = tracker.guard();
                        let (shared, admission) = (shared.clone(), admission.clone());
                        let mut signal = shutdown.clone();
                        tokio::spawn(async move {
                            let mut tcp = tcp;
                            let header = tokio::select! {
                                r = tokio::time::timeout(
                                    shared.handshake_timeout,
                                    proxy_header::read(&mut tcp),
                                ) => r,
                                _ = signal.reached(Phase::Draining) => return,
                            };
                            let client = match header {
                                Ok(Ok(Relayed::Client(client))) => client,
                                Ok(Ok(Relayed::Local)) => peer,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "PROXY header refused");
                                    refuse(&admission, tcp, peer.ip(), Reason::ProxyHeader);
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "PROXY header deadline passed");
                                    refuse(&admission, tcp, peer.ip(), Reason::ProxyHeader);
                                    return;
                                }
                            };
                            let permit =
                                match admission.admit_client(client.ip(), global) {
                                    Ok(p) => p,
                                    Err(reason) => {
                                        refuse(&admission, tcp, client.ip(), reason);
                                        return;
                                    }
                                };
                            tune(&tcp, shared.send_buffer_bytes);
                            connection::serve(tcp, client, shared, &admission, signal).await;
                            drop(permit);
                            drop(guard);
                        });
                        continue;
                    }
                    let permit = match admission.admit(peer.ip()) {
                        Ok(p) => p,
                        Err(reason) => {
                            refuse(&admission, tcp, peer.ip(), reason);
                            continue;
                        }
                    };
                    tune(&tcp, shared.send_buffer_bytes);
                    let guard = tracker.guard();
                    let (shared, admission) = (shared.clone(), admission.clone());
                    let signal = shutdown.clone();
                    tokio::spawn(async move {
                        connection::serve(tcp, peer, shared, &admission, signal).await;
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

/// Socket options of an admitted connection: no Nagle delay, and a fixed send buffer (when
/// `send_buffer_bytes` is not 0) so that a client that stops reading pushes back on us
/// within that many bytes.
fn tune(tcp: &TcpStream, send_buffer_bytes: usize) {
    let _ = tcp.set_nodelay(true);
    if send_buffer_bytes > 0
        && let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(send_buffer_bytes)
    {
        tracing::debug!(error = %e, "SO_SNDBUF not set");
    }
}

/// Counts and logs a refusal, then resets the connection rather than closing it: no
/// TIME_WAIT is left behind for a refusal.
fn refuse(admission: &Admission, tcp: TcpStream, client: IpAddr, reason: Reason) {
    admission.refused(client, reason);
    let _ = socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
    drop(tcp);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let c = TcpStream::connect(l.local_addr().expect("addr"))
            .await
            .expect("connect");
        (l.accept().await.expect("accept").0, c)
    }

    #[tokio::test]
    async fn admitted_sockets_get_the_fixed_send_buffer() {
        let (server, _client) = pair().await;
        let autotuned = socket2::SockRef::from(&server)
            .send_buffer_size()
            .expect("size");
        tune(&server, 8192);
        let fixed = socket2::SockRef::from(&server)
            .send_buffer_size()
            .expect("size");
        // Linux doubles the value asked for; the point is that it no longer autotunes.
        assert!(
            (8192..=2 * 8192).contains(&fixed),
            "{fixed} (was {autotuned})"
        );
        assert!(server.nodelay().expect("nodelay"));
        let (server, _client) = pair().await;
        tune(&server, 0);
        let left = socket2::SockRef::from(&server)
            .send_buffer_size()
            .expect("size");
        assert_eq!(left, autotuned, "0 leaves the kernel's size");
    }
}
