//! See `rampart::fuzzing::check_token` for the properties asserted.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::check_token(data);
});
