//! The `rampart` binary as an operator runs it: first start on the embedded defaults,
//! SIGHUP certificate reload, SIGTERM drain and exit status, and the errors for bad
//! configuration and bad PEM files.

use crate::common;

use std::path::Path;

use common::{Conn, Proc, bounded, rampart_cmd};
use hyper::StatusCode;
use nix::sys::signal::Signal;
use rampart_certs::{DevCa, issue_leaf};

#[tokio::test]
async fn first_run_on_defaults_creates_certs_and_database_and_serves() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        // The embedded default except the port, so tests can run in parallel.
        let mut p = Proc::spawn(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
        let addr = p.wait_listening().await;
        let hint = p.next_stdout().await.expect("curl hint");
        assert_eq!(
            hint,
            format!("try: curl --cacert certs/dev/ca.pem https://{addr}/healthz")
        );
        let ca = dir.path().join("certs/dev/ca.pem");
        assert!(dir.path().join("data/rampart.db").exists());
        for key in ["certs/dev/ca.key", "certs/dev/server.key"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(key))
                .expect("key exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
        let mut c = Conn::open(addr, &ca, &[b"h2"]).await.expect("connect");
        assert_eq!(c.get("/healthz").await.expect("get").status, StatusCode::OK);
        drop(c);
        p.signal(Signal::SIGTERM);
        assert_eq!(p.wait_exit().await, Some(0));
    })
    .await;
}

fn write_leaf(ca: &DevCa, cert: &Path, key: &Path) {
    let (c, k) = issue_leaf(ca, &["localhost".into(), "127.0.0.1".into()], 30).expect("leaf");
    std::fs::write(key, k).expect("write key");
    std::fs::write(cert, c).expect("write cert");
}

#[tokio::test]
async fn sighup_reloads_certificates_and_keeps_open_connections() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let ca = DevCa::generate().expect("ca");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, &ca.cert_pem).expect("ca");
        let (cert, key) = (dir.path().join("leaf.pem"), dir.path().join("leaf.key"));
        write_leaf(&ca, &cert, &key);
        let config = dir.path().join("rampart.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
                cert.display(),
                key.display()
            ),
        )
        .expect("config");
        let mut p = Proc::spawn(
            dir.path(),
            &["serve", "--config", config.to_str().expect("utf8")],
            &[],
        );
        let addr = p.wait_listening().await;

        let mut old = Conn::open(addr, &ca_path, &[b"http/1.1"])
            .await
            .expect("connect");
        assert_eq!(
            old.get("/healthz").await.expect("get").status,
            StatusCode::OK
        );
        let first = old.peer_cert.clone();

        write_leaf(&ca, &cert, &key);
        p.signal(Signal::SIGHUP);
        p.wait_stderr("certificates reloaded").await;
        let fresh = Conn::open(addr, &ca_path, &[b"h2"]).await.expect("connect");
        assert_ne!(
            fresh.peer_cert, first,
            "new connections get the new certificate"
        );
        let second = fresh.peer_cert.clone();
        // The connection opened before the reload still works.
        assert_eq!(
            old.get("/healthz").await.expect("get").status,
            StatusCode::OK
        );

        // A broken file is logged and the current certificate stays.
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").expect("break");
        p.signal(Signal::SIGHUP);
        let line = p.wait_stderr("certificate reload failed").await;
        assert!(line.contains("leaf.pem"), "error names the file: {line}");
        let after = Conn::open(addr, &ca_path, &[b"h2"])
            .await
            .expect("still serving");
        assert_eq!(after.peer_cert, second);

        p.signal(Signal::SIGTERM);
        assert_eq!(p.wait_exit().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn sigterm_and_sigint_drain_and_exit_zero() {
    bounded(async {
        for sig in [Signal::SIGTERM, Signal::SIGINT] {
            let dir = tempfile::tempdir().expect("tmp");
            let mut p = Proc::spawn(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
            let addr = p.wait_listening().await;
            let ca = dir.path().join("certs/dev/ca.pem");
            // An idle keep-alive connection must not keep the process alive.
            let mut c = Conn::open(addr, &ca, &[b"http/1.1"])
                .await
                .expect("connect");
            assert_eq!(c.get("/healthz").await.expect("get").status, StatusCode::OK);
            p.signal(sig);
            p.wait_stderr("all connections drained").await;
            assert_eq!(p.wait_exit().await, Some(0), "{sig}");
        }
    })
    .await;
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let mut p = Proc::spawn(
            dir.path(),
            &["serve", "--listen", "127.0.0.1:0", "--log-format", "json"],
            &[],
        );
        p.wait_listening().await;
        p.signal(Signal::SIGTERM);
        p.wait_stderr("all connections drained").await;
        assert_eq!(p.wait_exit().await, Some(0));
        while let Ok(line) = p.stderr.try_recv() {
            p.seen_stderr.push(line);
        }
        assert!(p.seen_stderr.len() >= 3, "{:?}", p.seen_stderr);
        for line in &p.seen_stderr {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(
                v.get("level").is_some() && v.get("timestamp").is_some(),
                "{line}"
            );
        }
    })
    .await;
}

/// Runs `rampart check-config` on `text` and returns (exit code, stdout, stderr).
fn check_config(text: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("rampart.toml");
    std::fs::write(&f, text).expect("write");
    let out = rampart_cmd(dir.path(), &["check-config", "rampart.toml"], env)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_prints_the_effective_config() {
    let (code, out, _) = check_config(
        "listen = \"127.0.0.1:9443\"\n[tls]\nprofile = \"modern\"\n",
        &[("RAMPART_LOG__FORMAT", "json")],
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("listen = \"127.0.0.1:9443\""), "{out}");
    assert!(out.contains("profile = \"modern\""), "{out}");
    assert!(out.contains("format = \"json\""), "env applied: {out}");
    assert!(
        out.contains("handshake_timeout = \"5s\""),
        "defaults shown: {out}"
    );
}

/// The preflight after the configuration: each problem one line on stderr naming the key and
/// the file or address, exit 2; a sound setup all `ok:` lines and exit 0.
#[test]
fn check_config_preflight_names_each_problem_and_exits_2() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let ca = DevCa::generate().expect("ca");
    let (cert, key) = (dir.path().join("leaf.pem"), dir.path().join("leaf.key"));
    write_leaf(&ca, &cert, &key);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let config = |listen: std::net::SocketAddr| {
        format!(
            "listen = \"{listen}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n[database]\nurl = \"sqlite://{}\"\n",
            cert.display(),
            key.display(),
            dir.path().join("bank.db").display()
        )
    };
    let (code, out, err) = check_config(&config("127.0.0.1:0".parse().expect("addr")), &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    let preflight: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "# preflight")
        .skip(1)
        .collect();
    assert_eq!(preflight.len(), 4, "{out}");
    assert!(preflight.iter().all(|l| l.starts_with("ok: ")), "{out}");
    assert!(
        preflight[0].contains("matches tls.key; expires on "),
        "{out}"
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, _, err) = check_config(&config(taken.local_addr().expect("addr")), &[]);
    assert_eq!(code, Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "error: tls.key {}: readable by others (mode 644); chmod o-r it (600 or 640)",
                key.display()
            ),
            format!(
                "error: listen {}: already in use",
                taken.local_addr().expect("addr")
            ),
        ]
    );
}

#[test]
fn check_config_names_the_bad_key_and_reason() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 6] = [
        (
            "[tls]\nprofle = \"modern\"\n",
            &[],
            &["tls.profle", "unknown key"],
        ),
        ("[tls]\nprofile = \"ssl3\"\n", &[], &["tls.profile", "ssl3"]),
        (
            "listen = \"localhost\"\n",
            &[],
            &["`listen`", "socket address"],
        ),
        (
            "[tls]\nhandshake_timeout = \"0s\"\n",
            &[],
            &["tls.handshake_timeout", "between"],
        ),
        (
            "listen = [\n",
            &[],
            &["rampart.toml", "invalid TOML", "line"],
        ),
        (
            "",
            &[("RAMPART_TLS__PROFILE", "ssl3")],
            &["tls.profile", "RAMPART_TLS__PROFILE"],
        ),
    ];
    for (text, env, needles) in cases {
        let (code, _, err) = check_config(text, env);
        assert_eq!(code, Some(2), "{text:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{text:?}: expected {n:?} in {err:?}");
        }
    }
}

#[tokio::test]
async fn bad_pem_files_stop_start_up_with_the_file_named() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let ca = DevCa::generate().expect("ca");
        let (cert, key) = (dir.path().join("leaf.pem"), dir.path().join("leaf.key"));
        write_leaf(&ca, &cert, &key);
        let (_, other_key) = issue_leaf(&ca, &["x".into()], 30).expect("leaf");
        let other = dir.path().join("other.key");
        std::fs::write(&other, other_key).expect("w");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("w");
        let enc = dir.path().join("enc.key");
        std::fs::write(
            &enc,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .expect("w");
        let missing = dir.path().join("missing.pem");
        let s = |p: &Path| p.to_str().expect("utf8").to_string();
        let cases = [
            (s(&missing), s(&key), "missing.pem: file not found"),
            (s(&empty), s(&key), "empty.pem: no certificate found"),
            (s(&key), s(&key), "leaf.key: no certificate found"),
            (s(&cert), s(&cert), "leaf.pem: no private key found"),
            (s(&cert), s(&enc), "enc.key: the private key is encrypted"),
            (
                s(&cert),
                s(&other),
                "other.key: the private key does not match",
            ),
        ];
        for (c, k, needle) in cases {
            let mut cmd = tokio::process::Command::from(rampart_cmd(
                dir.path(),
                &["serve", "--listen", "127.0.0.1:0"],
                &[("RAMPART_TLS__CERT", &c), ("RAMPART_TLS__KEY", &k)],
            ));
            cmd.kill_on_drop(true);
            // A server that wrongly started would never exit: bound the wait.
            let out = tokio::time::timeout(std::time::Duration::from_secs(20), cmd.output())
                .await
                .expect("rampart exits on a bad PEM file")
                .expect("run");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{needle}: {err}");
            assert!(err.contains(needle), "expected {needle:?} in {err}");
        }
    })
    .await;
}
