//! `user-confusables`: a username and its look-alikes (fullwidth letters, mathematical bold,
//! upper case) normalise to one NFKC, case-folded form, so they must be one user. A server
//! that lets a look-alike register as a second user lets an attacker pose as the first in
//! every place a name is shown. Registering a look-alike must be refused (as taken, or as
//! malformed); if it is accepted, the scan logs in with it to show the second user exists.

use super::{flow_user, prepare};
use crate::declared::random_hex;
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::login::Credentials;
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `user-confusables`.
pub const SCENARIO: Scenario = Scenario {
    name: "user-confusables",
    kind: "auth",
    description: "look-alike usernames (fullwidth, mathematical bold, upper case) must not become second users",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "user-confusables";

/// `name` (ASCII lower case letters, digits, `_`) in fullwidth forms.
pub fn fullwidth(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// `name`'s letters and digits in mathematical bold.
pub fn bold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' => char::from_u32(0x1D41A + (c as u32 - 'a' as u32)).unwrap_or(c),
            '0'..='9' => char::from_u32(0x1D7CE + (c as u32 - '0' as u32)).unwrap_or(c),
            c => c,
        })
        .collect()
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut s = Scanned::default();
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let Some((flow, _)) = flow_user(&ctx, &d, &mut s, "a user to imitate") else {
        return s;
    };
    let Some(registration) = flow.register.clone() else {
        s.unmade("a user to imitate", "the login flow has no registration");
        return s;
    };
    let original = Credentials::throwaway("scan");
    if let Err(e) = flow.register(&http, &original).await {
        s.unmade("a user to imitate", e.to_string());
        return s;
    }
    let name = original.username.clone();
    let variants = [
        ("fullwidth", fullwidth(&name)),
        ("mathematical bold", bold(&name)),
        ("upper case", name.to_uppercase()),
    ];
    for (kind, variant) in variants {
        let check = format!("a {kind} look-alike of an existing name refused");
        let look_alike = Credentials {
            username: variant.clone(),
            password: random_hex(16),
        };
        let req = registration.render(&look_alike.vars());
        let answer = match http.send(&req).await {
            Ok(r) => r,
            Err(e) => {
                s.unmade(check, e.to_string());
                continue;
            }
        };
        if !registration.expects(answer.status()) {
            s.passed(check, format!("refused with {}", answer.status()));
            continue;
        }
        // Registered: is it a second user? Its own password logs it in.
        let second = flow.login(&http, &look_alike).await.is_ok();
        let first = flow.login(&http, &original).await.is_ok();
        if second && first {
            s.failed(
                check,
                Finding {
                    severity: Severity::High,
                    confidence: Confidence::Confirmed,
                    endpoint: registration.describe(),
                    parameter: Some("the registration's username".into()),
                    technique: TECHNIQUE,
                    summary: format!(
                        "`{variant}` ({kind}) registered as a second user beside `{name}`, and both log in with their own passwords"
                    ),
                    evidence: Evidence::new(req.describe(http.host()), answer.describe()),
                },
            );
        } else {
            s.passed(
                check,
                format!(
                    "accepted ({}), but not as a second user (the look-alike logs in: {second}, the original: {first})",
                    answer.status()
                ),
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_other_code_points_of_the_same_name() {
        assert_eq!(fullwidth("scan_0a"), "ｓｃａｎ＿０ａ");
        assert_eq!(bold("scan_09"), "𝐬𝐜𝐚𝐧_𝟎𝟗");
        assert_ne!(fullwidth("x"), "x");
    }
}
