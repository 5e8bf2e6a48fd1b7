//! Perimeter's storage: the embedded database behind typed repositories, the audit trail, the instance
//! keyring and the encrypted blob store.
//!
//! Services keep their working state in memory (loaded at startup with [`Table::load_all`]) and write
//! through to the [`Store`]: every change is a [`Batch`] of puts and deletes, optionally with the audit
//! events that record it, and [`Store::commit`] returns only once the batch is durable on disk. One writer
//! thread owns the write connection and commits every batch queued while the previous `fsync` ran in a
//! single transaction (group commit), so durable throughput grows with the number of concurrent callers.
//!
//! Ordering: [`Store::submit`] enqueues the batch at the moment it is called and returns a [`Pending`]
//! that resolves once the batch is durable. A service that mutates in-memory state under a lock should
//! submit while still holding the lock and await the [`Pending`] after releasing it: batches are then
//! committed in the same order as the in-memory changes.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use storage::{Batch, Record, Store};
//!
//! #[derive(Serialize, Deserialize)]
//! struct User { name: String, arn: String }
//!
//! impl Record for User {
//!     const TABLE: &'static str = "iam.user";
//!     fn key(&self) -> String { self.name.clone() }
//! }
//!
//! # fn main() -> storage::Result<()> {
//! let store = Store::ephemeral(); // or Store::open("perimeter-data")?
//! let users: Vec<User> = store.table::<User>().load_all()?; // working state, at startup
//!
//! let mut batch = Batch::new();
//! batch.put(&User { name: "alice".into(), arn: "arn:aws:iam::000000000000:user/alice".into() });
//! store.commit_blocking(batch)?; // or `store.submit(batch).await?` from async code
//!
//! // Secrets are wrapped under the root key before they are stored.
//! let wrapped = store.keyring().wrap(b"secret access key", b"iam:access-key:AKIA...")?;
//! let plain = store.keyring().unwrap(&wrapped, b"iam:access-key:AKIA...")?;
//!
//! // Object bodies go to the blob store, encrypted under a data key.
//! let data_key = storage::keyring::random_key()?;
//! let mut w = store.blobs().create(&data_key)?;
//! w.write_all(b"hello")?;
//! let blob = w.finish()?; // durable; now commit the metadata that refers to `blob.id`
//! let body = store.blobs().open(blob.id, &data_key)?.read_all()?;
//! # assert_eq!(body, b"hello"); assert_eq!(&plain[..], b"secret access key"); let _ = users;
//! # Ok(())
//! # }
//! ```
//!
//! Layout of a data directory:
//!
//! | path | contents |
//! |---|---|
//! | `perimeter.db` (+ `-wal`, `-shm`) | SQLite, WAL, `synchronous=FULL`: records, audit trail, digests |
//! | `root.key` | the instance root key (base64, mode 0600) unless `PERIMETER_ROOT_KEY` is set |
//! | `blobs/xx/<id>` | encrypted object bodies, AES-256-GCM in 64 KiB segments |
//! | `LOCK` | held by the process that has the directory open for writing |

#![forbid(unsafe_code)]

pub mod audit;
pub mod blob;
mod checkpoint;
mod completion;
mod error;
pub mod fasthash;
pub mod fuzzing;
pub mod keyring;
mod large_blob;
mod lz4;
mod packed;
mod schema;
mod store;
mod writer;

pub use audit::{AuditEvent, AuditLog, AuditResource, StoredEvent};
pub use blob::{BlobId, BlobInfo, BlobRange, BlobReader, BlobStore, BlobWriter};
pub use completion::Pending;
pub use error::{Error, Result};
pub use keyring::Keyring;
pub use store::{Batch, Record, Store, StoreOptions, Table};
