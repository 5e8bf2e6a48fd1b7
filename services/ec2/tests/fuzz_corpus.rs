//! Replays the saved fuzz corpus (`fuzz/corpus/ec2_filters/`) through the entry point the fuzz
//! target uses, so every input the fuzzer kept is checked on each test run.

use std::path::Path;

#[test]
fn ec2_filters_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/ec2_filters");
    gateway::fuzzing::replay(&dir, ec2::fuzzing::filters);
}

/// `fuzz/corpus/next_tokens/` through EC2's entry point of that target.
#[test]
fn next_tokens_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, ec2::fuzzing::next_token);
}

/// `fuzz/corpus/service_requests/`: the inputs whose byte 0 picks EC2 (1 modulo 5),
/// through its entry point of that target.
#[test]
fn service_requests_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/service_requests");
    gateway::fuzzing::replay(&dir, |data| {
        if let Some((&service, rest)) = data.split_first()
            && service % 5 == 1
        {
            ec2::fuzzing::request(rest);
        }
    });
}
