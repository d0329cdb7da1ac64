//! The command-line contract that exists so far: `list` succeeds, and asking for work this
//! build cannot do is a usage error (exit 2), never a silent success.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attack-sim"))
        .args(args)
        .output()
        .expect("run attack-sim");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_prints_the_table_header() {
    let (code, out, _) = run(&["list"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("NAME"), "{out}");
}

#[test]
fn run_without_scenarios_is_a_usage_error_not_a_pass() {
    let (code, _, err) = run(&["run", "slowloris"]);
    assert_eq!(code, Some(i32::from(attack_sim::exit::USAGE)));
    assert!(err.contains("slowloris"), "{err}");
    let (code, _, _) = run(&["bench"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = run(&["no-such-command"]);
    assert_eq!(code, Some(2), "clap usage errors are exit 2 too");
}
