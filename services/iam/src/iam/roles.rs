//! Roles, their trust policies and tags.

use std::collections::BTreeMap;

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};

use super::users::{ListTagsResponse, check_boundary};
use super::{now, requesting, tagged};
use crate::names::{
    self, Tag, already_exists, check_name, check_path, delete_conflict, limit_exceeded, validation,
};
use crate::state::{Doc, Role, TrustDoc, entity_key};
use crate::wire::{Empty, RoleOut, paginate};
use crate::{Iam, crypto};

/// Trust policies are limited to 2,048 characters (not counting white space) by default.
pub(crate) fn parse_trust(text: &str) -> Result<Doc<TrustDoc>, AwsError> {
    if names::policy_size(text) > 2048 {
        return Err(limit_exceeded(
            "Cannot exceed quota for ACLSizePerRole: 2048",
        ));
    }
    Doc::parse(text)
}

fn check_description(d: Option<&str>) -> Result<(), AwsError> {
    if let Some(d) = d
        && d.chars().count() > 1000
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'description' failed to satisfy constraint: \
             Member must have length less than or equal to 1000"
        )));
    }
    Ok(())
}

fn check_max_session(v: Option<i64>) -> Result<u32, AwsError> {
    match v {
        None => Ok(3600),
        Some(n) if (3600..=43200).contains(&n) => Ok(n as u32),
        Some(n) => Err(validation(format!(
            "The requested MaxSessionDuration value {n} is not valid. \
             Provide a value between 3600 and 43200 seconds."
        ))),
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRole {
    pub path: Option<String>,
    pub role_name: String,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleResponse {
    pub role: RoleOut,
}

impl CreateRole {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_name(&self.role_name, "roleName", 64)?;
        let path = check_path(self.path.as_deref(), "path")?;
        check_description(self.description.as_deref())?;
        check_max_session(self.max_session_duration)?;
        names::check_tags(&self.tags)?;
        let arn = names::iam_arn(call.account(), "role", &path, &self.role_name);
        let check = requesting(Check::new("iam:CreateRole", arn), &self.tags)
            .with_opt("iam:PermissionsBoundary", self.permissions_boundary.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<RoleResponse, AwsError> {
        let account = call.account().to_string();
        let path = check_path(self.path.as_deref(), "path")?;
        let max_session = check_max_session(self.max_session_duration)?;
        if self.tags.len() > 50 {
            return Err(limit_exceeded(
                "The number of tags has reached the maximum limit.",
            ));
        }
        let trust = parse_trust(&self.assume_role_policy_document)?;
        let created = now(call);
        svc.write(call, true, move |st, batch| {
            if let Some(b) = &self.permissions_boundary {
                check_boundary(svc, st, &account, b)?;
            }
            let acct = st.account_mut(&account)?;
            let key = self.role_name.to_lowercase();
            if acct.roles.contains_key(&key) {
                return Err(already_exists(format!(
                    "Role with name {} already exists.",
                    self.role_name
                )));
            }
            let role = Role {
                account: account.clone(),
                name: self.role_name,
                path,
                id: crypto::unique_id("AROA"),
                created,
                trust,
                description: self.description,
                max_session,
                tags: self.tags,
                inline: BTreeMap::new(),
                attached: Vec::new(),
                boundary: self.permissions_boundary,
                last_used: None,
            };
            batch.put(&role);
            let mut out = RoleOut::from(&role, true);
            out.role_last_used = None;
            acct.roles.insert(key, role);
            Ok(RoleResponse { role: out })
        })
        .await
    }
}
operation!(CreateRole -> RoleResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRole {
    pub role_name: String,
}

impl GetRole {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:GetRole", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<RoleResponse, AwsError> {
        svc.read(|st| {
            let role = st.account(call.account())?.role(&self.role_name)?;
            Ok(RoleResponse {
                role: RoleOut::from(role, true),
            })
        })
    }
}
operation!(GetRole -> RoleResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoles {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolesResponse {
    pub roles: Vec<RoleOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListRoles {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListRoles",
            super::list_resource(call, "role", &self.path_prefix),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListRolesResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let roles: Vec<RoleOut> = acct
                .roles
                .values()
                .filter(|r| names::path_matches(&r.path, self.path_prefix.as_deref()))
                .map(|r| RoleOut::from(r, false))
                .collect();
            let page = paginate(roles, self.marker.as_deref(), self.max_items)?;
            Ok(ListRolesResponse {
                roles: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListRoles -> ListRolesResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRole {
    pub role_name: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
}

impl UpdateRole {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_description(self.description.as_deref())?;
        check_max_session(self.max_session_duration)?;
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:UpdateRole", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let max = self
            .max_session_duration
            .map(|v| check_max_session(Some(v)))
            .transpose()?;
        svc.write(call, true, move |st, batch| {
            let role = st.account_mut(&account)?.role_mut(&self.role_name)?;
            if let Some(d) = self.description {
                role.description = Some(d);
            }
            if let Some(m) = max {
                role.max_session = m;
            }
            batch.put(&*role);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UpdateRole -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleDescription {
    pub role_name: String,
    pub description: String,
}

impl UpdateRoleDescription {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_description(Some(&self.description))?;
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:UpdateRoleDescription", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<RoleResponse, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let role = st.account_mut(&account)?.role_mut(&self.role_name)?;
            role.description = Some(self.description);
            batch.put(&*role);
            Ok(RoleResponse {
                role: RoleOut::from(role, true),
            })
        })
        .await
    }
}
operation!(UpdateRoleDescription -> RoleResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRole {
    pub role_name: String,
}

impl DeleteRole {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeleteRole", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let role = acct.role(&self.role_name)?;
            if acct
                .profiles
                .values()
                .any(|p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(&role.name)))
            {
                return Err(delete_conflict(
                    "Cannot delete entity, must remove roles from instance profile first.",
                ));
            }
            if !role.inline.is_empty() {
                return Err(delete_conflict(
                    "Cannot delete entity, must delete policies first.",
                ));
            }
            if !role.attached.is_empty() {
                return Err(delete_conflict(
                    "Cannot delete entity, must detach all policies first.",
                ));
            }
            batch.delete::<Role>(&entity_key(&account, &role.name));
            acct.roles.remove(&self.role_name.to_lowercase());
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteRole -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAssumeRolePolicy {
    pub role_name: String,
    pub policy_document: String,
}

impl UpdateAssumeRolePolicy {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:UpdateAssumeRolePolicy", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let trust = parse_trust(&self.policy_document)?;
        svc.write(call, true, move |st, batch| {
            let role = st.account_mut(&account)?.role_mut(&self.role_name)?;
            role.trust = trust;
            batch.put(&*role);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UpdateAssumeRolePolicy -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagRole {
    pub role_name: String,
    pub tags: Vec<Tag>,
}

impl TagRole {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        names::check_tags(&self.tags)?;
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(requesting(
            tagged(Check::new("iam:TagRole", arn), &tags),
            &self.tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let role = st.account_mut(&account)?.role_mut(&self.role_name)?;
            role.tags = names::merge_tags(&role.tags, &self.tags)?;
            batch.put(&*role);
            Ok(Empty {})
        })
        .await
    }
}
operation!(TagRole -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagRole {
    pub role_name: String,
    pub tag_keys: Vec<String>,
}

impl UntagRole {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.role_target(call, &self.role_name);
        let check = tagged(Check::new("iam:UntagRole", arn), &tags)
            .with("aws:TagKeys", self.tag_keys.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let role = st.account_mut(&account)?.role_mut(&self.role_name)?;
            role.tags = names::remove_tags(&role.tags, &self.tag_keys);
            batch.put(&*role);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UntagRole -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoleTags {
    pub role_name: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl ListRoleTags {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListRoleTags", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListTagsResponse, AwsError> {
        svc.read(|st| {
            let role = st.account(call.account())?.role(&self.role_name)?;
            ListTagsResponse::page(role.tags.clone(), self.marker.as_deref(), self.max_items)
        })
    }
}
operation!(ListRoleTags -> ListTagsResponse);
