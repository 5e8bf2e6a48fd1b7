//! `cargo bench -p storage --bench storage`
//!
//! - `commit/<load>/<writers>`: durable group commits from N concurrent async writers into a data dir
//!   (SQLite WAL, `synchronous=FULL`); throughput is in batches (elements) per second.
//! - `blob/write_1GiB`, `blob/read_1GiB`: streaming a 1 GiB blob through AES-256-GCM segments into and out
//!   of a data dir, including `fdatasync`, rename and directory `fsync` for the write.
//! - `blob/ranged_get_4KiB`: a 4 KiB range from the middle of a 64 MiB blob (open + read).
//! - `keyring/wrap_32B`, `keyring/unwrap_32B`.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use storage::audit::AuditEvent;
use storage::{AuditResource, Batch, Record, Store};

#[derive(Serialize, Deserialize)]
struct Item {
    key: String,
    value: String,
}

impl Record for Item {
    const TABLE: &'static str = "bench.item";
    fn key(&self) -> String {
        self.key.clone()
    }
}

fn event(id: u128) -> AuditEvent {
    AuditEvent {
        event_time: storage::audit::now_millis(),
        event_id: format!(
            "{:032x}",
            id.wrapping_mul(0xff51_afd7_ed55_8ccd_c4ce_b9fe_1a85_ec53)
        ),
        event_name: "GetRole".into(),
        event_source: "iam.amazonaws.com".into(),
        username: Some("alice".into()),
        access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
        read_only: true,
        resources: vec![AuditResource {
            resource_type: Some("AWS::IAM::Role".into()),
            resource_name: "role".into(),
        }],
        body: vec![b' '; 600],
    }
}

fn commits(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("commit");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let mut counter = 0u64;
    for load in ["put", "audit", "put+audit"] {
        for writers in [1usize, 8, 64, 256] {
            group.throughput(Throughput::Elements(1));
            group.bench_with_input(BenchmarkId::new(load, writers), &writers, |b, &writers| {
                b.iter_custom(|iters| {
                    let per = (iters as usize).div_ceil(writers);
                    counter += 1;
                    let run = counter;
                    let start = Instant::now();
                    rt.block_on(async {
                        let mut tasks = Vec::new();
                        for w in 0..writers {
                            let store = store.clone();
                            tasks.push(tokio::spawn(async move {
                                for n in 0..per {
                                    let mut batch = Batch::new();
                                    if load != "audit" {
                                        batch.put(&Item {
                                            key: format!("{run}/{w:03}/{n:08}"),
                                            value: "x".repeat(100),
                                        });
                                    }
                                    if load != "put" {
                                        batch.audit(event(
                                            (run as u128) << 64 | (w as u128) << 32 | n as u128,
                                        ));
                                    }
                                    store.commit(batch).await.unwrap();
                                }
                            }));
                        }
                        for t in tasks {
                            t.await.unwrap();
                        }
                    });
                    // Scale to the requested iteration count.
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per * writers) as f64)
                });
            });
        }
    }
    group.finish();
}

fn blobs(c: &mut Criterion) {
    const GIB: u64 = 1 << 30;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let key = storage::keyring::random_key().unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let mut group = c.benchmark_group("blob");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(GIB));
    let write = |size: u64| {
        let mut w = store.blobs().create(&key).unwrap();
        for _ in 0..size >> 20 {
            w.write_all(&chunk).unwrap();
        }
        w.finish().unwrap()
    };
    group.bench_function("write_1GiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let info = write(GIB);
                total += start.elapsed();
                store.blobs().delete(info.id).unwrap();
            }
            total
        })
    });
    let info = write(GIB);
    group.bench_function("read_1GiB", |b| {
        b.iter(|| {
            let r = store.blobs().open(info.id, &key).unwrap();
            let mut n = 0;
            for c in r.read_range(0..GIB).unwrap() {
                n += c.unwrap().len();
            }
            assert_eq!(n as u64, GIB);
        })
    });
    store.blobs().delete(info.id).unwrap();
    let info = write(64 << 20);
    group.throughput(Throughput::Bytes(4096));
    group
        .sample_size(100)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("ranged_get_4KiB", |b| {
        b.iter(|| {
            let r = store.blobs().open(info.id, &key).unwrap();
            let start = (32 << 20) + 1000;
            let mut n = 0;
            for c in r.read_range(start..start + 4096).unwrap() {
                n += c.unwrap().len();
            }
            assert_eq!(n, 4096);
        })
    });
    group.finish();
}

fn keyring(c: &mut Criterion) {
    let k = storage::Keyring::ephemeral().unwrap();
    let wrapped = k.wrap(&[7; 32], b"ctx").unwrap();
    let mut group = c.benchmark_group("keyring");
    group.bench_function("wrap_32B", |b| b.iter(|| k.wrap(&[7; 32], b"ctx").unwrap()));
    group.bench_function("unwrap_32B", |b| {
        b.iter(|| k.unwrap(&wrapped, b"ctx").unwrap())
    });
    group.finish();
}

criterion_group!(benches, commits, blobs, keyring);
criterion_main!(benches);
