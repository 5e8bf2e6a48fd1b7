//! Replays the saved fuzz corpus of stored audit bodies (`fuzz/corpus/audit_body/`) through the
//! entry point the fuzz target uses: no input may panic.

use std::path::PathBuf;

#[test]
fn audit_body_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/audit_body");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "empty corpus");
    for path in paths {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let result = std::panic::catch_unwind(|| storage::fuzzing::audit_body(&data));
        assert!(result.is_ok(), "{} fails", path.display());
    }
}
