//! The `rampart` binary: `serve` and `check-config`.

/// jemalloc: idle connections' buffers are mostly untouched pages, which jemalloc's
/// page-aligned size classes leave out of resident memory (glibc packs them between
/// neighbours). Measured in SECURITY.md.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use rampart::config::{self, Config, ConfigError};
use rampart::net::DrainOutcome;
use rampart::systemd::{Inherited, Notifier};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(
    name = "rampart",
    version,
    about = "Hardened TLS-only HTTPS server for a small bank"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTPS (with no config: https://127.0.0.1:8443, SQLite in data/, dev certs in certs/dev/).
    Serve(ServeArgs),
    /// Validate a config file (with RAMPART_* variables applied) and print the effective config.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "RAMPART_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address (overrides `listen`).
    #[arg(long)]
    listen: Option<String>,
    /// Database URL (overrides `database.url`).
    #[arg(long)]
    database_url: Option<String>,
    /// Log format (overrides `log.format`).
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

/// Exit status for configuration and usage errors.
const EXIT_CONFIG: u8 = 2;

fn load(file: Option<&Path>, args: Option<&ServeArgs>) -> Result<Config, ConfigError> {
    let mut flags = Vec::new();
    if let Some(a) = args {
        if let Some(l) = &a.listen {
            flags.push(("listen", "--listen", toml::Value::String(l.clone())));
        }
        if let Some(u) = &a.database_url {
            flags.push((
                "database.url",
                "--database-url",
                toml::Value::String(u.clone()),
            ));
        }
        if let Some(f) = a.log_format {
            let v = match f {
                LogFormatArg::Text => "text",
                LogFormatArg::Json => "json",
            };
            flags.push(("log.format", "--log-format", toml::Value::String(v.into())));
        }
    }
    config::load(file, std::env::vars(), &flags)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match load(Some(&file), None) {
            Ok(c) => {
                println!(
                    "# effective configuration: {} with RAMPART_* applied",
                    file.display()
                );
                print!("{}", c.to_display_toml());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rampart: invalid configuration: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Serve(args) => {
            let config = match load(args.config.as_deref(), Some(&args)) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("rampart: invalid configuration: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            // Before any thread exists: taking the sockets clears their variables.
            let inherited = match Inherited::take_from_env() {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("rampart: {e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let notifier = match Notifier::from_env() {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("rampart: cannot notify the service manager: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = rampart::logging::init(&config.log) {
                eprintln!("rampart: cannot start logging: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("rampart: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(config, inherited, notifier)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "rampart stopped");
                    eprintln!("rampart: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Says in the log which inherited sockets serve what, and that `listen` is not used.
fn log_inherited(config: &Config, inherited: &Inherited) {
    let sockets = std::iter::once(("api", &inherited.https))
        .chain(inherited.admin.as_ref().map(|a| ("admin", a)));
    for (serves, s) in sockets {
        tracing::info!(fd = s.fd, name = %s.name, addr = %s.addr, serves, "using an inherited socket");
    }
    tracing::info!(
        listen = %config.listen,
        "socket activation: the `listen` setting is not used"
    );
}

/// Feeds the service manager's watchdog from this runtime until the process ends.
fn feed_watchdog(notifier: &std::sync::Arc<Notifier>) {
    let Some(every) = notifier.watchdog_every() else {
        return;
    };
    let notifier = notifier.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = notifier.watchdog() {
                tracing::warn!(error = %e, "cannot feed the service manager's watchdog");
            }
        }
    });
}

async fn serve(
    config: Config,
    inherited: Option<Inherited>,
    notifier: Notifier,
) -> anyhow::Result<()> {
    // Handlers first: SIGHUP's default action would kill the process.
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let profile = config.tls.profile;
    match rampart::open_files::raise() {
        Ok(l) if !l.enough_for(config.limits.max_connections) => tracing::warn!(
            limit = l.after,
            max_connections = config.limits.max_connections,
            "the open-files limit is below limits.max_connections plus headroom; raise the hard \
             limit (LimitNOFILE=) or lower limits.max_connections, or accepts will fail first"
        ),
        Ok(l) => tracing::info!(before = l.before, now = l.after, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-files limit"),
    }
    if let Some(i) = &inherited {
        log_inherited(&config, i);
    }
    let running = rampart::start_on(config, inherited).await?;
    let addr = running.local_addr();
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let url = format!("https://{host}:{}", addr.port());
    tracing::info!(%addr, ?profile, "listening");
    println!("rampart listening on {url}");
    match running.dev_ca() {
        Some(ca) => println!("try: curl --cacert {} {url}/healthz", ca.display()),
        None => println!("try: curl {url}/healthz"),
    }

    if let Some(admin) = running.admin_addr() {
        tracing::info!(%admin, "admin listener (GET /metrics)");
        println!("admin metrics on https://{admin}/metrics");
    }
    let notifier = std::sync::Arc::new(notifier);
    if let Err(e) = notifier.ready(&format!("serving on {url}")) {
        tracing::warn!(error = %e, "cannot tell the service manager we are ready");
    }
    feed_watchdog(&notifier);
    let store = running.cert_store();
    let reloader = tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let store = store.clone();
            let result = tokio::task::spawn_blocking(move || store.reload()).await;
            match result {
                Ok(Ok(())) => tracing::info!("certificates reloaded"),
                Ok(Err(e)) => tracing::error!(
                    error = %e,
                    "certificate reload failed; keeping the current certificate"
                ),
                Err(e) => tracing::error!(error = %e, "certificate reload task failed"),
            }
        }
    });

    let which = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = which, "shutting down: draining connections");
    if let Err(e) = notifier.stopping() {
        tracing::warn!(error = %e, "cannot tell the service manager we are stopping");
    }
    reloader.abort();
    match running.shutdown().await {
        DrainOutcome::Drained => tracing::info!("all connections drained; exiting"),
        DrainOutcome::TimedOut { open } => {
            tracing::warn!(open, "drain deadline passed; closed remaining connections")
        }
    }
    Ok(())
}
