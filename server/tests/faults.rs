//! Faults survived: the database going away or refusing writes. A request that needs the
//! database then gets 503 problem+json with `Retry-After` within a bound (never a 500, never
//! a hang), `/readyz` says 503 while the database cannot be reached, service returns by
//! itself when the database does, and nothing acknowledged is lost.
//!
//! - SQLite whose write lock is held elsewhere (another process, a backup): writes are refused
//!   after the busy timeout, reads go on, and writes work again once the lock is released.
//! - PostgreSQL cut off (ignored without `TEST_POSTGRES_URL`): a relay between rampart and the
//!   database stops forwarding and drops new connections, under transfers, then forwards again.
//! - PostgreSQL black-holed (the same relay keeps every connection open and forwards nothing,
//!   one transfer caught in the middle of its transaction): only `http.handler_timeout` ends
//!   the requests; without it the one in flight hangs for as long as the link does.
//! - SQLite on a full disk (ignored by default: it mounts a small tmpfs, which needs root;
//!   `.ci/run` runs it): writes are refused, reads go on, the database stays intact, and
//!   writes work again once space returns.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::api::Api;
use common::{Reply, TestServer, bounded, pg};
use hyper::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// The most a request may take while the database is away: the pool's acquire timeout (5 s)
/// or SQLite's busy timeout (5 s), and a margin for two loaded cores.
const FAIL_WITHIN: Duration = Duration::from_secs(10);

/// A 503 problem+json with `Retry-After`, that names nothing of the database.
fn assert_unavailable(r: &Reply, what: &str) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {:?}",
        r.body
    );
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "{what}"
    );
    let wait: u32 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("Retry-After in seconds");
    assert!(wait >= 1, "{what}: Retry-After {wait}");
    let text = String::from_utf8_lossy(&r.body).to_lowercase();
    for leak in [
        "sqlx", "sqlite", "postgres", "pool", "lock", "select", "insert",
    ] {
        assert!(!text.contains(leak), "{what}: {leak} leaked: {text}");
    }
}

async fn within(what: &str, f: impl Future<Output = Reply>) -> Reply {
    tokio::time::timeout(FAIL_WITHIN, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {FAIL_WITHIN:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refusing_writes_is_503_with_retry_after_and_reads_go_on() {
    bounded(async {
        // SQLite whichever backend the other suites run on.
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("rampart.db");
        let s = TestServer::start_in(dir, |c| {
            c.database.url = format!("sqlite://{}", file.display());
        })
        .await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let checking = api.open_account(&alice, "Checking").await;
        // Another connection takes the write lock and keeps it.
        let mut lock = common::hold_sqlite_write_lock(&s.db_url).await;
        let asked = tokio::time::Instant::now();
        let r = within(
            "a write",
            api.call(
                "POST",
                "/v1/accounts",
                Some(&alice),
                Some(json!({"name": "Savings"})),
            ),
        )
        .await;
        assert_unavailable(&r, "a write while the lock is held");
        eprintln!("write lock held elsewhere: 503 after {:?}", asked.elapsed());
        let r = within(
            "a read",
            api.call("GET", "/v1/accounts", Some(&alice), None),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "reads go on: {:?}", r.body);
        assert_eq!(r.json()["items"].as_array().expect("items").len(), 1);
        let r = common::get_once(s.addr, &s.ca, &[b"h2"], "/readyz").await;
        assert_eq!(r.status, StatusCode::OK, "the database answers reads");
        // Released: writes work again at once, with no restart.
        sqlx::query("ROLLBACK")
            .execute(&mut lock)
            .await
            .expect("release");
        api.open_account(&alice, "Savings").await;
        assert_eq!(api.balance(&alice, &checking).await, "0.00");
    })
    .await;
}

#[tokio::test]
async fn a_closed_database_is_503_with_retry_after_and_readyz_says_so() {
    bounded(async {
        let s = TestServer::start(|_| {}).await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let t = api.user("alice").await;
        s.running.db().close().await;
        let r = within("a read", api.call("GET", "/v1/accounts", Some(&t), None)).await;
        assert_unavailable(&r, "a read on a closed pool");
        assert_eq!(r.json()["status"], 503);
        let r = common::get_once(s.addr, &s.ca, &[b"h2"], "/readyz").await;
        assert_unavailable(&r, "/readyz");
    })
    .await;
}

/// A transfer of `body` under a new idempotency key, remembered in `keys`.
async fn transfer(api: &mut Api, token: &str, body: &Value, keys: &mut Vec<String>) -> Reply {
    let key = format!("k{}", keys.len());
    let r = within("a transfer", api.transfer(token, &key, body)).await;
    keys.push(key);
    r
}

/// What the relay does with the traffic it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Forwards both ways.
    Up,
    /// Drops the connections it carries and every new one (as a database that stopped does).
    Cut,
    /// Keeps every connection open and forwards nothing, either way (a partition, a
    /// black-holed route: nothing is refused, nothing answers), until the link is up again;
    /// what was sent meanwhile is then delivered.
    Stalled,
}

/// A TCP relay to the database whose link can be cut or stalled.
struct Relay {
    addr: SocketAddr,
    link: Arc<watch::Sender<Link>>,
    task: tokio::task::JoinHandle<()>,
}

/// Copies `from` to `to` while the link allows; returns when either side closes or the link
/// is cut.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut link: watch::Receiver<Link>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            n = from.read(&mut buf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = link.wait_for(|l| *l == Link::Cut) => return,
        };
        // Held here while stalled; the peer's further writes back up in the kernel.
        match link.wait_for(|l| *l != Link::Stalled).await {
            Ok(l) if *l == Link::Up => {}
            _ => return,
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("addr");
        let link = Arc::new(watch::Sender::new(Link::Up));
        let state = link.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if *state.borrow() == Link::Cut {
                    drop(client);
                    continue;
                }
                let link = state.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pump(client_read, server_write, link.clone()),
                        pump(server_read, client_write, link),
                    );
                });
            }
        });
        Relay { addr, link, task }
    }

    fn cut(&self) {
        self.link.send_replace(Link::Cut);
    }

    fn stall(&self) {
        self.link.send_replace(Link::Stalled);
    }

    fn restore(&self) {
        self.link.send_replace(Link::Up);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `url` with its `host:port` replaced by `addr`, and the `host:port` it had.
fn through(url: &str, addr: SocketAddr) -> (String, SocketAddr) {
    let at = url.find('@').expect("user@host in the URL") + 1;
    let end = at + url[at..].find('/').expect("/database in the URL");
    let target: SocketAddr = url[at..end]
        .parse()
        .expect("the test PostgreSQL is given by IP address and port");
    (format!("{}{addr}{}", &url[..at], &url[end..]), target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
async fn postgres_cut_off_is_503_with_retry_after_and_service_returns_with_it() {
    bounded(outage(Link::Cut, FAIL_WITHIN)).await;
}

/// The handler deadline of the black-hole test: requests must fail within it and a margin.
const BLACK_HOLE_DEADLINE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
async fn postgres_black_holed_is_503_at_the_handler_deadline_and_service_returns_with_it() {
    // Nothing refused, nothing answered: the pool has its connections and the queries on them
    // wait; only `http.handler_timeout` ends them (without it, they hang until TCP gives up).
    bounded(outage(Link::Stalled, BLACK_HOLE_DEADLINE * 2)).await;
}

/// Transfers and reads against PostgreSQL through a relay whose link then fails as `fault`
/// says: each request answered 503 within `fail_within`, `/readyz` 503, service back within
/// 15 s of the link, and every refused transfer applied once when retried with its key.
async fn outage(fault: Link, fail_within: Duration) {
    let url = pg::fresh_url();
    let (_, target) = through(&url, "127.0.0.1:1".parse().expect("addr"));
    let relay = Relay::start(target).await;
    let (via, _) = through(&url, relay.addr);
    let s = TestServer::start(|c| {
        c.database.url = via;
        c.limits.exempt = vec!["127.0.0.0/8".parse().expect("net")];
        if fault == Link::Stalled {
            c.http.handler_timeout = BLACK_HOLE_DEADLINE;
        }
    })
    .await;
    let mut api = Api::open(s.addr, &s.ca).await;
    let alice = api.user("alice").await;
    let from = api.open_account(&alice, "Checking").await;
    let to = api.open_account(&alice, "Savings").await;
    let r = api.deposit(&alice, &from, "100.00").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let body = json!({"from_account": from, "to_account": to, "amount": "1.00"});
    let mut keys = Vec::new();
    for _ in 0..3 {
        let r = transfer(&mut api, &alice, &body, &mut keys).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }

    let mut slowest = Duration::ZERO;
    match fault {
        Link::Cut => relay.cut(),
        Link::Stalled => {
            // One transfer is in the middle of its transaction when the link stalls (held on
            // a lock taken elsewhere until then), so its answer never comes: only the
            // handler's deadline ends it. The requests after it find no answer either, from
            // the pool's check of a connection before handing it out (bounded by the acquire
            // timeout, 5 s) or from their queries.
            let stalled = Instant::now();
            let r = in_flight_when_stalled(&s, &url, &relay, &alice, &body, &mut keys).await;
            assert_unavailable(&r, "a transfer in flight when the link stalled");
            slowest = stalled.elapsed();
        }
        Link::Up => unreachable!("not a fault"),
    }
    for _ in 0..3 {
        let asked = tokio::time::Instant::now();
        let r = transfer(&mut api, &alice, &body, &mut keys).await;
        assert_unavailable(&r, &format!("a transfer while the link is {fault:?}"));
        slowest = slowest.max(asked.elapsed());
        let asked = tokio::time::Instant::now();
        let r = within(
            "a read",
            api.call("GET", "/v1/accounts", Some(&alice), None),
        )
        .await;
        assert_unavailable(&r, &format!("a read while the link is {fault:?}"));
        slowest = slowest.max(asked.elapsed());
    }
    assert!(
        slowest < fail_within,
        "a request took {slowest:?} to fail while the link was {fault:?}"
    );
    let r = common::get_once(s.addr, &s.ca, &[b"h2"], "/readyz").await;
    assert_unavailable(&r, &format!("/readyz while the link is {fault:?}"));

    relay.restore();
    let back = tokio::time::Instant::now();
    loop {
        let r = api.call("GET", "/v1/accounts", Some(&alice), None).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert_unavailable(&r, "a read while the pool reconnects");
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "service did not return within 15 s of the database"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "{fault:?}: each transfer and read answered 503 within {slowest:?}; service back \
             {:?} after the link",
        back.elapsed()
    );
    let r = common::get_once(s.addr, &s.ca, &[b"h2"], "/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    // A client retries what was refused, with the same keys: each transfer applies once.
    for key in &keys {
        let r = within("a retry", api.transfer(&alice, key, &body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{key}: {:?}", r.body);
    }
    let moved = keys.len();
    assert_eq!(
        api.balance(&alice, &from).await,
        format!("{}.00", 100 - moved)
    );
    assert_eq!(api.balance(&alice, &to).await, format!("{moved}.00"));
    let r = api
        .call(
            "GET",
            &format!("/v1/accounts/{to}/transactions"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let page = r.json();
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), moved, "each transfer once: {items:?}");
}

/// A transfer that is held inside its transaction (on a table lock taken by another
/// session) when `relay` stalls; the lock is then released, so that only the link keeps its
/// answer from rampart. Its reply.
async fn in_flight_when_stalled(
    s: &TestServer,
    url: &str,
    relay: &Relay,
    token: &str,
    body: &Value,
    keys: &mut Vec<String>,
) -> Reply {
    use sqlx::Connection;
    let mut locker = sqlx::PgConnection::connect(url).await.expect("connect");
    for sql in ["BEGIN", "LOCK TABLE accounts IN EXCLUSIVE MODE"] {
        sqlx::query(sql).execute(&mut locker).await.expect(sql);
    }
    let mut api = Api::open(s.addr, &s.ca).await;
    let key = format!("k{}", keys.len());
    keys.push(key.clone());
    let (token, body) = (token.to_string(), body.clone());
    let pending = tokio::spawn(async move { api.transfer(&token, &key, &body).await });
    let waiting = "SELECT count(*) FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND datname = current_database()";
    let deadline = Instant::now() + FAIL_WITHIN;
    loop {
        let (n,): (i64,) = sqlx::query_as(waiting)
            .fetch_one(&mut locker)
            .await
            .expect("pg_stat_activity");
        if n > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the transfer never waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    relay.stall();
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("release the lock");
    tokio::time::timeout(FAIL_WITHIN, pending)
        .await
        .expect("no answer to the transfer in flight when the link stalled")
        .expect("transfer task")
}

/// A small filesystem of the test's own: a tmpfs of `size` mounted on a fresh folder, and
/// unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> SmallFs {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (this test needs root): {}",
            dir.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        SmallFs { dir }
    }

    /// Writes a file until the filesystem is full; the file, to delete when space returns.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 4096];
        // Bounded: a tmpfs of a few MiB is full after a few thousand chunks.
        for _ in 0..1_000_000 {
            if f.write_all(&chunk).and_then(|()| f.sync_all()).is_err() {
                return path;
            }
        }
        panic!("the filesystem never filled up");
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a small tmpfs, which needs root: .ci/run runs it"]
async fn sqlite_on_a_full_disk_refuses_writes_keeps_reads_and_loses_nothing() {
    bounded(async {
        let fs = SmallFs::mount("8m");
        let db = fs.dir.path().join("rampart.db");
        let url = format!("sqlite://{}", db.display());
        let s = TestServer::start(|c| {
            c.database.url = url.clone();
            c.limits.exempt = vec!["127.0.0.0/8".parse().expect("net")];
        })
        .await;
        let mut api = Api::open(s.addr, &s.ca).await;
        let alice = api.user("alice").await;
        let account = api.open_account(&alice, "Checking").await;
        let deposit =
            async |api: &mut Api| within("a deposit", api.deposit(&alice, &account, "1.00")).await;
        let mut acknowledged = 0u32;
        for _ in 0..5 {
            let r = deposit(&mut api).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            acknowledged += 1;
        }

        let filler = fs.fill();
        // Writes go on while what SQLite already holds on disk has room, then are refused.
        let mut refused = None;
        for _ in 0..2_000 {
            let r = deposit(&mut api).await;
            if r.status == StatusCode::CREATED {
                acknowledged += 1;
                continue;
            }
            assert_unavailable(&r, "a deposit on a full disk");
            refused = Some(r);
            break;
        }
        assert!(
            refused.is_some(),
            "2,000 deposits on a full disk were all accepted"
        );
        let r = within(
            "a read",
            api.call("GET", "/v1/accounts", Some(&alice), None),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "reads go on: {:?}", r.body);
        let r = deposit(&mut api).await;
        assert_unavailable(&r, "a second deposit on a full disk");
        let mut check = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("open the database");
        let verdict: (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&mut check)
            .await
            .expect("integrity check");
        assert_eq!(verdict.0, "ok", "the database is intact on a full disk");

        std::fs::remove_file(&filler).expect("space returns");
        let r = deposit(&mut api).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "writes work again: {:?}",
            r.body
        );
        acknowledged += 1;
        assert_eq!(
            api.balance(&alice, &account).await,
            format!("{acknowledged}.00"),
            "every acknowledged deposit, and nothing refused"
        );
        let verdict: (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&mut check)
            .await
            .expect("integrity check");
        assert_eq!(verdict.0, "ok");
        eprintln!(
            "full disk: {acknowledged} deposits acknowledged in all, writes refused then resumed"
        );
        drop(check);
        drop(s);
    })
    .await;
}
