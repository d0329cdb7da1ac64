//! The `rampart-certs` command line: create and renew the dev set, issue a leaf for given
//! names, and check a pair, with errors that name the file.

use std::path::Path;
use std::process::Command;

fn run(cwd: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart-certs"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run rampart-certs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dev_issue_and_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (code, out, _) = run(d, &["dev", "--dir", "dev"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Created"), "{out}");
    let (_, out, _) = run(d, &["dev", "--dir", "dev"]);
    assert!(out.contains("Reused"), "{out}");
    let ca_before = std::fs::read(d.join("dev/ca.pem")).expect("ca");
    run(d, &["dev", "--dir", "dev", "--force"]);
    assert_ne!(std::fs::read(d.join("dev/ca.pem")).expect("ca"), ca_before);

    let (code, _, err) = run(
        d,
        &[
            "issue",
            "--ca-dir",
            "dev",
            "--name",
            "app.test",
            "--name",
            "127.0.0.2",
            "--out",
            "app",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, out, _) = run(d, &["check", "--cert", "app.pem", "--key", "app.key"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("key matches"), "{out}");
    // Issuing never overwrites an existing key.
    let (code, _, err) = run(
        d,
        &["issue", "--ca-dir", "dev", "--name", "x", "--out", "app"],
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("app.key"), "{err}");
    // A mismatched pair is named.
    let (code, _, err) = run(
        d,
        &["check", "--cert", "app.pem", "--key", "dev/server.key"],
    );
    assert_ne!(code, Some(0));
    assert!(
        err.contains("server.key") && err.contains("does not match"),
        "{err}"
    );
}
