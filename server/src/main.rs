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
use rampart::sandbox::{self, Policy, user};
use rampart::systemd::{Inherited, Notifier};
use rampart::{Prebound, preflight};
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
    /// Validate a config file (with RAMPART_* variables applied), print the effective config,
    /// then the preflight: certificate and key, key permissions, database, listen addresses.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
    /// Put this process in the sandbox `serve` would use with this config, then try what the
    /// sandbox must refuse: read /etc/passwd, write outside the store, connect to ADDR, exec a
    /// shell. Exit 0 when every one is refused.
    SandboxCheck {
        /// TOML config file.
        #[arg(long, env = "RAMPART_CONFIG")]
        config: Option<PathBuf>,
        /// An address the server has no reason to connect to.
        #[arg(long, default_value = "127.0.0.1:9")]
        connect: std::net::SocketAddr,
        /// A folder outside the store to try writing in (default: the temporary folder).
        #[arg(long)]
        outside: Option<PathBuf>,
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
        Command::CheckConfig { file } => check_config(&file),
        Command::SandboxCheck {
            config,
            connect,
            outside,
        } => sandbox_check(config.as_deref(), connect, outside),
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
            if let Some(i) = &inherited {
                log_inherited(&config, i);
            }
            // Read while /proc and /sys can be: under a CPU quota, one worker per core allowed.
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Before the runtime starts its threads, which then inherit the domain.
            let prebound = match confine(&config, args.config.as_deref(), inherited) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("rampart: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(config, prebound, notifier)) {
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

/// Drops to `process.user` when started as root (binding the listeners first), then applies
/// the sandbox's first half; the listeners bound here or passed in, for `start_on`.
fn confine(
    config: &Config,
    file: Option<&Path>,
    inherited: Option<Inherited>,
) -> Result<Option<Prebound>, ExitCode> {
    let fail = |code: u8, e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "rampart stopped");
        eprintln!("rampart: {e}");
        ExitCode::from(code)
    };
    let policy = Policy::for_config(config, file).map_err(|e| fail(EXIT_CONFIG, &e))?;
    let mut prebound = inherited.map(Prebound::from);
    let euid = nix::unistd::geteuid();
    match &config.process.user {
        Some(name) if euid.is_root() => {
            let account = user::lookup(name).map_err(|e| fail(EXIT_CONFIG, &e))?;
            if prebound.is_none() {
                prebound = Some(Prebound::bind(config).map_err(|e| fail(1, &e))?);
            }
            policy
                .make_folders(Some((account.uid, account.gid)))
                .map_err(|e| fail(1, &e))?;
            user::check_access(&account, config, &policy).map_err(|e| fail(EXIT_CONFIG, &e))?;
            user::drop_to(&account).map_err(|e| fail(1, &e))?;
            tracing::info!(
                user = %name,
                uid = account.uid.as_raw(),
                gid = account.gid.as_raw(),
                "listeners bound; running as process.user with no capabilities"
            );
        }
        Some(name) if user::lookup(name).ok().map(|a| a.uid) != Some(euid) => {
            tracing::warn!(
                user = %name,
                uid = euid.as_raw(),
                "process.user is set, but rampart was not started as root: it keeps the user \
                 it was started as"
            );
        }
        Some(_) => {}
        None if euid.is_root() => tracing::warn!(
            "running as root: set process.user to run as an unprivileged user once the \
             listeners are bound"
        ),
        None => {}
    }
    sandbox::confine_files_and_network(config, &policy).map_err(|e| fail(1, &e))?;
    Ok(prebound)
}

async fn serve(
    config: Config,
    prebound: Option<Prebound>,
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
    let confine = config.sandbox.clone();
    let running = rampart::start_on(config, prebound).await?;
    sandbox::confine_system_calls(&confine)?;
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

/// `rampart check-config`: the effective configuration, then the preflight; exit 2 on any
/// error.
fn check_config(file: &Path) -> ExitCode {
    let config = match load(Some(file), None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rampart: invalid configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    println!(
        "# effective configuration: {} with RAMPART_* applied",
        file.display()
    );
    print!("{}", config.to_display_toml());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rampart: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let findings = runtime.block_on(preflight::run(&config, time::OffsetDateTime::now_utc()));
    println!("# preflight");
    let mut failed = false;
    for f in &findings {
        if f.level == preflight::Level::Error {
            failed = true;
            eprintln!("{}", f.line());
        } else {
            println!("{}", f.line());
        }
    }
    if failed {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::SUCCESS
    }
}

/// `rampart sandbox-check`: the serving sandbox, then every probe (the shell last).
fn sandbox_check(
    file: Option<&Path>,
    connect: std::net::SocketAddr,
    outside: Option<PathBuf>,
) -> ExitCode {
    let config = match load(file, None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rampart: invalid configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(e) = rampart::logging::init(&config.log) {
        eprintln!("rampart: cannot start logging: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let confined = Policy::for_config(&config, file)
        .and_then(|policy| sandbox::confine_files_and_network(&config, &policy))
        .and_then(|()| sandbox::confine_system_calls(&config.sandbox));
    if let Err(e) = confined {
        eprintln!("rampart: {e}");
        return ExitCode::FAILURE;
    }
    let outside = outside.unwrap_or_else(std::env::temp_dir);
    let mut all_refused = true;
    for outcome in sandbox::probe::run(&outside, connect) {
        all_refused &= outcome.refused();
        println!("{}", outcome.line());
    }
    // Last: if it is allowed, this process becomes the shell, which says so and exits 1.
    let shell = sandbox::probe::exec_shell();
    all_refused &= shell.refused();
    println!("{}", shell.line());
    if all_refused {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
