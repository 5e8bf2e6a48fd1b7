//! Replays the saved fuzz corpus (`fuzz/corpus/logs_filter_pattern/`) through the entry point the fuzz
//! target uses, so every input the fuzzer kept is checked on each test run.

use std::path::Path;

#[test]
fn logs_filter_pattern_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/logs_filter_pattern");
    gateway::fuzzing::replay(&dir, logs::fuzzing::filter_pattern);
}

/// `fuzz/corpus/next_tokens/` through Logs' entry point of that target.
#[test]
fn next_tokens_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, logs::fuzzing::next_token);
}

/// `fuzz/corpus/service_requests/`: the inputs whose byte 0 picks CloudWatch Logs (2 modulo 5),
/// through its entry point of that target.
#[test]
fn service_requests_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/service_requests");
    gateway::fuzzing::replay(&dir, |data| {
        if let Some((&service, rest)) = data.split_first()
            && service % 5 == 2
        {
            logs::fuzzing::request(rest);
        }
    });
}
