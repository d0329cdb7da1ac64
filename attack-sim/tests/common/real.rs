//! Servers nobody here wrote, from Debian's packages, each in a folder of its own on a free
//! loopback port: nginx with Debian's `nginx.conf` and Apache httpd with Debian's
//! `apache2.conf` (mpm_event and the modules Debian enables), each serving a static site
//! over TLS with a certificate made by `openssl req -x509` (self-signed, CA:TRUE). Only the
//! listener, the certificate, the document root and the paths of pid and log files differ
//! from what `apt-get install` gives. Test-only; stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
pub struct Real {
    pub url: String,
    /// The server's own certificate (what `--ca` pins).
    pub cert: PathBuf,
    pub name: &'static str,
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Real {
    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the url")
    }
}

impl Drop for Real {
    /// Stops the server with its workers: SIGTERM, on which nginx's master and Apache's parent
    /// stop their workers before they exit. SIGKILL of the parent alone left the workers
    /// running, listening, after every test. SIGKILL only if it has not gone within 10 s.
    fn drop(&mut self) {
        let pid = i32::try_from(self.child.id()).map(nix::unistd::Pid::from_raw);
        if let Ok(pid) = pid
            && nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_ok()
        {
            let until = std::time::Instant::now() + Duration::from_secs(10);
            while std::time::Instant::now() < until {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `bin` can be run.
pub fn installed(bin: &str) -> bool {
    Command::new(bin)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A folder others (the servers' unprivileged workers) may read.
fn shared_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// `openssl req -x509` for localhost and 127.0.0.1, into `dir`: (certificate, key).
fn openssl_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl req -x509");
    (cert, key)
}

/// A static site in `dir/www`: an index page and a stylesheet.
fn site(dir: &Path) -> PathBuf {
    let root = dir.join("www");
    std::fs::create_dir_all(&root).expect("root");
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>static</title><link rel=stylesheet href=/style.css><p>A static site.",
    )
    .expect("index");
    std::fs::write(root.join("style.css"), "p { color: #333 }").expect("css");
    root
}

/// Waits (at most 20 s) until the server answers TLS on `port`.
fn wait_listening(port: u16, child: &mut Child, name: &str) {
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited at start: {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{name} did not listen on {port} within 20 s");
}

/// Debian's nginx.conf, with its site replaced by ours on `port` and its files under `dir`.
pub fn nginx() -> Real {
    let dir = shared_dir();
    let (cert, key) = openssl_cert(dir.path());
    let root = site(dir.path());
    let port = free_port();
    let debian = std::fs::read_to_string("/etc/nginx/nginx.conf").expect("Debian's nginx.conf");
    let p = dir.path().display();
    let server = format!(
        "server {{\n\
         \tlisten 127.0.0.1:{port} ssl;\n\
         \tserver_name localhost;\n\
         \tssl_certificate {cert};\n\
         \tssl_certificate_key {key};\n\
         \troot {root};\n\
         \tindex index.html;\n\
         \tlocation / {{ try_files $uri $uri/ =404; }}\n\
         }}\n",
        cert = cert.display(),
        key = key.display(),
        root = root.display()
    );
    let conf = debian
        .replace("include /etc/nginx/sites-enabled/*;", &server)
        .replace("include /etc/nginx/conf.d/*.conf;", "")
        .replace("pid /run/nginx.pid;", &format!("pid {p}/nginx.pid;"))
        .replace("access_log /var/log/nginx/access.log;", "access_log off;")
        .replace(
            "error_log /var/log/nginx/error.log;",
            &format!("error_log {p}/error.log;"),
        );
    for d in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.path().join(d)).expect("temp dir");
    }
    let temp_paths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|d| format!("\t{d}_temp_path {p}/{d};\n"))
        .collect::<String>();
    let conf = conf.replacen("http {\n", &format!("http {{\n{temp_paths}"), 1);
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).expect("nginx.conf");
    let mut child = Command::new("nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts");
    wait_listening(port, &mut child, "nginx");
    Real {
        url: format!("https://localhost:{port}"),
        cert,
        name: "nginx",
        child,
        dir,
    }
}

/// Debian's apache2.conf (mpm_event and Debian's enabled modules), with its ports and sites
/// replaced by one TLS virtual host on `port`, and its run files under `dir`.
pub fn apache() -> Real {
    let dir = shared_dir();
    let (cert, key) = openssl_cert(dir.path());
    let root = site(dir.path());
    let port = free_port();
    let debian =
        std::fs::read_to_string("/etc/apache2/apache2.conf").expect("Debian's apache2.conf");
    let enabled = |m: &str| Path::new("/etc/apache2/mods-enabled").join(m).exists();
    let mut modules = String::new();
    for (m, file) in [
        ("socache_shmcb", "mod_socache_shmcb.so"),
        ("ssl", "mod_ssl.so"),
    ] {
        if !enabled(&format!("{m}.load")) {
            modules += &format!("LoadModule {m}_module /usr/lib/apache2/modules/{file}\n");
        }
    }
    let vhost = format!(
        "{modules}Listen 127.0.0.1:{port}\n\
         <VirtualHost 127.0.0.1:{port}>\n\
         \tServerName localhost\n\
         \tDocumentRoot {root}\n\
         \t<Directory {root}>\n\t\tRequire all granted\n\t</Directory>\n\
         \tSSLEngine on\n\
         \tSSLCertificateFile {cert}\n\
         \tSSLCertificateKeyFile {key}\n\
         </VirtualHost>\n",
        root = root.display(),
        cert = cert.display(),
        key = key.display()
    );
    let conf = debian
        .replace("Include ports.conf", "")
        .replace("IncludeOptional sites-enabled/*.conf", &vhost);
    let conf = format!("ServerRoot /etc/apache2\n{conf}");
    let path = dir.path().join("apache2.conf");
    std::fs::write(&path, conf).expect("apache2.conf");
    let p = dir.path();
    for d in ["run", "lock", "log"] {
        std::fs::create_dir_all(p.join(d)).expect("dir");
    }
    // As root (CI), Debian's www-data; otherwise apache2 cannot change user: the caller's.
    let id = |flag: &str| {
        let out = Command::new("id").arg(flag).output().expect("id runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let (user, group) = if id("-u") == "0" {
        ("www-data".to_string(), "www-data".to_string())
    } else {
        (id("-un"), id("-gn"))
    };
    let mut child = Command::new("apache2")
        .arg("-f")
        .arg(&path)
        .arg("-DFOREGROUND")
        .env("APACHE_RUN_USER", user)
        .env("APACHE_RUN_GROUP", group)
        .env("APACHE_PID_FILE", p.join("run/apache2.pid"))
        .env("APACHE_RUN_DIR", p.join("run"))
        .env("APACHE_LOCK_DIR", p.join("lock"))
        .env("APACHE_LOG_DIR", p.join("log"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("apache2 starts");
    wait_listening(port, &mut child, "apache2");
    Real {
        url: format!("https://localhost:{port}"),
        cert,
        name: "apache",
        child,
        dir,
    }
}
