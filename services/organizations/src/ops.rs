//! The Organizations API (JSON 1.1, `AWSOrganizationsV20161128.*`). Each operation declares
//! its action and resource as the Service Authorization Reference lists them
//! (`organizations:AttachPolicy` on the policy and on the target, with
//! `organizations:PolicyType`), plus `aws:RequestTag/*`, `aws:TagKeys` and
//! `aws:ResourceTag/*` where Organizations supplies them. Only the management account
//! manages the organization: members get `AccessDeniedException` from the handler, as in AWS.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, ServiceDef};
use serde::{Deserialize, Serialize};
use storage::Batch;

use crate::errors;
use crate::state::{
    AccountRec, AttachmentRec, CreateStatusRec, CredentialsRec, Kind, Org, OrgRec, OuRec,
    PolicyEntry, PolicyRec, State, Tag,
};
use crate::{MAX_POLICY_SIZE, Organizations, entry_of, random_from, random_id};

/// [`gateway::operation!`] for this service.
macro_rules! operation {
    ($op:ident -> $out:ty) => {
        gateway::operation!(crate::Organizations, $op -> $out);
    };
}

/// Registers every operation.
pub(crate) fn register(def: ServiceDef, svc: &Arc<Organizations>) -> ServiceDef {
    def.operation::<CreateOrganization>(svc)
        .operation::<DescribeOrganization>(svc)
        .operation::<DeleteOrganization>(svc)
        .operation::<CreateAccount>(svc)
        .operation::<DescribeCreateAccountStatus>(svc)
        .operation::<ListCreateAccountStatus>(svc)
        .operation::<DescribeAccount>(svc)
        .operation::<ListAccounts>(svc)
        .operation::<RemoveAccountFromOrganization>(svc)
        .operation::<ListAccountsForParent>(svc)
        .operation::<ListRoots>(svc)
        .operation::<CreateOrganizationalUnit>(svc)
        .operation::<DescribeOrganizationalUnit>(svc)
        .operation::<UpdateOrganizationalUnit>(svc)
        .operation::<DeleteOrganizationalUnit>(svc)
        .operation::<ListOrganizationalUnitsForParent>(svc)
        .operation::<ListChildren>(svc)
        .operation::<ListParents>(svc)
        .operation::<MoveAccount>(svc)
        .operation::<CreatePolicy>(svc)
        .operation::<UpdatePolicy>(svc)
        .operation::<DeletePolicy>(svc)
        .operation::<DescribePolicy>(svc)
        .operation::<ListPolicies>(svc)
        .operation::<AttachPolicy>(svc)
        .operation::<DetachPolicy>(svc)
        .operation::<ListPoliciesForTarget>(svc)
        .operation::<ListTargetsForPolicy>(svc)
        .operation::<EnablePolicyType>(svc)
        .operation::<DisablePolicyType>(svc)
        .operation::<TagResource>(svc)
        .operation::<UntagResource>(svc)
        .operation::<ListTagsForResource>(svc)
}

// ---------------------------------------------------------------------------------------
// Shared pieces

fn now(call: &Call) -> f64 {
    call.now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64().floor())
        .unwrap_or(0.0)
}

/// A check of `organizations:<action>`.
fn check(action: &'static str, resource: impl Into<String>) -> Check {
    Check::new(action, resource)
}

/// Resource ARNs (and tags) from the caller's organization; `*` outside any organization
/// (the handler then answers `AWSOrganizationsNotInUseException`).
fn with_org<T>(svc: &Organizations, call: &Call, f: impl FnOnce(&Org) -> T) -> Option<T> {
    svc.read(|st| Ok(st.org_of(call.account()).ok().map(f)))
        .ok()
        .flatten()
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// The tags of a root, OU, account or policy.
fn tags_of(org: &Org, id: &str) -> Vec<Tag> {
    if id == org.rec.root_id {
        return org.rec.root_tags.clone();
    }
    if let Some(ou) = org.ous.get(id) {
        return ou.tags.clone();
    }
    if let Some(a) = org.accounts.get(id) {
        return a.tags.clone();
    }
    if let Some(p) = org.policies.get(id) {
        return p.tags.clone();
    }
    Vec::new()
}

/// A check on a root/OU/account target, with its tags.
fn target_check(svc: &Organizations, call: &Call, action: &'static str, id: &str) -> Check {
    with_org(svc, call, |org| {
        let arn = org.target_arn(id).unwrap_or_else(|| guess_arn(org, id));
        check(action, arn).resource_tags(tag_pairs(&tags_of(org, id)))
    })
    .unwrap_or_else(|| check(action, "*"))
}

/// The ARN an id would have in `org` (for checks on things that do not exist yet).
fn guess_arn(org: &Org, id: &str) -> String {
    if id.starts_with("ou-") {
        org.ou_arn(id)
    } else if id.starts_with("r-") {
        format!(
            "arn:aws:organizations::{}:root/{}/{id}",
            org.management(),
            org.id()
        )
    } else {
        org.account_arn(id)
    }
}

/// A check on a policy, with `organizations:PolicyType` and the policy's tags.
fn policy_check(svc: &Organizations, call: &Call, action: &'static str, id: &str) -> Check {
    with_org(svc, call, |org| match org.policies.get(id) {
        Some(p) => check(action, org.policy_arn(p))
            .with("organizations:PolicyType", p.kind.as_str())
            .resource_tags(tag_pairs(&p.tags)),
        None => check(action, "*"),
    })
    .unwrap_or_else(|| check(action, "*"))
}

fn validate_tags(tags: &[Tag]) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(errors::constraint(
            "You have exceeded the maximum number of tags allowed on this resource.",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for t in tags {
        if t.key.starts_with("aws:") {
            return Err(errors::invalid_input(format!(
                "Tag key `{}` uses the reserved prefix `aws:`.",
                t.key
            )));
        }
        if !seen.insert(t.key.as_str()) {
            return Err(errors::invalid_input(
                "You specified the same tag key more than once.",
            ));
        }
    }
    Ok(())
}

fn merge_tags(existing: &mut Vec<Tag>, new: &[Tag]) {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value.clone(),
            None => existing.push(t.clone()),
        }
    }
}

/// One page of `items` from `token` (an offset this service issued).
fn page<T>(
    items: Vec<T>,
    token: Option<&str>,
    max: Option<i64>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match token {
        None => 0,
        Some(t) => t
            .strip_prefix("orgs-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                errors::invalid_input(
                    "You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.",
                )
            })?,
    };
    let max = max.unwrap_or(20).clamp(1, 20) as usize;
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (start + out.len() < total).then(|| format!("orgs-{}", start + out.len()));
    Ok((out, next))
}

/// Policy content as AWS checks it: size, syntax, and the policy type's grammar.
fn check_content(content: &str, kind: Kind) -> Result<policy::Policy, AwsError> {
    if content.chars().count() > MAX_POLICY_SIZE {
        return Err(errors::constraint(format!(
            "You have exceeded the maximum size of a policy document ({MAX_POLICY_SIZE} characters)."
        )));
    }
    let findings = policy::validate(content, kind.policy_type());
    if let Some(f) = findings
        .iter()
        .find(|f| f.severity == policy::Severity::Error)
    {
        return Err(errors::malformed(format!(
            "The provided policy document does not meet the requirements of the specified policy type: line {}, column {}: {}",
            f.line, f.column, f.message
        )));
    }
    policy::Policy::parse(content, kind.policy_type()).map_err(|e| {
        errors::malformed(format!(
            "The provided policy document does not meet the requirements of the specified policy type: line {}, column {}: {}",
            e.line(),
            e.column(),
            e.message()
        ))
    })
}

fn check_id(id: &str, prefix: &str) -> Result<(), AwsError> {
    let ok = id.starts_with(prefix)
        && id.len() > prefix.len()
        && id[prefix.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(errors::invalid_pattern())
    }
}

fn check_account_id(id: &str) -> Result<(), AwsError> {
    if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(errors::invalid_pattern())
    }
}

/// Attaches the type's full-access policy to `target` when the type is enabled.
fn attach_defaults(org: &mut Org, target: &str, batch: &mut Batch) {
    for kind in Kind::ALL {
        if org.rec.enabled.contains(&kind) {
            let pid = kind.full_access_id().to_string();
            org.attachments.insert((pid.clone(), target.to_string()));
            batch.put(&AttachmentRec {
                org_id: org.rec.id.clone(),
                policy_id: pid,
                target_id: target.to_string(),
            });
        }
    }
}

/// Removes every attachment on `target`.
fn detach_all(org: &mut Org, target: &str, batch: &mut Batch) {
    let gone: Vec<(String, String)> = org
        .attachments
        .iter()
        .filter(|(_, t)| t == target)
        .cloned()
        .collect();
    for (p, t) in gone {
        batch.delete::<AttachmentRec>(&AttachmentRec::key_of(&org.rec.id, &p, &t));
        org.attachments.remove(&(p, t));
    }
}

// ---------------------------------------------------------------------------------------
// Output shapes

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyTypeSummary {
    #[serde(rename = "Type")]
    kind: String,
    status: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationOut {
    id: String,
    arn: String,
    feature_set: String,
    master_account_arn: String,
    master_account_id: String,
    master_account_email: String,
    available_policy_types: Vec<PolicyTypeSummary>,
}

fn enabled_types(org: &Org) -> Vec<PolicyTypeSummary> {
    org.rec
        .enabled
        .iter()
        .map(|k| PolicyTypeSummary {
            kind: k.as_str().into(),
            status: "ENABLED".into(),
        })
        .collect()
}

fn organization_out(org: &Org) -> OrganizationOut {
    OrganizationOut {
        id: org.rec.id.clone(),
        arn: org.arn(),
        feature_set: org.rec.feature_set.clone(),
        master_account_arn: org.account_arn(org.management()),
        master_account_id: org.management().to_string(),
        master_account_email: org.rec.management_email.clone(),
        available_policy_types: enabled_types(org),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootOut {
    id: String,
    arn: String,
    name: String,
    policy_types: Vec<PolicyTypeSummary>,
}

fn root_out(org: &Org) -> RootOut {
    RootOut {
        id: org.rec.root_id.clone(),
        arn: org.root_arn(),
        name: "Root".into(),
        policy_types: enabled_types(org),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountOut {
    id: String,
    arn: String,
    email: String,
    name: String,
    status: String,
    state: String,
    joined_method: String,
    joined_timestamp: f64,
}

fn account_out(org: &Org, a: &AccountRec) -> AccountOut {
    AccountOut {
        id: a.id.clone(),
        arn: org.account_arn(&a.id),
        email: a.email.clone(),
        name: a.name.clone(),
        status: "ACTIVE".into(),
        state: "ACTIVE".into(),
        joined_method: a.joined_method.clone(),
        joined_timestamp: a.joined,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountStatusOut {
    id: String,
    account_name: String,
    state: String,
    requested_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
}

fn status_out(s: &CreateStatusRec) -> CreateAccountStatusOut {
    CreateAccountStatusOut {
        id: s.id.clone(),
        account_name: s.account_name.clone(),
        state: s.state.clone(),
        requested_timestamp: s.requested,
        completed_timestamp: s.completed,
        account_id: s.account_id.clone(),
        failure_reason: s.failure_reason.clone(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OuOut {
    id: String,
    arn: String,
    name: String,
    path: String,
}

fn ou_out(org: &Org, ou: &OuRec) -> OuOut {
    OuOut {
        id: ou.id.clone(),
        arn: org.ou_arn(&ou.id),
        name: ou.name.clone(),
        path: org.path(&ou.id),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySummaryOut {
    id: String,
    arn: String,
    name: String,
    description: String,
    #[serde(rename = "Type")]
    kind: String,
    aws_managed: bool,
}

fn summary_out(org: &Org, p: &PolicyEntry) -> PolicySummaryOut {
    PolicySummaryOut {
        id: p.id.clone(),
        arn: org.policy_arn(p),
        name: p.name.clone(),
        description: p.description.clone(),
        kind: p.kind.as_str().into(),
        aws_managed: p.aws_managed,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    policy_summary: PolicySummaryOut,
    content: String,
}

fn policy_out(org: &Org, p: &PolicyEntry) -> PolicyOut {
    PolicyOut {
        policy_summary: summary_out(org, p),
        content: p.content.clone(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entity {
    id: String,
    #[serde(rename = "Type")]
    kind: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetOut {
    target_id: String,
    arn: String,
    name: String,
    #[serde(rename = "Type")]
    kind: String,
}

/// An empty output.
#[derive(Debug, Serialize)]
pub struct Empty {}

// ---------------------------------------------------------------------------------------
// The organization

/// `CreateOrganization`: the caller's account becomes the management account.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOrganization {
    #[serde(default)]
    pub feature_set: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationOutput {
    organization: OrganizationOut,
}

impl CreateOrganization {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check(
            "organizations:CreateOrganization",
            "*",
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<OrganizationOutput, AwsError> {
        let account = call.account().to_string();
        let at = now(call);
        let managed = svc.managed().to_vec();
        svc.write(call, move |st, batch| {
            if st.by_account.contains_key(&account) {
                return Err(errors::already_in_organization());
            }
            let rec = OrgRec {
                id: format!("o-{}", random_id(10)),
                management_account: account.clone(),
                management_email: format!("{account}@perimeter.invalid"),
                feature_set: self.feature_set.unwrap_or_else(|| "ALL".into()),
                root_id: format!("r-{}", random_id(4)),
                created: at,
                enabled: Default::default(),
                root_tags: Vec::new(),
            };
            let mut org = Org::new(rec.clone());
            for p in managed {
                org.policies.insert(p.id.clone(), p);
            }
            let me = AccountRec {
                org_id: rec.id.clone(),
                id: account.clone(),
                name: account.clone(),
                email: rec.management_email.clone(),
                joined_method: "INVITED".into(),
                joined: at,
                parent_id: rec.root_id.clone(),
                tags: Vec::new(),
            };
            batch.put(&rec);
            batch.put(&me);
            org.accounts.insert(account.clone(), me);
            let out = organization_out(&org);
            st.by_account.insert(account, rec.id.clone());
            st.orgs.insert(rec.id, org);
            Ok(OrganizationOutput { organization: out })
        })
        .await
    }
}
operation!(CreateOrganization -> OrganizationOutput);

/// `DescribeOrganization`: any account of the organization.
#[derive(Debug, Serialize, Deserialize)]
pub struct DescribeOrganization {}

impl DescribeOrganization {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check(
            "organizations:DescribeOrganization",
            "*",
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<OrganizationOutput, AwsError> {
        svc.read(|st| {
            let org = st.org_of(call.account())?;
            Ok(OrganizationOutput {
                organization: organization_out(org),
            })
        })
    }
}
operation!(DescribeOrganization -> OrganizationOutput);

/// `DeleteOrganization`: only once no member account remains.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeleteOrganization {}

impl DeleteOrganization {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check(
            "organizations:DeleteOrganization",
            "*",
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by(&account)?;
            if org.accounts.len() > 1 {
                return Err(errors::organization_not_empty());
            }
            let id = org.rec.id.clone();
            batch.delete::<OrgRec>(&id);
            for a in org.accounts.keys() {
                batch.delete::<AccountRec>(a);
            }
            for o in org.ous.keys() {
                batch.delete::<OuRec>(o);
            }
            for p in org.policies.values().filter(|p| !p.aws_managed) {
                batch.delete::<PolicyRec>(&p.id);
            }
            for (p, t) in &org.attachments {
                batch.delete::<AttachmentRec>(&AttachmentRec::key_of(&id, p, t));
            }
            for s in org.statuses.keys() {
                batch.delete::<CreateStatusRec>(s);
            }
            st.orgs.remove(&id);
            st.by_account.retain(|_, o| *o != id);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteOrganization -> Empty);

// ---------------------------------------------------------------------------------------
// Accounts

/// `CreateAccount`: a new account with its own root credentials and an
/// `OrganizationAccountAccessRole` (AdministratorAccess, trusted by the management account).
/// The account is ready when the call returns: the status is `SUCCEEDED` at once.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccount {
    pub email: String,
    pub account_name: String,
    #[serde(default)]
    pub role_name: Option<String>,
    #[serde(default)]
    pub iam_user_access_to_billing: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountStatusOutput {
    create_account_status: CreateAccountStatusOut,
}

const ACCESS_KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl CreateAccount {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        let pairs = tag_pairs(&self.tags);
        Ok(Authorization::check(
            check("organizations:CreateAccount", "*").request_tags(&pairs, None),
        ))
    }

    async fn run(
        self,
        svc: &Organizations,
        call: &Call,
    ) -> Result<CreateAccountStatusOutput, AwsError> {
        validate_tags(&self.tags)?;
        let role_name = self
            .role_name
            .clone()
            .unwrap_or_else(|| "OrganizationAccountAccessRole".into());
        if role_name.is_empty()
            || role_name.len() > 64
            || !role_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        {
            return Err(errors::invalid_input(format!(
                "The role name `{role_name}` is not valid."
            )));
        }
        let caller = call.account().to_string();
        let at = now(call);
        // Who manages, and is the email free?
        let (org_id, mgmt, email_taken) = svc.read(|st| {
            let org = st.managed_by(&caller)?;
            let taken = st.orgs.values().any(|o| {
                o.accounts
                    .values()
                    .any(|a| a.email.eq_ignore_ascii_case(&self.email))
            });
            Ok((org.rec.id.clone(), org.management().to_string(), taken))
        })?;
        let status_id = format!("car-{}", random_id(32));
        if email_taken {
            let status = CreateStatusRec {
                org_id: org_id.clone(),
                id: status_id,
                account_name: self.account_name.clone(),
                state: "FAILED".into(),
                requested: at,
                completed: Some(at),
                account_id: None,
                failure_reason: Some("EMAIL_ALREADY_EXISTS".into()),
            };
            return svc
                .write(call, move |st, batch| {
                    let org = st.managed_by_mut(&caller)?;
                    batch.put(&status);
                    let out = status_out(&status);
                    org.statuses.insert(status.id.clone(), status);
                    Ok(CreateAccountStatusOutput {
                        create_account_status: out,
                    })
                })
                .await;
        }
        // A fresh account id, unknown to IAM and to every organization.
        let iam = svc.iam().clone();
        let mut account_id = String::new();
        for _ in 0..64 {
            let candidate = random_from(12, b"0123456789");
            if candidate.starts_with('0') {
                continue;
            }
            let known = iam.account_exists(&candidate)
                || svc
                    .read(|st| Ok(st.by_account.contains_key(&candidate)))
                    .unwrap_or(true);
            if !known {
                account_id = candidate;
                break;
            }
        }
        if account_id.is_empty() {
            return Err(AwsError::internal("no free account id"));
        }
        let access_key_id = format!("AKIA{}", random_from(16, ACCESS_KEY_ALPHABET));
        let secret = random_from(40, SECRET_ALPHABET);
        let wrapped = svc
            .keyring()
            .wrap(secret.as_bytes(), &CredentialsRec::aad(&account_id))
            .map_err(AwsError::internal)?;
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{mgmt}:root")},
                "Action": "sts:AssumeRole"
            }]
        })
        .to_string();
        {
            let account_id = account_id.clone();
            let access_key_id = access_key_id.clone();
            let role_name = role_name.clone();
            tokio::task::spawn_blocking(move || -> Result<(), AwsError> {
                iam.ensure_account(&account_id, &access_key_id, &secret)
                    .map_err(AwsError::internal)?;
                iam.ensure_role(
                    &account_id,
                    &role_name,
                    &trust,
                    &["arn:aws:iam::aws:policy/AdministratorAccess"],
                )
            })
            .await
            .map_err(AwsError::internal)??;
        }
        let creds = CredentialsRec {
            account_id: account_id.clone(),
            access_key_id,
            wrapped_secret: {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(&wrapped)
            },
        };
        let name = self.account_name;
        let email = self.email;
        let tags = self.tags;
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            let acct = AccountRec {
                org_id: org.rec.id.clone(),
                id: account_id.clone(),
                name: name.clone(),
                email,
                joined_method: "CREATED".into(),
                joined: at,
                parent_id: org.rec.root_id.clone(),
                tags,
            };
            let status = CreateStatusRec {
                org_id: org.rec.id.clone(),
                id: status_id,
                account_name: name,
                state: "SUCCEEDED".into(),
                requested: at,
                completed: Some(at),
                account_id: Some(account_id.clone()),
                failure_reason: None,
            };
            batch.put(&acct);
            batch.put(&status);
            batch.put(&creds);
            attach_defaults(org, &account_id, batch);
            org.accounts.insert(account_id.clone(), acct);
            let out = status_out(&status);
            org.statuses.insert(status.id.clone(), status);
            let org_id = org.rec.id.clone();
            st.by_account.insert(account_id, org_id);
            Ok(CreateAccountStatusOutput {
                create_account_status: out,
            })
        })
        .await
    }
}
operation!(CreateAccount -> CreateAccountStatusOutput);

/// `DescribeCreateAccountStatus`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCreateAccountStatus {
    pub create_account_request_id: String,
}

impl DescribeCreateAccountStatus {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check(
            "organizations:DescribeCreateAccountStatus",
            "*",
        )))
    }

    async fn run(
        self,
        svc: &Organizations,
        call: &Call,
    ) -> Result<CreateAccountStatusOutput, AwsError> {
        check_id(&self.create_account_request_id, "car-")?;
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let s = org
                .statuses
                .get(&self.create_account_request_id)
                .ok_or_else(errors::status_not_found)?;
            Ok(CreateAccountStatusOutput {
                create_account_status: status_out(s),
            })
        })
    }
}
operation!(DescribeCreateAccountStatus -> CreateAccountStatusOutput);

/// `ListCreateAccountStatus`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCreateAccountStatus {
    #[serde(default)]
    pub states: Vec<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCreateAccountStatusOutput {
    create_account_statuses: Vec<CreateAccountStatusOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListCreateAccountStatus {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check(
            "organizations:ListCreateAccountStatus",
            "*",
        )))
    }

    async fn run(
        self,
        svc: &Organizations,
        call: &Call,
    ) -> Result<ListCreateAccountStatusOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let mut all: Vec<&CreateStatusRec> = org
                .statuses
                .values()
                .filter(|s| self.states.is_empty() || self.states.contains(&s.state))
                .collect();
            all.sort_by(|a, b| a.requested.total_cmp(&b.requested).then(a.id.cmp(&b.id)));
            let items = all.into_iter().map(status_out).collect();
            let (items, next) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(ListCreateAccountStatusOutput {
                create_account_statuses: items,
                next_token: next,
            })
        })
    }
}
operation!(ListCreateAccountStatus -> ListCreateAccountStatusOutput);

/// `DescribeAccount`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAccount {
    pub account_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountOutput {
    account: AccountOut,
}

impl DescribeAccount {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:DescribeAccount",
            &self.account_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<AccountOutput, AwsError> {
        check_account_id(&self.account_id)?;
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let a = org
                .accounts
                .get(&self.account_id)
                .ok_or_else(errors::account_not_found)?;
            Ok(AccountOutput {
                account: account_out(org, a),
            })
        })
    }
}
operation!(DescribeAccount -> AccountOutput);

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountsOutput {
    accounts: Vec<AccountOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `ListAccounts`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccounts {
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

impl ListAccounts {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check(
            "organizations:ListAccounts",
            "*",
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<AccountsOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let items = org.accounts.values().map(|a| account_out(org, a)).collect();
            let (accounts, next_token) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(AccountsOutput {
                accounts,
                next_token,
            })
        })
    }
}
operation!(ListAccounts -> AccountsOutput);

/// `RemoveAccountFromOrganization`: the account leaves and is a standalone account again
/// (its IAM identities and credentials stay).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveAccountFromOrganization {
    pub account_id: String,
}

impl RemoveAccountFromOrganization {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:RemoveAccountFromOrganization",
            &self.account_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        check_account_id(&self.account_id)?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if !org.accounts.contains_key(&self.account_id) {
                return Err(errors::account_not_found());
            }
            if self.account_id == org.management() {
                return Err(errors::constraint(
                    "You can't remove the management account from an organization. To delete the organization, call DeleteOrganization.",
                ));
            }
            detach_all(org, &self.account_id, batch);
            org.accounts.remove(&self.account_id);
            batch.delete::<AccountRec>(&self.account_id);
            st.by_account.remove(&self.account_id);
            Ok(Empty {})
        })
        .await
    }
}
operation!(RemoveAccountFromOrganization -> Empty);

/// `ListAccountsForParent`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountsForParent {
    pub parent_id: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

impl ListAccountsForParent {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:ListAccountsForParent",
            &self.parent_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<AccountsOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            if !org.is_parent(&self.parent_id) {
                return Err(errors::parent_not_found());
            }
            let items = org
                .accounts
                .values()
                .filter(|a| a.parent_id == self.parent_id)
                .map(|a| account_out(org, a))
                .collect();
            let (accounts, next_token) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(AccountsOutput {
                accounts,
                next_token,
            })
        })
    }
}
operation!(ListAccountsForParent -> AccountsOutput);

/// `ListRoots`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoots {
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootsOutput {
    roots: Vec<RootOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListRoots {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(check("organizations:ListRoots", "*")))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<RootsOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let (roots, next_token) = page(
                vec![root_out(org)],
                self.next_token.as_deref(),
                self.max_results,
            )?;
            Ok(RootsOutput { roots, next_token })
        })
    }
}
operation!(ListRoots -> RootsOutput);

// ---------------------------------------------------------------------------------------
// Organizational units

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OuOutput {
    organizational_unit: OuOut,
}

/// `CreateOrganizationalUnit`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOrganizationalUnit {
    pub parent_id: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl CreateOrganizationalUnit {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        let pairs = tag_pairs(&self.tags);
        Ok(Authorization::check(
            target_check(
                svc,
                call,
                "organizations:CreateOrganizationalUnit",
                &self.parent_id,
            )
            .request_tags(&pairs, None),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<OuOutput, AwsError> {
        validate_tags(&self.tags)?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if !org.is_parent(&self.parent_id) {
                return Err(errors::parent_not_found());
            }
            if org
                .ous
                .values()
                .any(|o| o.parent_id == self.parent_id && o.name == self.name)
            {
                return Err(errors::duplicate_ou());
            }
            if org.depth(&self.parent_id) >= 5 {
                return Err(errors::constraint(
                    "You attempted to create an OU tree that is too many levels deep.",
                ));
            }
            let suffix = org.rec.root_id.trim_start_matches("r-").to_string();
            let ou = OuRec {
                org_id: org.rec.id.clone(),
                id: format!("ou-{suffix}-{}", random_id(8)),
                name: self.name,
                parent_id: self.parent_id,
                tags: self.tags,
            };
            batch.put(&ou);
            attach_defaults(org, &ou.id, batch);
            org.ous.insert(ou.id.clone(), ou.clone());
            Ok(OuOutput {
                organizational_unit: ou_out(org, &ou),
            })
        })
        .await
    }
}
operation!(CreateOrganizationalUnit -> OuOutput);

/// `DescribeOrganizationalUnit`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOrganizationalUnit {
    pub organizational_unit_id: String,
}

impl DescribeOrganizationalUnit {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:DescribeOrganizationalUnit",
            &self.organizational_unit_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<OuOutput, AwsError> {
        check_id(&self.organizational_unit_id, "ou-")?;
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let ou = org
                .ous
                .get(&self.organizational_unit_id)
                .ok_or_else(errors::ou_not_found)?;
            Ok(OuOutput {
                organizational_unit: ou_out(org, ou),
            })
        })
    }
}
operation!(DescribeOrganizationalUnit -> OuOutput);

/// `UpdateOrganizationalUnit`: renames.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateOrganizationalUnit {
    pub organizational_unit_id: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl UpdateOrganizationalUnit {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:UpdateOrganizationalUnit",
            &self.organizational_unit_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<OuOutput, AwsError> {
        check_id(&self.organizational_unit_id, "ou-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            let parent = org
                .ous
                .get(&self.organizational_unit_id)
                .ok_or_else(errors::ou_not_found)?
                .parent_id
                .clone();
            if let Some(name) = &self.name
                && org.ous.values().any(|o| {
                    o.parent_id == parent && &o.name == name && o.id != self.organizational_unit_id
                })
            {
                return Err(errors::duplicate_ou());
            }
            let ou = org
                .ous
                .get_mut(&self.organizational_unit_id)
                .ok_or_else(errors::ou_not_found)?;
            if let Some(name) = self.name {
                ou.name = name;
            }
            batch.put(&*ou);
            let ou = ou.clone();
            Ok(OuOutput {
                organizational_unit: ou_out(org, &ou),
            })
        })
        .await
    }
}
operation!(UpdateOrganizationalUnit -> OuOutput);

/// `DeleteOrganizationalUnit`: only an empty OU.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteOrganizationalUnit {
    pub organizational_unit_id: String,
}

impl DeleteOrganizationalUnit {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:DeleteOrganizationalUnit",
            &self.organizational_unit_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        check_id(&self.organizational_unit_id, "ou-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            let id = &self.organizational_unit_id;
            if !org.ous.contains_key(id) {
                return Err(errors::ou_not_found());
            }
            if org.ous.values().any(|o| &o.parent_id == id)
                || org.accounts.values().any(|a| &a.parent_id == id)
            {
                return Err(errors::ou_not_empty());
            }
            detach_all(org, id, batch);
            org.ous.remove(id);
            batch.delete::<OuRec>(id);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteOrganizationalUnit -> Empty);

/// `ListOrganizationalUnitsForParent`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOrganizationalUnitsForParent {
    pub parent_id: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OusOutput {
    organizational_units: Vec<OuOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListOrganizationalUnitsForParent {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:ListOrganizationalUnitsForParent",
            &self.parent_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<OusOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            if !org.is_parent(&self.parent_id) {
                return Err(errors::parent_not_found());
            }
            let items = org
                .ous
                .values()
                .filter(|o| o.parent_id == self.parent_id)
                .map(|o| ou_out(org, o))
                .collect();
            let (organizational_units, next_token) =
                page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(OusOutput {
                organizational_units,
                next_token,
            })
        })
    }
}
operation!(ListOrganizationalUnitsForParent -> OusOutput);

/// `ListChildren`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChildren {
    pub parent_id: String,
    pub child_type: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildrenOutput {
    children: Vec<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListChildren {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:ListChildren",
            &self.parent_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<ChildrenOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            if !org.is_parent(&self.parent_id) {
                return Err(errors::parent_not_found());
            }
            let items: Vec<Entity> = if self.child_type == "ACCOUNT" {
                org.accounts
                    .values()
                    .filter(|a| a.parent_id == self.parent_id)
                    .map(|a| Entity {
                        id: a.id.clone(),
                        kind: "ACCOUNT".into(),
                    })
                    .collect()
            } else {
                org.ous
                    .values()
                    .filter(|o| o.parent_id == self.parent_id)
                    .map(|o| Entity {
                        id: o.id.clone(),
                        kind: "ORGANIZATIONAL_UNIT".into(),
                    })
                    .collect()
            };
            let (children, next_token) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(ChildrenOutput {
                children,
                next_token,
            })
        })
    }
}
operation!(ListChildren -> ChildrenOutput);

/// `ListParents`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListParents {
    pub child_id: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParentsOutput {
    parents: Vec<Entity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListParents {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(target_check(
            svc,
            call,
            "organizations:ListParents",
            &self.child_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<ParentsOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let parent = if let Some(a) = org.accounts.get(&self.child_id) {
                a.parent_id.clone()
            } else if let Some(o) = org.ous.get(&self.child_id) {
                o.parent_id.clone()
            } else {
                return Err(errors::child_not_found());
            };
            let kind = if parent == org.rec.root_id {
                "ROOT"
            } else {
                "ORGANIZATIONAL_UNIT"
            };
            let (parents, next_token) = page(
                vec![Entity {
                    id: parent,
                    kind: kind.into(),
                }],
                self.next_token.as_deref(),
                self.max_results,
            )?;
            Ok(ParentsOutput {
                parents,
                next_token,
            })
        })
    }
}
operation!(ListParents -> ParentsOutput);

/// `MoveAccount`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveAccount {
    pub account_id: String,
    pub source_parent_id: String,
    pub destination_parent_id: String,
}

impl MoveAccount {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        let a = "organizations:MoveAccount";
        Ok(Authorization::all(vec![
            target_check(svc, call, a, &self.account_id),
            target_check(svc, call, a, &self.source_parent_id),
            target_check(svc, call, a, &self.destination_parent_id),
        ]))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        check_account_id(&self.account_id)?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if !org.is_parent(&self.source_parent_id) {
                return Err(errors::source_parent_not_found());
            }
            if !org.is_parent(&self.destination_parent_id) {
                return Err(errors::destination_parent_not_found());
            }
            let a = org
                .accounts
                .get_mut(&self.account_id)
                .ok_or_else(errors::account_not_found)?;
            if a.parent_id != self.source_parent_id {
                return Err(errors::source_parent_not_found());
            }
            if self.source_parent_id == self.destination_parent_id {
                return Err(errors::duplicate_account());
            }
            a.parent_id = self.destination_parent_id;
            batch.put(&*a);
            Ok(Empty {})
        })
        .await
    }
}
operation!(MoveAccount -> Empty);

// ---------------------------------------------------------------------------------------
// Policies

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOutput {
    policy: PolicyOut,
}

/// `CreatePolicy`: SCPs and RCPs, validated by the policy engine for their type.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicy {
    pub content: String,
    pub description: String,
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl CreatePolicy {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        let pairs = tag_pairs(&self.tags);
        Ok(Authorization::check(
            check("organizations:CreatePolicy", "*")
                .with("organizations:PolicyType", self.kind.clone())
                .request_tags(&pairs, None),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<PolicyOutput, AwsError> {
        let kind = Kind::parse(&self.kind)?;
        validate_tags(&self.tags)?;
        let compiled = check_content(&self.content, kind)?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if org
                .policies
                .values()
                .any(|p| p.kind == kind && p.name == self.name)
            {
                return Err(errors::duplicate_policy());
            }
            let rec = PolicyRec {
                org_id: org.rec.id.clone(),
                id: format!("p-{}", random_id(8)),
                name: self.name,
                description: self.description,
                kind,
                content: self.content,
                tags: self.tags,
            };
            batch.put(&rec);
            let entry = entry_of(rec, compiled);
            let out = policy_out(org, &entry);
            org.policies.insert(entry.id.clone(), entry);
            Ok(PolicyOutput { policy: out })
        })
        .await
    }
}
operation!(CreatePolicy -> PolicyOutput);

/// `UpdatePolicy`: name, description or content; AWS managed policies cannot change.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePolicy {
    pub policy_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
}

impl UpdatePolicy {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(policy_check(
            svc,
            call,
            "organizations:UpdatePolicy",
            &self.policy_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<PolicyOutput, AwsError> {
        check_id(&self.policy_id, "p-")?;
        let caller = call.account().to_string();
        let kind = svc.read(|st| {
            let org = st.managed_by(&caller)?;
            let p = org
                .policies
                .get(&self.policy_id)
                .ok_or_else(errors::policy_not_found)?;
            if p.aws_managed {
                return Err(errors::invalid_input(
                    "You can't modify an AWS managed policy.",
                ));
            }
            Ok(p.kind)
        })?;
        let compiled = match &self.content {
            Some(c) => Some(check_content(c, kind)?),
            None => None,
        };
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if let Some(name) = &self.name
                && org
                    .policies
                    .values()
                    .any(|p| p.kind == kind && &p.name == name && p.id != self.policy_id)
            {
                return Err(errors::duplicate_policy());
            }
            let org_id = org.rec.id.clone();
            let p = org
                .policies
                .get_mut(&self.policy_id)
                .filter(|p| !p.aws_managed)
                .ok_or_else(errors::policy_not_found)?;
            if let Some(n) = self.name {
                p.name = n;
            }
            if let Some(d) = self.description {
                p.description = d;
            }
            if let (Some(c), Some(compiled)) = (self.content, compiled) {
                p.content = c;
                p.compiled = Arc::new(compiled);
            }
            batch.put(&PolicyRec {
                org_id,
                id: p.id.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                kind: p.kind,
                content: p.content.clone(),
                tags: p.tags.clone(),
            });
            let p = p.clone();
            Ok(PolicyOutput {
                policy: policy_out(org, &p),
            })
        })
        .await
    }
}
operation!(UpdatePolicy -> PolicyOutput);

/// `DeletePolicy`: only a detached customer managed policy.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletePolicy {
    pub policy_id: String,
}

impl DeletePolicy {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(policy_check(
            svc,
            call,
            "organizations:DeletePolicy",
            &self.policy_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        check_id(&self.policy_id, "p-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            let p = org
                .policies
                .get(&self.policy_id)
                .ok_or_else(errors::policy_not_found)?;
            if p.aws_managed {
                return Err(errors::invalid_input(
                    "You can't delete an AWS managed policy.",
                ));
            }
            if org
                .attachments
                .iter()
                .any(|(pid, _)| pid == &self.policy_id)
            {
                return Err(errors::policy_in_use());
            }
            org.policies.remove(&self.policy_id);
            batch.delete::<PolicyRec>(&self.policy_id);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeletePolicy -> Empty);

/// `DescribePolicy`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribePolicy {
    pub policy_id: String,
}

impl DescribePolicy {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(policy_check(
            svc,
            call,
            "organizations:DescribePolicy",
            &self.policy_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<PolicyOutput, AwsError> {
        check_id(&self.policy_id, "p-")?;
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let p = org
                .policies
                .get(&self.policy_id)
                .ok_or_else(errors::policy_not_found)?;
            Ok(PolicyOutput {
                policy: policy_out(org, p),
            })
        })
    }
}
operation!(DescribePolicy -> PolicyOutput);

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoliciesOutput {
    policies: Vec<PolicySummaryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `ListPolicies`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPolicies {
    pub filter: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

impl ListPolicies {
    fn checks(&self, _svc: &Organizations, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            check("organizations:ListPolicies", "*")
                .with("organizations:PolicyType", self.filter.clone()),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<PoliciesOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let items: Vec<PolicySummaryOut> = match Kind::parse(&self.filter) {
                Ok(kind) => org
                    .policies
                    .values()
                    .filter(|p| p.kind == kind)
                    .map(|p| summary_out(org, p))
                    .collect(),
                // Types Perimeter does not model have no policies.
                Err(_) => Vec::new(),
            };
            let (policies, next_token) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(PoliciesOutput {
                policies,
                next_token,
            })
        })
    }
}
operation!(ListPolicies -> PoliciesOutput);

/// `AttachPolicy`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachPolicy {
    pub policy_id: String,
    pub target_id: String,
}

fn attach_checks(
    svc: &Organizations,
    call: &Call,
    action: &'static str,
    policy_id: &str,
    target_id: &str,
) -> Authorization {
    let policy = policy_check(svc, call, action, policy_id);
    let kind = policy
        .context
        .iter()
        .find(|(k, _)| k == "organizations:PolicyType")
        .map(|(_, v)| v.clone());
    let mut target = target_check(svc, call, action, target_id);
    if let Some(k) = kind {
        target = target.with("organizations:PolicyType", k);
    }
    Authorization::all(vec![policy, target])
}

impl AttachPolicy {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(attach_checks(
            svc,
            call,
            "organizations:AttachPolicy",
            &self.policy_id,
            &self.target_id,
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        check_id(&self.policy_id, "p-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            let kind = org
                .policies
                .get(&self.policy_id)
                .ok_or_else(errors::policy_not_found)?
                .kind;
            if org.target_kind(&self.target_id).is_none() {
                return Err(errors::target_not_found());
            }
            if !org.rec.enabled.contains(&kind) {
                return Err(errors::type_not_enabled());
            }
            let pair = (self.policy_id.clone(), self.target_id.clone());
            if org.attachments.contains(&pair) {
                return Err(errors::duplicate_attachment());
            }
            if org.attached(&self.target_id, kind).len() >= 5 {
                return Err(errors::constraint(
                    "You have attached the maximum number of policies of this type to the specified target.",
                ));
            }
            batch.put(&AttachmentRec {
                org_id: org.rec.id.clone(),
                policy_id: pair.0.clone(),
                target_id: pair.1.clone(),
            });
            org.attachments.insert(pair);
            Ok(Empty {})
        })
        .await
    }
}
operation!(AttachPolicy -> Empty);

/// `DetachPolicy`: a target keeps at least one SCP; `RCPFullAWSAccess` stays.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetachPolicy {
    pub policy_id: String,
    pub target_id: String,
}

impl DetachPolicy {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(attach_checks(
            svc,
            call,
            "organizations:DetachPolicy",
            &self.policy_id,
            &self.target_id,
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        check_id(&self.policy_id, "p-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            let kind = org
                .policies
                .get(&self.policy_id)
                .ok_or_else(errors::policy_not_found)?
                .kind;
            if org.target_kind(&self.target_id).is_none() {
                return Err(errors::target_not_found());
            }
            let pair = (self.policy_id.clone(), self.target_id.clone());
            if !org.attachments.contains(&pair) {
                return Err(errors::not_attached());
            }
            if self.policy_id == Kind::Rcp.full_access_id() {
                return Err(errors::invalid_input(
                    "You can't detach the RCPFullAWSAccess policy.",
                ));
            }
            if kind == Kind::Scp && org.attached(&self.target_id, kind).len() <= 1 {
                return Err(errors::constraint(
                    "You attempted to detach the last service control policy from the target. A root, OU or account must have at least one SCP attached.",
                ));
            }
            batch.delete::<AttachmentRec>(&AttachmentRec::key_of(
                &org.rec.id,
                &pair.0,
                &pair.1,
            ));
            org.attachments.remove(&pair);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DetachPolicy -> Empty);

/// `ListPoliciesForTarget`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesForTarget {
    pub target_id: String,
    pub filter: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

impl ListPoliciesForTarget {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            target_check(
                svc,
                call,
                "organizations:ListPoliciesForTarget",
                &self.target_id,
            )
            .with("organizations:PolicyType", self.filter.clone()),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<PoliciesOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            if org.target_kind(&self.target_id).is_none() {
                return Err(errors::target_not_found());
            }
            let items: Vec<PolicySummaryOut> = match Kind::parse(&self.filter) {
                Ok(kind) => org
                    .attached(&self.target_id, kind)
                    .into_iter()
                    .map(|p| summary_out(org, p))
                    .collect(),
                Err(_) => Vec::new(),
            };
            let (policies, next_token) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(PoliciesOutput {
                policies,
                next_token,
            })
        })
    }
}
operation!(ListPoliciesForTarget -> PoliciesOutput);

/// `ListTargetsForPolicy`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTargetsForPolicy {
    pub policy_id: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetsOutput {
    targets: Vec<TargetOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListTargetsForPolicy {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(policy_check(
            svc,
            call,
            "organizations:ListTargetsForPolicy",
            &self.policy_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<TargetsOutput, AwsError> {
        check_id(&self.policy_id, "p-")?;
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            if !org.policies.contains_key(&self.policy_id) {
                return Err(errors::policy_not_found());
            }
            let items: Vec<TargetOut> = org
                .attachments
                .iter()
                .filter(|(p, _)| p == &self.policy_id)
                .filter_map(|(_, t)| {
                    Some(TargetOut {
                        target_id: t.clone(),
                        arn: org.target_arn(t)?,
                        name: org.target_name(t),
                        kind: org.target_kind(t)?.as_str().into(),
                    })
                })
                .collect();
            let (targets, next_token) = page(items, self.next_token.as_deref(), self.max_results)?;
            Ok(TargetsOutput {
                targets,
                next_token,
            })
        })
    }
}
operation!(ListTargetsForPolicy -> TargetsOutput);

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootOutput {
    root: RootOut,
}

/// `EnablePolicyType`: attaches the type's full-access policy to the root, every OU and
/// every account, as AWS does.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnablePolicyType {
    pub root_id: String,
    pub policy_type: String,
}

impl EnablePolicyType {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            target_check(svc, call, "organizations:EnablePolicyType", &self.root_id)
                .with("organizations:PolicyType", self.policy_type.clone()),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<RootOutput, AwsError> {
        check_id(&self.root_id, "r-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if org.rec.root_id != self.root_id {
                return Err(errors::root_not_found());
            }
            if org.rec.feature_set != "ALL" {
                return Err(errors::constraint(
                    "The organization must have all features enabled to use authorization policies.",
                ));
            }
            let kind = Kind::parse(&self.policy_type)?;
            if org.rec.enabled.contains(&kind) {
                return Err(errors::type_already_enabled());
            }
            org.rec.enabled.insert(kind);
            batch.put(&org.rec);
            let targets: Vec<String> = std::iter::once(org.rec.root_id.clone())
                .chain(org.ous.keys().cloned())
                .chain(org.accounts.keys().cloned())
                .collect();
            let pid = kind.full_access_id().to_string();
            for t in targets {
                batch.put(&AttachmentRec {
                    org_id: org.rec.id.clone(),
                    policy_id: pid.clone(),
                    target_id: t.clone(),
                });
                org.attachments.insert((pid.clone(), t));
            }
            Ok(RootOutput {
                root: root_out(org),
            })
        })
        .await
    }
}
operation!(EnablePolicyType -> RootOutput);

/// `DisablePolicyType`: detaches every policy of the type.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisablePolicyType {
    pub root_id: String,
    pub policy_type: String,
}

impl DisablePolicyType {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            target_check(svc, call, "organizations:DisablePolicyType", &self.root_id)
                .with("organizations:PolicyType", self.policy_type.clone()),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<RootOutput, AwsError> {
        check_id(&self.root_id, "r-")?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            let org = st.managed_by_mut(&caller)?;
            if org.rec.root_id != self.root_id {
                return Err(errors::root_not_found());
            }
            let kind = Kind::parse(&self.policy_type)?;
            if !org.rec.enabled.remove(&kind) {
                return Err(errors::type_not_enabled());
            }
            batch.put(&org.rec);
            let gone: Vec<(String, String)> = org
                .attachments
                .iter()
                .filter(|(p, _)| org.policies.get(p).is_some_and(|p| p.kind == kind))
                .cloned()
                .collect();
            for (p, t) in gone {
                batch.delete::<AttachmentRec>(&AttachmentRec::key_of(&org.rec.id, &p, &t));
                org.attachments.remove(&(p, t));
            }
            Ok(RootOutput {
                root: root_out(org),
            })
        })
        .await
    }
}
operation!(DisablePolicyType -> RootOutput);

// ---------------------------------------------------------------------------------------
// Tags

fn resource_check(svc: &Organizations, call: &Call, action: &'static str, id: &str) -> Check {
    if id.starts_with("p-") {
        policy_check(svc, call, action, id)
    } else {
        target_check(svc, call, action, id)
    }
}

/// Changes the tags of a root, OU, account or policy.
fn retag(
    st: &mut State,
    caller: &str,
    id: &str,
    batch: &mut Batch,
    f: impl FnOnce(&mut Vec<Tag>),
) -> Result<(), AwsError> {
    let org = st.managed_by_mut(caller)?;
    if id == org.rec.root_id {
        f(&mut org.rec.root_tags);
        batch.put(&org.rec);
        return Ok(());
    }
    let org_id = org.rec.id.clone();
    if let Some(ou) = org.ous.get_mut(id) {
        f(&mut ou.tags);
        batch.put(&*ou);
    } else if let Some(a) = org.accounts.get_mut(id) {
        f(&mut a.tags);
        batch.put(&*a);
    } else if let Some(p) = org.policies.get_mut(id).filter(|p| !p.aws_managed) {
        f(&mut p.tags);
        batch.put(&PolicyRec {
            org_id,
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            kind: p.kind,
            content: p.content.clone(),
            tags: p.tags.clone(),
        });
    } else {
        return Err(errors::target_not_found());
    }
    Ok(())
}

/// `TagResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    pub resource_id: String,
    pub tags: Vec<Tag>,
}

impl TagResource {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        let pairs = tag_pairs(&self.tags);
        Ok(Authorization::check(
            resource_check(svc, call, "organizations:TagResource", &self.resource_id)
                .request_tags(&pairs, None),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        validate_tags(&self.tags)?;
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            retag(st, &caller, &self.resource_id, batch, |tags| {
                merge_tags(tags, &self.tags)
            })?;
            Ok(Empty {})
        })
        .await
    }
}
operation!(TagResource -> Empty);

/// `UntagResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResource {
    pub resource_id: String,
    pub tag_keys: Vec<String>,
}

impl UntagResource {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            resource_check(svc, call, "organizations:UntagResource", &self.resource_id)
                .with("aws:TagKeys", self.tag_keys.clone()),
        ))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<Empty, AwsError> {
        let caller = call.account().to_string();
        svc.write(call, move |st, batch| {
            retag(st, &caller, &self.resource_id, batch, |tags| {
                tags.retain(|t| !self.tag_keys.contains(&t.key))
            })?;
            Ok(Empty {})
        })
        .await
    }
}
operation!(UntagResource -> Empty);

/// `ListTagsForResource`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResource {
    pub resource_id: String,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOutput {
    tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl ListTagsForResource {
    fn checks(&self, svc: &Organizations, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(resource_check(
            svc,
            call,
            "organizations:ListTagsForResource",
            &self.resource_id,
        )))
    }

    async fn run(self, svc: &Organizations, call: &Call) -> Result<TagsOutput, AwsError> {
        svc.read(|st| {
            let org = st.managed_by(call.account())?;
            let known = org.target_kind(&self.resource_id).is_some()
                || org.policies.contains_key(&self.resource_id);
            if !known {
                return Err(errors::target_not_found());
            }
            let (tags, next_token) = page(
                tags_of(org, &self.resource_id),
                self.next_token.as_deref(),
                Some(20),
            )?;
            Ok(TagsOutput { tags, next_token })
        })
    }
}
operation!(ListTagsForResource -> TagsOutput);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_checked_for_its_type() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert!(check_content(ok, Kind::Scp).is_ok());
        let err = check_content("{", Kind::Scp).unwrap_err();
        assert_eq!(err.code, "MalformedPolicyDocumentException");
        assert!(err.message.contains("line 1"), "{}", err.message);
        // An RCP names its principals; an SCP may not.
        let rcp = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        assert!(check_content(rcp, Kind::Rcp).is_ok());
        assert_eq!(
            check_content(rcp, Kind::Scp).unwrap_err().code,
            "MalformedPolicyDocumentException"
        );
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"s3:*","Resource":"*","Sid":"{}"}}]}}"#,
            "a".repeat(MAX_POLICY_SIZE)
        );
        assert_eq!(
            check_content(&big, Kind::Scp).unwrap_err().code,
            "ConstraintViolationException"
        );
    }

    #[test]
    fn pages_and_ids() {
        let (a, next) = page((0..25).collect(), None, None).unwrap();
        assert_eq!(a.len(), 20);
        let (b, next) = page((0..25).collect::<Vec<_>>(), next.as_deref(), None).unwrap();
        assert_eq!(b, vec![20, 21, 22, 23, 24]);
        assert!(next.is_none());
        assert_eq!(
            page(vec![1], Some("x"), None).unwrap_err().code,
            "InvalidInputException"
        );
        assert!(check_id("p-abc12345", "p-").is_ok());
        assert!(check_id("p-", "p-").is_err());
        assert!(check_id("r-ab/cd", "r-").is_err());
        assert!(check_account_id("123456789012").is_ok());
        assert!(check_account_id("12345678901a").is_err());
    }
}
