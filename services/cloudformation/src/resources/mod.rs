//! Resource types: each is created, updated and deleted by calling the owning service's own
//! operations as the stack's caller, through the one authorization path
//! ([`gateway::Call::invoke`] with `aws:CalledVia` = `cloudformation.amazonaws.com`), so the
//! caller's policies, boundaries, SCPs and the resources' own policies decide each call.

mod ec2;
mod iam;
mod kms;
mod logs;
mod s3;
mod sagemaker;
mod ssm;

use std::sync::Arc;

use gateway::{AwsError, Call, Operation, Via};
use serde_json::{Map, Value, json};

use crate::state::{ResourceRecord, Tag};
use crate::template::scalar_text;

/// The services stacks create resources in.
#[derive(Clone)]
pub struct Services {
    /// IAM (roles, policies, users, groups, instance profiles) and STS (stack service roles).
    pub iam: Arc<::iam::Iam>,
    /// KMS keys and aliases.
    pub kms: Arc<::kms::Kms>,
    /// S3 buckets and bucket policies.
    pub s3: Arc<::s3::S3>,
    /// EC2 VPC resources.
    pub ec2: Arc<::ec2::Ec2>,
    /// CloudWatch Logs log groups.
    pub logs: Arc<::logs::Logs>,
    /// SSM parameters.
    pub ssm: Arc<::ssm::Ssm>,
    /// SageMaker domains, user profiles, spaces, apps and notebook instances.
    pub sagemaker: Arc<::sagemaker::SageMaker>,
}

/// Why a resource operation failed: the event's `ResourceStatusReason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A creation that failed, with what it had created before failing (which rollback deletes).
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// The resource, when its first call succeeded.
    pub created: Option<Created>,
    /// Why it failed.
    pub failure: Failure,
}

impl From<Failure> for Partial {
    fn from(failure: Failure) -> Partial {
        Partial {
            created: None,
            failure,
        }
    }
}

/// The outcome of a creation whose first call made `created` and whose later calls
/// (policies, attributes, rules) ended with `rest`.
fn finish(created: Created, rest: Result<(), Failure>) -> Result<Created, Partial> {
    match rest {
        Ok(()) => Ok(created),
        Err(failure) => Err(Partial {
            created: Some(created),
            failure,
        }),
    }
}

/// A created (or updated) resource: its physical id (what `Ref` returns) and attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The physical id.
    pub physical_id: String,
    /// `Fn::GetAtt` values.
    pub attributes: Map<String, Value>,
}

impl Created {
    fn new(physical_id: impl Into<String>) -> Created {
        Created {
            physical_id: physical_id.into(),
            attributes: Map::new(),
        }
    }

    fn attr(mut self, name: &str, v: impl Into<Value>) -> Created {
        self.attributes.insert(name.to_string(), v.into());
        self
    }
}

/// One resource operation's context.
pub struct Ctx<'a> {
    /// The call resource operations are made as (the stack's caller or service role).
    pub call: &'a Call,
    /// The services.
    pub svc: &'a Services,
    /// `AWS::StackName`.
    pub stack_name: &'a str,
    /// The logical id of the resource.
    pub logical_id: &'a str,
    /// Stack tags, propagated to resources that take tags.
    pub stack_tags: &'a [Tag],
}

/// The name AWS's services appear under in handler messages.
fn service_title(service: &str) -> &'static str {
    match service {
        "iam" => "Iam",
        "sts" => "Sts",
        "kms" => "Kms",
        "s3" => "S3",
        "ec2" => "Ec2",
        "logs" => "CloudWatchLogs",
        "ssm" => "Ssm",
        "sagemaker" => "SageMaker",
        _ => "Unknown",
    }
}

/// The handler error code CloudFormation reports for a service error.
fn handler_code(e: &AwsError) -> &'static str {
    let code = e.code.as_ref();
    if e.status == 403 || code.contains("AccessDenied") || code.contains("Unauthorized") {
        "AccessDenied"
    } else if code.contains("AlreadyExists") || code.contains("Duplicate") {
        "AlreadyExists"
    } else if is_not_found(e) {
        "NotFound"
    } else if code.contains("Limit") || code.contains("Quota") {
        "ServiceLimitExceeded"
    } else if e.status < 500 {
        "InvalidRequest"
    } else {
        "GeneralServiceException"
    }
}

/// Whether a service error says the resource does not exist.
pub fn is_not_found(e: &AwsError) -> bool {
    let code = e.code.as_ref();
    code.contains("NotFound") || code.contains("NoSuch") || code == "ResourceNotFoundException"
}

/// A service error as CloudFormation reports it in the resource's status reason.
pub fn handler_failure(service: &str, e: &AwsError) -> Failure {
    Failure(format!(
        "Resource handler returned message: \"{}\" (Service: {}, Status Code: {}, Error Code: {}) (HandlerErrorCode: {})",
        e.message,
        service_title(service),
        e.status,
        e.code,
        handler_code(e)
    ))
}

impl Ctx<'_> {
    /// The account resources are created in.
    pub fn account(&self) -> &str {
        self.call.account()
    }

    /// The region.
    pub fn region(&self) -> &str {
        self.call.region()
    }

    /// The partition.
    pub fn partition(&self) -> &'static str {
        crate::intrinsic::partition(self.region())
    }

    /// Runs `O` of `service` with `input` (the operation's input shape as JSON) as the caller,
    /// on CloudFormation's behalf; returns the output as JSON.
    pub async fn run<O: Operation>(
        &self,
        svc: &Arc<O::Service>,
        service: &'static str,
        input: Value,
    ) -> Result<Value, AwsError> {
        let op: O = serde_json::from_value(input).map_err(|e| {
            AwsError::bad_request(
                "ValidationException",
                format!("invalid {} request: {e}", O::NAME),
            )
        })?;
        let out = self
            .call
            .invoke(
                svc,
                op,
                service,
                Via::called_via("cloudformation.amazonaws.com"),
            )
            .await?;
        serde_json::to_value(out).map_err(AwsError::internal)
    }

    /// [`Ctx::run`], with a failure reported as the resource's status reason.
    pub async fn call<O: Operation>(
        &self,
        svc: &Arc<O::Service>,
        service: &'static str,
        input: Value,
    ) -> Result<Value, Failure> {
        self.run::<O>(svc, service, input)
            .await
            .map_err(|e| handler_failure(service, &e))
    }

    /// [`Ctx::call`] for deletions: a resource already gone counts as deleted.
    pub async fn call_gone_ok<O: Operation>(
        &self,
        svc: &Arc<O::Service>,
        service: &'static str,
        input: Value,
    ) -> Result<(), Failure> {
        match self.run::<O>(svc, service, input).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(handler_failure(service, &e)),
        }
    }

    /// A generated physical name: `STACK-LOGICALID-SUFFIX`, at most `max` characters, the
    /// stack and logical parts shortened as CloudFormation does.
    pub fn generated_name(&self, max: usize) -> String {
        generated_name(self.stack_name, self.logical_id, max, false)
    }

    /// The name the template gives in `key`, or else a generated one of at most `max`
    /// characters.
    pub fn name_or_generated(
        &self,
        p: &Props<'_>,
        key: &str,
        max: usize,
    ) -> Result<String, Failure> {
        Ok(match p.str(key)? {
            Some(n) => n,
            None => self.generated_name(max),
        })
    }

    /// A generated S3 bucket name: lower case, at most 63 characters.
    pub fn generated_bucket_name(&self) -> String {
        generated_name(self.stack_name, self.logical_id, 63, true)
    }

    /// Stack tags merged with the resource's own (the resource's win).
    pub fn tags(&self, props: &Props<'_>, key: &str) -> Result<Vec<(String, String)>, Failure> {
        let own = props.tag_list(key)?;
        let mut out: Vec<(String, String)> = self
            .stack_tags
            .iter()
            .filter(|t| !own.iter().any(|(k, _)| *k == t.key))
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        out.extend(own);
        Ok(out)
    }
}

/// `STACK-LOGICALID-SUFFIX` within `max` characters.
pub fn generated_name(stack: &str, logical: &str, max: usize, bucket: bool) -> String {
    let suffix = crate::random_suffix(13);
    let clean = |s: &str| -> String {
        if bucket {
            s.to_ascii_lowercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        } else {
            s.to_string()
        }
    };
    let suffix = if bucket {
        suffix.to_ascii_lowercase()
    } else {
        suffix
    };
    let room = max.saturating_sub(suffix.len() + 2);
    let mut stack = clean(stack);
    let mut logical = clean(logical);
    if stack.len() + logical.len() > room {
        let half = room / 2;
        let logical_room = logical
            .len()
            .min(room.saturating_sub(half.min(stack.len())));
        logical.truncate(logical_room);
        stack.truncate(room.saturating_sub(logical.len()));
    }
    let name = format!("{stack}-{logical}-{suffix}");
    if bucket {
        name.trim_matches('-').to_string()
    } else {
        name
    }
}

/// The resolved properties of one resource, with AWS-style validation messages.
pub struct Props<'a> {
    logical_id: &'a str,
    kind: &'a str,
    map: Map<String, Value>,
}

impl<'a> Props<'a> {
    /// Wraps resolved properties.
    pub fn new(logical_id: &'a str, kind: &'a str, v: &Value) -> Props<'a> {
        Props {
            logical_id,
            kind,
            map: v.as_object().cloned().unwrap_or_default(),
        }
    }

    fn invalid(&self, message: impl std::fmt::Display) -> Failure {
        Failure(format!(
            "Properties validation failed for resource {} with message: {message}",
            self.logical_id
        ))
    }

    /// Fails on properties the type does not take here.
    pub fn allow(&self, allowed: &[&str]) -> Result<(), Failure> {
        let extra: Vec<&str> = self
            .map
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        if extra.is_empty() {
            return Ok(());
        }
        Err(self.invalid(format!(
            "#: extraneous key [{}] is not permitted (Perimeter's {} takes {})",
            extra.join(", "),
            self.kind,
            allowed.join(", ")
        )))
    }

    /// A property's raw value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string property.
    pub fn str(&self, key: &str) -> Result<Option<String>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar_text(v).map(Some).ok_or_else(|| {
                self.invalid(format!(
                    "#/{key}: expected type: String, found: {}",
                    kind_of(v)
                ))
            }),
        }
    }

    /// A required string property.
    pub fn required(&self, key: &str) -> Result<String, Failure> {
        self.str(key)?
            .ok_or_else(|| self.invalid(format!("#: required key [{key}] not found")))
    }

    /// An integer property.
    pub fn int(&self, key: &str) -> Result<Option<i64>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => int_of(v).map(Some).ok_or_else(|| {
                self.invalid(format!(
                    "#/{key}: expected type: Integer, found: {}",
                    kind_of(v)
                ))
            }),
        }
    }

    /// A boolean property (`true`, `"true"`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => bool_of(v).map(Some).ok_or_else(|| {
                self.invalid(format!(
                    "#/{key}: expected type: Boolean, found: {}",
                    kind_of(v)
                ))
            }),
        }
    }

    /// A list-of-strings property.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, Failure> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    scalar_text(i).ok_or_else(|| {
                        self.invalid(format!(
                            "#/{key}: expected type: String, found: {}",
                            kind_of(i)
                        ))
                    })
                })
                .collect(),
            Some(v) => Err(self.invalid(format!(
                "#/{key}: expected type: JSONArray, found: {}",
                kind_of(v)
            ))),
        }
    }

    /// A list-of-objects property.
    pub fn objects(&self, key: &str) -> Result<Vec<Map<String, Value>>, Failure> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_object().cloned().ok_or_else(|| {
                        self.invalid(format!(
                            "#/{key}: expected type: JSONObject, found: {}",
                            kind_of(i)
                        ))
                    })
                })
                .collect(),
            Some(v) => Err(self.invalid(format!(
                "#/{key}: expected type: JSONArray, found: {}",
                kind_of(v)
            ))),
        }
    }

    /// An object property.
    pub fn object(&self, key: &str) -> Result<Option<Map<String, Value>>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(v) => Err(self.invalid(format!(
                "#/{key}: expected type: JSONObject, found: {}",
                kind_of(v)
            ))),
        }
    }

    /// A policy document property (an object, or JSON text), as JSON text.
    pub fn document(&self, key: &str) -> Result<Option<String>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
            Some(v) => Err(self.invalid(format!(
                "#/{key}: expected type: JSONObject, found: {}",
                kind_of(v)
            ))),
        }
    }

    /// A required policy document.
    pub fn required_document(&self, key: &str) -> Result<String, Failure> {
        self.document(key)?
            .ok_or_else(|| self.invalid(format!("#: required key [{key}] not found")))
    }

    /// A `[{Key, Value}]` tag list.
    pub fn tag_list(&self, key: &str) -> Result<Vec<(String, String)>, Failure> {
        let mut out = Vec::new();
        for t in self.objects(key)? {
            let k = t.get("Key").and_then(scalar_text);
            let v = t.get("Value").and_then(scalar_text);
            match (k, v) {
                (Some(k), Some(v)) => out.push((k, v)),
                _ => {
                    return Err(self.invalid(format!("#/{key}: every tag needs a Key and a Value")));
                }
            }
        }
        Ok(out)
    }

    /// A validation failure about this resource.
    pub fn fail(&self, message: impl std::fmt::Display) -> Failure {
        self.invalid(message)
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// An integer from a number or numeric text.
pub fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean from `true`/`false` or their text.
pub fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// What CloudFormation knows about a resource type.
pub struct TypeInfo {
    /// The type name.
    pub kind: &'static str,
    /// Its `Fn::GetAtt` attributes.
    pub attributes: &'static [&'static str],
    /// Properties whose change replaces the resource.
    pub replace: &'static [&'static str],
    /// Whether any other change is made in place.
    pub updatable: bool,
    /// The property naming the resource (replacement then needs a new name).
    pub name_property: Option<&'static str>,
}

const TYPES: &[TypeInfo] = &[
    iam::ROLE,
    iam::POLICY,
    iam::MANAGED_POLICY,
    iam::USER,
    iam::GROUP,
    iam::INSTANCE_PROFILE,
    kms::KEY,
    kms::ALIAS,
    s3::BUCKET,
    s3::BUCKET_POLICY,
    ec2::VPC,
    ec2::SUBNET,
    ec2::SECURITY_GROUP,
    ec2::SECURITY_GROUP_INGRESS,
    ec2::SECURITY_GROUP_EGRESS,
    ec2::ROUTE_TABLE,
    ec2::ROUTE,
    ec2::SUBNET_ROUTE_TABLE_ASSOCIATION,
    ec2::INTERNET_GATEWAY,
    ec2::VPC_GATEWAY_ATTACHMENT,
    ec2::NAT_GATEWAY,
    ec2::EIP,
    ec2::VPC_ENDPOINT,
    ec2::FLOW_LOG,
    logs::LOG_GROUP,
    ssm::PARAMETER,
    sagemaker::DOMAIN,
    sagemaker::USER_PROFILE,
    sagemaker::SPACE,
    sagemaker::APP,
    sagemaker::NOTEBOOK_INSTANCE,
    WAIT_CONDITION_HANDLE,
];

/// `AWS::CloudFormation::WaitConditionHandle`: a placeholder resource with no calls.
const WAIT_CONDITION_HANDLE: TypeInfo = TypeInfo {
    kind: "AWS::CloudFormation::WaitConditionHandle",
    attributes: &[],
    replace: &[],
    updatable: true,
    name_property: None,
};

/// The type `kind`, when Perimeter creates it.
pub fn info(kind: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.kind == kind)
}

/// The `Fn::GetAtt` attributes of `kind`, when Perimeter creates it.
pub fn attributes(kind: &str) -> Option<&'static [&'static str]> {
    info(kind).map(|t| t.attributes)
}

/// The resource types Perimeter creates.
pub fn supported_types() -> Vec<&'static str> {
    TYPES.iter().map(|t| t.kind).collect()
}

/// Why `kind` cannot be created.
pub fn unsupported(kind: &str) -> Failure {
    Failure(format!(
        "Resource type {kind} is not supported by Perimeter (supported: {})",
        supported_types().join(", ")
    ))
}

/// Whether moving from `old` to `new` properties needs a new resource; `Err` when it would
/// but the resource has a custom name.
pub fn needs_replacement(kind: &str, old: &Value, new: &Value) -> bool {
    let Some(t) = info(kind) else { return true };
    let changed = changed_properties(old, new);
    if changed.is_empty() {
        return false;
    }
    !t.updatable || changed.iter().any(|p| t.replace.contains(&p.as_str()))
}

/// The top-level properties that differ.
pub fn changed_properties(old: &Value, new: &Value) -> Vec<String> {
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<String> = o
        .keys()
        .chain(n.keys())
        .filter(|k| o.get(*k) != n.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Creates a resource.
pub async fn create(ctx: &Ctx<'_>, kind: &str, props: &Value) -> Result<Created, Partial> {
    let p = Props::new(ctx.logical_id, kind, props);
    match kind {
        k if k.starts_with("AWS::IAM::") => iam::create(ctx, k, &p).await,
        k if k.starts_with("AWS::KMS::") => kms::create(ctx, k, &p).await,
        k if k.starts_with("AWS::S3::") => s3::create(ctx, k, &p).await,
        k if k.starts_with("AWS::EC2::") => ec2::create(ctx, k, &p).await,
        "AWS::Logs::LogGroup" => logs::create(ctx, &p).await,
        "AWS::SSM::Parameter" => ssm::create(ctx, &p).await,
        k if k.starts_with("AWS::SageMaker::") => sagemaker::create(ctx, k, &p).await,
        "AWS::CloudFormation::WaitConditionHandle" => Ok(Created::new(format!(
            "https://cloudformation-waitcondition-{}.s3.amazonaws.com/{}",
            ctx.region(),
            crate::random_suffix(20)
        ))),
        other => Err(unsupported(other).into()),
    }
}

/// Updates a resource in place (the caller decided no replacement is needed).
pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    props: &Value,
) -> Result<Created, Failure> {
    let kind = current.kind.as_str();
    let p = Props::new(ctx.logical_id, kind, props);
    let old = Props::new(ctx.logical_id, kind, &current.properties);
    match kind {
        k if k.starts_with("AWS::IAM::") => iam::update(ctx, current, &old, &p).await,
        k if k.starts_with("AWS::KMS::") => kms::update(ctx, current, &old, &p).await,
        k if k.starts_with("AWS::S3::") => s3::update(ctx, current, &old, &p).await,
        k if k.starts_with("AWS::EC2::") => ec2::update(ctx, current, &old, &p).await,
        "AWS::Logs::LogGroup" => logs::update(ctx, current, &old, &p).await,
        "AWS::SSM::Parameter" => ssm::update(ctx, current, &old, &p).await,
        k if k.starts_with("AWS::SageMaker::") => sagemaker::update(ctx, current, &old, &p).await,
        "AWS::CloudFormation::WaitConditionHandle" => Ok(unchanged(current)),
        other => Err(unsupported(other)),
    }
}

/// Deletes a resource.
pub async fn delete(ctx: &Ctx<'_>, current: &ResourceRecord) -> Result<(), Failure> {
    let Some(id) = current.physical_id.as_deref() else {
        return Ok(());
    };
    let kind = current.kind.as_str();
    let p = Props::new(ctx.logical_id, kind, &current.properties);
    match kind {
        k if k.starts_with("AWS::IAM::") => iam::delete(ctx, k, id, &p, current).await,
        k if k.starts_with("AWS::KMS::") => kms::delete(ctx, k, id, &p).await,
        k if k.starts_with("AWS::S3::") => s3::delete(ctx, k, id, &p).await,
        k if k.starts_with("AWS::EC2::") => ec2::delete(ctx, k, id, &p, current).await,
        "AWS::Logs::LogGroup" => logs::delete(ctx, id).await,
        "AWS::SSM::Parameter" => ssm::delete(ctx, id).await,
        k if k.starts_with("AWS::SageMaker::") => sagemaker::delete(ctx, k, id, &p, current).await,
        _ => Ok(()),
    }
}

/// The resource as it is.
fn unchanged(current: &ResourceRecord) -> Created {
    Created {
        physical_id: current.physical_id.clone().unwrap_or_default(),
        attributes: current.attributes.clone(),
    }
}

/// `[{Key, Value}]` as the services' `Tags` lists take them.
fn key_value_tags(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// Adds `key: value` to `m` when `value` is present.
fn put<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.to_string(), v.into());
    }
}

/// The tags added or changed, and the keys removed, going from `old` to `new`.
fn tag_diff(
    old: &[(String, String)],
    new: &[(String, String)],
) -> (Vec<(String, String)>, Vec<String>) {
    let set: Vec<(String, String)> = new.iter().filter(|t| !old.contains(t)).cloned().collect();
    let removed: Vec<String> = old
        .iter()
        .filter(|(k, _)| !new.iter().any(|(nk, _)| nk == k))
        .map(|(k, _)| k.clone())
        .collect();
    (set, removed)
}

/// Moves a resource's tags from `old` to `new` with its service's own tag operations: first
/// `Untag` with the keys removed (the input `untag` builds from them), then `Tag` with the tags
/// added or changed (the input `tag` builds from them). A side with nothing to do is not called.
async fn retag<Untag, Tag>(
    ctx: &Ctx<'_>,
    svc: &Arc<Untag::Service>,
    service: &'static str,
    old: &[(String, String)],
    new: &[(String, String)],
    untag: impl FnOnce(Vec<String>) -> Value,
    tag: impl FnOnce(&[(String, String)]) -> Value,
) -> Result<(), Failure>
where
    Untag: Operation,
    Tag: Operation<Service = Untag::Service>,
{
    let (set, removed) = tag_diff(old, new);
    if !removed.is_empty() {
        ctx.call::<Untag>(svc, service, untag(removed)).await?;
    }
    if !set.is_empty() {
        ctx.call::<Tag>(svc, service, tag(&set)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit() {
        let n = generated_name("my-stack", "StudioRoleDataScience", 64, false);
        assert!(n.starts_with("my-stack-StudioRoleDataScience-"), "{n}");
        assert_eq!(n.len(), "my-stack-StudioRoleDataScience-".len() + 13);
        let long = "s".repeat(100);
        let n = generated_name(&long, &"L".repeat(100), 64, false);
        assert!(n.len() <= 64, "{n}");
        let b = generated_name("Perimeter_Data", "DataBucket", 63, true);
        assert!(b.starts_with("perimeter-data-databucket-"), "{b}");
        assert!(
            b.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn replacement_follows_the_type() {
        let old = json!({"BucketName": "a", "Tags": []});
        assert!(!needs_replacement("AWS::S3::Bucket", &old, &old));
        assert!(!needs_replacement(
            "AWS::S3::Bucket",
            &old,
            &json!({"BucketName": "a", "Tags": [{"Key": "k", "Value": "v"}]})
        ));
        assert!(needs_replacement(
            "AWS::S3::Bucket",
            &old,
            &json!({"BucketName": "b"})
        ));
        assert!(needs_replacement("AWS::Nope::Thing", &old, &json!({})));
    }

    #[test]
    fn props_validate_like_cloudformation() {
        let v = json!({"A": "x", "N": "443", "B": "true", "L": ["a", 1], "O": 5});
        let p = Props::new("Res", "AWS::S3::Bucket", &v);
        assert_eq!(p.int("N").expect("int"), Some(443));
        assert_eq!(p.bool("B").expect("bool"), Some(true));
        assert_eq!(p.strings("L").expect("list"), vec!["a", "1"]);
        let e = p.required("Missing").expect_err("required");
        assert_eq!(
            e.0,
            "Properties validation failed for resource Res with message: #: required key [Missing] not found"
        );
        assert!(p.objects("O").is_err());
        assert!(
            p.allow(&["A", "N", "B", "L"])
                .expect_err("extra")
                .0
                .contains("[O]")
        );
    }
}
