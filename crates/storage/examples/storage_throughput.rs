//! Measures durable commit throughput at several concurrencies and blob write/read throughput with peak
//! RSS.
//!
//! ```text
//! cargo run --release -p storage --example storage_throughput -- commits [put|audit|put+audit] [WRITERS...]
//! cargo run --release -p storage --example storage_throughput -- memory  [put|audit|put+audit] [WRITERS...]
//! cargo run --release -p storage --example storage_throughput -- blobs   [MiB]
//! ```
//!
//! (`memory`: the commit loads against an ephemeral store, i.e. without `fsync`: the CPU cost alone.)
//! Runs in a temporary data dir under `$TMPDIR`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use storage::audit::AuditEvent;
use storage::{Batch, Record, Store};

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

#[derive(Clone, Copy, PartialEq)]
enum Load {
    Put,
    PutAndAudit,
    Audit,
}

fn batch(w: usize, n: usize, load: Load) -> Batch {
    let key = format!("w{w:03}/{n:08}");
    let mut b = Batch::new();
    if load != Load::Audit {
        b.put(&Item {
            value: "x".repeat(100),
            key: key.clone(),
        });
    }
    if load != Load::Put {
        b.audit(AuditEvent {
            event_time: storage::audit::now_millis(),
            event_id: format!(
                "{:032x}",
                (w as u128 * 0x9e37_79b9_7f4a_7c15 + n as u128).wrapping_mul(0xff51_afd7_ed55_8ccd)
            ),
            event_name: "GetRole".into(),
            event_source: "iam.amazonaws.com".into(),
            username: Some("alice".into()),
            access_key_id: Some("AKIAEXAMPLE".into()),
            read_only: true,
            resources: vec![storage::AuditResource {
                resource_type: Some("AWS::IAM::Role".into()),
                resource_name: "role".into(),
            }],
            body: vec![b'{'; 600],
        });
    }
    b
}

fn commits(store: &Store, concurrency: usize, total: usize, load: Load) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let per = total / concurrency;
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..per {
                    store.commit(batch(w, n, load)).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    (per * concurrency) as f64 / start.elapsed().as_secs_f64()
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn blobs(dir: &std::path::Path, mib: usize) {
    let store = Store::open(dir).unwrap();
    let key = storage::keyring::random_key().unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let size = (mib as u64) << 20;
    for round in 0..3 {
        let start = Instant::now();
        let mut w = store.blobs().create(&key).unwrap();
        for _ in 0..mib {
            w.write_all(&chunk).unwrap();
        }
        let written = start.elapsed();
        let info = w.finish().unwrap();
        let write = start.elapsed();
        let start = Instant::now();
        let r = store.blobs().open(info.id, &key).unwrap();
        let mut n = 0u64;
        for c in r.read_range(0..info.len).unwrap() {
            n += c.unwrap().len() as u64;
        }
        assert_eq!(n, size);
        let read = start.elapsed();
        // The same read with the blob's pages evicted from the page cache first.
        let hex = info.id.to_string();
        let path = dir.join("blobs").join(&hex[..2]).join(&hex);
        let file = std::fs::File::open(&path).unwrap();
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        let start = Instant::now();
        let mut n = 0u64;
        for c in r.read_range(0..info.len).unwrap() {
            n += c.unwrap().len() as u64;
        }
        assert_eq!(n, size);
        let cold = start.elapsed();
        println!(
            "blob {mib} MiB round {round}: write {:.2} GB/s ({:.0} ms encrypting and writing, {:.0} ms fsync), read {:.2} GB/s (from disk {:.2} GB/s), peak RSS {:.1} MiB",
            gbps(size, write),
            written.as_secs_f64() * 1000.0,
            (write - written).as_secs_f64() * 1000.0,
            gbps(size, read),
            gbps(size, cold),
            peak_rss_mib()
        );
        store.blobs().delete(info.id).unwrap();
    }
}

fn gbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let what = args.first().cloned().unwrap_or_else(|| "all".into());
    // commits|memory: optional load (put, audit, put+audit) and writer counts; blobs: MiB.
    let loads: Vec<Load> = match args.get(1).map(String::as_str) {
        Some("put") => vec![Load::Put],
        Some("audit") => vec![Load::Audit],
        Some("put+audit") => vec![Load::PutAndAudit],
        _ => vec![Load::Put, Load::Audit, Load::PutAndAudit],
    };
    let mut writers: Vec<usize> = args.iter().skip(2).filter_map(|a| a.parse().ok()).collect();
    if writers.is_empty() {
        writers = vec![1, 8, 64, 256];
    }
    let dir = tempfile::tempdir().unwrap();
    if what == "commits" || what == "memory" || what == "all" {
        let store = if what == "memory" {
            Store::ephemeral()
        } else {
            Store::open(dir.path().join("commits")).unwrap()
        };
        for load in loads {
            let label = match load {
                Load::Put => "1 put (100 B value)",
                Load::Audit => "1 audit event (600 B)",
                Load::PutAndAudit => "1 put + 1 audit event",
            };
            for &concurrency in &writers {
                let total = if concurrency == 1 { 2_000 } else { 100_000 };
                let rate = commits(&store, concurrency, total, load);
                println!("durable commits of {label}, {concurrency:>3} writers: {rate:>7.0} /s");
            }
        }
    }
    if what == "blobs" || what == "all" {
        let mib = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
        blobs(&dir.path().join("blobs"), mib);
    }
}
