//! The Parameter Store API. Each operation declares `ssm:<Action>` on the parameter ARN
//! (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`) with the parameter's tags
//! (`aws:ResourceTag/*`), and `ssm:Overwrite`, `aws:RequestTag/*`, `aws:TagKeys` where
//! Parameter Store supplies them.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, ServiceDef};
use serde::{Deserialize, Serialize};

use crate::Ssm;
use crate::names::{self, Selector, validation};
use crate::secure;
use crate::state::{Param, State, Tag, Version};

/// [`gateway::operation!`] for this service.
macro_rules! operation {
    ($op:ident -> $out:ty) => {
        gateway::operation!(crate::Ssm, $op -> $out);
    };
}

/// Registers every operation.
pub(crate) fn register(def: ServiceDef, svc: &Arc<Ssm>) -> ServiceDef {
    def.operation::<PutParameter>(svc)
        .operation::<GetParameter>(svc)
        .operation::<GetParameters>(svc)
        .operation::<GetParametersByPath>(svc)
        .operation::<DeleteParameter>(svc)
        .operation::<DeleteParameters>(svc)
        .operation::<DescribeParameters>(svc)
        .operation::<GetParameterHistory>(svc)
        .operation::<LabelParameterVersion>(svc)
        .operation::<UnlabelParameterVersion>(svc)
        .operation::<AddTagsToResource>(svc)
        .operation::<RemoveTagsFromResource>(svc)
        .operation::<ListTagsForResource>(svc)
}

// ---------------------------------------------------------------------------------------
// Shared pieces

/// Values larger than this need the advanced tier.
const STANDARD_MAX: usize = 4096;
const ADVANCED_MAX: usize = 8192;
const MAX_VERSIONS: usize = 100;
const MAX_LABELS_PER_VERSION: usize = 10;
const MAX_TAGS: usize = 50;

fn now(call: &Call) -> f64 {
    call.now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}

fn not_found(name: &str) -> AwsError {
    AwsError::bad_request("ParameterNotFound", format!("Parameter {name} not found."))
}

fn version_not_found(name: &str, v: u64) -> AwsError {
    AwsError::bad_request(
        "ParameterVersionNotFound",
        format!(
            "Systems Manager could not find version {v} of {name}. Verify the version and try again."
        ),
    )
}

fn invalid_token() -> AwsError {
    AwsError::bad_request("InvalidNextToken", "The nextToken is not valid.")
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// A check of `action` on the parameter `name` of the caller's account, with its tags.
fn param_check(svc: &Ssm, call: &Call, action: &'static str, name: &str) -> Check {
    let account = call.account();
    let arn = names::arn(svc.region(), account, name);
    let tags = svc
        .read(|st| Ok(st.get(account, name).map(|p| p.tags.clone())))
        .ok()
        .flatten()
        .unwrap_or_default();
    Check::new(action, arn).resource_tags(tag_pairs(&tags))
}

/// The version a selector picks.
fn select<'a>(p: &'a Param, sel: &Selector) -> Result<&'a Version, AwsError> {
    match sel {
        Selector::Latest => p.latest().ok_or_else(|| not_found(&p.name)),
        Selector::Version(v) => p.version(*v).ok_or_else(|| version_not_found(&p.name, *v)),
        Selector::Label(l) => p
            .labelled(l)
            .ok_or_else(|| not_found(&format!("{}:{l}", p.name))),
    }
}

/// One page of `items` from an offset token this service issued.
fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match token {
        None => 0,
        Some(t) => t
            .strip_prefix("ssm-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(invalid_token)?,
    };
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(max.max(1)).collect();
    let next = (start + out.len() < total).then(|| format!("ssm-{}", start + out.len()));
    Ok((out, next))
}

fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    if tags.len() > MAX_TAGS {
        return Err(AwsError::bad_request(
            "TooManyTagsError",
            "The Tags parameter contains more than 50 tags.",
        ));
    }
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(validation(format!("Tag `{}` is not valid.", t.key)));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag key `{}` uses the reserved prefix `aws:`.",
                t.key
            )));
        }
    }
    Ok(())
}

/// A parameter as `GetParameter` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterOut {
    name: String,
    #[serde(rename = "Type")]
    kind: String,
    value: String,
    version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<String>,
    last_modified_date: f64,
    #[serde(rename = "ARN")]
    arn: String,
    data_type: String,
}

/// Turns a stored version into the API's shape, decrypting a SecureString when asked.
async fn shown(
    svc: &Ssm,
    call: &Call,
    name: &str,
    v: Version,
    selector: Option<String>,
    decrypt: bool,
) -> Result<ParameterOut, AwsError> {
    let arn = names::arn(svc.region(), call.account(), name);
    let value = if v.kind == "SecureString" && decrypt {
        secure::decrypt(svc.kms(), call, &arn, &v.value).await?
    } else {
        v.value
    };
    Ok(ParameterOut {
        name: name.to_string(),
        kind: v.kind,
        value,
        version: v.version,
        selector,
        last_modified_date: v.modified,
        arn,
        data_type: v.data_type,
    })
}

// ---------------------------------------------------------------------------------------
// PutParameter

/// `PutParameter`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameter {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub value: String,
    #[serde(default, rename = "Type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub overwrite: Option<bool>,
    #[serde(default)]
    pub allowed_pattern: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub policies: Option<String>,
    #[serde(default)]
    pub data_type: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterOutput {
    version: u64,
    tier: String,
}

impl PutParameter {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.name);
        let pairs = tag_pairs(&self.tags);
        let put = param_check(svc, call, "ssm:PutParameter", &name)
            .with("ssm:Overwrite", self.overwrite.unwrap_or(false))
            .request_tags(&pairs, None);
        let mut auth = Authorization::check(put);
        if !self.tags.is_empty() {
            auth = auth.and(
                param_check(svc, call, "ssm:AddTagsToResource", &name).request_tags(&pairs, None),
            );
        }
        Ok(auth)
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<PutParameterOutput, AwsError> {
        let name = names::from_input(&self.name);
        names::check_name(&name)?;
        let overwrite = self.overwrite.unwrap_or(false);
        if overwrite && !self.tags.is_empty() {
            return Err(validation(
                "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
            ));
        }
        check_tags(&self.tags)?;
        if self.value.is_empty() {
            return Err(validation(
                "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        if self.policies.is_some() {
            return Err(AwsError::bad_request(
                "InvalidPolicyTypeException",
                "Parameter policies (Expiration, ExpirationNotification, NoChangeNotification) are not supported by Perimeter.",
            ));
        }
        let account = call.account().to_string();
        let existing =
            svc.read(|st| Ok(st.get(&account, &name).and_then(|p| p.latest().cloned())))?;
        if existing.is_some() && !overwrite {
            return Err(AwsError::bad_request(
                "ParameterAlreadyExists",
                "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
            ));
        }
        let kind = match (&self.kind, &existing) {
            (Some(k), Some(prev)) if *k != prev.kind => {
                return Err(AwsError::bad_request(
                    "HierarchyTypeMismatchException",
                    "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't change a parameter from a String type to a SecureString type. You must create a new, unique parameter.",
                ));
            }
            (Some(k), _) => k.clone(),
            (None, Some(prev)) => prev.kind.clone(),
            (None, None) => {
                return Err(validation(
                    "A parameter type is required when you create a parameter.",
                ));
            }
        };
        if self.key_id.is_some() && kind != "SecureString" {
            return Err(validation(
                "KeyId is valid only for parameters of type SecureString.",
            ));
        }
        let data_type = self
            .data_type
            .clone()
            .or_else(|| existing.as_ref().map(|p| p.data_type.clone()))
            .unwrap_or_else(|| "text".into());
        match data_type.as_str() {
            "text" | "aws:ssm:integration" => {}
            "aws:ec2:image" => {
                let ok = self
                    .value
                    .strip_prefix("ami-")
                    .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_hexdigit()));
                if !ok {
                    return Err(validation(format!(
                        "The value `{}` is not a valid Amazon Machine Image (AMI) ID for the aws:ec2:image data type.",
                        self.value
                    )));
                }
            }
            other => {
                return Err(validation(format!(
                    "The following data type is not supported: {other} (use text, aws:ec2:image or aws:ssm:integration)"
                )));
            }
        }
        // Tier: explicit, kept, or the smallest that fits (Intelligent-Tiering).
        let size = self.value.len();
        let previous_tier = existing.as_ref().map(|p| p.tier.clone());
        let tier = match self.tier.as_deref() {
            Some("Advanced") => "Advanced".to_string(),
            Some("Standard") => {
                if previous_tier.as_deref() == Some("Advanced") {
                    return Err(validation(
                        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
                    ));
                }
                "Standard".to_string()
            }
            Some("Intelligent-Tiering") => {
                if size > STANDARD_MAX || previous_tier.as_deref() == Some("Advanced") {
                    "Advanced".into()
                } else {
                    "Standard".into()
                }
            }
            _ => previous_tier.unwrap_or_else(|| "Standard".into()),
        };
        let limit = if tier == "Advanced" {
            ADVANCED_MAX
        } else {
            STANDARD_MAX
        };
        if size > limit {
            return Err(validation(if tier == "Advanced" {
                format!(
                    "Advanced tier parameters support a maximum parameter value of {ADVANCED_MAX} characters."
                )
            } else {
                format!(
                    "Standard tier parameters support a maximum parameter value of {STANDARD_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier."
                )
            }));
        }
        let allowed_pattern = self
            .allowed_pattern
            .clone()
            .or_else(|| existing.as_ref().and_then(|p| p.allowed_pattern.clone()))
            .filter(|p| !p.is_empty());
        if let Some(pattern) = &allowed_pattern {
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                AwsError::bad_request(
                    "InvalidAllowedPatternException",
                    format!(
                        "The allowed pattern `{pattern}` is not a valid regular expression: {e}"
                    ),
                )
            })?;
            if !re.is_match(&self.value) {
                return Err(AwsError::bad_request(
                    "ParameterPatternMismatchException",
                    format!(
                        "Parameter value, cannot be validated against allowedPattern: {pattern}"
                    ),
                ));
            }
        }
        let arn = names::arn(svc.region(), &account, &name);
        let (value, key_id) = if kind == "SecureString" {
            let key = self
                .key_id
                .clone()
                .or_else(|| existing.as_ref().and_then(|p| p.key_id.clone()))
                .unwrap_or_else(|| secure::DEFAULT_KEY.to_string());
            let (blob, _key_arn) =
                secure::encrypt(svc.kms(), call, &key, &arn, &self.value).await?;
            (blob, Some(key))
        } else {
            (self.value.clone(), None)
        };
        let description = self
            .description
            .clone()
            .or_else(|| existing.as_ref().and_then(|p| p.description.clone()));
        let modified = now(call);
        let user = call.caller.arn.clone();
        let out_tier = tier.clone();
        svc.write(call, move |st, batch| {
            let params = st.accounts.entry(account.clone()).or_default();
            let exists = params.contains_key(&name);
            if exists && !overwrite {
                return Err(AwsError::bad_request(
                    "ParameterAlreadyExists",
                    "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
                ));
            }
            let param = params.entry(name.clone()).or_insert_with(|| Param {
                account: account.clone(),
                name: name.clone(),
                tags: self.tags.clone(),
                versions: Vec::new(),
            });
            if param.versions.len() >= MAX_VERSIONS {
                // The oldest version goes, unless a label holds it.
                if param.versions.first().is_some_and(|v| !v.labels.is_empty()) {
                    return Err(AwsError::bad_request(
                        "ParameterMaxVersionLimitExceeded",
                        format!("You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.", param.versions.first().map(|v| v.version).unwrap_or(0)),
                    ));
                }
                param.versions.remove(0);
            }
            let version = param.latest().map(|v| v.version + 1).unwrap_or(1);
            param.versions.push(Version {
                version,
                kind,
                value,
                key_id,
                description,
                allowed_pattern,
                tier,
                data_type,
                labels: Vec::new(),
                modified,
                modified_user: user,
            });
            batch.put(&*param);
            Ok(PutParameterOutput {
                version,
                tier: out_tier,
            })
        })
        .await
    }
}
operation!(PutParameter -> PutParameterOutput);

// ---------------------------------------------------------------------------------------
// Reads

/// `GetParameter`, with `name:label` / `name:version` selectors.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameter {
    pub name: String,
    #[serde(default)]
    pub with_decryption: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterOutput {
    parameter: ParameterOut,
}

impl GetParameter {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let (name, _) = names::split_selector(&self.name)?;
        Ok(Authorization::check(param_check(
            svc,
            call,
            "ssm:GetParameter",
            &name,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<GetParameterOutput, AwsError> {
        let (name, sel) = names::split_selector(&self.name)?;
        let v = svc.read(|st| {
            let p = st
                .get(call.account(), &name)
                .ok_or_else(|| not_found(&name))?;
            select(p, &sel).cloned()
        })?;
        let parameter = shown(
            svc,
            call,
            &name,
            v,
            sel.text(),
            self.with_decryption.unwrap_or(false),
        )
        .await?;
        Ok(GetParameterOutput { parameter })
    }
}
operation!(GetParameter -> GetParameterOutput);

/// `GetParameters`: up to ten names; unknown ones come back in `InvalidParameters`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameters {
    pub names: Vec<String>,
    #[serde(default)]
    pub with_decryption: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersOutput {
    parameters: Vec<ParameterOut>,
    invalid_parameters: Vec<String>,
}

impl GetParameters {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let mut checks = Vec::new();
        for n in &self.names {
            let (name, _) = names::split_selector(n)?;
            checks.push(param_check(svc, call, "ssm:GetParameters", &name));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<GetParametersOutput, AwsError> {
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        for input in &self.names {
            let (name, sel) = names::split_selector(input)?;
            let v = svc.read(|st| {
                Ok(st
                    .get(call.account(), &name)
                    .and_then(|p| select(p, &sel).ok().cloned()))
            })?;
            match v {
                Some(v) => found.push((name, sel, v)),
                None => {
                    if !invalid.contains(input) {
                        invalid.push(input.clone());
                    }
                }
            }
        }
        let decrypt = self.with_decryption.unwrap_or(false);
        let mut parameters = Vec::new();
        for (name, sel, v) in found {
            parameters.push(shown(svc, call, &name, v, sel.text(), decrypt).await?);
        }
        Ok(GetParametersOutput {
            parameters,
            invalid_parameters: invalid,
        })
    }
}
operation!(GetParameters -> GetParametersOutput);

/// A `ParameterStringFilter`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StringFilter {
    pub key: String,
    #[serde(default)]
    pub option: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// Which filter keys an operation accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FilterUse {
    ByPath,
    Describe,
}

fn invalid_filter_key(key: &str, valid: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidFilterKey",
        format!(
            "The following filter key is not valid: {key}. Valid filter keys include: [{valid}]."
        ),
    )
}

fn invalid_option(option: &str, valid: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidFilterOption",
        format!(
            "The following filter option is not valid: {option}. Valid options include: [{valid}]."
        ),
    )
}

/// Checks filters before use.
fn check_filters(filters: &[StringFilter], usage: FilterUse) -> Result<(), AwsError> {
    for f in filters {
        let valid_keys = match usage {
            FilterUse::ByPath => "Type, KeyId, Label, tag:<key>",
            FilterUse::Describe => "Path, Name, Type, KeyId, Tier, DataType, tag:<key>",
        };
        let key_ok = match f.key.as_str() {
            "Type" | "KeyId" => true,
            "Label" => usage == FilterUse::ByPath,
            "Path" | "Name" | "Tier" | "DataType" => usage == FilterUse::Describe,
            k => k.starts_with("tag:") && k.len() > 4,
        };
        if !key_ok {
            return Err(invalid_filter_key(&f.key, valid_keys));
        }
        if let Some(opt) = &f.option {
            let valid = match f.key.as_str() {
                "Path" => "Recursive, OneLevel",
                "Name" => "Equals, BeginsWith, Contains",
                "Type" | "KeyId" | "Tier" | "DataType" | "Label" => "Equals, BeginsWith",
                _ => "Equals",
            };
            if !valid.split(", ").any(|v| v == opt) {
                return Err(invalid_option(opt, valid));
            }
        }
        if f.values.is_empty() && !f.key.starts_with("tag:") {
            return Err(AwsError::bad_request(
                "InvalidFilterValue",
                format!(
                    "The following filter values are missing : null for filter key {}.",
                    f.key
                ),
            ));
        }
    }
    Ok(())
}

fn text_matches(value: &str, option: Option<&str>, wanted: &[String]) -> bool {
    wanted.iter().any(|w| match option.unwrap_or("Equals") {
        "BeginsWith" => value.starts_with(w.as_str()),
        "Contains" => value.contains(w.as_str()),
        _ => value == w,
    })
}

/// Whether `name` lies under `path` (directly, or anywhere below when `recursive`).
fn under_path(name: &str, path: &str, recursive: bool) -> bool {
    let prefix = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    if path == "/" {
        return name.starts_with('/') && (recursive || !name[1..].contains('/'))
            || (!name.starts_with('/') && !recursive && !name.contains('/'));
    }
    match name.strip_prefix(prefix.as_str()) {
        Some(rest) => !rest.is_empty() && (recursive || !rest.contains('/')),
        None => false,
    }
}

fn filter_matches(p: &Param, v: &Version, f: &StringFilter) -> bool {
    let opt = f.option.as_deref();
    match f.key.as_str() {
        "Type" => text_matches(&v.kind, opt, &f.values),
        "KeyId" => v
            .key_id
            .as_deref()
            .is_some_and(|k| text_matches(k, opt, &f.values)),
        "Tier" => text_matches(&v.tier, opt, &f.values),
        "DataType" => text_matches(&v.data_type, opt, &f.values),
        "Label" => p
            .versions
            .iter()
            .flat_map(|x| x.labels.iter())
            .any(|l| text_matches(l, opt, &f.values)),
        "Name" => {
            // Names match with or without their leading slash.
            let bare = p.name.strip_prefix('/').unwrap_or(&p.name);
            let wanted: Vec<String> = f
                .values
                .iter()
                .map(|w| w.strip_prefix('/').unwrap_or(w).to_string())
                .collect();
            text_matches(bare, opt, &wanted)
        }
        "Path" => {
            let recursive = opt == Some("Recursive");
            f.values
                .iter()
                .any(|path| under_path(&p.name, path, recursive))
        }
        k => match k.strip_prefix("tag:") {
            Some(tag) => p
                .tags
                .iter()
                .any(|t| t.key == tag && (f.values.is_empty() || f.values.contains(&t.value))),
            None => false,
        },
    }
}

/// `GetParametersByPath`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPath {
    pub path: String,
    #[serde(default)]
    pub recursive: Option<bool>,
    #[serde(default)]
    pub parameter_filters: Vec<StringFilter>,
    #[serde(default)]
    pub with_decryption: Option<bool>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathOutput {
    parameters: Vec<ParameterOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl GetParametersByPath {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let path = self.path.trim_end_matches('/');
        let arn = names::arn(svc.region(), call.account(), path);
        Ok(Authorization::check(Check::new(
            "ssm:GetParametersByPath",
            arn,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<GetParametersByPathOutput, AwsError> {
        if !self.path.starts_with('/') {
            return Err(validation(
                "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.",
            ));
        }
        check_filters(&self.parameter_filters, FilterUse::ByPath)?;
        let recursive = self.recursive.unwrap_or(false);
        let matched: Vec<(String, Version)> = svc.read(|st| {
            Ok(st
                .accounts
                .get(call.account())
                .map(|params| {
                    params
                        .values()
                        .filter(|p| under_path(&p.name, &self.path, recursive))
                        .filter_map(|p| p.latest().map(|v| (p, v)))
                        .filter(|(p, v)| {
                            self.parameter_filters
                                .iter()
                                .all(|f| filter_matches(p, v, f))
                        })
                        .map(|(p, v)| (p.name.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default())
        })?;
        let max = self.max_results.unwrap_or(10).clamp(1, 10) as usize;
        let (items, next_token) = page(matched, self.next_token.as_deref(), max)?;
        let decrypt = self.with_decryption.unwrap_or(false);
        let mut parameters = Vec::with_capacity(items.len());
        for (name, v) in items {
            parameters.push(shown(svc, call, &name, v, None, decrypt).await?);
        }
        Ok(GetParametersByPathOutput {
            parameters,
            next_token,
        })
    }
}
operation!(GetParametersByPath -> GetParametersByPathOutput);

/// A legacy `ParametersFilter`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LegacyFilter {
    pub key: String,
    pub values: Vec<String>,
}

/// `DescribeParameters`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParameters {
    #[serde(default)]
    pub filters: Vec<LegacyFilter>,
    #[serde(default)]
    pub parameter_filters: Vec<StringFilter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub shared: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterMetadata {
    name: String,
    #[serde(rename = "ARN")]
    arn: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    last_modified_date: f64,
    last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_pattern: Option<String>,
    version: u64,
    tier: String,
    policies: Vec<serde_json::Value>,
    data_type: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersOutput {
    parameters: Vec<ParameterMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl DescribeParameters {
    fn checks(&self, _svc: &Ssm, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ssm:DescribeParameters",
            "*",
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<DescribeParametersOutput, AwsError> {
        if !self.filters.is_empty() && !self.parameter_filters.is_empty() {
            return Err(validation(
                "You can use either Filters or ParameterFilters in a single request.",
            ));
        }
        check_filters(&self.parameter_filters, FilterUse::Describe)?;
        // Legacy filters are ParameterFilters with BeginsWith on names and Equals elsewhere.
        let mut filters = self.parameter_filters.clone();
        for f in &self.filters {
            filters.push(StringFilter {
                key: f.key.clone(),
                option: Some(
                    if f.key == "Name" {
                        "BeginsWith"
                    } else {
                        "Equals"
                    }
                    .into(),
                ),
                values: f.values.clone(),
            });
        }
        let region = svc.region().to_string();
        let account = call.account().to_string();
        let matched: Vec<ParameterMetadata> = svc.read(|st| {
            Ok(st
                .accounts
                .get(&account)
                .map(|params| {
                    params
                        .values()
                        .filter_map(|p| p.latest().map(|v| (p, v)))
                        .filter(|(p, v)| filters.iter().all(|f| filter_matches(p, v, f)))
                        .map(|(p, v)| ParameterMetadata {
                            name: p.name.clone(),
                            arn: names::arn(&region, &account, &p.name),
                            kind: v.kind.clone(),
                            key_id: v.key_id.clone(),
                            last_modified_date: v.modified,
                            last_modified_user: v.modified_user.clone(),
                            description: v.description.clone(),
                            allowed_pattern: v.allowed_pattern.clone(),
                            version: v.version,
                            tier: v.tier.clone(),
                            policies: Vec::new(),
                            data_type: v.data_type.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default())
        })?;
        let max = self.max_results.unwrap_or(10).clamp(1, 50) as usize;
        let (parameters, next_token) = page(matched, self.next_token.as_deref(), max)?;
        Ok(DescribeParametersOutput {
            parameters,
            next_token,
        })
    }
}
operation!(DescribeParameters -> DescribeParametersOutput);

/// `GetParameterHistory`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistory {
    pub name: String,
    #[serde(default)]
    pub with_decryption: Option<bool>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    name: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    last_modified_date: f64,
    last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_pattern: Option<String>,
    version: u64,
    labels: Vec<String>,
    tier: String,
    policies: Vec<serde_json::Value>,
    data_type: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryOutput {
    parameters: Vec<HistoryEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl GetParameterHistory {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.name);
        Ok(Authorization::check(param_check(
            svc,
            call,
            "ssm:GetParameterHistory",
            &name,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<GetParameterHistoryOutput, AwsError> {
        let name = names::from_input(&self.name);
        let versions = svc.read(|st| {
            st.get(call.account(), &name)
                .map(|p| p.versions.clone())
                .ok_or_else(|| not_found(&name))
        })?;
        let max = self.max_results.unwrap_or(50).clamp(1, 50) as usize;
        let (items, next_token) = page(versions, self.next_token.as_deref(), max)?;
        let decrypt = self.with_decryption.unwrap_or(false);
        let arn = names::arn(svc.region(), call.account(), &name);
        let mut parameters = Vec::with_capacity(items.len());
        for v in items {
            let value = if v.kind == "SecureString" && decrypt {
                secure::decrypt(svc.kms(), call, &arn, &v.value).await?
            } else {
                v.value
            };
            parameters.push(HistoryEntry {
                name: name.clone(),
                kind: v.kind,
                key_id: v.key_id,
                last_modified_date: v.modified,
                last_modified_user: v.modified_user,
                description: v.description,
                value,
                allowed_pattern: v.allowed_pattern,
                version: v.version,
                labels: v.labels,
                tier: v.tier,
                policies: Vec::new(),
                data_type: v.data_type,
            });
        }
        Ok(GetParameterHistoryOutput {
            parameters,
            next_token,
        })
    }
}
operation!(GetParameterHistory -> GetParameterHistoryOutput);

// ---------------------------------------------------------------------------------------
// Deletes

/// `DeleteParameter`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameter {
    pub name: String,
}

/// An empty output.
#[derive(Debug, Serialize)]
pub struct Empty {}

fn delete_one(st: &mut State, account: &str, name: &str, batch: &mut storage::Batch) -> bool {
    let removed = st
        .accounts
        .get_mut(account)
        .and_then(|params| params.remove(name))
        .is_some();
    if removed {
        batch.delete::<Param>(&Param::key_of(account, name));
    }
    removed
}

impl DeleteParameter {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.name);
        Ok(Authorization::check(param_check(
            svc,
            call,
            "ssm:DeleteParameter",
            &name,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<Empty, AwsError> {
        let name = names::from_input(&self.name);
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            if delete_one(st, &account, &name, batch) {
                Ok(Empty {})
            } else {
                Err(not_found(&name))
            }
        })
        .await
    }
}
operation!(DeleteParameter -> Empty);

/// `DeleteParameters`: up to ten names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameters {
    pub names: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersOutput {
    deleted_parameters: Vec<String>,
    invalid_parameters: Vec<String>,
}

impl DeleteParameters {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::all(
            self.names
                .iter()
                .map(|n| param_check(svc, call, "ssm:DeleteParameters", &names::from_input(n)))
                .collect(),
        ))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<DeleteParametersOutput, AwsError> {
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            let mut deleted = Vec::new();
            let mut invalid = Vec::new();
            for input in self.names {
                let name = names::from_input(&input);
                if delete_one(st, &account, &name, batch) {
                    deleted.push(input);
                } else if !invalid.contains(&input) {
                    invalid.push(input);
                }
            }
            Ok(DeleteParametersOutput {
                deleted_parameters: deleted,
                invalid_parameters: invalid,
            })
        })
        .await
    }
}
operation!(DeleteParameters -> DeleteParametersOutput);

// ---------------------------------------------------------------------------------------
// Labels

/// `LabelParameterVersion`: moves labels to a version (the latest by default).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersion {
    pub name: String,
    #[serde(default)]
    pub parameter_version: Option<u64>,
    pub labels: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionOutput {
    invalid_labels: Vec<String>,
    parameter_version: u64,
}

impl LabelParameterVersion {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.name);
        Ok(Authorization::check(param_check(
            svc,
            call,
            "ssm:LabelParameterVersion",
            &name,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<LabelParameterVersionOutput, AwsError> {
        let name = names::from_input(&self.name);
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            let p = st.get_mut(&account, &name).ok_or_else(|| not_found(&name))?;
            let target = match self.parameter_version {
                Some(v) => p.version(v).ok_or_else(|| version_not_found(&name, v))?.version,
                None => p.latest().ok_or_else(|| not_found(&name))?.version,
            };
            let (valid, invalid): (Vec<String>, Vec<String>) =
                self.labels.into_iter().partition(|l| names::label_is_valid(l));
            let mut wanted: Vec<String> = Vec::new();
            for l in valid {
                if !wanted.contains(&l) {
                    wanted.push(l);
                }
            }
            let current = p
                .version(target)
                .map(|v| v.labels.clone())
                .unwrap_or_default();
            let mut after = current.clone();
            for l in &wanted {
                if !after.contains(l) {
                    after.push(l.clone());
                }
            }
            if after.len() > MAX_LABELS_PER_VERSION {
                return Err(AwsError::bad_request(
                    "ParameterVersionLabelLimitExceeded",
                    "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.",
                ));
            }
            if !wanted.is_empty() {
                for v in p.versions.iter_mut() {
                    if v.version == target {
                        v.labels = after.clone();
                    } else {
                        v.labels.retain(|l| !wanted.contains(l));
                    }
                }
                batch.put(&*p);
            }
            Ok(LabelParameterVersionOutput {
                invalid_labels: invalid,
                parameter_version: target,
            })
        })
        .await
    }
}
operation!(LabelParameterVersion -> LabelParameterVersionOutput);

/// `UnlabelParameterVersion`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersion {
    pub name: String,
    pub parameter_version: u64,
    pub labels: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionOutput {
    removed_labels: Vec<String>,
    invalid_labels: Vec<String>,
}

impl UnlabelParameterVersion {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.name);
        Ok(Authorization::check(param_check(
            svc,
            call,
            "ssm:UnlabelParameterVersion",
            &name,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<UnlabelParameterVersionOutput, AwsError> {
        let name = names::from_input(&self.name);
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            let p = st
                .get_mut(&account, &name)
                .ok_or_else(|| not_found(&name))?;
            let v = p
                .versions
                .iter_mut()
                .find(|v| v.version == self.parameter_version)
                .ok_or_else(|| version_not_found(&name, self.parameter_version))?;
            let mut removed = Vec::new();
            let mut invalid = Vec::new();
            for l in self.labels {
                if v.labels.contains(&l) {
                    v.labels.retain(|x| *x != l);
                    removed.push(l);
                } else if !invalid.contains(&l) {
                    invalid.push(l);
                }
            }
            if !removed.is_empty() {
                batch.put(&*p);
            }
            Ok(UnlabelParameterVersionOutput {
                removed_labels: removed,
                invalid_labels: invalid,
            })
        })
        .await
    }
}
operation!(UnlabelParameterVersion -> UnlabelParameterVersionOutput);

// ---------------------------------------------------------------------------------------
// Tags

fn check_resource_type(kind: &str) -> Result<(), AwsError> {
    if kind == "Parameter" {
        Ok(())
    } else {
        Err(AwsError::bad_request(
            "InvalidResourceType",
            format!(
                "The resource type `{kind}` is not supported: Perimeter models only Parameter."
            ),
        ))
    }
}

fn invalid_resource_id() -> AwsError {
    AwsError::bad_request(
        "InvalidResourceId",
        "The resource ID is not valid. Verify that you entered the correct ID and try again.",
    )
}

/// `AddTagsToResource` (`ResourceType` `Parameter`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToResource {
    pub resource_type: String,
    pub resource_id: String,
    pub tags: Vec<Tag>,
}

impl AddTagsToResource {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.resource_id);
        let pairs = tag_pairs(&self.tags);
        Ok(Authorization::check(
            param_check(svc, call, "ssm:AddTagsToResource", &name).request_tags(&pairs, None),
        ))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<Empty, AwsError> {
        check_resource_type(&self.resource_type)?;
        check_tags(&self.tags)?;
        let name = names::from_input(&self.resource_id);
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            let p = st
                .get_mut(&account, &name)
                .ok_or_else(invalid_resource_id)?;
            let mut tags = p.tags.clone();
            for t in self.tags {
                match tags.iter_mut().find(|e| e.key == t.key) {
                    Some(e) => e.value = t.value,
                    None => tags.push(t),
                }
            }
            if tags.len() > MAX_TAGS {
                return Err(AwsError::bad_request(
                    "TooManyTagsError",
                    "The Tags parameter contains more than 50 tags.",
                ));
            }
            p.tags = tags;
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(AddTagsToResource -> Empty);

/// `RemoveTagsFromResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromResource {
    pub resource_type: String,
    pub resource_id: String,
    pub tag_keys: Vec<String>,
}

impl RemoveTagsFromResource {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.resource_id);
        Ok(Authorization::check(
            param_check(svc, call, "ssm:RemoveTagsFromResource", &name)
                .with("aws:TagKeys", self.tag_keys.clone()),
        ))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<Empty, AwsError> {
        check_resource_type(&self.resource_type)?;
        let name = names::from_input(&self.resource_id);
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            let p = st
                .get_mut(&account, &name)
                .ok_or_else(invalid_resource_id)?;
            p.tags.retain(|t| !self.tag_keys.contains(&t.key));
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(RemoveTagsFromResource -> Empty);

/// `ListTagsForResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResource {
    pub resource_type: String,
    pub resource_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceOutput {
    tag_list: Vec<Tag>,
}

impl ListTagsForResource {
    fn checks(&self, svc: &Ssm, call: &Call) -> Result<Authorization, AwsError> {
        let name = names::from_input(&self.resource_id);
        Ok(Authorization::check(param_check(
            svc,
            call,
            "ssm:ListTagsForResource",
            &name,
        )))
    }

    async fn run(self, svc: &Ssm, call: &Call) -> Result<ListTagsForResourceOutput, AwsError> {
        check_resource_type(&self.resource_type)?;
        let name = names::from_input(&self.resource_id);
        svc.read(|st| {
            let p = st
                .get(call.account(), &name)
                .ok_or_else(invalid_resource_id)?;
            Ok(ListTagsForResourceOutput {
                tag_list: p.tags.clone(),
            })
        })
    }
}
operation!(ListTagsForResource -> ListTagsForResourceOutput);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(under_path("/a/b", "/a", false));
        assert!(under_path("/a/b", "/a/", false));
        assert!(!under_path("/a/b/c", "/a", false));
        assert!(under_path("/a/b/c", "/a", true));
        assert!(!under_path("/ab/c", "/a", true));
        assert!(!under_path("/a", "/a", true));
        assert!(under_path("/top", "/", false));
        assert!(!under_path("/top/x", "/", false));
        assert!(under_path("/top/x", "/", true));
    }

    #[test]
    fn pages() {
        let (a, next) = page(vec![1, 2, 3], None, 2).unwrap();
        assert_eq!(a, vec![1, 2]);
        let (b, next) = page(vec![1, 2, 3], next.as_deref(), 2).unwrap();
        assert_eq!(b, vec![3]);
        assert!(next.is_none());
        assert_eq!(
            page(vec![1], Some("bogus"), 2).unwrap_err().code,
            "InvalidNextToken"
        );
    }

    #[test]
    fn filters() {
        let bad = StringFilter {
            key: "Label".into(),
            option: None,
            values: vec!["x".into()],
        };
        assert_eq!(
            check_filters(std::slice::from_ref(&bad), FilterUse::Describe)
                .unwrap_err()
                .code,
            "InvalidFilterKey"
        );
        assert!(check_filters(&[bad], FilterUse::ByPath).is_ok());
        let opt = StringFilter {
            key: "Path".into(),
            option: Some("Deep".into()),
            values: vec!["/a".into()],
        };
        assert_eq!(
            check_filters(&[opt], FilterUse::Describe).unwrap_err().code,
            "InvalidFilterOption"
        );
    }
}
