//! Any bytes as a KMS ciphertext blob (raw and base64), grant token, pagination marker and key
//! id: headers parse consistently, sealing round-trips, a changed byte never opens, and
//! `Decrypt`, `RetireGrant`, `DescribeKey` and the list operations answer with AWS errors.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kms::fuzzing::ciphertext(data);
});
