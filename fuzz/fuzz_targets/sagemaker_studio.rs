//! Any bytes as a request to the Studio pages (sign-in with a presigned token, landing page,
//! app environment, container credentials, home directory files), with placeholders for the
//! fixture's domain, tokens and session: a page or JSON below 500, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sagemaker::fuzzing::studio(data);
});
