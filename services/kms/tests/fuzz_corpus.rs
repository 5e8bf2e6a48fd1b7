//! Replays the saved fuzz corpora of KMS (`fuzz/corpus/kms_ciphertext/`, `fuzz/corpus/kms_request/`)
//! through the entry points the fuzz targets use: no input may panic.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "empty corpus for {target}");
    paths
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, data)
        })
        .collect()
}

#[test]
fn kms_ciphertext_corpus() {
    for (path, data) in corpus("kms_ciphertext") {
        let result = std::panic::catch_unwind(|| kms::fuzzing::ciphertext(&data));
        assert!(result.is_ok(), "{} fails", path.display());
    }
}

#[test]
fn kms_request_corpus() {
    for (path, data) in corpus("kms_request") {
        let result = std::panic::catch_unwind(|| kms::fuzzing::request(&data));
        assert!(result.is_ok(), "{} fails", path.display());
    }
}

#[test]
fn next_tokens_corpus() {
    for (path, data) in corpus("next_tokens") {
        let result = std::panic::catch_unwind(|| kms::fuzzing::next_token(&data));
        assert!(result.is_ok(), "{} fails", path.display());
    }
}
