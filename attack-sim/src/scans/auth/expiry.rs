//! The expiry check of `session-tokens`: a token used after the `expires_at` its login
//! answered must be refused. The lifetime is the target's own (`expires_at` less the answer's
//! `Date`, so that a clock apart from this machine's does not matter), and the scan waits it
//! out only when it is short ([`EXPIRY_WAIT`]): a target whose tokens live for hours is
//! skipped, and says so, rather than waited for. Give a test instance a short session lifetime
//! to have it checked (rampart: `auth.session_absolute_timeout`, at least a minute).

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::tokens::{EXPIRY, must_be_refused};
use crate::client::Response;
use crate::login::{Credentials, Flow};
use crate::scans::Scanned;
use crate::scans::discovery::Discovered;
use crate::scans::discovery::openapi::Operation;
use crate::scans::http::Http;

/// The longest lifetime waited out.
pub const EXPIRY_WAIT: Duration = Duration::from_secs(90);
/// Waited beyond the lifetime: the `Date` header's second, and the target's own rounding.
const MARGIN: Duration = Duration::from_secs(2);

/// The check's name.
const NAME: &str = "a token after its expires_at refused";

/// When an answer was made, by its `Date` header (IMF-fixdate).
pub fn date_of(r: &Response) -> Option<OffsetDateTime> {
    let fmt = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = r.header_values("date").first().copied()?;
    time::PrimitiveDateTime::parse(date, &fmt)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// How long a token lives by the login answer `r` (body `answer`): `expires_at` less the
/// answer's `Date` (or less `now` when it has none); `Err` says why it cannot be told.
pub fn lifetime(r: &Response, answer: &Value, now: OffsetDateTime) -> Result<Duration, String> {
    let at = answer["expires_at"]
        .as_str()
        .ok_or("the login answer has no expires_at")?;
    let at = OffsetDateTime::parse(at, &Rfc3339)
        .map_err(|_| format!("the login answer's expires_at ({at}) is not RFC 3339"))?;
    let left = at - date_of(r).unwrap_or(now);
    Ok(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

/// Logs a user of its own in, waits out the token's lifetime when it is short, and reads
/// with the token: it must be refused.
pub async fn check(http: &Http, d: &Discovered, read: &Operation, flow: &Flow, s: &mut Scanned) {
    let user = Credentials::throwaway("scan");
    if let Err(e) = flow.register(http, &user).await {
        return s.unmade(NAME, e.to_string());
    }
    let (session, reply) = match flow.login_answer(http, &user).await {
        Ok(v) => v,
        Err(e) => return s.unmade(NAME, e.to_string()),
    };
    let answer: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    let life = match lifetime(&reply, &answer, OffsetDateTime::now_utc()) {
        Ok(l) => l,
        Err(why) => return s.skipped(NAME, why),
    };
    if life > EXPIRY_WAIT {
        return s.skipped(
            NAME,
            format!(
                "tokens live {} s by expires_at; the scan waits at most {} s (give a test instance a shorter session lifetime to have expiry checked)",
                life.as_secs(),
                EXPIRY_WAIT.as_secs()
            ),
        );
    }
    tokio::time::sleep(life + MARGIN).await;
    let why = format!(
        "a token still works after its expires_at ({} s after login, waited {} s)",
        life.as_secs(),
        (life + MARGIN).as_secs()
    );
    must_be_refused(http, d, read, &session.header().1, NAME, EXPIRY, &why, s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_reply(date: Option<&str>) -> Response {
        Response {
            status: 201,
            head: match date {
                Some(d) => format!("HTTP/1.1 201 Created\r\ndate: {d}"),
                None => "HTTP/1.1 201 Created".into(),
            },
            body: Vec::new(),
        }
    }

    use serde_json::json;

    #[test]
    fn the_lifetime_is_the_targets_own() {
        let answer = json!({"token": "t", "expires_at": "2026-12-01T12:01:00Z"});
        let r = login_reply(Some("Tue, 01 Dec 2026 12:00:00 GMT"));
        // This machine's clock an hour off: the Date header decides.
        let now = OffsetDateTime::parse("2026-12-01T13:00:00Z", &Rfc3339).expect("now");
        assert_eq!(lifetime(&r, &answer, now), Ok(Duration::from_secs(60)));
        let now = OffsetDateTime::parse("2026-12-01T12:00:30Z", &Rfc3339).expect("now");
        assert_eq!(
            lifetime(&login_reply(None), &answer, now),
            Ok(Duration::from_secs(30))
        );
        assert!(lifetime(&r, &json!({"token": "t"}), now).is_err());
        assert!(lifetime(&r, &json!({"expires_at": "tomorrow"}), now).is_err());
        let past = json!({"expires_at": "2026-12-01T11:00:00Z"});
        assert_eq!(lifetime(&r, &past, now), Ok(Duration::ZERO));
    }
}
