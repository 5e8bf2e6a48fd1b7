//! Any bytes as an S3 request (`METHOD TARGET`, header lines, an empty line, the body): routed
//! (path-style or virtual-hosted-style), its payload decoded, ranges, conditions, copy source,
//! tagging and checksums parsed, its operation handled: AWS errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3::fuzzing::request(data);
});
