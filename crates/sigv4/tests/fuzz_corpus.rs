//! Replays the saved fuzz corpus (`fuzz/corpus/sigv4_parse/`) through the entry points the fuzz
//! target uses, so every input the fuzzer kept is checked on each test run.

use std::path::Path;

#[test]
fn sigv4_parse_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sigv4_parse");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "empty corpus for sigv4_parse");
    let mut verified = 0;
    for path in entries {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let result = std::panic::catch_unwind(|| {
            let ok = sigv4::fuzzing::request(&data);
            sigv4::fuzzing::chunked(&data);
            sigv4::fuzzing::values(&data);
            ok
        });
        assert!(result.is_ok(), "{} fails", path.display());
        // The seeds signed by botocore (`tests/data/botocore_fixtures.py --corpus`) verify, so the
        // fuzzer starts from requests that reach the signature and body checks.
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('0') {
            assert_eq!(result.ok(), Some(true), "{name} does not verify");
            verified += 1;
        }
    }
    assert_eq!(verified, 25);
}
