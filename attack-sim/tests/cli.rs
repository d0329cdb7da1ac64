//! The command-line contract: `list` names every scenario; bad input is a usage error (exit 2)
//! that names what was wrong, never a silent success.

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
fn list_names_every_scenario() {
    let (code, out, _) = run(&["list"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("NAME"), "{out}");
    for s in attack_sim::scenarios::ALL {
        assert!(out.contains(s.name) && out.contains(s.description), "{out}");
    }
}

#[test]
fn bad_input_is_a_usage_error_that_names_it() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "run",
                "no-such-scenario",
                "--target",
                "https://127.0.0.1:1",
                "--ca",
                "x",
            ],
            "no-such-scenario",
        ),
        (
            &[
                "run",
                "slowloris",
                "--target",
                "https://192.0.2.1:443",
                "--ca",
                "x",
            ],
            "--authorized-target",
        ),
        (
            &["run", "slowloris", "--target", "127.0.0.1:1"],
            "https://HOST:PORT",
        ),
        (
            &["run", "slowloris", "--target", "https://127.0.0.1:1"],
            "--ca",
        ),
        (
            &[
                "run",
                "slowloris",
                "--target",
                "https://127.0.0.1:1",
                "--ca",
                "/nonexistent/ca.pem",
            ],
            "/nonexistent/ca.pem",
        ),
        (
            &[
                "run",
                "slowloris",
                "--spawn",
                "--server-bin",
                "/nonexistent/rampart",
            ],
            "/nonexistent/rampart",
        ),
        (&["run", "slowloris"], "--target"),
        (
            &["run", "--spawn", "--target", "https://127.0.0.1:1"],
            "cannot be used with",
        ),
        (
            &[
                "bench",
                "--target",
                "https://127.0.0.1:1",
                "--server-pid",
                "4294967295",
            ],
            "--server-pid 4294967295",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("attack-sim-slo-{}", std::process::id()));
    std::fs::write(&dir, "min_succes = 0.5\n").expect("write");
    let typo = dir.to_str().expect("utf-8").to_string();
    let slo_cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "run",
                "--target",
                "https://127.0.0.1:1",
                "--slo",
                "/nonexistent/slo.toml",
            ],
            "/nonexistent/slo.toml",
        ),
        (
            vec!["run", "--target", "https://127.0.0.1:1", "--slo", &typo],
            "min_succes",
        ),
    ];
    for (args, needle) in &slo_cases {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = std::fs::remove_file(&dir);
    for (args, needle) in cases {
        let (code, _, err) = run(args);
        assert_eq!(
            code,
            Some(i32::from(attack_sim::exit::USAGE)),
            "{args:?}: {err}"
        );
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, _) = run(&["bench"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = run(&["no-such-command"]);
    assert_eq!(code, Some(2), "clap usage errors are exit 2 too");
}
