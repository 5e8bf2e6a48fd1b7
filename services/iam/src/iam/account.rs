//! Account-wide operations: aliases, the summary and `GetAccountAuthorizationDetails`.

use std::collections::BTreeMap;

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};

use super::profiles::profile_out;
use crate::Iam;
use crate::names::{self, Tag, already_exists, no_such_entity};
use crate::state::{Account, Doc, IdentityDoc, ManagedPolicy};
use crate::wire::{
    AttachedPolicyOut, BoundaryOut, Empty, InstanceProfileOut, PolicyDetailOut, PolicyVersionOut,
    RoleLastUsedOut, paginate,
};

fn check_alias(alias: &str) -> Result<(), AwsError> {
    let b = alias.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !alias.contains("--");
    if !ok {
        return Err(names::validation(format!(
            "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountAlias {
    pub account_alias: String,
}

impl CreateAccountAlias {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        check_alias(&self.account_alias)?;
        Ok(Authorization::check(Check::new(
            "iam:CreateAccountAlias",
            "*",
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let taken = st.accounts.values().any(|a| {
                a.id() != account && a.rec.alias.as_deref() == Some(self.account_alias.as_str())
            });
            if taken {
                return Err(already_exists(format!(
                    "The account alias {} already exists.",
                    self.account_alias
                )));
            }
            let acct = st.account_mut(&account)?;
            acct.rec.alias = Some(self.account_alias);
            batch.put(&acct.rec);
            Ok(Empty {})
        })
        .await
    }
}
operation!(CreateAccountAlias -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAccountAlias {
    pub account_alias: String,
}

impl DeleteAccountAlias {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:DeleteAccountAlias",
            "*",
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            if acct.rec.alias.as_deref() != Some(self.account_alias.as_str()) {
                return Err(no_such_entity(format!(
                    "The account alias {} cannot be found.",
                    self.account_alias
                )));
            }
            acct.rec.alias = None;
            batch.put(&acct.rec);
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteAccountAlias -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountAliases {
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountAliasesResponse {
    pub account_aliases: Vec<String>,
    pub is_truncated: bool,
}

impl ListAccountAliases {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListAccountAliases",
            "*",
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListAccountAliasesResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            Ok(ListAccountAliasesResponse {
                account_aliases: acct.rec.alias.iter().cloned().collect(),
                is_truncated: false,
            })
        })
    }
}
operation!(ListAccountAliases -> ListAccountAliasesResponse);

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct GetAccountSummary {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccountSummaryResponse {
    pub summary_map: BTreeMap<&'static str, usize>,
}

impl GetAccountSummary {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:GetAccountSummary",
            "*",
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetAccountSummaryResponse, AwsError> {
        svc.read(|st| {
            let a = st.account(call.account())?;
            let mut m = BTreeMap::new();
            m.insert("Users", a.users.len());
            m.insert("UsersQuota", 5000);
            m.insert("Groups", a.groups.len());
            m.insert("GroupsQuota", 300);
            m.insert("Roles", a.roles.len());
            m.insert("RolesQuota", 1000);
            m.insert("Policies", a.policies.len());
            m.insert("PoliciesQuota", 1500);
            m.insert("InstanceProfiles", a.profiles.len());
            m.insert("InstanceProfilesQuota", 1000);
            m.insert("MFADevices", a.mfa.len());
            m.insert(
                "MFADevicesInUse",
                a.mfa.values().filter(|d| d.user.is_some()).count(),
            );
            m.insert("AccessKeysPerUserQuota", 2);
            m.insert("AttachedPoliciesPerUserQuota", 10);
            m.insert("AttachedPoliciesPerRoleQuota", 10);
            m.insert("AttachedPoliciesPerGroupQuota", 10);
            m.insert("PolicyVersionsInUseQuota", 10000);
            m.insert("PolicySizeQuota", 6144);
            m.insert("UserPolicySizeQuota", 2048);
            m.insert("RolePolicySizeQuota", 10240);
            m.insert("GroupPolicySizeQuota", 5120);
            m.insert("GroupsPerUserQuota", 10);
            m.insert("VersionsPerPolicyQuota", 5);
            m.insert(
                "AccountAccessKeysPresent",
                usize::from(!a.rec.root_access_key_id.is_empty()),
            );
            m.insert("AccountMFAEnabled", 0);
            m.insert("ServerCertificates", 0);
            m.insert("ServerCertificatesQuota", 20);
            m.insert("Providers", 0);
            Ok(GetAccountSummaryResponse { summary_map: m })
        })
    }
}
operation!(GetAccountSummary -> GetAccountSummaryResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccountAuthorizationDetails {
    #[serde(default)]
    pub filter: Vec<String>,
    pub max_items: Option<i64>,
    pub marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetailOut {
    pub path: String,
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub create_date: u64,
    pub user_policy_list: Vec<PolicyDetailOut>,
    pub group_list: Vec<String>,
    pub attached_managed_policies: Vec<AttachedPolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<BoundaryOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDetailOut {
    pub path: String,
    pub group_name: String,
    pub group_id: String,
    pub arn: String,
    pub create_date: u64,
    pub group_policy_list: Vec<PolicyDetailOut>,
    pub attached_managed_policies: Vec<AttachedPolicyOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleDetailOut {
    pub path: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: u64,
    pub assume_role_policy_document: String,
    pub instance_profile_list: Vec<InstanceProfileOut>,
    pub role_policy_list: Vec<PolicyDetailOut>,
    pub attached_managed_policies: Vec<AttachedPolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<BoundaryOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub role_last_used: RoleLastUsedOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyDetailOut {
    pub policy_name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub default_version_id: String,
    pub attachment_count: usize,
    pub permissions_boundary_usage_count: usize,
    pub is_attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub create_date: u64,
    pub update_date: u64,
    pub policy_version_list: Vec<PolicyVersionOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccountAuthorizationDetailsResponse {
    pub user_detail_list: Vec<UserDetailOut>,
    pub group_detail_list: Vec<GroupDetailOut>,
    pub role_detail_list: Vec<RoleDetailOut>,
    pub policies: Vec<ManagedPolicyDetailOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

fn details(inline: &BTreeMap<String, Doc<IdentityDoc>>) -> Vec<PolicyDetailOut> {
    inline
        .iter()
        .map(|(n, d)| PolicyDetailOut {
            policy_name: n.clone(),
            policy_document: names::encode_document(&d.text),
        })
        .collect()
}

fn attached(arns: &[String]) -> Vec<AttachedPolicyOut> {
    arns.iter()
        .map(|a| AttachedPolicyOut::from_arn(a))
        .collect()
}

fn boundary(arn: &Option<String>) -> Option<BoundaryOut> {
    arn.as_ref().map(|a| BoundaryOut {
        permissions_boundary_type: "PermissionsBoundaryPolicy",
        permissions_boundary_arn: a.clone(),
    })
}

fn policy_detail(acct: &Account, p: &ManagedPolicy) -> ManagedPolicyDetailOut {
    let (a, b) = acct.usage(&p.arn());
    ManagedPolicyDetailOut {
        policy_name: p.name.clone(),
        policy_id: p.id.clone(),
        arn: p.arn(),
        path: p.path.clone(),
        default_version_id: p.default_version.clone(),
        attachment_count: a,
        permissions_boundary_usage_count: b,
        is_attachable: true,
        description: p.description.clone(),
        create_date: p.created,
        update_date: p.updated,
        policy_version_list: p
            .versions
            .iter()
            .map(|v| PolicyVersionOut::from(p, v, true))
            .collect(),
    }
}

/// One entry of the combined listing, for pagination across the four lists.
enum Detail {
    User(UserDetailOut),
    Group(GroupDetailOut),
    Role(RoleDetailOut),
    Policy(ManagedPolicyDetailOut),
}

impl GetAccountAuthorizationDetails {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        for f in &self.filter {
            if ![
                "User",
                "Role",
                "Group",
                "LocalManagedPolicy",
                "AWSManagedPolicy",
            ]
            .contains(&f.as_str())
            {
                return Err(names::validation(format!(
                    "1 validation error detected: Value '{f}' at 'filter' failed to satisfy constraint: Member must \
                     satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]"
                )));
            }
        }
        Ok(Authorization::check(Check::new(
            "iam:GetAccountAuthorizationDetails",
            "*",
        )))
    }

    async fn run(
        self,
        svc: &Iam,
        call: &Call,
    ) -> Result<GetAccountAuthorizationDetailsResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let wants = |k: &str| self.filter.is_empty() || self.filter.iter().any(|f| f == k);
            let mut all: Vec<Detail> = Vec::new();
            if wants("User") {
                all.extend(acct.users.values().map(|u| {
                    Detail::User(UserDetailOut {
                        path: u.path.clone(),
                        user_name: u.name.clone(),
                        user_id: u.id.clone(),
                        arn: u.arn(),
                        create_date: u.created,
                        user_policy_list: details(&u.inline),
                        group_list: u.groups.clone(),
                        attached_managed_policies: attached(&u.attached),
                        permissions_boundary: boundary(&u.boundary),
                        tags: u.tags.clone(),
                    })
                }));
            }
            if wants("Group") {
                all.extend(acct.groups.values().map(|g| {
                    Detail::Group(GroupDetailOut {
                        path: g.path.clone(),
                        group_name: g.name.clone(),
                        group_id: g.id.clone(),
                        arn: g.arn(),
                        create_date: g.created,
                        group_policy_list: details(&g.inline),
                        attached_managed_policies: attached(&g.attached),
                    })
                }));
            }
            if wants("Role") {
                all.extend(acct.roles.values().map(|r| {
                    Detail::Role(RoleDetailOut {
                        path: r.path.clone(),
                        role_name: r.name.clone(),
                        role_id: r.id.clone(),
                        arn: r.arn(),
                        create_date: r.created,
                        assume_role_policy_document: names::encode_document(&r.trust.text),
                        instance_profile_list: acct
                            .profiles
                            .values()
                            .filter(|p| p.roles.iter().any(|n| n.eq_ignore_ascii_case(&r.name)))
                            .map(|p| profile_out(acct, p))
                            .collect(),
                        role_policy_list: details(&r.inline),
                        attached_managed_policies: attached(&r.attached),
                        permissions_boundary: boundary(&r.boundary),
                        tags: r.tags.clone(),
                        role_last_used: RoleLastUsedOut {
                            last_used_date: r.last_used.as_ref().map(|l| l.0),
                            region: r.last_used.as_ref().map(|l| l.1.clone()),
                        },
                    })
                }));
            }
            if wants("LocalManagedPolicy") {
                all.extend(
                    acct.policies
                        .values()
                        .map(|p| Detail::Policy(policy_detail(acct, p))),
                );
            }
            if wants("AWSManagedPolicy") {
                all.extend(
                    svc.aws_policies
                        .values()
                        .filter(|p| {
                            let (a, b) = acct.usage(&p.arn());
                            a + b > 0
                        })
                        .map(|p| Detail::Policy(policy_detail(acct, p))),
                );
            }
            let page = paginate(all, self.marker.as_deref(), self.max_items)?;
            let mut out = GetAccountAuthorizationDetailsResponse {
                user_detail_list: Vec::new(),
                group_detail_list: Vec::new(),
                role_detail_list: Vec::new(),
                policies: Vec::new(),
                is_truncated: page.is_truncated,
                marker: page.marker,
            };
            for d in page.items {
                match d {
                    Detail::User(u) => out.user_detail_list.push(u),
                    Detail::Group(g) => out.group_detail_list.push(g),
                    Detail::Role(r) => out.role_detail_list.push(r),
                    Detail::Policy(p) => out.policies.push(p),
                }
            }
            Ok(out)
        })
    }
}
operation!(GetAccountAuthorizationDetails -> GetAccountAuthorizationDetailsResponse);
