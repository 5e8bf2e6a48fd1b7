//! Replays the saved fuzz corpus `fuzz/corpus/next_tokens/` through Organizations's entry point of
//! the fuzz target: no NextToken may panic.

#[test]
fn next_tokens_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, organizations::fuzzing::next_token);
}
