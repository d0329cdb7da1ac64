//! The file-system and TCP half of the sandbox, by Landlock: the process (and every thread it
//! starts afterwards) may read only what the policy lists read-only, write only beneath its
//! read-write folders, bind and connect only to its ports, and may neither connect to abstract
//! Unix sockets nor signal processes outside its domain.
//!
//! Landlock confines the calling thread and its later children, so this runs before the
//! runtime starts any thread. On a kernel with an older Landlock ABI, what it lacks is left
//! out and named in the returned gaps.

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, LandlockStatus, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::policy::Policy;

/// The Landlock ABI whose rights are asked for: file access with truncate and device ioctl
/// (ABI 5), TCP bind and connect (4), and the abstract-socket and signal scopes (6). Later
/// ABIs restrict pathname Unix sockets too, which a PostgreSQL socket folder would need.
const TARGET: ABI = ABI::V6;

/// Why the ruleset could not be built or applied.
#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    /// A listed path could not be opened to name it in a rule.
    #[error("sandbox: cannot open {path} for a Landlock rule: {source}")]
    Path {
        /// The path.
        path: String,
        /// Why.
        source: landlock::PathFdError,
    },
    /// The kernel refused the ruleset.
    #[error("sandbox: Landlock: {0}")]
    Ruleset(#[from] landlock::RulesetError),
}

/// Rights for what is only read: files and listings, never execution.
fn read_only() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

/// Restricts this thread and its future threads to `policy`; returns what the kernel could not
/// enforce, in words.
pub fn restrict(policy: &Policy) -> Result<Vec<String>, LandlockError> {
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(TARGET))?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)?
        .create()?;
    let rules = policy.read_only.iter().map(|p| (p, read_only())).chain(
        policy
            .read_write
            .iter()
            .map(|p| (p, AccessFs::from_all(TARGET))),
    );
    for (path, access) in rules {
        // A listed file that does not exist is nothing to allow (its reader fails anyway).
        if !path.exists() {
            continue;
        }
        let fd = PathFd::new(path).map_err(|source| LandlockError::Path {
            path: path.display().to_string(),
            source,
        })?;
        let access = if path.is_dir() {
            access
        } else {
            access & AccessFs::from_file(TARGET)
        };
        ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
    }
    for port in &policy.bind_ports {
        ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::BindTcp))?;
    }
    for port in &policy.connect_ports {
        ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
    }
    let status = ruleset.restrict_self()?;
    let mut gaps = Vec::new();
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => Some(effective_abi),
        LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => None,
    };
    match abi {
        None => gaps.push(
            "Landlock is not enabled in this kernel: files and TCP ports are not confined".into(),
        ),
        Some(abi) => gaps.extend(missing_in(abi)),
    }
    if status.ruleset == RulesetStatus::NotEnforced && abi.is_some() {
        gaps.push("Landlock: the ruleset is not enforced".into());
    }
    if !status.no_new_privs {
        gaps.push("no_new_privs is not set".into());
    }
    Ok(gaps)
}

/// Each ABI the target needs, and what a kernel below it leaves open.
const NEEDED: &[(ABI, &str)] = &[
    (ABI::V2, "files may be moved or linked between folders"),
    (
        ABI::V3,
        "files outside the read-write folders may be truncated",
    ),
    (
        ABI::V4,
        "TCP bind and connect are not limited to the configured ports",
    ),
    (ABI::V5, "device ioctls are not limited"),
    (
        ABI::V6,
        "abstract Unix sockets and signals outside the process are not scoped",
    ),
];

/// What the target asks for that `abi` lacks, in words.
fn missing_in(abi: ABI) -> Vec<String> {
    NEEDED
        .iter()
        .filter(|(needs, _)| (abi as i32) < (*needs as i32))
        .map(|(_, open)| format!("Landlock ABI {}: {open}", abi as i32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_missing_abi_feature_is_named() {
        assert!(missing_in(ABI::V6).is_empty());
        assert!(missing_in(ABI::V7).is_empty());
        let v3 = missing_in(ABI::V3);
        assert_eq!(v3.len(), 3, "{v3:?}");
        assert!(v3[0].contains("TCP bind and connect"), "{v3:?}");
        assert_eq!(missing_in(ABI::V1).len(), 5);
    }
}
