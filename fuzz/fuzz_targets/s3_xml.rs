//! Any bytes as the XML (or policy) payload of an S3 operation picked by byte 0: parsed,
//! decoded against the S3 model, read by the operation's handler: AWS errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    s3::fuzzing::xml(data);
});
