//! Replays the saved fuzz corpus `fuzz/corpus/next_tokens/` through SSM's entry point of
//! the fuzz target: no pagination token or parameter selector may panic.

#[test]
fn next_tokens_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, ssm::fuzzing::next_token);
}
