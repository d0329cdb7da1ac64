//! `--spawn`: the harness starts the `rampart` binary itself, as a separate process on a free
//! loopback port with a temporary data directory and fresh dev certificates, watches its
//! resources while scenarios run ([`sampler`]), and stops it at the end.

pub mod sampler;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How long the server gets to start (dev certificates and the dummy password hash are made
/// at start-up; a debug build is slow).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long it gets to drain and exit after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The line rampart prints on stdout once it is listening.
const READY_PREFIX: &str = "rampart listening on ";

/// Why the server could not be spawned.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The binary is not where it was looked for.
    #[error(
        "no rampart binary at {0} (build it with `cargo build -p rampart`, or pass --server-bin PATH)"
    )]
    NoBinary(PathBuf),
    /// The temporary directory or the process could not be created.
    #[error("cannot start {bin}: {reason}")]
    Start {
        /// The binary.
        bin: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The process exited, or did not say it was listening in time.
    #[error("{bin} did not start: {reason}; its output:\n{log}")]
    NotReady {
        /// The binary.
        bin: PathBuf,
        /// What happened.
        reason: String,
        /// The tail of what it wrote.
        log: String,
    },
}

/// A running rampart started by the harness. Dropping it kills the process.
pub struct Spawned {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// `https://localhost:PORT`.
    pub url: String,
    /// The dev CA that signed its certificate.
    pub ca: PathBuf,
    /// Its combined output (stdout and logs).
    pub log: PathBuf,
    /// Its data directory, removed when this is dropped.
    _dir: tempfile::TempDir,
}

/// The `rampart` beside this executable (both are built into the same target directory).
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("rampart")))
        .unwrap_or_else(|| PathBuf::from("rampart"))
}

impl Spawned {
    /// Starts `bin` with its defaults except for a free loopback port, a temporary database
    /// and fresh dev certificates; `exempt` networks go into `limits.exempt`. Waits until it
    /// says it is listening.
    pub async fn start(bin: &Path, exempt: &[ipnet::IpNet]) -> Result<Spawned, SpawnError> {
        if !bin.is_file() {
            return Err(SpawnError::NoBinary(bin.to_path_buf()));
        }
        let start_err = |reason: String| SpawnError::Start {
            bin: bin.to_path_buf(),
            reason,
        };
        let dir = tempfile::Builder::new()
            .prefix("attack-sim-rampart-")
            .tempdir()
            .map_err(|e| start_err(format!("temporary directory: {e}")))?;
        let config = dir.path().join("rampart.toml");
        std::fs::write(&config, config_toml(dir.path(), exempt))
            .map_err(|e| start_err(format!("{}: {e}", config.display())))?;
        let log = dir.path().join("rampart.log");
        // Append mode: the server's stderr and the copy of its stdout below share the file.
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| start_err(format!("{}: {e}", log.display())))?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true);
        // The spawned server is configured by the file alone.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RAMPART_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd.spawn().map_err(|e| start_err(e.to_string()))?;
        let pid = child
            .id()
            .ok_or_else(|| start_err("exited at once".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| start_err("no stdout".into()))?;
        let not_ready = |reason: String| SpawnError::NotReady {
            bin: bin.to_path_buf(),
            reason,
            log: tail(&log),
        };
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = String::new();
        let wait = async {
            while let Ok(Some(line)) = lines.next_line().await {
                seen += &line;
                seen.push('\n');
                if let Some(url) = line.strip_prefix(READY_PREFIX) {
                    return Some(url.trim().to_string());
                }
            }
            None
        };
        let listening = match tokio::time::timeout(START_TIMEOUT, wait).await {
            Ok(Some(url)) => url,
            Ok(None) => {
                let status = child
                    .wait()
                    .await
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                return Err(not_ready(format!("it exited ({status})")));
            }
            Err(_) => {
                return Err(not_ready(format!(
                    "it did not report listening within {START_TIMEOUT:?}"
                )));
            }
        };
        let port = listening
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| not_ready(format!("unexpected listening line `{listening}`")))?;
        // The rest of stdout goes to the log too.
        let log_copy = log.clone();
        tokio::spawn(async move {
            let Ok(mut f) = tokio::fs::OpenOptions::new()
                .append(true)
                .open(&log_copy)
                .await
            else {
                return;
            };
            let _ = f.write_all(seen.as_bytes()).await;
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = f.write_all(format!("{line}\n").as_bytes()).await;
            }
        });
        Ok(Spawned {
            child,
            pid,
            url: format!("https://localhost:{port}"),
            ca: dir.path().join("certs").join("ca.pem"),
            log,
            _dir: dir,
        })
    }

    /// SIGTERM, then SIGKILL if it has not exited within [`STOP_TIMEOUT`]. Returns how it
    /// ended, and copies its log to `keep_log` when given.
    pub async fn stop(mut self, keep_log: Option<&Path>) -> String {
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let outcome = match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => {
                let _ = self.child.kill().await;
                format!("killed after not stopping within {STOP_TIMEOUT:?}")
            }
        };
        if let Some(dest) = keep_log {
            let _ = std::fs::copy(&self.log, dest);
        }
        outcome
    }
}

/// The spawned server's configuration: rampart's defaults except where it listens and
/// keeps its files.
fn config_toml(dir: &Path, exempt: &[ipnet::IpNet]) -> String {
    let quoted = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let exempt: Vec<String> = exempt
        .iter()
        .map(|n| toml::Value::String(n.to_string()).to_string())
        .collect();
    format!(
        "listen = \"127.0.0.1:0\"\n\n[tls]\ndev_dir = {}\n\n[database]\nurl = {}\n\n[limits]\nexempt = [{}]\n",
        quoted(&dir.join("certs")),
        toml::Value::String(format!("sqlite://{}", dir.join("rampart.db").display())),
        exempt.join(", ")
    )
}

/// The last lines of a log file, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_valid_toml_with_quoted_paths() {
        let text = config_toml(
            Path::new("/tmp/a \"b\""),
            &["127.78.0.1/32".parse().expect("net")],
        );
        let v: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(v["listen"].as_str(), Some("127.0.0.1:0"));
        assert_eq!(v["tls"]["dev_dir"].as_str(), Some("/tmp/a \"b\"/certs"));
        assert_eq!(
            v["database"]["url"].as_str(),
            Some("sqlite:///tmp/a \"b\"/rampart.db")
        );
        assert_eq!(v["limits"]["exempt"][0].as_str(), Some("127.78.0.1/32"));
    }

    #[tokio::test]
    async fn a_missing_binary_is_named() {
        let e = Spawned::start(Path::new("/nonexistent/rampart"), &[])
            .await
            .err()
            .expect("no binary");
        assert!(e.to_string().contains("/nonexistent/rampart"), "{e}");
    }
}
