//! `rampart-certs`: generate or renew the development certificate set, issue a leaf for
//! given names, or check that a certificate and key file belong together.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rampart_certs::{DevCa, DevPaths, ensure_dev_set, generate_dev_set, issue_leaf};

#[derive(Parser)]
#[command(name = "rampart-certs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the dev CA and leaf if absent, renew the leaf if it expires within 30 days.
    Dev {
        /// Folder of the dev set.
        #[arg(long, default_value = "certs/dev")]
        dir: PathBuf,
        /// Replace the CA and leaf even if they are valid.
        #[arg(long)]
        force: bool,
    },
    /// Issue a leaf certificate for the given names, signed by the dev CA.
    Issue {
        /// Folder holding ca.pem and ca.key.
        #[arg(long, default_value = "certs/dev")]
        ca_dir: PathBuf,
        /// DNS name or IP address; repeat for several.
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Output prefix: writes PREFIX.pem and PREFIX.key (mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Lifetime in days (1..=397).
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// Load a certificate chain and key as the server would, and report any problem.
    Check {
        /// Certificate chain PEM file.
        #[arg(long)]
        cert: PathBuf,
        /// Private key PEM file.
        #[arg(long)]
        key: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Dev { dir, force } => {
            if force {
                let paths = generate_dev_set(&dir)?;
                println!("generated a new dev CA and leaf in {}", paths.dir.display());
            } else {
                let (paths, outcome) = ensure_dev_set(&dir)?;
                println!("{}: {outcome:?}", paths.dir.display());
            }
            println!(
                "trust {} in clients",
                DevPaths::in_dir(&dir).ca_cert.display()
            );
        }
        Command::Issue {
            ca_dir,
            names,
            out,
            days,
        } => {
            let p = DevPaths::in_dir(&ca_dir);
            let ca = DevCa::load(&p.ca_cert, &p.ca_key)?;
            let (cert, key) = issue_leaf(&ca, &names, days)?;
            let cert_path = out.with_extension("pem");
            let key_path = out.with_extension("key");
            write_new(&key_path, &key, 0o600)?;
            write_new(&cert_path, &cert, 0o644)?;
            println!("wrote {} and {}", cert_path.display(), key_path.display());
        }
        Command::Check { cert, key } => {
            let provider = rustls::crypto::aws_lc_rs::default_provider();
            let ck = rampart_certs::load_certified_key(&cert, &key, &provider)?;
            println!("ok: {} certificate(s), key matches the leaf", ck.cert.len());
        }
    }
    Ok(())
}

/// Refuses to overwrite: issuing is explicit, replacing someone's key should be too.
fn write_new(path: &std::path::Path, data: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("{}: cannot create (does it already exist?)", path.display()))?;
    f.write_all(data.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
