//! Any bytes as a CloudFormation template (JSON or YAML), then parameters, conditions, the
//! plan, intrinsic functions and property reads; and as `Fn::Sub`, `Fn::Cidr` and a NextToken:
//! errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cloudformation::fuzzing::template(data);
});
