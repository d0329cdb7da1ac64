//! The sandbox as a serving rampart has it: `rampart sandbox-check` puts itself in the same
//! sandbox as `serve` with the same configuration and tries what must be refused, each refused
//! by the rule meant for it (Landlock answers EACCES, seccomp EPERM), and everything allowed
//! with `sandbox.enabled = false`, so that each check is seen able to fail. A served process
//! shows `Seccomp: 2` and `NoNewPrivs: 1` while it serves the bank journey, reloads its
//! certificates and drains.

use crate::common;

use std::path::Path;

use common::api::Api;
use common::{Proc, bounded, database_url, rampart_cmd, write_proc_config};
use nix::sys::signal::Signal;

/// `rampart sandbox-check` with `config`, a listener of the test's own as the address the
/// server has no business connecting to, and `outside` as the folder to try writing in.
fn sandbox_check(dir: &Path, config: &Path, outside: &Path) -> (Option<i32>, Vec<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let connect = listener.local_addr().expect("addr").to_string();
    let out = rampart_cmd(
        dir,
        &[
            "sandbox-check",
            "--config",
            config.to_str().expect("utf8"),
            "--connect",
            &connect,
            "--outside",
            outside.to_str().expect("utf8"),
        ],
        &[],
    )
    .output()
    .expect("run sandbox-check");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (out.status.code(), lines)
}

#[test]
fn each_probe_is_refused_by_its_rule_and_allowed_without_the_sandbox() {
    let dir = tempfile::tempdir().expect("tmp");
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir(&outside).expect("mkdir");
    let db = format!("sqlite://{}", dir.path().join("data/rampart.db").display());
    let config = write_proc_config(dir.path(), &db, "");

    let (code, lines) = sandbox_check(dir.path(), &config, &outside);
    assert_eq!(code, Some(0), "{lines:#?}");
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let landlock = "(Permission denied (os error 13))";
    assert!(
        lines[0].starts_with("refused  read /etc/passwd") && lines[0].ends_with(landlock),
        "Landlock refuses what is not listed: {lines:#?}"
    );
    assert!(
        lines[1].starts_with("refused  write ") && lines[1].ends_with(landlock),
        "Landlock refuses writes outside the store: {lines:#?}"
    );
    assert!(
        lines[2].starts_with("refused  connect to 127.0.0.1:") && lines[2].ends_with(landlock),
        "Landlock refuses ports that are not configured: {lines:#?}"
    );
    assert_eq!(
        lines[3], "refused  execve /bin/sh (Operation not permitted (os error 1))",
        "seccomp refuses execve before Landlock is asked"
    );
    assert_eq!(std::fs::read_dir(&outside).expect("ls").count(), 0);

    // The same probes with the sandbox off: every one goes through.
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("[sandbox]\nenabled = false\n");
    std::fs::write(&config, text).expect("config");
    let (code, lines) = sandbox_check(dir.path(), &config, &outside);
    assert_eq!(code, Some(1), "{lines:#?}");
    let allowed: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(allowed, ["ALLOWED"; 4], "{lines:#?}");
    assert_eq!(lines[3], "ALLOWED  execve /bin/sh");
}

/// `rampart serve --config CONFIG` in `dir`.
fn serve(dir: &Path, config: &Path) -> Proc {
    Proc::spawn(
        dir,
        &["serve", "--config", config.to_str().expect("utf8")],
        &[],
    )
}

/// The `Seccomp` and `NoNewPrivs` lines of a process's status.
fn confinement(pid: u32) -> (String, String) {
    (
        status_field(pid, "Seccomp:"),
        status_field(pid, "NoNewPrivs:"),
    )
}

/// The bank journey, a certificate reload and a drain, sandboxed: on SQLite, and on
/// PostgreSQL when the suites run there (`TEST_DATABASE_BACKEND=postgres`, as `.ci/run` does).
#[tokio::test]
async fn a_sandboxed_server_serves_the_journey_reloads_and_drains() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let config = write_proc_config(dir.path(), &database_url(dir.path()), "");
        let mut p = serve(dir.path(), &config);
        let addr = p.wait_listening().await;
        p.wait_stderr("sandbox: system calls confined").await;
        let pid = p.child.id().expect("running");
        assert_eq!(
            confinement(pid),
            ("2".to_string(), "1".to_string()),
            "Seccomp: 2 (filter) and NoNewPrivs: 1"
        );
        let ca = dir.path().join("certs/ca.pem");
        let mut api = Api::open(addr, &ca).await;
        api.journey("sandboxed").await;

        p.signal(Signal::SIGHUP);
        p.wait_stderr("certificates reloaded").await;
        let mut again = Api::open(addr, &ca).await;
        let r = again.call("GET", "/healthz", None, None).await;
        assert_eq!(r.status, 200);

        p.signal(Signal::SIGTERM);
        p.wait_stderr("all connections drained").await;
        drop((api, again));
        assert_eq!(p.wait_exit().await, Some(0));
    })
    .await;
}

/// Whether to skip an identity test (they need root, which CI has), saying so.
fn skipped_unless_root() -> bool {
    let skip = !nix::unistd::geteuid().is_root();
    if skip {
        eprintln!("SKIPPED: needs root (CI runs as root)");
    }
    skip
}

/// A config in a folder that `nobody` may enter, with `process.user = "nobody"`.
fn as_nobody(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = format!("sqlite://{}", dir.join("data/rampart.db").display());
    let config = write_proc_config(dir, &db, "");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("[process]\nuser = \"nobody\"\n");
    std::fs::write(&config, text).expect("config");
    config
}

/// The value of `field` in a process's status, whitespace collapsed.
fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::test]
async fn started_as_root_with_process_user_it_binds_then_serves_as_that_user() {
    if skipped_unless_root() {
        return;
    }
    bounded(async {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tmp");
        let config = as_nobody(dir.path());
        let mut p = serve(dir.path(), &config);
        let addr = p.wait_listening().await;
        p.wait_stderr("running as process.user with no capabilities")
            .await;
        let pid = p.child.id().expect("running");
        assert_eq!(status_field(pid, "Uid:"), "65534 65534 65534 65534");
        assert_eq!(status_field(pid, "Gid:"), "65534 65534 65534 65534");
        assert_eq!(status_field(pid, "Groups:"), "65534");
        for set in ["CapPrm:", "CapEff:", "CapAmb:"] {
            assert_eq!(status_field(pid, set), "0000000000000000", "{set}");
        }
        let mut api = Api::open(addr, &dir.path().join("certs/ca.pem")).await;
        api.journey("nobody").await;
        let db = std::fs::metadata(dir.path().join("data/rampart.db")).expect("db");
        assert_eq!(db.uid(), 65534, "the store is made by the user it runs as");
        p.signal(Signal::SIGTERM);
        drop(api);
        assert_eq!(p.wait_exit().await, Some(0));
    })
    .await;
}

#[tokio::test]
async fn a_process_user_that_cannot_write_the_store_is_refused_before_serving() {
    if skipped_unless_root() {
        return;
    }
    bounded(async {
        use std::os::unix::fs::DirBuilderExt;
        let dir = tempfile::tempdir().expect("tmp");
        let config = as_nobody(dir.path());
        let data = dir.path().join("data");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&data)
            .expect("root's own store folder");
        let mut p = serve(dir.path(), &config);
        let line = p.wait_stderr("rampart: process.user").await;
        assert_eq!(
            line,
            format!(
                "rampart: process.user = \"nobody\" cannot write in {} (owner uid 0, group gid 0, mode 700)",
                data.display()
            )
        );
        assert_eq!(p.wait_exit().await, Some(2));
    })
    .await;
}

#[tokio::test]
async fn started_as_root_without_process_user_it_serves_and_warns_naming_the_setting() {
    if skipped_unless_root() {
        return;
    }
    bounded(async {
        let dir = tempfile::tempdir().expect("tmp");
        let config = write_proc_config(dir.path(), &database_url(dir.path()), "");
        let mut p = serve(dir.path(), &config);
        let line = p.wait_stderr("running as root").await;
        assert!(
            line.contains("WARN") && line.contains("process.user"),
            "{line}"
        );
        p.wait_listening().await;
        p.signal(Signal::SIGTERM);
        assert_eq!(p.wait_exit().await, Some(0));
    })
    .await;
}
