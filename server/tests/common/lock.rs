//! Reads the workspace's lock files: which version of a package a build is pinned to, and
//! where it comes from.

use std::path::Path;

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// One package's entry in a lock file.
pub struct Locked {
    /// Its `version`.
    pub version: String,
    /// The whole entry, for failure messages.
    pub entry: String,
}

impl Locked {
    /// Whether it comes from a registry or git rather than a path in this repository.
    pub fn comes_from_a_registry(&self) -> bool {
        self.entry.lines().any(|l| l.starts_with("source = "))
    }
}

/// The entry for `name` in `lock` (a path from the repository's root, such as `Cargo.lock`),
/// or `None` when the package is not locked there. Panics if there are two versions of it.
pub fn locked_package(lock: &str, name: &str) -> Option<Locked> {
    let text = std::fs::read_to_string(root().join(lock))
        .unwrap_or_else(|e| panic!("reading {lock}: {e}"));
    let mut found = text.split("[[package]]").filter_map(|block| {
        let entry = block.trim();
        let mut lines = entry.lines();
        if lines.next()? != format!("name = \"{name}\"") {
            return None;
        }
        let version = lines
            .next()?
            .strip_prefix("version = \"")?
            .strip_suffix('"')?;
        Some(Locked {
            version: version.to_owned(),
            entry: entry.to_owned(),
        })
    });
    let first = found.next();
    assert!(found.next().is_none(), "{lock} has two versions of {name}");
    first
}
