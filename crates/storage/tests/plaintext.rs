//! Writes a marker through the keyring and the blob store into a data dir, then scans every file in it.

use serde::{Deserialize, Serialize};
use storage::{Batch, Record, Store};

#[derive(Serialize, Deserialize)]
struct Secret {
    id: String,
    wrapped: String,
}

impl Record for Secret {
    const TABLE: &'static str = "test.secret";
    fn key(&self) -> String {
        self.id.clone()
    }
}

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_plaintext_marker_reaches_the_data_dir() {
    let marker = b"PERIMETER-PLAINTEXT-MARKER-5b1f0c";
    let dir = tempfile::tempdir().unwrap();
    let mut blob_ids = Vec::new();
    {
        let store = Store::open(dir.path()).unwrap();
        // Secrets wrapped under the root key, stored in a record.
        let mut batch = Batch::new();
        for i in 0..50 {
            let mut secret = marker.to_vec();
            secret.extend_from_slice(format!("-{i}").as_bytes());
            let wrapped = store.keyring().wrap(&secret, b"test").unwrap();
            batch.put(&Secret {
                id: i.to_string(),
                wrapped: hex::encode(wrapped),
            });
        }
        store.commit_blocking(batch).unwrap();
        // Object bodies full of the marker, small and spanning segments.
        let data_key = storage::keyring::random_key().unwrap();
        for size in [marker.len(), 100_000, 1 << 20] {
            let body: Vec<u8> = marker.iter().copied().cycle().take(size).collect();
            let mut w = store.blobs().create(&data_key).unwrap();
            w.write_all(&body).unwrap();
            blob_ids.push((w.finish().unwrap().id, body));
        }
        // Read back while open.
        for (id, body) in &blob_ids {
            assert_eq!(
                &store
                    .blobs()
                    .open(*id, &data_key)
                    .unwrap()
                    .read_all()
                    .unwrap(),
                body
            );
        }
        let s = store.table::<Secret>().get("7").unwrap().unwrap();
        let plain = store
            .keyring()
            .unwrap(&hex::decode(s.wrapped).unwrap(), b"test")
            .unwrap();
        assert!(plain.starts_with(marker));
        // Scan while the WAL is live, then again after close.
        scan(dir.path(), marker);
    }
    scan(dir.path(), marker);
}

fn scan(dir: &std::path::Path, marker: &[u8]) {
    let mut all = Vec::new();
    files(dir, &mut all);
    assert!(all.iter().any(|p| p.ends_with("perimeter.db")));
    assert!(
        all.iter()
            .filter(|p| p.to_string_lossy().contains("blobs"))
            .count()
            >= 3
    );
    for path in all {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !contains(&bytes, marker),
            "plaintext marker found in {}",
            path.display()
        );
        assert!(
            !contains(&bytes, &marker[..16]),
            "part of the plaintext marker found in {}",
            path.display()
        );
    }
}
