//! The accept loop: takes TCP connections until shutdown and hands each to its own task.
//! A connection from a trusted proxy speaking PROXY v2 is admitted in two steps: the global
//! cap at accept, the per-client checks once its header (read under the handshake deadline)
//! has named the client.
//!
//! The API's listener is accepted on a thread of its own ([`spawn_accept_thread`]), with the
//! connections served on the main runtime. On the main runtime, the loop took its turn behind
//! every runnable task: when a flood opened 5,000 connections at once, the workers were busy
//! with their handshakes, the loop drained 128 connections per turn, and the kernel's accept
//! queue held up to a thousand connections for the first seconds (sampled with `ss`), a
//! legitimate client's among them: `slow-read` at the stress preset, p99 1,129 ms.

use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use tokio::net::{TcpListener, TcpStream};

use super::admission::{Admission, ConnPermit};
use super::connection::{self, ConnShared};
use super::lanes::{Lane, Lanes};
use super::proxy_header::{self, Relayed};
use super::shutdown::{ConnTracker, Phase, ShutdownSignal};
use crate::metrics::Reason;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Runs [`accept_loop`] for `listener` on a thread of its own (a single-threaded runtime),
/// serving what it accepts in `lanes`. The receiver completes when the loop has ended (the
/// listener dropped, the port closed).
pub(crate) fn spawn_accept_thread(
    listener: TcpListener,
    lanes: Lanes,
    shared: Arc<ConnShared>,
    admission: Arc<Admission>,
    shutdown: ShutdownSignal,
    tracker: ConnTracker,
) -> std::io::Result<tokio::sync::oneshot::Receiver<()>> {
    let listener = listener.into_std()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _in = runtime.enter();
        TcpListener::from_std(listener)?
    };
    let (done, ended) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("rampart-accept".into())
        .spawn(move || {
            runtime.block_on(accept_loop(
                listener, lanes, shared, admission, shutdown, tracker,
            ));
            let _ = done.send(());
        })?;
    Ok(ended)
}

/// Accepts until the phase leaves `Running`, then drops the listener so the port closes.
/// Each admitted connection is served in a task in its lane ([`Lanes`]); a proxied one's
/// header is read in the heavy lane, and the connection moves to the standing lane if the
/// client it names belongs there.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    lanes: Lanes,
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
                        let Some(tcp) = hand_over(tcp) else { continue };
                        let guard = tracker.guard();
                        let (shared, admission) = (shared.clone(), admission.clone());
                        let mut signal = shutdown.clone();
                        let lanes_ = lanes.clone();
                        lanes.handle(Lane::Heavy).spawn(async move {
                            let Some(mut tcp) = take_over(tcp) else { return };
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
                            if permit.lane() == Lane::Heavy || !lanes_.is_split() {
                                serve(tcp, client, permit, shared, admission, signal).await;
                                drop(guard);
                            } else if let Some(tcp) = hand_over(tcp) {
                                lanes_.handle(Lane::Standing).spawn(async move {
                                    let Some(tcp) = take_over(tcp) else { return };
                                    serve(tcp, client, permit, shared, admission, signal).await;
                                    drop(guard);
                                });
                            }
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
                    let Some(tcp) = hand_over(tcp) else { continue };
                    let guard = tracker.guard();
                    let (shared, admission) = (shared.clone(), admission.clone());
                    let signal = shutdown.clone();
                    lanes.handle(permit.lane()).spawn(async move {
                        let Some(tcp) = take_over(tcp) else { return };
                        serve(tcp, peer, permit, shared, admission, signal).await;
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

/// Serves one admitted connection, holding its permit until it ends.
async fn serve(
    tcp: TcpStream,
    client: std::net::SocketAddr,
    permit: ConnPermit,
    shared: Arc<ConnShared>,
    admission: Arc<Admission>,
    signal: ShutdownSignal,
) {
    connection::serve(tcp, client, &permit, shared, &admission, signal).await;
    drop(permit);
}

/// Detaches an accepted connection from the accepting runtime's reactor, for the runtime that
/// serves it ([`take_over`]); `None` (logged) if it cannot be.
fn hand_over(tcp: TcpStream) -> Option<std::net::TcpStream> {
    tcp.into_std()
        .inspect_err(|e| tracing::warn!(error = %e, "could not hand over a connection"))
        .ok()
}

/// Registers a handed-over connection with the current runtime.
fn take_over(tcp: std::net::TcpStream) -> Option<TcpStream> {
    TcpStream::from_std(tcp)
        .inspect_err(|e| tracing::warn!(error = %e, "could not take over a connection"))
        .ok()
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
