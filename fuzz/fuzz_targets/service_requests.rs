//! Byte 0 picks a service (modulo 5: IAM and STS, EC2, CloudWatch Logs, SSM, Organizations),
//! the rest is that crate's `fuzzing::request` input: an operation and its JSON input over a
//! fixture, validated, declared and handled. AWS errors, never a panic. The replay tests of
//! those crates use the same numbering.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&service, rest)) = data.split_first() else {
        return;
    };
    match service % 5 {
        0 => iam::fuzzing::request(rest),
        1 => ec2::fuzzing::request(rest),
        2 => logs::fuzzing::request(rest),
        3 => ssm::fuzzing::request(rest),
        _ => organizations::fuzzing::request(rest),
    }
});
