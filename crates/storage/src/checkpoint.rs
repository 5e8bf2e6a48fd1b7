//! Background WAL checkpoints.
//!
//! SQLite's automatic checkpoint runs inside the committing transaction, so every few thousand pages one
//! group of callers would wait for pages to be copied into the database file and that file to be
//! `fsync`ed. Instead the writer disables automatic checkpoints and this thread, on a connection of its
//! own, runs passive checkpoints every [`INTERVAL`]; they proceed concurrently with commits. A WAL can only
//! restart from its beginning (so that commits overwrite blocks instead of growing the file) after a
//! checkpoint that covers all of it; once the WAL passes [`RESET_FRAMES`] the checkpointer asks the writer
//! to run one between two groups, which is cheap because the background checkpoints did almost all the
//! copying already.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

const INTERVAL: Duration = Duration::from_millis(100);
/// WAL size (frames) past which the writer should checkpoint so the WAL can restart.
const RESET_FRAMES: i64 = 4096;

pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(db_path: PathBuf, reset_wanted: Arc<AtomicBool>) -> Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            &db_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("perimeter-storage-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    match passive_checkpoint(&conn) {
                        Ok(frames) if frames >= RESET_FRAMES => {
                            reset_wanted.store(true, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::debug!(error = %e, "background checkpoint skipped"),
                    }
                }
            })
            .map_err(|e| Error::io(&db_path, e))?;
        Ok(Checkpointer {
            stop: Some(stop),
            handle: Some(handle),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Runs a passive checkpoint; returns the number of frames in the WAL.
pub(crate) fn passive_checkpoint(conn: &Connection) -> Result<i64> {
    let (busy, frames): (i64, i64) =
        conn.query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if busy != 0 {
        return Err(Error::Unsupported("checkpoint busy".into()));
    }
    Ok(frames)
}
