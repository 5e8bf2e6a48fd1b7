//! Fuzzes ec2's `fuzzing::filters`: no panic on any input, invariants hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ec2::fuzzing::filters(data);
});
