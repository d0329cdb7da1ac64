//! `rampart sandbox-check`: what the sandbox refuses, tried from inside it. Each probe is one
//! thing a compromised server would do first: read a system file, write outside the store,
//! connect somewhere it has no business, start a shell. A refused probe is the sandbox
//! working; an allowed one is named, so that an operator sees what this kernel does not
//! enforce (and the tests see a rule that stopped working).

use std::io;
use std::net::SocketAddr;
use std::path::Path;

/// One probe's outcome.
#[derive(Debug)]
pub struct Outcome {
    /// What was tried.
    pub what: String,
    /// `Ok` when it was allowed; the error when it was refused (or failed otherwise).
    pub result: io::Result<()>,
}

impl Outcome {
    /// Refused by the sandbox (permission errors), as opposed to allowed or failing for
    /// another reason (a missing file, a closed port).
    pub fn refused(&self) -> bool {
        matches!(&self.result, Err(e) if e.kind() == io::ErrorKind::PermissionDenied)
    }

    /// One line for the operator.
    pub fn line(&self) -> String {
        match &self.result {
            Ok(()) => format!("ALLOWED  {}", self.what),
            Err(e) if self.refused() => format!("refused  {} ({e})", self.what),
            Err(e) => format!("FAILED   {} ({e}; not a refusal)", self.what),
        }
    }
}

/// Reads a file no server needs, writes a file in `outside` (a folder outside the store),
/// and connects to `connect`. (The shell is tried last, by [`exec_shell`], since if it is
/// allowed this process becomes the shell.)
pub fn run(outside: &Path, connect: SocketAddr) -> Vec<Outcome> {
    let stray = outside.join(format!("rampart-sandbox-probe-{}", std::process::id()));
    let written = std::fs::write(&stray, b"probe");
    if written.is_ok() {
        let _ = std::fs::remove_file(&stray);
    }
    vec![
        Outcome {
            what: "read /etc/passwd".into(),
            result: std::fs::read("/etc/passwd").map(|_| ()),
        },
        Outcome {
            what: format!("write {}", stray.display()),
            result: written,
        },
        Outcome {
            what: format!("connect to {connect}"),
            result: std::net::TcpStream::connect(connect).map(|_| ()),
        },
    ]
}

/// `execve("/bin/sh")`: returns only if refused. If it is allowed, the shell prints the
/// ALLOWED line itself and this process is gone.
pub fn exec_shell() -> Outcome {
    let sh = c"/bin/sh";
    let args = [c"sh", c"-c", c"echo 'ALLOWED  execve /bin/sh'; exit 1"];
    let err = nix::unistd::execv(sh, &args).err();
    Outcome {
        what: "execve /bin/sh".into(),
        result: Err(err.map_or_else(io::Error::last_os_error, io::Error::from)),
    }
}
