//! The IAM API (Query protocol). Each operation declares its action and resource as the
//! Service Authorization Reference lists them (`iam:CreateRole` on
//! `arn:aws:iam::ACCOUNT:role/PATH/NAME`), with `aws:RequestTag/*`, `aws:TagKeys`,
//! `aws:ResourceTag/*` / `iam:ResourceTag/*`, `iam:PolicyARN` and `iam:PermissionsBoundary`
//! where IAM supplies them.

use gateway::{AwsError, Call, Check, IdentityType, ServiceDef};

use crate::names::Tag;
use crate::{Iam, epoch};

/// [`gateway::operation!`] for IAM and STS: what AWS refuses to some session credentials
/// ([`session_restrictions`]) is refused before any policy is looked at.
macro_rules! operation {
    ($op:ident -> $out:ty) => {
        gateway::operation!(crate::Iam, $op -> $out, before = crate::iam::session_restrictions);
    };
}
pub(crate) use operation;

mod account;
mod groups;
mod inline;
mod keys;
mod mfa;
mod policies;
mod profiles;
mod roles;
mod users;

pub use account::*;
pub use groups::*;
pub use inline::*;
pub use keys::*;
pub use mfa::*;
pub use policies::*;
pub use profiles::*;
pub use roles::*;
pub use users::*;

pub use crate::simulate::{
    GetContextKeysForCustomPolicy, GetContextKeysForPrincipalPolicy, SimulateCustomPolicy,
    SimulatePrincipalPolicy,
};

/// What AWS refuses to temporary credentials that are not role sessions, whatever the
/// policies say: `GetSessionToken` credentials call IAM only with MFA and STS only for
/// `AssumeRole` and `GetCallerIdentity`; `GetFederationToken` credentials never call IAM and
/// call STS only for `GetCallerIdentity`.
pub(crate) fn session_restrictions(call: &Call, operation: &str) -> Result<(), AwsError> {
    let c = &call.caller;
    let Some(s) = &c.session else { return Ok(()) };
    let federated = c.kind == IdentityType::FederatedUser;
    let session_token =
        matches!(c.kind, IdentityType::IamUser | IdentityType::Root) && s.role.is_none();
    if !federated && !session_token {
        return Ok(());
    }
    match call.service {
        "iam" if federated || !s.mfa_authenticated => Err(crate::caller::invalid_token()),
        "sts" => {
            let allowed =
                operation == "GetCallerIdentity" || (session_token && operation == "AssumeRole");
            if allowed {
                Ok(())
            } else {
                Err(AwsError::new(
                    "AccessDenied",
                    403,
                    format!("Cannot call {operation} with session credentials"),
                ))
            }
        }
        _ => Ok(()),
    }
}

/// The request time in epoch seconds.
pub(crate) fn now(call: &Call) -> u64 {
    epoch(call.now)
}

/// The resource IAM names when it denies a listing: `arn:aws:iam::ACCOUNT:user/` (plus the
/// path prefix), as in "not authorized to perform: iam:ListUsers on resource: ...:user/".
pub(crate) fn list_resource(call: &Call, kind: &str, prefix: &Option<String>) -> String {
    let prefix = prefix.as_deref().unwrap_or("/");
    format!("arn:aws:iam::{}:{kind}{prefix}", call.account())
}

/// Adds a resource's tags as `aws:ResourceTag/*` and `iam:ResourceTag/*`.
pub(crate) fn tagged(mut check: Check, tags: &[Tag]) -> Check {
    for t in tags {
        check = check.with(format!("iam:ResourceTag/{}", t.key), t.value.clone());
    }
    check.resource_tags(tags.iter().map(|t| (t.key.clone(), t.value.clone())))
}

/// Request tags as `aws:RequestTag/*` and `aws:TagKeys`.
pub(crate) fn requesting(check: Check, tags: &[Tag]) -> Check {
    let pairs: Vec<(String, String)> = tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    check.request_tags(&pairs, None)
}

impl Iam {
    /// The ARN and tags of user `name` in the caller's account (the root path when absent).
    pub(crate) fn user_target(&self, call: &Call, name: &str) -> (String, Vec<Tag>) {
        let account = call.account();
        self.read(|st| {
            Ok(st
                .accounts
                .get(account)
                .and_then(|a| a.user(name).ok())
                .map(|u| (u.arn(), u.tags.clone())))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            (
                crate::names::iam_arn(account, "user", "/", name),
                Vec::new(),
            )
        })
    }

    /// The ARN and tags of role `name` in the caller's account.
    pub(crate) fn role_target(&self, call: &Call, name: &str) -> (String, Vec<Tag>) {
        let account = call.account();
        self.read(|st| {
            Ok(st
                .accounts
                .get(account)
                .and_then(|a| a.role(name).ok())
                .map(|r| (r.arn(), r.tags.clone())))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            (
                crate::names::iam_arn(account, "role", "/", name),
                Vec::new(),
            )
        })
    }

    /// The ARN of group `name` in the caller's account.
    pub(crate) fn group_target(&self, call: &Call, name: &str) -> String {
        let account = call.account();
        self.read(|st| {
            Ok(st
                .accounts
                .get(account)
                .and_then(|a| a.group(name).ok())
                .map(|g| g.arn()))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| crate::names::iam_arn(account, "group", "/", name))
    }

    /// The ARN and tags of instance profile `name` in the caller's account.
    pub(crate) fn profile_target(&self, call: &Call, name: &str) -> (String, Vec<Tag>) {
        let account = call.account();
        self.read(|st| {
            Ok(st
                .accounts
                .get(account)
                .and_then(|a| a.profile(name).ok())
                .map(|p| (p.arn(), p.tags.clone())))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            (
                crate::names::iam_arn(account, "instance-profile", "/", name),
                Vec::new(),
            )
        })
    }

    /// The tags of the managed policy `arn`.
    pub(crate) fn policy_tags(&self, call: &Call, arn: &str) -> Vec<Tag> {
        self.read(|st| {
            Ok(self
                .managed(st, call.account(), arn)
                .map(|p| p.tags.clone()))
        })
        .ok()
        .flatten()
        .unwrap_or_default()
    }
}

/// Registers every IAM operation.
pub(crate) fn register(def: ServiceDef, svc: &std::sync::Arc<Iam>) -> ServiceDef {
    macro_rules! ops {
        ($def:expr, $($op:ident),* $(,)?) => { $def$(.operation::<$op>(svc))* };
    }
    ops!(
        def,
        CreateUser,
        GetUser,
        ListUsers,
        UpdateUser,
        DeleteUser,
        TagUser,
        UntagUser,
        ListUserTags,
        CreateGroup,
        GetGroup,
        ListGroups,
        UpdateGroup,
        DeleteGroup,
        AddUserToGroup,
        RemoveUserFromGroup,
        ListGroupsForUser,
        CreateRole,
        GetRole,
        ListRoles,
        UpdateRole,
        UpdateRoleDescription,
        DeleteRole,
        UpdateAssumeRolePolicy,
        TagRole,
        UntagRole,
        ListRoleTags,
        CreatePolicy,
        GetPolicy,
        ListPolicies,
        DeletePolicy,
        CreatePolicyVersion,
        GetPolicyVersion,
        ListPolicyVersions,
        DeletePolicyVersion,
        SetDefaultPolicyVersion,
        TagPolicy,
        UntagPolicy,
        ListPolicyTags,
        ListEntitiesForPolicy,
        PutUserPolicy,
        GetUserPolicy,
        ListUserPolicies,
        DeleteUserPolicy,
        PutRolePolicy,
        GetRolePolicy,
        ListRolePolicies,
        DeleteRolePolicy,
        PutGroupPolicy,
        GetGroupPolicy,
        ListGroupPolicies,
        DeleteGroupPolicy,
        AttachUserPolicy,
        DetachUserPolicy,
        ListAttachedUserPolicies,
        AttachRolePolicy,
        DetachRolePolicy,
        ListAttachedRolePolicies,
        AttachGroupPolicy,
        DetachGroupPolicy,
        ListAttachedGroupPolicies,
        PutUserPermissionsBoundary,
        DeleteUserPermissionsBoundary,
        PutRolePermissionsBoundary,
        DeleteRolePermissionsBoundary,
        CreateAccessKey,
        ListAccessKeys,
        UpdateAccessKey,
        DeleteAccessKey,
        GetAccessKeyLastUsed,
        CreateInstanceProfile,
        GetInstanceProfile,
        ListInstanceProfiles,
        DeleteInstanceProfile,
        AddRoleToInstanceProfile,
        RemoveRoleFromInstanceProfile,
        ListInstanceProfilesForRole,
        TagInstanceProfile,
        UntagInstanceProfile,
        ListInstanceProfileTags,
        CreateVirtualMFADevice,
        EnableMFADevice,
        ListMFADevices,
        DeactivateMFADevice,
        DeleteVirtualMFADevice,
        ListVirtualMFADevices,
        GetAccountAuthorizationDetails,
        CreateAccountAlias,
        ListAccountAliases,
        DeleteAccountAlias,
        GetAccountSummary,
        SimulatePrincipalPolicy,
        SimulateCustomPolicy,
        GetContextKeysForPrincipalPolicy,
        GetContextKeysForCustomPolicy,
    )
}
