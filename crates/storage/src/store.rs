//! The store: opening a data directory (or an in-memory instance), typed tables, batches and commits.

use std::fs;
use std::marker::PhantomData;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::audit::{AuditEvent, AuditLog, Queued};
use crate::blob::BlobStore;
use crate::checkpoint::Checkpointer;
use crate::completion::{self, Pending};
use crate::error::{Error, Result};
use crate::keyring::{Keyring, RootKeySource};
use crate::schema;
use crate::writer::{ChainState, Job, Writer};

/// File name of the database inside a data directory.
pub const DB_FILE: &str = "perimeter.db";
/// File name of the lock held by the process that has a data directory open for writing.
pub const LOCK_FILE: &str = "LOCK";
/// Directory of the blob store inside a data directory.
pub const BLOB_DIR: &str = "blobs";

const KEY_CHECK_AAD: &[u8] = b"perimeter/keyring/check/v1";
const KEY_CHECK_VALUE: &[u8] = b"perimeter root key check";
const IDLE_READERS: usize = 8;

/// A value kept in a table of the store.
///
/// Records are stored as JSON under `(TABLE, key())`. Keys are compared bytewise (UTF-8), which is what
/// [`Table::scan_prefix`] relies on: build composite keys so that a prefix selects a group, e.g.
/// `"<bucket>/<object key>"`.
pub trait Record: Serialize + DeserializeOwned + Send + 'static {
    /// The table (namespace) name, unique per record type, e.g. `"iam.user"`.
    const TABLE: &'static str;
    /// The record's key within its table.
    fn key(&self) -> String;
}

/// Options for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Seal a signed audit digest after this many events (default 1000).
    pub audit_digest_every: u64,
    /// Seal a signed audit digest when events have waited this long without one (default 60 s).
    pub audit_digest_interval: Duration,
    /// Use this keyring instead of `PERIMETER_ROOT_KEY` / `<data-dir>/root.key` (or a random one).
    pub keyring: Option<Keyring>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            audit_digest_every: 1000,
            audit_digest_interval: Duration::from_secs(60),
            keyring: None,
        }
    }
}

/// The embedded database, keyring and blob store of one Perimeter instance. Cheap to clone; all clones
/// share one writer thread. The writer stops once the last clone is dropped, after committing what was
/// already submitted.
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.shared.data_dir)
            .field("read_only", &self.shared.tx.is_none())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    data_dir: Option<PathBuf>,
    tx: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    checkpointer: Option<Checkpointer>,
    readers: Readers,
    keyring: Keyring,
    root_key_source: RootKeySource,
    blobs: BlobStore,
    pub(crate) audit_head: Arc<watch::Sender<u64>>,
    in_flight: Arc<AtomicUsize>,
    _lock: Option<fs::File>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued and exit; wait for it so the files are
        // closed (and the lock released) when the last Store is gone.
        self.tx.take();
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
        self.checkpointer.take();
    }
}

type Opener = Box<dyn Fn() -> Result<Connection> + Send + Sync>;

/// Read connections, separate from the writer's: with WAL, reading never blocks the writer.
struct Readers {
    open: Opener,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => (self.open)()?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

impl Store {
    /// Opens (creating if needed) the data directory `dir` for reading and writing.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// [`Store::open`] with options.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io(&dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir)),
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        let db_path = dir.join(DB_FILE);
        let (keyring, source) = match options.keyring.clone() {
            Some(k) => (k, RootKeySource::Explicit),
            None => {
                // Never mint a new root key for existing data: it could not decrypt anything.
                if db_path.exists()
                    && std::env::var_os(crate::keyring::ROOT_KEY_ENV).is_none()
                    && !dir.join(crate::keyring::ROOT_KEY_FILE).exists()
                {
                    return Err(Error::InvalidRootKey(format!(
                        "`{}` holds data but no `{}`, and `{}` is not set",
                        dir.display(),
                        crate::keyring::ROOT_KEY_FILE,
                        crate::keyring::ROOT_KEY_ENV
                    )));
                }
                Keyring::load_or_create(&dir)?
            }
        };
        let mut conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure_writer(&conn, true)?;
        schema::migrate(&mut conn)?;
        check_root_key(&conn, &keyring, &dir)?;
        let blobs = BlobStore::open_dir(dir.join(BLOB_DIR))?;
        // The database and WAL files may have just been created: make their directory entries durable.
        crate::keyring::sync_dir(&dir)?;
        let reset_wanted = Arc::new(AtomicBool::new(false));
        let checkpointer = Checkpointer::spawn(db_path.clone(), reset_wanted.clone())?;
        let reader_path = db_path.clone();
        let open: Opener = Box::new(move || {
            let c = Connection::open_with_flags(
                &reader_path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure_reader(&c)?;
            Ok(c)
        });
        Store::start(
            conn,
            open,
            keyring,
            source,
            blobs,
            Some(dir),
            Some(lock),
            Some((checkpointer, reset_wanted)),
            options,
        )
    }

    /// Opens an existing data directory for reading only (e.g. `perimeter audit verify` while the server
    /// runs). Takes no lock; [`Store::submit`] fails with [`Error::ReadOnly`]. The root key must exist.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_read_only_with(dir, StoreOptions::default())
    }

    /// [`Store::open_read_only`] with options (only `keyring` is used).
    pub fn open_read_only_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        let db_path = dir.join(DB_FILE);
        if !db_path.exists() {
            return Err(Error::io(
                &db_path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no database"),
            ));
        }
        let (keyring, source) = match options.keyring.clone() {
            Some(k) => (k, RootKeySource::Explicit),
            None => {
                if std::env::var_os(crate::keyring::ROOT_KEY_ENV).is_none()
                    && !dir.join(crate::keyring::ROOT_KEY_FILE).exists()
                {
                    return Err(Error::InvalidRootKey(format!(
                        "no `{}` in `{}` and `{}` is not set",
                        crate::keyring::ROOT_KEY_FILE,
                        dir.display(),
                        crate::keyring::ROOT_KEY_ENV
                    )));
                }
                Keyring::load_or_create(&dir)?
            }
        };
        let reader_path = db_path.clone();
        let open: Opener = Box::new(move || {
            let c = Connection::open_with_flags(
                &reader_path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure_reader(&c)?;
            Ok(c)
        });
        let readers = Readers {
            open,
            idle: Mutex::new(Vec::new()),
        };
        readers.with(|c| {
            let found: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if found > schema::VERSION {
                return Err(Error::SchemaTooNew {
                    found,
                    supported: schema::VERSION,
                });
            }
            check_root_key(c, &keyring, &dir)
        })?;
        let head = readers.with(crate::audit::last_seq)?;
        let blobs = BlobStore::open_dir_read_only(dir.join(BLOB_DIR));
        Ok(Store {
            shared: Arc::new(Shared {
                data_dir: Some(dir),
                tx: None,
                writer: None,
                checkpointer: None,
                readers,
                keyring,
                root_key_source: source,
                blobs,
                audit_head: Arc::new(watch::Sender::new(head)),
                in_flight: Arc::default(),
                _lock: None,
            }),
        })
    }

    /// An in-memory store (SQLite in memory, blobs in memory, a random root key): the same code paths as a
    /// data directory; everything is lost when the last clone is dropped.
    ///
    /// # Panics
    /// Only if the operating system refuses a thread or randomness; use [`Store::try_ephemeral`] to get
    /// an error instead.
    pub fn ephemeral() -> Store {
        match Store::try_ephemeral(StoreOptions::default()) {
            Ok(s) => s,
            Err(e) => panic!("cannot create an in-memory store: {e}"),
        }
    }

    /// [`Store::ephemeral`] with options, returning errors.
    pub fn try_ephemeral(options: StoreOptions) -> Result<Store> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut tag = [0u8; 8];
        aws_lc_rs::rand::fill(&mut tag)?;
        let uri = format!(
            "file:/perimeter-{}-{}-{}?vfs=memdb",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            hex::encode(tag)
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&uri, flags)?;
        configure_writer(&conn, false)?;
        schema::migrate(&mut conn)?;
        let (keyring, source) = match options.keyring.clone() {
            Some(k) => (k, RootKeySource::Explicit),
            None => (Keyring::ephemeral()?, RootKeySource::Ephemeral),
        };
        check_root_key(&conn, &keyring, Path::new(":memory:"))?;
        let open: Opener = Box::new(move || {
            let c = Connection::open_with_flags(
                &uri,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure_reader(&c)?;
            Ok(c)
        });
        Store::start(
            conn,
            open,
            keyring,
            source,
            BlobStore::in_memory(),
            None,
            None,
            None,
            options,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        conn: Connection,
        open: Opener,
        keyring: Keyring,
        root_key_source: RootKeySource,
        blobs: BlobStore,
        data_dir: Option<PathBuf>,
        lock: Option<fs::File>,
        checkpoints: Option<(Checkpointer, Arc<AtomicBool>)>,
        options: StoreOptions,
    ) -> Result<Store> {
        let chain = ChainState::load(&conn)?;
        let audit_head = Arc::new(watch::Sender::new(chain.seq));
        let (tx, rx) = mpsc::channel();
        let (checkpointer, reset_wanted) = match checkpoints {
            Some((c, flag)) => (Some(c), Some(flag)),
            None => (None, None),
        };
        let writer = Writer::new(
            conn,
            rx,
            keyring.clone(),
            chain,
            audit_head.clone(),
            reset_wanted,
            &options,
        );
        let handle = std::thread::Builder::new()
            .name("perimeter-storage-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::io(data_dir.clone().unwrap_or_default(), e))?;
        Ok(Store {
            shared: Arc::new(Shared {
                data_dir,
                tx: Some(tx),
                writer: Some(handle),
                checkpointer,
                readers: Readers {
                    open,
                    idle: Mutex::new(Vec::new()),
                },
                keyring,
                root_key_source,
                blobs,
                audit_head,
                in_flight: Arc::default(),
                _lock: lock,
            }),
        })
    }

    /// The typed view of one table.
    pub fn table<T: Record>(&self) -> Table<T> {
        Table {
            store: self.clone(),
            _record: PhantomData,
        }
    }

    /// Enqueues `batch` now and returns a [`Pending`] that resolves once it is durable. Batches are
    /// committed in the order they were submitted.
    pub fn submit(&self, batch: Batch) -> Pending {
        if let Some(e) = batch.error {
            return Pending::ready(Err(e));
        }
        if batch.ops.is_empty() && batch.audit.is_empty() {
            return Pending::ready(Ok(()));
        }
        let Some(tx) = &self.shared.tx else {
            return Pending::ready(Err(Error::ReadOnly));
        };
        let (notifier, pending) = completion::pair(&self.shared.in_flight);
        let awaited = !batch.ops.is_empty();
        // If the writer is gone the job (and its notifier) is dropped, resolving it with `Closed`.
        let _ = tx.send(Job::Commit { batch, notifier });
        if awaited {
            self.wake_writer();
        }
        pending
    }

    /// Ends the writer's wait for more audit records: a job somebody waits for is queued.
    fn wake_writer(&self) {
        if let Some(handle) = &self.shared.writer {
            handle.thread().unpark();
        }
    }

    /// Commits `batch` durably: `store.commit(batch).await?`. The batch is enqueued when `commit` is
    /// called, not when the future is first polled.
    pub fn commit(&self, batch: Batch) -> Pending {
        self.submit(batch)
    }

    /// Batches submitted and not yet durable (or failed). Callers that submit without waiting (e.g. audit
    /// events of read-only calls) can use it for backpressure: the queue itself is unbounded.
    pub fn pending_commits(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Commits `batch` durably, blocking the calling thread.
    pub fn commit_blocking(&self, batch: Batch) -> Result<()> {
        self.submit(batch).wait()
    }

    /// Seals a signed digest over every audit event not yet covered by one, and waits until it is
    /// durable (e.g. before a clean shutdown or an export).
    pub fn seal_audit_digest(&self) -> Pending {
        let Some(tx) = &self.shared.tx else {
            return Pending::ready(Err(Error::ReadOnly));
        };
        let (notifier, pending) = completion::pair(&self.shared.in_flight);
        let _ = tx.send(Job::SealDigest { notifier });
        self.wake_writer();
        pending
    }

    /// The instance keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.shared.keyring
    }

    /// Where the root key came from.
    pub fn root_key_source(&self) -> RootKeySource {
        self.shared.root_key_source
    }

    /// The encrypted blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.shared.blobs
    }

    /// The audit trail.
    pub fn audit(&self) -> AuditLog {
        AuditLog::new(self.clone())
    }

    /// The data directory, `None` when ephemeral.
    pub fn data_dir(&self) -> Option<&Path> {
        self.shared.data_dir.as_deref()
    }

    /// Whether everything lives in memory.
    pub fn is_ephemeral(&self) -> bool {
        self.shared.data_dir.is_none()
    }

    /// Whether the store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.shared.tx.is_none()
    }

    pub(crate) fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        self.shared.readers.with(f)
    }
}

fn configure_writer(conn: &Connection, on_disk: bool) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    if on_disk {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Unsupported(format!(
                "cannot enable WAL journal mode (got `{mode}`)"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run in the background (see `checkpoint`).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "cache_size", -16384)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn configure_reader(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(())
}

/// Refuses to run a data directory with a root key other than the one it was created with.
fn check_root_key(conn: &Connection, keyring: &Keyring, dir: &Path) -> Result<()> {
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match stored {
        Some(value) => match keyring.unwrap(&value, KEY_CHECK_AAD) {
            Ok(v) if v.as_slice() == KEY_CHECK_VALUE => Ok(()),
            _ => Err(Error::WrongRootKey(dir.to_path_buf())),
        },
        None => {
            let value = keyring.wrap(KEY_CHECK_VALUE, KEY_CHECK_AAD)?;
            conn.execute(
                "INSERT INTO meta (name, value) VALUES ('key_check', ?1)",
                params![value],
            )?;
            Ok(())
        }
    }
}

/// One put or delete.
pub(crate) struct Op {
    pub(crate) table: &'static str,
    pub(crate) key: String,
    /// `None` deletes.
    pub(crate) value: Option<Vec<u8>>,
}

/// An atomic group of changes: puts and deletes across tables plus the audit events that record them.
/// Either all of it becomes durable or none of it.
#[derive(Default)]
pub struct Batch {
    pub(crate) ops: Vec<Op>,
    pub(crate) audit: Vec<Queued>,
    pub(crate) error: Option<Error>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("ops", &self.ops.len())
            .field("audit", &self.audit.len())
            .finish()
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Inserts or replaces `record` under its key. An encoding failure is reported by the commit.
    pub fn put<T: Record>(&mut self, record: &T) -> &mut Batch {
        match serde_json::to_vec(record) {
            Ok(value) => self.ops.push(Op {
                table: T::TABLE,
                key: record.key(),
                value: Some(value),
            }),
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(Error::Encode {
                        table: T::TABLE,
                        message: e.to_string(),
                    });
                }
            }
        }
        self
    }

    /// Deletes the record of type `T` with `key` (no error if absent).
    pub fn delete<T: Record>(&mut self, key: &str) -> &mut Batch {
        self.ops.push(Op {
            table: T::TABLE,
            key: key.to_string(),
            value: None,
        });
        self
    }

    /// Appends an audit event, committed in the same transaction as the rest of the batch.
    /// The event is packed for storage here, on the caller's thread, not on the writer's.
    pub fn audit(&mut self, event: AuditEvent) -> &mut Batch {
        match Queued::new(event) {
            Ok(q) => {
                // Most batches carry one record: room for exactly that, not the usual four.
                if self.audit.capacity() == 0 {
                    self.audit.reserve_exact(1);
                }
                self.audit.push(q)
            }
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(e);
                }
            }
        }
        self
    }

    /// Number of puts, deletes and audit events.
    pub fn len(&self) -> usize {
        self.ops.len() + self.audit.len()
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Typed access to the records of one table. Reads use their own connections and never block the writer;
/// they are blocking calls (use `spawn_blocking` from async code when a read may be large).
pub struct Table<T> {
    store: Store,
    _record: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        Table {
            store: self.store.clone(),
            _record: PhantomData,
        }
    }
}

impl<T: Record> Table<T> {
    /// The record with `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<T>> {
        self.store.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT value FROM records WHERE ns = ?1 AND key = ?2")?;
            let value: Option<Vec<u8>> = stmt
                .query_row(params![T::TABLE, key.as_bytes()], |r| r.get(0))
                .optional()?;
            value.map(|v| decode::<T>(key.as_bytes(), &v)).transpose()
        })
    }

    /// Every record of the table, in key order (for loading working state at startup).
    pub fn load_all(&self) -> Result<Vec<T>> {
        self.scan_prefix("")
    }

    /// Every record whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &str) -> Result<Vec<T>> {
        self.scan_prefix_after(prefix, None, usize::MAX)
    }

    /// Up to `limit` records whose key starts with `prefix` and is greater than `after`, in key order
    /// (pagination: pass the last key returned).
    pub fn scan_prefix_after(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<T>> {
        let lower = prefix.as_bytes();
        let upper = prefix_end(lower);
        let after = after.map(str::as_bytes).unwrap_or(&[]);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.store.read(|c| {
            let mut out = Vec::new();
            let mut push = |row: &rusqlite::Row<'_>| -> Result<()> {
                let key: Vec<u8> = row.get(0)?;
                let value: Vec<u8> = row.get(1)?;
                out.push(decode::<T>(&key, &value)?);
                Ok(())
            };
            match &upper {
                Some(upper) => {
                    let mut stmt = c.prepare_cached(
                        "SELECT key, value FROM records WHERE ns = ?1 AND key >= ?2 AND key < ?3 \
                         AND key > ?4 ORDER BY key LIMIT ?5",
                    )?;
                    let mut rows = stmt.query(params![T::TABLE, lower, upper, after, limit])?;
                    while let Some(row) = rows.next()? {
                        push(row)?;
                    }
                }
                None => {
                    let mut stmt = c.prepare_cached(
                        "SELECT key, value FROM records WHERE ns = ?1 AND key >= ?2 \
                         AND key > ?3 ORDER BY key LIMIT ?4",
                    )?;
                    let mut rows = stmt.query(params![T::TABLE, lower, after, limit])?;
                    while let Some(row) = rows.next()? {
                        push(row)?;
                    }
                }
            }
            Ok(out)
        })
    }

    /// Number of records in the table.
    pub fn count(&self) -> Result<u64> {
        self.store.read(|c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM records WHERE ns = ?1")?
                .query_row(params![T::TABLE], |r| r.get(0))?;
            Ok(n as u64)
        })
    }
}

fn decode<T: Record>(key: &[u8], value: &[u8]) -> Result<T> {
    serde_json::from_slice(value).map_err(|e| Error::Decode {
        table: T::TABLE,
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

/// The smallest byte string greater than every string starting with `prefix`; `None` when unbounded.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
