//! Replays the saved fuzz corpus `fuzz/corpus/next_tokens/` through SSM's entry point of
//! the fuzz target: no pagination token or parameter selector may panic.

#[test]
fn next_tokens_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, ssm::fuzzing::next_token);
}

/// `fuzz/corpus/service_requests/`: the inputs whose byte 0 picks SSM (3 modulo 5),
/// through its entry point of that target.
#[test]
fn service_requests_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/service_requests");
    gateway::fuzzing::replay(&dir, |data| {
        if let Some((&service, rest)) = data.split_first()
            && service % 5 == 3
        {
            ssm::fuzzing::request(rest);
        }
    });
}
