//! Any bytes as an audit event body read back from the database: unpacking never panics nor
//! allocates past its bound, and packing round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    storage::fuzzing::audit_body(data);
});
