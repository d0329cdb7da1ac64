//! Config file parsing: no panic, and the effective config printed by `check-config` reparses
//! to the same config.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rampart::config::fuzzing::check_config_bytes(data);
});
