//! Replays the saved fuzz corpora of SageMaker (`fuzz/corpus/sagemaker_studio/`,
//! `fuzz/corpus/sagemaker_request/`) through the entry points the fuzz targets use: no input
//! may panic.

use std::path::PathBuf;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    gateway::fuzzing::replay(&dir, f);
}

#[test]
fn sagemaker_studio_corpus() {
    replay("sagemaker_studio", sagemaker::fuzzing::studio);
}

#[test]
fn sagemaker_request_corpus() {
    replay("sagemaker_request", sagemaker::fuzzing::request);
}

#[test]
fn next_tokens_corpus() {
    replay("next_tokens", sagemaker::fuzzing::next_token);
}
