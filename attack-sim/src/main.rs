//! The `attack-sim` command line: `list`, `run`, `bench`.

use std::process::ExitCode;

use attack_sim::{SCENARIOS, exit};
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
    Run {
        /// Scenario names or kinds; none means all.
        selection: Vec<String>,
    },
    /// Measure handshake and request throughput and latency of a target.
    Bench,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::List => {
            println!("{:<24} {:<10} DESCRIPTION", "NAME", "KIND");
            for s in SCENARIOS {
                println!("{:<24} {:<10} {}", s.name, s.kind, s.description);
            }
            if SCENARIOS.is_empty() {
                eprintln!("attack-sim: this build has no scenarios yet");
            }
            ExitCode::from(exit::OK)
        }
        Command::Run { selection } => {
            eprintln!(
                "attack-sim: cannot run {}: this build has no scenarios yet",
                if selection.is_empty() {
                    "all scenarios".to_string()
                } else {
                    selection.join(", ")
                }
            );
            ExitCode::from(exit::USAGE)
        }
        Command::Bench => {
            eprintln!("attack-sim: bench is not available in this build yet");
            ExitCode::from(exit::USAGE)
        }
    }
}
