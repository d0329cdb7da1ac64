//! The TLS-policy scans' positive control for protocol versions and suites: `openssl
//! s_server` at security level 0, with every protocol this OpenSSL still has (TLS 1.0 to 1.3)
//! and every suite it has, and an RSA certificate (so that static RSA key exchange can be
//! chosen). rustls, which rampart and the weak target use, cannot be made this weak.
//! Test-only; needs the `openssl` command-line tool.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

pub struct Legacy {
    pub url: String,
    pub ca: PathBuf,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

/// Writes a CA and an RSA 2048 leaf for `localhost` it signed into `dir`: `ca.pem`,
/// `leaf.pem`, `leaf.key`.
fn rsa_files(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, cert, key) = super::rsa_leaf(dir, rcgen::RsaKeySize::_2048);
    let paths = (ca, dir.join("leaf.pem"), dir.join("leaf.key"));
    std::fs::write(&paths.1, cert).expect("write leaf");
    std::fs::write(&paths.2, key).expect("write key");
    paths
}

impl Legacy {
    /// Starts `openssl s_server -www` on a free loopback port and waits until it accepts.
    pub async fn start() -> Legacy {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca, cert, key) = rsa_files(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = tokio::process::Command::new("openssl")
            .arg("s_server")
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(["-www", "-cipher", "ALL:@SECLEVEL=0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the openssl command-line tool is installed (apt-get install openssl)");
        // s_server prints ACCEPT once it listens; then its output is drained so that it never
        // blocks on a full pipe.
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim() == "ACCEPT" {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "openssl s_server did not start listening");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Legacy {
            url: format!("https://localhost:{port}"),
            ca,
            _child: child,
            _dir: dir,
        }
    }
}
