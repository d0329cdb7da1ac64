//! Plan files (`--plan attack-plan.toml`): everything the command line says, in one file a
//! team commits beside its server, plus what a command line cannot say well (probes with
//! headers and bodies, a login flow, setup steps). Unknown keys are refused by name; a flag
//! given on the command line wins over the plan; relative paths are relative to the plan's
//! folder. See `attack-sim/examples/plans/` for whole plans.
//!
//! ```toml
//! target = "https://127.0.0.1:8443"       # or: spawn = true
//! ca = "certs/ca.pem"                      # or pin = ["sha256//..."], or insecure = true
//! run = ["dos", "injection"]               # scenario names or kinds; none: all
//! intensity = "standard"
//! report_dir = "reports"
//! baseline = "reports-main/report.json"    # the regression gate
//! [slo]
//! max_p99_ratio = 3.0
//! [[probe]]
//! method = "GET"
//! path = "/"
//! [login]                                  # see crate::login
//! [[setup]]                                # see crate::scans::discovery::fixtures
//! [values]
//! [capacity]                               # for `attack-sim capacity`
//! scenario = "slowloris"
//! max = 4000
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::intensity::Intensity;
use crate::login::FlowSpec;
use crate::probe::ProbeSpec;
use crate::scans::discovery::fixtures::{Setup, SetupStep};
use crate::verdict::Slo;

/// A plan file, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// `https://HOST:PORT`.
    pub target: Option<String>,
    /// Start a fresh rampart instead.
    pub spawn: Option<bool>,
    /// The rampart binary for `spawn`.
    pub server_bin: Option<PathBuf>,
    /// A CA bundle or the server's own certificate.
    pub ca: Option<PathBuf>,
    /// SPKI pins, `sha256//BASE64`.
    #[serde(default)]
    pub pin: Vec<String>,
    /// Accept any certificate (shown in every report).
    pub insecure: Option<bool>,
    /// The target may be other than loopback.
    pub authorized_target: Option<bool>,
    /// Scenario names or kinds.
    #[serde(default)]
    pub run: Vec<String>,
    /// `smoke`, `standard` or `stress`.
    pub intensity: Option<Intensity>,
    /// Attack phase length, seconds.
    pub duration: Option<u64>,
    /// Attack source network.
    pub sources: Option<ipnet::Ipv4Net>,
    /// Where the reports go.
    pub report_dir: Option<PathBuf>,
    /// How long to wait for the target before each scenario.
    #[serde(default, with = "humantime_serde::option")]
    pub ready_wait: Option<Duration>,
    /// `auto`, `rampart`, `none`, `bearer:TOKEN`, `header:NAME=VALUE`.
    pub auth: Option<String>,
    /// The OpenAPI document: a URL on the target, or a file.
    pub openapi: Option<String>,
    /// The pages the `web` scans visit.
    #[serde(default)]
    pub pages: Vec<String>,
    /// An earlier report.json to compare with.
    pub baseline: Option<PathBuf>,
    /// Verdict thresholds.
    pub slo: Option<Slo>,
    /// The legitimate client's requests.
    #[serde(default)]
    pub probe: Vec<ProbeSpec>,
    /// A login flow.
    pub login: Option<FlowSpec>,
    /// Steps that make the scans' data after the login.
    #[serde(default)]
    pub setup: Vec<SetupStep>,
    /// Values for the scans' inputs, by name.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// For `attack-sim capacity`.
    pub capacity: Option<CapacityPlan>,
}

/// `[capacity]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityPlan {
    /// The scenario searched.
    pub scenario: Option<String>,
    /// The largest load tried.
    pub max: Option<u64>,
    /// The first load tried.
    pub start: Option<u64>,
}

/// Why a plan was refused.
#[derive(Debug, thiserror::Error)]
#[error("--plan {path}: {why}")]
pub struct PlanError {
    /// The file.
    pub path: String,
    /// What is wrong (an unknown key is named, with its line).
    pub why: String,
}

impl Plan {
    /// Reads and checks `path`; relative paths in it are made relative to its folder.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let err = |why: String| PlanError {
            path: path.display().to_string(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut plan = Plan::parse(&text).map_err(err)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let rebase = |p: &mut Option<PathBuf>| {
            if let Some(inner) = p
                && inner.is_relative()
            {
                *inner = dir.join(&*inner);
            }
        };
        rebase(&mut plan.ca);
        rebase(&mut plan.server_bin);
        rebase(&mut plan.report_dir);
        rebase(&mut plan.baseline);
        if let Some(o) = &plan.openapi
            && !o.contains("://")
            && Path::new(o).is_relative()
        {
            plan.openapi = Some(dir.join(o).display().to_string());
        }
        Ok(plan)
    }

    /// Parses a plan's text and checks what it declares.
    pub fn parse(text: &str) -> Result<Plan, String> {
        let plan: Plan = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        if plan.target.is_some() && plan.spawn == Some(true) {
            return Err("give target or spawn = true, not both".into());
        }
        if let Some(login) = &plan.login {
            crate::login::Flow::declared(login).map_err(|e| e.to_string())?;
        }
        if let Some(setup) = plan.declared_setup() {
            setup.check().map_err(|e| e.to_string())?;
            if plan.login.is_none() {
                return Err("[[setup]] and [values] need a [login] flow".into());
            }
        }
        for (i, p) in plan.probe.iter().enumerate() {
            crate::probe::Probe::from_spec(p, i + 1).map_err(|e| e.to_string())?;
        }
        Ok(plan)
    }

    /// The declared setup, when the plan has one.
    pub fn declared_setup(&self) -> Option<Setup> {
        (!self.setup.is_empty() || !self.values.is_empty()).then(|| Setup {
            steps: self.setup.clone(),
            values: self.values.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_plans_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plans");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("examples/plans") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                Plan::load(&path).unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
            }
        }
        assert!(seen >= 3, "{seen} plans in {}", dir.display());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        for (text, named) in [
            ("targt = \"https://localhost:1\"", "targt"),
            ("[slo]\nmax_p99 = 3.0", "max_p99"),
            ("[[probe]]\npath = \"/\"\nretries = 2", "retries"),
            (
                "[login]\nrequest = { path = \"/l\" }\ntoken = { json = \"/t\" }\nevery = \"6s\"",
                "every",
            ),
            (
                "[capacity]\nscenario = \"slowloris\"\nmaximum = 9",
                "maximum",
            ),
        ] {
            let e = Plan::parse(text).expect_err(text);
            assert!(e.contains(named), "{text}: {e}");
        }
    }

    #[test]
    fn plans_are_checked_beyond_their_shape() {
        let e = Plan::parse("target = \"https://h:1\"\nspawn = true").expect_err("both");
        assert!(e.contains("not both"), "{e}");
        let e = Plan::parse("[[setup]]\nname = \"x\"\nrequest = { path = \"/x\" }")
            .expect_err("no login");
        assert!(e.contains("[login]"), "{e}");
        let e = Plan::parse("[[probe]]\npath = \"/\"\nweight = 0").expect_err("weight");
        assert!(e.contains("weight"), "{e}");
        let e = Plan::parse("intensity = \"extreme\"").expect_err("intensity");
        assert!(e.contains("extreme"), "{e}");
    }

    #[test]
    fn relative_paths_are_the_plans_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plan.toml");
        std::fs::write(
            &path,
            "target = \"https://localhost:8443\"\nca = \"ca.pem\"\nreport_dir = \"/abs/reports\"\nopenapi = \"spec/api.json\"",
        )
        .expect("write");
        let plan = Plan::load(&path).expect("plan");
        assert_eq!(plan.ca, Some(dir.path().join("ca.pem")));
        assert_eq!(plan.report_dir, Some(PathBuf::from("/abs/reports")));
        assert_eq!(
            plan.openapi,
            Some(dir.path().join("spec/api.json").display().to_string())
        );
    }
}
