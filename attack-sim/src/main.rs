//! The `attack-sim` command line: `list`, `run`, `capacity`, `bench`. It only reads options
//! (flags over a plan file over defaults) into a [`Config`]; the run itself is the library's
//! [`campaign`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use attack_sim::bench::BenchConfig;
use attack_sim::bench::server_cpu::ServerCpu;
use attack_sim::campaign::{self, CampaignError, Config, TargetSpec, capacity};
use attack_sim::client::Client;
use attack_sim::intensity::Intensity;
use attack_sim::login::AuthMode;
use attack_sim::plan::Plan;
use attack_sim::probe::Probe;
use attack_sim::sources::{self, Sources};
use attack_sim::spawn;
use attack_sim::target::Target;
use attack_sim::trust::{Pin, Trust};
use attack_sim::verdict::Slo;
use attack_sim::{exit, scenarios};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "attack-sim",
    version,
    about = "Attack harness for HTTPS servers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every scenario with its kind and a one-line description.
    List,
    /// Run scenarios against a target.
    Run(RunArgs),
    /// Search the load where a DoS scenario stops holding: a staircase (grow, then bisect),
    /// each step judged by the SLO with the legitimate client.
    Capacity(CapacityArgs),
    /// Measure handshake and request throughput and latency of a target.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// The server: https://HOST:PORT.
    #[arg(long)]
    target: String,
    /// PEM file of the CA that signed the target's certificate.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Seconds per measurement (there are six: full and resumed handshakes, HTTP/1.1 and
    /// HTTP/2 each at their most and at half that in an open model).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Source network of the bench's connections (loopback).
    #[arg(long, default_value = sources::DEFAULT_NET)]
    sources: ipnet::Ipv4Net,
    /// Where bench.json goes.
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Allow a target that is not a loopback address (only hosts you may load).
    #[arg(long)]
    authorized_target: bool,
    /// A process of the server on this host (repeat it for a master and its workers): each
    /// measurement then reports the server's CPU per handshake or per request.
    #[arg(long = "server-pid", value_name = "PID")]
    server_pids: Vec<u32>,
}

/// What `run` and `capacity` share: where the target is, how to trust it, how to run.
#[derive(clap::Args)]
struct Common {
    /// A plan file (TOML): every option below as a key, plus probes with headers and bodies,
    /// a login flow and setup steps; flags given here win over it.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// The server: https://HOST:PORT (or --spawn).
    #[arg(long, conflicts_with = "spawn")]
    target: Option<String>,
    /// Trust: a PEM file of CAs that sign the target's certificate, or the certificate itself
    /// (pinned exactly, self-signed or not).
    #[arg(long, conflicts_with = "spawn")]
    ca: Option<PathBuf>,
    /// Trust: the SHA-256 of the target's public key, `sha256//BASE64` (curl's
    /// --pinnedpubkey form); repeatable, `;` separates several.
    #[arg(long = "pin", value_name = "sha256//BASE64")]
    pins: Vec<String>,
    /// Accept any certificate: the target's identity is not checked. Said in every report.
    #[arg(long)]
    insecure: bool,
    /// Start a fresh rampart (free port, temporary data, new dev certificates), sample its
    /// memory, descriptors and CPU, and stop it at the end.
    #[arg(long)]
    spawn: bool,
    /// The rampart binary for --spawn [default: `rampart` beside this executable].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// How hard and how long [default: standard].
    #[arg(long, value_enum)]
    intensity: Option<Intensity>,
    /// Attack phase length in seconds (overrides the intensity's).
    #[arg(long)]
    duration: Option<u64>,
    /// Attack source network (loopback) [default: 127.77.0.0/16].
    #[arg(long)]
    sources: Option<ipnet::Ipv4Net>,
    /// Where report.json, junit.xml, report.html and report.sarif go (and rampart.log with
    /// --spawn) [default: reports].
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// TOML file overriding the verdict thresholds (min_success, max_p99_ratio,
    /// p99_floor_ms, denied_below).
    #[arg(long)]
    slo: Option<PathBuf>,
    /// How to authenticate: `auto` uses rampart's flow when the target's OpenAPI document has
    /// it (or the plan's [login]); `rampart`, `none`, `bearer:TOKEN` or `header:NAME=VALUE`.
    #[arg(long)]
    auth: Option<AuthMode>,
    /// The target's OpenAPI document, for the probe's default and the scans: a URL on the
    /// target or a file [default: the target's /openapi.json].
    #[arg(long)]
    openapi: Option<String>,
    /// A page the `web` scans visit, a path on the target (`{name}` filled with the scans'
    /// values, e.g. `/#account={id}`); repeatable [default: `/`; against rampart's flow, `/`
    /// and `/#account={id}`].
    #[arg(long = "page", value_name = "PATH")]
    pages: Vec<String>,
    /// The legitimate client's request, "METHOD PATH [STATUS]" (any 2xx or 3xx unless a
    /// status is given); repeatable [default: GET /healthz when the OpenAPI document lists
    /// it, else GET /].
    #[arg(long = "probe", value_name = "METHOD PATH [STATUS]")]
    probes: Vec<String>,
    /// Seconds to wait, before each scenario, for the target to answer the legitimate client
    /// again [default: the intensity's: 15, 60, 120].
    #[arg(long)]
    ready_wait: Option<u64>,
    /// An earlier run's report.json: a new finding, a worse verdict or capacity down by more
    /// than 20 % is a regression (exit 1).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Allow a target that is not a loopback address (only hosts you may attack).
    #[arg(long)]
    authorized_target: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario names or kinds; none means all (or the plan's `run`).
    selection: Vec<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args)]
struct CapacityArgs {
    /// The DoS scenario whose capacity is searched (or the plan's [capacity] scenario).
    scenario: Option<String>,
    /// The largest load (connections) tried [default: 4096].
    #[arg(long)]
    max: Option<u64>,
    /// The first load tried [default: 32].
    #[arg(long)]
    start: Option<u64>,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::List => {
            println!("{:<24} {:<10} DESCRIPTION", "NAME", "KIND");
            for s in scenarios::ALL {
                println!("{:<24} {:<10} {}", s.name, s.kind, s.description);
            }
            ExitCode::from(exit::OK)
        }
        Command::Run(args) => run(&args),
        Command::Capacity(args) => capacity(&args),
        Command::Bench(args) => bench(&args),
    }
}

fn bench(args: &BenchArgs) -> ExitCode {
    let setup = || -> anyhow::Result<(Target, Client, Sources, ServerCpu)> {
        anyhow::ensure!(args.duration >= 1, "--duration must be at least 1 second");
        let cpu = ServerCpu::new(args.server_pids.clone())?;
        let target = Target::resolve(&args.target, args.authorized_target)?;
        let trust = Trust {
            ca: args.ca.clone(),
            ..Trust::default()
        };
        let client = Client::new(&target, &trust, &[b"http/1.1"])?;
        let sources = Sources::new(args.sources, 256)?;
        Ok((target, client, sources, cpu))
    };
    let (target, client, sources, cpu) = match setup() {
        Ok(s) => s,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    if let Err(e) = attack_sim::raise_open_files() {
        eprintln!("attack-sim: cannot raise the open-files limit: {e}");
    }
    let cfg = BenchConfig::new(std::time::Duration::from_secs(args.duration));
    println!(
        "attack-sim bench: {} ({}), {} s per measurement, six measurements",
        target.url, target.addr, args.duration
    );
    let mut report = runtime.block_on(attack_sim::bench::run(&client, &sources, cfg, &cpu));
    report.target = target.url.clone();
    print!("{}", report.table());
    match report.write(&args.report_dir) {
        Ok(path) => {
            println!("report: {}", path.display());
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!(
                "attack-sim: cannot write bench.json in {}: {e}",
                args.report_dir.display()
            );
            ExitCode::from(exit::USAGE)
        }
    }
}

/// The async runtime, or the exit code when it cannot start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("attack-sim: cannot start the runtime: {e}");
        ExitCode::FAILURE
    })
}

fn usage_error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("attack-sim: {e:#}");
    ExitCode::from(exit::USAGE)
}

/// The run's config: the plan file, then the flags over it, then the defaults.
fn config(common: &Common, selection: &[String]) -> anyhow::Result<(Config, Plan)> {
    let plan = match &common.plan {
        Some(path) => Plan::load(path)?,
        None => Plan::default(),
    };
    let spawn = common.spawn || (common.target.is_none() && plan.spawn == Some(true));
    let target = if spawn {
        let bin = common
            .server_bin
            .clone()
            .or_else(|| plan.server_bin.clone())
            .unwrap_or_else(spawn::default_binary);
        TargetSpec::Spawn(bin)
    } else {
        match common.target.clone().or_else(|| plan.target.clone()) {
            Some(url) => TargetSpec::Url(url),
            None => anyhow::bail!(
                "no target: give --target https://HOST:PORT, --spawn, or a plan with target"
            ),
        }
    };
    if spawn && (common.ca.is_some() || !common.pins.is_empty() || common.insecure) {
        anyhow::bail!(
            "--spawn trusts the spawned rampart's own CA: --ca, --pin and --insecure do not apply"
        );
    }
    let mut pins = Vec::new();
    for text in common.pins.iter().chain(&plan.pin) {
        for one in text.split(';').filter(|p| !p.trim().is_empty()) {
            pins.push(
                one.trim()
                    .parse::<Pin>()
                    .map_err(|e| anyhow::anyhow!("--pin {e}"))?,
            );
        }
    }
    let mut cfg = Config::new(target, common.ca.clone().or_else(|| plan.ca.clone()));
    cfg.trust = Trust {
        pins,
        insecure: common.insecure || plan.insecure == Some(true),
        ..cfg.trust
    };
    cfg.selection = if selection.is_empty() {
        plan.run.clone()
    } else {
        selection.to_vec()
    };
    cfg.authorized_target = common.authorized_target || plan.authorized_target == Some(true);
    if let Some(i) = common.intensity.or(plan.intensity) {
        cfg.intensity = i;
    }
    cfg.duration = common.duration.or(plan.duration);
    if cfg.duration == Some(0) {
        anyhow::bail!("--duration must be at least 1 second");
    }
    if let Some(s) = common.sources.or(plan.sources) {
        cfg.sources = s;
    }
    if let Some(d) = common
        .report_dir
        .clone()
        .or_else(|| plan.report_dir.clone())
    {
        cfg.report_dir = d;
    }
    cfg.slo = match (&common.slo, plan.slo) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--slo {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("--slo {}", path.display()))?
        }
        (None, Some(slo)) => slo,
        (None, None) => Slo::default(),
    };
    cfg.auth = match (&common.auth, &plan.auth) {
        (Some(a), _) => a.clone(),
        (None, Some(text)) => text
            .parse()
            .map_err(|e| anyhow::anyhow!("--plan: auth: {e}"))?,
        (None, None) => AuthMode::Auto,
    };
    cfg.login = plan.login.clone();
    cfg.setup = plan.declared_setup();
    cfg.openapi = common.openapi.clone().or_else(|| plan.openapi.clone());
    cfg.pages = if common.pages.is_empty() {
        plan.pages.clone()
    } else {
        common.pages.clone()
    };
    cfg.probes = if common.probes.is_empty() {
        plan.probe
            .iter()
            .enumerate()
            .map(|(i, p)| Probe::from_spec(p, i + 1))
            .collect::<Result<_, _>>()?
    } else {
        common
            .probes
            .iter()
            .map(|line| Probe::from_line(line).map_err(|e| anyhow::anyhow!("--probe {e}")))
            .collect::<Result<_, _>>()?
    };
    cfg.ready_wait = common
        .ready_wait
        .map(std::time::Duration::from_secs)
        .or(plan.ready_wait);
    cfg.baseline = common.baseline.clone().or_else(|| plan.baseline.clone());
    Ok((cfg, plan))
}

fn run(args: &RunArgs) -> ExitCode {
    let (cfg, _) = match config(&args.common, &args.selection) {
        Ok(c) => c,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    finish(runtime.block_on(campaign::run(&cfg)))
}

fn capacity(args: &CapacityArgs) -> ExitCode {
    let (cfg, plan) = match config(&args.common, &[]) {
        Ok(c) => c,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    let from_plan = plan.capacity.clone().unwrap_or_default();
    let Some(scenario) = args.scenario.clone().or(from_plan.scenario) else {
        return usage_error("capacity: name the DoS scenario to search (e.g. slowloris)");
    };
    let search = capacity::Search {
        scenario,
        max: args.max.or(from_plan.max).unwrap_or(capacity::DEFAULT_MAX),
        start: args
            .start
            .or(from_plan.start)
            .unwrap_or(capacity::DEFAULT_START),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    finish(runtime.block_on(capacity::run(&cfg, &search)))
}

/// The exit code of a campaign, its error said in words.
fn finish(result: Result<u8, CampaignError>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("attack-sim: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
