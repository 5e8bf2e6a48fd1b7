//! Replays the saved fuzz corpora of S3 (`fuzz/corpus/s3_request/`, `fuzz/corpus/s3_xml/`)
//! through the entry points the fuzz targets use: no input may panic.

use std::path::PathBuf;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    gateway::fuzzing::replay(&dir, f);
}

#[test]
fn s3_request_corpus() {
    replay("s3_request", s3::fuzzing::request);
}

#[test]
fn s3_xml_corpus() {
    replay("s3_xml", s3::fuzzing::xml);
}

#[test]
fn next_tokens_corpus() {
    replay("next_tokens", s3::fuzzing::next_token);
}
