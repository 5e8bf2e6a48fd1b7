//! Schema and migrations, versioned with SQLite's `user_version`.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: records, audit trail, digests, instance metadata.
    "
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE records (
        ns    TEXT NOT NULL,
        key   BLOB NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;

    CREATE TABLE audit_events (
        seq           INTEGER PRIMARY KEY,
        event_time    INTEGER NOT NULL,
        event_id      TEXT NOT NULL,
        event_name    TEXT NOT NULL,
        event_source  TEXT NOT NULL,
        username      TEXT,
        access_key_id TEXT,
        read_only     INTEGER NOT NULL,
        resources     TEXT NOT NULL,
        body          BLOB NOT NULL,
        hash          BLOB NOT NULL
    );
    CREATE INDEX audit_events_time   ON audit_events (event_time);
    CREATE INDEX audit_events_name   ON audit_events (event_name, event_time);
    CREATE INDEX audit_events_user   ON audit_events (username, event_time);
    CREATE INDEX audit_events_source ON audit_events (event_source, event_time);
    CREATE INDEX audit_events_key    ON audit_events (access_key_id, event_time);
    -- No index on read_only (two values: a scan by time finds matches at once) nor on event_id
    -- (random ids would dirty one more page per event; EventId lookups scan, bounded by the time range).

    CREATE TABLE audit_resources (
        name       TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        PRIMARY KEY (name, event_time, seq)
    ) WITHOUT ROWID;

    CREATE TABLE audit_digests (
        id         INTEGER PRIMARY KEY,
        first_seq  INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL,
        last_hash  BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        signature  BLOB NOT NULL
    );
    ",
];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::debug!(version = i + 1, "storage schema migrated");
    }
    Ok(())
}
