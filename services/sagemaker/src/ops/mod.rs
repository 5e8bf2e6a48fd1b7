//! The SageMaker API. Every operation is a request type holding its input as the model
//! spells it; [`authorize`] declares its checks and [`handle`] does the work. The families
//! live in their own modules: Studio ([`studio`]), jobs ([`jobs`]), hosting ([`hosting`]),
//! notebook instances ([`notebooks`]), tags ([`tagging`]) and Search ([`search`]).
//!
//! A check is `sagemaker:<Operation>` on the resource's ARN (`*` for List* and Search), with
//! the resource's tags (`aws:ResourceTag/*`, `sagemaker:ResourceTag/*`) when it exists, the
//! request's tags (`aws:RequestTag/*`, `aws:TagKeys` and their `sagemaker:` forms) when it
//! creates one, the operation's condition keys ([`crate::keys`]), and — for requests signed
//! with a Studio app's credentials — `sagemaker:DomainId` and `sagemaker:UserProfileName`.
//! Every role passed is one more check, `iam:PassRole`.

mod hosting;
mod jobs;
mod notebooks;
mod search;
mod studio;
mod tagging;

use std::future::Future;
use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, ServiceDef};
use serde_json::{Map, Value, json};

use crate::errors::{invalid_token, not_found, validation};
use crate::keys::{self, Facts};
use crate::kinds::{Kind, arn};
use crate::state::{AppCredential, Resource, Tag};
use crate::{SERVICE_PRINCIPAL, SageMaker, tags, time};

pub(crate) use studio::{DOMAIN_TAG, SPACE_TAG, USER_PROFILE_TAG};

/// How long a transitional status lasts before it settles, in seconds.
pub(crate) mod delay {
    /// Domains, user profiles, spaces and apps: `Pending` → `InService`.
    pub const STUDIO: f64 = 1.0;
    /// Jobs: `InProgress` → `Completed`.
    pub const JOB: f64 = 3.0;
    /// Endpoints: `Creating`/`Updating` → `InService`.
    pub const ENDPOINT: f64 = 2.0;
    /// Notebook instances: `Pending` → `InService`.
    pub const NOTEBOOK: f64 = 2.0;
    /// `Stopping` → `Stopped`, `Deleting` → `Deleted`.
    pub const STOP: f64 = 1.0;
}

macro_rules! operations {
    ($($op:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($op), "`, its input as the model spells it.")]
            #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
            #[serde(transparent)]
            pub struct $op(pub Value);

            impl gateway::Operation for $op {
                type Service = SageMaker;
                type Output = Value;
                const NAME: &'static str = stringify!($op);

                fn authorize(&self, svc: &SageMaker, call: &Call) -> Result<Authorization, AwsError> {
                    authorize(svc, call, Self::NAME, &self.0)
                }

                fn handle(
                    self,
                    svc: Arc<SageMaker>,
                    call: Call,
                ) -> impl Future<Output = Result<Value, AwsError>> + Send {
                    async move { handle(&svc, &call, Self::NAME, self.0).await }
                }
            }
        )*

        /// Registers every operation.
        pub(crate) fn register(def: ServiceDef, svc: &Arc<SageMaker>) -> ServiceDef {
            def$(.operation::<$op>(svc))*
        }

        /// The operations served.
        pub const OPERATIONS: &[&str] = &[$(stringify!($op)),*];
    };
}

operations!(
    CreateDomain,
    DescribeDomain,
    ListDomains,
    UpdateDomain,
    DeleteDomain,
    CreateUserProfile,
    DescribeUserProfile,
    ListUserProfiles,
    UpdateUserProfile,
    DeleteUserProfile,
    CreateSpace,
    DescribeSpace,
    ListSpaces,
    UpdateSpace,
    DeleteSpace,
    CreateApp,
    DescribeApp,
    ListApps,
    DeleteApp,
    CreatePresignedDomainUrl,
    CreateTrainingJob,
    DescribeTrainingJob,
    ListTrainingJobs,
    StopTrainingJob,
    CreateProcessingJob,
    DescribeProcessingJob,
    ListProcessingJobs,
    StopProcessingJob,
    CreateTransformJob,
    DescribeTransformJob,
    ListTransformJobs,
    StopTransformJob,
    CreateHyperParameterTuningJob,
    DescribeHyperParameterTuningJob,
    ListHyperParameterTuningJobs,
    StopHyperParameterTuningJob,
    CreateAutoMLJob,
    DescribeAutoMLJob,
    ListAutoMLJobs,
    StopAutoMLJob,
    CreateAutoMLJobV2,
    DescribeAutoMLJobV2,
    CreateCompilationJob,
    DescribeCompilationJob,
    ListCompilationJobs,
    StopCompilationJob,
    CreateModel,
    DescribeModel,
    ListModels,
    DeleteModel,
    CreateEndpointConfig,
    DescribeEndpointConfig,
    ListEndpointConfigs,
    DeleteEndpointConfig,
    CreateEndpoint,
    DescribeEndpoint,
    ListEndpoints,
    UpdateEndpoint,
    DeleteEndpoint,
    CreateNotebookInstance,
    DescribeNotebookInstance,
    ListNotebookInstances,
    StartNotebookInstance,
    StopNotebookInstance,
    UpdateNotebookInstance,
    DeleteNotebookInstance,
    CreatePresignedNotebookInstanceUrl,
    CreateNotebookInstanceLifecycleConfig,
    DescribeNotebookInstanceLifecycleConfig,
    ListNotebookInstanceLifecycleConfigs,
    UpdateNotebookInstanceLifecycleConfig,
    DeleteNotebookInstanceLifecycleConfig,
    AddTags,
    DeleteTags,
    ListTags,
    Search,
);

/// The kind an operation that names one existing resource acts on.
fn target_kind(op: &str) -> Option<Kind> {
    let noun = [
        "Describe", "Delete", "Stop", "Start", "Update", "Create", "List",
    ]
    .iter()
    .find_map(|verb| op.strip_prefix(verb))?;
    let noun = if op.starts_with("List") {
        noun.strip_suffix('s').unwrap_or(noun)
    } else {
        noun
    };
    Some(match noun {
        "Domain" => Kind::Domain,
        "UserProfile" => Kind::UserProfile,
        "Space" => Kind::Space,
        "App" => Kind::App,
        "TrainingJob" => Kind::TrainingJob,
        "ProcessingJob" => Kind::ProcessingJob,
        "TransformJob" => Kind::TransformJob,
        "HyperParameterTuningJob" => Kind::HyperParameterTuningJob,
        "AutoMLJob" | "AutoMLJobV2" => Kind::AutoMlJob,
        "CompilationJob" => Kind::CompilationJob,
        "Model" => Kind::Model,
        "EndpointConfig" => Kind::EndpointConfig,
        "Endpoint" => Kind::Endpoint,
        "NotebookInstance" => Kind::NotebookInstance,
        "NotebookInstanceLifecycleConfig" => Kind::NotebookInstanceLifecycleConfig,
        _ => return None,
    })
}

/// Declares the checks of `op`.
fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    if !input.is_object() {
        return Err(validation("the request must be a JSON object"));
    }
    if op == "Search" {
        return Ok(Authorization::check(search::check(svc, call, input)?));
    }
    if op.starts_with("List") && op != "ListTags" {
        return Ok(Authorization::check(base(svc, call, op, "*".into())));
    }
    match op {
        "CreateDomain"
        | "UpdateDomain"
        | "CreateUserProfile"
        | "UpdateUserProfile"
        | "CreateSpace"
        | "UpdateSpace"
        | "CreateApp"
        | "CreatePresignedDomainUrl" => studio::authorize(svc, call, op, input),
        "CreateTrainingJob"
        | "CreateProcessingJob"
        | "CreateTransformJob"
        | "CreateHyperParameterTuningJob"
        | "CreateAutoMLJob"
        | "CreateAutoMLJobV2"
        | "CreateCompilationJob" => jobs::authorize(svc, call, op, input),
        "CreateModel" | "CreateEndpointConfig" | "CreateEndpoint" | "UpdateEndpoint" => {
            hosting::authorize(svc, call, op, input)
        }
        "CreateNotebookInstance"
        | "UpdateNotebookInstance"
        | "CreateNotebookInstanceLifecycleConfig" => notebooks::authorize(svc, call, op, input),
        "AddTags" | "DeleteTags" | "ListTags" => tagging::authorize(svc, call, op, input),
        "CreatePresignedNotebookInstanceUrl" => {
            let kind = Kind::NotebookInstance;
            let (id, path) = target(kind, input)?;
            Ok(Authorization::check(existing(
                svc, call, op, kind, &id, &path, input,
            )))
        }
        _ => {
            let kind = target_kind(op)
                .ok_or_else(|| AwsError::internal(format!("no authorization declared for {op}")))?;
            let (id, path) = target(kind, input)?;
            Ok(Authorization::check(existing(
                svc, call, op, kind, &id, &path, input,
            )))
        }
    }
}

/// Runs `op`, once the gateway has allowed it.
async fn handle(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: Value,
) -> Result<Value, AwsError> {
    match op {
        "CreateDomain" => studio::create_domain(svc, call, input).await,
        "UpdateDomain" => studio::update_domain(svc, call, input).await,
        "DeleteDomain" => studio::delete_domain(svc, call, input).await,
        "CreateUserProfile" => studio::create_user_profile(svc, call, input).await,
        "UpdateUserProfile" => studio::update_user_profile(svc, call, input).await,
        "DeleteUserProfile" => studio::delete_user_profile(svc, call, input).await,
        "CreateSpace" => studio::create_space(svc, call, input).await,
        "UpdateSpace" => studio::update_space(svc, call, input).await,
        "DeleteSpace" => studio::delete_space(svc, call, input).await,
        "CreateApp" => studio::create_app(svc, call, input).await,
        "DeleteApp" => studio::delete_app(svc, call, input).await,
        "CreatePresignedDomainUrl" => studio::create_presigned_domain_url(svc, call, input).await,
        "ListDomains" => list(svc, call, Kind::Domain, &input, |_| true),
        "ListUserProfiles" => studio::list_user_profiles(svc, call, &input),
        "ListSpaces" => studio::list_spaces(svc, call, &input),
        "ListApps" => studio::list_apps(svc, call, &input),
        "CreateTrainingJob" => jobs::create_training_job(svc, call, input).await,
        "CreateProcessingJob" => jobs::create_processing_job(svc, call, input).await,
        "CreateTransformJob" => jobs::create_transform_job(svc, call, input).await,
        "CreateHyperParameterTuningJob" => jobs::create_tuning_job(svc, call, input).await,
        "CreateAutoMLJob" | "CreateAutoMLJobV2" => {
            jobs::create_automl_job(svc, call, op, input).await
        }
        "CreateCompilationJob" => jobs::create_compilation_job(svc, call, input).await,
        "StopTrainingJob"
        | "StopProcessingJob"
        | "StopTransformJob"
        | "StopHyperParameterTuningJob"
        | "StopAutoMLJob"
        | "StopCompilationJob" => jobs::stop(svc, call, op, input).await,
        "CreateModel" => hosting::create_model(svc, call, input).await,
        "CreateEndpointConfig" => hosting::create_endpoint_config(svc, call, input).await,
        "CreateEndpoint" => hosting::create_endpoint(svc, call, input).await,
        "UpdateEndpoint" => hosting::update_endpoint(svc, call, input).await,
        "DeleteModel" | "DeleteEndpointConfig" | "DeleteEndpoint" => {
            hosting::delete(svc, call, op, input).await
        }
        "CreateNotebookInstance" => notebooks::create_notebook_instance(svc, call, input).await,
        "StartNotebookInstance" => notebooks::start(svc, call, input).await,
        "StopNotebookInstance" => notebooks::stop(svc, call, input).await,
        "UpdateNotebookInstance" => notebooks::update(svc, call, input).await,
        "DeleteNotebookInstance" => notebooks::delete(svc, call, input).await,
        "CreatePresignedNotebookInstanceUrl" => notebooks::presigned_url(svc, call, input).await,
        "CreateNotebookInstanceLifecycleConfig" => {
            notebooks::create_lifecycle_config(svc, call, input).await
        }
        "UpdateNotebookInstanceLifecycleConfig" => {
            notebooks::update_lifecycle_config(svc, call, input).await
        }
        "DeleteNotebookInstanceLifecycleConfig" => {
            notebooks::delete_lifecycle_config(svc, call, input).await
        }
        "AddTags" => tagging::add_tags(svc, call, input).await,
        "DeleteTags" => tagging::delete_tags(svc, call, input).await,
        "ListTags" => tagging::list_tags(svc, call, &input),
        "Search" => search::search(svc, call, &input),
        _ if op.starts_with("Describe") => {
            let kind = target_kind(op)
                .ok_or_else(|| AwsError::internal(format!("no handler for {op}")))?;
            describe(svc, call, kind, &input)
        }
        _ if op.starts_with("List") => {
            let kind = target_kind(op)
                .ok_or_else(|| AwsError::internal(format!("no handler for {op}")))?;
            list(svc, call, kind, &input, |_| true)
        }
        _ => Err(AwsError::internal(format!("no handler for {op}"))),
    }
}

// ---------------------------------------------------------------------------------------
// Naming

/// A required string member.
pub(crate) fn required<'a>(input: &'a Value, member: &str) -> Result<&'a str, AwsError> {
    input
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(member)
            ))
        })
}

/// An optional string member.
pub(crate) fn opt<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The id a resource is kept under and the path its ARN ends with, from the request.
pub(crate) fn target(kind: Kind, input: &Value) -> Result<(String, String), AwsError> {
    let spec = kind.spec();
    match kind {
        Kind::Domain => {
            let d = required(input, "DomainId")?;
            Ok((d.to_string(), d.to_string()))
        }
        Kind::UserProfile | Kind::Space => {
            let d = required(input, "DomainId")?;
            let n = required(input, spec.name)?;
            let path = format!("{d}/{n}");
            Ok((path.clone(), path))
        }
        Kind::App => {
            let d = required(input, "DomainId")?;
            let owner = match (opt(input, "UserProfileName"), opt(input, "SpaceName")) {
                (Some(p), None) => p,
                (None, Some(s)) => s,
                _ => {
                    return Err(validation(
                        "Exactly one of UserProfileName or SpaceName must be specified.",
                    ));
                }
            };
            let app_type = required(input, "AppType")?;
            let name = required(input, "AppName")?;
            let path = format!("{d}/{owner}/{}/{name}", app_type.to_ascii_lowercase());
            Ok((path.clone(), path))
        }
        _ => {
            let n = required(input, spec.name)?;
            Ok((kind.id_of(n), n.to_string()))
        }
    }
}

/// The ARN of `kind` at `path` in the caller's account.
pub(crate) fn arn_in(svc: &SageMaker, call: &Call, kind: Kind, path: &str) -> String {
    arn(svc.region(), call.account(), kind, path)
}

/// The error a request for a missing resource gets, worded as SageMaker words it per type.
pub(crate) fn missing(kind: Kind, name: &str, arn: &str) -> AwsError {
    match kind {
        Kind::Domain => not_found(format!("Domain with id {name} was not found.")),
        Kind::UserProfile => not_found(format!("User profile \"{arn}\" does not exist.")),
        Kind::Space => not_found(format!("Space \"{arn}\" does not exist.")),
        Kind::App => not_found(format!("App \"{arn}\" does not exist.")),
        Kind::Model => validation(format!("Could not find model \"{arn}\".")),
        Kind::EndpointConfig => {
            validation(format!("Could not find endpoint configuration \"{arn}\"."))
        }
        Kind::Endpoint => validation(format!("Could not find endpoint \"{arn}\".")),
        Kind::NotebookInstance => validation("RecordNotFound"),
        Kind::NotebookInstanceLifecycleConfig => validation(format!(
            "Unable to describe Notebook Instance Lifecycle Config '{name}'. (Reason: RecordNotFound)"
        )),
        // Jobs: SageMaker answers `ValidationException` for a job name it does not know.
        _ => validation("Requested resource not found."),
    }
}

// ---------------------------------------------------------------------------------------
// Checks

/// `sagemaker:<op>` on `resource`, with the Studio context of the caller.
pub(crate) fn base(svc: &SageMaker, call: &Call, op: &str, resource: String) -> Check {
    let check = Check::new(format!("sagemaker:{op}"), resource);
    studio_keys(check, svc.studio_context(call).as_ref())
}

/// `sagemaker:DomainId` and `sagemaker:UserProfileName` for requests from a Studio app.
fn studio_keys(mut check: Check, studio: Option<&AppCredential>) -> Check {
    if let Some(s) = studio {
        check = check.with("sagemaker:DomainId", s.domain_id.clone());
        if let Some(p) = &s.user_profile_arn
            && let Some(name) = p.rsplit('/').next()
        {
            check = check.with("sagemaker:UserProfileName", name.to_string());
        }
    }
    check
}

/// Adds computed condition keys.
pub(crate) fn with_keys(mut check: Check, keys: keys::Keys) -> Check {
    for (k, v) in keys.0 {
        check = check.with(k, v);
    }
    check
}

/// What key computation needs about the request's space, if it names one.
pub(crate) fn facts(svc: &SageMaker, call: &Call, input: &Value) -> Facts {
    let mut f = Facts {
        region: svc.region().to_string(),
        account: call.account().to_string(),
        space: None,
    };
    if let (Some(d), Some(s)) = (opt(input, "DomainId"), opt(input, "SpaceName")) {
        let now = time::of_call(call);
        f.space = svc
            .read(|st| {
                Ok(st
                    .get(call.account(), Kind::Space, &format!("{d}/{s}"))
                    .map(|r| studio::space_ownership(svc, call.account(), &r.view(now))))
            })
            .ok()
            .flatten();
    }
    f
}

/// A check of `op` on an existing resource (or one that does not exist: the handler then
/// reports it missing), with its tags and the operation's keys.
pub(crate) fn existing(
    svc: &SageMaker,
    call: &Call,
    op: &str,
    kind: Kind,
    id: &str,
    path: &str,
    input: &Value,
) -> Check {
    let resource_arn = arn_in(svc, call, kind, path);
    let resource_tags = svc
        .read(|st| Ok(st.get(call.account(), kind, id).map(|r| r.tags.clone())))
        .ok()
        .flatten()
        .unwrap_or_default();
    let check = tags::with_resource_tags(base(svc, call, op, resource_arn), &resource_tags);
    with_keys(
        check,
        keys::for_operation(op, input, &facts(svc, call, input)),
    )
}

/// The checks of a create: `op` with the request's tags (with the Studio app's automatic
/// tags) and the operation's keys; and, when the new resource gets any of those tags,
/// `sagemaker:AddTags` on it with `sagemaker:TaggingAction = op` and the same request tags,
/// as SageMaker authorizes tagging on creation.
pub(crate) fn creating(
    svc: &SageMaker,
    call: &Call,
    op: &str,
    resource_arn: String,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let studio = svc.studio_context(call);
    let request_tags = tags::requested(&tags::from_input(input, "Tags")?, studio.as_ref());
    let check = tags::with_request_tags(base(svc, call, op, resource_arn.clone()), &request_tags);
    let mut auth = Authorization::check(with_keys(
        check,
        keys::for_operation(op, input, &facts(svc, call, input)),
    ));
    if !request_tags.is_empty() {
        auth = auth.and(tagging_on_create(
            svc,
            call,
            op,
            resource_arn,
            &request_tags,
        ));
    }
    Ok(auth)
}

/// `sagemaker:AddTags` on a resource `op` creates with `tags`.
pub(crate) fn tagging_on_create(
    svc: &SageMaker,
    call: &Call,
    op: &str,
    resource_arn: String,
    tags: &[Tag],
) -> Check {
    let check =
        base(svc, call, "AddTags", resource_arn).with("sagemaker:TaggingAction", op.to_string());
    tags::with_request_tags(check, tags)
}

/// `iam:PassRole` of `role` to SageMaker for `resource_arn`.
pub(crate) fn pass_role(call: &Call, role: &str, resource_arn: &str) -> Check {
    let owner = role
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or(call.account())
        .to_string();
    Check::new("iam:PassRole", role.to_string())
        .owned_by(owner)
        .with("iam:PassedToService", SERVICE_PRINCIPAL)
        .with("iam:AssociatedResourceArn", resource_arn.to_string())
}

// ---------------------------------------------------------------------------------------
// Describe, List

/// The Describe document of the resource the request names.
fn describe(svc: &SageMaker, call: &Call, kind: Kind, input: &Value) -> Result<Value, AwsError> {
    let (id, path) = target(kind, input)?;
    let now = time::of_call(call);
    let account = call.account();
    let found = svc.read(|st| Ok(st.get(account, kind, &id).map(|r| r.view(now))))?;
    let doc = found.ok_or_else(|| {
        let name = input
            .get(kind.spec().name)
            .and_then(Value::as_str)
            .unwrap_or(&path);
        missing(kind, name, &arn_in(svc, call, kind, &path))
    })?;
    Ok(shown(kind, doc))
}

/// A document as Describe shows it (internal members removed).
pub(crate) fn shown(_kind: Kind, mut doc: Value) -> Value {
    if let Value::Object(m) = &mut doc {
        m.retain(|k, _| !k.starts_with('_'));
    }
    doc
}

/// The usual List* request members.
pub(crate) struct ListQuery {
    pub name_contains: Option<String>,
    pub status: Option<String>,
    pub created_after: Option<f64>,
    pub created_before: Option<f64>,
    pub modified_after: Option<f64>,
    pub modified_before: Option<f64>,
    pub sort_by: String,
    pub descending: bool,
    pub max: usize,
    pub token: Option<String>,
}

impl ListQuery {
    pub(crate) fn of(input: &Value) -> ListQuery {
        let num = |m: &str| input.get(m).and_then(Value::as_f64);
        let sort_order = opt(input, "SortOrder").unwrap_or("Ascending");
        ListQuery {
            name_contains: opt(input, "NameContains").map(str::to_string),
            status: opt(input, "StatusEquals").map(str::to_string),
            created_after: num("CreationTimeAfter"),
            created_before: num("CreationTimeBefore"),
            modified_after: num("LastModifiedTimeAfter"),
            modified_before: num("LastModifiedTimeBefore"),
            sort_by: opt(input, "SortBy").unwrap_or("CreationTime").to_string(),
            descending: sort_order.eq_ignore_ascii_case("Descending")
                || sort_order.eq_ignore_ascii_case("desc"),
            max: input
                .get("MaxResults")
                .and_then(Value::as_u64)
                .map(|n| n.clamp(1, 100) as usize)
                .unwrap_or(10),
            token: opt(input, "NextToken").map(str::to_string),
        }
    }
}

/// One page of `items` from an offset token this service issued.
pub(crate) fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match token {
        None => 0,
        Some(t) => t
            .strip_prefix("sm-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(invalid_token)?,
    };
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(max.max(1)).collect();
    let next = (start + out.len() < total).then(|| format!("sm-{}", start + out.len()));
    Ok((out, next))
}

/// Lists `kind` with the usual filters, sorting and paging; `keep` narrows further.
pub(crate) fn list(
    svc: &SageMaker,
    call: &Call,
    kind: Kind,
    input: &Value,
    keep: impl Fn(&Value) -> bool,
) -> Result<Value, AwsError> {
    let q = ListQuery::of(input);
    let spec = kind.spec();
    let now = time::of_call(call);
    let mut docs: Vec<Value> = svc.read(|st| {
        Ok(st
            .of_kind(call.account(), kind)
            .map(|r| r.view(now))
            .collect())
    })?;
    let name_of = |d: &Value| {
        d.get(spec.name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let num = |d: &Value, m: &str| d.get(m).and_then(Value::as_f64).unwrap_or(0.0);
    docs.retain(|d| {
        q.name_contains
            .as_deref()
            .is_none_or(|n| name_of(d).to_lowercase().contains(&n.to_lowercase()))
            && q.status.as_deref().is_none_or(|s| {
                spec.status
                    .and_then(|m| d.get(m))
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(s))
            })
            && q.created_after.is_none_or(|t| num(d, "CreationTime") > t)
            && q.created_before.is_none_or(|t| num(d, "CreationTime") < t)
            && q.modified_after
                .is_none_or(|t| num(d, "LastModifiedTime") > t)
            && q.modified_before
                .is_none_or(|t| num(d, "LastModifiedTime") < t)
            && keep(d)
    });
    let status_of = |d: &Value| {
        spec.status
            .and_then(|m| d.get(m))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match q.sort_by.as_str() {
        "Name" => docs.sort_by_key(|d| name_of(d)),
        "Status" => docs.sort_by_key(|d| status_of(d)),
        _ => docs.sort_by(|a, b| num(a, "CreationTime").total_cmp(&num(b, "CreationTime"))),
    }
    if q.descending {
        docs.reverse();
    }
    let (page, next) = page(docs, q.token.as_deref(), q.max)?;
    let summaries: Vec<Value> = page.iter().map(|d| summary(kind, d)).collect();
    let mut out = Map::new();
    out.insert(spec.list.to_string(), Value::Array(summaries));
    if let Some(n) = next {
        out.insert("NextToken".into(), Value::String(n));
    }
    Ok(Value::Object(out))
}

/// The list summary of a document.
pub(crate) fn summary(kind: Kind, doc: &Value) -> Value {
    let mut out = Map::new();
    for m in kind.spec().summary {
        if let Some(v) = doc.get(*m).filter(|v| !v.is_null()) {
            out.insert((*m).to_string(), v.clone());
        }
    }
    if kind == Kind::Space {
        studio::space_summary_extras(doc, &mut out);
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------
// Creating and changing

/// The document of a new resource: the request without its tags, plus `extra`.
pub(crate) fn document(input: &Value, extra: Value) -> Value {
    let mut doc = match input {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    doc.remove("Tags");
    if let Value::Object(e) = extra {
        for (k, v) in e {
            doc.insert(k, v);
        }
    }
    Value::Object(doc)
}

/// A new resource record.
pub(crate) fn new_resource(
    call: &Call,
    kind: Kind,
    id: String,
    arn: String,
    doc: Value,
    tags: Vec<Tag>,
) -> Resource {
    Resource {
        account: call.account().to_string(),
        kind,
        id,
        arn,
        doc,
        tags,
        created: time::of_call(call),
        pending: None,
    }
}

/// Stores a new resource unless one with its id exists (then `exists` is the error).
pub(crate) async fn insert_new(
    svc: &SageMaker,
    call: &Call,
    resource: Resource,
    exists: impl FnOnce(&Resource) -> Option<AwsError> + Send,
) -> Result<(), AwsError> {
    let now = time::of_call(call);
    svc.write(call, move |st, batch| {
        if let Some(old) = st.get(&resource.account, resource.kind, &resource.id) {
            let mut old = old.clone();
            old.settle(now);
            if let Some(e) = exists(&old) {
                return Err(e);
            }
        }
        batch.put(&resource);
        st.insert(resource);
        Ok(())
    })
    .await
}

/// Changes an existing resource with `f` (after its pending changes are applied).
pub(crate) async fn modify<T: Send>(
    svc: &SageMaker,
    call: &Call,
    kind: Kind,
    id: &str,
    not_found: AwsError,
    f: impl FnOnce(&mut Resource, f64) -> Result<T, AwsError> + Send,
) -> Result<T, AwsError> {
    let now = time::of_call(call);
    let account = call.account().to_string();
    let id = id.to_string();
    svc.write(call, move |st, batch| {
        let r = st.get_mut(&account, kind, &id).ok_or(not_found)?;
        let mut copy = r.clone();
        copy.settle(now);
        let out = f(&mut copy, now)?;
        batch.put(&copy);
        *r = copy;
        Ok(out)
    })
    .await
}

/// `{member: arn}`.
pub(crate) fn arn_output(member: &str, arn: &str) -> Value {
    json!({ member: arn })
}

/// The member `path` of `v`, if present and not null.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// The strings of list member `path` of `v`.
pub(crate) fn strings(v: &Value, path: &[&str]) -> Vec<String> {
    match at(v, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A string member at `path` of `v`.
pub(crate) fn string(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_model_and_names_a_family() {
        let model: Value = serde_json::from_str(include_str!("../../sagemaker.json")).unwrap();
        let ops = model["operations"].as_object().unwrap();
        for op in OPERATIONS {
            assert!(ops.contains_key(*op), "{op} is not in the trimmed model");
            let generic = op.starts_with("List") || *op == "Search" || target_kind(op).is_some();
            assert!(
                generic
                    || [
                        "AddTags",
                        "DeleteTags",
                        "CreatePresignedDomainUrl",
                        "CreatePresignedNotebookInstanceUrl"
                    ]
                    .contains(op),
                "{op}"
            );
        }
        assert_eq!(
            ops.len(),
            OPERATIONS.len(),
            "the model has operations nothing serves"
        );
    }

    #[test]
    fn paging_tokens_are_offsets_this_service_issued() {
        let (p, next) = page((0..25).collect::<Vec<_>>(), None, 10).unwrap();
        assert_eq!(p.len(), 10);
        let (p2, next2) = page((0..25).collect::<Vec<_>>(), next.as_deref(), 10).unwrap();
        assert_eq!(p2[0], 10);
        let (p3, next3) = page((0..25).collect::<Vec<_>>(), next2.as_deref(), 10).unwrap();
        assert_eq!(p3.len(), 5);
        assert!(next3.is_none());
        assert!(page((0..3).collect::<Vec<_>>(), Some("bogus"), 10).is_err());
    }

    #[test]
    fn app_targets_lowercase_the_app_type_like_aws_arns() {
        let (id, path) = target(
            Kind::App,
            &json!({"DomainId": "d-1", "UserProfileName": "alice", "AppType": "JupyterServer", "AppName": "default"}),
        )
        .unwrap();
        assert_eq!(id, "d-1/alice/jupyterserver/default");
        assert_eq!(path, id);
        assert!(
            target(
                Kind::App,
                &json!({"DomainId": "d-1", "AppType": "JupyterServer", "AppName": "x"})
            )
            .is_err()
        );
        let (id, path) = target(Kind::TrainingJob, &json!({"TrainingJobName": "Job-1"})).unwrap();
        assert_eq!((id.as_str(), path.as_str()), ("job-1", "Job-1"));
    }
}
