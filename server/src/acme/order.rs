//! One certificate order, start to finish (RFC 8555 section 7.4): the account (restored from
//! its stored credentials, or created and stored), a new order for the configured names, each
//! name proved with `tls-alpn-01`, a fresh ECDSA P-256 key and its CSR, and the issued chain.
//! Every failure is an [`AcmeError`] that says in words what went wrong, with the ACME
//! problem document's detail where the server sent one.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    Problem, RetryPolicy,
};

use super::AcmeError;
use super::challenge::Challenges;
use super::http::AcmeHttp;
use super::shared::Keep;
use super::store::Stored;
use crate::config::AcmeConfig;

/// The problem type of an account the server does not know.
const NO_ACCOUNT: &str = "urn:ietf:params:acme:error:accountDoesNotExist";

/// How long the server may take to validate and to issue, each.
const POLL_FOR: Duration = Duration::from_secs(90);

/// A problem document in one line: its detail, type and the subproblems per name.
pub(super) fn describe(p: &Problem) -> String {
    let mut s = p.detail.clone().unwrap_or_else(|| "no detail".into());
    if let Some(t) = &p.r#type {
        s.push_str(&format!(" ({t})"));
    }
    for sub in &p.subproblems {
        s.push_str(&format!("; {sub}"));
    }
    s
}

/// Whether a problem is the server's rate limit.
fn is_rate_limit(p: &Problem) -> bool {
    p.r#type.as_deref() == Some("urn:ietf:params:acme:error:rateLimited")
}

/// Maps an error of the step `what` (with the directory's URL for context).
fn fail<'a>(
    cfg: &'a AcmeConfig,
    what: &'static str,
) -> impl Fn(instant_acme::Error) -> AcmeError + 'a {
    move |e| match e {
        instant_acme::Error::Api(p) if is_rate_limit(&p) => AcmeError::RateLimited {
            detail: describe(&p),
        },
        instant_acme::Error::Api(p) if what == "account" => AcmeError::AccountRefused {
            detail: describe(&p),
        },
        instant_acme::Error::Api(p) => AcmeError::Order {
            detail: format!("{what}: {}", describe(&p)),
        },
        // Anything that never got an answer: the directory is not reachable.
        instant_acme::Error::Other(e) => AcmeError::DirectoryUnreachable {
            url: cfg.directory.clone(),
            reason: e.to_string(),
        },
        other => AcmeError::Order {
            detail: format!("{what}: {other}"),
        },
    }
}

/// The account: restored from where it is kept, or created (the terms of service agreed) and
/// kept.
async fn account(cfg: &AcmeConfig, http: &AcmeHttp, keep: &Keep) -> Result<Account, AcmeError> {
    let builder = || Account::builder_with_http(Box::new(http.clone()));
    if let Some(creds) = keep.account().await? {
        return builder()
            .from_credentials(creds)
            .await
            .map_err(fail(cfg, "account"));
    }
    let contact: Vec<&str> = cfg.contact.iter().map(String::as_str).collect();
    let (account, creds) = builder()
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            cfg.directory.clone(),
            None,
        )
        .await
        .map_err(fail(cfg, "account"))?;
    keep.save_account(&creds).await?;
    tracing::info!(account = account.id(), "ACME account created");
    Ok(account)
}

/// Orders a certificate for `cfg.domains`, proving each name through `challenges`, and keeps
/// it in `keep`.
pub async fn order(
    cfg: &AcmeConfig,
    http: &AcmeHttp,
    keep: &Keep,
    challenges: &Challenges,
) -> Result<Stored, AcmeError> {
    let ids: Vec<Identifier> = cfg
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let mut order = match account(cfg, http, keep)
        .await?
        .new_order(&NewOrder::new(&ids))
        .await
    {
        // The server forgot the stored account (a test CA restarted, an account deactivated
        // elsewhere): a new one is created and stored in its place.
        Err(instant_acme::Error::Api(p)) if p.r#type.as_deref() == Some(NO_ACCOUNT) => {
            tracing::warn!(
                detail = %describe(&p),
                "the ACME server does not know the stored account; creating a new one"
            );
            keep.forget_account().await?;
            account(cfg, http, keep)
                .await?
                .new_order(&NewOrder::new(&ids))
                .await
        }
        other => other,
    }
    .map_err(fail(cfg, "new order"))?;
    // Taken down when the order ends, however it ends (cancelled by shutdown included).
    let mut proving = Proving {
        challenges,
        keep,
        names: Vec::new(),
    };
    prove(&mut order, cfg, &mut proving).await?;
    let retries = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(POLL_FOR);
    // An order the server made invalid comes back as its problem document, or as an
    // invalid status: either way the challenges' own problems say which name failed why.
    match order.poll_ready(&retries).await {
        Ok(OrderStatus::Ready) => {}
        Ok(status) => return Err(challenge_failure(&mut order, format!("{status:?}")).await),
        Err(instant_acme::Error::Api(p)) if !is_rate_limit(&p) => {
            return Err(challenge_failure(&mut order, describe(&p)).await);
        }
        Err(e) => return Err(fail(cfg, "validation")(e)),
    }
    let key = rcgen::KeyPair::generate().map_err(|e| AcmeError::Tls(e.to_string()))?;
    let csr = rcgen::CertificateParams::new(cfg.domains.clone())
        .and_then(|p| p.serialize_request(&key))
        .map_err(|e| AcmeError::Tls(format!("CSR: {e}")))?;
    order
        .finalize_csr(csr.der())
        .await
        .map_err(fail(cfg, "finalize"))?;
    let chain = order
        .poll_certificate(&retries)
        .await
        .map_err(fail(cfg, "certificate"))?;
    keep.save_certificate(&key.serialize_pem(), &chain).await
}

/// The names whose validation certificates are up (here, and published to the other
/// instances when they share a database).
struct Proving<'a> {
    challenges: &'a Challenges,
    keep: &'a Keep,
    names: Vec<String>,
}

impl Drop for Proving<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            self.challenges.remove(name);
        }
        if let Some(shared) = self.keep.shared.clone() {
            let names = std::mem::take(&mut self.names);
            tokio::spawn(async move {
                for name in names {
                    shared.withdraw_validation(&name).await;
                }
            });
        }
    }
}

/// Puts up a validation certificate for each pending name and tells the server to validate it.
async fn prove(
    order: &mut instant_acme::Order,
    cfg: &AcmeConfig,
    proving: &mut Proving<'_>,
) -> Result<(), AcmeError> {
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(fail(cfg, "authorization"))?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                return Err(AcmeError::Order {
                    detail: format!("authorization for {} is {other:?}", authz.identifier()),
                });
            }
        }
        let name = authz.identifier().to_string();
        let mut challenge =
            authz
                .challenge(ChallengeType::TlsAlpn01)
                .ok_or_else(|| AcmeError::Order {
                    detail: format!("the server offers no tls-alpn-01 challenge for {name}"),
                })?;
        let digest = challenge.key_authorization().digest();
        proving.challenges.insert(&name, digest.as_ref())?;
        if let Some(shared) = &proving.keep.shared {
            shared.publish_validation(&name, digest.as_ref()).await?;
        }
        // The server may validate while it answers, and then answers with the validation's
        // problem: that is the challenge failing, said as when it is seen on the order.
        proving.names.push(name.clone());
        challenge.set_ready().await.map_err(|e| match e {
            instant_acme::Error::Api(p) if !is_rate_limit(&p) => AcmeError::ChallengeFailed {
                detail: format!("{name}: {}", describe(&p)),
            },
            other => fail(cfg, "challenge")(other),
        })?;
    }
    Ok(())
}

/// Why an order did not become ready: the failed challenges' problem documents, by name
/// (`otherwise`, what the server said of the order, when none has one).
async fn challenge_failure(order: &mut instant_acme::Order, otherwise: String) -> AcmeError {
    let mut details = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        for c in &authz.challenges {
            if let Some(p) = &c.error {
                details.push(format!("{}: {}", authz.identifier(), describe(p)));
            }
        }
    }
    if details.is_empty() {
        details.push(otherwise);
    }
    AcmeError::ChallengeFailed {
        detail: details.join("; "),
    }
}
