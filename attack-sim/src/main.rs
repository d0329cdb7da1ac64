//! The `attack-sim` command line: `list`, `run`, `bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use attack_sim::bench::BenchConfig;
use attack_sim::client::Client;
use attack_sim::intensity::{Intensity, Preset};
use attack_sim::outcome::Outcome;
use attack_sim::probe::Mix;
use attack_sim::probe::session::{self, AuthMode};
use attack_sim::report::json::Report;
use attack_sim::report::progress::Progress;
use attack_sim::report::{html, junit, sarif, scorecard};
use attack_sim::scan::{self, ScanCtx};
use attack_sim::scenarios::Run;
use attack_sim::sources::{self, Sources};
use attack_sim::spawn::{self, Spawned, sampler};
use attack_sim::target::Target;
use attack_sim::verdict::Slo;
use attack_sim::{exit, runner, scenarios};
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
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario names or kinds; none means all.
    selection: Vec<String>,
    /// The server: https://HOST:PORT (or --spawn).
    #[arg(long, required_unless_present = "spawn", conflicts_with = "spawn")]
    target: Option<String>,
    /// PEM file of the CA that signed the target's certificate.
    #[arg(long, conflicts_with = "spawn")]
    ca: Option<PathBuf>,
    /// Start a fresh rampart (free port, temporary data, new dev certificates), sample its
    /// memory, descriptors and CPU, and stop it at the end.
    #[arg(long)]
    spawn: bool,
    /// The rampart binary for --spawn [default: `rampart` beside this executable].
    #[arg(long, requires = "spawn")]
    server_bin: Option<PathBuf>,
    /// How hard and how long.
    #[arg(long, value_enum, default_value = "standard")]
    intensity: Intensity,
    /// Attack phase length in seconds (overrides the intensity's).
    #[arg(long)]
    duration: Option<u64>,
    /// Attack source network (loopback).
    #[arg(long, default_value = sources::DEFAULT_NET)]
    sources: ipnet::Ipv4Net,
    /// Where report.json, junit.xml, report.html and report.sarif go (and rampart.log with
    /// --spawn).
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// TOML file overriding the verdict thresholds (min_success, max_p99_ratio,
    /// p99_floor_ms, denied_below).
    #[arg(long)]
    slo: Option<PathBuf>,
    /// How to authenticate: `auto` uses rampart's flow (throwaway users; the legitimate
    /// client mixes logins and GET /v1/accounts in) when the target's OpenAPI document has
    /// it; `rampart`, `none`, `bearer:TOKEN` or `header:NAME=VALUE` (for the scanners).
    #[arg(long, default_value = "auto")]
    auth: AuthMode,
    /// The target's OpenAPI document, for the injection and auth scans: a URL on the target
    /// or a file [default: the target's /openapi.json].
    #[arg(long)]
    openapi: Option<String>,
    /// Allow a target that is not a loopback address (only hosts you may attack).
    #[arg(long)]
    authorized_target: bool,
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
        Command::Bench(args) => bench(&args),
    }
}

/// What the command line asked for, checked before anything starts.
struct Plan {
    preset: Preset,
    selected: Vec<scenarios::Scenario>,
    slo: Slo,
}

fn plan(args: &RunArgs) -> anyhow::Result<Plan> {
    let selected = scenarios::select(&args.selection)?;
    let slo = match &args.slo {
        None => Slo::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--slo {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("--slo {}", path.display()))?
        }
    };
    Ok(Plan {
        preset: args.intensity.preset(args.duration),
        selected,
        slo,
    })
}

/// The target and how to reach it.
struct Reach {
    target: Target,
    client: Client,
    sources: Sources,
}

fn reach(args: &RunArgs, url: &str, ca: Option<PathBuf>, preset: &Preset) -> anyhow::Result<Reach> {
    let target = Target::resolve(url, ca, args.authorized_target)?;
    let client = Client::new(&target, &[b"http/1.1"])?;
    let sources = Sources::new(args.sources, preset.sources)?;
    Ok(Reach {
        target,
        client,
        sources,
    })
}

fn bench(args: &BenchArgs) -> ExitCode {
    let setup = || -> anyhow::Result<(Target, Client, Sources)> {
        anyhow::ensure!(args.duration >= 1, "--duration must be at least 1 second");
        let target = Target::resolve(&args.target, args.ca.clone(), args.authorized_target)?;
        let client = Client::new(&target, &[b"http/1.1"])?;
        let sources = Sources::new(args.sources, 256)?;
        Ok((target, client, sources))
    };
    let (target, client, sources) = match setup() {
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
    let mut report = runtime.block_on(attack_sim::bench::run(&client, &sources, cfg));
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

fn run(args: &RunArgs) -> ExitCode {
    let plan = match plan(args) {
        Ok(p) => p,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut spawned = None;
    let (url, ca) = if args.spawn {
        let bin = args
            .server_bin
            .clone()
            .unwrap_or_else(spawn::default_binary);
        // The scanners' network skips rampart's rate limits (DESIGN: a scan runs at full
        // speed while the DoS scenarios still meet every limit).
        let scans = plan.selected.iter().any(|s| matches!(s.run, Run::Scan(_)));
        let exempt: Vec<ipnet::IpNet> = if scans {
            vec![sources::SCANNER_NET.parse().expect("a valid network")]
        } else {
            Vec::new()
        };
        match runtime.block_on(Spawned::start(&bin, &exempt)) {
            Ok(s) => {
                println!(
                    "attack-sim: started {} (pid {}) at {}",
                    bin.display(),
                    s.pid,
                    s.url
                );
                let target = (s.url.clone(), Some(s.ca.clone()));
                spawned = Some(s);
                target
            }
            Err(e) => return usage_error(e),
        }
    } else {
        (args.target.clone().unwrap_or_default(), args.ca.clone())
    };
    let reach = match reach(args, &url, ca, &plan.preset) {
        Ok(r) => r,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    // Only the DoS scenarios' legitimate client logs in: a TLS-only run registers nobody.
    let needs_session = plan.selected.iter().any(|s| matches!(s.run, Run::Dos(_)));
    let auth = if needs_session {
        args.auth.clone()
    } else {
        AuthMode::None
    };
    let code = match runtime.block_on(session::establish(&reach.client, &auth)) {
        Ok(session) => {
            let mix = Mix {
                session,
                ..Mix::default()
            };
            if needs_session {
                println!("attack-sim: legitimate client: {}", mix.describe());
            }
            runtime.block_on(run_scenarios(
                args,
                &plan,
                &reach,
                &mix,
                spawned.as_ref().map(|s| s.pid),
            ))
        }
        Err(e) => usage_error(e),
    };
    if let Some(s) = spawned {
        let log = args.report_dir.join("rampart.log");
        let ended = runtime.block_on(s.stop(Some(&log)));
        println!(
            "attack-sim: rampart stopped ({ended}); its log: {}",
            log.display()
        );
    }
    code
}

/// Descriptors above its idle count a spawned server may hold and be called settled (database
/// and log files come and go).
const SETTLE_MARGIN_FDS: u64 = 16;

async fn run_scenarios(
    args: &RunArgs,
    plan: &Plan,
    reach: &Reach,
    mix: &Mix,
    server_pid: Option<u32>,
) -> ExitCode {
    let preset = plan.preset;
    match attack_sim::raise_open_files() {
        Ok(limit) if limit < preset.connections as u64 + 256 => eprintln!(
            "attack-sim: the open-files limit ({limit}) caps this run below {} connections",
            preset.connections
        ),
        Ok(_) => {}
        Err(e) => eprintln!("attack-sim: cannot raise the open-files limit: {e}"),
    }
    let started_at = time::OffsetDateTime::now_utc();
    // The intensity sizes the DoS scenarios only; a run of scans does not name one.
    let intensity = if plan.selected.iter().any(|s| matches!(s.run, Run::Dos(_))) {
        format!(", intensity {:?}", args.intensity)
    } else {
        String::new()
    };
    println!(
        "attack-sim: {} scenario(s) against {} ({}){intensity}",
        plan.selected.len(),
        reach.target.url,
        reach.target.addr,
    );
    let mut results = Vec::new();
    let discovery = scan::SharedDiscovery::default();
    // A spawned server's descriptors when idle: before each later scenario it is given time
    // to close the last one's connections, so that they do not weigh on the next baseline.
    let idle_fds = server_pid.and_then(sampler::read).map(|r| r.fds);
    for (i, s) in plan.selected.iter().enumerate() {
        if let (Some(pid), Some(fds), true) = (server_pid, idle_fds, i > 0)
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
        println!("running {} ({}) ...", s.name, s.kind);
        let from = sources::probe_addr(i);
        let outcome = match s.run {
            Run::Dos(_) => {
                let progress =
                    Progress::start(s.name, preset.baseline + preset.attack + preset.recovery);
                let mix = Mix {
                    from,
                    ..mix.clone()
                };
                let r = runner::run(
                    s,
                    &reach.client,
                    &mix,
                    &reach.sources,
                    preset,
                    &plan.slo,
                    server_pid,
                    progress.on_tick(),
                )
                .await;
                progress.finish();
                Outcome::Dos(Box::new(r))
            }
            Run::Scan(run) => {
                let ctx = ScanCtx {
                    client: reach.client.clone(),
                    target: reach.target.clone(),
                    from: sources::scanner_addr(i),
                    openapi: args.openapi.clone(),
                    auth: args.auth.clone(),
                    discovery: discovery.clone(),
                };
                Outcome::Scan(scan::run(s.name, s.kind, run, ctx).await)
            }
        };
        println!("{}", scorecard::line(&outcome));
        results.push(outcome);
    }
    println!();
    print!("{}", scorecard::table(&results));
    let report = Report::new(
        &reach.target.url,
        started_at,
        args.intensity,
        plan.slo,
        &results,
    );
    let dir = &args.report_dir;
    let url = &reach.target.url;
    let written = report.write(dir).and_then(|json| {
        let junit = junit::write(dir, url, &results)?;
        let intensity = format!("{:?}", args.intensity).to_lowercase();
        let html = html::write(dir, url, report.started_at(), &intensity, &results)?;
        let sarif = sarif::write(dir, url, &results)?;
        Ok([json, junit, html, sarif])
    });
    match written {
        Ok(paths) => println!(
            "reports: {}",
            paths.map(|p| p.display().to_string()).join(" ")
        ),
        Err(e) => {
            eprintln!(
                "attack-sim: cannot write the reports in {}: {e}",
                args.report_dir.display()
            );
            return ExitCode::from(exit::USAGE);
        }
    }
    let verdicts: Vec<_> = results.iter().map(Outcome::verdict).collect();
    ExitCode::from(attack_sim::exit_code(&verdicts))
}
