//! The CloudFormation API. Each operation declares `cloudformation:<Action>` on the stack
//! (`arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID`, `stack/NAME/*` for a stack being
//! created; `*` for account-wide reads), with the stack's tags as `aws:ResourceTag/*`, request
//! tags as `aws:RequestTag/*` and `aws:TagKeys`, and `cloudformation:ResourceTypes`,
//! `cloudformation:RoleArn`, `cloudformation:TemplateUrl`, `cloudformation:StackPolicyUrl` and
//! `cloudformation:ChangeSetName`. A stack service role (`RoleARN`) also needs `iam:PassRole`.

use std::collections::BTreeMap;
use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, ServiceDef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::engine::{self, Op};
use crate::intrinsic::{self, Pseudo};
use crate::state::{
    ChangeSetRecord, EventRecord, Previous, ResourceRecord, StackRecord, StoredParam, Tag,
};
use crate::template::{self, GivenParameter, MAX_BODY, ParamValue, Template};
use crate::{CloudFormation, now, uuid};

/// [`gateway::operation!`] for this service: every output is JSON.
macro_rules! operation {
    ($op:ident) => {
        gateway::operation!(CloudFormation, $op -> Value);
    };
}

/// Registers every operation.
pub(crate) fn register(def: ServiceDef, svc: &Arc<CloudFormation>) -> ServiceDef {
    def.operation::<CreateStack>(svc)
        .operation::<UpdateStack>(svc)
        .operation::<DeleteStack>(svc)
        .operation::<DescribeStacks>(svc)
        .operation::<ListStacks>(svc)
        .operation::<DescribeStackEvents>(svc)
        .operation::<DescribeStackResources>(svc)
        .operation::<DescribeStackResource>(svc)
        .operation::<ListStackResources>(svc)
        .operation::<GetTemplate>(svc)
        .operation::<GetTemplateSummary>(svc)
        .operation::<ValidateTemplate>(svc)
        .operation::<CreateChangeSet>(svc)
        .operation::<DescribeChangeSet>(svc)
        .operation::<ExecuteChangeSet>(svc)
        .operation::<DeleteChangeSet>(svc)
        .operation::<ListChangeSets>(svc)
        .operation::<ListExports>(svc)
        .operation::<ListImports>(svc)
}

// ---------------------------------------------------------------- errors

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ValidationError", message)
}

fn no_stack(name: &str) -> AwsError {
    validation(format!("Stack with id {name} does not exist"))
}

fn change_set_not_found(name: &str) -> AwsError {
    AwsError::new(
        "ChangeSetNotFound",
        404,
        format!("ChangeSet [{name}] does not exist"),
    )
}

fn check_stack_name(name: &str) -> Result<(), AwsError> {
    let ok = name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

fn check_change_set_name(name: &str) -> Result<(), AwsError> {
    let ok = name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

// ---------------------------------------------------------------- shapes

/// A `Parameter` of a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Parameter {
    pub parameter_key: Option<String>,
    pub parameter_value: Option<String>,
    pub use_previous_value: Option<bool>,
    pub resolved_value: Option<String>,
}

/// A `Tag` of a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RequestTag {
    pub key: String,
    pub value: String,
}

fn given(params: &[Parameter]) -> Result<Vec<GivenParameter>, AwsError> {
    params
        .iter()
        .map(|p| {
            let key = p
                .parameter_key
                .clone()
                .ok_or_else(|| validation("Parameters: every parameter needs a ParameterKey"))?;
            Ok(GivenParameter {
                key,
                value: p.parameter_value.clone(),
                use_previous: p.use_previous_value.unwrap_or(false),
            })
        })
        .collect()
}

fn stored(params: &BTreeMap<String, ParamValue>) -> BTreeMap<String, StoredParam> {
    params
        .iter()
        .map(|(k, v)| (k.clone(), StoredParam::of(v)))
        .collect()
}

fn tags_of(tags: &[RequestTag]) -> Result<Vec<Tag>, AwsError> {
    if tags.len() > 50 {
        return Err(validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ));
    }
    tags.iter()
        .map(|t| {
            if t.key.is_empty() || t.key.starts_with("aws:") {
                return Err(validation(format!("Invalid tag key `{}`", t.key)));
            }
            Ok(Tag {
                key: t.key.clone(),
                value: t.value.clone(),
            })
        })
        .collect()
}

fn stack_arn(call: &Call, name: &str, id: &str) -> String {
    format!(
        "arn:{}:cloudformation:{}:{}:stack/{name}/{id}",
        intrinsic::partition(call.region()),
        call.region(),
        call.account()
    )
}

/// The check of `action` on stack `name_or_id`: its ARN and tags when it exists,
/// `stack/NAME/*` otherwise.
fn on_stack(svc: &CloudFormation, call: &Call, action: &'static str, name_or_id: &str) -> Check {
    let found = svc
        .read(|st| {
            st.find(call.account(), name_or_id)
                .map(|s| (s.stack_id.clone(), s.tags.clone()))
        })
        .ok()
        .flatten();
    match found {
        Some((arn, tags)) => {
            Check::new(action, arn).resource_tags(tags.into_iter().map(|t| (t.key, t.value)))
        }
        None if name_or_id.starts_with("arn:") => Check::new(action, name_or_id.to_string()),
        None => Check::new(action, stack_arn(call, name_or_id, "*")),
    }
}

/// Adds the condition keys of a submission (template, role, policy URL, tags).
fn submission_keys(
    mut check: Check,
    template_body: Option<&str>,
    template_url: Option<&str>,
    role_arn: Option<&str>,
    stack_policy_url: Option<&str>,
    tags: &[RequestTag],
) -> Check {
    if let Some(body) = template_body
        && let Ok(t) = Template::parse(body)
    {
        check = check.with("cloudformation:ResourceTypes", t.resource_types());
    }
    check = check
        .with_opt("cloudformation:TemplateUrl", template_url.map(String::from))
        .with_opt("cloudformation:RoleArn", role_arn.map(String::from))
        .with_opt(
            "cloudformation:StackPolicyUrl",
            stack_policy_url.map(String::from),
        );
    let tags: Vec<(String, String)> = tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    check.request_tags(&tags, None)
}

/// `iam:PassRole` of a stack service role.
fn pass_role(role_arn: Option<&str>) -> Option<Check> {
    role_arn.map(|r| {
        Check::new("iam:PassRole", r.to_string())
            .with("iam:PassedToService", "cloudformation.amazonaws.com")
    })
}

fn auth_with_role(check: Check, role_arn: Option<&str>) -> Authorization {
    let mut a = Authorization::check(check);
    if let Some(p) = pass_role(role_arn) {
        a = a.and(p);
    }
    a
}

// ---------------------------------------------------------------- submissions

/// A checked template with its parameter values.
struct Submission {
    body: String,
    template: Template,
    params: BTreeMap<String, ParamValue>,
}

/// Parses and checks a submitted template and parameters as `CreateStack`, `UpdateStack` and
/// `CreateChangeSet` do, in the order CloudFormation reports problems.
#[allow(clippy::too_many_arguments)]
async fn submission(
    svc: &CloudFormation,
    call: &Call,
    stack_name: &str,
    body: Option<String>,
    template_url: Option<&str>,
    params: &[Parameter],
    previous: Option<&BTreeMap<String, StoredParam>>,
    capabilities: &[String],
) -> Result<Submission, AwsError> {
    if template_url.is_some() && body.is_none() {
        return Err(validation(
            "TemplateURL is not supported by this server: pass the template in TemplateBody",
        ));
    }
    let body =
        body.ok_or_else(|| validation("Either Template URL or Template Body must be specified."))?;
    if body.len() > MAX_BODY {
        return Err(validation(format!(
            "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_BODY}"
        )));
    }
    let template = Template::parse(&body).map_err(|e| validation(e.0))?;
    if let Some(t) = template.transforms.first() {
        return Err(validation(format!(
            "Transform {t} is not supported by this server"
        )));
    }
    let prev: Option<BTreeMap<String, ParamValue>> = previous.map(crate::state::param_values);
    let mut values = template::resolve_parameters(&template, &given(params)?, prev.as_ref())
        .map_err(|e| validation(e.0))?;
    if let Some((needed, _)) = template.required_capabilities() {
        let ok = capabilities.iter().any(|c| c == needed)
            || (needed == "CAPABILITY_IAM"
                && capabilities.iter().any(|c| c == "CAPABILITY_NAMED_IAM"));
        if !ok {
            return Err(AwsError::bad_request(
                "InsufficientCapabilitiesException",
                format!("Requires capabilities : [{needed}]"),
            ));
        }
    }
    engine::resolve_ssm_parameters(svc, call, &template, &mut values)
        .await
        .map_err(validation)?;
    let pseudo = Pseudo {
        account: call.account().to_string(),
        region: call.region().to_string(),
        stack_name: stack_name.to_string(),
        stack_id: stack_arn(call, stack_name, "00000000-0000-0000-0000-000000000000"),
        notification_arns: Vec::new(),
    };
    let conditions =
        intrinsic::conditions(&template, &values, &pseudo).map_err(|e| validation(e.0))?;
    crate::graph::plan(&template, &conditions, &crate::resources::attributes)
        .map_err(|e| validation(e.0))?;
    Ok(Submission {
        body,
        template,
        params: values,
    })
}

fn stack_event(stack: &mut StackRecord, status: &str, reason: Option<&str>) -> EventRecord {
    stack.event_seq += 1;
    EventRecord {
        stack_id: stack.stack_id.clone(),
        seq: stack.event_seq,
        event_id: uuid(),
        stack_name: stack.name.clone(),
        logical_id: stack.name.clone(),
        physical_id: Some(stack.stack_id.clone()),
        kind: "AWS::CloudFormation::Stack".into(),
        timestamp: now(),
        status: status.to_string(),
        reason: reason.map(String::from),
        properties: None,
    }
}

impl CloudFormation {
    /// Changes the state under the lock and commits the batch with the call's audit record.
    async fn commit<T>(
        &self,
        call: &Call,
        f: impl FnOnce(&mut crate::state::State, &mut storage::Batch) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::commit(&self.state, "cloudformation", call, f).await
    }

    /// Saves `stack` with `event` and starts `op` on it.
    async fn start(
        self: &Arc<Self>,
        call: &Call,
        mut stack: StackRecord,
        op: Op,
        status: &str,
        check_name: bool,
    ) -> Result<(), AwsError> {
        stack.status = status.to_string();
        stack.status_reason = Some("User Initiated".into());
        let event = stack_event(&mut stack, status, Some("User Initiated"));
        let id = stack.stack_id.clone();
        self.commit(call, move |st, batch| {
            if check_name
                && st
                    .live(&stack.account, &stack.name)
                    .is_some_and(|s| s.stack_id != stack.stack_id)
            {
                return Err(AwsError::bad_request(
                    "AlreadyExistsException",
                    format!("Stack [{}] already exists", stack.name),
                ));
            }
            batch.put(&stack);
            batch.put(&event);
            st.events
                .entry(stack.stack_id.clone())
                .or_default()
                .push(event);
            st.stacks.insert(stack.stack_id.clone(), stack);
            Ok(())
        })
        .await?;
        engine::spawn(self.clone(), call.clone(), id, op);
        Ok(())
    }
}

/// The statuses a stack can be updated from.
fn updatable(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE"
            | "UPDATE_COMPLETE"
            | "UPDATE_ROLLBACK_COMPLETE"
            | "UPDATE_FAILED"
            | "IMPORT_COMPLETE"
            | "IMPORT_ROLLBACK_COMPLETE"
    )
}

fn not_updatable(s: &StackRecord) -> AwsError {
    validation(format!(
        "Stack:{} is in {} state and can not be updated.",
        s.stack_id, s.status
    ))
}

// ---------------------------------------------------------------- CreateStack

/// `CreateStack`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateStack {
    pub stack_name: String,
    pub template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    pub template_url: Option<String>,
    pub parameters: Vec<Parameter>,
    pub disable_rollback: Option<bool>,
    pub timeout_in_minutes: Option<i64>,
    #[serde(rename = "NotificationARNs")]
    pub notification_arns: Vec<String>,
    pub capabilities: Vec<String>,
    pub resource_types: Vec<String>,
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    pub on_failure: Option<String>,
    pub stack_policy_body: Option<String>,
    #[serde(rename = "StackPolicyURL")]
    pub stack_policy_url: Option<String>,
    pub tags: Vec<RequestTag>,
    pub client_request_token: Option<String>,
    pub enable_termination_protection: Option<bool>,
    pub retain_except_on_create: Option<bool>,
}

/// Whether `kind` is allowed by a `ResourceTypes` list (`AWS::*`, `AWS::EC2::*`, exact).
fn type_allowed(kind: &str, allowed: &[String]) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|a| {
            a == "AWS::*"
                || a == kind
                || a.strip_suffix('*')
                    .is_some_and(|prefix| kind.starts_with(prefix))
        })
}

fn check_resource_types(t: &Template, allowed: &[String]) -> Result<(), AwsError> {
    for kind in t.resource_types() {
        if !type_allowed(&kind, allowed) {
            return Err(validation(format!(
                "Resource type {kind} is not allowed by the ResourceTypes parameter"
            )));
        }
    }
    Ok(())
}

impl CreateStack {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        check_stack_name(&self.stack_name)?;
        let check = submission_keys(
            Check::new(
                "cloudformation:CreateStack",
                stack_arn(call, &self.stack_name, "*"),
            ),
            self.template_body.as_deref(),
            self.template_url.as_deref(),
            self.role_arn.as_deref(),
            self.stack_policy_url.as_deref(),
            &self.tags,
        );
        let _ = svc;
        Ok(auth_with_role(check, self.role_arn.as_deref()))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        if svc.read(|st| st.live(&account, &self.stack_name).is_some())? {
            return Err(AwsError::bad_request(
                "AlreadyExistsException",
                format!("Stack [{}] already exists", self.stack_name),
            ));
        }
        if let Some(f) = &self.on_failure
            && !matches!(f.as_str(), "DO_NOTHING" | "ROLLBACK" | "DELETE")
        {
            return Err(validation(format!(
                "1 validation error detected: Value '{f}' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]"
            )));
        }
        if self.on_failure.is_some() && self.disable_rollback.is_some() {
            return Err(validation(
                "You can specify either DisableRollback or OnFailure, but not both.",
            ));
        }
        let tags = tags_of(&self.tags)?;
        let sub = submission(
            svc,
            call,
            &self.stack_name,
            self.template_body.clone(),
            self.template_url.as_deref(),
            &self.parameters,
            None,
            &self.capabilities,
        )
        .await?;
        check_resource_types(&sub.template, &self.resource_types)?;
        let stack_id = stack_arn(call, &self.stack_name, &uuid());
        let stack = StackRecord {
            account,
            stack_id: stack_id.clone(),
            name: self.stack_name.clone(),
            status: "CREATE_IN_PROGRESS".into(),
            status_reason: None,
            description: sub.template.description.clone(),
            template_body: sub.body,
            parameters: stored(&sub.params),
            capabilities: self.capabilities.clone(),
            tags,
            notification_arns: self.notification_arns.clone(),
            disable_rollback: self.disable_rollback.unwrap_or(false),
            on_failure: self.on_failure.clone(),
            role_arn: self.role_arn.clone(),
            termination_protection: self.enable_termination_protection.unwrap_or(false),
            timeout_minutes: self.timeout_in_minutes,
            retain_except_on_create: self.retain_except_on_create.unwrap_or(false),
            created: now(),
            updated: None,
            deleted: None,
            resources: Vec::new(),
            outputs: Vec::new(),
            change_set_id: None,
            imports: Vec::new(),
            event_seq: 0,
            previous: None,
        };
        svc.start(call, stack, Op::Create, "CREATE_IN_PROGRESS", true)
            .await?;
        Ok(json!({ "StackId": stack_id }))
    }
}
operation!(CreateStack);

// ---------------------------------------------------------------- UpdateStack

/// `UpdateStack`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateStack {
    pub stack_name: String,
    pub template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    pub template_url: Option<String>,
    pub use_previous_template: Option<bool>,
    pub parameters: Vec<Parameter>,
    pub capabilities: Vec<String>,
    pub resource_types: Vec<String>,
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    pub stack_policy_body: Option<String>,
    #[serde(rename = "StackPolicyURL")]
    pub stack_policy_url: Option<String>,
    #[serde(rename = "NotificationARNs")]
    pub notification_arns: Option<Vec<String>>,
    pub tags: Option<Vec<RequestTag>>,
    pub disable_rollback: Option<bool>,
    pub client_request_token: Option<String>,
    pub retain_except_on_create: Option<bool>,
}

/// The new state of a stack for an update: template, parameters and settings.
#[allow(clippy::too_many_arguments)]
fn updated_stack(
    current: &StackRecord,
    sub: Submission,
    capabilities: Vec<String>,
    tags: Option<Vec<Tag>>,
    role_arn: Option<String>,
    notification_arns: Option<Vec<String>>,
    disable_rollback: Option<bool>,
) -> StackRecord {
    let mut next = current.clone();
    next.previous = Some(Previous {
        template_body: current.template_body.clone(),
        parameters: current.parameters.clone(),
        resources: current.resources.clone(),
        outputs: current.outputs.clone(),
        imports: current.imports.clone(),
    });
    next.template_body = sub.body;
    next.description = sub.template.description.clone();
    next.parameters = stored(&sub.params);
    next.capabilities = capabilities;
    if let Some(t) = tags {
        next.tags = t;
    }
    if role_arn.is_some() {
        next.role_arn = role_arn;
    }
    if let Some(n) = notification_arns {
        next.notification_arns = n;
    }
    if let Some(d) = disable_rollback {
        next.disable_rollback = d;
    }
    next.updated = Some(now());
    next
}

impl UpdateStack {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        let check = submission_keys(
            on_stack(svc, call, "cloudformation:UpdateStack", &self.stack_name),
            self.template_body.as_deref(),
            self.template_url.as_deref(),
            self.role_arn.as_deref(),
            self.stack_policy_url.as_deref(),
            self.tags.as_deref().unwrap_or(&[]),
        );
        Ok(auth_with_role(check, self.role_arn.as_deref()))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let current = svc
            .read(|st| st.live(call.account(), &self.stack_name).cloned())?
            .ok_or_else(|| no_stack(&self.stack_name))?;
        if !updatable(&current.status) {
            return Err(not_updatable(&current));
        }
        let body = match (
            self.use_previous_template.unwrap_or(false),
            &self.template_body,
        ) {
            (true, Some(_)) => {
                return Err(validation(
                    "You cannot specify both usePreviousTemplate and Template Body",
                ));
            }
            (true, None) => Some(current.template_body.clone()),
            (false, b) => b.clone(),
        };
        let tags = self.tags.as_deref().map(tags_of).transpose()?;
        let sub = submission(
            svc,
            call,
            &current.name,
            body,
            self.template_url.as_deref(),
            &self.parameters,
            Some(&current.parameters),
            &self.capabilities,
        )
        .await?;
        check_resource_types(&sub.template, &self.resource_types)?;
        let unchanged = sub.body == current.template_body
            && stored(&sub.params) == current.parameters
            && tags.as_ref().is_none_or(|t| *t == current.tags)
            && self
                .role_arn
                .as_ref()
                .is_none_or(|r| Some(r) == current.role_arn.as_ref());
        if unchanged {
            return Err(validation("No updates are to be performed."));
        }
        let next = updated_stack(
            &current,
            sub,
            self.capabilities.clone(),
            tags,
            self.role_arn.clone(),
            self.notification_arns.clone(),
            self.disable_rollback,
        );
        let id = next.stack_id.clone();
        svc.start(call, next, Op::Update, "UPDATE_IN_PROGRESS", false)
            .await?;
        Ok(json!({ "StackId": id }))
    }
}
operation!(UpdateStack);

// ---------------------------------------------------------------- DeleteStack

/// `DeleteStack`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteStack {
    pub stack_name: String,
    pub retain_resources: Vec<String>,
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    pub client_request_token: Option<String>,
    pub deletion_mode: Option<String>,
}

impl DeleteStack {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        let check = on_stack(svc, call, "cloudformation:DeleteStack", &self.stack_name)
            .with_opt("cloudformation:RoleArn", self.role_arn.clone());
        Ok(auth_with_role(check, self.role_arn.as_deref()))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let Some(mut stack) = svc.read(|st| st.live(call.account(), &self.stack_name).cloned())?
        else {
            // Deleting a stack that does not exist succeeds, as in AWS.
            return Ok(json!({}));
        };
        if stack.termination_protection {
            return Err(validation(format!(
                "Stack [{}] cannot be deleted while TerminationProtection is enabled",
                stack.name
            )));
        }
        if stack.status == "DELETE_IN_PROGRESS" {
            return Ok(json!({}));
        }
        if stack.in_progress() {
            return Err(validation(format!(
                "Stack [{}] is in {} state and can not be deleted.",
                stack.name, stack.status
            )));
        }
        if !self.retain_resources.is_empty() {
            if stack.status != "DELETE_FAILED" {
                return Err(validation(format!(
                    "Invalid operation on stack [{}]: RetainResources can only be specified when the stack is in the DELETE_FAILED state",
                    stack.name
                )));
            }
            for id in &self.retain_resources {
                match stack.resource_mut(id) {
                    Some(r) => r.deletion_policy = Some("Retain".into()),
                    None => {
                        return Err(validation(format!(
                            "The specified resources [{id}] do not exist in the stack"
                        )));
                    }
                }
            }
        }
        if self.role_arn.is_some() {
            stack.role_arn = self.role_arn.clone();
        }
        svc.start(call, stack, Op::Delete, "DELETE_IN_PROGRESS", false)
            .await?;
        Ok(json!({}))
    }
}
operation!(DeleteStack);

// ---------------------------------------------------------------- reads

fn parameters_json(s: &StackRecord) -> Value {
    Value::Array(
        s.parameters
            .iter()
            .map(|(k, p)| {
                let mut v = json!({
                    "ParameterKey": k,
                    "ParameterValue": if p.no_echo { "****".to_string() } else { p.value.clone() },
                });
                if let Some(r) = &p.resolved
                    && !p.no_echo
                {
                    v["ResolvedValue"] = json!(r);
                }
                v
            })
            .collect(),
    )
}

fn tags_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// A stack as `DescribeStacks` shows it.
pub fn stack_json(s: &StackRecord) -> Value {
    let mut v = json!({
        "StackId": s.stack_id,
        "StackName": s.name,
        "ChangeSetId": s.change_set_id,
        "Description": s.description,
        "Parameters": parameters_json(s),
        "CreationTime": s.created,
        "DeletionTime": s.deleted,
        "LastUpdatedTime": s.updated,
        "RollbackConfiguration": {},
        "StackStatus": s.status,
        "StackStatusReason": s.status_reason,
        "DisableRollback": s.disable_rollback,
        "NotificationARNs": s.notification_arns,
        "TimeoutInMinutes": s.timeout_minutes,
        "RoleARN": s.role_arn,
        "Tags": tags_json(&s.tags),
        "EnableTerminationProtection": s.termination_protection,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        "RetainExceptOnCreate": s.retain_except_on_create,
    });
    if !s.capabilities.is_empty() {
        v["Capabilities"] = json!(s.capabilities);
    }
    if !s.outputs.is_empty() {
        v["Outputs"] = Value::Array(
            s.outputs
                .iter()
                .map(|o| {
                    json!({
                        "OutputKey": o.key,
                        "OutputValue": o.value,
                        "Description": o.description,
                        "ExportName": o.export_name,
                    })
                })
                .collect(),
        );
    }
    v
}

pub(crate) fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match token {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| validation(format!("Invalid NextToken `{t}`")))?,
    };
    // A token past the end (or near `usize::MAX`) is an empty last page, not an overflow.
    let end = start.saturating_add(size).min(items.len());
    let slice = items
        .get(start..end)
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((slice, next))
}

/// `DescribeStacks`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStacks {
    pub stack_name: Option<String>,
    pub next_token: Option<String>,
}

impl DescribeStacks {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(match &self.stack_name {
            Some(n) => on_stack(svc, call, "cloudformation:DescribeStacks", n),
            None => Check::new("cloudformation:DescribeStacks", "*"),
        }))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let account = call.account();
        let stacks: Vec<StackRecord> = match &self.stack_name {
            Some(n) => vec![
                svc.read(|st| st.find(account, n).cloned())?
                    .ok_or_else(|| no_stack(n))?,
            ],
            None => svc.read(|st| {
                let mut v: Vec<StackRecord> = st
                    .stacks
                    .values()
                    .filter(|s| s.account == account && !s.is_deleted())
                    .cloned()
                    .collect();
                v.sort_by(|a, b| b.created.total_cmp(&a.created));
                v
            })?,
        };
        let (items, next) = page(&stacks, self.next_token.as_deref(), 100)?;
        Ok(json!({
            "Stacks": items.iter().map(stack_json).collect::<Vec<_>>(),
            "NextToken": next,
        }))
    }
}
operation!(DescribeStacks);

/// `ListStacks`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListStacks {
    pub next_token: Option<String>,
    pub stack_status_filter: Vec<String>,
}

impl ListStacks {
    fn checks(&self, _: &CloudFormation, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "cloudformation:ListStacks",
            "*",
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let account = call.account();
        let mut stacks: Vec<StackRecord> = svc.read(|st| {
            st.stacks
                .values()
                .filter(|s| s.account == account)
                .filter(|s| {
                    self.stack_status_filter.is_empty()
                        || self.stack_status_filter.contains(&s.status)
                })
                .cloned()
                .collect()
        })?;
        stacks.sort_by(|a, b| b.created.total_cmp(&a.created));
        let (items, next) = page(&stacks, self.next_token.as_deref(), 100)?;
        let summaries: Vec<Value> = items
            .iter()
            .map(|s| {
                json!({
                    "StackId": s.stack_id,
                    "StackName": s.name,
                    "TemplateDescription": s.description,
                    "CreationTime": s.created,
                    "LastUpdatedTime": s.updated,
                    "DeletionTime": s.deleted,
                    "StackStatus": s.status,
                    "StackStatusReason": s.status_reason,
                    "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
                })
            })
            .collect();
        Ok(json!({"StackSummaries": summaries, "NextToken": next}))
    }
}
operation!(ListStacks);

fn find_stack(svc: &CloudFormation, call: &Call, name: &str) -> Result<StackRecord, AwsError> {
    svc.read(|st| st.find(call.account(), name).cloned())?
        .ok_or_else(|| no_stack(name))
}

/// `DescribeStackEvents`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStackEvents {
    pub stack_name: String,
    pub next_token: Option<String>,
}

fn event_json(e: &EventRecord) -> Value {
    json!({
        "StackId": e.stack_id,
        "EventId": e.event_id,
        "StackName": e.stack_name,
        "LogicalResourceId": e.logical_id,
        "PhysicalResourceId": e.physical_id.clone().unwrap_or_default(),
        "ResourceType": e.kind,
        "Timestamp": e.timestamp,
        "ResourceStatus": e.status,
        "ResourceStatusReason": e.reason,
        "ResourceProperties": e.properties,
    })
}

impl DescribeStackEvents {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_stack(
            svc,
            call,
            "cloudformation:DescribeStackEvents",
            &self.stack_name,
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let stack = find_stack(svc, call, &self.stack_name)?;
        let events = svc.events(&stack.stack_id);
        let (items, next) = page(&events, self.next_token.as_deref(), 100)?;
        Ok(json!({
            "StackEvents": items.iter().map(event_json).collect::<Vec<_>>(),
            "NextToken": next,
        }))
    }
}
operation!(DescribeStackEvents);

fn resource_json(s: &StackRecord, r: &ResourceRecord) -> Value {
    json!({
        "StackName": s.name,
        "StackId": s.stack_id,
        "LogicalResourceId": r.logical_id,
        "PhysicalResourceId": r.physical_id,
        "ResourceType": r.kind,
        "Timestamp": r.updated,
        "ResourceStatus": r.status,
        "ResourceStatusReason": r.status_reason,
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    })
}

/// `DescribeStackResources`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStackResources {
    pub stack_name: Option<String>,
    pub logical_resource_id: Option<String>,
    pub physical_resource_id: Option<String>,
}

impl DescribeStackResources {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(match &self.stack_name {
            Some(n) => on_stack(svc, call, "cloudformation:DescribeStackResources", n),
            None => Check::new("cloudformation:DescribeStackResources", "*"),
        }))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let stack = match (&self.stack_name, &self.physical_resource_id) {
            (Some(n), _) => find_stack(svc, call, n)?,
            (None, Some(p)) => svc
                .read(|st| {
                    st.stacks
                        .values()
                        .find(|s| {
                            s.account == call.account()
                                && !s.is_deleted()
                                && s.resources
                                    .iter()
                                    .any(|r| r.physical_id.as_deref() == Some(p.as_str()))
                        })
                        .cloned()
                })?
                .ok_or_else(|| validation(format!("Stack for {p} does not exist")))?,
            (None, None) => {
                return Err(validation(
                    "Either StackName or PhysicalResourceId must be specified.",
                ));
            }
        };
        let list: Vec<Value> = stack
            .resources
            .iter()
            .filter(|r| {
                self.logical_resource_id
                    .as_ref()
                    .is_none_or(|l| &r.logical_id == l)
            })
            .map(|r| resource_json(&stack, r))
            .collect();
        Ok(json!({ "StackResources": list }))
    }
}
operation!(DescribeStackResources);

/// `DescribeStackResource`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStackResource {
    pub stack_name: String,
    pub logical_resource_id: String,
}

impl DescribeStackResource {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_stack(
            svc,
            call,
            "cloudformation:DescribeStackResource",
            &self.stack_name,
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let stack = find_stack(svc, call, &self.stack_name)?;
        let r = stack.resource(&self.logical_resource_id).ok_or_else(|| {
            validation(format!(
                "Resource {} does not exist for stack {}",
                self.logical_resource_id, self.stack_name
            ))
        })?;
        let mut v = resource_json(&stack, r);
        if let Some(o) = v.as_object_mut() {
            o.remove("Timestamp");
            o.insert("LastUpdatedTimestamp".into(), json!(r.updated));
        }
        let metadata = Template::parse(&stack.template_body)
            .ok()
            .and_then(|t| t.resource(&r.logical_id).and_then(|d| d.metadata.clone()))
            .map(|m| m.to_string());
        v["Metadata"] = json!(metadata);
        Ok(json!({ "StackResourceDetail": v }))
    }
}
operation!(DescribeStackResource);

/// `ListStackResources`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListStackResources {
    pub stack_name: String,
    pub next_token: Option<String>,
}

impl ListStackResources {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_stack(
            svc,
            call,
            "cloudformation:ListStackResources",
            &self.stack_name,
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let stack = find_stack(svc, call, &self.stack_name)?;
        let (items, next) = page(&stack.resources, self.next_token.as_deref(), 100)?;
        let list: Vec<Value> = items
            .iter()
            .map(|r| {
                json!({
                    "LogicalResourceId": r.logical_id,
                    "PhysicalResourceId": r.physical_id,
                    "ResourceType": r.kind,
                    "LastUpdatedTimestamp": r.updated,
                    "ResourceStatus": r.status,
                    "ResourceStatusReason": r.status_reason,
                    "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
                })
            })
            .collect();
        Ok(json!({"StackResourceSummaries": list, "NextToken": next}))
    }
}
operation!(ListStackResources);

/// `GetTemplate`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetTemplate {
    pub stack_name: Option<String>,
    pub change_set_name: Option<String>,
    pub template_stage: Option<String>,
}

impl GetTemplate {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        let target = self
            .stack_name
            .clone()
            .or_else(|| self.change_set_name.clone())
            .unwrap_or_default();
        Ok(Authorization::check(on_stack(
            svc,
            call,
            "cloudformation:GetTemplate",
            &target,
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let body = match (&self.change_set_name, &self.stack_name) {
            (Some(cs), stack) => find_change_set(svc, call, cs, stack.as_deref())?.template_body,
            (None, Some(n)) => find_stack(svc, call, n)?.template_body,
            (None, None) => {
                return Err(validation(
                    "Either StackName or ChangeSetName must be specified.",
                ));
            }
        };
        Ok(json!({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}))
    }
}
operation!(GetTemplate);

fn parameter_declarations(t: &Template, with_types: bool) -> Vec<Value> {
    t.parameters
        .iter()
        .map(|p| {
            let mut v = json!({
                "ParameterKey": p.name,
                "DefaultValue": p.default,
                "NoEcho": p.no_echo,
                "Description": p.description,
            });
            if with_types {
                v["ParameterType"] = json!(p.kind);
                v["ParameterConstraints"] = if p.allowed_values.is_empty() {
                    json!({})
                } else {
                    json!({"AllowedValues": p.allowed_values})
                };
            }
            v
        })
        .collect()
}

fn capabilities_json(t: &Template, v: &mut Value) {
    if let Some((cap, reason)) = t.required_capabilities() {
        v["Capabilities"] = json!([cap]);
        v["CapabilitiesReason"] = json!(reason);
    }
}

/// `ValidateTemplate`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ValidateTemplate {
    pub template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    pub template_url: Option<String>,
}

fn parse_only(body: Option<&str>, url: Option<&str>) -> Result<Template, AwsError> {
    let body = match (body, url) {
        (Some(b), _) => b,
        (None, Some(_)) => {
            return Err(validation(
                "TemplateURL is not supported by this server: pass the template in TemplateBody",
            ));
        }
        (None, None) => {
            return Err(validation(
                "Either Template URL or Template Body must be specified.",
            ));
        }
    };
    if body.len() > MAX_BODY {
        return Err(validation(format!(
            "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_BODY}"
        )));
    }
    let t = Template::parse(body).map_err(|e| validation(e.0))?;
    // References, conditions and cycles are checked with the declared defaults.
    let defaults: BTreeMap<String, ParamValue> = t
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                ParamValue {
                    text: p.default.clone().unwrap_or_default(),
                    no_echo: p.no_echo,
                    resolved: None,
                },
            )
        })
        .collect();
    let conditions = intrinsic::conditions(&t, &defaults, &Pseudo::default()).unwrap_or_default();
    crate::graph::plan(&t, &conditions, &crate::resources::attributes)
        .map_err(|e| validation(e.0))?;
    Ok(t)
}

impl ValidateTemplate {
    fn checks(&self, _: &CloudFormation, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "cloudformation:ValidateTemplate",
            "*",
        )))
    }

    async fn run(self, _svc: &Arc<CloudFormation>, _call: &Call) -> Result<Value, AwsError> {
        let t = parse_only(self.template_body.as_deref(), self.template_url.as_deref())?;
        let mut v = json!({
            "Parameters": parameter_declarations(&t, false),
            "Description": t.description,
            "DeclaredTransforms": t.transforms,
        });
        capabilities_json(&t, &mut v);
        Ok(v)
    }
}
operation!(ValidateTemplate);

/// `GetTemplateSummary`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetTemplateSummary {
    pub template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    pub template_url: Option<String>,
    pub stack_name: Option<String>,
    pub stack_set_name: Option<String>,
    pub call_as: Option<String>,
}

impl GetTemplateSummary {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(match &self.stack_name {
            Some(n) => on_stack(svc, call, "cloudformation:GetTemplateSummary", n),
            None => Check::new("cloudformation:GetTemplateSummary", "*"),
        }))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let t = match &self.stack_name {
            Some(n) => {
                let s = find_stack(svc, call, n)?;
                Template::parse(&s.template_body).map_err(|e| validation(e.0))?
            }
            None => parse_only(self.template_body.as_deref(), self.template_url.as_deref())?,
        };
        let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in &t.resources {
            by_type
                .entry(r.kind.as_str())
                .or_default()
                .push(r.logical_id.as_str());
        }
        let identifiers: Vec<Value> = by_type
            .iter()
            .map(|(k, ids)| json!({"ResourceType": k, "LogicalResourceIds": ids}))
            .collect();
        let mut v = json!({
            "Parameters": parameter_declarations(&t, true),
            "Description": t.description,
            "ResourceTypes": t.resources.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
            "Version": "2010-09-09",
            "Metadata": t.metadata.as_ref().map(|m| m.to_string()),
            "DeclaredTransforms": t.transforms,
            "ResourceIdentifierSummaries": identifiers,
        });
        capabilities_json(&t, &mut v);
        Ok(v)
    }
}
operation!(GetTemplateSummary);

/// `ListExports`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListExports {
    pub next_token: Option<String>,
}

impl ListExports {
    fn checks(&self, _: &CloudFormation, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "cloudformation:ListExports",
            "*",
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let exports: Vec<Value> = svc.read(|st| {
            let mut v: Vec<Value> = st
                .stacks
                .values()
                .filter(|s| s.account == call.account() && !s.is_deleted())
                .flat_map(|s| {
                    s.outputs.iter().filter_map(move |o| {
                        o.export_name.as_ref().map(|n| {
                            json!({"ExportingStackId": s.stack_id, "Name": n, "Value": o.value})
                        })
                    })
                })
                .collect();
            v.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
            v
        })?;
        let (items, next) = page(&exports, self.next_token.as_deref(), 100)?;
        Ok(json!({"Exports": items, "NextToken": next}))
    }
}
operation!(ListExports);

/// `ListImports`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListImports {
    pub export_name: String,
    pub next_token: Option<String>,
}

impl ListImports {
    fn checks(&self, _: &CloudFormation, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "cloudformation:ListImports",
            "*",
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let names: Vec<String> = svc.read(|st| {
            st.importers(call.account(), &self.export_name)
                .into_iter()
                .map(|s| s.name.clone())
                .collect()
        })?;
        if names.is_empty() {
            return Err(validation(format!(
                "Export '{}' is not imported by any stack.",
                self.export_name
            )));
        }
        let (items, next) = page(&names, self.next_token.as_deref(), 100)?;
        Ok(json!({"Imports": items, "NextToken": next}))
    }
}
operation!(ListImports);

// ---------------------------------------------------------------- change sets

fn find_change_set(
    svc: &CloudFormation,
    call: &Call,
    name: &str,
    stack: Option<&str>,
) -> Result<ChangeSetRecord, AwsError> {
    let account = call.account();
    svc.read(|st| {
        if name.starts_with("arn:") {
            return st
                .change_sets
                .get(name)
                .filter(|c| c.account == account)
                .cloned();
        }
        let stack_id = stack.and_then(|s| st.find(account, s).map(|s| s.stack_id.clone()))?;
        st.change_sets
            .values()
            .find(|c| c.account == account && c.name == name && c.stack_id == stack_id)
            .cloned()
    })?
    .ok_or_else(|| change_set_not_found(name))
}

/// The check of `action` on the stack of a change set.
fn on_change_set(
    svc: &CloudFormation,
    call: &Call,
    action: &'static str,
    change_set: &str,
    stack: Option<&str>,
) -> Check {
    let target = match stack {
        Some(s) => s.to_string(),
        None => svc
            .read(|st| st.change_sets.get(change_set).map(|c| c.stack_id.clone()))
            .ok()
            .flatten()
            .unwrap_or_default(),
    };
    let name = if change_set.starts_with("arn:") {
        svc.read(|st| st.change_sets.get(change_set).map(|c| c.name.clone()))
            .ok()
            .flatten()
            .unwrap_or_else(|| change_set.to_string())
    } else {
        change_set.to_string()
    };
    on_stack(svc, call, action, &target).with("cloudformation:ChangeSetName", name)
}

/// `CreateChangeSet`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateChangeSet {
    pub stack_name: String,
    pub template_body: Option<String>,
    #[serde(rename = "TemplateURL")]
    pub template_url: Option<String>,
    pub use_previous_template: Option<bool>,
    pub parameters: Vec<Parameter>,
    pub capabilities: Vec<String>,
    pub resource_types: Vec<String>,
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    #[serde(rename = "NotificationARNs")]
    pub notification_arns: Option<Vec<String>>,
    pub tags: Option<Vec<RequestTag>>,
    pub change_set_name: String,
    pub client_token: Option<String>,
    pub description: Option<String>,
    pub change_set_type: Option<String>,
    pub on_stack_failure: Option<String>,
    pub include_nested_stacks: Option<bool>,
    pub import_existing_resources: Option<bool>,
}

impl CreateChangeSet {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        check_change_set_name(&self.change_set_name)?;
        let check = submission_keys(
            on_stack(
                svc,
                call,
                "cloudformation:CreateChangeSet",
                &self.stack_name,
            )
            .with("cloudformation:ChangeSetName", self.change_set_name.clone()),
            self.template_body.as_deref(),
            self.template_url.as_deref(),
            self.role_arn.as_deref(),
            None,
            self.tags.as_deref().unwrap_or(&[]),
        );
        Ok(auth_with_role(check, self.role_arn.as_deref()))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let kind = self
            .change_set_type
            .clone()
            .unwrap_or_else(|| "UPDATE".into());
        if kind == "IMPORT" {
            return Err(validation(
                "ChangeSetType IMPORT is not supported by this server",
            ));
        }
        if kind != "CREATE" && kind != "UPDATE" {
            return Err(validation(format!(
                "1 validation error detected: Value '{kind}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [UPDATE, IMPORT, CREATE]"
            )));
        }
        let existing = svc.read(|st| st.live(&account, &self.stack_name).cloned())?;
        let current = match (&kind[..], existing) {
            ("CREATE", Some(s)) if s.status != "REVIEW_IN_PROGRESS" => {
                return Err(AwsError::bad_request(
                    "AlreadyExistsException",
                    format!(
                        "Stack [{}] already exists and cannot be created again with the changeSet [{}].",
                        self.stack_name, self.change_set_name
                    ),
                ));
            }
            ("CREATE", s) => {
                check_stack_name(&self.stack_name)?;
                s
            }
            (_, None) => {
                return Err(validation(format!(
                    "Stack [{}] does not exist",
                    self.stack_name
                )));
            }
            (_, Some(s)) if s.status == "REVIEW_IN_PROGRESS" => {
                return Err(validation(format!(
                    "Stack [{}] does not exist",
                    self.stack_name
                )));
            }
            (_, Some(s)) if !updatable(&s.status) => return Err(not_updatable(&s)),
            (_, Some(s)) => Some(s),
        };
        let update = kind == "UPDATE";
        let base = current.clone();
        let body = match (
            self.use_previous_template.unwrap_or(false),
            &self.template_body,
        ) {
            (true, Some(_)) => {
                return Err(validation(
                    "You cannot specify both usePreviousTemplate and Template Body",
                ));
            }
            (true, None) if update => base.as_ref().map(|s| s.template_body.clone()),
            (true, None) => {
                return Err(validation(
                    "UsePreviousTemplate can only be used with an existing stack",
                ));
            }
            (false, b) => b.clone(),
        };
        let tags = self.tags.as_deref().map(tags_of).transpose()?;
        let previous_params = if update {
            base.as_ref().map(|s| s.parameters.clone())
        } else {
            None
        };
        let sub = submission(
            svc,
            call,
            &self.stack_name,
            body,
            self.template_url.as_deref(),
            &self.parameters,
            previous_params.as_ref(),
            &self.capabilities,
        )
        .await?;
        check_resource_types(&sub.template, &self.resource_types)?;
        let stack_id = match &base {
            Some(s) => s.stack_id.clone(),
            None => stack_arn(call, &self.stack_name, &uuid()),
        };
        // The stack as executing the change set would leave it, for the preview.
        let mut proposed = match &base {
            Some(s) => s.clone(),
            None => StackRecord {
                account: account.clone(),
                stack_id: stack_id.clone(),
                name: self.stack_name.clone(),
                status: "REVIEW_IN_PROGRESS".into(),
                status_reason: Some("User Initiated".into()),
                description: sub.template.description.clone(),
                template_body: sub.body.clone(),
                parameters: BTreeMap::new(),
                capabilities: Vec::new(),
                tags: Vec::new(),
                notification_arns: Vec::new(),
                disable_rollback: false,
                on_failure: None,
                role_arn: None,
                termination_protection: false,
                timeout_minutes: None,
                retain_except_on_create: false,
                created: now(),
                updated: None,
                deleted: None,
                resources: Vec::new(),
                outputs: Vec::new(),
                change_set_id: None,
                imports: Vec::new(),
                event_seq: 0,
                previous: None,
            },
        };
        let new_stack = base.is_none();
        proposed.template_body = sub.body.clone();
        proposed.parameters = stored(&sub.params);
        let changes = engine::preview(svc, base.as_ref().filter(|_| update), &proposed)
            .map_err(validation)?;
        let empty = update
            && changes.is_empty()
            && base.as_ref().is_some_and(|s| {
                s.template_body == sub.body
                    && s.parameters == stored(&sub.params)
                    && tags.as_ref().is_none_or(|t| *t == s.tags)
            });
        let id = format!(
            "arn:{}:cloudformation:{}:{}:changeSet/{}/{}",
            intrinsic::partition(call.region()),
            call.region(),
            account,
            self.change_set_name,
            uuid()
        );
        let record = ChangeSetRecord {
            account: account.clone(),
            id: id.clone(),
            name: self.change_set_name.clone(),
            stack_id: stack_id.clone(),
            stack_name: self.stack_name.clone(),
            kind: kind.clone(),
            status: if empty { "FAILED" } else { "CREATE_COMPLETE" }.into(),
            status_reason: empty.then(|| {
                "The submitted information didn't contain changes. Submit different information to create a change set.".to_string()
            }),
            execution_status: if empty { "UNAVAILABLE" } else { "AVAILABLE" }.into(),
            description: self.description.clone(),
            template_body: sub.body,
            parameters: stored(&sub.params),
            capabilities: self.capabilities.clone(),
            tags: tags.unwrap_or_else(|| base.as_ref().map(|s| s.tags.clone()).unwrap_or_default()),
            notification_arns: self.notification_arns.clone().unwrap_or_default(),
            role_arn: self.role_arn.clone(),
            on_stack_failure: self.on_stack_failure.clone(),
            created: now(),
            changes,
        };
        let name = self.change_set_name.clone();
        svc.commit(call, move |st, batch| {
            if st
                .change_sets
                .values()
                .any(|c| c.stack_id == record.stack_id && c.name == name)
            {
                return Err(AwsError::bad_request(
                    "AlreadyExistsException",
                    format!("ChangeSet [{name}] already exists"),
                ));
            }
            if new_stack {
                if st.live(&record.account, &record.stack_name).is_some() {
                    return Err(AwsError::bad_request(
                        "AlreadyExistsException",
                        format!("Stack [{}] already exists", record.stack_name),
                    ));
                }
                let mut stack = proposed;
                stack.parameters = BTreeMap::new();
                let event = stack_event(&mut stack, "REVIEW_IN_PROGRESS", Some("User Initiated"));
                batch.put(&stack);
                batch.put(&event);
                st.events
                    .entry(stack.stack_id.clone())
                    .or_default()
                    .push(event);
                st.stacks.insert(stack.stack_id.clone(), stack);
            }
            batch.put(&record);
            st.change_sets.insert(record.id.clone(), record);
            Ok(())
        })
        .await?;
        Ok(json!({"Id": id, "StackId": stack_id}))
    }
}
operation!(CreateChangeSet);

/// The execution status shown for a change set: an executed one follows its stack.
fn execution_status(svc: &CloudFormation, c: &ChangeSetRecord) -> String {
    if c.execution_status != "EXECUTE_IN_PROGRESS" {
        return c.execution_status.clone();
    }
    let stack = svc
        .read(|st| st.stacks.get(&c.stack_id).cloned())
        .ok()
        .flatten();
    match stack {
        Some(s) if s.in_progress() => "EXECUTE_IN_PROGRESS".into(),
        Some(s) if s.status == "CREATE_COMPLETE" || s.status == "UPDATE_COMPLETE" => {
            "EXECUTE_COMPLETE".into()
        }
        _ => "EXECUTE_FAILED".into(),
    }
}

/// `DescribeChangeSet`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeChangeSet {
    pub change_set_name: String,
    pub stack_name: Option<String>,
    pub next_token: Option<String>,
    pub include_property_values: Option<bool>,
}

impl DescribeChangeSet {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_change_set(
            svc,
            call,
            "cloudformation:DescribeChangeSet",
            &self.change_set_name,
            self.stack_name.as_deref(),
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let c = find_change_set(svc, call, &self.change_set_name, self.stack_name.as_deref())?;
        let changes: Vec<Value> = c
            .changes
            .iter()
            .map(|ch| {
                let details: Vec<Value> = ch
                    .details
                    .iter()
                    .map(|d| {
                        json!({
                            "Target": {
                                "Attribute": if d == "Tags" { "Tags" } else { "Properties" },
                                "Name": d,
                                "RequiresRecreation": if ch.replacement.as_deref() == Some("True") { "Always" } else { "Never" },
                            },
                            "Evaluation": "Static",
                            "ChangeSource": "DirectModification",
                        })
                    })
                    .collect();
                json!({
                    "Type": "Resource",
                    "ResourceChange": {
                        "Action": ch.action,
                        "LogicalResourceId": ch.logical_id,
                        "PhysicalResourceId": ch.physical_id,
                        "ResourceType": ch.kind,
                        "Replacement": ch.replacement,
                        "Scope": ch.scope,
                        "Details": details,
                    }
                })
            })
            .collect();
        let params: Vec<Value> = c
            .parameters
            .iter()
            .map(|(k, p)| {
                json!({"ParameterKey": k, "ParameterValue": if p.no_echo { "****".to_string() } else { p.value.clone() }})
            })
            .collect();
        Ok(json!({
            "ChangeSetName": c.name,
            "ChangeSetId": c.id,
            "StackId": c.stack_id,
            "StackName": c.stack_name,
            "Description": c.description,
            "Parameters": params,
            "CreationTime": c.created,
            "ExecutionStatus": execution_status(svc, &c),
            "Status": c.status,
            "StatusReason": c.status_reason,
            "NotificationARNs": c.notification_arns,
            "RollbackConfiguration": {},
            "Capabilities": c.capabilities,
            "Tags": tags_json(&c.tags),
            "Changes": changes,
            "IncludeNestedStacks": false,
            "OnStackFailure": c.on_stack_failure,
        }))
    }
}
operation!(DescribeChangeSet);

/// `ExecuteChangeSet`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecuteChangeSet {
    pub change_set_name: String,
    pub stack_name: Option<String>,
    pub client_request_token: Option<String>,
    pub disable_rollback: Option<bool>,
    pub retain_except_on_create: Option<bool>,
}

impl ExecuteChangeSet {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_change_set(
            svc,
            call,
            "cloudformation:ExecuteChangeSet",
            &self.change_set_name,
            self.stack_name.as_deref(),
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let c = find_change_set(svc, call, &self.change_set_name, self.stack_name.as_deref())?;
        if c.status != "CREATE_COMPLETE" || c.execution_status != "AVAILABLE" {
            return Err(AwsError::bad_request(
                "InvalidChangeSetStatus",
                format!(
                    "ChangeSet [{}] cannot be executed in its current status of [{}]",
                    c.id, c.status
                ),
            ));
        }
        let stack = svc
            .read(|st| st.stacks.get(&c.stack_id).cloned())?
            .filter(|s| !s.is_deleted())
            .ok_or_else(|| no_stack(&c.stack_name))?;
        let template = Template::parse(&c.template_body).map_err(|e| validation(e.0))?;
        let sub = Submission {
            body: c.template_body.clone(),
            template,
            params: crate::state::param_values(&c.parameters),
        };
        let (mut next, op, status) = if c.kind == "CREATE" {
            if stack.status != "REVIEW_IN_PROGRESS" {
                return Err(AwsError::bad_request(
                    "InvalidChangeSetStatus",
                    format!(
                        "ChangeSet [{}] cannot be executed: stack [{}] is in {} state",
                        c.id, stack.name, stack.status
                    ),
                ));
            }
            let mut s = stack.clone();
            s.template_body = sub.body;
            s.description = sub.template.description.clone();
            s.parameters = c.parameters.clone();
            s.capabilities = c.capabilities.clone();
            s.tags = c.tags.clone();
            s.notification_arns = c.notification_arns.clone();
            s.role_arn = c.role_arn.clone();
            s.disable_rollback = self.disable_rollback.unwrap_or(false);
            s.on_failure = match c.on_stack_failure.as_deref() {
                Some("DO_NOTHING") => Some("DO_NOTHING".into()),
                Some("DELETE") => Some("DELETE".into()),
                _ => None,
            };
            s.retain_except_on_create = self.retain_except_on_create.unwrap_or(false);
            s.created = now();
            (s, Op::Create, "CREATE_IN_PROGRESS")
        } else {
            if !updatable(&stack.status) {
                return Err(not_updatable(&stack));
            }
            let s = updated_stack(
                &stack,
                sub,
                c.capabilities.clone(),
                Some(c.tags.clone()),
                c.role_arn.clone(),
                Some(c.notification_arns.clone()),
                self.disable_rollback,
            );
            (s, Op::Update, "UPDATE_IN_PROGRESS")
        };
        next.change_set_id = Some(c.id.clone());
        // After execution the stack's other change sets go; the executed one is kept.
        let stack_id = c.stack_id.clone();
        let executed = c.id.clone();
        svc.commit(call, move |st, batch| {
            let others: Vec<String> = st
                .change_sets
                .values()
                .filter(|x| x.stack_id == stack_id && x.id != executed)
                .map(|x| x.id.clone())
                .collect();
            for id in others {
                st.change_sets.remove(&id);
                batch.delete::<ChangeSetRecord>(&id);
            }
            if let Some(cs) = st.change_sets.get_mut(&executed) {
                cs.execution_status = "EXECUTE_IN_PROGRESS".into();
                batch.put(&*cs);
            }
            Ok(())
        })
        .await?;
        svc.start(call, next, op, status, false).await?;
        Ok(json!({}))
    }
}
operation!(ExecuteChangeSet);

/// `DeleteChangeSet`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteChangeSet {
    pub change_set_name: String,
    pub stack_name: Option<String>,
}

impl DeleteChangeSet {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_change_set(
            svc,
            call,
            "cloudformation:DeleteChangeSet",
            &self.change_set_name,
            self.stack_name.as_deref(),
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let c = find_change_set(svc, call, &self.change_set_name, self.stack_name.as_deref())?;
        if execution_status(svc, &c) == "EXECUTE_IN_PROGRESS" {
            return Err(AwsError::bad_request(
                "InvalidChangeSetStatus",
                format!(
                    "ChangeSet [{}] cannot be deleted in its current status of [EXECUTE_IN_PROGRESS]",
                    c.id
                ),
            ));
        }
        svc.commit(call, move |st, batch| {
            st.change_sets.remove(&c.id);
            batch.delete::<ChangeSetRecord>(&c.id);
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }
}
operation!(DeleteChangeSet);

/// `ListChangeSets`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListChangeSets {
    pub stack_name: String,
    pub next_token: Option<String>,
}

impl ListChangeSets {
    fn checks(&self, svc: &CloudFormation, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(on_stack(
            svc,
            call,
            "cloudformation:ListChangeSets",
            &self.stack_name,
        )))
    }

    async fn run(self, svc: &Arc<CloudFormation>, call: &Call) -> Result<Value, AwsError> {
        let stack = find_stack(svc, call, &self.stack_name)?;
        let mut sets: Vec<ChangeSetRecord> = svc.read(|st| {
            st.change_sets
                .values()
                .filter(|c| c.stack_id == stack.stack_id)
                .cloned()
                .collect()
        })?;
        sets.sort_by(|a, b| a.created.total_cmp(&b.created));
        let (items, next) = page(&sets, self.next_token.as_deref(), 100)?;
        let summaries: Vec<Value> = items
            .iter()
            .map(|c| {
                json!({
                    "StackId": c.stack_id,
                    "StackName": c.stack_name,
                    "ChangeSetId": c.id,
                    "ChangeSetName": c.name,
                    "ExecutionStatus": execution_status(svc, c),
                    "Status": c.status,
                    "StatusReason": c.status_reason,
                    "CreationTime": c.created,
                    "Description": c.description,
                    "IncludeNestedStacks": false,
                })
            })
            .collect();
        Ok(json!({"Summaries": summaries, "NextToken": next}))
    }
}
operation!(ListChangeSets);
