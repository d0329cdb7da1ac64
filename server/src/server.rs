//! Start-up and life cycle: load certificates (generating the dev set when none are
//! configured), open the database, bind, run the accept loop, reload certificates, drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rampart_certs::{CertError, DevOutcome};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::acme::Acme;
use crate::acme::shared::Shared;
use crate::admin::MetricsSource;
use crate::auth::Hasher;
use crate::auth::backoff::Backoff;
use crate::config::{Config, LimitsConfig};
use crate::db::{Backend, Db, DbError};
use crate::http::rate_limit::RequestLimits;
use crate::http::{AppShared, AppState, router};
use crate::limits::cooldown::Cooldown;
use crate::limits::refusals::Refusals;
use crate::metrics::Metrics;
use crate::net::admission::Admission;
use crate::net::{
    ConnShared, ConnTracker, DrainOutcome, HeavyRuntime, Lanes, Phase, ShutdownSignal, accept_loop,
    spawn_accept_thread,
};
use crate::systemd::Inherited;
use crate::tls::{self, CertSource, CertStore, TlsError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Certificate or key loading or generation failed.
    #[error("certificates: {0}")]
    Certs(#[from] CertError),
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The database could not be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The credential settings are unusable (pepper file, argon2 parameters).
    #[error("auth: {0}")]
    Auth(String),
    /// The server's own secrets could not be read or created in the database.
    #[error("server secrets: {0}")]
    Secrets(#[from] crate::store::StoreError),
    /// ACME cannot start (its `directory_ca` is unusable).
    #[error(transparent)]
    Acme(#[from] crate::acme::AcmeError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A started server.
pub struct Running {
    admission: Arc<Admission>,
    source: Arc<MetricsSource>,
    admin_addr: Option<SocketAddr>,
    local_addr: SocketAddr,
    dev_ca: Option<PathBuf>,
    certs: Arc<CertStore>,
    db: Db,
    phase: watch::Sender<Phase>,
    /// Completes when the accept thread has ended.
    accept_task: tokio::sync::oneshot::Receiver<()>,
    closed: mpsc::Receiver<()>,
    open: Arc<AtomicUsize>,
    shutdown_timeout: std::time::Duration,
    /// The heavy lane's runtime (`net::lanes`), stopped when this is dropped.
    heavy: Option<HeavyRuntime>,
    /// Certificates from ACME, when `tls.acme` is set.
    acme: Option<Arc<Acme>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

fn cert_source(config: &Config) -> Result<(CertSource, Option<PathBuf>), CertError> {
    if let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) {
        return Ok((
            CertSource {
                cert: cert.clone(),
                key: key.clone(),
            },
            None,
        ));
    }
    let (paths, outcome) = rampart_certs::ensure_dev_set(&config.tls.dev_dir)?;
    match &outcome {
        DevOutcome::Created => tracing::info!(
            dir = %paths.dir.display(),
            "generated a development CA and leaf certificate"
        ),
        DevOutcome::LeafRenewed(reason) => tracing::info!(
            dir = %paths.dir.display(),
            %reason,
            "renewed the development leaf certificate"
        ),
        DevOutcome::Reused => {}
    }
    Ok((
        CertSource {
            cert: paths.leaf_cert,
            key: paths.leaf_key,
        },
        Some(paths.ca_cert),
    ))
}

/// How often limiter state is pruned.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

async fn maintain(
    admission: Arc<Admission>,
    limits: Arc<RequestLimits>,
    db: Db,
    backoff: Backoff,
    mut shutdown: ShutdownSignal,
) {
    let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
    let retention = i64::try_from(backoff.retention().as_micros()).unwrap_or(i64::MAX);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                admission.maintain();
                limits.maintain();
                let now = crate::store::now_micros();
                if let Err(e) =
                    crate::store::login_throttle::prune(&db, now.saturating_sub(retention), now).await
                {
                    tracing::warn!(error = %e, "could not prune the login throttle");
                }
            }
            _ = shutdown.reached(Phase::Draining) => return,
        }
    }
}

/// The API's shared state: the password hasher (with the pepper, if configured), the cursor
/// key (kept in the database, so that every instance signs alike), and the limits.
pub async fn app_state(
    config: &Config,
    db: Db,
    limits: Arc<RequestLimits>,
    backoff: Backoff,
) -> Result<AppState, StartError> {
    let pepper = match &config.auth.pepper_file {
        Some(p) => Some(crate::auth::hasher::read_pepper(p).map_err(StartError::Auth)?),
        None => None,
    };
    let hasher = Hasher::new(&config.auth, pepper)
        .await
        .map_err(|e| StartError::Auth(e.to_string()))?;
    let mut fresh_key = [0u8; 32];
    tls::provider()
        .secure_random
        .fill(&mut fresh_key)
        .map_err(|e| StartError::Auth(format!("random generator failed: {e:?}")))?;
    let cursor_key = crate::store::secrets::get_or_create(&db, "cursor_mac", &fresh_key).await?;
    Ok(AppState::new(AppShared {
        db,
        hasher: Arc::new(hasher),
        auth: Arc::new(config.auth.clone()),
        cursor_key,
        limits,
        backoff,
        known_logins: Arc::new(crate::auth::known_logins::KnownLogins::new(
            config.auth.known_login_ttl,
            config.auth.known_logins_max,
        )),
        handler_timeout: config.http.handler_timeout,
    }))
}

/// Loads certificates, opens the database, binds the listener and starts accepting.
pub async fn start(config: Config) -> Result<Running, StartError> {
    start_on(config, None).await
}

/// Listeners bound before start: passed in by a service manager (socket activation), or
/// bound by `main` before it gives up root.
#[derive(Debug)]
pub struct Prebound {
    /// The API's listener, non-blocking.
    pub api: std::net::TcpListener,
    /// The admin listener, when there is one.
    pub admin: Option<std::net::TcpListener>,
}

impl From<Inherited> for Prebound {
    fn from(i: Inherited) -> Prebound {
        Prebound {
            api: i.https.listener,
            admin: i.admin.map(|a| a.listener),
        }
    }
}

impl Prebound {
    /// Binds `listen` and `admin.listen` now (as root, before the privileges go).
    pub fn bind(config: &Config) -> Result<Prebound, StartError> {
        let backlog = config.limits.listen_backlog;
        Ok(Prebound {
            api: bind_std(config.listen, backlog)?,
            admin: config
                .admin
                .listen
                .map(|a| bind_std(a, backlog))
                .transpose()?,
        })
    }
}

/// Binds `addr` with an accept queue of `backlog` connections (the kernel caps it at
/// `net.core.somaxconn`), as a non-blocking std listener (so that it can be bound before the
/// runtime exists, as root). A full queue drops the SYNs of new clients, who try again only
/// after a second: under a connection flood, a short queue is a second of latency for
/// legitimate clients (tokio's default is 1,024, nginx's 511).
fn bind_std(addr: SocketAddr, backlog: u32) -> Result<std::net::TcpListener, StartError> {
    let err = |source| StartError::Bind { addr, source };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(err)?;
    // As tokio's TcpListener::bind: a restart may bind while old connections are in TIME_WAIT.
    socket.set_reuse_address(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    socket
        .listen(i32::try_from(backlog).unwrap_or(i32::MAX))
        .map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    Ok(socket.into())
}

/// A bound std listener as a tokio one, with its address.
fn adopt(listener: std::net::TcpListener) -> Result<(TcpListener, SocketAddr), StartError> {
    let unknown = SocketAddr::from(([0, 0, 0, 0], 0));
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: unknown,
        source,
    })?;
    let listener =
        TcpListener::from_std(listener).map_err(|source| StartError::Bind { addr, source })?;
    Ok((listener, addr))
}

/// As [`start`], serving on listeners bound before (passed in by a service manager, or bound
/// before dropping root) in place of `listen` and `admin.listen`, when there are any.
pub async fn start_on(config: Config, prebound: Option<Prebound>) -> Result<Running, StartError> {
    let db = Db::connect(&config.database).await?;
    let (certs, dev_ca, acme) = match &config.tls.acme {
        Some(acme) => {
            let certs = Arc::new(CertStore::awaiting(Acme::cert_source(acme)));
            // Instances on one PostgreSQL database order and serve one certificate between them.
            let shared = (db.backend() == Backend::Postgres).then(|| Shared::new(db.clone(), acme));
            let acme = Arc::new(Acme::new(acme, certs.clone(), shared)?);
            (certs, None, Some(acme))
        }
        None => {
            let (source, dev_ca) = cert_source(&config)?;
            (Arc::new(CertStore::load(source)?), dev_ca, None)
        }
    };
    let tls_config = tls::server_config(config.tls.profile, certs.clone())?;
    let Prebound { api, admin } = match prebound {
        Some(p) => p,
        None => Prebound::bind(&config)?,
    };
    let (listener, local_addr) = adopt(api)?;
    // An admin listener passed in, or the configured one (bound now when none was).
    let admin_listener = match (admin, config.admin.listen) {
        (Some(socket), _) => Some(adopt(socket)?),
        (None, Some(addr)) => Some(adopt(bind_std(addr, config.limits.listen_backlog)?)?),
        (None, None) => None,
    };

    let metrics = Arc::new(Metrics::default());
    let refusals = Refusals::new(
        metrics.clone(),
        config.limits.log_interval,
        config.limits.max_tracked_clients,
        Cooldown::from_config(&config.limits),
    );
    let admission = Admission::new(&config.limits, refusals.clone());
    let limits = RequestLimits::new(&config.limits, refusals.clone());
    let backoff = Backoff::from_config(&config.limits);
    let acceptor = TlsAcceptor::from(Arc::new(tls_config));
    let mut shared = ConnShared::new(
        metrics.clone(),
        &config.limits.trusted_proxies,
        acceptor.clone(),
        config.tls.handshake_timeout,
        router(app_state(&config, db.clone(), limits.clone(), backoff).await?),
        &config.http,
    );
    if let Some(acme) = &acme {
        shared = shared.with_validation(
            Arc::new(acme.challenges().config()?),
            acme.challenges().clone(),
        );
    }
    let shared = Arc::new(shared);
    let (phase, phase_rx) = watch::channel(Phase::Running);
    let (tracker, closed, open) = ConnTracker::new();
    let signal = ShutdownSignal(phase_rx);
    tokio::spawn(maintain(
        admission.clone(),
        limits,
        db.clone(),
        backoff,
        signal.clone(),
    ));
    let source = Arc::new(MetricsSource {
        admission: admission.clone(),
        open: open.clone(),
        acme: acme.as_ref().map(|a| a.metrics().clone()),
    });
    let admin_addr = match admin_listener {
        Some((admin_listener, admin_addr)) => {
            // Its own small caps, so the admin port cannot take the API's connection budget.
            let admin_limits = LimitsConfig {
                max_connections: 32,
                max_connections_per_client: 8,
                max_handshakes_in_progress: 8,
                proxy_protocol: false,
                ..config.limits.clone()
            };
            let admin_shared = Arc::new(ConnShared::new(
                metrics.clone(),
                &[],
                acceptor,
                config.tls.handshake_timeout,
                crate::http::App::new(crate::admin::router(source.clone())),
                &config.http,
            ));
            tokio::spawn(accept_loop(
                admin_listener,
                Lanes::single(tokio::runtime::Handle::current()),
                admin_shared,
                Admission::new(&admin_limits, refusals.clone()),
                signal.clone(),
                tracker.clone(),
            ));
            Some(admin_addr)
        }
        None => None,
    };
    let bind_error = |source| StartError::Bind {
        addr: local_addr,
        source,
    };
    let (lanes, heavy) = if config.limits.standing_connections_per_client > 0 {
        let heavy = HeavyRuntime::start().map_err(bind_error)?;
        (Lanes::split(&heavy), Some(heavy))
    } else {
        (Lanes::single(tokio::runtime::Handle::current()), None)
    };
    let accept_task = spawn_accept_thread(
        listener,
        lanes,
        shared,
        admission.clone(),
        signal.clone(),
        tracker,
    )
    .map_err(bind_error)?;
    // Orders once the listener answers, since validation handshakes come to it.
    if let Some(acme) = &acme {
        let mut signal = signal;
        tokio::spawn(
            acme.clone()
                .run(async move { signal.reached(Phase::Draining).await }),
        );
    }
    Ok(Running {
        admission,
        source,
        admin_addr,
        local_addr,
        dev_ca,
        certs,
        db,
        phase,
        accept_task,
        closed,
        open,
        shutdown_timeout: config.shutdown_timeout,
        heavy,
        acme,
    })
}

impl Running {
    /// The bound address (the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The dev CA certificate clients should trust, when the dev set is in use.
    pub fn dev_ca(&self) -> Option<&std::path::Path> {
        self.dev_ca.as_deref()
    }

    /// The database handle.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Re-reads the certificate files; on error the current certificate stays in service.
    pub fn reload_certificates(&self) -> Result<(), CertError> {
        self.certs.reload()
    }

    /// A cheap handle that can reload certificates from another task (SIGHUP).
    pub fn cert_store(&self) -> Arc<CertStore> {
        self.certs.clone()
    }

    /// The rejection counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.admission.metrics()
    }

    /// Prometheus text of the counters and gauges (what the admin `/metrics` serves).
    pub fn metrics_text(&self) -> String {
        self.source.render()
    }

    /// The admin listener's bound address, when enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The heavy lane's runtime (`net::lanes`), when there is one: for diagnostics and tests.
    pub fn heavy_lane(&self) -> Option<tokio::runtime::Handle> {
        self.heavy.as_ref().map(HeavyRuntime::handle)
    }

    /// The ACME side (its counters), when `tls.acme` is set.
    pub fn acme(&self) -> Option<&Arc<Acme>> {
        self.acme.as_ref()
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets in-flight requests finish within the configured bound, then
    /// closes whatever is left.
    pub async fn shutdown(mut self) -> DrainOutcome {
        let _ = self.phase.send(Phase::Draining);
        let _ = (&mut self.accept_task).await;
        let drained = tokio::time::timeout(self.shutdown_timeout, self.closed.recv()).await;
        let outcome = match drained {
            Ok(_) => DrainOutcome::Drained,
            Err(_) => DrainOutcome::TimedOut {
                open: self.open.load(Ordering::Relaxed),
            },
        };
        let _ = self.phase.send(Phase::Closing);
        self.db.close().await;
        outcome
    }
}
