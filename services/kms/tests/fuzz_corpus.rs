//! Replays the saved fuzz corpora of KMS (`fuzz/corpus/kms_ciphertext/`, `fuzz/corpus/kms_request/`)
//! through the entry points the fuzz targets use: no input may panic.

use std::path::PathBuf;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    gateway::fuzzing::replay(&dir, f);
}

#[test]
fn kms_ciphertext_corpus() {
    replay("kms_ciphertext", kms::fuzzing::ciphertext);
}

#[test]
fn kms_request_corpus() {
    replay("kms_request", kms::fuzzing::request);
}

#[test]
fn next_tokens_corpus() {
    replay("next_tokens", kms::fuzzing::next_token);
}
