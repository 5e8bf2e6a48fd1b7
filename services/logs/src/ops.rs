//! The CloudWatch Logs API. Each operation declares `logs:<Action>` on the resource AWS
//! evaluates: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:log-stream:` for group-level actions
//! (`log-group::log-stream:` for `DescribeLogGroups`) and `...:log-stream:STREAM` for
//! stream-level ones, so a policy on `log-group:NAME:*` covers both.

use std::collections::BTreeMap;
use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, ServiceDef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::Batch;

use crate::pattern::{self, Pattern};
use crate::{
    GroupRecord, Logs, RETENTION_DAYS, State, Stream, StreamRecord, call_ms, standard,
    valid_group_name, valid_stream_name,
};

/// [`gateway::operation!`] for this service: every output is JSON.
macro_rules! operation {
    ($op:ident) => {
        gateway::operation!(Logs, $op -> Value);
    };
}

/// Registers every operation.
pub(crate) fn register(def: ServiceDef, svc: &Arc<Logs>) -> ServiceDef {
    def.operation::<CreateLogGroup>(svc)
        .operation::<DescribeLogGroups>(svc)
        .operation::<DeleteLogGroup>(svc)
        .operation::<CreateLogStream>(svc)
        .operation::<DescribeLogStreams>(svc)
        .operation::<DeleteLogStream>(svc)
        .operation::<PutLogEvents>(svc)
        .operation::<GetLogEvents>(svc)
        .operation::<FilterLogEvents>(svc)
        .operation::<PutRetentionPolicy>(svc)
        .operation::<DeleteRetentionPolicy>(svc)
        .operation::<TagLogGroup>(svc)
        .operation::<UntagLogGroup>(svc)
        .operation::<ListTagsLogGroup>(svc)
        .operation::<TagResource>(svc)
        .operation::<UntagResource>(svc)
        .operation::<ListTagsForResource>(svc)
}

// ---------------------------------------------------------------- errors

pub(crate) fn group_not_found() -> AwsError {
    AwsError::bad_request(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

pub(crate) fn stream_not_found() -> AwsError {
    AwsError::bad_request(
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameterException", message)
}

fn check_group_name(name: &str, at: &str) -> Result<(), AwsError> {
    if valid_group_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{at}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )))
    }
}

fn check_stream_name(name: &str) -> Result<(), AwsError> {
    if valid_stream_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [^:*]*"
        )))
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(AwsError::bad_request(
            "TooManyTagsException",
            "A resource can have no more than 50 tags.",
        ));
    }
    for (k, v) in tags {
        if k.is_empty()
            || k.chars().count() > 128
            || v.chars().count() > 256
            || k.starts_with("aws:")
        {
            return Err(invalid(format!("Invalid tag key or value: `{k}`")));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- resources

fn group_resource(svc: &Logs, account: &str, name: &str) -> String {
    format!(
        "arn:aws:logs:{}:{account}:log-group:{name}:log-stream:",
        svc.region()
    )
}

fn stream_resource(svc: &Logs, account: &str, group: &str, stream: &str) -> String {
    format!(
        "arn:aws:logs:{}:{account}:log-group:{group}:log-stream:{stream}",
        svc.region()
    )
}

fn group_tags(svc: &Logs, account: &str, name: &str) -> Vec<(String, String)> {
    svc.read(|st| {
        Ok(st
            .groups
            .get(&(account.to_string(), name.to_string()))
            .map(|g| {
                g.rec
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    })
    .unwrap_or_default()
}

/// A check of `action` on the log group, with its tags.
fn on_group(svc: &Logs, action: &'static str, account: &str, name: &str) -> Check {
    Check::new(action, group_resource(svc, account, name))
        .resource_tags(group_tags(svc, account, name))
}

/// A check of `action` on a stream of the log group, with the group's tags.
fn on_stream(svc: &Logs, action: &'static str, account: &str, group: &str, stream: &str) -> Check {
    Check::new(action, stream_resource(svc, account, group, stream))
        .resource_tags(group_tags(svc, account, group))
}

/// The (account, group name) a `logGroupName`/`logGroupIdentifier` pair names.
fn target_group(
    call: &Call,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<(String, String), AwsError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, None) => Err(invalid(
            "Either logGroupName or logGroupIdentifier must be specified.",
        )),
        (Some(n), None) => {
            check_group_name(n, "logGroupName")?;
            Ok((call.account().to_string(), n.to_string()))
        }
        (None, Some(id)) => parse_group_identifier(call, id),
    }
}

fn parse_group_identifier(call: &Call, id: &str) -> Result<(String, String), AwsError> {
    if let Some(rest) = id.strip_prefix("arn:") {
        // arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
        let parts: Vec<&str> = rest.splitn(6, ':').collect();
        if parts.len() == 6 && parts[1] == "logs" && parts[4].starts_with("log-group") {
            let account = parts[3].to_string();
            let name = parts[5].strip_suffix(":*").unwrap_or(parts[5]);
            let name = parts[4]
                .strip_prefix("log-group")
                .filter(|s| s.is_empty())
                .map(|_| name)
                .ok_or_else(|| invalid(format!("Invalid log group identifier `{id}`")))?;
            check_group_name(name, "logGroupIdentifier")?;
            return Ok((account, name.to_string()));
        }
        return Err(invalid(format!("Invalid log group identifier `{id}`")));
    }
    check_group_name(id, "logGroupIdentifier")?;
    Ok((call.account().to_string(), id.to_string()))
}

fn group_out(svc: &Logs, g: &GroupRecord, stored: u64) -> Value {
    let arn = svc.group_arn(&g.account, &g.name);
    let mut out = json!({
        "logGroupName": g.name,
        "creationTime": g.created,
        "metricFilterCount": 0,
        "arn": format!("{arn}:*"),
        "storedBytes": stored,
        "logGroupClass": g.class,
        "logGroupArn": arn,
        "deletionProtectionEnabled": g.deletion_protection,
    });
    if let Some(r) = g.retention {
        out["retentionInDays"] = json!(r);
    }
    if let Some(k) = &g.kms_key_id {
        out["kmsKeyId"] = json!(k);
    }
    out
}

fn stream_out(svc: &Logs, s: &StreamRecord) -> Value {
    let mut out = json!({
        "logStreamName": s.name,
        "creationTime": s.created,
        "arn": format!("arn:aws:logs:{}:{}:log-group:{}:log-stream:{}", svc.region(), s.account, s.group, s.name),
        "storedBytes": s.stored_bytes,
        "uploadSequenceToken": sequence_token(s.sequence),
    });
    if let Some(t) = s.first_event {
        out["firstEventTimestamp"] = json!(t);
    }
    if let Some(t) = s.last_event {
        out["lastEventTimestamp"] = json!(t);
    }
    if let Some(t) = s.last_ingestion {
        out["lastIngestionTime"] = json!(t);
    }
    out
}

/// A sequence token in AWS's shape (a long decimal number).
fn sequence_token(n: u64) -> String {
    format!("49{n:054}")
}

fn limit(v: Option<i64>, max: i64, default: i64) -> Result<usize, AwsError> {
    match v {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: \
             Member must have value less than or equal to {max}"
        ))),
    }
}

/// Events older than the group's retention are expired.
fn retained_since(g: &GroupRecord, now: i64) -> i64 {
    g.retention
        .map(|d| now - d * 86_400_000)
        .unwrap_or(i64::MIN)
}

// ---------------------------------------------------------------- log groups

/// `CreateLogGroup`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogGroup {
    /// The name.
    pub log_group_name: String,
    /// A KMS key ARN.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `STANDARD` (default) or `INFREQUENT_ACCESS`.
    #[serde(default)]
    pub log_group_class: Option<String>,
    /// Refuse deletion.
    #[serde(default)]
    pub deletion_protection_enabled: Option<bool>,
}

impl CreateLogGroup {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        check_tags(&self.tags)?;
        let tags: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let check = Check::new(
            "logs:CreateLogGroup",
            group_resource(svc, call.account(), &self.log_group_name),
        )
        .request_tags(&tags, None);
        let mut auth = Authorization::check(check);
        if !tags.is_empty() {
            auth = auth.and(
                Check::new(
                    "logs:TagResource",
                    group_resource(svc, call.account(), &self.log_group_name),
                )
                .request_tags(&tags, None),
            );
        }
        Ok(auth)
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let created = call_ms(call);
        svc.write(call, |_, st, batch| {
            let key = (account.clone(), self.log_group_name.clone());
            if st.groups.contains_key(&key) {
                return Err(AwsError::bad_request(
                    "ResourceAlreadyExistsException",
                    "The specified log group already exists",
                ));
            }
            let rec = GroupRecord {
                account,
                name: self.log_group_name,
                created,
                retention: None,
                kms_key_id: self.kms_key_id,
                class: self.log_group_class.unwrap_or_else(standard),
                tags: self.tags,
                deletion_protection: self.deletion_protection_enabled.unwrap_or(false),
            };
            batch.put(&rec);
            st.groups.insert(
                key,
                crate::Group {
                    rec,
                    streams: BTreeMap::new(),
                },
            );
            Ok(json!({}))
        })
        .await
    }
}
operation!(CreateLogGroup);

/// `DescribeLogGroups`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroups {
    /// Names starting with this.
    #[serde(default)]
    pub log_group_name_prefix: Option<String>,
    /// Names containing this, case-insensitively.
    #[serde(default)]
    pub log_group_name_pattern: Option<String>,
    /// From a previous page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// 1..=50.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Only this class.
    #[serde(default)]
    pub log_group_class: Option<String>,
    /// Exactly these groups (names or ARNs).
    #[serde(default)]
    pub log_group_identifiers: Option<Vec<String>>,
}

impl DescribeLogGroups {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "logs:DescribeLogGroups",
            format!(
                "arn:aws:logs:{}:{}:log-group::log-stream:",
                svc.region(),
                call.account()
            ),
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        if self.log_group_name_prefix.is_some() && self.log_group_name_pattern.is_some() {
            return Err(invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        let max = limit(self.limit, 50, 50)?;
        let account = call.account().to_string();
        let wanted: Option<Vec<(String, String)>> = match &self.log_group_identifiers {
            Some(ids) => Some(
                ids.iter()
                    .map(|i| parse_group_identifier(call, i))
                    .collect::<Result<_, _>>()?,
            ),
            None => None,
        };
        svc.read(|st| {
            let mut groups = Vec::new();
            let mut next = None;
            for ((acct, name), g) in st.groups.range((account.clone(), String::new())..) {
                if acct != &account {
                    break;
                }
                if let Some(after) = &self.next_token
                    && name <= after
                {
                    continue;
                }
                if let Some(p) = &self.log_group_name_prefix
                    && !name.starts_with(p.as_str())
                {
                    continue;
                }
                if let Some(p) = &self.log_group_name_pattern
                    && !name.to_lowercase().contains(&p.to_lowercase())
                {
                    continue;
                }
                if let Some(c) = &self.log_group_class
                    && &g.rec.class != c
                {
                    continue;
                }
                if let Some(w) = &wanted
                    && !w.iter().any(|(a, n)| a == acct && n == name)
                {
                    continue;
                }
                if groups.len() == max {
                    next = groups
                        .last()
                        .and_then(|v: &Value| v["logGroupName"].as_str().map(str::to_string));
                    break;
                }
                let stored = g.streams.values().map(|s| s.rec.stored_bytes).sum();
                groups.push(group_out(svc, &g.rec, stored));
            }
            let mut out = json!({ "logGroups": groups });
            if let Some(n) = next {
                out["nextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeLogGroups);

/// `DeleteLogGroup`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteLogGroup {
    /// The name.
    pub log_group_name: String,
}

fn delete_stream_records(batch: &mut Batch, s: &Stream) {
    for key in &s.chunks {
        batch.delete::<crate::ChunkRecord>(key);
    }
    batch.delete::<StreamRecord>(&storage::Record::key(&s.rec));
}

impl DeleteLogGroup {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:DeleteLogGroup",
            call.account(),
            &self.log_group_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = (call.account().to_string(), self.log_group_name);
        svc.write(call, |_, st, batch| {
            let g = st.groups.get(&key).ok_or_else(group_not_found)?;
            if g.rec.deletion_protection {
                return Err(AwsError::bad_request(
                    "OperationAbortedException",
                    "Log group has deletion protection enabled",
                ));
            }
            let g = st.groups.remove(&key).ok_or_else(group_not_found)?;
            for s in g.streams.values() {
                delete_stream_records(batch, s);
            }
            batch.delete::<GroupRecord>(&storage::Record::key(&g.rec));
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteLogGroup);

// ---------------------------------------------------------------- log streams

/// `CreateLogStream`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogStream {
    /// The group.
    pub log_group_name: String,
    /// The stream.
    pub log_stream_name: String,
}

impl CreateLogStream {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        check_stream_name(&self.log_stream_name)?;
        Ok(Authorization::check(on_stream(
            svc,
            "logs:CreateLogStream",
            call.account(),
            &self.log_group_name,
            &self.log_stream_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let created = call_ms(call);
        svc.write(call, |_, st, batch| {
            let g = st
                .groups
                .get_mut(&(account.clone(), self.log_group_name.clone()))
                .ok_or_else(group_not_found)?;
            if g.streams.contains_key(&self.log_stream_name) {
                return Err(AwsError::bad_request(
                    "ResourceAlreadyExistsException",
                    "The specified log stream already exists",
                ));
            }
            let rec = StreamRecord {
                account,
                group: self.log_group_name,
                name: self.log_stream_name.clone(),
                created,
                first_event: None,
                last_event: None,
                last_ingestion: None,
                stored_bytes: 0,
                sequence: 0,
            };
            batch.put(&rec);
            g.streams.insert(
                self.log_stream_name,
                Stream {
                    rec,
                    events: Vec::new(),
                    chunks: Vec::new(),
                },
            );
            Ok(json!({}))
        })
        .await
    }
}
operation!(CreateLogStream);

/// `DescribeLogStreams`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreams {
    /// The group, by name.
    #[serde(default)]
    pub log_group_name: Option<String>,
    /// The group, by name or ARN.
    #[serde(default)]
    pub log_group_identifier: Option<String>,
    /// Streams starting with this.
    #[serde(default)]
    pub log_stream_name_prefix: Option<String>,
    /// `LogStreamName` (default) or `LastEventTime`.
    #[serde(default)]
    pub order_by: Option<String>,
    /// Reverse the order.
    #[serde(default)]
    pub descending: Option<bool>,
    /// From a previous page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// 1..=50.
    #[serde(default)]
    pub limit: Option<i64>,
}

impl DescribeLogStreams {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        let (account, name) = target_group(
            call,
            self.log_group_name.as_deref(),
            self.log_group_identifier.as_deref(),
        )?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:DescribeLogStreams",
            &account,
            &name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = target_group(
            call,
            self.log_group_name.as_deref(),
            self.log_group_identifier.as_deref(),
        )?;
        let by_time = match self.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: \
                     Member must satisfy enum value set: [LogStreamName, LastEventTime]"
                )));
            }
        };
        if by_time && self.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let max = limit(self.limit, 50, 50)?;
        let start: usize = match &self.next_token {
            Some(t) => t
                .parse()
                .map_err(|_| invalid("The specified nextToken is invalid."))?,
            None => 0,
        };
        svc.read(|st| {
            let g = st.groups.get(&key).ok_or_else(group_not_found)?;
            let mut streams: Vec<&StreamRecord> = g
                .streams
                .values()
                .map(|s| &s.rec)
                .filter(|s| {
                    self.log_stream_name_prefix
                        .as_deref()
                        .is_none_or(|p| s.name.starts_with(p))
                })
                .collect();
            if by_time {
                streams.sort_by_key(|s| (s.last_event.unwrap_or(s.created), s.name.clone()));
            }
            if self.descending.unwrap_or(false) {
                streams.reverse();
            }
            let page: Vec<Value> = streams
                .iter()
                .skip(start)
                .take(max)
                .map(|s| stream_out(svc, s))
                .collect();
            let mut out = json!({ "logStreams": page });
            // A token near `usize::MAX` is past the end: no next page, not an overflow.
            let end = start.saturating_add(max);
            if end < streams.len() {
                out["nextToken"] = json!(end.to_string());
            }
            Ok(out)
        })
    }
}
operation!(DescribeLogStreams);

/// `DeleteLogStream`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteLogStream {
    /// The group.
    pub log_group_name: String,
    /// The stream.
    pub log_stream_name: String,
}

impl DeleteLogStream {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        check_stream_name(&self.log_stream_name)?;
        Ok(Authorization::check(on_stream(
            svc,
            "logs:DeleteLogStream",
            call.account(),
            &self.log_group_name,
            &self.log_stream_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = (call.account().to_string(), self.log_group_name);
        svc.write(call, |_, st, batch| {
            let g = st.groups.get_mut(&key).ok_or_else(group_not_found)?;
            let s = g
                .streams
                .remove(&self.log_stream_name)
                .ok_or_else(stream_not_found)?;
            delete_stream_records(batch, &s);
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteLogStream);

// ---------------------------------------------------------------- events

/// One event of `PutLogEvents`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputLogEvent {
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// The message.
    pub message: String,
}

/// `PutLogEvents`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEvents {
    /// The group.
    pub log_group_name: String,
    /// The stream.
    pub log_stream_name: String,
    /// The events, in chronological order.
    pub log_events: Vec<InputLogEvent>,
    /// Ignored, as AWS now ignores it.
    #[serde(default)]
    pub sequence_token: Option<String>,
}

const MAX_BATCH_BYTES: usize = 1_048_576;
const MAX_EVENT_BYTES: usize = 1_048_576 - 26;
const DAY_MS: i64 = 86_400_000;

impl PutLogEvents {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        check_stream_name(&self.log_stream_name)?;
        Ok(Authorization::check(on_stream(
            svc,
            "logs:PutLogEvents",
            call.account(),
            &self.log_group_name,
            &self.log_stream_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        if self.log_events.is_empty() {
            return Err(invalid(
                "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: \
                 Member must have length greater than or equal to 1",
            ));
        }
        if self.log_events.len() > 10_000 {
            return Err(invalid(
                "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: \
                 Member must have length less than or equal to 10000",
            ));
        }
        let mut total = 0usize;
        for (i, e) in self.log_events.iter().enumerate() {
            if e.message.len() > MAX_EVENT_BYTES {
                return Err(invalid(format!("Log event {i} is too large.")));
            }
            total += e.message.len() + 26;
            if i > 0 && e.timestamp < self.log_events[i - 1].timestamp {
                return Err(invalid(
                    "Log events in a single PutLogEvents request must be in chronological order.",
                ));
            }
        }
        if total > MAX_BATCH_BYTES {
            return Err(invalid(
                "Upload too large: the batch is larger than 1048576 bytes.",
            ));
        }
        if let (Some(first), Some(last)) = (self.log_events.first(), self.log_events.last())
            && last.timestamp - first.timestamp > DAY_MS
        {
            return Err(invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let now = call_ms(call);
        let account = call.account().to_string();
        svc.write(call, |svc, st, batch| {
            let g = st
                .groups
                .get(&(account.clone(), self.log_group_name.clone()))
                .ok_or_else(group_not_found)?;
            if !g.streams.contains_key(&self.log_stream_name) {
                return Err(stream_not_found());
            }
            let oldest = (now - 14 * DAY_MS).max(retained_since(&g.rec, now));
            let newest = now + 2 * 3_600_000;
            let mut too_old = None;
            let mut too_new = None;
            let mut accepted = Vec::new();
            for (i, e) in self.log_events.iter().enumerate() {
                if e.timestamp < oldest {
                    too_old = Some(i);
                } else if e.timestamp > newest {
                    too_new.get_or_insert(i);
                } else {
                    accepted.push((e.timestamp, e.message.clone()));
                }
            }
            let seq = svc.append(
                st,
                batch,
                crate::Target {
                    account: &account,
                    group: &self.log_group_name,
                    stream: &self.log_stream_name,
                },
                &accepted,
                now,
            )?;
            let mut out = json!({ "nextSequenceToken": sequence_token(seq) });
            if too_old.is_some() || too_new.is_some() {
                let mut info = json!({});
                if let Some(i) = too_old {
                    info["tooOldLogEventEndIndex"] = json!(i);
                }
                if let Some(i) = too_new {
                    info["tooNewLogEventStartIndex"] = json!(i);
                }
                out["rejectedLogEventsInfo"] = info;
            }
            Ok(out)
        })
        .await
    }
}
operation!(PutLogEvents);

/// `GetLogEvents`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEvents {
    /// The group, by name.
    #[serde(default)]
    pub log_group_name: Option<String>,
    /// The group, by name or ARN.
    #[serde(default)]
    pub log_group_identifier: Option<String>,
    /// The stream.
    pub log_stream_name: String,
    /// Inclusive, epoch milliseconds.
    #[serde(default)]
    pub start_time: Option<i64>,
    /// Exclusive, epoch milliseconds.
    #[serde(default)]
    pub end_time: Option<i64>,
    /// `f/<n>` or `b/<n>` from a previous page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// 1..=10000.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Oldest first when no token is given.
    #[serde(default)]
    pub start_from_head: Option<bool>,
}

impl GetLogEvents {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        let (account, name) = target_group(
            call,
            self.log_group_name.as_deref(),
            self.log_group_identifier.as_deref(),
        )?;
        check_stream_name(&self.log_stream_name)?;
        Ok(Authorization::check(on_stream(
            svc,
            "logs:GetLogEvents",
            &account,
            &name,
            &self.log_stream_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = target_group(
            call,
            self.log_group_name.as_deref(),
            self.log_group_identifier.as_deref(),
        )?;
        let max = limit(self.limit, 10_000, 10_000)?;
        let now = call_ms(call);
        let token = match self.next_token.as_deref() {
            None => None,
            Some(t) => {
                let (dir, n) = t
                    .split_once('/')
                    .ok_or_else(|| invalid("The specified nextToken is invalid."))?;
                let n: usize = n
                    .parse()
                    .map_err(|_| invalid("The specified nextToken is invalid."))?;
                match dir {
                    "f" => Some((true, n)),
                    "b" => Some((false, n)),
                    _ => return Err(invalid("The specified nextToken is invalid.")),
                }
            }
        };
        svc.read(|st| {
            let g = st.groups.get(&key).ok_or_else(group_not_found)?;
            let s = g.streams.get(&self.log_stream_name).ok_or_else(stream_not_found)?;
            let since = retained_since(&g.rec, now).max(self.start_time.unwrap_or(i64::MIN));
            let until = self.end_time.unwrap_or(i64::MAX);
            let window: Vec<&crate::Event> = s
                .events
                .iter()
                .filter(|e| e.timestamp >= since && e.timestamp < until)
                .collect();
            let n = window.len();
            let forward = token.map(|(f, _)| f).unwrap_or(self.start_from_head.unwrap_or(false));
            let (lo, hi) = match token {
                Some((true, at)) => (at.min(n), (at.min(n) + max).min(n)),
                Some((false, at)) => (at.min(n).saturating_sub(max), at.min(n)),
                None if forward => (0, max.min(n)),
                None => (n.saturating_sub(max), n),
            };
            let events: Vec<Value> = window[lo..hi]
                .iter()
                .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingested}))
                .collect();
            Ok(json!({
                "events": events,
                "nextForwardToken": format!("f/{hi:020}"),
                "nextBackwardToken": format!("b/{lo:020}"),
            }))
        })
    }
}
operation!(GetLogEvents);

/// `FilterLogEvents`: also what `aws logs tail` calls.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEvents {
    /// The group, by name.
    #[serde(default)]
    pub log_group_name: Option<String>,
    /// The group, by name or ARN.
    #[serde(default)]
    pub log_group_identifier: Option<String>,
    /// Only these streams.
    #[serde(default)]
    pub log_stream_names: Option<Vec<String>>,
    /// Only streams starting with this.
    #[serde(default)]
    pub log_stream_name_prefix: Option<String>,
    /// Inclusive, epoch milliseconds.
    #[serde(default)]
    pub start_time: Option<i64>,
    /// Inclusive, epoch milliseconds.
    #[serde(default)]
    pub end_time: Option<i64>,
    /// A filter pattern.
    #[serde(default)]
    pub filter_pattern: Option<String>,
    /// From a previous page.
    #[serde(default)]
    pub next_token: Option<String>,
    /// 1..=10000.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Deprecated; results are always interleaved.
    #[serde(default)]
    pub interleaved: Option<bool>,
}

impl FilterLogEvents {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        let (account, name) = target_group(
            call,
            self.log_group_name.as_deref(),
            self.log_group_identifier.as_deref(),
        )?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:FilterLogEvents",
            &account,
            &name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = target_group(
            call,
            self.log_group_name.as_deref(),
            self.log_group_identifier.as_deref(),
        )?;
        if self.log_stream_names.is_some() && self.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
            ));
        }
        let max = limit(self.limit, 10_000, 10_000)?;
        let pattern: Pattern =
            pattern::parse(self.filter_pattern.as_deref().unwrap_or("")).map_err(invalid)?;
        let after: Option<(i64, u64)> = match &self.next_token {
            None => None,
            Some(t) => {
                let (ts, id) = t
                    .split_once('-')
                    .ok_or_else(|| invalid("The specified nextToken is invalid."))?;
                Some((
                    ts.parse()
                        .map_err(|_| invalid("The specified nextToken is invalid."))?,
                    id.parse()
                        .map_err(|_| invalid("The specified nextToken is invalid."))?,
                ))
            }
        };
        let now = call_ms(call);
        svc.read(|st| {
            let g = st.groups.get(&key).ok_or_else(group_not_found)?;
            if let Some(names) = &self.log_stream_names
                && names.iter().any(|n| !g.streams.contains_key(n))
            {
                return Err(stream_not_found());
            }
            let streams: Vec<&Stream> = g
                .streams
                .values()
                .filter(|s| {
                    self.log_stream_names
                        .as_ref()
                        .is_none_or(|names| names.iter().any(|n| n == &s.rec.name))
                        && self
                            .log_stream_name_prefix
                            .as_deref()
                            .is_none_or(|p| s.rec.name.starts_with(p))
                })
                .collect();
            let since = retained_since(&g.rec, now).max(self.start_time.unwrap_or(i64::MIN));
            let until = self.end_time.unwrap_or(i64::MAX);
            let mut found: Vec<(&str, &crate::Event)> = Vec::new();
            for s in &streams {
                for e in &s.events {
                    if e.timestamp < since || e.timestamp > until {
                        continue;
                    }
                    if after.is_some_and(|a| (e.timestamp, e.id) <= a) {
                        continue;
                    }
                    if pattern.matches(&e.message) {
                        found.push((s.rec.name.as_str(), e));
                    }
                }
            }
            found.sort_by_key(|(_, e)| (e.timestamp, e.id));
            let more = found.len() > max;
            found.truncate(max);
            let events: Vec<Value> = found
                .iter()
                .map(|(stream, e)| {
                    json!({
                        "logStreamName": stream,
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingested,
                        "eventId": format!("{:020}{:036}", e.timestamp.max(0), e.id),
                    })
                })
                .collect();
            let searched: Vec<Value> = streams
                .iter()
                .map(|s| json!({"logStreamName": s.rec.name, "searchedCompletely": !more}))
                .collect();
            let mut out = json!({ "events": events, "searchedLogStreams": searched });
            if more && let Some((_, e)) = found.last() {
                out["nextToken"] = json!(format!("{}-{}", e.timestamp, e.id));
            }
            Ok(out)
        })
    }
}
operation!(FilterLogEvents);

// ---------------------------------------------------------------- retention

/// `PutRetentionPolicy`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicy {
    /// The group.
    pub log_group_name: String,
    /// Days.
    pub retention_in_days: i64,
}

impl PutRetentionPolicy {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:PutRetentionPolicy",
            call.account(),
            &self.log_group_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        if !RETENTION_DAYS.contains(&self.retention_in_days) {
            let allowed: Vec<String> = RETENTION_DAYS.iter().map(|d| d.to_string()).collect();
            return Err(invalid(format!(
                "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: \
                 Member must satisfy enum value set: [{}]",
                self.retention_in_days,
                allowed.join(", ")
            )));
        }
        let key = (call.account().to_string(), self.log_group_name);
        svc.write(call, |_, st, batch| {
            let g = st.groups.get_mut(&key).ok_or_else(group_not_found)?;
            g.rec.retention = Some(self.retention_in_days);
            batch.put(&g.rec);
            Ok(json!({}))
        })
        .await
    }
}
operation!(PutRetentionPolicy);

/// `DeleteRetentionPolicy`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRetentionPolicy {
    /// The group.
    pub log_group_name: String,
}

impl DeleteRetentionPolicy {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:DeleteRetentionPolicy",
            call.account(),
            &self.log_group_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = (call.account().to_string(), self.log_group_name);
        svc.write(call, |_, st, batch| {
            let g = st.groups.get_mut(&key).ok_or_else(group_not_found)?;
            g.rec.retention = None;
            batch.put(&g.rec);
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteRetentionPolicy);

// ---------------------------------------------------------------- tags

fn change_tags(
    st: &mut State,
    batch: &mut Batch,
    key: &(String, String),
    add: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<(), AwsError> {
    let g = st.groups.get_mut(key).ok_or_else(group_not_found)?;
    let mut tags = g.rec.tags.clone();
    for k in remove {
        tags.remove(k);
    }
    for (k, v) in add {
        tags.insert(k.clone(), v.clone());
    }
    check_tags(&tags)?;
    g.rec.tags = tags;
    batch.put(&g.rec);
    Ok(())
}

/// `TagLogGroup` (deprecated in favour of `TagResource`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroup {
    /// The group.
    pub log_group_name: String,
    /// Tags to add or replace.
    pub tags: BTreeMap<String, String>,
}

impl TagLogGroup {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        let tags: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Authorization::check(
            on_group(
                svc,
                "logs:TagLogGroup",
                call.account(),
                &self.log_group_name,
            )
            .request_tags(&tags, None),
        ))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = (call.account().to_string(), self.log_group_name);
        svc.write(call, |_, st, batch| {
            change_tags(st, batch, &key, &self.tags, &[])?;
            Ok(json!({}))
        })
        .await
    }
}
operation!(TagLogGroup);

/// `UntagLogGroup` (deprecated in favour of `UntagResource`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroup {
    /// The group.
    pub log_group_name: String,
    /// Keys to remove.
    pub tags: Vec<String>,
}

impl UntagLogGroup {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        Ok(Authorization::check(
            on_group(
                svc,
                "logs:UntagLogGroup",
                call.account(),
                &self.log_group_name,
            )
            .with("aws:TagKeys", self.tags.clone()),
        ))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = (call.account().to_string(), self.log_group_name);
        svc.write(call, |_, st, batch| {
            change_tags(st, batch, &key, &BTreeMap::new(), &self.tags)?;
            Ok(json!({}))
        })
        .await
    }
}
operation!(UntagLogGroup);

/// `ListTagsLogGroup` (deprecated in favour of `ListTagsForResource`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsLogGroup {
    /// The group.
    pub log_group_name: String,
}

impl ListTagsLogGroup {
    fn checks(&self, svc: &Logs, call: &Call) -> Result<Authorization, AwsError> {
        check_group_name(&self.log_group_name, "logGroupName")?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:ListTagsLogGroup",
            call.account(),
            &self.log_group_name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = (call.account().to_string(), self.log_group_name);
        svc.read(|st| {
            let g = st.groups.get(&key).ok_or_else(group_not_found)?;
            Ok(json!({ "tags": g.rec.tags }))
        })
    }
}
operation!(ListTagsLogGroup);

/// The log group a tagging ARN names (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`).
fn arn_group(svc: &Logs, arn: &str) -> Result<(String, String), AwsError> {
    let bad = || invalid(format!("Invalid resource ARN `{arn}`"));
    let rest = arn.strip_prefix("arn:aws:logs:").ok_or_else(bad)?;
    let mut parts = rest.splitn(3, ':');
    let (Some(region), Some(account), Some(resource)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if region != svc.region() {
        return Err(bad());
    }
    let name = resource.strip_prefix("log-group:").ok_or_else(bad)?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    if !valid_group_name(name) {
        return Err(bad());
    }
    Ok((account.to_string(), name.to_string()))
}

/// `TagResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResource {
    /// The log group ARN.
    pub resource_arn: String,
    /// Tags to add or replace.
    pub tags: BTreeMap<String, String>,
}

impl TagResource {
    fn checks(&self, svc: &Logs, _call: &Call) -> Result<Authorization, AwsError> {
        let (account, name) = arn_group(svc, &self.resource_arn)?;
        let tags: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Authorization::check(
            on_group(svc, "logs:TagResource", &account, &name).request_tags(&tags, None),
        ))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = arn_group(svc, &self.resource_arn)?;
        if key.0 != call.account() {
            return Err(group_not_found());
        }
        svc.write(call, |_, st, batch| {
            change_tags(st, batch, &key, &self.tags, &[])?;
            Ok(json!({}))
        })
        .await
    }
}
operation!(TagResource);

/// `UntagResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResource {
    /// The log group ARN.
    pub resource_arn: String,
    /// Keys to remove.
    pub tag_keys: Vec<String>,
}

impl UntagResource {
    fn checks(&self, svc: &Logs, _call: &Call) -> Result<Authorization, AwsError> {
        let (account, name) = arn_group(svc, &self.resource_arn)?;
        Ok(Authorization::check(
            on_group(svc, "logs:UntagResource", &account, &name)
                .with("aws:TagKeys", self.tag_keys.clone()),
        ))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = arn_group(svc, &self.resource_arn)?;
        if key.0 != call.account() {
            return Err(group_not_found());
        }
        svc.write(call, |_, st, batch| {
            change_tags(st, batch, &key, &BTreeMap::new(), &self.tag_keys)?;
            Ok(json!({}))
        })
        .await
    }
}
operation!(UntagResource);

/// `ListTagsForResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResource {
    /// The log group ARN.
    pub resource_arn: String,
}

impl ListTagsForResource {
    fn checks(&self, svc: &Logs, _call: &Call) -> Result<Authorization, AwsError> {
        let (account, name) = arn_group(svc, &self.resource_arn)?;
        Ok(Authorization::check(on_group(
            svc,
            "logs:ListTagsForResource",
            &account,
            &name,
        )))
    }

    async fn run(self, svc: &Logs, call: &Call) -> Result<Value, AwsError> {
        let key = arn_group(svc, &self.resource_arn)?;
        if key.0 != call.account() {
            return Err(group_not_found());
        }
        svc.read(|st| {
            let g = st.groups.get(&key).ok_or_else(group_not_found)?;
            Ok(json!({ "tags": g.rec.tags }))
        })
    }
}
operation!(ListTagsForResource);
