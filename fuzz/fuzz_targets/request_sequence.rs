//! See `rampart::fuzzing::sequence`: API call sequences through the real router, with the
//! money, ownership and session invariants checked after each call.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::sequence::check_request_sequence(data);
});
