//! Fuzzes logs's `fuzzing::filter_pattern`: no panic on any input, invariants hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    logs::fuzzing::filter_pattern(data);
});
