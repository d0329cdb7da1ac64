//! Two `rampart` instances on one PostgreSQL behind HAProxy, started from the repository's own
//! `deploy/haproxy/haproxy.cfg` (TCP mode, PROXY protocol v2, TLS health checks):
//! - per-client request limits count the original client addresses HAProxy relays (many
//!   127.x sources), not HAProxy's: the instances exempt HAProxy's own address (for its health
//!   checks), so limits keyed on the proxy would never refuse anyone;
//! - a session opened through one instance keeps working after that instance is killed, and
//!   new clients are all served by the other.
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

fn write_config(dir: &Path, db: &str) -> std::path::PathBuf {
    common::write_proc_config(
        dir,
        db,
        &format!(
            "proxy_protocol = true\ntrusted_proxies = [\"{PROXY_NET}\"]\n\
             exempt = [\"{PROXY_NET}\"]\n\
             requests_per_second_per_client = 1\nrequest_burst_per_client = 4"
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

async fn run() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = write_config(dir.path(), &pg::fresh_url());
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
