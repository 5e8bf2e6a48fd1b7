//! Managed policies and their versions.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};

use super::users::ListTagsResponse;
use super::{now, requesting, tagged};
use crate::names::{
    self, Tag, already_exists, check_name, delete_conflict, invalid_input, limit_exceeded,
    no_such_entity, validation,
};
use crate::state::{Account, Doc, IdentityDoc, ManagedPolicy, PolicyVersion, State, entity_key};
use crate::wire::{Empty, PolicyOut, PolicyVersionOut, paginate};
use crate::{Iam, crypto};

/// Managed policy documents are limited to 6,144 characters (not counting white space).
pub(crate) fn parse_managed(text: &str) -> Result<Doc<IdentityDoc>, AwsError> {
    if names::policy_size(text) > 6144 {
        return Err(limit_exceeded("Cannot exceed quota for PolicySize: 6144"));
    }
    Doc::parse(text)
}

/// `((/[A-Za-z0-9\.,\+@=_-]+)*)/`: managed policy paths.
fn check_policy_path(p: Option<&str>) -> Result<String, AwsError> {
    let Some(p) = p else { return Ok("/".into()) };
    let ok = p.starts_with('/')
        && p.ends_with('/')
        && p.len() <= 512
        && !p.contains("//")
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.,+@=_-".contains(c));
    if !ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{p}' at 'path' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"
        )));
    }
    Ok(p.to_string())
}

fn check_policy_arn(arn: &str) -> Result<(), AwsError> {
    match names::parse_iam_arn(arn) {
        Some(p) if p.kind == "policy" => Ok(()),
        _ => Err(invalid_input(format!("ARN {arn} is not valid."))),
    }
}

pub(crate) fn policy_not_found(arn: &str) -> AwsError {
    no_such_entity(format!("Policy {arn} was not found."))
}

fn aws_managed_unmodifiable(arn: &str) -> AwsError {
    AwsError::new(
        "UnmodifiableEntity",
        400,
        format!("Policy {arn} is an AWS managed policy and cannot be modified."),
    )
}

/// The customer managed policy `arn` of `account`, for changes.
fn local_mut<'a>(
    st: &'a mut State,
    account: &str,
    arn: &str,
) -> Result<&'a mut ManagedPolicy, AwsError> {
    if arn.starts_with("arn:aws:iam::aws:policy/") {
        return Err(aws_managed_unmodifiable(arn));
    }
    st.account_mut(account)?
        .local_policy_mut(arn)
        .ok_or_else(|| policy_not_found(arn))
}

fn usage(acct: &Account, p: &ManagedPolicy) -> (usize, usize) {
    acct.usage(&p.arn())
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicy {
    pub policy_name: String,
    pub path: Option<String>,
    pub policy_document: String,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyResponse {
    pub policy: PolicyOut,
}

impl CreatePolicy {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_name(&self.policy_name, "policyName", 128)?;
        let path = check_policy_path(self.path.as_deref())?;
        names::check_tags(&self.tags)?;
        let arn = names::iam_arn(call.account(), "policy", &path, &self.policy_name);
        Ok(Authorization::check(requesting(
            Check::new("iam:CreatePolicy", arn),
            &self.tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<PolicyResponse, AwsError> {
        let account = call.account().to_string();
        let path = check_policy_path(self.path.as_deref())?;
        if self.tags.len() > 50 {
            return Err(limit_exceeded(
                "The number of tags has reached the maximum limit.",
            ));
        }
        let doc = parse_managed(&self.policy_document)?;
        let created = now(call);
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let key = self.policy_name.to_lowercase();
            if acct.policies.contains_key(&key) {
                return Err(already_exists(format!(
                    "A policy called {} already exists. Duplicate names are not allowed.",
                    self.policy_name
                )));
            }
            let p = ManagedPolicy {
                account: account.clone(),
                name: self.policy_name,
                path,
                id: crypto::unique_id("ANPA"),
                description: self.description,
                created,
                updated: created,
                default_version: "v1".into(),
                versions: vec![PolicyVersion {
                    id: "v1".into(),
                    doc,
                    created,
                }],
                next_version: 2,
                tags: self.tags,
            };
            batch.put(&p);
            let out = PolicyOut::from(&p, (0, 0), true);
            acct.policies.insert(key, p);
            Ok(PolicyResponse { policy: out })
        })
        .await
    }
}
operation!(CreatePolicy -> PolicyResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicy {
    pub policy_arn: String,
}

impl GetPolicy {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:GetPolicy", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<PolicyResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let p = svc
                .managed(st, acct.id(), &self.policy_arn)
                .ok_or_else(|| policy_not_found(&self.policy_arn))?;
            Ok(PolicyResponse {
                policy: PolicyOut::from(p, usage(acct, p), true),
            })
        })
    }
}
operation!(GetPolicy -> PolicyResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicies {
    pub scope: Option<String>,
    pub only_attached: Option<bool>,
    pub path_prefix: Option<String>,
    pub policy_usage_filter: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesResponse {
    pub policies: Vec<PolicyOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListPolicies {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListPolicies",
            super::list_resource(call, "policy", &self.path_prefix),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListPoliciesResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let scope = self.scope.as_deref().unwrap_or("All");
            let mut all: Vec<&ManagedPolicy> = Vec::new();
            if scope != "Local" {
                all.extend(svc.aws_policies.values());
            }
            if scope != "AWS" {
                all.extend(acct.policies.values());
            }
            let policies: Vec<PolicyOut> = all
                .into_iter()
                .filter(|p| names::path_matches(&p.path, self.path_prefix.as_deref()))
                .filter_map(|p| {
                    let u = usage(acct, p);
                    let used = match self.policy_usage_filter.as_deref() {
                        Some("PermissionsPolicy") => u.0 > 0,
                        Some("PermissionsBoundary") => u.1 > 0,
                        _ => u.0 + u.1 > 0,
                    };
                    if self.only_attached == Some(true) && !used {
                        return None;
                    }
                    Some(PolicyOut::from(p, u, false))
                })
                .collect();
            let page = paginate(policies, self.marker.as_deref(), self.max_items)?;
            Ok(ListPoliciesResponse {
                policies: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListPolicies -> ListPoliciesResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletePolicy {
    pub policy_arn: String,
}

impl DeletePolicy {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeletePolicy", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let p = local_mut(st, &account, &self.policy_arn)?;
            let versions = p.versions.len();
            let name = p.name.clone();
            let acct = st.account_mut(&account)?;
            let (attached, boundary) = acct.usage(&self.policy_arn);
            if attached + boundary > 0 {
                return Err(delete_conflict("Cannot delete a policy attached to entities."));
            }
            if versions > 1 {
                return Err(delete_conflict(
                    "This policy has more than one version. Before you delete a policy, you must delete the \
                     policy's versions. The default version is deleted with the policy.",
                ));
            }
            batch.delete::<ManagedPolicy>(&entity_key(&account, &name));
            acct.policies.remove(&name.to_lowercase());
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeletePolicy -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyVersion {
    pub policy_arn: String,
    pub policy_document: String,
    pub set_as_default: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersionResponse {
    pub policy_version: PolicyVersionOut,
}

impl CreatePolicyVersion {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:CreatePolicyVersion", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<PolicyVersionResponse, AwsError> {
        let account = call.account().to_string();
        let doc = parse_managed(&self.policy_document)?;
        let created = now(call);
        let make_default = self.set_as_default == Some(true);
        svc.write(call, make_default, move |st, batch| {
            let p = local_mut(st, &account, &self.policy_arn)?;
            if p.versions.len() >= 5 {
                return Err(limit_exceeded(
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete \
                     an existing version.",
                ));
            }
            let id = format!("v{}", p.next_version);
            p.next_version += 1;
            p.versions.push(PolicyVersion { id: id.clone(), doc, created });
            if make_default {
                p.default_version = id.clone();
            }
            p.updated = created;
            batch.put(&*p);
            let v = p.versions.last().map(|v| PolicyVersionOut::from(p, v, false));
            v.map(|policy_version| PolicyVersionResponse { policy_version })
                .ok_or_else(|| AwsError::internal("policy version vanished"))
        })
        .await
    }
}
operation!(CreatePolicyVersion -> PolicyVersionResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyVersion {
    pub policy_arn: String,
    pub version_id: String,
}

fn version_not_found(arn: &str, v: &str) -> AwsError {
    no_such_entity(format!(
        "Policy {arn} version {v} does not exist or is not attachable."
    ))
}

impl GetPolicyVersion {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:GetPolicyVersion", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<PolicyVersionResponse, AwsError> {
        svc.read(|st| {
            let p = svc
                .managed(st, call.account(), &self.policy_arn)
                .ok_or_else(|| policy_not_found(&self.policy_arn))?;
            let v = p
                .versions
                .iter()
                .find(|v| v.id == self.version_id)
                .ok_or_else(|| version_not_found(&self.policy_arn, &self.version_id))?;
            Ok(PolicyVersionResponse {
                policy_version: PolicyVersionOut::from(p, v, true),
            })
        })
    }
}
operation!(GetPolicyVersion -> PolicyVersionResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyVersions {
    pub policy_arn: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyVersionsResponse {
    pub versions: Vec<PolicyVersionOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListPolicyVersions {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListPolicyVersions", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListPolicyVersionsResponse, AwsError> {
        svc.read(|st| {
            let p = svc
                .managed(st, call.account(), &self.policy_arn)
                .ok_or_else(|| policy_not_found(&self.policy_arn))?;
            let versions: Vec<PolicyVersionOut> = p
                .versions
                .iter()
                .rev()
                .map(|v| PolicyVersionOut::from(p, v, false))
                .collect();
            let page = paginate(versions, self.marker.as_deref(), self.max_items)?;
            Ok(ListPolicyVersionsResponse {
                versions: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListPolicyVersions -> ListPolicyVersionsResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletePolicyVersion {
    pub policy_arn: String,
    pub version_id: String,
}

impl DeletePolicyVersion {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeletePolicyVersion", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let p = local_mut(st, &account, &self.policy_arn)?;
            if !p.versions.iter().any(|v| v.id == self.version_id) {
                return Err(version_not_found(&self.policy_arn, &self.version_id));
            }
            if p.default_version == self.version_id {
                return Err(delete_conflict(
                    "Cannot delete the default version of a policy.",
                ));
            }
            p.versions.retain(|v| v.id != self.version_id);
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeletePolicyVersion -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetDefaultPolicyVersion {
    pub policy_arn: String,
    pub version_id: String,
}

impl SetDefaultPolicyVersion {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:SetDefaultPolicyVersion", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let at = now(call);
        svc.write(call, true, move |st, batch| {
            let p = local_mut(st, &account, &self.policy_arn)?;
            if !p.versions.iter().any(|v| v.id == self.version_id) {
                return Err(version_not_found(&self.policy_arn, &self.version_id));
            }
            p.default_version = self.version_id;
            p.updated = at;
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(SetDefaultPolicyVersion -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagPolicy {
    pub policy_arn: String,
    pub tags: Vec<Tag>,
}

impl TagPolicy {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        names::check_tags(&self.tags)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        let check = requesting(
            tagged(Check::new("iam:TagPolicy", self.policy_arn.clone()), &tags),
            &self.tags,
        );
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let p = local_mut(st, &account, &self.policy_arn)?;
            p.tags = names::merge_tags(&p.tags, &self.tags)?;
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(TagPolicy -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagPolicy {
    pub policy_arn: String,
    pub tag_keys: Vec<String>,
}

impl UntagPolicy {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        let check = tagged(
            Check::new("iam:UntagPolicy", self.policy_arn.clone()),
            &tags,
        )
        .with("aws:TagKeys", self.tag_keys.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let p = local_mut(st, &account, &self.policy_arn)?;
            p.tags = names::remove_tags(&p.tags, &self.tag_keys);
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UntagPolicy -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicyTags {
    pub policy_arn: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl ListPolicyTags {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListPolicyTags", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListTagsResponse, AwsError> {
        svc.read(|st| {
            let p = svc
                .managed(st, call.account(), &self.policy_arn)
                .ok_or_else(|| policy_not_found(&self.policy_arn))?;
            ListTagsResponse::page(p.tags.clone(), self.marker.as_deref(), self.max_items)
        })
    }
}
operation!(ListPolicyTags -> ListTagsResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEntitiesForPolicy {
    pub policy_arn: String,
    pub entity_filter: Option<String>,
    pub path_prefix: Option<String>,
    pub policy_usage_filter: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyGroupOut {
    pub group_name: String,
    pub group_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyUserOut {
    pub user_name: String,
    pub user_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyRoleOut {
    pub role_name: String,
    pub role_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEntitiesForPolicyResponse {
    pub policy_groups: Vec<PolicyGroupOut>,
    pub policy_users: Vec<PolicyUserOut>,
    pub policy_roles: Vec<PolicyRoleOut>,
    pub is_truncated: bool,
}

impl ListEntitiesForPolicy {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_policy_arn(&self.policy_arn)?;
        let tags = svc.policy_tags(call, &self.policy_arn);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListEntitiesForPolicy", self.policy_arn.clone()),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListEntitiesForPolicyResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            if svc.managed(st, acct.id(), &self.policy_arn).is_none() {
                return Err(policy_not_found(&self.policy_arn));
            }
            let arn = self.policy_arn.as_str();
            let filter = self.entity_filter.as_deref();
            let usage = self.policy_usage_filter.as_deref();
            let as_policy = usage != Some("PermissionsBoundary");
            let as_boundary = usage != Some("PermissionsPolicy");
            let prefix = self.path_prefix.as_deref();
            let wants = |kind: &str| filter.is_none_or(|f| f == kind);
            let policy_users = if wants("User") {
                acct.users
                    .values()
                    .filter(|u| names::path_matches(&u.path, prefix))
                    .filter(|u| {
                        (as_policy && u.attached.iter().any(|a| a == arn))
                            || (as_boundary && u.boundary.as_deref() == Some(arn))
                    })
                    .map(|u| PolicyUserOut {
                        user_name: u.name.clone(),
                        user_id: u.id.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let policy_roles = if wants("Role") {
                acct.roles
                    .values()
                    .filter(|r| names::path_matches(&r.path, prefix))
                    .filter(|r| {
                        (as_policy && r.attached.iter().any(|a| a == arn))
                            || (as_boundary && r.boundary.as_deref() == Some(arn))
                    })
                    .map(|r| PolicyRoleOut {
                        role_name: r.name.clone(),
                        role_id: r.id.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let policy_groups = if wants("Group") && as_policy {
                acct.groups
                    .values()
                    .filter(|g| names::path_matches(&g.path, prefix))
                    .filter(|g| g.attached.iter().any(|a| a == arn))
                    .map(|g| PolicyGroupOut {
                        group_name: g.name.clone(),
                        group_id: g.id.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(ListEntitiesForPolicyResponse {
                policy_groups,
                policy_users,
                policy_roles,
                is_truncated: false,
            })
        })
    }
}
operation!(ListEntitiesForPolicy -> ListEntitiesForPolicyResponse);
