//! Any bytes as a signed request (`METHOD TARGET`, header lines, an empty line, the body), as an
//! `aws-chunked` body, and as the date and checksum values SigV4 reads: errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sigv4::fuzzing::request(data);
    sigv4::fuzzing::chunked(data);
    sigv4::fuzzing::values(data);
});
