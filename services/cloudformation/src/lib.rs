//! AWS CloudFormation (Query protocol): stacks, change sets, stack events, exports, templates in
//! JSON and YAML.
//!
//! A stack's resources are made by calling the owning services' own operations as the caller
//! that started the operation (or as the stack's service role, `RoleARN`), through the one
//! authorization path with `aws:CalledVia` = `cloudformation.amazonaws.com`: a principal that
//! may not create a role directly cannot create it through a stack either, and every call is
//! in the audit trail. See [`resources`] for the resource types.
//!
//! Stack operations run as AWS runs them: `CreateStack`, `UpdateStack`, `DeleteStack` and
//! `ExecuteChangeSet` return at once and a background task moves the stack through
//! `*_IN_PROGRESS` to its final status, recording stack events on the way. A failed creation
//! rolls back (deleting what was created) unless `DisableRollback`/`OnFailure` says otherwise;
//! a failed update rolls back to the previous template. `DeletionPolicy: Retain` keeps a
//! resource when the stack (or the resource) goes.
//!
//! State lives in memory and is written through to the store (one record per stack, per event
//! and per change set). A stack operation interrupted by a restart does not resume: at start
//! the stack is marked failed (`CREATE_FAILED`, `ROLLBACK_FAILED`, `DELETE_FAILED`,
//! `UPDATE_FAILED` or `UPDATE_ROLLBACK_FAILED`) with a reason saying so, and can be deleted
//! (or, after a failed update, updated) again.

#![forbid(unsafe_code)]

mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod intrinsic;
mod ops;
pub mod resources;
pub mod state;
pub mod template;
pub mod yaml;

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use gateway::{AwsError, ServiceDef};
use storage::Batch;

pub use ops::*;
pub use resources::Services;

use crate::state::{ChangeSetRecord, EventRecord, StackRecord, State};

/// The trimmed botocore model (`tools/trim-model.py cloudformation ...`).
const MODEL: &str = include_str!("../cloudformation.json");

/// CloudFormation for every account.
pub struct CloudFormation {
    store: storage::Store,
    config: gateway::Config,
    services: Services,
    pub(crate) state: RwLock<State>,
}

/// Now, epoch seconds with millisecond precision.
pub(crate) fn now() -> f64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    let _ = aws_lc_rs::rand::fill(&mut b);
    b
}

/// `n` random characters of `[A-Z0-9]`, as CloudFormation's physical name suffixes.
pub(crate) fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    random_bytes(n)
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// `n` random lower-case hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    random_bytes(n.div_ceil(2))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..n]
        .to_string()
}

/// A random (version 4) UUID.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&random_bytes(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    gateway::uuid_text(&b)
}

/// Epoch seconds as ISO 8601 (`2024-05-01T12:00:00.000Z`).
pub(crate) fn iso8601(t: f64) -> String {
    let secs = t.floor() as i64;
    let millis = ((t - t.floor()) * 1000.0).round() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The status an operation interrupted by a restart leaves a stack in.
fn interrupted(status: &str) -> Option<&'static str> {
    Some(match status {
        "CREATE_IN_PROGRESS" => "CREATE_FAILED",
        "ROLLBACK_IN_PROGRESS" => "ROLLBACK_FAILED",
        "DELETE_IN_PROGRESS" => "DELETE_FAILED",
        "UPDATE_IN_PROGRESS" | "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => "UPDATE_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS" | "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" => {
            "UPDATE_ROLLBACK_FAILED"
        }
        _ => return None,
    })
}

/// The resource status an interrupted resource operation is left in.
fn interrupted_resource(status: &str) -> Option<&'static str> {
    Some(match status {
        "CREATE_IN_PROGRESS" => "CREATE_FAILED",
        "DELETE_IN_PROGRESS" => "DELETE_FAILED",
        "UPDATE_IN_PROGRESS" => "UPDATE_FAILED",
        _ => return None,
    })
}

const RESTART_REASON: &str =
    "Perimeter restarted while this operation was in progress; it was not resumed";

impl CloudFormation {
    /// Loads every account's stacks, events and change sets from `store`; stacks whose
    /// operation a restart interrupted are marked failed.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
        services: Services,
    ) -> Result<Arc<CloudFormation>, storage::Error> {
        let mut st = State::default();
        for s in store.table::<StackRecord>().load_all()? {
            st.stacks.insert(s.stack_id.clone(), s);
        }
        for e in store.table::<EventRecord>().load_all()? {
            st.events.entry(e.stack_id.clone()).or_default().push(e);
        }
        for events in st.events.values_mut() {
            events.sort_by_key(|e| e.seq);
        }
        for c in store.table::<ChangeSetRecord>().load_all()? {
            st.change_sets.insert(c.id.clone(), c);
        }
        let mut batch = Batch::new();
        let at = now();
        for s in st.stacks.values_mut() {
            let Some(failed) = interrupted(&s.status) else {
                continue;
            };
            for r in &mut s.resources {
                if let Some(rs) = interrupted_resource(&r.status) {
                    r.status = rs.to_string();
                    r.status_reason = Some(RESTART_REASON.to_string());
                    r.updated = at;
                }
            }
            s.status = failed.to_string();
            s.status_reason = Some(RESTART_REASON.to_string());
            s.event_seq += 1;
            let event = EventRecord {
                stack_id: s.stack_id.clone(),
                seq: s.event_seq,
                event_id: uuid(),
                stack_name: s.name.clone(),
                logical_id: s.name.clone(),
                physical_id: Some(s.stack_id.clone()),
                kind: "AWS::CloudFormation::Stack".into(),
                timestamp: at,
                status: failed.to_string(),
                reason: Some(RESTART_REASON.to_string()),
                properties: None,
            };
            batch.put(&event);
            batch.put(&*s);
            st.events.entry(s.stack_id.clone()).or_default().push(event);
        }
        if !batch.is_empty() {
            store.commit_blocking(batch)?;
        }
        Ok(Arc::new(CloudFormation {
            store: store.clone(),
            config: config.clone(),
            services,
            state: RwLock::new(st),
        }))
    }

    /// The gateway registration.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        match ServiceDef::new("cloudformation", MODEL) {
            Ok(def) => ops::register(def, self),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("cloudformation model: {e}"),
        }
    }

    /// The served region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// Reads the state.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "cloudformation", |st| Ok(f(st)))
    }

    /// Changes the state and queues what `f` puts in the batch; returns once durable.
    pub(crate) async fn write<T>(
        &self,
        f: impl FnOnce(&mut State, &mut Batch) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let (out, pending) = {
            let mut st = self
                .state
                .write()
                .map_err(|_| gateway::state::poisoned("cloudformation"))?;
            let mut batch = Batch::new();
            let out = f(&mut st, &mut batch)?;
            (out, self.store.submit(batch))
        };
        pending.await.map_err(AwsError::internal)?;
        Ok(out)
    }

    /// A stack as the API shows it (by name or ARN), for tools such as `perimeter up`.
    pub fn stack(&self, account: &str, name_or_id: &str) -> Option<StackRecord> {
        self.state
            .read()
            .ok()
            .and_then(|st| st.find(account, name_or_id).cloned())
    }

    /// Waits until the stack leaves `*_IN_PROGRESS` (or `timeout` passes); returns it.
    pub async fn wait(
        &self,
        account: &str,
        name_or_id: &str,
        timeout: std::time::Duration,
    ) -> Option<StackRecord> {
        let start = std::time::Instant::now();
        loop {
            let s = self.stack(account, name_or_id)?;
            if !s.in_progress() || start.elapsed() >= timeout {
                return Some(s);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The stack's events, newest first.
    pub fn events(&self, stack_id: &str) -> Vec<EventRecord> {
        self.state
            .read()
            .ok()
            .and_then(|st| st.events.get(stack_id).cloned())
            .map(|mut v| {
                v.reverse();
                v
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ResourceRecord;

    fn services(store: &storage::Store, config: &gateway::Config) -> Services {
        let iam = iam::Iam::open(store, config).expect("iam");
        let kms = kms::Kms::open(store, config).expect("kms");
        let logs = logs::Logs::open(store, config).expect("logs");
        let ec2 = ec2::Ec2::open(store, config, logs.clone()).expect("ec2");
        Services {
            s3: s3::S3::open(store, config, kms.clone()).expect("s3"),
            ssm: ssm::Ssm::open(store, config, kms.clone()).expect("ssm"),
            sagemaker: sagemaker::SageMaker::open(
                store,
                config,
                iam.clone(),
                kms.clone(),
                ec2.clone(),
            )
            .expect("sagemaker"),
            iam,
            kms,
            ec2,
            logs,
        }
    }

    fn stack(status: &str, resource_status: &str) -> StackRecord {
        StackRecord {
            account: "111122223333".into(),
            stack_id: format!("arn:aws:cloudformation:us-east-1:111122223333:stack/s-{status}/1"),
            name: format!("s-{status}"),
            status: status.into(),
            status_reason: None,
            description: None,
            template_body: "Resources:\n  B: {Type: AWS::S3::Bucket}\n".into(),
            parameters: Default::default(),
            capabilities: Vec::new(),
            tags: Vec::new(),
            notification_arns: Vec::new(),
            disable_rollback: false,
            on_failure: None,
            role_arn: None,
            termination_protection: false,
            timeout_minutes: None,
            retain_except_on_create: false,
            created: 1.0,
            updated: None,
            deleted: None,
            resources: vec![ResourceRecord {
                logical_id: "B".into(),
                kind: "AWS::S3::Bucket".into(),
                physical_id: None,
                status: resource_status.into(),
                status_reason: None,
                updated: 1.0,
                properties: serde_json::json!({}),
                attributes: Default::default(),
                deletion_policy: None,
                update_replace_policy: None,
            }],
            outputs: Vec::new(),
            change_set_id: None,
            imports: Vec::new(),
            event_seq: 3,
            previous: None,
        }
    }

    #[test]
    fn a_restart_marks_interrupted_operations_failed() {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let mut batch = Batch::new();
        for (status, resource) in [
            ("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"),
            ("DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"),
            ("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"),
            ("ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"),
            ("CREATE_COMPLETE", "CREATE_COMPLETE"),
        ] {
            batch.put(&stack(status, resource));
        }
        store.commit_blocking(batch).expect("commit");
        let cfn = CloudFormation::open(&store, &config, services(&store, &config)).expect("open");
        let account = "111122223333";
        for (before, after, resource) in [
            ("CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_FAILED"),
            ("DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_FAILED"),
            ("UPDATE_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_FAILED"),
            ("ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "DELETE_FAILED"),
            ("CREATE_COMPLETE", "CREATE_COMPLETE", "CREATE_COMPLETE"),
        ] {
            let s = cfn.stack(account, &format!("s-{before}")).expect("stack");
            assert_eq!(s.status, after, "{before}");
            assert_eq!(s.resources[0].status, resource, "{before}");
            let events = cfn.events(&s.stack_id);
            if before == after {
                assert!(events.is_empty());
                assert_eq!(s.status_reason, None);
            } else {
                assert_eq!(s.status_reason.as_deref(), Some(RESTART_REASON));
                assert_eq!(events.len(), 1);
                assert_eq!(events[0].status, after);
                assert_eq!(events[0].seq, 4);
            }
        }
        // Reopening finds them failed already and changes nothing.
        let again =
            CloudFormation::open(&store, &config, services(&store, &config)).expect("reopen");
        let s = again.stack(account, "s-CREATE_IN_PROGRESS").expect("stack");
        assert_eq!(s.status, "CREATE_FAILED");
        assert_eq!(again.events(&s.stack_id).len(), 1);
    }

    #[test]
    fn ids_look_like_aws() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(random_suffix(13).len(), 13);
        assert_eq!(random_hex(17).len(), 17);
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_700_000_000.5), "2023-11-14T22:13:20.500Z");
    }
}
