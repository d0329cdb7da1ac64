//! The keyed limiter behind every per-client, per-user and login budget, against its contract
//! (proptest-state-machine, on governor's fake clock): random checks from a few keys, clock
//! advances and maintenance passes with small caps. After every step:
//! - no key is ever admitted more than `burst + elapsed / interval` times since the limiter
//!   (or its last reset) started, whatever the order of checks;
//! - a key is always admitted when it has not been admitted since the start or its last
//!   admission is at least one interval ago (a refill is never lost);
//! - a refusal names a wait of at least a second and no more than one interval (rounded up);
//! - maintenance resets the limiter only when it tracks more keys than its cap, always when
//!   more keys than the cap have spent budgets, and otherwise forgets no key with a spent
//!   budget.

use std::collections::BTreeMap;
use std::time::Duration;

use governor::Quota;
use governor::clock::FakeRelativeClock;
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use rampart::limits::limiter::{Limiter, nz};

/// Keys in play.
const KEYS: u8 = 4;

#[derive(Debug, Clone)]
enum Step {
    Check(u8),
    Advance(Duration),
    Maintain(usize),
}

/// The contract's view: the quota, the time since the start (or the last reset), and per key
/// how many were admitted and when the last was.
#[derive(Debug, Clone)]
struct Contract {
    rate: u32,
    burst: u32,
    now: Duration,
    epoch: Duration,
    keys: BTreeMap<u8, (u64, Duration)>,
}

impl Contract {
    /// The emission interval, as governor computes it.
    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.rate
    }

    /// The most admissions `key` may have had by now.
    fn ceiling(&self) -> u64 {
        let elapsed = (self.now - self.epoch).as_nanos();
        u64::from(self.burst) + (elapsed / self.interval().as_nanos()) as u64
    }

    /// Whether a check of `key` now must be admitted.
    fn must_admit(&self, key: u8) -> bool {
        match self.keys.get(&key) {
            None => true,
            Some((_, last)) => self.now >= *last + self.interval(),
        }
    }
}

struct LimiterContract;

impl ReferenceStateMachine for LimiterContract {
    type State = Contract;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Contract> {
        (1u32..=20, 1u32..=10)
            .prop_map(|(rate, burst)| Contract {
                rate,
                burst,
                now: Duration::ZERO,
                epoch: Duration::ZERO,
                keys: BTreeMap::new(),
            })
            .boxed()
    }

    fn transitions(_: &Contract) -> BoxedStrategy<Step> {
        prop_oneof![
            8 => (0..KEYS).prop_map(Step::Check),
            3 => (0u64..1_500).prop_map(|ms| Step::Advance(Duration::from_millis(ms))),
            1 => (0usize..4).prop_map(Step::Maintain),
        ]
        .boxed()
    }

    fn apply(mut state: Contract, step: &Step) -> Contract {
        // Admissions and resets are recorded from what the limiter did (see `Subject::apply`),
        // once checked against the contract; only time is the model's own.
        if let Step::Advance(d) = step {
            state.now += *d;
        }
        state
    }
}

/// The limiter, its clock, and the contract's record of what it did.
struct Subject {
    clock: FakeRelativeClock,
    limiter: Limiter<u8, FakeRelativeClock>,
    seen: Contract,
}

impl StateMachineTest for Subject {
    type SystemUnderTest = Subject;
    type Reference = LimiterContract;

    fn init_test(c: &Contract) -> Subject {
        let clock = FakeRelativeClock::default();
        let quota = Quota::per_second(nz(c.rate)).allow_burst(nz(c.burst));
        Subject {
            limiter: Limiter::with_clock(quota, clock.clone()),
            clock,
            seen: c.clone(),
        }
    }

    fn apply(mut s: Subject, c: &Contract, step: Step) -> Subject {
        s.seen.now = c.now;
        match step {
            Step::Advance(d) => s.clock.advance(d),
            Step::Check(key) => {
                let must = s.seen.must_admit(key);
                match s.limiter.check(&key) {
                    Ok(()) => {
                        let ceiling = s.seen.ceiling();
                        let e = s.seen.keys.entry(key).or_insert((0, c.now));
                        e.0 += 1;
                        e.1 = c.now;
                        assert!(
                            e.0 <= ceiling,
                            "key {key} admitted {} times, more than the ceiling {ceiling} ({c:?})",
                            e.0
                        );
                    }
                    Err(wait) => {
                        assert!(
                            !must,
                            "key {key} refused though its budget refilled ({:?})",
                            s.seen
                        );
                        let interval = s.seen.interval();
                        assert!(
                            wait >= 1 && u64::from(wait) <= interval.as_secs() + 1,
                            "wait {wait} s when one request refills in {interval:?}"
                        );
                    }
                }
            }
            Step::Maintain(cap) => {
                let interval = s.seen.interval();
                // Keys surely not refilled (admitted less than an interval ago) must be kept.
                let spent = s
                    .seen
                    .keys
                    .values()
                    .filter(|(_, last)| c.now < *last + interval)
                    .count();
                let reset = s.limiter.maintain(cap);
                if spent > cap {
                    assert!(reset, "{spent} keys with spent budgets over a cap of {cap}");
                }
                if reset {
                    assert!(s.seen.keys.len() > cap, "reset at or under the cap {cap}");
                    assert!(s.limiter.is_empty());
                    s.seen.keys.clear();
                    s.seen.epoch = c.now;
                } else {
                    assert!(
                        s.limiter.len() >= spent,
                        "a key with a spent budget was forgotten"
                    );
                }
            }
        }
        s
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        .. ProptestConfig::default()
    })]

    #[test]
    fn the_limiter_keeps_its_contract(sequential 1..80 => Subject);
}
