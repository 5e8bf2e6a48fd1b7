//! Replays the saved fuzz corpus (`fuzz/corpus/<target>/`) through the same entry points the
//! fuzz targets use, so every input the fuzzer kept is checked on each test run.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let result = std::panic::catch_unwind(|| f(&data));
        assert!(result.is_ok(), "{} fails", path.display());
        n += 1;
    }
    assert!(n > 0, "empty corpus for {target}");
}

#[test]
fn policy_parse_corpus() {
    replay("policy_parse", policy::fuzzing::policy_parse);
}

#[test]
fn policy_evaluate_corpus() {
    replay("policy_evaluate", policy::fuzzing::policy_evaluate);
}
