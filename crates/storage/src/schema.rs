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
    // 2: the trail's lookup indexes by block. One index entry per event for each of name, user,
    // source, access key and resource cost more than the event itself to write; instead, each block
    // of 256 consecutive events (`seq >> 8`) lists each value once, with the block's time range, and
    // lookups read the few blocks that hold a value.
    "
    DROP INDEX audit_events_name;
    DROP INDEX audit_events_user;
    DROP INDEX audit_events_source;
    DROP INDEX audit_events_key;
    DROP TABLE audit_resources;

    CREATE TABLE audit_blocks (
        attr  INTEGER NOT NULL,
        value TEXT NOT NULL,
        block INTEGER NOT NULL,
        PRIMARY KEY (attr, value, block)
    ) WITHOUT ROWID;

    CREATE TABLE audit_block_times (
        block    INTEGER PRIMARY KEY,
        min_time INTEGER NOT NULL,
        max_time INTEGER NOT NULL
    );

    INSERT OR IGNORE INTO audit_blocks SELECT 1, event_name, seq >> 8 FROM audit_events;
    INSERT OR IGNORE INTO audit_blocks SELECT 2, username, seq >> 8 FROM audit_events
        WHERE username IS NOT NULL;
    INSERT OR IGNORE INTO audit_blocks SELECT 3, event_source, seq >> 8 FROM audit_events;
    INSERT OR IGNORE INTO audit_blocks SELECT 4, access_key_id, seq >> 8 FROM audit_events
        WHERE access_key_id IS NOT NULL;
    INSERT OR IGNORE INTO audit_blocks
        SELECT 5, json_extract(j.value, '$.name'), e.seq >> 8
        FROM audit_events e, json_each(e.resources) j
        WHERE json_valid(e.resources) AND json_extract(j.value, '$.name') IS NOT NULL;
    INSERT INTO audit_block_times
        SELECT seq >> 8, min(event_time), max(event_time) FROM audit_events GROUP BY seq >> 8;
    ",
    // 3: lookups by time read the per-block time ranges; the per-event time index goes.
    "
    DROP INDEX audit_events_time;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_2_lists_the_events_of_a_version_1_trail_by_block() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for seq in 1..=300i64 {
            let resources = if seq == 7 {
                r#"[{"type":"AWS::IAM::Role","name":"role/R"}]"#
            } else {
                "[]"
            };
            conn.execute(
                "INSERT INTO audit_events (seq, event_time, event_id, event_name, event_source, \
                 username, access_key_id, read_only, resources, body, hash) \
                 VALUES (?1, ?2, 'id', ?3, 'iam.amazonaws.com', ?4, NULL, 1, ?5, x'7b7d', x'00')",
                rusqlite::params![
                    seq,
                    1000 + seq,
                    if seq % 2 == 0 {
                        "GetRole"
                    } else {
                        "CreateRole"
                    },
                    (seq == 290).then_some("alice"),
                    resources
                ],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let blocks = |attr: i64, value: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare(
                    "SELECT block FROM audit_blocks WHERE attr = ?1 AND value = ?2 ORDER BY block",
                )
                .unwrap();
            stmt.query_map(rusqlite::params![attr, value], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(blocks(1, "GetRole"), [0, 1]);
        assert_eq!(blocks(2, "alice"), [1]);
        assert_eq!(blocks(3, "iam.amazonaws.com"), [0, 1]);
        assert_eq!(blocks(4, "AKIA"), Vec::<i64>::new());
        assert_eq!(blocks(5, "role/R"), [0]);
        let times: Vec<(i64, i64, i64)> = conn
            .prepare("SELECT block, min_time, max_time FROM audit_block_times ORDER BY block")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(times, [(0, 1001, 1255), (1, 1256, 1300)]);
    }
}
