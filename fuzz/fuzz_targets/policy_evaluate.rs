//! Policies, a request and context from bytes: no panic, and the fast path agrees with the trace.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    policy::fuzzing::policy_evaluate(data);
});
