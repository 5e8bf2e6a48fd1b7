//! Any bytes as a policy document of every type: no panic, and parse agrees with validate.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    policy::fuzzing::policy_parse(data);
});
