//! Two `rampart` instances on one PostgreSQL behind HAProxy, started from the repository's own
//! `deploy/haproxy/haproxy.cfg` (TCP mode, PROXY protocol v2, TLS health checks):
//! - per-client request limits count the original client addresses HAProxy relays (many
//!   127.x sources), not HAProxy's: the instances exempt HAProxy's own address (for its health
//!   checks), so limits keyed on the proxy would never refuse anyone;
//! - a session opened through one instance keeps working after that instance is killed, and
//!   new clients are all served by the other;
//! - an instance killed under transfers from eight clients (which reconnect and resend with
//!   the same `Idempotency-Key` on a connection error): only what was in flight on it fails,
//!   HAProxy's health checks take it out within 3 s, every client is served after the kill,
//!   and every acknowledged transfer is applied once.
//!
//! Needs the `haproxy` binary and PostgreSQL (`TEST_POSTGRES_URL`), so it is
//! `#[ignore]`d and reported as skipped without them; `.ci/run` installs HAProxy and runs it.

use crate::common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::api::{Api, GOOD_PASSWORD};
use common::{Conn, Proc, pg};
use hyper::StatusCode;
use nix::sys::signal::Signal;

/// The proxy's address as the instances see it (HAProxy connects from 127.0.0.1).
const PROXY_NET: &str = "127.0.0.1/32";

/// Limits of the first test: one relayed client's budget is small enough to spend.
const TIGHT: &str = "requests_per_second_per_client = 1\nrequest_burst_per_client = 4";

/// An instance's config: PROXY v2 from HAProxy, whose own address (its health checks) is
/// exempt, and `limits` (TOML lines of the `[limits]` table).
fn write_config(dir: &Path, db: &str, limits: &str) -> std::path::PathBuf {
    common::write_proc_config(
        dir,
        db,
        &format!(
            "proxy_protocol = true\ntrusted_proxies = [\"{PROXY_NET}\"]\n\
             exempt = [\"{PROXY_NET}\"]\n{limits}"
        ),
    )
}

/// A loopback port nothing listens on right now (for HAProxy's frontend).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

fn client(n: u8, m: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 9, n, m))
}

/// One GET /healthz on a fresh connection from `src` through the load balancer.
async fn health_from(src: IpAddr, lb: SocketAddr, ca: &Path) -> Option<StatusCode> {
    let mut c = Conn::open_from(src, lb, ca, &[b"h2"]).await.ok()?;
    Some(c.get("/healthz").await.ok()?.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs haproxy and PostgreSQL (TEST_POSTGRES_URL); .ci/run runs it"]
async fn limits_key_on_relayed_clients_and_the_service_survives_an_instance() {
    tokio::time::timeout(Duration::from_secs(90), run())
        .await
        .expect("the HAProxy test exceeded its time bound");
}

/// Two instances on a fresh PostgreSQL schema behind HAProxy, up and answering.
struct Cluster {
    _dir: tempfile::TempDir,
    a: Proc,
    b: Proc,
    haproxy: tokio::process::Child,
    lb: SocketAddr,
    ca: std::path::PathBuf,
}

impl Cluster {
    async fn start(limits: &str) -> Cluster {
        let dir = tempfile::tempdir().expect("tmp");
        let config = write_config(dir.path(), &pg::fresh_url(), limits);
        let args = ["serve", "--config", config.to_str().expect("utf8")];
        // A first, so that it makes the dev CA and leaf that B then loads.
        let mut a = Proc::spawn(dir.path(), &args, &[]);
        let a_addr = a.wait_listening().await;
        let mut b = Proc::spawn(dir.path(), &args, &[]);
        let b_addr = b.wait_listening().await;
        let ca = dir.path().join("certs/ca.pem");

        let lb: SocketAddr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy/haproxy.cfg");
        let mut haproxy = tokio::process::Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&cfg)
            .env("LB_BIND", lb.to_string())
            .env("LB_INSTANCE_A", a_addr.to_string())
            .env("LB_INSTANCE_B", b_addr.to_string())
            .env("LB_CA_FILE", &ca)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("haproxy (apt-get install haproxy)");

        // HAProxy is up when a request through it is answered.
        let mut up = false;
        for n in 0..100u8 {
            if health_from(client(0, n + 1), lb, &ca).await == Some(StatusCode::OK) {
                up = true;
                break;
            }
            if let Ok(Some(status)) = haproxy.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = haproxy.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = e.read_to_string(&mut err).await;
                }
                panic!("haproxy exited: {status}\n{err}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "nothing answered through HAProxy at {lb}");
        Cluster {
            _dir: dir,
            a,
            b,
            haproxy,
            lb,
            ca,
        }
    }
}

async fn run() {
    let Cluster {
        _dir,
        mut a,
        b,
        mut haproxy,
        lb,
        ca,
    } = Cluster::start(TIGHT).await;

    // One relayed client spends its budget (burst 4, 1/s) and is refused; others are not.
    let mut greedy = Conn::open_from(client(1, 1), lb, &ca, &[b"h2"])
        .await
        .expect("connect");
    let mut refused = 0;
    for _ in 0..8 {
        if greedy.get("/healthz").await.expect("get").status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(
        refused >= 3,
        "the relayed client was refused {refused} of 8 times: limits did not count it"
    );
    for m in 2..6 {
        assert_eq!(
            health_from(client(1, m), lb, &ca).await,
            Some(StatusCode::OK),
            "127.9.1.{m} paid for 127.9.1.1"
        );
    }

    // A session opened through the balancer (on whichever instance) ...
    let mut api = Api::open_from(client(2, 1), lb, &ca).await;
    let token = api.user("survivor").await;
    drop(api);

    // ... survives one instance being killed, and every new client is served.
    a.signal(Signal::SIGKILL);
    a.child.wait().await.expect("a exited");
    for m in 1..=20 {
        assert_eq!(
            health_from(client(3, m), lb, &ca).await,
            Some(StatusCode::OK),
            "client 127.9.3.{m} after instance A died"
        );
    }
    let mut api = Api::open_from(client(2, 2), lb, &ca).await;
    let r = api.call("GET", "/v1/me", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.json()["username"], "survivor");
    let r = api.login("survivor", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED);

    drop(b);
    let _ = haproxy.start_kill();
}

/// What one paying client saw.
#[derive(Debug, Default)]
struct Paid {
    /// Transfers answered 201, by key.
    acknowledged: Vec<String>,
    /// Of those, acknowledged after the kill.
    after_kill: usize,
    /// Connection errors (the request or the connection failed), and when the last was.
    errors: u32,
    last_error: Option<tokio::time::Instant>,
}

/// Transfers of 1.00 from `from` to `to` through the balancer, from address 127.9.4.`k`,
/// until `stop`; a failed connection is opened again and the same transfer sent again with
/// its `Idempotency-Key`, as a client that retries on connection errors does.
async fn pay(
    k: u8,
    lb: SocketAddr,
    ca: std::path::PathBuf,
    token: String,
    body: serde_json::Value,
    killed: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Paid {
    let mut paid = Paid::default();
    let auth = format!("Bearer {token}");
    let mut conn: Option<Conn> = None;
    for i in 0.. {
        if *stop.borrow() {
            break;
        }
        let key = format!("c{k}-{i}");
        let mut done = false;
        for _ in 0..100 {
            if conn.is_none() {
                conn = Conn::open_from(client(4, k), lb, &ca, &[b"h2"]).await.ok();
            }
            let Some(c) = conn.as_mut() else {
                paid.errors += 1;
                paid.last_error = Some(tokio::time::Instant::now());
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let headers = [
                ("authorization", auth.as_str()),
                ("idempotency-key", key.as_str()),
            ];
            match c.send("POST", "/v1/transfers", &headers, Some(&body)).await {
                Ok(r) => {
                    assert_eq!(r.status, StatusCode::CREATED, "{key}: {:?}", r.body);
                    paid.acknowledged.push(key.clone());
                    if killed.borrow().is_some() {
                        paid.after_kill += 1;
                    }
                    done = true;
                    break;
                }
                Err(_) => {
                    paid.errors += 1;
                    paid.last_error = Some(tokio::time::Instant::now());
                    conn = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        assert!(done, "{key}: not acknowledged in 100 attempts");
    }
    paid
}

/// HAProxy's health checks (every 500 ms, down after 2 failures) take a dead instance out
/// within this; no client sees an error later than this after the kill.
const TAKEN_OUT_WITHIN: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs haproxy and PostgreSQL (TEST_POSTGRES_URL); .ci/run runs it"]
async fn an_instance_killed_under_transfers_loses_nothing_acknowledged() {
    tokio::time::timeout(Duration::from_secs(90), killed_under_transfers())
        .await
        .expect("the HAProxy test exceeded its time bound");
}

async fn killed_under_transfers() {
    // Budgets out of the way: this is about the instance, not the limits.
    let cluster = Cluster::start(
        "requests_per_second_per_client = 100000\nrequest_burst_per_client = 100000\n\
         requests_per_second_per_user = 100000\nrequest_burst_per_user = 100000",
    )
    .await;
    let (lb, ca) = (cluster.lb, cluster.ca.clone());
    let mut api = Api::open_from(client(4, 100), lb, &ca).await;
    let token = api.user("payer").await;
    let from = api.open_account(&token, "Checking").await;
    let to = api.open_account(&token, "Savings").await;
    let r = api.deposit(&token, &from, "100000.00").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let body = serde_json::json!({"from_account": from, "to_account": to, "amount": "1.00"});

    let (kill_tx, kill_rx) = tokio::sync::watch::channel(None);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let payers: Vec<_> = (1..=8u8)
        .map(|k| {
            tokio::spawn(pay(
                k,
                lb,
                ca.clone(),
                token.clone(),
                body.clone(),
                kill_rx.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.a.signal(Signal::SIGKILL);
    let killed = tokio::time::Instant::now();
    kill_tx.send_replace(Some(killed));
    tokio::time::sleep(TAKEN_OUT_WITHIN + Duration::from_secs(2)).await;
    stop_tx.send_replace(true);

    let mut acknowledged = 0usize;
    let (mut errors, mut last_error) = (0u32, None);
    for (k, p) in payers.into_iter().enumerate() {
        let paid = p.await.expect("payer");
        assert!(
            paid.after_kill > 0,
            "client {}: served after the kill",
            k + 1
        );
        acknowledged += paid.acknowledged.len();
        errors += paid.errors;
        last_error = last_error.max(paid.last_error);
    }
    let out = last_error.map(|t| t.saturating_duration_since(killed));
    assert!(
        out.is_none_or(|d| d < TAKEN_OUT_WITHIN),
        "a client saw an error {out:?} after the kill"
    );
    // Every acknowledged transfer applied once, and nothing else: money is conserved.
    assert_eq!(
        api.balance(&token, &to).await,
        format!("{acknowledged}.00"),
        "the acknowledged transfers, each once"
    );
    assert_eq!(
        api.balance(&token, &from).await,
        format!("{}.00", 100_000 - acknowledged)
    );
    eprintln!(
        "instance killed under 8 paying clients: {acknowledged} transfers acknowledged, \
         {errors} connection errors, the last {out:?} after the kill"
    );
    drop(api);
    let Cluster { mut haproxy, .. } = cluster;
    let _ = haproxy.start_kill();
}
