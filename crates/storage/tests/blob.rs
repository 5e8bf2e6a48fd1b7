use std::io::Read;

use storage::blob::SEGMENT_SIZE;
use storage::{BlobStore, Error, Store};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

fn stores() -> Vec<(tempfile::TempDir, BlobStore)> {
    let dir = tempfile::tempdir().unwrap();
    let on_disk = BlobStore::open_dir(dir.path().join("blobs")).unwrap();
    vec![
        (dir, on_disk),
        (tempfile::tempdir().unwrap(), BlobStore::in_memory()),
    ]
}

fn write(store: &BlobStore, key: &[u8; 32], data: &[u8], piece: usize) -> storage::BlobInfo {
    let mut w = store.create(key).unwrap();
    for chunk in data.chunks(piece.max(1)) {
        w.write_all(chunk).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn blobs_round_trip_at_every_interesting_length() {
    let key = [7u8; 32];
    for (_dir, store) in stores() {
        for len in [
            0,
            1,
            100,
            SEGMENT_SIZE - 1,
            SEGMENT_SIZE,
            SEGMENT_SIZE + 1,
            3 * SEGMENT_SIZE,
            3 * SEGMENT_SIZE + 17,
        ] {
            let data = pattern(len, len as u8);
            for piece in [1000, SEGMENT_SIZE, 5 * SEGMENT_SIZE] {
                let info = write(&store, &key, &data, piece);
                assert_eq!(info.len, len as u64);
                let r = store.open(info.id, &key).unwrap();
                assert_eq!(r.len(), len as u64);
                assert_eq!(r.read_all().unwrap(), data, "len {len} piece {piece}");
                let mut via_read = Vec::new();
                r.read_range(0..len as u64)
                    .unwrap()
                    .read_to_end(&mut via_read)
                    .unwrap();
                assert_eq!(via_read, data);
            }
        }
    }
}

#[test]
fn ranged_reads_cross_segment_boundaries() {
    let key = [1u8; 32];
    let len = 4 * SEGMENT_SIZE + 123;
    let data = pattern(len, 3);
    for (_dir, store) in stores() {
        let info = write(&store, &key, &data, 70_000);
        let r = store.open(info.id, &key).unwrap();
        let s = SEGMENT_SIZE as u64;
        for (a, b) in [
            (0, 0),
            (0, 1),
            (s - 1, s + 1),
            (s, 2 * s),
            (s + 5, 3 * s + 7),
            (3 * s, len as u64),
            (len as u64 - 1, len as u64),
            (len as u64, len as u64),
        ] {
            let mut got = Vec::new();
            let range = r.read_range(a..b).unwrap();
            assert_eq!(range.remaining(), b - a);
            for chunk in range {
                let chunk = chunk.unwrap();
                assert!(chunk.len() <= SEGMENT_SIZE);
                got.extend_from_slice(&chunk);
            }
            assert_eq!(got, &data[a as usize..b as usize], "{a}..{b}");
        }
        assert!(matches!(
            r.read_range(0..len as u64 + 1),
            Err(Error::InvalidRange { .. })
        ));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = r.read_range(5..4);
        assert!(matches!(backwards, Err(Error::InvalidRange { .. })));
    }
}

#[test]
fn the_wrong_key_or_a_missing_blob_is_an_error() {
    for (_dir, store) in stores() {
        let info = write(&store, &[1; 32], b"hello", 10);
        let r = store.open(info.id, &[2; 32]).unwrap();
        assert!(matches!(r.read_all(), Err(Error::BlobCorrupt { .. })));
        let missing = storage::BlobId::random().unwrap();
        assert!(matches!(
            store.open(missing, &[1; 32]),
            Err(Error::BlobNotFound(_))
        ));
        assert!(store.delete(info.id).unwrap());
        assert!(!store.delete(info.id).unwrap());
        assert!(matches!(
            store.open(info.id, &[1; 32]),
            Err(Error::BlobNotFound(_))
        ));
    }
}

fn blob_file(dir: &std::path::Path, id: storage::BlobId) -> std::path::PathBuf {
    let hex = id.to_string();
    dir.join("blobs").join(&hex[..2]).join(hex)
}

#[test]
fn tampering_with_a_blob_file_is_detected() {
    let key = [5u8; 32];
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open_dir(dir.path().join("blobs")).unwrap();
    let data = pattern(3 * SEGMENT_SIZE + 10, 9);
    let seg = SEGMENT_SIZE + 16;
    let header = 72usize;

    // A flipped bit.
    let a = write(&store, &key, &data, 4096);
    let path = blob_file(dir.path(), a.id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[header + seg + 100] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let r = store.open(a.id, &key).unwrap();
    assert!(r.read_range(0..10).is_ok_and(|mut x| x.all(|c| c.is_ok())));
    assert!(matches!(r.read_all(), Err(Error::BlobCorrupt { .. })));

    // Two segments swapped.
    let b = write(&store, &key, &data, 4096);
    let path = blob_file(dir.path(), b.id);
    let mut bytes = std::fs::read(&path).unwrap();
    let (s0, s1) = (header..header + seg, header + seg..header + 2 * seg);
    let first = bytes[s0.clone()].to_vec();
    let second = bytes[s1.clone()].to_vec();
    bytes[s0].copy_from_slice(&second);
    bytes[s1].copy_from_slice(&first);
    std::fs::write(&path, &bytes).unwrap();
    let r = store.open(b.id, &key).unwrap();
    assert!(r.read_range(0..1).unwrap().next().unwrap().is_err());

    // Truncated at a segment boundary with the length in the header adjusted: the new last segment is
    // not marked last.
    let c = write(&store, &key, &data, 4096);
    let path = blob_file(dir.path(), c.id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(header + 2 * seg);
    bytes[64..72].copy_from_slice(&(2 * SEGMENT_SIZE as u64).to_be_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let r = store.open(c.id, &key).unwrap();
    assert_eq!(r.len(), 2 * SEGMENT_SIZE as u64);
    assert!(matches!(r.read_all(), Err(Error::BlobCorrupt { .. })));

    // Truncated without adjusting the header.
    let d = write(&store, &key, &data, 4096);
    let path = blob_file(dir.path(), d.id);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    assert!(matches!(
        store.open(d.id, &key),
        Err(Error::BlobCorrupt { .. })
    ));

    // A segment spliced in from another blob under the same data key.
    let e = write(&store, &key, &data, 4096);
    let f = write(&store, &key, &data, 4096);
    let f_bytes = std::fs::read(blob_file(dir.path(), f.id)).unwrap();
    let path = blob_file(dir.path(), e.id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[header..header + seg].copy_from_slice(&f_bytes[header..header + seg]);
    std::fs::write(&path, &bytes).unwrap();
    let r = store.open(e.id, &key).unwrap();
    assert!(r.read_range(0..1).unwrap().next().unwrap().is_err());
    assert!(r.read_range(seg as u64..seg as u64 + 1).is_ok());

    // A whole blob file renamed over another.
    std::fs::copy(blob_file(dir.path(), f.id), blob_file(dir.path(), a.id)).unwrap();
    assert!(matches!(
        store.open(a.id, &key),
        Err(Error::BlobCorrupt { .. })
    ));
}

#[test]
fn a_dropped_writer_leaves_nothing_and_sweep_removes_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open_dir(dir.path().join("blobs")).unwrap();
    let mut w = store.create(&[1; 32]).unwrap();
    w.write_all(&pattern(200_000, 1)).unwrap();
    drop(w);
    assert!(
        std::fs::read_dir(dir.path().join("blobs/tmp"))
            .unwrap()
            .next()
            .is_none()
    );
    let keep = write(&store, &[1; 32], b"keep", 10);
    let orphan = write(&store, &[1; 32], b"orphan", 10);
    assert_eq!(store.list().unwrap().len(), 2);
    assert_eq!(store.sweep(|id| *id == keep.id).unwrap(), 1);
    assert_eq!(store.list().unwrap(), vec![keep.id]);
    assert!(store.open(orphan.id, &[1; 32]).is_err());

    // A temp file left by a crash is removed when the store is opened again.
    std::fs::write(dir.path().join("blobs/tmp/leftover"), b"x").unwrap();
    let store = BlobStore::open_dir(dir.path().join("blobs")).unwrap();
    assert!(!dir.path().join("blobs/tmp/leftover").exists());
    assert_eq!(
        store.open(keep.id, &[1; 32]).unwrap().read_all().unwrap(),
        b"keep"
    );
}

#[test]
fn a_store_in_a_data_dir_keeps_blobs_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let key = [3u8; 32];
    let data = pattern(SEGMENT_SIZE * 2 + 1, 4);
    let id = {
        let store = Store::open(dir.path()).unwrap();
        write(store.blobs(), &key, &data, 9999).id
    };
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.blobs().open(id, &key).unwrap().read_all().unwrap(),
        data
    );
}

#[test]
fn large_blobs_flushed_while_written_read_back_and_drop_cleanly() {
    // Past the background flush step several times, with and without a size hint.
    let data = pattern(50 << 20, 6);
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open_dir(dir.path().join("blobs")).unwrap();
    let key = [6u8; 32];
    let plain = write(&store, &key, &data, 1 << 20);
    let mut hinted = store
        .create_with_size_hint(&key, Some(data.len() as u64))
        .unwrap();
    hinted.write_all(&data).unwrap();
    let hinted = hinted.finish().unwrap();
    for id in [plain.id, hinted.id] {
        let blob = store.open(id, &key).unwrap();
        assert_eq!(blob.len(), data.len() as u64);
        assert!(blob.read_all().unwrap() == data);
    }
    // Dropped while its flushes run: nothing is left behind.
    let mut dropped = store.create(&key).unwrap();
    dropped.write_all(&data).unwrap();
    drop(dropped);
    assert!(
        std::fs::read_dir(dir.path().join("blobs/tmp"))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(store.list().unwrap().len(), 2);
}

/// Runs `check` on a store in a temporary directory twice: with direct I/O (where the filesystem
/// allows it) and without it, the page-cache path that filesystems refusing `O_DIRECT` take. (tmpfs
/// cannot stand in for those: it accepts `O_DIRECT` since Linux 6.6.)
fn direct_and_buffered(check: fn(&std::path::Path, &BlobStore)) {
    for direct in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open_dir(dir.path().join("blobs"))
            .unwrap()
            .with_direct_io(direct);
        check(dir.path(), &store);
    }
}

#[test]
fn blobs_around_the_write_buffer_boundaries_round_trip() {
    // Sealed segments are written 1 MiB at a time; a blob past its first buffer is written by its own
    // thread, directly to the device in whole blocks, or through the page cache.
    direct_and_buffered(boundary_lengths_round_trip);
}

fn boundary_lengths_round_trip(dir: &std::path::Path, store: &BlobStore) {
    let key = [8u8; 32];
    let buffer = 1usize << 20;
    for (i, len) in [
        buffer - 1,
        buffer + 1,
        2 * buffer - SEGMENT_SIZE,
        2 * buffer + 17,
        3 * buffer + SEGMENT_SIZE + 5,
        7 * buffer + 3,
        20 * buffer,
    ]
    .into_iter()
    .enumerate()
    {
        let data = pattern(len, i as u8);
        let info = write(store, &key, &data, 77_777);
        assert_eq!(info.len, len as u64);
        let blob = store.open(info.id, &key).unwrap();
        assert!(blob.read_all().unwrap() == data, "length {len} in {dir:?}");
        let mut middle = Vec::new();
        blob.read_range(len as u64 / 2..len as u64 / 2 + 1000)
            .unwrap()
            .read_to_end(&mut middle)
            .unwrap();
        assert_eq!(
            middle,
            data[len / 2..len / 2 + 1000],
            "length {len} in {dir:?}"
        );
    }
    assert!(
        std::fs::read_dir(dir.join("blobs/tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn long_reads_go_ahead_in_windows_and_stop_cleanly() {
    // A read of 1 MiB or more is read ahead in windows of 64 segments, directly from the device where
    // the filesystem allows: ranges that start and end inside segments and windows, a tampered segment
    // deep inside, a read dropped halfway, and a blob deleted while it is being read.
    direct_and_buffered(long_reads);
}

fn long_reads(dir: &std::path::Path, store: &BlobStore) {
    let key = [9u8; 32];
    let s = SEGMENT_SIZE as u64;
    let len = 140 * s + 1234;
    let data = pattern(len as usize, 4);
    let info = write(store, &key, &data, 1 << 20);
    let r = store.open(info.id, &key).unwrap();
    for (a, b) in [
        (0, len),
        (1, len - 1),
        (s - 3, 65 * s + 9),
        (64 * s, 128 * s),
        (63 * s + 1, len),
        (len - (1 << 20), len),
    ] {
        let mut got = Vec::new();
        r.read_range(a..b).unwrap().read_to_end(&mut got).unwrap();
        assert!(got == data[a as usize..b as usize], "{a}..{b} in {dir:?}");
    }

    // Dropped after one chunk: the read-ahead stops, and the blob reads whole again.
    let mut partial = r.read_range(0..len).unwrap();
    assert_eq!(partial.next().unwrap().unwrap().len(), SEGMENT_SIZE);
    drop(partial);

    // Deleted while being read: the open file keeps its bytes.
    let mut reading = r.read_range(0..len).unwrap();
    let first = reading.next().unwrap().unwrap();
    assert!(store.delete(info.id).unwrap());
    let mut got = first;
    for chunk in reading {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert!(got == data);

    // A flipped bit in segment 100 fails the read there, after the segments before it.
    let t = write(store, &key, &data, 1 << 20);
    let path = blob_file(dir, t.id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[72 + 100 * (SEGMENT_SIZE + 16) + 7] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let mut good = 0;
    let mut failed = None;
    for chunk in store.open(t.id, &key).unwrap().read_range(0..len).unwrap() {
        match chunk {
            Ok(c) => good += c.len(),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    assert_eq!(good, 100 * SEGMENT_SIZE);
    assert!(
        matches!(&failed, Some(Error::BlobCorrupt { reason, .. }) if reason.contains("segment 100")),
        "{failed:?}"
    );
}
