//! The open-files limit: every connection is a file descriptor, so a soft limit of 1,024 (the
//! usual default under systemd and login shells) would turn `limits.max_connections` into a
//! fiction and make `accept` fail instead of the admission gate refusing cleanly. At start the
//! soft limit is raised as far as the hard limit allows, and a limit still below what the
//! configuration needs is reported.

/// Descriptors kept free beyond client connections: listeners, the database, logs, the admin
/// listener's own connections and the certificate files.
pub const HEADROOM: u64 = 256;

/// The limit before and after raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// Soft limit found at start.
    pub before: u64,
    /// Soft limit now.
    pub after: u64,
}

impl OpenFiles {
    /// Whether `max_connections` client connections fit beside [`HEADROOM`].
    pub fn enough_for(&self, max_connections: usize) -> bool {
        self.after >= max_connections as u64 + HEADROOM
    }
}

/// Raises the soft open-files limit to the hard limit.
pub fn raise() -> std::io::Result<OpenFiles> {
    let (before, _) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let after = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(OpenFiles { before, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_never_lowers_the_limit() {
        let l = raise().expect("getrlimit");
        assert!(l.after >= l.before);
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
        assert_eq!(soft, l.after);
        assert!(soft <= hard);
    }

    #[test]
    fn headroom_is_counted() {
        let l = OpenFiles {
            before: 1024,
            after: 1024,
        };
        assert!(l.enough_for(768));
        assert!(!l.enough_for(769));
    }
}
