//! rampart as systemd runs it: socket activation by `systemd-socket-activate` (the port bound
//! by the manager, the binary started on the first connection) and the notifications a
//! `Type=notify` unit waits for, read from a datagram socket of the test's own as
//! `NOTIFY_SOCKET`.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use common::api::Api;
use common::{Proc, bounded, rampart_bin, write_proc_config};
use nix::sys::signal::Signal;

/// The service manager's end of `NOTIFY_SOCKET`.
struct Manager {
    socket: tokio::net::UnixDatagram,
    /// `WATCHDOG=1` messages seen so far.
    fed: usize,
}

impl Manager {
    fn bind(path: &Path) -> Manager {
        let socket = UnixDatagram::bind(path).expect("notify socket");
        socket.set_nonblocking(true).expect("nonblocking");
        Manager {
            socket: tokio::net::UnixDatagram::from_std(socket).expect("tokio"),
            fed: 0,
        }
    }

    /// The next message other than `WATCHDOG=1` (bounded), counting those.
    async fn next(&mut self) -> String {
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let len = tokio::time::timeout_at(deadline, self.socket.recv(&mut buf))
                .await
                .expect("a notification other than the watchdog in time")
                .expect("recv");
            let message = String::from_utf8(buf[..len].to_vec()).expect("utf8");
            if message != "WATCHDOG=1\n" {
                return message;
            }
            self.fed += 1;
        }
    }

    /// Waits (bounded) until the watchdog has been fed `times` times in all.
    async fn fed(&mut self, times: usize) {
        let mut buf = vec![0u8; 4096];
        while self.fed < times {
            let len = tokio::time::timeout(Duration::from_secs(30), self.socket.recv(&mut buf))
                .await
                .expect("the watchdog fed in time")
                .expect("recv");
            assert_eq!(
                &buf[..len],
                b"WATCHDOG=1\n",
                "only the watchdog while serving"
            );
            self.fed += 1;
        }
    }
}

/// A loopback port that is free now.
fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct free ports: each stays bound until all are chosen (bound one at a time and
/// let go, two could be the same port, and the manager could then bind only one).
fn free_ports<const N: usize>() -> [u16; N] {
    let held: [std::net::TcpListener; N] =
        std::array::from_fn(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"));
    held.map(|l| l.local_addr().expect("addr").port())
}

/// `systemd-socket-activate -l 127.0.0.1:PORT… --fdname=NAMES -E NOTIFY_SOCKET=… rampart
/// serve --config …`: the manager binds each port and starts rampart on the first
/// connection.
fn socket_activated(
    dir: &Path,
    ports: &[u16],
    names: &str,
    notify: &Path,
    config: &Path,
) -> std::process::Command {
    let wrapper = "systemd-socket-activate";
    assert!(
        std::process::Command::new(wrapper)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "{wrapper} is not installed (Debian's `systemd` package; .ci/run installs it)"
    );
    let mut cmd = std::process::Command::new(wrapper);
    cmd.current_dir(dir).stdin(std::process::Stdio::null());
    for port in ports {
        cmd.arg(format!("--listen=127.0.0.1:{port}"));
    }
    cmd.arg(format!("--fdname={names}"))
        .arg(format!("--setenv=NOTIFY_SOCKET={}", notify.display()))
        // WatchdogSec=0.4s: fed every 0.2 s.
        .arg("--setenv=WATCHDOG_USEC=400000")
        .args([rampart_bin(), "serve", "--config"])
        .arg(config);
    common::without_rampart_env(&mut cmd);
    cmd
}

/// Connects once the manager holds the port (it starts rampart on this connection).
async fn first_connection(addr: std::net::SocketAddr, manager: &mut Proc) -> tokio::net::TcpStream {
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => return s,
            Err(_) => {
                // A manager that could not bind (another test took the port between
                // `free_port` and its bind) exits: say so now, not at the test's bound.
                if let Ok(Some(status)) = manager.child.try_wait() {
                    let mut said = Vec::new();
                    while let Ok(line) = manager.stderr.try_recv() {
                        said.push(line);
                    }
                    panic!("the socket manager exited ({status}) before {addr} listened: {said:?}");
                }
                tokio::time::sleep(Duration::from_millis(10)).await
            }
        }
    }
}

#[tokio::test]
async fn socket_activated_it_serves_the_inherited_socket_notifies_ready_watchdog_and_stopping_and_drains()
 {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let certs = rampart_certs::ensure_dev_set(&dir.path().join("certs"))
            .expect("dev certs")
            .0;
        let db = format!("sqlite://{}", dir.path().join("rampart.db").display());
        let config = write_proc_config(dir.path(), &db, "");
        let notify = dir.path().join("notify");
        let mut manager = Manager::bind(&notify);
        let port = free_port();
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let mut p = Proc::spawn_cmd(socket_activated(
            dir.path(),
            &[port],
            "https",
            &notify,
            &config,
        ));
        let first = first_connection(addr, &mut p).await;
        let ready = manager.next().await;
        assert!(ready.starts_with("READY=1\n"), "{ready:?}");
        assert!(
            ready.contains(&format!("STATUS=serving on https://127.0.0.1:{port}")),
            "{ready:?}"
        );
        let pid = p.child.id().expect("running");
        assert!(ready.contains(&format!("MAINPID={pid}\n")), "{ready:?}");
        let used = p.wait_stderr("using an inherited socket").await;
        assert!(
            used.contains("fd=3") && used.contains("name=https"),
            "{used}"
        );
        assert!(used.contains(&format!("addr=127.0.0.1:{port}")), "{used}");
        p.wait_stderr("the `listen` setting is not used").await;
        drop(first);

        let mut api = Api::open(addr, &certs.ca_cert).await;
        api.journey("activated").await;
        manager.fed(2).await;

        p.signal(Signal::SIGTERM);
        assert_eq!(
            manager.next().await,
            "STOPPING=1\nSTATUS=draining connections\n"
        );
        p.wait_stderr("all connections drained").await;
        drop(api);
        assert_eq!(p.wait_exit().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn two_inherited_sockets_neither_named_admin_are_refused_naming_them() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let db = format!("sqlite://{}", dir.path().join("rampart.db").display());
        let config = write_proc_config(dir.path(), &db, "");
        let notify = dir.path().join("notify");
        let _manager = Manager::bind(&notify);
        let [port, other] = free_ports();
        let mut p = Proc::spawn_cmd(socket_activated(
            dir.path(),
            &[port, other],
            "api:metrics",
            &notify,
            &config,
        ));
        let _first = first_connection(([127, 0, 0, 1], port).into(), &mut p).await;
        let line = p.wait_stderr("rampart: socket activation").await;
        assert_eq!(
            line,
            "rampart: socket activation: expected one API socket (and at most one named \
             `admin`), got [\"api\", \"metrics\"]"
        );
        assert_eq!(p.wait_exit().await, Some(2));
    })
    .await;
}

/// The repository's `deploy/systemd`.
fn units_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd")
}

/// A file-system root for `systemd-analyze --root` with rampart installed by
/// `deploy/systemd/install.sh` (with the PostgreSQL drop-in when `postgresql`), beside
/// systemd's own units and the `kill` that `ExecReload=` names.
fn installed_root(postgresql: bool) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tmp");
    let r = root.path();
    std::fs::create_dir_all(r.join("usr/lib/systemd")).expect("mkdir");
    std::fs::create_dir_all(r.join("bin")).expect("mkdir");
    let status = std::process::Command::new("cp")
        .args(["-r", "/usr/lib/systemd/system"])
        .arg(r.join("usr/lib/systemd"))
        .status()
        .expect("cp");
    assert!(status.success(), "copy systemd's units");
    std::fs::copy("/bin/kill", r.join("bin/kill")).expect("kill");
    let mut install = std::process::Command::new(units_dir().join("install.sh"));
    if postgresql {
        install.arg("--postgresql");
    }
    let out = install
        .arg(rampart_bin())
        .env("DESTDIR", r)
        .output()
        .expect("install.sh");
    assert!(out.status.success(), "install.sh: {out:?}");
    let settings = r.join("etc/rampart/rampart.toml");
    let check = common::rampart_cmd(r, &["check-config", settings.to_str().expect("utf8")], &[])
        .output()
        .expect("check-config");
    assert!(check.status.success(), "the installed settings: {check:?}");
    root
}

/// `systemd-analyze ARGS --root=ROOT`: exit code, stdout and stderr.
fn analyze(root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new("systemd-analyze")
        .args(args)
        .arg(format!("--root={}", root.display()))
        .output()
        .expect("systemd-analyze (Debian's `systemd` package; .ci/run installs it)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The overall exposure `systemd-analyze security` printed for rampart.service.
fn exposure(stdout: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for rampart.service:"))
        .unwrap_or_else(|| panic!("no overall exposure in {stdout}"));
    let value = line.rsplit(':').next().expect("value").trim();
    value
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("exposure in {line:?}"))
}

/// Verifies the installed units (clean: no output at all) and returns the exposure
/// `systemd-analyze security --threshold=THRESHOLD` gives, asserting it passed.
fn verified_exposure(root: &Path, threshold: &str) -> f64 {
    let (code, out, err) = analyze(root, &["verify", "rampart.service", "rampart.socket"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "verify");
    let threshold = format!("--threshold={threshold}");
    let (code, out, err) = analyze(
        root,
        &["security", "--offline=true", &threshold, "rampart.service"],
    );
    assert_eq!(code, 0, "{threshold}: {out}{err}");
    exposure(&out)
}

/// The units verify clean, score 1.0 or less (1.5 or less with the PostgreSQL drop-in), and
/// the same threshold fails a unit with none of their settings.
#[test]
fn the_units_verify_clean_and_score_at_most_one_and_the_postgresql_drop_in_one_and_a_half() {
    let sqlite = verified_exposure(installed_root(false).path(), "10");
    assert!(sqlite <= 1.0, "{sqlite}");
    let root = installed_root(true);
    let postgres = verified_exposure(root.path(), "15");
    assert!(
        postgres <= 1.5 && postgres > sqlite,
        "{postgres} vs {sqlite}"
    );

    // The gate can fail: the same command on a unit with only its ExecStart.
    let plain = root.path().join("etc/systemd/system/rampart.service");
    std::fs::write(
        &plain,
        "[Service]\nExecStart=/usr/local/bin/rampart serve\n",
    )
    .expect("plain unit");
    std::fs::remove_dir_all(root.path().join("etc/systemd/system/rampart.service.d"))
        .expect("no drop-ins");
    let (code, out, _) = analyze(
        root.path(),
        &[
            "security",
            "--offline=true",
            "--threshold=10",
            "rampart.service",
        ],
    );
    assert_ne!(code, 0, "a bare unit passes the threshold: {out}");
    assert!(exposure(&out) > 9.0, "{out}");
}
