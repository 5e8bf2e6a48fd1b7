//! Byte 0 picks a SageMaker operation, the rest is its JSON input: validated, its condition
//! keys computed, handled (Search expressions, list tokens, tags): AWS errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sagemaker::fuzzing::request(data);
});
