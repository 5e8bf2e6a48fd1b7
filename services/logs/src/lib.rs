//! CloudWatch Logs (JSON 1.1, target prefix `Logs_20140328`): log groups, log streams, log
//! events, filter patterns, retention and tags.
//!
//! State lives in memory and is written through to the store. Each `PutLogEvents` batch (or
//! flow-log delivery) is one record of sealed events (AES-256-GCM under the instance
//! keyring), so log data is never on disk in plaintext; groups and streams are records of
//! their own.
//!
//! Two ways in:
//! - the API, through the gateway: every operation declares `logs:<Action>` on
//!   `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:log-stream:` (group-level actions) or
//!   `...:log-stream:STREAM` (stream-level actions), as AWS evaluates them, with the group's
//!   tags as `aws:ResourceTag/*`;
//! - [`Logs::deliver`], for AWS services that write into a customer's log group themselves
//!   (VPC flow logs). AWS does this with the delivery role the customer passed when creating
//!   the flow log (`DeliverLogsPermissionArn`, authorized then with `iam:PassRole`); here the
//!   service writes directly, creating the group and stream when missing as the flow-logs
//!   service does. A service acting *on a caller's behalf* uses `Call::invoke` with the
//!   public operations instead, so the caller's permissions apply.

#![forbid(unsafe_code)]

pub mod fuzzing;
mod ops;
pub mod pattern;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use gateway::{AwsError, Call, ServiceDef};
use serde::{Deserialize, Serialize};
use storage::{Batch, Record};

pub use ops::*;

/// The trimmed botocore model (`tools/trim-model.py logs`).
const MODEL: &str = include_str!("../logs.json");

/// Retention periods AWS accepts, in days.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A log group as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRecord {
    /// Owning account.
    pub account: String,
    /// The name.
    pub name: String,
    /// Creation time, epoch milliseconds.
    pub created: i64,
    /// Retention in days; `None` keeps events forever.
    #[serde(default)]
    pub retention: Option<i64>,
    /// The KMS key named at creation (recorded; events are sealed with the instance keyring).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `STANDARD` or `INFREQUENT_ACCESS`.
    #[serde(default = "standard")]
    pub class: String,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Whether `DeleteLogGroup` is refused.
    #[serde(default)]
    pub deletion_protection: bool,
}

fn standard() -> String {
    "STANDARD".into()
}

impl Record for GroupRecord {
    const TABLE: &'static str = "logs.group";
    fn key(&self) -> String {
        format!("{}:{}", self.account, self.name)
    }
}

/// A log stream as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamRecord {
    /// Owning account.
    pub account: String,
    /// Its group.
    pub group: String,
    /// The name.
    pub name: String,
    /// Creation time, epoch milliseconds.
    pub created: i64,
    /// Earliest event timestamp.
    #[serde(default)]
    pub first_event: Option<i64>,
    /// Latest event timestamp.
    #[serde(default)]
    pub last_event: Option<i64>,
    /// Latest ingestion time.
    #[serde(default)]
    pub last_ingestion: Option<i64>,
    /// Bytes of messages stored.
    #[serde(default)]
    pub stored_bytes: u64,
    /// Counter behind `uploadSequenceToken`.
    #[serde(default)]
    pub sequence: u64,
}

impl Record for StreamRecord {
    const TABLE: &'static str = "logs.stream";
    fn key(&self) -> String {
        format!("{}:{}:{}", self.account, self.group, self.name)
    }
}

/// One event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Unique, increasing with ingestion.
    pub id: u64,
    /// The event time, epoch milliseconds.
    pub timestamp: i64,
    /// The message.
    pub message: String,
    /// Ingestion time, epoch milliseconds.
    pub ingested: i64,
}

/// The events of one `PutLogEvents` call or delivery, sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChunkRecord {
    account: String,
    group: String,
    stream: String,
    seq: u64,
    /// Base64 of the keyring-sealed JSON array of events.
    sealed: String,
}

impl Record for ChunkRecord {
    const TABLE: &'static str = "logs.events";
    fn key(&self) -> String {
        chunk_key(&self.account, &self.group, &self.stream, self.seq)
    }
}

fn chunk_key(account: &str, group: &str, stream: &str, seq: u64) -> String {
    format!("{account}:{group}:{stream}:{seq:016x}")
}

/// The stream events go to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub account: &'a str,
    pub group: &'a str,
    pub stream: &'a str,
}

/// A stream in memory.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub rec: StreamRecord,
    /// Sorted by (timestamp, id).
    pub events: Vec<Event>,
    /// Keys of the chunk records holding the events.
    pub chunks: Vec<String>,
}

/// A group in memory.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub rec: GroupRecord,
    pub streams: BTreeMap<String, Stream>,
}

#[derive(Default)]
pub(crate) struct State {
    /// By (account, group name).
    pub groups: BTreeMap<(String, String), Group>,
}

/// CloudWatch Logs for every account.
pub struct Logs {
    store: storage::Store,
    config: gateway::Config,
    pub(crate) state: RwLock<State>,
    next_event: AtomicU64,
    next_chunk: AtomicU64,
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// The log group name is not valid.
    InvalidGroup(String),
    /// The stream name is not valid.
    InvalidStream(String),
    /// Internal failure (sealing, lock).
    Internal(String),
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryError::InvalidGroup(g) => write!(f, "invalid log group name `{g}`"),
            DeliveryError::InvalidStream(s) => write!(f, "invalid log stream name `{s}`"),
            DeliveryError::Internal(m) => write!(f, "delivery failed: {m}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// Now, epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The request time, epoch milliseconds.
pub(crate) fn call_ms(call: &Call) -> i64 {
    call.now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn chunk_aad(key: &str) -> Vec<u8> {
    format!("perimeter/logs/events/{key}").into_bytes()
}

/// Whether `name` is a valid log group name (`[\.\-_/#A-Za-z0-9]+`, 1..=512).
pub fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
}

/// Whether `name` is a valid log stream name (`[^:*]*`, 1..=512).
pub fn valid_stream_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 512 && !name.contains([':', '*'])
}

impl Logs {
    /// Loads every account's log groups, streams and events from `store`.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
    ) -> Result<Arc<Logs>, storage::Error> {
        let mut st = State::default();
        for g in store.table::<GroupRecord>().load_all()? {
            st.groups.insert(
                (g.account.clone(), g.name.clone()),
                Group {
                    rec: g,
                    streams: BTreeMap::new(),
                },
            );
        }
        for s in store.table::<StreamRecord>().load_all()? {
            if let Some(g) = st.groups.get_mut(&(s.account.clone(), s.group.clone())) {
                g.streams.insert(
                    s.name.clone(),
                    Stream {
                        rec: s,
                        events: Vec::new(),
                        chunks: Vec::new(),
                    },
                );
            }
        }
        let keyring = store.keyring();
        let mut max_event = 0u64;
        let mut max_chunk = 0u64;
        for c in store.table::<ChunkRecord>().load_all()? {
            let key = c.key();
            max_chunk = max_chunk.max(c.seq);
            let wrapped = base64::engine::general_purpose::STANDARD
                .decode(&c.sealed)
                .map_err(|_| storage::Error::Unwrap)?;
            let plain = keyring.unwrap(&wrapped, &chunk_aad(&key))?;
            let events: Vec<Event> =
                serde_json::from_slice(&plain).map_err(|e| storage::Error::Decode {
                    table: ChunkRecord::TABLE,
                    key: key.clone(),
                    message: e.to_string(),
                })?;
            let Some(stream) = st
                .groups
                .get_mut(&(c.account.clone(), c.group.clone()))
                .and_then(|g| g.streams.get_mut(&c.stream))
            else {
                continue;
            };
            for e in events {
                max_event = max_event.max(e.id);
                stream.events.push(e);
            }
            stream.chunks.push(key);
        }
        for g in st.groups.values_mut() {
            for s in g.streams.values_mut() {
                s.events.sort_by_key(|e| (e.timestamp, e.id));
            }
        }
        Ok(Arc::new(Logs {
            store: store.clone(),
            config: config.clone(),
            state: RwLock::new(st),
            next_event: AtomicU64::new(max_event + 1),
            next_chunk: AtomicU64::new(max_chunk + 1),
        }))
    }

    /// The gateway registration.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        match ServiceDef::new("logs", MODEL) {
            Ok(def) => ops::register(def, self),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("logs model: {e}"),
        }
    }

    /// The served region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The ARN of log group `name`, as `logGroupArn` shows it.
    pub fn group_arn(&self, account: &str, name: &str) -> String {
        format!(
            "arn:aws:logs:{}:{account}:log-group:{name}",
            self.config.region
        )
    }

    /// Runs `f` on the state with a batch; queues the batch (with the call's audit record)
    /// under the lock and waits for durability after releasing it.
    pub(crate) async fn write<T, F>(&self, call: &Call, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&Logs, &mut State, &mut Batch) -> Result<T, AwsError>,
    {
        gateway::state::commit(&self.state, "logs", call, |st, batch| f(self, st, batch)).await
    }

    /// Reads the state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "logs", f)
    }

    /// Appends `events` (epoch-millisecond timestamp, message) to `stream` of `group` in
    /// `stream`'s account as CloudWatch Logs receives them: sorted into the stream, sealed
    /// and written through. Adds to `batch`; the caller commits it.
    pub(crate) fn append(
        &self,
        st: &mut State,
        batch: &mut Batch,
        target: Target<'_>,
        events: &[(i64, String)],
        ingested: i64,
    ) -> Result<u64, AwsError> {
        let Target {
            account,
            group,
            stream,
        } = target;
        let g = st
            .groups
            .get_mut(&(account.to_string(), group.to_string()))
            .ok_or_else(ops::group_not_found)?;
        let s = g
            .streams
            .get_mut(stream)
            .ok_or_else(ops::stream_not_found)?;
        let mut fresh = Vec::with_capacity(events.len());
        for (ts, msg) in events {
            fresh.push(Event {
                id: self.next_event.fetch_add(1, Ordering::Relaxed),
                timestamp: *ts,
                message: msg.clone(),
                ingested,
            });
        }
        if fresh.is_empty() {
            return Ok(s.rec.sequence);
        }
        let seq = self.next_chunk.fetch_add(1, Ordering::Relaxed);
        let key = chunk_key(account, group, stream, seq);
        let plain = serde_json::to_vec(&fresh).map_err(AwsError::internal)?;
        let wrapped = self
            .store
            .keyring()
            .wrap(&plain, &chunk_aad(&key))
            .map_err(AwsError::internal)?;
        batch.put(&ChunkRecord {
            account: account.to_string(),
            group: group.to_string(),
            stream: stream.to_string(),
            seq,
            sealed: base64::engine::general_purpose::STANDARD.encode(wrapped),
        });
        for e in fresh {
            s.rec.stored_bytes += e.message.len() as u64;
            s.rec.first_event = Some(
                s.rec
                    .first_event
                    .map_or(e.timestamp, |f| f.min(e.timestamp)),
            );
            s.rec.last_event = Some(s.rec.last_event.map_or(e.timestamp, |l| l.max(e.timestamp)));
            let at = s
                .events
                .partition_point(|x| (x.timestamp, x.id) <= (e.timestamp, e.id));
            s.events.insert(at, e);
        }
        s.rec.last_ingestion = Some(ingested);
        s.rec.sequence += 1;
        s.chunks.push(key);
        batch.put(&s.rec);
        Ok(s.rec.sequence)
    }

    /// Delivers events as an AWS service writing into a customer's log group (VPC flow logs):
    /// creates the group and the stream when missing, appends, and queues the write. Not an
    /// API call: no caller, no audit record. Returns once queued; the returned
    /// [`storage::Pending`] resolves when durable.
    pub fn deliver(
        &self,
        account: &str,
        group: &str,
        stream: &str,
        events: &[(i64, String)],
    ) -> Result<storage::Pending, DeliveryError> {
        if !valid_group_name(group) {
            return Err(DeliveryError::InvalidGroup(group.to_string()));
        }
        if !valid_stream_name(stream) {
            return Err(DeliveryError::InvalidStream(stream.to_string()));
        }
        let now = now_ms();
        let mut st = self
            .state
            .write()
            .map_err(|_| DeliveryError::Internal("lock poisoned".into()))?;
        let mut batch = Batch::new();
        let key = (account.to_string(), group.to_string());
        if !st.groups.contains_key(&key) {
            let rec = GroupRecord {
                account: account.to_string(),
                name: group.to_string(),
                created: now,
                retention: None,
                kms_key_id: None,
                class: standard(),
                tags: BTreeMap::new(),
                deletion_protection: false,
            };
            batch.put(&rec);
            st.groups.insert(
                key.clone(),
                Group {
                    rec,
                    streams: BTreeMap::new(),
                },
            );
        }
        if let Some(g) = st.groups.get_mut(&key)
            && !g.streams.contains_key(stream)
        {
            let rec = StreamRecord {
                account: account.to_string(),
                group: group.to_string(),
                name: stream.to_string(),
                created: now,
                first_event: None,
                last_event: None,
                last_ingestion: None,
                stored_bytes: 0,
                sequence: 0,
            };
            batch.put(&rec);
            g.streams.insert(
                stream.to_string(),
                Stream {
                    rec,
                    events: Vec::new(),
                    chunks: Vec::new(),
                },
            );
        }
        self.append(
            &mut st,
            &mut batch,
            Target {
                account,
                group,
                stream,
            },
            events,
            now,
        )
        .map_err(|e| DeliveryError::Internal(e.message))?;
        Ok(self.store.submit(batch))
    }

    /// The events of one stream (for tests and local tools), oldest first.
    pub fn events(&self, account: &str, group: &str, stream: &str) -> Vec<Event> {
        self.state
            .read()
            .ok()
            .and_then(|st| {
                st.groups
                    .get(&(account.to_string(), group.to_string()))
                    .and_then(|g| g.streams.get(stream))
                    .map(|s| s.events.clone())
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_group_name("/aws/vpc/flow-logs"));
        assert!(valid_group_name("a#b.c_d"));
        assert!(!valid_group_name("a:b"));
        assert!(!valid_group_name(""));
        assert!(valid_stream_name("eni-123-all"));
        assert!(!valid_stream_name("a:b"));
        assert!(!valid_stream_name("a*"));
    }

    #[tokio::test]
    async fn delivery_creates_group_and_stream_and_survives_reopen() {
        let dir = std::env::temp_dir().join(format!("perimeter-logs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let keyring = storage::Keyring::from_root_key(&[7u8; 32]).expect("keyring");
        let options = storage::StoreOptions {
            keyring: Some(keyring.clone()),
            ..Default::default()
        };
        {
            let store = storage::Store::open_with(&dir, options.clone()).expect("store");
            let logs = Logs::open(&store, &gateway::Config::default()).expect("open");
            logs.deliver(
                "111122223333",
                "/flow",
                "eni-1-all",
                &[(2, "b".into()), (1, "a".into())],
            )
            .expect("deliver")
            .await
            .expect("durable");
            logs.deliver("111122223333", "/flow", "eni-1-all", &[(3, "c".into())])
                .expect("deliver")
                .await
                .expect("durable");
            let got: Vec<String> = logs
                .events("111122223333", "/flow", "eni-1-all")
                .into_iter()
                .map(|e| e.message)
                .collect();
            assert_eq!(got, ["a", "b", "c"]);
            assert!(matches!(
                logs.deliver("111122223333", "bad:name", "s", &[]),
                Err(DeliveryError::InvalidGroup(_))
            ));
        }
        let store = storage::Store::open_with(&dir, options).expect("reopen");
        let logs = Logs::open(&store, &gateway::Config::default()).expect("open");
        let got: Vec<String> = logs
            .events("111122223333", "/flow", "eni-1-all")
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(got, ["a", "b", "c"]);
        drop(logs);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
