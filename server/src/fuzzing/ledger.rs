//! The ledger store against a plain in-memory model, for the `ledger_diff` fuzz target and the
//! proptest state machine (`fuzzing::ledger_machine`): steps (account openings, deposits
//! and withdrawals with or without idempotency keys, transfers with them) are applied to both;
//! each step's outcome must agree, and after each step every balance must agree, money must be
//! conserved (balances add up to deposits minus withdrawals) and every account's entries must
//! add up to its balance. The store runs on an in-memory SQLite database with the real
//! migrations.

use std::collections::BTreeMap;

use crate::config::DatabaseConfig;
use crate::db::Db;
use crate::store::ledger::{
    self, Kind, LedgerError, MAX_BALANCE_CENTS, MovementRequest, TransferRequest,
};
use crate::store::users::{self, User};

/// Users in play.
pub const USERS: usize = 2;
/// Accounts at most (few, so that steps collide often).
pub const MAX_ACCOUNTS: usize = 6;
/// Idempotency keys per user (for transfers, and apart from them for deposits and
/// withdrawals).
pub const KEYS: u8 = 3;

/// Where a transfer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// Account `n` (anyone's).
    Account(usize),
    /// An id no account has.
    Unknown,
}

/// One step. Accounts are numbered in the order they were opened; `user` is who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `user` opens an account.
    Open {
        /// Who.
        user: usize,
    },
    /// `user` deposits `cents` into `account`, with idempotency key `key` if there is one.
    Deposit {
        /// Who.
        user: usize,
        /// Into which.
        account: usize,
        /// How much.
        cents: i64,
        /// Which of the user's movement keys, if any.
        key: Option<u8>,
    },
    /// `user` withdraws `cents` from `account`, with idempotency key `key` if there is one.
    Withdraw {
        /// Who.
        user: usize,
        /// From which.
        account: usize,
        /// How much.
        cents: i64,
        /// Which of the user's movement keys, if any.
        key: Option<u8>,
    },
    /// `user` transfers `cents` from `from` to `to` with idempotency key `key`.
    Transfer {
        /// Who.
        user: usize,
        /// Which of the user's keys.
        key: u8,
        /// The debited account.
        from: usize,
        /// The credited account.
        to: To,
        /// How much.
        cents: i64,
    },
}

/// What a step comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Done,
    /// A request whose key was used before for the same request: nothing moved again.
    Replayed,
    /// Not the user's account.
    NotFound,
    /// The debit would go below zero.
    InsufficientFunds,
    /// The credit would go above [`MAX_BALANCE_CENTS`].
    BalanceLimit,
    /// No such destination.
    UnknownDestination,
    /// The key was used for another request.
    KeyReused,
    /// A transfer from an account to itself.
    SameAccount,
}

/// The model: who owns each account and its balance, what each idempotency key was used
/// for, and money in minus money out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// (owner, balance in cents) by account number.
    pub accounts: Vec<(usize, i64)>,
    /// (user, key) -> (from, to, cents) of the transfer it made.
    pub keys: BTreeMap<(usize, u8), (usize, To, i64)>,
    /// (user, key) -> (account, cents: negative for a withdrawal) of the movement it made.
    pub movement_keys: BTreeMap<(usize, u8), (usize, i64)>,
    /// Deposits minus withdrawals.
    pub net: i64,
}

impl Model {
    /// Whether `step` refers only to accounts that exist (and opens no more than
    /// [`MAX_ACCOUNTS`]).
    pub fn allows(&self, step: &Step) -> bool {
        let n = self.accounts.len();
        match *step {
            Step::Open { user } => n < MAX_ACCOUNTS && user < USERS,
            Step::Deposit { user, account, .. } | Step::Withdraw { user, account, .. } => {
                account < n && user < USERS
            }
            Step::Transfer { user, from, to, .. } => {
                from < n && user < USERS && !matches!(to, To::Account(t) if t >= n)
            }
        }
    }

    /// Applies `step` as the store should, and says what it came to.
    pub fn apply(&mut self, step: &Step) -> Outcome {
        match *step {
            Step::Open { user } => {
                self.accounts.push((user, 0));
                Outcome::Done
            }
            Step::Deposit {
                user,
                account,
                cents,
                key,
            } => self.movement(user, account, cents, key),
            Step::Withdraw {
                user,
                account,
                cents,
                key,
            } => self.movement(user, account, -cents, key),
            Step::Transfer {
                user,
                key,
                from,
                to,
                cents,
            } => self.transfer(user, key, from, to, cents),
        }
    }

    fn movement(&mut self, user: usize, account: usize, cents: i64, key: Option<u8>) -> Outcome {
        if let Some(used) = key.and_then(|k| self.movement_keys.get(&(user, k))) {
            return if *used == (account, cents) {
                Outcome::Replayed
            } else {
                Outcome::KeyReused
            };
        }
        let (owner, balance) = self.accounts[account];
        if owner != user {
            return Outcome::NotFound;
        }
        let next = balance + cents;
        if next < 0 {
            return Outcome::InsufficientFunds;
        }
        if next > MAX_BALANCE_CENTS {
            return Outcome::BalanceLimit;
        }
        self.accounts[account].1 = next;
        self.net += cents;
        if let Some(k) = key {
            self.movement_keys.insert((user, k), (account, cents));
        }
        Outcome::Done
    }

    fn transfer(&mut self, user: usize, key: u8, from: usize, to: To, cents: i64) -> Outcome {
        if let Some(used) = self.keys.get(&(user, key)) {
            return if *used == (from, to, cents) {
                Outcome::Replayed
            } else {
                Outcome::KeyReused
            };
        }
        if to == To::Account(from) {
            return Outcome::SameAccount;
        }
        // Debit first, then credit, all or nothing.
        let (owner, balance) = self.accounts[from];
        if owner != user {
            return Outcome::NotFound;
        }
        if balance < cents {
            return Outcome::InsufficientFunds;
        }
        let To::Account(to_n) = to else {
            return Outcome::UnknownDestination;
        };
        let mut after = self.accounts.clone();
        after[from].1 -= cents;
        if after[to_n].1 + cents > MAX_BALANCE_CENTS {
            return Outcome::BalanceLimit;
        }
        after[to_n].1 += cents;
        self.accounts = after;
        self.keys.insert((user, key), (from, to, cents));
        Outcome::Done
    }
}

/// The store under test: an in-memory database with [`USERS`] users, and the ids of the
/// accounts in the model's order.
pub struct Ledger {
    rt: tokio::runtime::Runtime,
    db: Db,
    users: Vec<String>,
    accounts: Vec<String>,
}

impl Ledger {
    /// A fresh in-memory SQLite database with the users in it.
    pub fn new() -> Ledger {
        // One connection: every connection to `:memory:` is a database of its own.
        Ledger::on(&DatabaseConfig {
            url: "sqlite::memory:".to_string(),
            max_connections: 1,
        })
    }

    /// The ledger on the database `cfg` names, emptied, with the users in it (kept when they
    /// are there already: the PostgreSQL test reuses one schema for every case).
    pub fn on(cfg: &DatabaseConfig) -> Ledger {
        let rt = super::runtime(&cfg.url);
        let db = rt.block_on(Db::connect(cfg)).expect("database");
        let users = (0..USERS)
            .map(|i| {
                let user = User {
                    id: format!("user-{i}"),
                    username: format!("user{i}"),
                    password_hash: "not a hash".to_string(),
                    created_at: 0,
                };
                let known = rt
                    .block_on(users::by_id(&db, &user.id))
                    .expect("user lookup");
                if known.is_none() {
                    rt.block_on(users::insert(&db, &user)).expect("user");
                }
                user.id
            })
            .collect();
        let mut ledger = Ledger {
            rt,
            db,
            users,
            accounts: Vec::with_capacity(MAX_ACCOUNTS),
        };
        ledger.reset();
        ledger
    }

    /// Empties the ledger (accounts, transfers, entries), keeping the users: a fresh start
    /// without the cost of a new database and its migrations.
    pub fn reset(&mut self) {
        self.rt.block_on(async {
            for sql in [
                "DELETE FROM movement_keys",
                "DELETE FROM transactions",
                "DELETE FROM transfers",
                "DELETE FROM accounts",
            ] {
                sqlx::query(sql)
                    .execute(self.db.pool())
                    .await
                    .expect("empty the ledger");
            }
        });
        self.accounts.clear();
    }

    fn id(&self, to: To) -> String {
        match to {
            To::Account(n) => self.accounts[n].clone(),
            To::Unknown => "no-such-account".to_string(),
        }
    }

    /// Applies `step` to the store and says what it came to (a storage failure panics).
    pub fn apply(&mut self, step: &Step) -> Outcome {
        let db = &self.db;
        match *step {
            Step::Open { user } => {
                let a = self
                    .rt
                    .block_on(ledger::create_account(db, &self.users[user], "acct"))
                    .expect("open an account");
                assert_eq!(a.balance_cents, 0);
                self.accounts.push(a.id);
                Outcome::Done
            }
            Step::Deposit {
                user,
                account,
                cents,
                key,
            } => self.movement(user, account, Kind::Deposit, cents, key),
            Step::Withdraw {
                user,
                account,
                cents,
                key,
            } => self.movement(user, account, Kind::Withdrawal, cents, key),
            Step::Transfer {
                user,
                key,
                from,
                to,
                cents,
            } => {
                let (from_id, to_id) = (self.accounts[from].clone(), self.id(to));
                let hash = format!("{from_id}>{to_id}:{cents}");
                let key = format!("key-{key}");
                let request = TransferRequest {
                    user_id: &self.users[user],
                    key: &key,
                    request_hash: &hash,
                    from: &from_id,
                    to: &to_id,
                    cents,
                    memo: "move",
                };
                match self.rt.block_on(ledger::transfer(db, &request)) {
                    Ok((t, replayed)) => {
                        assert_eq!(
                            (t.from_account, t.to_account, t.amount_cents),
                            (from_id, to_id, cents),
                            "the transfer returned"
                        );
                        carried_out(replayed)
                    }
                    Err(e) => refused(e),
                }
            }
        }
    }

    /// A deposit or withdrawal through the store's one entry point for both (the HTTP
    /// handlers' too). The store keeps a request's hash as an opaque string; this one is the
    /// account, kind and amount written out, which tells requests apart as the handlers'
    /// SHA-256 of them does and reads plainly in a failure.
    fn movement(
        &self,
        user: usize,
        account: usize,
        kind: Kind,
        cents: i64,
        key: Option<u8>,
    ) -> Outcome {
        let account_id = &self.accounts[account];
        let key = key.map(|k| format!("key-{k}"));
        let hash = format!("{account_id}:{}:{cents}", kind.as_str());
        let request = MovementRequest {
            user_id: &self.users[user],
            account_id,
            kind,
            cents,
            memo: "cash",
            key: key.as_deref().map(|k| (k, hash.as_str())),
        };
        match self.rt.block_on(ledger::movement(&self.db, &request)) {
            Ok((e, replayed)) => {
                assert_eq!(
                    (e.account_id.as_str(), e.kind.as_str(), e.amount_cents),
                    (account_id.as_str(), kind.as_str(), cents),
                    "the entry returned"
                );
                carried_out(replayed)
            }
            Err(e) => refused(e),
        }
    }

    /// Panics unless the store agrees with `model`: every account with its owner and
    /// balance, money conserved, and each account's entries adding up to its balance. Read
    /// in two queries of the harness's own (not the store's code under test), after every
    /// step.
    pub fn check(&self, model: &Model) {
        let pool = self.db.pool();
        let (rows, (net, strays)) = self.rt.block_on(async {
            let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(EVERY_ACCOUNT)
                .fetch_all(pool)
                .await
                .expect("read the accounts");
            let money: (i64, i64) = sqlx::query_as(MONEY_IN_AND_OUT)
                .fetch_one(pool)
                .await
                .expect("read the entries");
            (rows, money)
        });
        let stored: BTreeMap<String, (String, i64)> = rows
            .iter()
            .map(|(id, owner, balance, _)| (id.clone(), (owner.clone(), *balance)))
            .collect();
        let expected: BTreeMap<String, (String, i64)> = model
            .accounts
            .iter()
            .zip(&self.accounts)
            .map(|((owner, balance), id)| (id.clone(), (self.users[*owner].clone(), *balance)))
            .collect();
        assert_eq!(stored, expected, "every account, its owner and its balance");
        for (id, _, balance, entries) in &rows {
            assert_eq!(entries, balance, "the entries of account {id}");
        }
        let balances: i64 = rows.iter().map(|(_, _, balance, _)| balance).sum();
        assert_eq!(
            (balances, net),
            (model.net, model.net),
            "money is conserved: balances add up to deposits minus withdrawals"
        );
        assert_eq!(strays, 0, "entries only of known accounts");
    }
}

/// Every account: its id, owner, balance, and what its entries add up to.
const EVERY_ACCOUNT: &str = "SELECT a.id, a.user_id, a.balance_cents, \
     CAST(COALESCE((SELECT SUM(CASE t.kind WHEN 'deposit' THEN t.amount_cents \
     WHEN 'transfer_in' THEN t.amount_cents ELSE -t.amount_cents END) \
     FROM transactions t WHERE t.account_id = a.id), 0) AS BIGINT) \
     FROM accounts a";
/// Deposits minus withdrawals, and the entries of no known account.
const MONEY_IN_AND_OUT: &str = "SELECT CAST(COALESCE(SUM(CASE kind WHEN 'deposit' THEN \
     amount_cents WHEN 'withdrawal' THEN -amount_cents ELSE 0 END), 0) AS BIGINT), \
     CAST(COUNT(*) - COUNT(CASE WHEN account_id IN (SELECT id FROM accounts) THEN 1 END) \
     AS BIGINT) FROM transactions";

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

/// What a request the store carried out comes to: done, or an earlier one's replay.
fn carried_out(replayed: bool) -> Outcome {
    if replayed {
        Outcome::Replayed
    } else {
        Outcome::Done
    }
}

/// What a request the store refused comes to (a storage failure panics: not an outcome).
fn refused(e: LedgerError) -> Outcome {
    match e {
        LedgerError::NotFound => Outcome::NotFound,
        LedgerError::InsufficientFunds => Outcome::InsufficientFunds,
        LedgerError::BalanceLimit => Outcome::BalanceLimit,
        LedgerError::UnknownDestination => Outcome::UnknownDestination,
        LedgerError::KeyReused => Outcome::KeyReused,
        LedgerError::SameAccount => Outcome::SameAccount,
        LedgerError::Store(e) => panic!("storage failed: {e}"),
    }
}

/// Steps read from fuzz input, four bytes each: what, who, which accounts and key, and how
/// much (small amounts, or within 255 cents of the balance limit when the high bit is set).
/// A deposit or withdrawal has key `n - 1` when the third byte's high half `n` is 1 to
/// [`KEYS`], and none otherwise.
pub fn steps_from(data: &[u8]) -> Vec<Step> {
    data.chunks_exact(4)
        .map(|c| {
            let user = usize::from(c[1] % USERS as u8);
            let a = usize::from(c[2] & 0x0f);
            let b = usize::from(c[2] >> 4);
            let cents = if c[3] & 0x80 != 0 {
                MAX_BALANCE_CENTS - i64::from(c[3] & 0x7f)
            } else {
                i64::from(c[3]) + 1
            };
            let movement_key = (1..=KEYS).contains(&(c[2] >> 4)).then(|| (c[2] >> 4) - 1);
            match c[0] % 4 {
                0 => Step::Open { user },
                1 => Step::Deposit {
                    user,
                    account: a,
                    cents,
                    key: movement_key,
                },
                2 => Step::Withdraw {
                    user,
                    account: a,
                    cents,
                    key: movement_key,
                },
                _ => Step::Transfer {
                    user,
                    key: (c[1] >> 1) % KEYS,
                    from: a,
                    to: if b == 0x0f {
                        To::Unknown
                    } else {
                        To::Account(b)
                    },
                    cents,
                },
            }
        })
        .collect()
}

/// The `ledger_diff` fuzz target: the steps of `data` that the model allows, on the store and
/// on the model, compared after every one.
pub fn check_ledger_ops(data: &[u8]) {
    thread_local! {
        // One database per fuzzing thread, emptied before each input.
        static STORE: std::cell::RefCell<Option<Ledger>> = const { std::cell::RefCell::new(None) };
    }
    STORE.with_borrow_mut(|slot| {
        let store = slot.get_or_insert_with(Ledger::new);
        store.reset();
        let mut model = Model::default();
        store.check(&model);
        for step in steps_from(data).iter().take(64) {
            if !model.allows(step) {
                continue;
            }
            let expected = model.apply(step);
            assert_eq!(store.apply(step), expected, "{step:?}");
            store.check(&model);
        }
        // Nothing of this input outlives it (libFuzzer takes more allocations than frees in
        // one input for a leak, and runs the input again to look for it): its account ids, and
        // the pool's last connection, given back by a task of its own.
        store.accounts.clear();
        store.rt.block_on(tokio::task::yield_now());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check after each step sees a balance, an owner or an entry that is not what the
    /// model says, each on its own.
    #[test]
    fn the_check_catches_a_store_that_disagrees() {
        for tamper in [
            "UPDATE accounts SET balance_cents = balance_cents + 1",
            "UPDATE accounts SET user_id = 'user-1'",
            "UPDATE transactions SET amount_cents = amount_cents + 1",
        ] {
            let mut store = Ledger::new();
            let mut model = Model::default();
            for step in [
                Step::Open { user: 0 },
                Step::Deposit {
                    user: 0,
                    account: 0,
                    cents: 500,
                    key: None,
                },
            ] {
                assert_eq!(store.apply(&step), model.apply(&step));
            }
            store.check(&model);
            store
                .rt
                .block_on(sqlx::query(tamper).execute(store.db.pool()))
                .expect("tamper");
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                store.check(&model);
            }));
            assert!(caught.is_err(), "not caught: {tamper}");
        }
    }

    #[test]
    fn a_short_history_agrees() {
        // Open two accounts, deposit, move money both ways, replay, reuse a key, overdraw,
        // hit the balance limit, send to nowhere, and act on the other user's account.
        let bytes = [
            0, 0, 0, 0, // user 0 opens account 0
            0, 1, 0, 0, // user 1 opens account 1
            1, 0, 0, 99, // user 0 deposits 100 cents into 0
            3, 0, 0x10, 9, // user 0, key 0: 10 cents from 0 to 1
            3, 0, 0x10, 9, // the same again: replayed
            3, 0, 0x10, 10, // key 0 for another amount: reused
            2, 0, 0, 200, // user 0 withdraws near the limit: insufficient
            1, 1, 1, 0xff, // user 1 deposits MAX - 127 into 1
            1, 1, 1, 0xff, // again: over the limit
            3, 2, 0xf0, 1, // user 0, key 1: to an unknown account
            1, 0, 1, 5, // user 0 deposits into user 1's account: not found
            3, 4, 0x00, 1, // user 0, key 2: from account 0 to itself
            1, 0, 0x10, 4, // user 0 deposits 5 cents into 0 with movement key 0
            1, 0, 0x10, 4, // the same again: replayed
            2, 0, 0x10, 4, // key 0 for a withdrawal: reused
            2, 0, 0x30, 4, // user 0 withdraws 5 cents from 0 with movement key 2
        ];
        let mut model = Model::default();
        let mut store = Ledger::new();
        let mut outcomes = Vec::new();
        for step in steps_from(&bytes) {
            assert!(model.allows(&step), "{step:?}");
            let expected = model.apply(&step);
            assert_eq!(store.apply(&step), expected, "{step:?}");
            store.check(&model);
            outcomes.push(expected);
        }
        use Outcome::*;
        assert_eq!(
            outcomes,
            [
                Done,
                Done,
                Done,
                Done,
                Replayed,
                KeyReused,
                InsufficientFunds,
                Done,
                BalanceLimit,
                UnknownDestination,
                NotFound,
                SameAccount,
                Done,
                Replayed,
                KeyReused,
                Done
            ]
        );
        check_ledger_ops(&bytes);
        // Twice: the emptied database starts from nothing again.
        check_ledger_ops(&bytes);
    }
}
