//! See `rampart::fuzzing::ledger::check_ledger_ops`: the ledger store against its model.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::ledger::check_ledger_ops(data);
});
