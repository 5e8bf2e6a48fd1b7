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
pub mod keyring;
mod schema;
mod store;
mod writer;

pub use audit::{AuditEvent, AuditLog, AuditResource, StoredEvent};
pub use blob::{BlobId, BlobInfo, BlobRange, BlobReader, BlobStore, BlobWriter};
pub use completion::Pending;
pub use error::{Error, Result};
pub use keyring::Keyring;
pub use store::{Batch, Record, Store, StoreOptions, Table};
