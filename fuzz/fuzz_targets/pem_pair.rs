//! Certificate chain and private key PEM loading: no panic, chains round-trip through PEM,
//! and any pair that loads has a key matching its leaf. Input: cert PEM, NUL, key PEM.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart_certs::fuzzing::check_pem_bytes(data);
});
