//! The `attack-sim` command line: `list`, `run`, `bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use attack_sim::client::Client;
use attack_sim::intensity::{Intensity, Preset};
use attack_sim::report::Report;
use attack_sim::sources::{self, Sources};
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
    Bench,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario names or kinds; none means all.
    selection: Vec<String>,
    /// The server: https://HOST:PORT.
    #[arg(long)]
    target: String,
    /// PEM file of the CA that signed the target's certificate.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// How hard and how long.
    #[arg(long, value_enum, default_value = "standard")]
    intensity: Intensity,
    /// Attack phase length in seconds (overrides the intensity's).
    #[arg(long)]
    duration: Option<u64>,
    /// Attack source network (loopback).
    #[arg(long, default_value = sources::DEFAULT_NET)]
    sources: ipnet::Ipv4Net,
    /// Where report.json goes.
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// TOML file overriding the verdict thresholds (min_success, max_p99_ratio,
    /// p99_floor_ms, denied_below).
    #[arg(long)]
    slo: Option<PathBuf>,
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
        Command::Run(args) => match prepare(&args) {
            Ok(prepared) => run(&args, prepared),
            Err(e) => {
                eprintln!("attack-sim: {e:#}");
                ExitCode::from(exit::USAGE)
            }
        },
        Command::Bench => {
            eprintln!("attack-sim: bench is not available in this build yet");
            ExitCode::from(exit::USAGE)
        }
    }
}

struct Prepared {
    target: Target,
    preset: Preset,
    selected: Vec<scenarios::Scenario>,
    client: Client,
    sources: Sources,
    slo: Slo,
}

fn prepare(args: &RunArgs) -> anyhow::Result<Prepared> {
    let selected = scenarios::select(&args.selection)?;
    let slo = match &args.slo {
        None => Slo::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--slo {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("--slo {}", path.display()))?
        }
    };
    let target = Target::resolve(&args.target, args.ca.clone(), args.authorized_target)?;
    let client = Client::new(&target, &[b"http/1.1"])?;
    let preset = args.intensity.preset(args.duration);
    let sources = Sources::new(args.sources, preset.sources)?;
    Ok(Prepared {
        target,
        preset,
        selected,
        client,
        sources,
        slo,
    })
}

fn run(args: &RunArgs, p: Prepared) -> ExitCode {
    let preset = p.preset;
    match attack_sim::raise_open_files() {
        Ok(limit) if limit < preset.connections as u64 + 256 => eprintln!(
            "attack-sim: the open-files limit ({limit}) caps this run below {} connections",
            preset.connections
        ),
        Ok(_) => {}
        Err(e) => eprintln!("attack-sim: cannot raise the open-files limit: {e}"),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("attack-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started_at = time::OffsetDateTime::now_utc();
    println!(
        "attack-sim: {} scenario(s) against {} ({}), intensity {:?}",
        p.selected.len(),
        p.target.url,
        p.target.addr,
        args.intensity
    );
    let mut results = Vec::new();
    for s in &p.selected {
        println!("running {} ({}) ...", s.name, s.kind);
        let r = runtime.block_on(runner::run(s, &p.client, &p.sources, preset, &p.slo));
        println!(
            "{:<20} {:<13} legit {:>6.2}% ({} requests)  p50 {:.1} ms  p99 {:.1} ms (baseline p99 {:.1} ms)  attack: {} connects, {} refused, {} open at peak, {} cut, {} responses ({} throttled)",
            r.name,
            r.verdict.as_str().to_uppercase(),
            r.legit.success_rate * 100.0,
            r.legit.requests,
            r.legit.p50_ms,
            r.legit.p99_ms,
            r.legit.baseline_p99_ms,
            r.attack.connects,
            r.attack.refused,
            r.attack.open_peak,
            r.attack.cut,
            r.attack.responses,
            r.attack.throttled
        );
        results.push(r);
    }
    let report = Report::new(&p.target.url, started_at, args.intensity, p.slo, &results);
    match report.write(&args.report_dir) {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => {
            eprintln!(
                "attack-sim: cannot write the report in {}: {e}",
                args.report_dir.display()
            );
            return ExitCode::from(exit::USAGE);
        }
    }
    let verdicts: Vec<_> = results.iter().map(|r| r.verdict).collect();
    ExitCode::from(attack_sim::exit_code(&verdicts))
}
