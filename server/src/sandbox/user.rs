//! Started as root outside a service manager (`process.user`): the listeners are bound first,
//! then the process becomes that user and its group, with no supplementary groups and no
//! capabilities, before it opens the store or reads a key. Whether the user can write the
//! store and read the certificates is checked before, so that a wrong owner is one clear line
//! at start rather than a failure at the first write.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, User};

use super::{Policy, SandboxError};
use crate::config::Config;

/// The user to become.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its name.
    pub name: String,
    /// Its id.
    pub uid: Uid,
    /// Its primary group.
    pub gid: Gid,
}

/// Looks `name` up in the user database.
pub fn lookup(name: &str) -> Result<Account, SandboxError> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok(Account {
            name: name.to_string(),
            uid: u.uid,
            gid: u.gid,
        }),
        Ok(None) => Err(SandboxError::User(format!(
            "process.user = {name:?}: no such user"
        ))),
        Err(e) => Err(SandboxError::User(format!(
            "process.user = {name:?}: cannot read the user database: {e}"
        ))),
    }
}

/// The access a user needs to a path.
#[derive(Clone, Copy)]
enum Need {
    Read,
    Write,
}

/// Whether `account` has `bits` (`0o4` read, `0o2` write, `0o1` search) on `meta` by its mode
/// (the owner's, the group's or the others' bits, as the kernel picks them).
fn has(account: &Account, meta: &std::fs::Metadata, bits: u32) -> bool {
    let mode = meta.mode();
    let shift = if meta.uid() == account.uid.as_raw() {
        6
    } else if meta.gid() == account.gid.as_raw() {
        3
    } else {
        0
    };
    (mode >> shift) & bits == bits
}

/// Whether `account` can reach and use `path` as `need` says; the reason when it cannot.
fn can(account: &Account, path: &Path, need: Need) -> Result<(), String> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let describe = |p: &Path, meta: &std::fs::Metadata| {
        format!(
            "{} (owner uid {}, group gid {}, mode {:o})",
            p.display(),
            meta.uid(),
            meta.gid(),
            meta.mode() & 0o7777
        )
    };
    for folder in absolute.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(folder) else {
            continue;
        };
        if !has(account, &meta, 0o1) {
            return Err(format!("cannot enter {}", describe(folder, &meta)));
        }
    }
    let meta = std::fs::metadata(&absolute)
        .map_err(|e| format!("cannot find {}: {e}", absolute.display()))?;
    let (bits, verb) = match (need, meta.is_dir()) {
        (Need::Read, false) => (0o4, "read"),
        (Need::Read, true) => (0o5, "list"),
        (Need::Write, _) => (0o3, "write in"),
    };
    if has(account, &meta, bits) {
        Ok(())
    } else {
        Err(format!("cannot {verb} {}", describe(&absolute, &meta)))
    }
}

/// The files the server reads after it has dropped to the user: certificate, key, pepper.
fn read_after_drop(config: &Config) -> Vec<PathBuf> {
    [&config.tls.cert, &config.tls.key, &config.auth.pepper_file]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

/// Checks that `account` can write every read-write folder of `policy` and read the
/// certificate, key and pepper; every problem, one line each.
pub fn check_access(
    account: &Account,
    config: &Config,
    policy: &Policy,
) -> Result<(), SandboxError> {
    let problems: Vec<String> = policy
        .read_write
        .iter()
        .map(|p| can(account, p, Need::Write))
        .chain(
            read_after_drop(config)
                .iter()
                .map(|p| can(account, p, Need::Read)),
        )
        .filter_map(Result::err)
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SandboxError::User(format!(
            "process.user = {:?} {}",
            account.name,
            problems.join("; ")
        )))
    }
}

/// Becomes `account`: its group alone, then its user id. Leaving uid 0 clears the permitted,
/// effective and ambient capabilities; that is checked, as is that root cannot be regained.
pub fn drop_to(account: &Account) -> Result<(), SandboxError> {
    let fail = |what: &str, e: nix::Error| {
        SandboxError::User(format!("cannot become {:?}: {what}: {e}", account.name))
    };
    nix::unistd::setgroups(&[account.gid]).map_err(|e| fail("setgroups", e))?;
    nix::unistd::setgid(account.gid).map_err(|e| fail("setgid", e))?;
    nix::unistd::setuid(account.uid).map_err(|e| fail("setuid", e))?;
    if !account.uid.is_root() && nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(SandboxError::User(format!(
            "became {:?} but could set uid 0 again",
            account.name
        )));
    }
    let caps = capabilities().map_err(|e| fail("reading /proc/self/status", e))?;
    if caps.iter().any(|(_, v)| *v != 0) && !account.uid.is_root() {
        return Err(SandboxError::User(format!(
            "became {:?} but capabilities remain: {caps:?}",
            account.name
        )));
    }
    Ok(())
}

/// The permitted, effective and ambient capability sets of this thread.
fn capabilities() -> Result<Vec<(String, u64)>, nix::Error> {
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(0)))?;
    Ok(status
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            ["CapPrm", "CapEff", "CapAmb"].contains(&k).then(|| {
                (
                    k.to_string(),
                    u64::from_str_radix(v.trim(), 16).unwrap_or(u64::MAX),
                )
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody() -> Account {
        Account {
            name: "nobody".into(),
            uid: Uid::from_raw(65534),
            gid: Gid::from_raw(65534),
        }
    }

    #[test]
    fn an_unknown_user_is_named() {
        let e = lookup("no-such-user-here").expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "process.user = \"no-such-user-here\": no such user"
        );
    }

    #[test]
    fn access_follows_the_mode_bits_of_the_path_and_its_folders() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let open = dir.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let me = nobody();
        // The test may run as any user; nobody is the others' bits unless it is the owner.
        if std::fs::metadata(&open).expect("meta").uid() == me.uid.as_raw() {
            return;
        }
        assert!(can(&me, &open, Need::Write).is_ok());
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let e = can(&me, &open, Need::Write).expect_err("not writable");
        assert!(e.starts_with("cannot write in "), "{e}");
        assert!(e.ends_with("mode 755)"), "{e}");
        let file = open.join("key.pem");
        std::fs::write(&file, "k").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(
            can(&me, &file, Need::Read)
                .expect_err("key")
                .starts_with("cannot read ")
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(can(&me, &file, Need::Read).is_ok());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let e = can(&me, &file, Need::Read).expect_err("folder closed");
        assert!(e.starts_with("cannot enter "), "{e}");
    }
}
