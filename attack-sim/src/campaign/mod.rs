//! A whole run, as `attack-sim run` (and `capacity`) makes it: reach the target (or start a
//! rampart), check that the harness can talk TLS to it, read its OpenAPI document, settle
//! how to authenticate and what the legitimate client asks for, then run each selected
//! scenario in turn, waiting before each for the target to answer again, and write the
//! reports. The command line (or a plan file, [`crate::plan`]) only fills in a [`Config`].
//!
//! [`capacity`] searches for the load where a scenario stops holding; [`regression`]
//! compares a run with an earlier one's report.

pub mod capacity;
pub mod regression;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::dos::runner::{self, ScenarioResult};
use crate::exit;
use crate::intensity::{Intensity, Preset};
use crate::login::{AuthMode, Flow, FlowSpec};
use crate::outcome::Outcome;
use crate::probe::readiness;
use crate::probe::{FreshConnections, Mix, Probe};
use crate::report::json::Report;
use crate::report::progress::Progress;
use crate::report::{RunInfo, html, junit, sarif, scorecard};
use crate::scans::discovery::fixtures::{Auth, Setup};
use crate::scans::discovery::{self, Source};
use crate::scans::http::Http;
use crate::scans::{self, ScanCtx, ScanResult};
use crate::scenarios::{self, Run, Scenario};
use crate::sources::{self, Sources};
use crate::spawn::{Spawned, sampler};
use crate::target::Target;
use crate::trust::{self, Trust};
use crate::verdict::{self, Slo};

/// Where the target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// `https://HOST:PORT`.
    Url(String),
    /// A fresh rampart started by the harness (`--spawn`), from this binary.
    Spawn(PathBuf),
}

/// Everything a run needs, resolved from the command line and a plan file.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scenario names or kinds; none means all.
    pub selection: Vec<String>,
    /// The target.
    pub target: TargetSpec,
    /// Which certificates to accept.
    pub trust: Trust,
    /// A target that is not loopback is allowed.
    pub authorized_target: bool,
    /// How hard and how long.
    pub intensity: Intensity,
    /// Attack phase length in seconds (overrides the intensity's).
    pub duration: Option<u64>,
    /// Attack source network.
    pub sources: ipnet::Ipv4Net,
    /// Where the reports go.
    pub report_dir: PathBuf,
    /// Verdict thresholds.
    pub slo: Slo,
    /// `--auth`.
    pub auth: AuthMode,
    /// A declared login flow (a plan's `[login]`), which `--auth` then defaults to.
    pub login: Option<FlowSpec>,
    /// Declared setup steps and input values (a plan's `[[setup]]` and `[values]`).
    pub setup: Option<Setup>,
    /// The OpenAPI document: a URL on the target or a file.
    pub openapi: Option<String>,
    /// The pages the `web` scans visit (`--page`, a plan's `pages`); none: their default.
    pub pages: Vec<String>,
    /// The legitimate client's probes; none: the default (see [`Probe::default_for`]).
    pub probes: Vec<Probe>,
    /// How long to wait for the target before each scenario (default: the intensity's).
    pub ready_wait: Option<Duration>,
    /// An earlier run's report.json to compare with.
    pub baseline: Option<PathBuf>,
}

impl Config {
    /// A config for `target` with every other setting at its default (trusting `ca`).
    pub fn new(target: TargetSpec, ca: Option<PathBuf>) -> Config {
        Config {
            selection: Vec::new(),
            target,
            trust: Trust {
                ca,
                ..Trust::default()
            },
            authorized_target: false,
            intensity: Intensity::Standard,
            duration: None,
            sources: sources::DEFAULT_NET.parse().expect("a valid network"),
            report_dir: PathBuf::from("reports"),
            slo: Slo::default(),
            auth: AuthMode::Auto,
            login: None,
            setup: None,
            openapi: None,
            pages: Vec::new(),
            probes: Vec::new(),
            ready_wait: None,
            baseline: None,
        }
    }
}

/// Why a run could not be made (exit code 2, or 3 for an unreachable target).
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The command line or plan is wrong.
    #[error("{0}")]
    Usage(String),
    /// The harness cannot talk TLS to the target as told to trust it.
    #[error("cannot talk TLS to {target}: {why}")]
    Trust {
        /// The URL.
        target: String,
        /// In words.
        why: String,
    },
    /// Nothing answers there.
    #[error("cannot reach {target}: {why}")]
    Unreachable {
        /// The URL.
        target: String,
        /// The error.
        why: String,
    },
    /// The reports could not be written.
    #[error("cannot write the reports in {dir}: {why}")]
    Reports {
        /// Where.
        dir: String,
        /// The error.
        why: String,
    },
}

impl CampaignError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CampaignError::Unreachable { .. } => exit::INCONCLUSIVE,
            _ => exit::USAGE,
        }
    }
}

fn usage(e: impl std::fmt::Display) -> CampaignError {
    CampaignError::Usage(e.to_string())
}

/// How the run reaches its target, once it is up.
pub struct Reach {
    /// Where.
    pub target: Target,
    /// Its TLS client.
    pub client: Client,
    /// The attack's addresses.
    pub sources: Sources,
    /// The harness's own rampart, with `--spawn`.
    pub spawned: Option<Spawned>,
}

impl Reach {
    /// The spawned server's pid.
    pub fn pid(&self) -> Option<u32> {
        self.spawned.as_ref().map(|s| s.pid)
    }

    /// Stops a spawned server, keeping its log in `report_dir`.
    pub async fn stop(self, report_dir: &Path) {
        if let Some(s) = self.spawned {
            let log = report_dir.join("rampart.log");
            let ended = s.stop(Some(&log)).await;
            println!(
                "attack-sim: rampart stopped ({ended}); its log: {}",
                log.display()
            );
        }
    }
}

/// Starts a rampart when asked, resolves the target and checks that a TLS handshake works.
pub async fn reach(cfg: &Config, preset: &Preset, scans: bool) -> Result<Reach, CampaignError> {
    let mut spawned = None;
    let (url, trust) = match &cfg.target {
        TargetSpec::Url(url) => (url.clone(), cfg.trust.clone()),
        TargetSpec::Spawn(bin) => {
            // The scanners' network skips rampart's rate limits (a scan runs at full speed
            // while the DoS scenarios still meet every limit).
            let exempt: Vec<ipnet::IpNet> = if scans {
                vec![sources::SCANNER_NET.parse().expect("a valid network")]
            } else {
                Vec::new()
            };
            let s = Spawned::start(bin, &exempt).await.map_err(usage)?;
            println!(
                "attack-sim: started {} (pid {}) at {}",
                bin.display(),
                s.pid,
                s.url
            );
            let trust = Trust {
                ca: Some(s.ca.clone()),
                ..Trust::default()
            };
            let url = s.url.clone();
            spawned = Some(s);
            (url, trust)
        }
    };
    let target = Target::resolve(&url, cfg.authorized_target).map_err(usage)?;
    let client = Client::new(&target, &trust, &[b"http/1.1"]).map_err(usage)?;
    let sources = Sources::new(cfg.sources, preset.sources).map_err(usage)?;
    // First contact: one handshake, so that a certificate the harness may not trust is
    // named now, in words, rather than as every scenario's failure.
    let first = tokio::time::timeout(
        Duration::from_secs(10),
        client.tls_from(sources::PROBE_ADDR),
    )
    .await;
    let failed = |why: String, is_tls: bool| {
        if is_tls {
            CampaignError::Trust {
                target: url.clone(),
                why,
            }
        } else {
            CampaignError::Unreachable {
                target: url.clone(),
                why,
            }
        }
    };
    match first {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(match trust::explain(&e, &target.host) {
                Some(words) => failed(words, true),
                None => failed(e.to_string(), false),
            });
        }
        Err(_) => return Err(failed("no TLS handshake within 10 s".into(), false)),
    }
    Ok(Reach {
        target,
        client,
        sources,
        spawned,
    })
}

/// What the run knows of the target before it starts: its document, how to log in, what
/// the legitimate client asks for.
pub struct Known {
    /// The OpenAPI document, when there is one.
    pub doc: Option<serde_json::Value>,
    /// How the scans authenticate.
    pub auth: Auth,
    /// The setup after the scans' login.
    pub setup: Setup,
    /// The legitimate client's mix (its address set per scenario).
    pub mix: Mix,
    /// What the harness decided in the user's place, in words.
    pub notes: Vec<String>,
}

/// Reads the document and settles authentication and the probes; registers the legitimate
/// client's user when DoS scenarios are selected and there is a login flow.
pub async fn know(cfg: &Config, reach: &Reach, dos: bool) -> Result<Known, CampaignError> {
    let mut notes = Vec::new();
    let source = discovery::source(&reach.target, cfg.openapi.as_deref()).map_err(usage)?;
    let http = Http::new(reach.client.clone(), sources::scanner_addr(0));
    let doc = match discovery::document(&http, &source).await {
        Ok(doc) => Some(doc),
        Err(e) => {
            if cfg.openapi.is_some() {
                return Err(usage(e));
            }
            if !matches!(source, Source::File(_)) {
                notes.push(format!("no OpenAPI document: {e}"));
            }
            None
        }
    };
    let rampart_routes = doc.as_ref().and_then(rampart_missing);
    let flow: Option<Flow> = match (&cfg.login, &cfg.auth) {
        (Some(spec), AuthMode::Auto | AuthMode::Rampart) => {
            Some(Flow::declared(spec).map_err(usage)?)
        }
        (Some(_), other) => {
            return Err(usage(format!(
                "the plan declares a [login] flow and --auth is {other:?}: use one"
            )));
        }
        (None, AuthMode::Rampart) => match (&doc, rampart_routes) {
            (Some(_), None) => Some(Flow::rampart()),
            (Some(_), Some(route)) => {
                return Err(usage(format!(
                    "--auth rampart: the target's OpenAPI document has no `{route}` (rampart's flow needs POST /v1/users, POST /v1/sessions and GET /v1/accounts)"
                )));
            }
            (None, _) => {
                return Err(usage(
                    "--auth rampart: the target has no OpenAPI document to find rampart's flow in",
                ));
            }
        },
        (None, AuthMode::Auto) => (doc.is_some() && rampart_routes.is_none()).then(Flow::rampart),
        (None, _) => None,
    };
    let auth = match (&flow, &cfg.auth) {
        (Some(f), _) => Auth::Flow(Arc::new(f.clone())),
        (None, AuthMode::Bearer(token)) => {
            Auth::Static("Authorization".into(), format!("Bearer {token}"))
        }
        (None, AuthMode::Header(name, value)) => Auth::Static(name.clone(), value.clone()),
        (None, _) => Auth::None,
    };
    let setup = match (&cfg.setup, &flow) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) if f.name == "rampart" => Setup::rampart(),
        _ => Setup::default(),
    };
    let probes = if cfg.probes.is_empty() {
        let mut health = Probe::default_for(doc.as_ref());
        let mut probes = Vec::new();
        let accounts_listed = doc
            .as_ref()
            .is_some_and(|d| d["paths"][crate::probe::ACCOUNTS_PATH]["get"].is_object());
        if flow.as_ref().is_some_and(|f| f.name == "rampart") && accounts_listed {
            health.weight = 2;
            probes.push(health);
            probes.push(Probe::rampart_accounts());
        } else {
            if dos && health.request.path == "/" {
                notes.push(
                    "legitimate client: GET / (the target lists no GET /healthz; --probe chooses another)"
                        .into(),
                );
            }
            probes.push(health);
        }
        probes
    } else {
        cfg.probes.clone()
    };
    let mut mix = Mix {
        probes,
        ..Mix::default()
    };
    if dos && let Some(f) = &flow {
        let needs_session = mix.probes.iter().any(|p| p.auth) || f.login_every.is_some();
        if needs_session {
            let fresh = FreshConnections {
                client: reach.client.clone(),
                from: sources::PROBE_ADDR,
            };
            let session = f
                .establish(&fresh, "probe")
                .await
                .map_err(|e| usage(format!("the legitimate client's login: {e}")))?;
            mix.session = Some((Arc::new(f.clone()), session));
        }
    } else if mix.probes.iter().any(|p| p.auth) && dos {
        return Err(usage(
            "a probe with auth = true needs a login flow (--auth rampart, or the plan's [login])",
        ));
    }
    Ok(Known {
        doc,
        auth,
        setup,
        mix,
        notes,
    })
}

/// Which of the routes rampart's flow needs `doc` lacks, if any.
pub fn rampart_missing(doc: &serde_json::Value) -> Option<&'static str> {
    [
        (crate::login::USERS_PATH, "post", "POST /v1/users"),
        (crate::login::SESSIONS_PATH, "post", "POST /v1/sessions"),
        (crate::probe::ACCOUNTS_PATH, "get", "GET /v1/accounts"),
    ]
    .into_iter()
    .find(|(path, method, _)| doc["paths"][path][method].is_null())
    .map(|(_, _, name)| name)
}

/// Descriptors above its idle count a spawned server may hold and be called settled (database
/// and log files come and go).
const SETTLE_MARGIN_FDS: u64 = 16;

/// Runs `cfg`'s scenarios; writes the reports; returns the exit code.
pub async fn run(cfg: &Config) -> Result<u8, CampaignError> {
    let selected = scenarios::select(&cfg.selection).map_err(usage)?;
    let preset = preset_of(cfg);
    let dos = selected.iter().any(|s| matches!(s.run, Run::Dos(_)));
    let scans = selected.iter().any(|s| matches!(s.run, Run::Scan(_)));
    let earlier = match &cfg.baseline {
        Some(path) => Some(regression::Earlier::load(path).map_err(usage)?),
        None => None,
    };
    raise_open_files(&preset);
    let reach = reach(cfg, &preset, scans).await?;
    let result = run_reached(cfg, &preset, &selected, &reach, dos, earlier.as_ref()).await;
    reach.stop(&cfg.report_dir).await;
    result
}

/// The preset of `cfg`'s intensity, with its overrides.
pub fn preset_of(cfg: &Config) -> Preset {
    let mut preset = cfg.intensity.preset(cfg.duration);
    if let Some(w) = cfg.ready_wait {
        preset.ready_wait = w;
    }
    preset
}

/// Raises the open-files limit, saying so when it caps a run of `preset`.
pub fn raise_open_files(preset: &Preset) {
    match crate::raise_open_files() {
        Ok(limit) if limit < preset.connections as u64 + 256 => eprintln!(
            "attack-sim: the open-files limit ({limit}) caps this run below {} connections",
            preset.connections
        ),
        Ok(_) => {}
        Err(e) => eprintln!("attack-sim: cannot raise the open-files limit: {e}"),
    }
}

async fn run_reached(
    cfg: &Config,
    preset: &Preset,
    selected: &[Scenario],
    reach: &Reach,
    dos: bool,
    earlier: Option<&regression::Earlier>,
) -> Result<u8, CampaignError> {
    let known = know(cfg, reach, dos).await?;
    let started_at = time::OffsetDateTime::now_utc();
    let run = RunInfo {
        target: reach.target.url.clone(),
        started_at: RunInfo::timestamp(started_at),
        intensity: cfg.intensity,
        slo: cfg.slo,
        tls_verified: cfg.trust.verified() || matches!(cfg.target, TargetSpec::Spawn(_)),
        trust: match &cfg.target {
            TargetSpec::Spawn(_) => "the spawned rampart's development CA".into(),
            TargetSpec::Url(_) => cfg.trust.describe(),
        },
        legit_client: dos.then(|| known.mix.describe()),
        notes: known.notes.clone(),
    };
    header(&run, selected.len(), reach, dos, cfg.intensity);
    let (results, setup_notes) = scenarios_in_turn(cfg, preset, selected, reach, &known).await;
    println!();
    print!("{}", scorecard::table(&results));
    let mut run = run;
    for n in &setup_notes {
        println!("attack-sim: note: {n}");
    }
    run.notes.extend(setup_notes);
    let comparison = earlier.map(|e| e.compare(&results, None));
    write_reports(&cfg.report_dir, &run, &results, None, comparison.as_ref())?;
    if let Some(c) = &comparison {
        print!("{}", regression::describe(c));
    }
    let verdicts: Vec<_> = results.iter().map(Outcome::verdict).collect();
    Ok(with_regressions(
        crate::exit_code(&verdicts),
        comparison.as_ref(),
    ))
}

/// The run's header lines.
fn header(run: &RunInfo, count: usize, reach: &Reach, dos: bool, intensity: Intensity) {
    // The intensity sizes the DoS scenarios only; a run of scans does not name one.
    let intensity = if dos {
        format!(", intensity {intensity:?}")
    } else {
        String::new()
    };
    println!(
        "attack-sim: {count} scenario(s) against {} ({}){intensity}",
        reach.target.url, reach.target.addr,
    );
    if !run.tls_verified {
        println!("attack-sim: {}", run.trust);
    }
    if let Some(legit) = &run.legit_client {
        println!("attack-sim: legitimate client: {legit}");
    }
    for n in &run.notes {
        println!("attack-sim: note: {n}");
    }
}

/// Each scenario in turn, the target given time to come back before each; the outcomes, and
/// what the scans' setup skipped.
pub async fn scenarios_in_turn(
    cfg: &Config,
    preset: &Preset,
    selected: &[Scenario],
    reach: &Reach,
    known: &Known,
) -> (Vec<Outcome>, Vec<String>) {
    let mut results: Vec<Outcome> = Vec::new();
    let shared = scans::SharedDiscovery::default();
    // A spawned server's descriptors when idle: before each later scenario it is given time
    // to close the last one's connections, so that they do not weigh on the next baseline.
    let idle_fds = reach.pid().and_then(sampler::read).map(|r| r.fds);
    let mut last_dos: Option<usize> = None;
    for (i, s) in selected.iter().enumerate() {
        if let (Some(pid), Some(fds), true) = (reach.pid(), idle_fds, i > 0)
            && sampler::settle(pid, fds + SETTLE_MARGIN_FDS)
                .await
                .is_none()
        {
            println!(
                "attack-sim: the server still holds more than {} descriptors after {} s; going on",
                fds + SETTLE_MARGIN_FDS,
                sampler::SETTLE_LIMIT.as_secs()
            );
        }
        let from = sources::probe_addr(i);
        let mix = Mix {
            from,
            ..known.mix.clone()
        };
        // After a DoS scenario whose baseline the probe passed, wait for the probe to pass
        // again: the scenario may have left the target down. (Before the first scenario, or
        // after one whose probe never passed, there is nothing to wait for.)
        let ready = match last_dos.map(|j| &results[j]) {
            Some(Outcome::Dos(prev)) if verdict::baseline_holds(&prev.legit.baseline, &cfg.slo) => {
                let ready = readiness::wait(
                    &reach.client,
                    &mix,
                    from,
                    preset.ready_wait,
                    preset.probe_timeout,
                )
                .await;
                if let Some(Outcome::Dos(prev)) = last_dos.map(|j| &mut results[j]) {
                    prev.after = Some(ready);
                    if let Some(line) = aftermath(prev) {
                        println!("attack-sim: {line}");
                    }
                }
                Some(ready)
            }
            _ => None,
        };
        let down_since = last_dos.map(|j| results[j].name());
        println!("running {} ({}) ...", s.name, s.kind);
        let outcome = match (s.run, ready) {
            (Run::Dos(_), Some(ready)) if !ready.ready => {
                Outcome::Dos(Box::new(ScenarioResult::not_run(s, ready, down_since)))
            }
            (Run::Dos(_), _) => {
                let progress =
                    Progress::start(s.name, preset.baseline + preset.attack + preset.recovery);
                let mut r = runner::run(
                    s,
                    &reach.client,
                    &mix,
                    &reach.sources,
                    *preset,
                    &cfg.slo,
                    reach.pid(),
                    progress.on_tick(),
                )
                .await;
                progress.finish();
                r.before = ready;
                Outcome::Dos(Box::new(r))
            }
            (Run::Scan(_), Some(ready)) if !ready.ready => Outcome::Scan(ScanResult::not_run(
                s,
                format!(
                    "the target did not answer the legitimate client within {:.0} s{}: not scanned",
                    ready.limit_ms / 1000.0,
                    down_since.map_or(String::new(), |d| format!(" (down since {d})"))
                ),
            )),
            (Run::Scan(run), _) => {
                let ctx = ScanCtx {
                    client: reach.client.clone(),
                    target: reach.target.clone(),
                    from: sources::scanner_addr(i),
                    openapi: cfg.openapi.clone(),
                    pages: cfg.pages.clone(),
                    auth: known.auth.clone(),
                    setup: Arc::new(known.setup.clone()),
                    discovery: shared.clone(),
                };
                Outcome::Scan(scans::run(s.name, s.kind, run, ctx).await)
            }
        };
        println!("{}", scorecard::line(&outcome));
        if matches!(outcome, Outcome::Dos(_)) {
            last_dos = Some(results.len());
        } else {
            last_dos = None;
        }
        results.push(outcome);
    }
    // After the last DoS scenario: did it leave the target down?
    if let Some(j) = last_dos
        && let Outcome::Dos(prev) = &mut results[j]
        && verdict::baseline_holds(&prev.legit.baseline, &cfg.slo)
    {
        let mix = Mix {
            from: sources::probe_addr(selected.len()),
            ..known.mix.clone()
        };
        let from = mix.from;
        prev.after = Some(
            readiness::wait(
                &reach.client,
                &mix,
                from,
                preset.ready_wait,
                preset.probe_timeout,
            )
            .await,
        );
        if let Some(line) = aftermath(prev) {
            println!("attack-sim: {line}");
        }
    }
    let notes = match shared.get() {
        Some(Ok(d)) => d.fixtures.notes.clone(),
        _ => Vec::new(),
    };
    (results, notes)
}

/// Waiting longer than this for the target after a scenario means it left the target down.
pub const DOWN_AFTER: Duration = Duration::from_secs(1);

/// What a scenario left behind, in words, when it left the target down.
pub fn aftermath(r: &ScenarioResult) -> Option<String> {
    let after = r.after?;
    if !after.ready {
        Some(format!(
            "{} left the target down: not recovered within {:.0} s",
            r.name,
            after.limit_ms / 1000.0
        ))
    } else if after.waited_ms > DOWN_AFTER.as_secs_f64() * 1000.0 {
        Some(format!(
            "{} left the target down: it answered again {:.1} s after the scenario",
            r.name,
            after.waited_ms / 1000.0
        ))
    } else {
        None
    }
}

/// `code` with a regression counted as a failure (exit 1).
pub fn with_regressions(code: u8, comparison: Option<&regression::Comparison>) -> u8 {
    match comparison {
        Some(c) if c.regressed() && code != exit::USAGE => exit::FAILED,
        _ => code,
    }
}

/// Writes report.json, junit.xml, report.html and report.sarif into `dir`.
pub fn write_reports(
    dir: &Path,
    run: &RunInfo,
    results: &[Outcome],
    capacity: Option<&capacity::Capacity>,
    comparison: Option<&regression::Comparison>,
) -> Result<(), CampaignError> {
    let mut report = Report::new(run, results);
    if let Some(c) = capacity {
        report = report.with_capacity(c);
    }
    if let Some(c) = comparison {
        report = report.with_baseline(c);
    }
    let written = report.write(dir).and_then(|json| {
        let junit = junit::write(dir, run, results, capacity, comparison)?;
        let html = html::write(dir, run, results, capacity, comparison)?;
        let sarif = sarif::write(dir, &run.target, results, comparison)?;
        Ok([json, junit, html, sarif])
    });
    match written {
        Ok(paths) => {
            println!(
                "reports: {}",
                paths.map(|p| p.display().to_string()).join(" ")
            );
            Ok(())
        }
        Err(e) => Err(CampaignError::Reports {
            dir: dir.display().to_string(),
            why: e.to_string(),
        }),
    }
}
