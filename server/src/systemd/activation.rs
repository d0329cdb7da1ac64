//! Socket activation (`sd_listen_fds(3)`): the service manager binds the ports and passes them
//! as file descriptors 3, 4, … with `LISTEN_FDS` (how many), `LISTEN_PID` (for which process)
//! and `LISTEN_FDNAMES` (their names, from `FileDescriptorName=`). Serving port 443 then needs
//! no capability, and a restart loses no connection queued on the port.
//!
//! The socket named `admin` is the admin (`/metrics`) listener; the one other socket is the
//! API's. Anything else (two API sockets, a datagram socket, a name count that does not match)
//! is refused with an error that says what was passed.

use std::net::{SocketAddr, TcpListener};

/// The name that marks the admin listener's socket (`FileDescriptorName=admin`).
pub const ADMIN_NAME: &str = "admin";

/// The first inherited descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: usize = 3;

/// Why the inherited sockets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` or `LISTEN_PID` is not a number.
    #[error("socket activation: {var}={value:?} is not a number")]
    NotANumber {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// `LISTEN_FDNAMES` names a different number of sockets than `LISTEN_FDS` passes.
    #[error("socket activation: LISTEN_FDNAMES names {names} sockets but LISTEN_FDS passes {fds}")]
    NameCount {
        /// Names given.
        names: usize,
        /// Descriptors passed.
        fds: usize,
    },
    /// No socket for the API, or more than one.
    #[error(
        "socket activation: expected one API socket (and at most one named `admin`), got {got:?}"
    )]
    Roles {
        /// The names of what was passed.
        got: Vec<String>,
    },
    /// A passed descriptor is not a listening TCP socket.
    #[error("socket activation: fd {fd} ({name}) is not a TCP socket: {source}")]
    NotTcp {
        /// The descriptor.
        fd: usize,
        /// Its name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One inherited listening socket, described for the startup log.
#[derive(Debug)]
pub struct InheritedSocket {
    /// The descriptor number it came as.
    pub fd: usize,
    /// Its `LISTEN_FDNAMES` name (`unknown` when none was given, as systemd says).
    pub name: String,
    /// The address it is bound to.
    pub addr: SocketAddr,
    /// The listener, non-blocking.
    pub listener: TcpListener,
}

/// The sockets a service manager passed in.
#[derive(Debug)]
pub struct Inherited {
    /// The API's listener.
    pub https: InheritedSocket,
    /// The admin listener, when a socket named `admin` was passed.
    pub admin: Option<InheritedSocket>,
}

/// Which listener each passed socket is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Https,
    Admin,
}

/// The variables as read from the environment.
#[derive(Debug, Default, Clone)]
struct Vars {
    fds: Option<String>,
    pid: Option<String>,
    names: Option<String>,
}

/// What the variables say: `None` when the sockets are not for this process (or there are
/// none), else each socket's name and role.
fn plan(vars: &Vars, own_pid: u32) -> Result<Option<Vec<(String, Role)>>, ActivationError> {
    let Some(fds) = vars.fds.as_deref() else {
        return Ok(None);
    };
    let number = |var, value: &str| {
        value
            .parse::<u32>()
            .map_err(|_| ActivationError::NotANumber {
                var,
                value: value.to_string(),
            })
    };
    let count = number("LISTEN_FDS", fds)? as usize;
    // As sd_listen_fds: the sockets are for the process LISTEN_PID names, not a child that
    // inherited the environment.
    match vars.pid.as_deref() {
        Some(pid) if number("LISTEN_PID", pid)? == own_pid => {}
        _ => return Ok(None),
    }
    if count == 0 {
        return Ok(None);
    }
    let names: Vec<String> = match vars.names.as_deref() {
        Some(n) => n.split(':').map(str::to_string).collect(),
        None => vec!["unknown".to_string(); count],
    };
    if names.len() != count {
        return Err(ActivationError::NameCount {
            names: names.len(),
            fds: count,
        });
    }
    let roles: Vec<(String, Role)> = names
        .into_iter()
        .map(|n| {
            let role = if n == ADMIN_NAME {
                Role::Admin
            } else {
                Role::Https
            };
            (n, role)
        })
        .collect();
    let of = |r| roles.iter().filter(|(_, role)| *role == r).count();
    if of(Role::Https) != 1 || of(Role::Admin) > 1 {
        return Err(ActivationError::Roles {
            got: roles.into_iter().map(|(n, _)| n).collect(),
        });
    }
    Ok(Some(roles))
}

impl Inherited {
    /// Takes the sockets passed to this process, if any, and clears the variables so that
    /// nothing started later mistakes them for its own. Call it before any thread starts
    /// (it changes the environment).
    pub fn take_from_env() -> Result<Option<Inherited>, ActivationError> {
        let var = |k| std::env::var(k).ok();
        let vars = Vars {
            fds: var("LISTEN_FDS"),
            pid: var("LISTEN_PID"),
            names: var("LISTEN_FDNAMES"),
        };
        let planned = plan(&vars, std::process::id())?;
        // listenfd clears LISTEN_FDS and LISTEN_PID (which is why no other thread may run
        // yet). LISTEN_FDNAMES stays: changing the environment is unsafe in this edition, and
        // without the count it is ignored, as sd_listen_fds ignores it.
        let mut fds = listenfd::ListenFd::from_env();
        let Some(roles) = planned else {
            return Ok(None);
        };
        let mut https = None;
        let mut admin = None;
        for (i, (name, role)) in roles.into_iter().enumerate() {
            let fd = FIRST_FD + i;
            let not_tcp = |source| ActivationError::NotTcp {
                fd,
                name: name.clone(),
                source,
            };
            let listener = fds
                .take_tcp_listener(i)
                .map_err(not_tcp)?
                .ok_or_else(|| not_tcp(std::io::Error::other("already taken")))?;
            listener.set_nonblocking(true).map_err(not_tcp)?;
            let addr = listener.local_addr().map_err(not_tcp)?;
            let socket = InheritedSocket {
                fd,
                name,
                addr,
                listener,
            };
            match role {
                Role::Https => https = Some(socket),
                Role::Admin => admin = Some(socket),
            }
        }
        // `plan` checked there is exactly one.
        let https = https.ok_or(ActivationError::Roles { got: Vec::new() })?;
        Ok(Some(Inherited { https, admin }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(fds: Option<&str>, pid: Option<&str>, names: Option<&str>) -> Vars {
        Vars {
            fds: fds.map(str::to_string),
            pid: pid.map(str::to_string),
            names: names.map(str::to_string),
        }
    }

    #[test]
    fn no_variables_no_sockets() {
        assert!(plan(&Vars::default(), 7).expect("ok").is_none());
    }

    #[test]
    fn sockets_for_another_process_are_not_taken() {
        assert!(
            plan(&vars(Some("1"), Some("8"), None), 7)
                .expect("ok")
                .is_none()
        );
        assert!(plan(&vars(Some("1"), None, None), 7).expect("ok").is_none());
    }

    #[test]
    fn one_unnamed_socket_is_the_api() {
        let p = plan(&vars(Some("1"), Some("7"), None), 7)
            .expect("ok")
            .expect("ok");
        assert_eq!(p, vec![("unknown".to_string(), Role::Https)]);
    }

    #[test]
    fn the_socket_named_admin_is_the_admin_listener_in_either_order() {
        let p = plan(&vars(Some("2"), Some("7"), Some("admin:https")), 7)
            .expect("ok")
            .expect("ok");
        assert_eq!(
            p,
            vec![
                ("admin".to_string(), Role::Admin),
                ("https".to_string(), Role::Https)
            ]
        );
    }

    #[test]
    fn two_api_sockets_or_none_are_refused_naming_what_came() {
        let e = plan(&vars(Some("2"), Some("7"), Some("a:b")), 7).expect_err("an error");
        assert_eq!(
            e.to_string(),
            "socket activation: expected one API socket (and at most one named `admin`), got [\"a\", \"b\"]"
        );
        assert!(matches!(
            plan(&vars(Some("1"), Some("7"), Some("admin")), 7),
            Err(ActivationError::Roles { .. })
        ));
    }

    #[test]
    fn bad_numbers_and_name_counts_are_named() {
        let e = plan(&vars(Some("x"), Some("7"), None), 7).expect_err("an error");
        assert_eq!(
            e.to_string(),
            "socket activation: LISTEN_FDS=\"x\" is not a number"
        );
        let e = plan(&vars(Some("2"), Some("7"), Some("https")), 7).expect_err("an error");
        assert_eq!(
            e.to_string(),
            "socket activation: LISTEN_FDNAMES names 1 sockets but LISTEN_FDS passes 2"
        );
    }
}
