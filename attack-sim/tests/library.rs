//! The whole run is the library's: `attack_sim::campaign::run` with a `Config`, as a team
//! would embed the harness in its own test suite, makes the same run, reports and exit code
//! as the command line; its usage errors come back as values that name what was wrong.

use crate::common;

use attack_sim::campaign::{self, Config, TargetSpec};
use common::{Rampart, report, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_a_library_call() {
    let rampart = Rampart::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::new(
        TargetSpec::Url(rampart.url.clone()),
        Some(rampart.ca.clone()),
    );
    cfg.selection = vec!["tls-wrong-sni".into(), "security-headers".into()];
    cfg.report_dir = dir.path().to_path_buf();
    let code = campaign::run(&cfg).await.expect("the run is made");
    assert_eq!(code, attack_sim::exit::OK);
    let r = report(dir.path());
    assert_eq!(scenario(&r, "tls-wrong-sni")["verdict"], "passed", "{r}");
    assert_eq!(scenario(&r, "security-headers")["verdict"], "passed", "{r}");
    assert_eq!(r["tls_verified"], true);

    cfg.selection = vec!["no-such-scenario".into()];
    let e = campaign::run(&cfg).await.expect_err("unknown scenario");
    assert_eq!(e.exit_code(), attack_sim::exit::USAGE);
    assert!(e.to_string().contains("no-such-scenario"), "{e}");
}
