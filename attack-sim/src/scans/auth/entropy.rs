//! `token-entropy`: a sanity check of session tokens, from [`LOGINS`] logins of one user.
//! They must all differ, and they must vary where it counts: summed over character
//! positions, the log2 of how many different characters each position showed across the
//! sample must reach [`MIN_BITS`]. With 16 tokens a position can show at most 16 characters
//! (4 bits), so this underestimates a strong token (rampart's 43 base64url characters come
//! to about 160) and catches counters, timestamps and short tokens (a counter varies in its
//! last one or two places). It is a sanity check, not a randomness test.

use std::collections::HashSet;

use super::{flow_user, prepare};
use crate::findings::{Confidence, Evidence, Finding, Severity};
use crate::scans::http::Http;
use crate::scans::{ScanCtx, Scanned};
use crate::scenarios::{Load, Run, Scenario};

/// `token-entropy`.
pub const SCENARIO: Scenario = Scenario {
    name: "token-entropy",
    kind: "auth",
    description: "session tokens from 16 logins: all different, and varying in enough places to be unguessable",
    run: Run::Scan(|ctx| Box::pin(scan(ctx))),
    load: Load::None,
};

/// The finding's technique.
pub const TECHNIQUE: &str = "weak-session-token";
/// Logins sampled.
pub const LOGINS: usize = 16;
/// The least estimate accepted, in bits.
pub const MIN_BITS: f64 = 64.0;

/// The positional estimate of `tokens`' entropy, in bits.
pub fn positional_bits(tokens: &[String]) -> f64 {
    let chars: Vec<Vec<char>> = tokens.iter().map(|t| t.chars().collect()).collect();
    let len = chars.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let seen: HashSet<Option<char>> = chars.iter().map(|t| t.get(i).copied()).collect();
            (seen.len() as f64).log2()
        })
        .sum()
}

async fn scan(ctx: ScanCtx) -> Scanned {
    let http = Http::new(ctx.client.clone(), ctx.from);
    let mut s = Scanned::default();
    let Some(d) = prepare(&ctx, &http, &mut s).await else {
        return s;
    };
    let Some((flow, user)) = flow_user(&ctx, &d, &mut s, "tokens from logins") else {
        return s;
    };
    let mut tokens = Vec::new();
    for _ in 0..LOGINS {
        match flow.login(&http, &user).await {
            Ok(session) => tokens.push(session.token().to_string()),
            Err(e) => {
                s.unmade("tokens from logins", e.to_string());
                return s;
            }
        }
    }
    let finding = |summary: String| Finding {
        severity: Severity::High,
        confidence: Confidence::Confirmed,
        endpoint: flow.login.describe(),
        parameter: Some("token".into()),
        technique: TECHNIQUE,
        summary,
        // The tokens themselves are live credentials: only their shape is shown.
        evidence: Evidence::new(
            format!("{LOGINS} logins of one user"),
            format!(
                "token lengths {:?}; positional estimate {:.0} bits",
                tokens.iter().map(String::len).collect::<HashSet<_>>(),
                positional_bits(&tokens)
            ),
        ),
    };
    let distinct: HashSet<&String> = tokens.iter().collect();
    let name = "every login gets a new token";
    if distinct.len() < tokens.len() {
        s.failed(
            name,
            finding(format!(
                "{} logins gave only {} different tokens",
                tokens.len(),
                distinct.len()
            )),
        );
    } else {
        s.passed(name, format!("{} different tokens", tokens.len()));
    }
    let bits = positional_bits(&tokens);
    let name = "tokens vary in enough places";
    if bits < MIN_BITS {
        s.failed(
            name,
            finding(format!(
                "session tokens vary in few places: about {bits:.0} bits across {LOGINS} logins (at least {MIN_BITS:.0} expected); they can be guessed from one another"
            )),
        );
    } else {
        s.passed(
            name,
            format!("about {bits:.0} bits (at least {MIN_BITS:.0} expected)"),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_score_low_and_random_tokens_high() {
        let counters: Vec<String> = (1..=16).map(|i| format!("tok{i:08}")).collect();
        assert!(
            positional_bits(&counters) < 8.0,
            "{}",
            positional_bits(&counters)
        );
        let random: Vec<String> = (0..16).map(|_| crate::declared::random_hex(16)).collect();
        // 32 hex places, each showing 8 to 16 of 16 digits over 16 samples.
        assert!(
            positional_bits(&random) > 90.0,
            "{}",
            positional_bits(&random)
        );
        assert_eq!(positional_bits(&[]), 0.0);
    }
}
