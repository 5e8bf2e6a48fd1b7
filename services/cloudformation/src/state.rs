//! What CloudFormation keeps: stacks (with their resources and outputs), stack events and
//! change sets. One record per stack, event and change set, written through on every change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use storage::Record;

use crate::template::ParamValue;

/// A parameter value as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredParam {
    /// The value as given or defaulted.
    pub value: String,
    /// `NoEcho`: shown as `****`.
    #[serde(default)]
    pub no_echo: bool,
    /// The value read from Parameter Store for `AWS::SSM::Parameter::Value<...>` types.
    #[serde(default)]
    pub resolved: Option<String>,
}

impl StoredParam {
    /// From a resolved parameter.
    pub fn of(p: &ParamValue) -> StoredParam {
        StoredParam {
            value: p.text.clone(),
            no_echo: p.no_echo,
            resolved: p.resolved.clone(),
        }
    }

    /// As the evaluator takes it.
    pub fn value(&self) -> ParamValue {
        ParamValue {
            text: self.value.clone(),
            no_echo: self.no_echo,
            resolved: self.resolved.clone(),
        }
    }
}

/// Parameters by name, as the evaluator takes them.
pub fn param_values(stored: &BTreeMap<String, StoredParam>) -> BTreeMap<String, ParamValue> {
    stored.iter().map(|(k, v)| (k.clone(), v.value())).collect()
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// `Key`.
    pub key: String,
    /// `Value`.
    pub value: String,
}

/// One resource of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// The logical id.
    pub logical_id: String,
    /// The resource type.
    pub kind: String,
    /// The physical id (also what `Ref` returns), once created.
    #[serde(default)]
    pub physical_id: Option<String>,
    /// `CREATE_COMPLETE`, `DELETE_FAILED`...
    pub status: String,
    /// Why, for failures.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// When the status last changed, epoch seconds.
    pub updated: f64,
    /// The properties it was created or last updated with, resolved.
    #[serde(default)]
    pub properties: Value,
    /// `Fn::GetAtt` values.
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// `DeletionPolicy`.
    #[serde(default)]
    pub deletion_policy: Option<String>,
    /// `UpdateReplacePolicy`.
    #[serde(default)]
    pub update_replace_policy: Option<String>,
}

/// One output of a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// `OutputKey`.
    pub key: String,
    /// `OutputValue`.
    pub value: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `ExportName`.
    #[serde(default)]
    pub export_name: Option<String>,
}

/// What an update replaces, kept until it completes so a failure can roll back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Previous {
    /// The template before the update.
    pub template_body: String,
    /// The parameters before the update.
    pub parameters: BTreeMap<String, StoredParam>,
    /// The resources before the update.
    pub resources: Vec<ResourceRecord>,
    /// The outputs before the update.
    pub outputs: Vec<OutputRecord>,
    /// The imports before the update.
    #[serde(default)]
    pub imports: Vec<String>,
}

/// A stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackRecord {
    /// Owning account.
    pub account: String,
    /// The stack ARN.
    pub stack_id: String,
    /// The name.
    pub name: String,
    /// `StackStatus`.
    pub status: String,
    /// `StackStatusReason`.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// The template's `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// The template as submitted.
    pub template_body: String,
    /// Parameter values.
    #[serde(default)]
    pub parameters: BTreeMap<String, StoredParam>,
    /// `Capabilities`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Stack tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// `NotificationARNs` (recorded).
    #[serde(default)]
    pub notification_arns: Vec<String>,
    /// `DisableRollback`.
    #[serde(default)]
    pub disable_rollback: bool,
    /// `OnFailure` for creation: `ROLLBACK`, `DELETE` or `DO_NOTHING`.
    #[serde(default)]
    pub on_failure: Option<String>,
    /// `RoleARN`: the service role resource calls are made with.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// `EnableTerminationProtection`.
    #[serde(default)]
    pub termination_protection: bool,
    /// `TimeoutInMinutes` (recorded).
    #[serde(default)]
    pub timeout_minutes: Option<i64>,
    /// `RetainExceptOnCreate`.
    #[serde(default)]
    pub retain_except_on_create: bool,
    /// Creation time, epoch seconds.
    pub created: f64,
    /// Last update.
    #[serde(default)]
    pub updated: Option<f64>,
    /// Deletion.
    #[serde(default)]
    pub deleted: Option<f64>,
    /// Resources, in the order they were created.
    #[serde(default)]
    pub resources: Vec<ResourceRecord>,
    /// Outputs.
    #[serde(default)]
    pub outputs: Vec<OutputRecord>,
    /// The change set the stack was last created or updated from.
    #[serde(default)]
    pub change_set_id: Option<String>,
    /// Export names the stack imports.
    #[serde(default)]
    pub imports: Vec<String>,
    /// The last event number.
    #[serde(default)]
    pub event_seq: u64,
    /// The state before the update in progress.
    #[serde(default)]
    pub previous: Option<Previous>,
}

impl Record for StackRecord {
    const TABLE: &'static str = "cloudformation.stack";
    fn key(&self) -> String {
        self.stack_id.clone()
    }
}

impl StackRecord {
    /// The resource `logical_id`.
    pub fn resource(&self, logical_id: &str) -> Option<&ResourceRecord> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }

    /// The resource `logical_id`, to change.
    pub fn resource_mut(&mut self, logical_id: &str) -> Option<&mut ResourceRecord> {
        self.resources
            .iter_mut()
            .find(|r| r.logical_id == logical_id)
    }

    /// Whether the stack is gone (`DELETE_COMPLETE`).
    pub fn is_deleted(&self) -> bool {
        self.status == "DELETE_COMPLETE"
    }

    /// Whether an operation is running on the stack.
    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS") && self.status != "REVIEW_IN_PROGRESS"
    }
}

/// One stack event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The stack ARN.
    pub stack_id: String,
    /// Order within the stack.
    pub seq: u64,
    /// `EventId`.
    pub event_id: String,
    /// `StackName`.
    pub stack_name: String,
    /// `LogicalResourceId`.
    pub logical_id: String,
    /// `PhysicalResourceId`.
    #[serde(default)]
    pub physical_id: Option<String>,
    /// `ResourceType`.
    pub kind: String,
    /// `Timestamp`, epoch seconds.
    pub timestamp: f64,
    /// `ResourceStatus`.
    pub status: String,
    /// `ResourceStatusReason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `ResourceProperties` (JSON text).
    #[serde(default)]
    pub properties: Option<String>,
}

impl Record for EventRecord {
    const TABLE: &'static str = "cloudformation.event";
    fn key(&self) -> String {
        format!("{}|{:012}", self.stack_id, self.seq)
    }
}

/// One change a change set would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// `Add`, `Modify` or `Remove`.
    pub action: String,
    /// `LogicalResourceId`.
    pub logical_id: String,
    /// `PhysicalResourceId`.
    #[serde(default)]
    pub physical_id: Option<String>,
    /// `ResourceType`.
    pub kind: String,
    /// `Replacement` for `Modify`: `True`, `False` or `Conditional`.
    #[serde(default)]
    pub replacement: Option<String>,
    /// `Scope`: `Properties`, `Tags`...
    #[serde(default)]
    pub scope: Vec<String>,
    /// Properties that change.
    #[serde(default)]
    pub details: Vec<String>,
}

/// A change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSetRecord {
    /// Owning account.
    pub account: String,
    /// The change set ARN.
    pub id: String,
    /// The name.
    pub name: String,
    /// The stack ARN.
    pub stack_id: String,
    /// The stack name.
    pub stack_name: String,
    /// `CREATE` or `UPDATE`.
    pub kind: String,
    /// `Status`.
    pub status: String,
    /// `StatusReason`.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// `ExecutionStatus`.
    pub execution_status: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// The template.
    pub template_body: String,
    /// Parameter values.
    #[serde(default)]
    pub parameters: BTreeMap<String, StoredParam>,
    /// `Capabilities`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Tags for the stack.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// `NotificationARNs`.
    #[serde(default)]
    pub notification_arns: Vec<String>,
    /// `RoleARN`.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// `OnStackFailure`.
    #[serde(default)]
    pub on_stack_failure: Option<String>,
    /// Creation time.
    pub created: f64,
    /// The changes.
    #[serde(default)]
    pub changes: Vec<ChangeRecord>,
}

impl Record for ChangeSetRecord {
    const TABLE: &'static str = "cloudformation.changeset";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// Everything in memory.
#[derive(Default)]
pub struct State {
    /// Stacks by ARN.
    pub stacks: BTreeMap<String, StackRecord>,
    /// Events by stack ARN, oldest first.
    pub events: BTreeMap<String, Vec<EventRecord>>,
    /// Change sets by ARN.
    pub change_sets: BTreeMap<String, ChangeSetRecord>,
}

impl State {
    /// The live (not deleted) stack `name_or_id` of `account`: by ARN, or by name.
    pub fn live(&self, account: &str, name_or_id: &str) -> Option<&StackRecord> {
        if name_or_id.starts_with("arn:") {
            return self
                .stacks
                .get(name_or_id)
                .filter(|s| s.account == account && !s.is_deleted());
        }
        self.stacks
            .values()
            .find(|s| s.account == account && s.name == name_or_id && !s.is_deleted())
    }

    /// The stack `name_or_id`: live by name, or any (deleted included) by ARN.
    pub fn find(&self, account: &str, name_or_id: &str) -> Option<&StackRecord> {
        if name_or_id.starts_with("arn:") {
            return self.stacks.get(name_or_id).filter(|s| s.account == account);
        }
        self.live(account, name_or_id)
    }

    /// The value exported as `name` in `account`, with the exporting stack.
    pub fn export(&self, account: &str, name: &str) -> Option<(String, &StackRecord)> {
        self.stacks
            .values()
            .filter(|s| s.account == account && !s.is_deleted())
            .find_map(|s| {
                s.outputs
                    .iter()
                    .find(|o| o.export_name.as_deref() == Some(name))
                    .map(|o| (o.value.clone(), s))
            })
    }

    /// The live stacks of `account` that import `export`.
    pub fn importers(&self, account: &str, export: &str) -> Vec<&StackRecord> {
        self.stacks
            .values()
            .filter(|s| {
                s.account == account && !s.is_deleted() && s.imports.iter().any(|i| i == export)
            })
            .collect()
    }
}
