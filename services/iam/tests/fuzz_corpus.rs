//! Replays the saved fuzz corpus `fuzz/corpus/next_tokens/` through IAM's entry point of
//! the fuzz target: no marker or encoded message may panic.

#[test]
fn next_tokens_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, iam::fuzzing::next_token);
}
