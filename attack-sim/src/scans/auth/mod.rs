//! The `auth` scans: what a second user, a thief of tokens or a guesser of usernames can do.
//! [`idor`] (one user's ids with another's session), [`tokens`] (missing, forged, truncated
//! and tampered tokens, reuse after logout and after a password change), [`enumeration`]
//! (existing usernames told apart by message or by timing), [`entropy`] (are session tokens
//! unguessable), [`mass_assignment`] (fields a client must not set) and [`confusables`]
//! (look-alike usernames as second users). All but the token
//! checks on a given `--auth bearer:` token need a login flow the harness can drive
//! (rampart's preset, or a plan's `[login]`: see [`crate::login`]); without one they are not
//! made.

pub mod confusables;
pub mod entropy;
pub mod enumeration;
pub mod expiry;
pub mod idor;
pub mod mass_assignment;
pub mod tokens;

use std::sync::Arc;

use crate::login::{Credentials, Flow};
use crate::scans::discovery::fixtures::Auth;
use crate::scans::discovery::openapi::{Location, Operation};
pub use crate::scans::discovery::prepare;
use crate::scans::discovery::{Discovered, request};
use crate::scans::http::Request;
use crate::scans::{ScanCtx, Scanned};

/// Why a check that needs the login flow was not made.
pub const NEEDS_FLOW: &str = "needs a login flow the harness can drive (rampart's, found in the OpenAPI document with --auth auto or rampart, or a plan's [login])";

/// The run's login flow and its user, or the check `name` recorded as not made.
pub fn flow_user(
    ctx: &ScanCtx,
    d: &Discovered,
    s: &mut Scanned,
    name: &str,
) -> Option<(Arc<Flow>, Credentials)> {
    match (&ctx.auth, d.fixtures.user()) {
        (Auth::Flow(flow), Some(user)) => Some((flow.clone(), user.clone())),
        _ => {
            s.unmade(name, NEEDS_FLOW);
            None
        }
    }
}

/// The authenticated read the token checks use: a secured GET without path inputs (the
/// caller's own list or profile), else any secured GET.
pub fn authenticated_read(ops: &[Operation]) -> Option<&Operation> {
    let secured_gets = || ops.iter().filter(|o| o.secured && o.method == "GET");
    secured_gets()
        .find(|o| !o.inputs.iter().any(|i| i.location == Location::Path))
        .or_else(|| secured_gets().next())
}

/// `op`'s original request with the credentials header replaced by `auth` (none: removed).
pub fn with_auth(d: &Discovered, op: &Operation, auth: Option<&str>) -> Request {
    let mut req = request::build(op, &d.fixtures, None);
    let name = d
        .fixtures
        .auth_header()
        .map_or_else(|| "Authorization".to_string(), |(n, _)| n);
    req.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
    if let Some(v) = auth {
        req.headers.push((name, v.to_string()));
    }
    req
}

/// Whether a status is a success.
pub fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scans::discovery::openapi::{Input, Kind};

    fn op(method: &str, path: &str, secured: bool, path_input: bool) -> Operation {
        Operation {
            method: method.into(),
            path: path.into(),
            inputs: path_input
                .then(|| Input {
                    name: "id".into(),
                    location: Location::Path,
                    kind: Kind::String,
                    required: true,
                    example: None,
                })
                .into_iter()
                .collect(),
            json_body: false,
            form_body: false,
            secured,
        }
    }

    #[test]
    fn the_token_checks_read_the_callers_own_list() {
        let ops = [
            op("GET", "/healthz", false, false),
            op("GET", "/v1/accounts/{id}", true, true),
            op("POST", "/v1/accounts", true, false),
            op("GET", "/v1/accounts", true, false),
        ];
        assert_eq!(
            authenticated_read(&ops).map(|o| o.path.as_str()),
            Some("/v1/accounts")
        );
        assert_eq!(
            authenticated_read(&ops[..2]).map(|o| o.path.as_str()),
            Some("/v1/accounts/{id}")
        );
        assert!(authenticated_read(&ops[..1]).is_none());
    }
}
