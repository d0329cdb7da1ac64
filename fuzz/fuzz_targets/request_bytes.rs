//! See `rampart::fuzzing::request::check_request_bytes`: the whole request path from bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart::fuzzing::request::check_request_bytes(data);
});
