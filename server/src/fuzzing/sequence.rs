//! Sequences of API calls through the real router, for the `request_sequence` fuzz target: the
//! input is decoded (with `arbitrary`) into up to [`MAX_CALLS`] calls by three users
//! (registrations under confusable spellings, logins with right and wrong passwords, logouts,
//! password changes, accounts, deposits, withdrawals, transfers with idempotency keys, history
//! queries with cursors), each sent as an HTTP request to the application of
//! [`super::app::App`] with a token the call picks: the user's newest, an older (perhaps
//! revoked) one, none, or a forged one, as a bearer token or as the browser's session cookie
//! from a page of some origin (the bank's own, another site's, a sibling host's, or any
//! `Origin` and `Sec-Fetch-Site`). Browser logins (`POST /v1/sessions/cookie`) come from such
//! pages too.
//!
//! A tracker follows what the API said happened. After each call:
//! - no 5xx other than 503 (shedding);
//! - a revoked, forged or missing token never gets a 2xx, and a live one never a 401;
//! - a state change carried by the session cookie succeeds only from a page of the bank's own
//!   origin (`Origin` is `https://bank.test`, `Sec-Fetch-Site` absent or `same-origin`), and a
//!   browser login from any other page never opens a session; a live cookie from the bank's
//!   own page is never refused as cross-site;
//! - a login succeeds only with the user's current password, and the right password is never
//!   refused as wrong; two spellings that normalise alike are never two users;
//! - nobody reads or moves money in another user's account: every account a user sees, lists,
//!   debits or reads the history of is the user's own;
//! - a transfer key is executed once: a replay moves nothing and names the original transfer;
//! - the database's balances are exactly what the successful calls imply, none is negative,
//!   and they add up to deposits minus withdrawals (money is conserved).
//!
//! Every input starts from the state [`prologue`] leads to: the prologue runs through the API
//! once per process, and its database is copied aside and restored before each input.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::app::App;
use crate::http::ClientAddr;
use crate::ledger::Amount;

/// Users in play.
pub const USERS: usize = 3;
/// Calls per input at most.
pub const MAX_CALLS: usize = 48;
/// The users' names, in their canonical (normalised) form.
const NAMES: [&str; USERS] = ["alice", "bob", "carol"];
/// Passwords the calls choose from; the last breaks the length rule.
const PASSWORDS: [&str; 4] = [
    "correct horse battery",
    "another long passphrase",
    "Tr0ub4dor&3 is not it",
    "short",
];
/// Where requests come from (loopback: exempt from the request-rate limits).
const PEER: &str = "127.0.0.1:40001";
/// The bank's host, sent as `Host` with every request.
const HOST: &str = "bank.test";
/// The origin of the bank's own pages.
const OWN_ORIGIN: &str = "https://bank.test";

/// The page a browser request comes from, as its `Origin` and `Sec-Fetch-Site` say.
#[derive(Arbitrary, Debug, Clone)]
pub enum Site {
    /// One of the bank's pages: `Origin: https://bank.test`, `Sec-Fetch-Site: same-origin`.
    Own,
    /// The bank's origin from a browser that sends no fetch metadata.
    OwnWithoutFetchMetadata,
    /// Another site's page: `Origin: https://evil.test`, `Sec-Fetch-Site: cross-site`.
    Other,
    /// A sibling host's page: `Origin: https://app.bank.test`, `Sec-Fetch-Site: same-site`.
    Sibling,
    /// Neither header.
    Unsaid,
    /// Any values (a header that is not a valid header value is left out).
    Said {
        /// `Origin`.
        origin: Option<String>,
        /// `Sec-Fetch-Site`.
        fetch_site: Option<String>,
    },
}

/// How a call spells a user's name (all normalise to the same NFKC, lower-case form).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Spelling {
    /// `alice`.
    Plain,
    /// `ALICE`.
    Upper,
    /// `ａｌｉｃｅ` (full-width forms).
    FullWidth,
    /// `Ａlice`.
    Mixed,
}

/// Which token a call presents.
#[derive(Arbitrary, Debug, Clone)]
pub enum TokenPick {
    /// The user's newest.
    Newest,
    /// One of the user's tokens, newest first (perhaps revoked).
    Older(u8),
    /// No Authorization header.
    Missing,
    /// A token the server never issued.
    Forged(String),
    /// One of the user's tokens, newest first (perhaps revoked), as the session cookie of a
    /// request from `site`.
    Cookie {
        /// Which token.
        older: u8,
        /// Where the request comes from.
        site: Site,
    },
}

/// Which account a call names.
#[derive(Arbitrary, Debug, Clone)]
pub enum AccountPick {
    /// The n-th account opened in this input (anyone's).
    Opened(u8),
    /// A well-formed id no account has.
    Unknown,
    /// Any text, as a path segment.
    Text(String),
}

/// An amount as a call writes it.
#[derive(Arbitrary, Debug, Clone)]
pub enum AmountPick {
    /// Cents, written as `units.cc`.
    Cents(u64),
    /// Any text.
    Text(String),
}

/// An idempotency key.
#[derive(Arbitrary, Debug, Clone)]
pub enum KeyPick {
    /// One of a few well-formed keys (so that they are reused).
    Key(u8),
    /// None.
    Missing,
    /// Any text.
    Text(String),
}

/// A history query.
#[derive(Arbitrary, Debug, Clone)]
pub struct HistoryQuery {
    q: Option<String>,
    sort: Option<u8>,
    order: Option<u8>,
    limit: Option<i16>,
    /// Use the last `next_cursor` the API gave (else none, or `text`).
    last_cursor: bool,
    cursor_text: Option<String>,
}

/// One API call, made by user `who` (taken modulo [`USERS`]).
#[derive(Arbitrary, Debug, Clone)]
pub enum Call {
    /// `POST /v1/users`.
    Register {
        /// Who.
        who: u8,
        /// Spelling of the name.
        spelling: Spelling,
        /// Which password.
        password: u8,
    },
    /// `POST /v1/sessions`.
    Login {
        /// Who.
        who: u8,
        /// Spelling of the name.
        spelling: Spelling,
        /// Which password.
        password: u8,
    },
    /// `POST /v1/sessions/cookie`, from a page of `site`.
    CookieLogin {
        /// Who.
        who: u8,
        /// Spelling of the name.
        spelling: Spelling,
        /// Which password.
        password: u8,
        /// Where the request comes from.
        site: Site,
    },
    /// `DELETE /v1/sessions/current`.
    Logout {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
    },
    /// `POST /v1/me/password`.
    ChangePassword {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
        /// The current password given.
        current: u8,
        /// The new one.
        new: u8,
    },
    /// `GET /v1/me`.
    Me {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
    },
    /// `POST /v1/accounts`.
    Open {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
        /// Its name.
        name: String,
    },
    /// `GET /v1/accounts`.
    List {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
    },
    /// `GET /v1/accounts/{id}`.
    Get {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
        /// Which account.
        account: AccountPick,
    },
    /// `POST /v1/accounts/{id}/deposits` (or `withdrawals`).
    Move {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
        /// Which account.
        account: AccountPick,
        /// A withdrawal rather than a deposit.
        withdraw: bool,
        /// How much.
        amount: AmountPick,
        /// Memo.
        memo: String,
    },
    /// `POST /v1/transfers`.
    Transfer {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
        /// From.
        from: AccountPick,
        /// To.
        to: AccountPick,
        /// How much.
        amount: AmountPick,
        /// Idempotency key.
        key: KeyPick,
        /// Memo.
        memo: String,
    },
    /// `GET /v1/accounts/{id}/transactions`.
    History {
        /// Who.
        who: u8,
        /// With which token.
        token: TokenPick,
        /// Which account.
        account: AccountPick,
        /// The query.
        query: HistoryQuery,
    },
}

/// The `request_sequence` target: decodes calls from `data` and runs them, checking the
/// invariants after each.
pub fn check_request_sequence(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut calls = Vec::new();
    // `arbitrary` goes on making (all-zero) values once the data is spent: stop there.
    while calls.len() < MAX_CALLS && !u.is_empty() {
        match Call::arbitrary(&mut u) {
            Ok(c) => calls.push(c),
            Err(_) => break,
        }
    }
    run(&calls);
}

/// What every input starts from: alice and bob registered, each logged in twice (two live
/// tokens), each with an account holding 100.00 (accounts 0 and 1); carol is left for the
/// input to register. Without it, a cross-user read needs six particular calls before it,
/// which coverage alone does not lead the fuzzer to (checked: a planted cross-user read went
/// unfound in 120,000 inputs; with it, found in the first second), and a session surviving a
/// password change needs a second login first (unfound in 41,000 inputs without it).
fn prologue() -> Vec<Call> {
    let mut calls = Vec::new();
    for who in 0..2u8 {
        calls.push(Call::Register {
            who,
            spelling: Spelling::Plain,
            password: who,
        });
        for spelling in [Spelling::Plain, Spelling::Upper] {
            calls.push(Call::Login {
                who,
                spelling,
                password: who,
            });
        }
    }
    for who in 0..2u8 {
        calls.push(Call::Open {
            who,
            token: TokenPick::Newest,
            name: format!("{}'s", NAMES[usize::from(who)]),
        });
    }
    for who in 0..2u8 {
        calls.push(Call::Move {
            who,
            token: TokenPick::Newest,
            account: AccountPick::Opened(who),
            withdraw: false,
            amount: AmountPick::Cents(10_000),
            memo: "opening".to_string(),
        });
    }
    calls
}

/// Runs `calls` from the state [`prologue`] leads to, checking the invariants after each;
/// says how many of `calls` succeeded (2xx).
pub fn run(calls: &[Call]) -> usize {
    let _turn = my_turn();
    let app = app();
    app.rt.block_on(async {
        let mut world = from_the_prologue(app).await;
        let mut successes = 0;
        for (i, call) in calls.iter().enumerate() {
            let status = world.step(call).await.unwrap_or_else(|why| {
                panic!("call {i} of {}: {call:?}\n{why}", calls.len());
            });
            successes += usize::from(status.is_success());
            world
                .check_store(app)
                .await
                .unwrap_or_else(|why| panic!("after call {i}: {call:?}\n{why}"));
        }
        // Lets the pool take its connection back (a task of its own) before the input ends,
        // so that libFuzzer sees every allocation of the input freed by then.
        tokio::task::yield_now().await;
        successes
    })
}

/// The application and its router, built once per process.
struct Harness {
    app: App,
    router: crate::http::App,
    /// What the tracker knew after the prologue, once it has run (its database is kept in the
    /// `prologue` schema).
    after_prologue: tokio::sync::OnceCell<World>,
    /// One input at a time (tests run on several threads; the database is shared).
    turn: std::sync::Mutex<()>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let app = App::new();
        let router = crate::http::router(app.state.clone());
        Harness {
            app,
            router,
            after_prologue: tokio::sync::OnceCell::new(),
            turn: std::sync::Mutex::new(()),
        }
    })
}

fn my_turn() -> std::sync::MutexGuard<'static, ()> {
    harness().turn.lock().unwrap_or_else(|e| e.into_inner())
}

fn app() -> &'static App {
    &harness().app
}

/// Copies the database as the prologue left it into the attached schema `prologue`.
const KEEP_PROLOGUE: &str = "ATTACH DATABASE ':memory:' AS prologue;
    CREATE TABLE prologue.users AS SELECT * FROM main.users;
    CREATE TABLE prologue.sessions AS SELECT * FROM main.sessions;
    CREATE TABLE prologue.accounts AS SELECT * FROM main.accounts;
    CREATE TABLE prologue.transfers AS SELECT * FROM main.transfers;
    CREATE TABLE prologue.transactions AS SELECT * FROM main.transactions;
    CREATE TABLE prologue.movement_keys AS SELECT * FROM main.movement_keys;
    CREATE TABLE prologue.audit_events AS SELECT * FROM main.audit_events;
    CREATE TABLE prologue.login_throttle AS SELECT * FROM main.login_throttle;";

/// Puts the database back as the prologue left it, in one batch (SQLite runs a query's
/// statements one after the other): one statement through sqlx instead of replaying the
/// prologue's forty-odd statements through the API.
const RESTORE: &str = "BEGIN;
    DELETE FROM main.login_throttle;
    DELETE FROM main.audit_events;
    DELETE FROM main.movement_keys;
    DELETE FROM main.transactions;
    DELETE FROM main.transfers;
    DELETE FROM main.accounts;
    DELETE FROM main.sessions;
    DELETE FROM main.users;
    INSERT INTO main.users SELECT * FROM prologue.users;
    INSERT INTO main.sessions SELECT * FROM prologue.sessions;
    INSERT INTO main.accounts SELECT * FROM prologue.accounts;
    INSERT INTO main.transfers SELECT * FROM prologue.transfers;
    INSERT INTO main.transactions SELECT * FROM prologue.transactions;
    INSERT INTO main.movement_keys SELECT * FROM prologue.movement_keys;
    INSERT INTO main.audit_events SELECT * FROM prologue.audit_events;
    INSERT INTO main.login_throttle SELECT * FROM prologue.login_throttle;
    COMMIT;";

/// The prologue's sessions made as if just now (their idle and absolute lifetimes counted
/// from `$1`), so that a campaign of hours never sees them expire.
const FRESH_SESSIONS: &str =
    "UPDATE sessions SET expires_at = expires_at - last_seen_at + $1, last_seen_at = $1";

/// The database and the tracker as [`prologue`] leaves them: run through the API once per
/// process (checking the invariants on the way), then restored from the copy.
async fn from_the_prologue(app: &App) -> World {
    let pool = app.db().pool();
    let kept = harness()
        .after_prologue
        .get_or_init(|| async {
            let mut world = World::default();
            for call in prologue() {
                let status = world
                    .step(&call)
                    .await
                    .expect("the prologue keeps the invariants");
                assert!(status.is_success(), "the prologue's {call:?} got {status}");
            }
            sqlx::query(KEEP_PROLOGUE)
                .execute(pool)
                .await
                .expect("keep the prologue's database");
            world
        })
        .await;
    sqlx::query(RESTORE)
        .execute(pool)
        .await
        .expect("restore the prologue's database");
    sqlx::query(FRESH_SESSIONS)
        .bind(crate::store::now_micros())
        .execute(pool)
        .await
        .expect("refresh the prologue's sessions");
    kept.clone()
}

/// One user as the tracker knows it.
#[derive(Default, Debug, Clone)]
struct UserState {
    /// Set once registered.
    id: Option<String>,
    /// Index into [`PASSWORDS`] of the current password.
    password: usize,
    /// Issued tokens, oldest first, and whether each is still live.
    tokens: Vec<(String, bool)>,
}

/// What the API said happened.
#[derive(Default, Debug, Clone)]
struct World {
    users: [UserState; USERS],
    /// Accounts in the order opened: id and owner.
    accounts: Vec<(String, usize)>,
    /// Expected balance of every account.
    balances: BTreeMap<String, i64>,
    /// Deposits minus withdrawals, in cents.
    net: i64,
    /// Executed transfers by (user, key): transfer id.
    transfers: HashMap<(usize, String), String>,
    /// The last `next_cursor` of a history page.
    cursor: Option<String>,
}

/// Whose token a request carried, if a live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bearer {
    Live,
    Dead,
}

/// A request, and what the tracker needs to judge its response.
struct Sent {
    status: StatusCode,
    replayed: bool,
    /// The session token a `Set-Cookie` stored, if any.
    cookie: Option<String>,
    body: Value,
    text: String,
}

type Check = Result<(), String>;

impl Site {
    /// The `Origin` and `Sec-Fetch-Site` values sent, each only if it is a valid header value.
    fn headers(&self) -> (Option<String>, Option<String>) {
        let (origin, fetch_site) = match self {
            Site::Own => (Some(OWN_ORIGIN), Some("same-origin")),
            Site::OwnWithoutFetchMetadata => (Some(OWN_ORIGIN), None),
            Site::Other => (Some("https://evil.test"), Some("cross-site")),
            Site::Sibling => (Some("https://app.bank.test"), Some("same-site")),
            Site::Unsaid => (None, None),
            Site::Said { origin, fetch_site } => (origin.as_deref(), fetch_site.as_deref()),
        };
        let valid = |v: Option<&str>| {
            v.filter(|v| axum::http::HeaderValue::from_str(v).is_ok())
                .map(str::to_string)
        };
        (valid(origin), valid(fetch_site))
    }

    /// Whether a browser would have sent these headers only from one of the bank's own pages:
    /// the bank's origin, and fetch metadata that is absent or says `same-origin`. The model
    /// the server is held to; it may refuse more (a malformed value), never less.
    fn is_own(&self) -> bool {
        let (origin, fetch_site) = self.headers();
        let own_origin = origin.is_some_and(|o| o.eq_ignore_ascii_case(OWN_ORIGIN));
        own_origin && fetch_site.is_none_or(|f| f == "same-origin")
    }
}

/// How a request carries its credential.
#[derive(Debug, Clone)]
enum Credential {
    /// None.
    Missing,
    /// `Authorization: Bearer`.
    Bearer(String),
    /// The session cookie, from a page of the site.
    Cookie(String, Site),
    /// None, from a page of the site (a browser's login).
    FromPage(Site),
}

impl Credential {
    /// The token it carries.
    fn secret(&self) -> Option<&str> {
        match self {
            Credential::Bearer(t) | Credential::Cookie(t, _) => Some(t),
            Credential::Missing | Credential::FromPage(_) => None,
        }
    }

    /// The page it comes from, for a browser's request.
    fn site(&self) -> Option<&Site> {
        match self {
            Credential::Cookie(_, site) | Credential::FromPage(site) => Some(site),
            Credential::Missing | Credential::Bearer(_) => None,
        }
    }
}

fn ensure(cond: bool, why: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(why()) }
}

fn spell(name: &str, s: Spelling) -> String {
    match s {
        Spelling::Plain => name.to_string(),
        Spelling::Upper => name.to_uppercase(),
        Spelling::FullWidth => name
            .chars()
            .map(|c| char::from_u32(c as u32 - 0x61 + 0xFF41).unwrap_or(c))
            .collect(),
        Spelling::Mixed => {
            let mut cs = name.chars();
            let first = cs.next().map(|c| char::from_u32(c as u32 - 0x61 + 0xFF21));
            first.flatten().into_iter().chain(cs).collect()
        }
    }
}

fn amount_text(a: &AmountPick) -> String {
    match a {
        AmountPick::Cents(c) => format!("{}.{:02}", c / 100, c % 100),
        AmountPick::Text(t) => t.clone(),
    }
}

fn percent(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A user's password choice and the JSON of their credentials.
fn credentials(who: usize, spelling: Spelling, password: u8) -> (usize, Value) {
    let pw = usize::from(password) % PASSWORDS.len();
    let body = serde_json::json!({
        "username": spell(NAMES[who], spelling), "password": PASSWORDS[pw]});
    (pw, body)
}

impl Call {
    /// Who makes the call.
    fn who(&self) -> usize {
        let (Call::Register { who, .. }
        | Call::Login { who, .. }
        | Call::CookieLogin { who, .. }
        | Call::Logout { who, .. }
        | Call::ChangePassword { who, .. }
        | Call::Me { who, .. }
        | Call::Open { who, .. }
        | Call::List { who, .. }
        | Call::Get { who, .. }
        | Call::Move { who, .. }
        | Call::Transfer { who, .. }
        | Call::History { who, .. }) = self;
        usize::from(*who) % USERS
    }

    /// The token it presents (none for registration and login, which take none).
    fn token(&self) -> Option<&TokenPick> {
        match self {
            Call::Register { .. } | Call::Login { .. } | Call::CookieLogin { .. } => None,
            Call::Logout { token, .. }
            | Call::ChangePassword { token, .. }
            | Call::Me { token, .. }
            | Call::Open { token, .. }
            | Call::List { token, .. }
            | Call::Get { token, .. }
            | Call::Move { token, .. }
            | Call::Transfer { token, .. }
            | Call::History { token, .. } => Some(token),
        }
    }

    /// Whether its request changes state (what the cross-site guard covers).
    fn changes_state(&self) -> bool {
        !matches!(
            self,
            Call::Me { .. } | Call::List { .. } | Call::Get { .. } | Call::History { .. }
        )
    }
}

impl World {
    /// The credential a call presents and whether it is live.
    fn token(&self, who: usize, pick: &TokenPick) -> (Credential, Bearer) {
        let tokens = &self.users[who].tokens;
        let pick_n = |n: usize| {
            tokens
                .iter()
                .rev()
                .nth(n)
                .map(|(t, live)| {
                    (
                        Some(t.clone()),
                        if *live { Bearer::Live } else { Bearer::Dead },
                    )
                })
                .unwrap_or((None, Bearer::Dead))
        };
        let older = |n: &u8| pick_n(usize::from(*n) % tokens.len().max(1));
        let (token, bearer) = match pick {
            TokenPick::Newest => pick_n(0),
            TokenPick::Older(n) => older(n),
            TokenPick::Missing => (None, Bearer::Dead),
            TokenPick::Forged(t) => (Some(t.clone()), Bearer::Dead),
            TokenPick::Cookie { older: n, site } => {
                let (token, bearer) = older(n);
                let cookie =
                    token.map_or(Credential::Missing, |t| Credential::Cookie(t, site.clone()));
                return (cookie, bearer);
            }
        };
        (
            token.map_or(Credential::Missing, Credential::Bearer),
            bearer,
        )
    }

    /// The account id a call names, and its owner if it is one of ours.
    fn account(&self, pick: &AccountPick) -> (String, Option<usize>) {
        match pick {
            AccountPick::Opened(n) if !self.accounts.is_empty() => {
                let (id, owner) = &self.accounts[usize::from(*n) % self.accounts.len()];
                (id.clone(), Some(*owner))
            }
            AccountPick::Opened(_) | AccountPick::Unknown => {
                ("00000000-0000-4000-8000-000000000000".to_string(), None)
            }
            AccountPick::Text(t) => {
                let owner = self.accounts.iter().find(|(id, _)| id == t).map(|a| a.1);
                (t.clone(), owner)
            }
        }
    }

    /// Makes `call` and judges its answer; says what status it got.
    async fn step(&mut self, call: &Call) -> Result<StatusCode, String> {
        let who = call.who();
        let (token, bearer) = match call.token() {
            Some(pick) => self.token(who, pick),
            None => (Credential::Missing, Bearer::Dead),
        };
        let r = self.call(who, &token, call).await?;
        if call.token().is_some() {
            check_bearer(bearer, &r)?;
        }
        if let Credential::Cookie(_, site) = &token {
            check_cookie(site, call.changes_state(), bearer, &r)?;
        }
        Ok(r.status)
    }

    /// Sends `call` as `who` with `token` and follows what it did.
    async fn call(&mut self, who: usize, token: &Credential, call: &Call) -> Result<Sent, String> {
        match call {
            Call::Register {
                spelling, password, ..
            } => {
                let (pw, body) = credentials(who, *spelling, *password);
                let r = send(
                    Method::POST,
                    "/v1/users",
                    &Credential::Missing,
                    Some(body),
                    None,
                )
                .await?;
                if r.status == StatusCode::CREATED {
                    let user = &mut self.users[who];
                    ensure(user.id.is_none(), || {
                        format!("{} registered twice (another spelling)", NAMES[who])
                    })?;
                    ensure(r.body["username"] == NAMES[who], || {
                        format!("registered as {:?}, not the normalised name", r.text)
                    })?;
                    user.id = r.body["id"].as_str().map(str::to_string);
                    user.password = pw;
                }
                Ok(r)
            }
            Call::Login {
                spelling, password, ..
            } => {
                let (pw, body) = credentials(who, *spelling, *password);
                let r = send(
                    Method::POST,
                    "/v1/sessions",
                    &Credential::Missing,
                    Some(body),
                    None,
                )
                .await?;
                let token = r.body["token"].as_str().map(str::to_string);
                self.logged_in(who, pw, &r, token)?;
                Ok(r)
            }
            Call::CookieLogin {
                spelling,
                password,
                site,
                ..
            } => {
                let (pw, body) = credentials(who, *spelling, *password);
                let from = Credential::FromPage(site.clone());
                let r = send(Method::POST, "/v1/sessions/cookie", &from, Some(body), None).await?;
                if r.status.is_success() {
                    ensure(site.is_own(), || {
                        format!("a browser login from {site:?} opened a session")
                    })?;
                }
                let token = r.cookie.clone();
                self.logged_in(who, pw, &r, token)?;
                Ok(r)
            }
            Call::Logout { .. } => {
                let path = "/v1/sessions/current";
                let r = send(Method::DELETE, path, token, None, None).await?;
                if r.status == StatusCode::NO_CONTENT {
                    self.revoke(who, |t| Some(t) == token.secret());
                }
                Ok(r)
            }
            Call::ChangePassword { current, new, .. } => {
                let (cur, new) = (
                    usize::from(*current) % PASSWORDS.len(),
                    usize::from(*new) % PASSWORDS.len(),
                );
                let body = serde_json::json!({
                    "current_password": PASSWORDS[cur], "new_password": PASSWORDS[new]});
                let path = "/v1/me/password";
                let r = send(Method::POST, path, token, Some(body), None).await?;
                if r.status == StatusCode::NO_CONTENT {
                    ensure(self.users[who].password == cur, || {
                        "a password change with a wrong current password succeeded".into()
                    })?;
                    self.users[who].password = new;
                    self.revoke(who, |t| Some(t) != token.secret());
                }
                Ok(r)
            }
            Call::Me { .. } => {
                let r = send(Method::GET, "/v1/me", token, None, None).await?;
                if r.status == StatusCode::OK {
                    ensure(r.body["username"] == NAMES[who], || {
                        format!("{}'s token shows {}", NAMES[who], r.text)
                    })?;
                }
                Ok(r)
            }
            Call::Open { name, .. } => {
                let body = serde_json::json!({ "name": name });
                let path = "/v1/accounts";
                let r = send(Method::POST, path, token, Some(body), None).await?;
                if r.status == StatusCode::CREATED {
                    let id = r.body["id"].as_str().ok_or("no id")?.to_string();
                    ensure(r.body["balance"] == "0.00", || {
                        format!("opened with {}", r.text)
                    })?;
                    self.accounts.push((id.clone(), who));
                    self.balances.insert(id, 0);
                }
                Ok(r)
            }
            Call::List { .. } => {
                let r = send(Method::GET, "/v1/accounts", token, None, None).await?;
                if r.status == StatusCode::OK {
                    let mut seen: Vec<&str> = Vec::new();
                    for item in r.body["items"].as_array().ok_or("no items")? {
                        let id = item["id"].as_str().ok_or("no id")?;
                        self.check_own(who, id, &item["balance"])?;
                        seen.push(id);
                    }
                    let own = self.accounts.iter().filter(|a| a.1 == who).count();
                    ensure(seen.len() == own, || {
                        format!("{own} accounts of {} but listed {seen:?}", NAMES[who])
                    })?;
                }
                Ok(r)
            }
            Call::Get { account, .. } => {
                let (id, _) = self.account(account);
                let path = format!("/v1/accounts/{}", percent(&id));
                let r = send(Method::GET, &path, token, None, None).await?;
                if r.status == StatusCode::OK {
                    let id = r.body["id"].as_str().ok_or("no id")?;
                    self.check_own(who, id, &r.body["balance"])?;
                }
                Ok(r)
            }
            Call::Move {
                account,
                withdraw,
                amount,
                memo,
                ..
            } => {
                let (id, owner) = self.account(account);
                let kind = if *withdraw { "withdrawals" } else { "deposits" };
                let path = format!("/v1/accounts/{}/{kind}", percent(&id));
                let text = amount_text(amount);
                let body = serde_json::json!({ "amount": text, "memo": memo });
                let r = send(Method::POST, &path, token, Some(body), None).await?;
                if r.status == StatusCode::CREATED {
                    ensure(owner == Some(who), || {
                        format!("{} moved money in {id}, owned by {owner:?}", NAMES[who])
                    })?;
                    let cents = Amount::parse(&text)
                        .map_err(|e| format!("{text:?} was accepted but does not parse: {e}"))?
                        .cents();
                    let delta = if *withdraw { -cents } else { cents };
                    let balance = self.balances.entry(id.clone()).or_default();
                    ensure(*balance + delta >= 0, || {
                        format!("withdrew {cents} from {id} holding {balance}")
                    })?;
                    *balance += delta;
                    self.net += delta;
                }
                Ok(r)
            }
            Call::Transfer {
                from,
                to,
                amount,
                key,
                memo,
                ..
            } => {
                let (from, from_owner) = self.account(from);
                let (to, to_owner) = self.account(to);
                let key = match key {
                    KeyPick::Key(n) => Some(format!("key-{}", n % 4)),
                    KeyPick::Missing => None,
                    KeyPick::Text(t) => Some(t.clone()),
                };
                let text = amount_text(amount);
                let body = serde_json::json!({
                    "from_account": from, "to_account": to, "amount": text, "memo": memo});
                let r = send(
                    Method::POST,
                    "/v1/transfers",
                    token,
                    Some(body),
                    key.as_deref(),
                )
                .await?;
                if r.status == StatusCode::CREATED {
                    ensure(from_owner == Some(who), || {
                        format!("{} debited {from}, owned by {from_owner:?}", NAMES[who])
                    })?;
                    ensure(to_owner.is_some(), || format!("credited unknown {to}"))?;
                    let key = key.ok_or("a transfer without a key succeeded")?;
                    let tid = r.body["id"].as_str().ok_or("no id")?.to_string();
                    let earlier = self.transfers.get(&(who, key.clone()));
                    if r.replayed {
                        ensure(earlier == Some(&tid), || {
                            format!("replayed {tid}, but the key ran {earlier:?}")
                        })?;
                    } else {
                        ensure(earlier.is_none(), || {
                            format!("key {key:?} executed twice: {earlier:?} and {tid}")
                        })?;
                        let cents = Amount::parse(&text)
                            .map_err(|e| format!("{text:?} accepted but does not parse: {e}"))?
                            .cents();
                        *self.balances.entry(from).or_default() -= cents;
                        *self.balances.entry(to).or_default() += cents;
                        self.transfers.insert((who, key), tid);
                    }
                }
                Ok(r)
            }
            Call::History { account, query, .. } => {
                let (id, owner) = self.account(account);
                let mut qs = form_urlencoded::Serializer::new(String::new());
                if let Some(q) = &query.q {
                    qs.append_pair("q", q);
                }
                let pick = |n: u8, of: [&'static str; 3]| of[usize::from(n) % 3];
                if let Some(s) = query.sort {
                    qs.append_pair("sort", pick(s, ["created_at", "amount", "name"]));
                }
                if let Some(o) = query.order {
                    qs.append_pair("order", pick(o, ["asc", "desc", "up"]));
                }
                if let Some(l) = query.limit {
                    qs.append_pair("limit", &l.to_string());
                }
                match (&self.cursor, query.last_cursor, &query.cursor_text) {
                    (Some(c), true, _) => {
                        qs.append_pair("cursor", c);
                    }
                    (_, _, Some(t)) => {
                        qs.append_pair("cursor", t);
                    }
                    _ => {}
                }
                let path = format!("/v1/accounts/{}/transactions?{}", percent(&id), qs.finish());
                let r = send(Method::GET, &path, token, None, None).await?;
                if r.status == StatusCode::OK {
                    ensure(owner == Some(who), || {
                        format!("{} read the history of {id} ({owner:?})", NAMES[who])
                    })?;
                    for item in r.body["items"].as_array().ok_or("no items")? {
                        ensure(item["account_id"] == id.as_str(), || {
                            format!("the history of {id} showed {item}")
                        })?;
                    }
                    self.cursor = r.body["next_cursor"].as_str().map(str::to_string);
                }
                Ok(r)
            }
        }
    }

    /// Follows a login's answer: a session only for the current password, and the current
    /// password never refused as wrong.
    fn logged_in(&mut self, who: usize, pw: usize, r: &Sent, token: Option<String>) -> Check {
        let user = &mut self.users[who];
        let right = user.id.is_some() && user.password == pw;
        match r.status {
            StatusCode::CREATED => {
                ensure(right, || "a login with a wrong password succeeded".into())?;
                user.tokens.push((token.ok_or("no session token")?, true));
            }
            StatusCode::UNAUTHORIZED => {
                ensure(!right, || "the right password was refused".into())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Marks `who`'s tokens for which `which` holds as revoked.
    fn revoke(&mut self, who: usize, which: impl Fn(&str) -> bool) {
        for (t, live) in &mut self.users[who].tokens {
            if which(t) {
                *live = false;
            }
        }
    }

    /// `id`, shown to `who` with `balance`, is `who`'s account with that balance.
    fn check_own(&self, who: usize, id: &str, balance: &Value) -> Check {
        let owner = self.accounts.iter().find(|a| a.0 == id).map(|a| a.1);
        ensure(owner == Some(who), || {
            format!("{} was shown account {id}, owned by {owner:?}", NAMES[who])
        })?;
        let expected = self.balances.get(id).copied().unwrap_or_default();
        let shown = balance.as_str().and_then(|b| Amount::parse(b).ok());
        ensure(
            shown.map(Amount::cents) == Some(expected) || (expected == 0 && balance == "0.00"),
            || format!("{id} shown with balance {balance}, expected {expected} cents"),
        )
    }

    /// The database holds exactly the expected balances, none negative, and they add up to
    /// deposits minus withdrawals.
    async fn check_store(&self, app: &App) -> Check {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT id, balance_cents FROM accounts")
            .fetch_all(app.db().pool())
            .await
            .map_err(|e| format!("reading balances: {e}"))?;
        let stored: BTreeMap<String, i64> = rows.into_iter().collect();
        ensure(stored == self.balances, || {
            format!("stored {stored:?}\nexpected {:?}", self.balances)
        })?;
        ensure(stored.values().all(|b| *b >= 0), || {
            format!("a negative balance: {stored:?}")
        })?;
        let total: i64 = stored.values().sum();
        ensure(total == self.net, || {
            format!(
                "balances add up to {total}, deposits minus withdrawals {}",
                self.net
            )
        })
    }
}

/// A live token is never refused as unauthenticated; a dead one never gets a success.
fn check_bearer(bearer: Bearer, r: &Sent) -> Check {
    match bearer {
        Bearer::Live => ensure(r.status != StatusCode::UNAUTHORIZED, || {
            format!("a live token was refused: {}", r.text)
        }),
        Bearer::Dead => ensure(!r.status.is_success(), || {
            format!(
                "a dead, forged or missing token got {}: {}",
                r.status, r.text
            )
        }),
    }
}

/// A session cookie from anywhere but the bank's own pages never carries a state change; a
/// live one from them is never refused as cross-site (403).
fn check_cookie(site: &Site, changes_state: bool, bearer: Bearer, r: &Sent) -> Check {
    if changes_state && !site.is_own() {
        ensure(!r.status.is_success(), || {
            format!(
                "a state change carried by the session cookie from {site:?} got {}: {}",
                r.status, r.text
            )
        })?;
    }
    if bearer == Bearer::Live && matches!(site, Site::Own | Site::OwnWithoutFetchMetadata) {
        ensure(r.status != StatusCode::FORBIDDEN, || {
            format!(
                "a live cookie from the bank's own page was refused: {}",
                r.text
            )
        })?;
    }
    Ok(())
}

/// Sends one request through the router, as the connection handler would (with the client's
/// address and the bank's `Host`); a 5xx other than 503 is a failure.
async fn send(
    method: Method,
    path: &str,
    credential: &Credential,
    json: Option<Value>,
    key: Option<&str>,
) -> Result<Sent, String> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", HOST);
    let header = match credential {
        Credential::Bearer(t) => Some(("authorization", format!("Bearer {t}"))),
        Credential::Cookie(t, _) => Some(("cookie", format!("{}={t}", crate::auth::cookie::NAME))),
        Credential::Missing | Credential::FromPage(_) => None,
    };
    if let Some((name, value)) = header
        && axum::http::HeaderValue::from_str(&value).is_ok()
    {
        req = req.header(name, value);
    }
    if let Some(site) = credential.site() {
        let (origin, fetch_site) = site.headers();
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(f) = fetch_site {
            req = req.header("sec-fetch-site", f);
        }
    }
    if let Some(k) = key
        && axum::http::HeaderValue::from_str(k).is_ok()
    {
        req = req.header("idempotency-key", k);
    }
    let body = match json {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&v).map_err(|e| e.to_string())?)
        }
        None => Body::empty(),
    };
    let mut req = req
        .body(body)
        .map_err(|e| format!("could not build the request {path:?}: {e}"))?;
    req.extensions_mut()
        .insert(ClientAddr(PEER.parse().expect("address")));
    let resp = harness()
        .router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = resp.status();
    let replayed = resp.headers().contains_key("idempotent-replayed");
    // The session a browser login stores: `NAME=token; Max-Age=...`.
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(crate::auth::cookie::from_header)
        .map(str::to_string);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    ensure(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        || format!("{status}: {text}"),
    )?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Sent {
        status,
        replayed,
        cookie,
        body,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables an input can write, parents first: [`RESTORE`] and [`KEEP_PROLOGUE`] name
    /// them all (`every_table_is_restored_or_kept` holds this list to the migrations).
    const RESTORED: [&str; 8] = [
        "users",
        "sessions",
        "accounts",
        "transfers",
        "transactions",
        "movement_keys",
        "audit_events",
        "login_throttle",
    ];
    /// Tables no input writes: the server's secrets (the cursor key stays, as in a running
    /// server), ACME's, and the migrations' own.
    const UNTOUCHED: [&str; 7] = [
        "server_secrets",
        "acme_accounts",
        "acme_certificates",
        "acme_leases",
        "acme_validations",
        "_sqlx_migrations",
        "sqlite_sequence",
    ];

    #[test]
    fn a_banking_story_keeps_every_invariant() {
        // From the prologue: alice (0) and bob (1) logged in, accounts 0 and 1 with 100.00.
        let (alice, bob, carol, newest) = (0, 1, 2, TokenPick::Newest);
        let login = |who: u8, spelling, password: u8| Call::Login {
            who,
            spelling,
            password,
        };
        let history = |last_cursor| Call::History {
            who: alice,
            token: TokenPick::Newest,
            account: AccountPick::Opened(0),
            query: HistoryQuery {
                q: None,
                sort: Some(1),
                order: Some(1),
                limit: Some(1),
                last_cursor,
                cursor_text: None,
            },
        };
        let rent = Call::Transfer {
            who: alice,
            token: newest.clone(),
            from: AccountPick::Opened(0),
            to: AccountPick::Opened(2),
            amount: AmountPick::Text("25.5".into()),
            key: KeyPick::Key(1),
            memo: "rent".into(),
        };
        let me = |token| Call::Me { who: alice, token };
        let story = [
            Call::Register {
                who: carol,
                spelling: Spelling::Plain,
                password: 2,
            },
            // Another spelling of the same name is the same user: refused.
            Call::Register {
                who: carol,
                spelling: Spelling::Mixed,
                password: 1,
            },
            login(alice, Spelling::FullWidth, 1),
            login(alice, Spelling::FullWidth, 0),
            login(carol, Spelling::Upper, 2),
            Call::Open {
                who: carol,
                token: newest.clone(),
                name: "carol's".into(),
            },
            Call::Move {
                who: alice,
                token: newest.clone(),
                account: AccountPick::Opened(0),
                withdraw: false,
                amount: AmountPick::Cents(10_000),
                memo: "salary".into(),
            },
            // Bob cannot touch Alice's account.
            Call::Move {
                who: bob,
                token: newest.clone(),
                account: AccountPick::Opened(0),
                withdraw: true,
                amount: AmountPick::Cents(1),
                memo: String::new(),
            },
            rent.clone(),
            // The same key again: a replay.
            rent,
            history(false),
            history(true),
            Call::List {
                who: carol,
                token: newest.clone(),
            },
            Call::Get {
                who: bob,
                token: newest.clone(),
                account: AccountPick::Opened(0),
            },
            Call::ChangePassword {
                who: alice,
                token: newest.clone(),
                current: 0,
                new: 2,
            },
            login(alice, Spelling::Plain, 0),
            login(alice, Spelling::Plain, 2),
            Call::Logout {
                who: alice,
                token: newest,
            },
            // Newest first: the logged-out token, the one that changed the password (live),
            // the prologue's (revoked by the change).
            me(TokenPick::Older(1)),
            me(TokenPick::Older(2)),
            Call::Get {
                who: alice,
                token: TokenPick::Forged("AAAA".into()),
                account: AccountPick::Opened(0),
            },
        ];
        // Successes: carol's registration, two logins, her account, the deposit, the
        // transfer and its replay, two history pages, her list, the password change, the
        // login with the new one, the logout and the live token's /v1/me.
        assert_eq!(run(&story), 14);
        // Arbitrary bytes decode into calls and keep the invariants too.
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        check_request_sequence(&noise);
    }

    #[test]
    fn the_session_cookie_carries_state_changes_only_from_the_banks_own_pages() {
        let alice = 0;
        let cookie = |site| TokenPick::Cookie { older: 0, site };
        let browser_login = |site| Call::CookieLogin {
            who: alice,
            spelling: Spelling::Plain,
            password: 0,
            site,
        };
        let deposit = |site| Call::Move {
            who: alice,
            token: cookie(site),
            account: AccountPick::Opened(0),
            withdraw: false,
            amount: AmountPick::Cents(500),
            memo: "cash".into(),
        };
        let logout = |site| Call::Logout {
            who: alice,
            token: cookie(site),
        };
        let story = [
            // A login from another site's page opens no session (login CSRF).
            browser_login(Site::Other),
            browser_login(Site::Own),
            deposit(Site::Own),
            deposit(Site::OwnWithoutFetchMetadata),
            deposit(Site::Other),
            deposit(Site::Sibling),
            deposit(Site::Unsaid),
            deposit(Site::Said {
                origin: Some("https://bank.test.evil.test".into()),
                fetch_site: None,
            }),
            // Reads are not state changes: the cookie's SameSite keeps them from other sites.
            Call::List {
                who: alice,
                token: cookie(Site::Other),
            },
            logout(Site::Other),
            logout(Site::Own),
            Call::Me {
                who: alice,
                token: cookie(Site::Own),
            },
        ];
        // The browser login, two deposits, the list and the logout from the bank's page.
        assert_eq!(run(&story), 5);
    }

    /// The checks can fail: a tracker that forgot a deposit disagrees with the database.
    #[test]
    fn every_table_is_restored_or_kept() {
        let _turn = my_turn();
        let app = app();
        let tables: Vec<(String,)> = app.rt.block_on(async {
            sqlx::query_as("SELECT name FROM main.sqlite_master WHERE type = 'table'")
                .fetch_all(app.db().pool())
                .await
                .expect("tables")
        });
        let mut tables: Vec<String> = tables.into_iter().map(|(t,)| t).collect();
        let mut known: Vec<String> = RESTORED
            .iter()
            .chain(&UNTOUCHED)
            .map(|t| t.to_string())
            .collect();
        tables.sort();
        known.sort();
        assert_eq!(
            tables, known,
            "a new table: restore it (RESTORE, KEEP_PROLOGUE) or keep it"
        );
        for t in RESTORED {
            assert!(RESTORE.contains(&format!("DELETE FROM main.{t};")), "{t}");
            assert!(
                RESTORE.contains(&format!("INSERT INTO main.{t} SELECT")),
                "{t}"
            );
            assert!(
                KEEP_PROLOGUE.contains(&format!("CREATE TABLE prologue.{t} AS")),
                "{t}"
            );
        }
    }

    /// Whatever an input did is gone before the next: the database is the prologue's again,
    /// with its sessions live.
    #[test]
    fn every_input_starts_from_the_prologue() {
        let input = [
            Call::Register {
                who: 2,
                spelling: Spelling::Plain,
                password: 2,
            },
            Call::Open {
                who: 0,
                token: TokenPick::Newest,
                name: "spare".into(),
            },
            Call::Move {
                who: 1,
                token: TokenPick::Newest,
                account: AccountPick::Opened(1),
                withdraw: true,
                amount: AmountPick::Cents(2_500),
                memo: String::new(),
            },
            Call::Logout {
                who: 0,
                token: TokenPick::Newest,
            },
        ];
        assert_eq!(run(&input), input.len());
        let turn = my_turn();
        let app = app();
        app.rt.block_on(async {
            let world = from_the_prologue(app).await;
            world
                .check_store(app)
                .await
                .expect("the prologue's balances");
            let count = |sql: &'static str| async move {
                let (n,): (i64,) = sqlx::query_as(sql)
                    .fetch_one(app.db().pool())
                    .await
                    .expect("count");
                n
            };
            assert_eq!(
                count("SELECT COUNT(*) FROM users").await,
                2,
                "carol is gone"
            );
            assert_eq!(count("SELECT COUNT(*) FROM accounts").await, 2);
            assert_eq!(
                count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL").await,
                4,
                "alice's logout is undone"
            );
            assert_eq!(
                count("SELECT COUNT(*) FROM transactions WHERE kind = 'withdrawal'").await,
                0
            );
        });
        drop(turn);
        // And the next input finds every prologue token live.
        let me = |who| Call::Me {
            who,
            token: TokenPick::Older(1),
        };
        assert_eq!(run(&[me(0), me(1)]), 2);
    }

    #[test]
    fn a_wrong_expectation_is_caught() {
        let _turn = my_turn();
        let app = app();
        app.rt.block_on(async {
            let mut world = from_the_prologue(app).await;
            for call in [
                Call::Register {
                    who: 2,
                    spelling: Spelling::Plain,
                    password: 0,
                },
                Call::Login {
                    who: 2,
                    spelling: Spelling::Plain,
                    password: 0,
                },
                Call::Open {
                    who: 2,
                    token: TokenPick::Newest,
                    name: "x".into(),
                },
                Call::Move {
                    who: 2,
                    token: TokenPick::Newest,
                    account: AccountPick::Opened(0),
                    withdraw: false,
                    amount: AmountPick::Cents(5),
                    memo: String::new(),
                },
            ] {
                world.step(&call).await.expect("step");
            }
            world.check_store(app).await.expect("agrees");
            *world.balances.values_mut().next().expect("an account") -= 5;
            assert!(world.check_store(app).await.is_err());
            // A dead token that got a success, and a live one refused, are both caught.
            let ok = Sent {
                status: StatusCode::OK,
                replayed: false,
                cookie: None,
                body: Value::Null,
                text: String::new(),
            };
            assert!(check_bearer(Bearer::Dead, &ok).is_err());
            let refused = Sent {
                status: StatusCode::UNAUTHORIZED,
                ..ok
            };
            assert!(check_bearer(Bearer::Live, &refused).is_err());
            // So are a cross-site state change that went through and a live cookie from the
            // bank's own page refused as cross-site.
            let created = Sent {
                status: StatusCode::CREATED,
                ..refused
            };
            assert!(check_cookie(&Site::Other, true, Bearer::Live, &created).is_err());
            assert!(check_cookie(&Site::Other, false, Bearer::Live, &created).is_ok());
            let forbidden = Sent {
                status: StatusCode::FORBIDDEN,
                ..created
            };
            assert!(check_cookie(&Site::Own, true, Bearer::Live, &forbidden).is_err());
        });
    }
}
