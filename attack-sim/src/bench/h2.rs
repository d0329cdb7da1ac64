//! The HTTP/2 half of the request bench: `h2_connections` connection slots, each keeping one
//! connection open for the whole run and opening the next as soon as the server ends it (a
//! GOAWAY after its requests-per-connection limit, as nginx and rampart send), so that what
//! is measured is the server's rate, not how long a connection lives.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::BenchConfig;
use super::latency;
use super::requests::{Requests, Run, Shared, due, open_rate};
use crate::client::{Buffers, Client};
use crate::probe::HEALTH_PATH;
use crate::sources::Sources;

/// How long after the run's end answers still count, and connections still drain.
const GRACE: Duration = Duration::from_secs(5);

/// Attempts of one request across connections the server ended under it.
const ATTEMPTS: usize = 3;

/// Workers per closed-loop stream in the open model.
const OPEN_WORKERS_PER_STREAM: usize = 4;

/// Pause after a failed connection attempt.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// HTTP/2: `h2_streams` requests in flight on each connection in the closed loop; in the open
/// model every request is its own stream, sent when due by the next free worker.
pub async fn measure(client: &Client, sources: &Sources, cfg: &BenchConfig) -> Requests {
    let closed = run(client, sources, cfg, None).await;
    let rate = open_rate(closed.0, cfg);
    let open = run(client, sources, cfg, Some(rate)).await;
    Requests::of_runs(
        "h2",
        cfg.h2_connections.max(1),
        cfg.h2_streams.max(1),
        closed,
        rate,
        open,
    )
}

/// One run: closed loop when `rate` is `None`.
async fn run(client: &Client, sources: &Sources, cfg: &BenchConfig, rate: Option<f64>) -> Run {
    let conns = cfg.h2_connections.max(1);
    let shared = Shared::new();
    let start = Instant::now();
    let until = start + cfg.duration;
    let uri = format!("https://{}{HEALTH_PATH}", client.host());
    let mut set = JoinSet::new();
    for c in 0..conns {
        let slot = spawn_slot(client.clone(), sources.pick(c), until);
        let (shared, uri, streams) = (shared.clone(), uri.clone(), cfg.h2_streams.max(1));
        set.spawn(async move {
            // The closed loop keeps `streams` requests in flight; the open model has more
            // workers, each taking the next due request, so that a slow answer delays no
            // other request's send (and one that waits for a free worker counts the wait).
            let workers = match rate {
                None => streams,
                Some(_) => streams * OPEN_WORKERS_PER_STREAM,
            };
            let next = Arc::new(AtomicU64::new(0));
            let mut requests = JoinSet::new();
            for _ in 0..workers {
                let (slot, uri, next) = (slot.clone(), uri.clone(), next.clone());
                requests.spawn(async move {
                    let mut hist = latency::histogram();
                    let (mut ok, mut errors) = (0, 0);
                    loop {
                        let t0 = match rate {
                            None => Instant::now(),
                            Some(r) => {
                                due(start, r, conns, c, next.fetch_add(1, Ordering::Relaxed))
                            }
                        };
                        if t0 >= until {
                            break;
                        }
                        tokio::time::sleep_until(t0).await;
                        match request(slot.clone(), &uri, until).await {
                            Outcome::Ok => {
                                ok += 1;
                                latency::record(&mut hist, t0.elapsed());
                            }
                            Outcome::NotOk => errors += 1,
                            Outcome::Dead => {
                                errors += 1;
                                if rate.is_none() {
                                    break;
                                }
                            }
                            // Due in the run and not answered within its grace: an error in
                            // the open model; the closed loop's last request, cut by the end.
                            Outcome::TimeUp => {
                                errors += u64::from(rate.is_some());
                                break;
                            }
                        }
                    }
                    (hist, ok, errors)
                });
            }
            let mut hist = latency::histogram();
            let (mut ok, mut errors) = (0, 0);
            while let Some(Ok((h, o, e))) = requests.join_next().await {
                let _ = hist.add(&h);
                ok += o;
                errors += e;
            }
            slot.finished();
            shared.add(&hist, ok, errors).await;
        });
    }
    while set.join_next().await.is_some() {}
    shared.result(start).await
}

/// One connection slot, as its requests see it.
#[derive(Clone)]
struct Slot {
    /// The current connection.
    current: watch::Receiver<Current>,
    /// Told when a request found the connection going away.
    going: Arc<Going>,
}

/// The handle of the slot's current connection (none between connections and after the run),
/// and which connection it is.
#[derive(Clone)]
struct Current {
    generation: u64,
    send: Option<SendRequest<Bytes>>,
}

/// The latest connection a request found ended by the server (its GOAWAY), and a wake-up
/// for the slot.
#[derive(Default)]
struct Going {
    generation: AtomicU64,
    notify: Notify,
    /// Told when the slot's requests are all done.
    done: Notify,
}

impl Slot {
    /// Says that connection `generation` no longer takes requests.
    fn going_away(&self, generation: u64) {
        self.going
            .generation
            .fetch_max(generation, Ordering::Relaxed);
        self.going.notify.notify_one();
    }

    /// Says that no request will come any more.
    fn finished(&self) {
        self.going.done.notify_one();
    }
}

/// How a slot's wait on its connection ended.
enum Wait {
    /// The connection closed.
    Closed,
    /// The server sent GOAWAY: open the next one now, as browsers do, while this one drains.
    GoingAway,
    /// The run is over and its requests answered.
    Over,
}

/// Starts a slot's task: it opens a connection from `src`, publishes it, and opens the next
/// as soon as the server ends it, until `until`; old connections drain beside it for up to
/// [`GRACE`]. The last one stays until [`Slot::finished`]. The channel closes when the slot
/// gives up (the server does not speak HTTP/2), when it is finished, or at the grace's end.
fn spawn_slot(client: Client, src: IpAddr, until: Instant) -> Slot {
    let (tx, rx) = watch::channel(Current {
        generation: 0,
        send: None,
    });
    let going = Arc::new(Going::default());
    let slot = Slot {
        current: rx,
        going: going.clone(),
    };
    tokio::spawn(async move {
        let mut generation = 0;
        // Requests due before `until` may still be waiting for a connection after it (the
        // server ended the last one under them): the slot serves them through the grace
        // period, and ends as soon as it is told that they are all done.
        while Instant::now() < until + GRACE {
            let tls = match client.h2_from(src, Buffers::default()).await {
                Ok(Some(tls)) => tls,
                // The server chose no `h2`: no attempt will do better.
                Ok(None) => return,
                Err(_) => {
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            };
            let Ok((send, mut conn)) = h2::client::handshake(tls).await else {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            };
            generation += 1;
            tx.send_replace(Current {
                generation,
                send: Some(send),
            });
            let wait = loop {
                tokio::select! {
                    _ = &mut conn => break Wait::Closed,
                    _ = going.notify.notified() => {
                        if going.generation.load(Ordering::Relaxed) >= generation {
                            break Wait::GoingAway;
                        }
                    }
                    _ = going.done.notified() => break Wait::Over,
                }
            };
            tx.send_replace(Current {
                generation,
                send: None,
            });
            match wait {
                Wait::Closed => {}
                Wait::GoingAway => {
                    tokio::spawn(tokio::time::timeout(GRACE, conn));
                }
                Wait::Over => {
                    // Every request has its answer; close the connection politely.
                    let _ = tokio::time::timeout(GRACE, conn).await;
                    return;
                }
            }
        }
    });
    slot
}

/// How one HTTP/2 request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A 2xx, body read.
    Ok,
    /// Another status, or the stream failed.
    NotOk,
    /// No connection would carry it.
    Dead,
    /// The run's time ran out first.
    TimeUp,
}

/// One request on the slot's current connection; when the server ended that connection
/// before taking the request, it is sent again on the next one (up to [`ATTEMPTS`] times).
async fn request(mut slot: Slot, uri: &str, until: Instant) -> Outcome {
    for _ in 0..ATTEMPTS {
        let current = match tokio::time::timeout_at(
            until + GRACE,
            slot.current.wait_for(|c| c.send.is_some()),
        )
        .await
        {
            Ok(Ok(c)) => c.clone(),
            Ok(Err(_)) => return Outcome::Dead,
            Err(_) => return Outcome::TimeUp,
        };
        let Some(send) = current.send else {
            return Outcome::Dead;
        };
        match one(send, uri, until).await {
            Outcome::Dead => {
                slot.going_away(current.generation);
                let next = tokio::time::timeout_at(
                    until + GRACE,
                    slot.current
                        .wait_for(|c| c.generation != current.generation && c.send.is_some()),
                );
                if !matches!(next.await, Ok(Ok(_))) {
                    return Outcome::Dead;
                }
            }
            done => return done,
        }
    }
    Outcome::Dead
}

/// One request on its own stream, body read.
async fn one(send: SendRequest<Bytes>, uri: &str, until: Instant) -> Outcome {
    let work = async {
        let Ok(mut send) = send.ready().await else {
            return Outcome::Dead;
        };
        let Ok(req) = http::Request::get(uri)
            .header("user-agent", "attack-sim bench")
            .body(())
        else {
            return Outcome::NotOk;
        };
        let Ok((response, _)) = send.send_request(req, true) else {
            return Outcome::Dead;
        };
        let response = match response.await {
            Ok(response) => response,
            // Refused or cut by the server's GOAWAY before it took the stream: never
            // processed, so sent again on the next connection (RFC 9113, 8.7).
            Err(e) if e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM) => {
                return Outcome::Dead;
            }
            Err(_) => return Outcome::NotOk,
        };
        let ok = response.status().is_success();
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let Ok(chunk) = chunk else {
                return Outcome::NotOk;
            };
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        if ok { Outcome::Ok } else { Outcome::NotOk }
    };
    tokio::time::timeout_at(until + GRACE, work)
        .await
        .unwrap_or(Outcome::TimeUp)
}
