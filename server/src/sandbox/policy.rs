//! What the server may reach once confined, derived from its configuration alone: the files it
//! reads (configuration, certificate and key, pepper), the folders it writes (the SQLite
//! store, the development certificates), and the TCP ports it binds and connects to.

use std::path::{Path, PathBuf};

use super::SandboxError;
use crate::config::Config;
use crate::db::DbReach;

/// Files a resolver reads to turn a database host name into addresses.
const RESOLVER_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
];

/// The confined process's reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Files and folders (and what is beneath them) that may be read, never written.
    pub read_only: Vec<PathBuf>,
    /// Folders beneath which files may be read, written, made and removed.
    pub read_write: Vec<PathBuf>,
    /// TCP ports that may be bound (the listeners; 0 for an ephemeral port).
    pub bind_ports: Vec<u16>,
    /// TCP ports that may be connected to (the database).
    pub connect_ports: Vec<u16>,
}

/// The folder a file lives in (`.` for a bare file name).
fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The host and port of an `https://` URL (443 when it names none; validated as `https://`
/// by the configuration).
fn url_host_port(url: &str) -> (String, u16) {
    let rest = url.strip_prefix("https://").unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    // A bracketed IPv6 literal, with or without a port.
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host.to_string(), port.unwrap_or(443));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(443)),
        None => (authority.to_string(), 443),
    }
}

impl Policy {
    /// The reach of a server started from `config` (read from `config_file`, if any).
    pub fn for_config(config: &Config, config_file: Option<&Path>) -> Result<Policy, SandboxError> {
        let mut p = Policy::default();
        p.read_only.extend(config_file.map(Path::to_path_buf));
        match (&config.tls.acme, &config.tls.cert, &config.tls.key) {
            // The account and certificates it writes, the directory's CA, and the directory's
            // port (and a resolver for its name).
            (Some(acme), _, _) => {
                p.read_write.push(acme.dir.clone());
                p.read_only.extend(acme.directory_ca.clone());
                let (host, port) = url_host_port(&acme.directory);
                p.connect_ports.push(port);
                if host.parse::<std::net::IpAddr>().is_err() {
                    p.read_only.extend(RESOLVER_FILES.iter().map(PathBuf::from));
                }
            }
            // Their folders, so that a reload finds files replaced by rename.
            (None, Some(cert), Some(key)) => {
                p.read_only.push(folder_of(cert));
                p.read_only.push(folder_of(key));
            }
            _ => p.read_write.push(config.tls.dev_dir.clone()),
        }
        p.read_only.extend(config.auth.pepper_file.clone());
        // Random bytes come from getrandom(2); this is the fallback some libraries open.
        p.read_only.push(PathBuf::from("/dev/urandom"));
        // The C library's count of CPUs, by which some libraries size their pools.
        p.read_only
            .push(PathBuf::from("/sys/devices/system/cpu/online"));
        let reach = DbReach::of(&config.database)?;
        p.read_write.extend(reach.dir);
        if let Some((host, port)) = reach.tcp {
            p.connect_ports.push(port);
            if host.parse::<std::net::IpAddr>().is_err() {
                p.read_only.extend(RESOLVER_FILES.iter().map(PathBuf::from));
            }
        }
        p.bind_ports.push(config.listen.port());
        p.bind_ports.extend(config.admin.listen.map(|a| a.port()));
        p.connect_ports.sort_unstable();
        p.connect_ports.dedup();
        p.read_only.sort();
        p.read_only.dedup();
        p.read_write.sort();
        p.read_write.dedup();
        p.bind_ports.sort_unstable();
        p.bind_ports.dedup();
        Ok(p)
    }

    /// Creates the read-write folders that do not exist yet (owner-only: they hold the store
    /// and keys), so that rules can name them before they are used, and gives the ones it
    /// creates to `owner` when the server will run as another user. Returns them.
    pub fn make_folders(
        &self,
        owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    ) -> Result<Vec<PathBuf>, SandboxError> {
        use std::os::unix::fs::DirBuilderExt;
        let mut made = Vec::new();
        for dir in &self.read_write {
            if dir.exists() {
                continue;
            }
            let fail = |source| SandboxError::Folder {
                path: dir.display().to_string(),
                source,
            };
            // Each missing level, so that every one of them gets the owner.
            let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(fail)?;
            for level in missing.into_iter().rev() {
                if let Some((uid, gid)) = owner {
                    nix::unistd::chown(level, Some(uid), Some(gid))
                        .map_err(|e| fail(std::io::Error::from(e)))?;
                }
                made.push(level.to_path_buf());
            }
        }
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_with_dev_certificates_writes_only_its_folders_and_binds_only_its_port() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut c = Config::default();
        c.database.url = format!("sqlite://{}", dir.path().join("state/bank.db").display());
        c.tls.dev_dir = dir.path().join("certs/dev");
        let p = Policy::for_config(&c, Some(Path::new("rampart.toml"))).expect("policy");
        assert_eq!(
            p.read_write,
            vec![dir.path().join("certs/dev"), dir.path().join("state")]
        );
        let made = p.make_folders(None).expect("folders");
        assert_eq!(
            made,
            vec![
                dir.path().join("certs"),
                dir.path().join("certs/dev"),
                dir.path().join("state")
            ]
        );
        assert!(p.make_folders(None).expect("again").is_empty());
        assert_eq!(
            p.read_only,
            vec![
                PathBuf::from("/dev/urandom"),
                PathBuf::from("/sys/devices/system/cpu/online"),
                PathBuf::from("rampart.toml")
            ]
        );
        assert_eq!(p.bind_ports, vec![8443]);
        assert!(p.connect_ports.is_empty());
    }

    #[test]
    fn acme_writes_its_folder_reads_its_ca_and_connects_only_to_the_directory() {
        let mut c = Config::default();
        c.tls.acme = Some(crate::config::AcmeConfig {
            directory: "https://acme.example:14000/dir".into(),
            domains: vec!["bank.example".into()],
            contact: None,
            directory_ca: Some(PathBuf::from("/etc/rampart/acme-ca.pem")),
            dir: PathBuf::from("/var/lib/rampart/acme"),
            renew_before: None,
        });
        c.database.url = "sqlite:///var/lib/rampart/bank.db".into();
        let p = Policy::for_config(&c, None).expect("policy");
        assert!(
            p.read_write
                .contains(&PathBuf::from("/var/lib/rampart/acme"))
        );
        assert!(!p.read_write.contains(&c.tls.dev_dir), "no development set");
        assert!(
            p.read_only
                .contains(&PathBuf::from("/etc/rampart/acme-ca.pem"))
        );
        assert!(
            p.read_only.contains(&PathBuf::from("/etc/resolv.conf")),
            "a name"
        );
        assert_eq!(p.connect_ports, vec![14000]);
        for (url, host, port) in [
            (
                "https://acme-v02.api.letsencrypt.org/directory",
                "acme-v02.api.letsencrypt.org",
                443,
            ),
            ("https://127.0.0.1:14000/dir", "127.0.0.1", 14000),
            ("https://[::1]:8443/dir", "::1", 8443),
            ("https://[::1]/dir", "::1", 443),
        ] {
            assert_eq!(url_host_port(url), (host.to_string(), port), "{url}");
        }
    }

    #[test]
    fn certificates_are_read_only_by_folder_and_postgres_adds_its_port_and_resolver() {
        let mut c = Config::default();
        c.tls.cert = Some(PathBuf::from("/etc/rampart/tls/fullchain.pem"));
        c.tls.key = Some(PathBuf::from("/etc/rampart/keys/privkey.pem"));
        c.database.url = "postgres://bank:secret@db.internal:6432/bank".into();
        c.admin.listen = Some("127.0.0.1:9443".parse().expect("addr"));
        let p = Policy::for_config(&c, None).expect("policy");
        assert!(p.read_write.is_empty(), "{:?}", p.read_write);
        assert!(p.read_only.contains(&PathBuf::from("/etc/rampart/tls")));
        assert!(p.read_only.contains(&PathBuf::from("/etc/rampart/keys")));
        assert!(p.read_only.contains(&PathBuf::from("/etc/resolv.conf")));
        assert_eq!(p.connect_ports, vec![6432]);
        assert_eq!(p.bind_ports, vec![8443, 9443]);

        c.database.url = "postgres://bank@127.0.0.1/bank".into();
        let p = Policy::for_config(&c, None).expect("policy");
        assert_eq!(p.connect_ports, vec![5432]);
        assert!(!p.read_only.contains(&PathBuf::from("/etc/resolv.conf")));
    }
}
