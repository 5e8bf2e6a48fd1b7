//! Byte 0 picks a KMS operation, the rest is its JSON input (placeholders name the fixture key,
//! ciphertext and grant): validated, declared and handled: AWS errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kms::fuzzing::request(data);
});
