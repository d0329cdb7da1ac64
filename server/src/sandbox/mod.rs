//! The sandbox rampart puts itself in (Linux; `[sandbox]` in the configuration), after
//! OpenBSD's pledge and unveil: should a bug ever give an attacker code execution inside the
//! server, the process can read only its configuration and certificates, write only its
//! store, bind and connect only to its configured ports, and cannot start a program, trace a
//! process or change the kernel's state.
//!
//! Two halves, because of how the kernel applies them:
//! - [`confine_files_and_network`] (Landlock and no_new_privs) before the runtime starts any
//!   thread, since a Landlock domain covers the calling thread and the threads it starts;
//!   its [`policy`] allows exactly what starting needs (creating the store, the development
//!   certificates) and serving needs (reloading certificates);
//! - [`confine_system_calls`] (the [`seccomp`] allowlist) once the listener, certificates and
//!   store are ready, on every thread at once.
//!
//! Started as root with `process.user`, the process first becomes that user ([`user`]).
//!
//! Where the kernel lacks a part, the log says which at warn level; `sandbox.require` makes it
//! a start-up error instead. [`probe`] shows from inside what is refused.

pub mod landlock;
pub mod policy;
pub mod probe;
pub mod seccomp;
pub mod user;

use crate::config::{Config, SandboxConfig};
use crate::db::DbError;

pub use policy::Policy;

/// Why the sandbox could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The database URL does not say what it needs.
    #[error(transparent)]
    Policy(#[from] DbError),
    /// A folder the server writes could not be created to be named in a rule.
    #[error("sandbox: cannot create {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Landlock failed.
    #[error(transparent)]
    Landlock(#[from] landlock::LandlockError),
    /// seccomp failed.
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    /// `process.user` cannot be used or become.
    #[error("{0}")]
    User(String),
    /// `sandbox.require` is set and the kernel cannot enforce all of it.
    #[error("sandbox.require is set, but this kernel does not enforce: {}", .0.join("; "))]
    Required(Vec<String>),
}

/// Says what is not enforced: at warn level, or as an error when it is required.
fn settle(sandbox: &SandboxConfig, gaps: Vec<String>) -> Result<(), SandboxError> {
    if gaps.is_empty() {
        return Ok(());
    }
    if sandbox.require {
        return Err(SandboxError::Required(gaps));
    }
    for gap in gaps {
        tracing::warn!(what = %gap, "sandbox: not enforced by this kernel");
    }
    Ok(())
}

/// The first half: Landlock on files and TCP ports, and no_new_privs, by `policy` (made from
/// `config`). Call before any thread is started (the log and nothing else may have been set
/// up), after a drop to `process.user`.
pub fn confine_files_and_network(config: &Config, policy: &Policy) -> Result<(), SandboxError> {
    if !config.sandbox.enabled {
        tracing::warn!("sandbox: off (sandbox.enabled = false): the process is not confined");
        return Ok(());
    }
    policy.make_folders(None)?;
    let gaps = landlock::restrict(policy)?;
    tracing::info!(
        read_only = ?policy.read_only,
        read_write = ?policy.read_write,
        bind = ?policy.bind_ports,
        connect = ?policy.connect_ports,
        "sandbox: files and TCP ports confined (Landlock)"
    );
    settle(&config.sandbox, gaps)
}

/// The second half: the system-call allowlist on every thread. Call once serving is ready.
pub fn confine_system_calls(sandbox: &SandboxConfig) -> Result<(), SandboxError> {
    if !sandbox.enabled {
        return Ok(());
    }
    match seccomp::restrict() {
        Ok(()) => {
            tracing::info!("sandbox: system calls confined (seccomp allowlist, every thread)");
            Ok(())
        }
        Err(e) if !sandbox.require => {
            tracing::warn!(error = %e, "sandbox: system calls are not confined");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_kernel_cannot_enforce_is_an_error_only_when_required() {
        let gaps = || vec!["Landlock ABI 3: TCP bind and connect are not limited".to_string()];
        let warn = SandboxConfig::default();
        settle(&warn, gaps()).expect("warned, not refused");
        let require = SandboxConfig {
            require: true,
            ..SandboxConfig::default()
        };
        let e = settle(&require, gaps()).expect_err("required");
        assert_eq!(
            e.to_string(),
            "sandbox.require is set, but this kernel does not enforce: Landlock ABI 3: TCP bind \
             and connect are not limited"
        );
        settle(&require, Vec::new()).expect("nothing missing");
    }
}
