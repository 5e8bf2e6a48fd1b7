use serde::{Deserialize, Serialize};
use storage::{Batch, Error, Record, Store, StoreOptions};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    arn: String,
}

impl Record for User {
    const TABLE: &'static str = "iam.user";
    fn key(&self) -> String {
        self.name.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Object {
    bucket: String,
    key: String,
    size: u64,
}

impl Record for Object {
    const TABLE: &'static str = "s3.object";
    fn key(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }
}

fn user(name: &str) -> User {
    User {
        name: name.into(),
        arn: format!("arn:aws:iam::000000000000:user/{name}"),
    }
}

fn exercise(store: &Store) {
    let users = store.table::<User>();
    assert_eq!(users.load_all().unwrap(), vec![]);
    let mut b = Batch::new();
    b.put(&user("alice")).put(&user("bob"));
    store.commit_blocking(b).unwrap();
    assert_eq!(users.get("alice").unwrap(), Some(user("alice")));
    assert_eq!(users.get("carol").unwrap(), None);
    assert_eq!(users.count().unwrap(), 2);

    let mut b = Batch::new();
    b.delete::<User>("alice").put(&user("carol"));
    for (bucket, key) in [("b1", "a/1"), ("b1", "a/2"), ("b1", "b/1"), ("b2", "a/1")] {
        b.put(&Object {
            bucket: bucket.into(),
            key: key.into(),
            size: 1,
        });
    }
    store.commit_blocking(b).unwrap();
    assert_eq!(
        users
            .load_all()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect::<Vec<_>>(),
        ["bob", "carol"]
    );
    let objects = store.table::<Object>();
    let keys = |v: Vec<Object>| v.into_iter().map(|o| o.key()).collect::<Vec<_>>();
    assert_eq!(
        keys(objects.scan_prefix("b1/").unwrap()),
        ["b1/a/1", "b1/a/2", "b1/b/1"]
    );
    assert_eq!(
        keys(objects.scan_prefix("b1/a/").unwrap()),
        ["b1/a/1", "b1/a/2"]
    );
    assert_eq!(
        keys(objects.scan_prefix_after("b1/", Some("b1/a/1"), 1).unwrap()),
        ["b1/a/2"]
    );
    assert_eq!(objects.count().unwrap(), 4);
    // Tables are separate namespaces.
    assert_eq!(users.count().unwrap(), 2);
}

#[test]
fn ephemeral_store_puts_gets_deletes_and_scans() {
    exercise(&Store::ephemeral());
}

#[test]
fn data_dir_store_puts_gets_deletes_scans_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        exercise(&store);
        assert!(matches!(Store::open(dir.path()), Err(Error::Locked(_))));
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.table::<User>().count().unwrap(), 2);
    assert_eq!(store.table::<Object>().count().unwrap(), 4);
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.table::<User>().count().unwrap(), 2);
    assert!(matches!(
        ro.commit_blocking({
            let mut b = Batch::new();
            b.put(&user("x"));
            b
        }),
        Err(Error::ReadOnly)
    ));
}

#[test]
fn async_commits_resolve_once_durable() {
    let store = Store::ephemeral();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..100 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut b = Batch::new();
                b.put(&user(&format!("u{i:03}")));
                store.commit(b).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
    assert_eq!(store.table::<User>().count().unwrap(), 100);
}

#[test]
fn a_wrong_root_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = storage::Keyring::from_root_key(&[1; 32]).unwrap();
    let k2 = storage::Keyring::from_root_key(&[2; 32]).unwrap();
    drop(
        Store::open_with(
            dir.path(),
            StoreOptions {
                keyring: Some(k1.clone()),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let err = Store::open_with(
        dir.path(),
        StoreOptions {
            keyring: Some(k2),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::WrongRootKey(_)), "{err}");
    Store::open_with(
        dir.path(),
        StoreOptions {
            keyring: Some(k1),
            ..Default::default()
        },
    )
    .unwrap();
}

#[test]
fn undecodable_records_are_errors_not_panics() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Other {
        n: u64,
    }
    impl Record for Other {
        const TABLE: &'static str = "iam.user";
        fn key(&self) -> String {
            "alice".into()
        }
    }
    let store = Store::ephemeral();
    let mut b = Batch::new();
    b.put(&Other { n: 1 });
    store.commit_blocking(b).unwrap();
    assert!(matches!(
        store.table::<User>().get("alice"),
        Err(Error::Decode { .. })
    ));
}

/// Reads run on their own connections while the writer commits, on disk and in memory.
#[test]
fn reads_proceed_while_writers_commit() {
    let dir = tempfile::tempdir().unwrap();
    for store in [Store::open(dir.path()).unwrap(), Store::ephemeral()] {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..3 {
            let store = store.clone();
            let stop = stop.clone();
            readers.push(std::thread::spawn(move || {
                let mut reads = 0u64;
                let mut last = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let n = store.table::<User>().load_all().unwrap().len();
                    assert!(n >= last, "a reader went back in time");
                    last = n;
                    store.table::<User>().get("u0001").unwrap();
                    store
                        .audit()
                        .lookup(&storage::audit::LookupQuery::default())
                        .unwrap();
                    reads += 1;
                }
                reads
            }));
        }
        let mut writers = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            writers.push(std::thread::spawn(move || {
                for i in 0..200 {
                    let mut b = Batch::new();
                    b.put(&user(&format!("u{w}{i:03}")));
                    store.commit_blocking(b).unwrap();
                }
            }));
        }
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
        assert_eq!(store.table::<User>().count().unwrap(), 800);
    }
}

/// A batch whose transaction fails gets an error, not a panic; batches that were grouped with it but
/// are fine still commit.
#[test]
fn a_failing_batch_fails_alone_with_an_error() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Doomed {
        key: String,
    }
    impl Record for Doomed {
        const TABLE: &'static str = "doomed";
        fn key(&self) -> String {
            self.key.clone()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .commit_blocking({
            let mut b = Batch::new();
            b.put(&user("before"));
            b
        })
        .unwrap();
    // Make every write to the `doomed` table fail inside SQLite.
    let conn = rusqlite::Connection::open(dir.path().join("perimeter.db")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER doom BEFORE INSERT ON records WHEN NEW.ns = 'doomed' \
         BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
    )
    .unwrap();
    drop(conn);
    let mut pending = Vec::new();
    for i in 0..200 {
        let mut b = Batch::new();
        if i % 10 == 3 {
            b.put(&Doomed { key: i.to_string() });
        }
        b.put(&user(&format!("g{i:03}")));
        pending.push((i, store.submit(b)));
    }
    for (i, p) in pending {
        let result = p.wait();
        if i % 10 == 3 {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Commit(_)), "{err}");
            assert!(err.to_string().contains("disk on fire"), "{err}");
            assert_eq!(
                store.table::<User>().get(&format!("g{i:03}")).unwrap(),
                None
            );
        } else {
            result.unwrap();
            assert!(
                store
                    .table::<User>()
                    .get(&format!("g{i:03}"))
                    .unwrap()
                    .is_some()
            );
        }
    }
    assert_eq!(store.table::<Doomed>().count().unwrap(), 0);
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Store>();
    send_sync::<storage::Keyring>();
    send_sync::<storage::BlobStore>();
    send_sync::<storage::BlobReader>();
    send_sync::<storage::Table<User>>();
    send_sync::<storage::audit::AuditLog>();
    send_sync::<Error>();
    send::<storage::Pending>();
    send::<storage::BlobWriter>();
    // Response bodies stream from a range, and must be both.
    send_sync::<storage::BlobRange>();
    send::<Batch>();
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join("perimeter.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(matches!(
        Store::open_read_only(dir.path()),
        Err(Error::SchemaTooNew { .. })
    ));
}

#[test]
fn a_missing_root_key_is_not_silently_replaced() {
    if std::env::var_os(storage::keyring::ROOT_KEY_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let key = std::fs::read(dir.path().join("root.key")).unwrap();
    std::fs::remove_file(dir.path().join("root.key")).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(Error::InvalidRootKey(_))
    ));
    assert!(!dir.path().join("root.key").exists());
    std::fs::write(dir.path().join("root.key"), key).unwrap();
    Store::open(dir.path()).unwrap();
}

#[test]
fn pending_commits_counts_unacknowledged_batches() {
    let store = Store::ephemeral();
    assert_eq!(store.pending_commits(), 0);
    let pending: Vec<_> = (0..50)
        .map(|i| {
            let mut b = Batch::new();
            b.put(&user(&format!("p{i}")));
            store.submit(b)
        })
        .collect();
    assert!(store.pending_commits() <= 50);
    for p in pending {
        p.wait().unwrap();
    }
    assert_eq!(store.pending_commits(), 0);
}
