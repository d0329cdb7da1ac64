//! The ledger store against its model ([`super::ledger`]), as a proptest state machine (a
//! unit test, since the model is compiled for tests and fuzzing only): random sequences of
//! account openings, deposits, withdrawals and transfers (keys reused, amounts at the balance
//! limit, other users' accounts, unknown destinations) go to both; every step's outcome must match the model's, and after every step the balances,
//! money conservation and each account's entries are checked. The `ledger_diff` fuzz target
//! drives the same pair from fuzz input. The same machine runs on PostgreSQL when
//! `TEST_POSTGRES_URL` names one (ignored, so reported as skipped, otherwise; `.ci/run`
//! runs it), on one fresh schema emptied before every case.

use super::ledger::{KEYS, Ledger, Model, Outcome, Step, To, USERS};
use crate::store::ledger::MAX_BALANCE_CENTS;
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

/// The model and what the last step should have come to.
#[derive(Debug, Clone, Default)]
struct Reference {
    model: Model,
    last: Option<Outcome>,
}

/// Amounts: mostly small, sometimes at the balance limit.
fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 1i64..=5_000,
        1 => (MAX_BALANCE_CENTS - 5_000)..=MAX_BALANCE_CENTS,
    ]
}

/// A deposit's or withdrawal's idempotency key: none for most, one of a few for the rest
/// (so that keys are reused, for the same request and for others).
fn movement_key() -> impl Strategy<Value = Option<u8>> {
    proptest::option::weighted(0.3, 0..KEYS)
}

/// The acting user: the account's owner, or (`other`) the other user.
fn actor(owners: &[usize], account: usize, other: bool) -> usize {
    let owner = owners[account];
    if other { (owner + 1) % USERS } else { owner }
}

struct LedgerReference;

impl ReferenceStateMachine for LedgerReference {
    type State = Reference;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Reference> {
        Just(Reference::default()).boxed()
    }

    fn transitions(state: &Reference) -> BoxedStrategy<Step> {
        let n = state.model.accounts.len();
        let open = (0..USERS).prop_map(|user| Step::Open { user });
        if n == 0 {
            return open.boxed();
        }
        let owners: Vec<usize> = state.model.accounts.iter().map(|a| a.0).collect();
        let (o1, o2, o3) = (owners.clone(), owners.clone(), owners);
        let stranger = proptest::bool::weighted(0.1);
        prop_oneof![
            1 => open,
            3 => (0..n, stranger, cents(), movement_key()).prop_map(
                move |(account, other, cents, key)| {
                    Step::Deposit { user: actor(&o1, account, other), account, cents, key }
                }
            ),
            2 => (0..n, stranger, cents(), movement_key()).prop_map(
                move |(account, other, cents, key)| {
                    Step::Withdraw { user: actor(&o2, account, other), account, cents, key }
                }
            ),
            4 => (
                0..n,
                stranger,
                0..KEYS,
                prop_oneof![9 => (0..n).prop_map(To::Account), 1 => Just(To::Unknown)],
                cents(),
            )
                .prop_map(move |(from, other, key, to, cents)| Step::Transfer {
                    user: actor(&o3, from, other),
                    key,
                    from,
                    to,
                    cents,
                }),
        ]
        .boxed()
    }

    fn preconditions(state: &Reference, step: &Step) -> bool {
        state.model.allows(step)
    }

    fn apply(mut state: Reference, step: &Step) -> Reference {
        state.last = Some(state.model.apply(step));
        state
    }
}

struct Store;

impl StateMachineTest for Store {
    type SystemUnderTest = Ledger;
    type Reference = LedgerReference;

    fn init_test(_: &Reference) -> Ledger {
        Ledger::new()
    }

    fn apply(mut store: Ledger, reference: &Reference, step: Step) -> Ledger {
        let got = store.apply(&step);
        assert_eq!(Some(got), reference.last, "the outcome of {step:?}");
        store
    }

    fn check_invariants(store: &Ledger, reference: &Reference) {
        store.check(&reference.model);
    }
}

/// The test PostgreSQL's schema helpers, shared with the integration tests.
#[allow(dead_code)]
#[path = "../../tests/common/pg.rs"]
mod pg;

/// The store on PostgreSQL.
struct PgStore;

impl StateMachineTest for PgStore {
    type SystemUnderTest = Ledger;
    type Reference = LedgerReference;

    fn init_test(_: &Reference) -> Ledger {
        static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let url = URL.get_or_init(pg::fresh_url).clone();
        Ledger::on(&crate::config::DatabaseConfig {
            url,
            max_connections: 2,
        })
    }

    fn apply(store: Ledger, reference: &Reference, step: Step) -> Ledger {
        <Store as StateMachineTest>::apply(store, reference, step)
    }

    fn check_invariants(store: &Ledger, reference: &Reference) {
        store.check(&reference.model);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        max_shrink_iters: 1024,
        .. ProptestConfig::default()
    })]

    #[test]
    #[ignore = "needs PostgreSQL: set TEST_POSTGRES_URL (see .ci/run)"]
    fn the_store_agrees_with_the_model_on_postgres(sequential 1..48 => PgStore);
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        max_shrink_iters: 2048,
        .. ProptestConfig::default()
    })]

    #[test]
    fn the_store_agrees_with_the_model(sequential 1..48 => Store);
}
