//! Crash safety: a child process commits records, audit events and blobs from several threads and async
//! tasks, printing each acknowledgement; the parent SIGKILLs it at a random moment, reopens the data dir
//! and checks that every acknowledged write is there and intact, that nothing is half-visible, and that
//! the audit chain verifies. Repeated over several rounds on the same data dir.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use storage::audit::{AuditEvent, LookupAttribute, LookupQuery};
use storage::{Batch, BlobId, Record, Store};

const CHILD_ENV: &str = "PERIMETER_STORAGE_CRASH_CHILD";
const ROUND_ENV: &str = "PERIMETER_STORAGE_CRASH_ROUND";
const ROUNDS: u32 = 6;

/// Half of a pair always written (and deleted) together with its [`Right`].
#[derive(Debug, Serialize, Deserialize)]
struct Left {
    key: String,
    payload: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Right {
    key: String,
    checksum: String,
}

impl Record for Left {
    const TABLE: &'static str = "crash.left";
    fn key(&self) -> String {
        self.key.clone()
    }
}

impl Record for Right {
    const TABLE: &'static str = "crash.right";
    fn key(&self) -> String {
        self.key.clone()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Object {
    key: String,
    blob: BlobId,
    len: u64,
    data_key: String,
}

impl Record for Object {
    const TABLE: &'static str = "crash.object";
    fn key(&self) -> String {
        self.key.clone()
    }
}

fn payload(key: &str) -> String {
    format!("{key}:").repeat(20)
}

fn checksum(key: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        payload(key).as_bytes(),
    ))
}

fn body(key: &str, len: usize) -> Vec<u8> {
    let seed = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    (0..len)
        .map(|i| seed.as_ref()[i % 32].wrapping_add((i / 32) as u8))
        .collect()
}

fn audit_event(key: &str, name: &str) -> AuditEvent {
    AuditEvent {
        event_time: storage::audit::now_millis(),
        event_id: key.to_string(),
        event_name: name.to_string(),
        event_source: "crash.test".into(),
        username: Some("crash".into()),
        access_key_id: None,
        read_only: false,
        resources: vec![],
        body: format!(r#"{{"eventID":"{key}"}}"#).into_bytes(),
    }
}

fn pair_batch(key: &str) -> Batch {
    let mut b = Batch::new();
    b.put(&Left {
        key: key.to_string(),
        payload: payload(key),
    })
    .put(&Right {
        key: key.to_string(),
        checksum: checksum(key),
    })
    .audit(audit_event(key, "PutPair"));
    b
}

fn delete_batch(key: &str) -> Batch {
    let mut b = Batch::new();
    b.delete::<Left>(key)
        .delete::<Right>(key)
        .audit(audit_event(&format!("{key}/delete"), "DeletePair"));
    b
}

fn ack(line: String) {
    // One write per line: the parent never sees half a line from a live child.
    println!("{line}");
}

/// The child's work; runs until killed (or a safety timeout).
fn child(dir: &Path, round: u32) {
    let store = Store::open_with(
        dir,
        storage::StoreOptions {
            audit_digest_every: 50,
            ..Default::default()
        },
    )
    .unwrap();
    // A line of its own: the test harness has printed `test crash_child ... ` without a newline.
    ack(format!("\nready {round}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut threads = Vec::new();
    // Blocking writers: pairs, deleting every third one after it was acknowledged.
    for w in 0..3 {
        let store = store.clone();
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let key = format!("r{round}/t{w}/{n:06}");
                store.commit_blocking(pair_batch(&key)).unwrap();
                ack(format!("ack put {key}"));
                if n.is_multiple_of(3) {
                    ack(format!("intent del {key}"));
                    store.commit_blocking(delete_batch(&key)).unwrap();
                    ack(format!("ack del {key}"));
                }
                n += 1;
            }
        }));
    }
    // Blob writers: blob first, then the metadata referring to it; some deleted afterwards.
    for w in 0..2 {
        let store = store.clone();
        threads.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let key = format!("r{round}/b{w}/{n:06}");
                let len = [0, 10, 70_000, 200_000, 65_536][(n % 5) as usize];
                let data_key = storage::keyring::random_key().unwrap();
                let mut writer = store.blobs().create(&data_key).unwrap();
                writer.write_all(&body(&key, len)).unwrap();
                let info = writer.finish().unwrap();
                let mut b = Batch::new();
                b.put(&Object {
                    key: key.clone(),
                    blob: info.id,
                    len: info.len,
                    data_key: hex::encode(*data_key),
                })
                .audit(audit_event(&key, "PutObject"));
                store.commit_blocking(b).unwrap();
                ack(format!("ack obj {key}"));
                if n % 4 == 1 {
                    ack(format!("intent delobj {key}"));
                    let mut b = Batch::new();
                    b.delete::<Object>(&key)
                        .audit(audit_event(&format!("{key}/delete"), "DeleteObject"));
                    store.commit_blocking(b).unwrap();
                    store.blobs().delete(info.id).unwrap();
                    ack(format!("ack delobj {key}"));
                }
                n += 1;
            }
        }));
    }
    // Async writers on a runtime of their own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let key = format!("r{round}/a{w}/{n:06}");
                    store.commit(pair_batch(&key)).await.unwrap();
                    ack(format!("ack put {key}"));
                    n += 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    for t in threads {
        t.join().unwrap();
    }
}

/// Not a test of its own: the body of the child process (does nothing unless spawned by the crash test).
#[test]
fn crash_child() {
    if let (Ok(dir), Ok(round)) = (std::env::var(CHILD_ENV), std::env::var(ROUND_ENV)) {
        child(Path::new(&dir), round.parse().unwrap());
    }
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

#[derive(Default)]
struct Acked {
    puts: HashSet<String>,
    dels: HashSet<String>,
    objects: HashSet<String>,
    deleted_objects: HashSet<String>,
    /// Deletes that were started: until acknowledged, either outcome is correct.
    delete_intents: HashSet<String>,
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked = Acked::default();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child has the store open, then let it run for a random while.
        let mut lines = Vec::new();
        while !lines.iter().any(|l: &String| l.starts_with("ready ")) {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        let pause = Duration::from_millis(50 + random_below(700));
        std::thread::sleep(pause);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        assert!(
            lines.iter().any(|l| l.starts_with("ready ")),
            "round {round}: the child did not start"
        );
        let mut this_round = 0;
        for line in &lines {
            let mut parts = line.splitn(3, ' ');
            let intent = match parts.next() {
                Some("ack") => false,
                Some("intent") => true,
                _ => continue,
            };
            let (Some(kind), Some(key)) = (parts.next(), parts.next()) else {
                continue;
            };
            this_round += 1;
            let set = match kind {
                "del" if intent => &mut acked.delete_intents,
                "delobj" if intent => &mut acked.delete_intents,
                "put" => &mut acked.puts,
                "del" => &mut acked.dels,
                "obj" => &mut acked.objects,
                "delobj" => &mut acked.deleted_objects,
                other => panic!("unknown ack `{other}`"),
            };
            set.insert(key.to_string());
        }
        assert!(
            this_round > 0,
            "round {round}: nothing acknowledged in {pause:?}"
        );
        check(dir.path(), &acked, round);
    }
}

fn check(dir: &Path, acked: &Acked, round: u32) {
    let store = Store::open(dir).unwrap();
    let lefts: HashMap<String, Left> = store
        .table::<Left>()
        .load_all()
        .unwrap()
        .into_iter()
        .map(|l| (l.key.clone(), l))
        .collect();
    let rights: HashMap<String, Right> = store
        .table::<Right>()
        .load_all()
        .unwrap()
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect();
    // Nothing half-visible: pairs are whole, and intact.
    let left_keys: HashSet<&String> = lefts.keys().collect();
    let right_keys: HashSet<&String> = rights.keys().collect();
    assert_eq!(
        left_keys, right_keys,
        "round {round}: a pair is half-visible"
    );
    for (key, l) in &lefts {
        assert_eq!(l.payload, payload(key));
        assert_eq!(rights[key].checksum, checksum(key));
    }
    // Every acknowledged put is present unless a delete of it was started.
    for key in &acked.puts {
        if !acked.delete_intents.contains(key) {
            assert!(
                lefts.contains_key(key),
                "round {round}: acknowledged `{key}` lost"
            );
        }
    }
    for key in &acked.dels {
        assert!(
            !lefts.contains_key(key),
            "round {round}: acknowledged delete of `{key}` lost"
        );
    }
    // Objects: every one whose metadata is committed reads back intact.
    let objects = store.table::<Object>().load_all().unwrap();
    let names: HashSet<&String> = objects.iter().map(|o| &o.key).collect();
    for key in &acked.objects {
        if !acked.delete_intents.contains(key) {
            assert!(
                names.contains(key),
                "round {round}: acknowledged object `{key}` lost"
            );
        }
    }
    for key in &acked.deleted_objects {
        assert!(
            !names.contains(key),
            "round {round}: acknowledged delete of `{key}` lost"
        );
    }
    let mut live = HashSet::new();
    for o in &objects {
        let mut data_key = [0u8; 32];
        hex::decode_to_slice(&o.data_key, &mut data_key).unwrap();
        let reader = store.blobs().open(o.blob, &data_key).unwrap();
        assert_eq!(reader.len(), o.len);
        assert_eq!(
            reader.read_all().unwrap(),
            body(&o.key, o.len as usize),
            "{}",
            o.key
        );
        live.insert(o.blob);
    }
    // Orphans (blobs written but never referenced, or deleted records' blobs) are swept.
    store.blobs().sweep(|id| live.contains(id)).unwrap();
    let listed: HashSet<BlobId> = store.blobs().list().unwrap().into_iter().collect();
    assert_eq!(listed, live, "round {round}");
    // The audit trail verifies and records every acknowledged change.
    let report = store.audit().verify().unwrap();
    assert!(report.is_ok(), "round {round}: {report:?}");
    let log = store.audit();
    for key in acked.puts.iter().chain(&acked.objects).take(200) {
        let page = log
            .lookup(&LookupQuery {
                attributes: vec![LookupAttribute::EventId(key.clone())],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            page.events.len(),
            1,
            "round {round}: audit event for `{key}`"
        );
    }
}
