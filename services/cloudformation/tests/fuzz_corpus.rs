//! Replays the saved fuzz corpus (`fuzz/corpus/cloudformation_template/`) through the entry
//! point the fuzz target uses, so every input the fuzzer kept is checked on each test run.

use std::path::Path;

#[test]
fn cloudformation_template_corpus() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cloudformation_template");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    assert!(
        !entries.is_empty(),
        "empty corpus for cloudformation_template"
    );
    for path in entries {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let result = std::panic::catch_unwind(|| cloudformation::fuzzing::template(&data));
        assert!(result.is_ok(), "{} fails", path.display());
    }
}

/// `fuzz/corpus/next_tokens/` through CloudFormation's entry point of that target.
#[test]
fn next_tokens_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/next_tokens");
    gateway::fuzzing::replay(&dir, cloudformation::fuzzing::next_token);
}
