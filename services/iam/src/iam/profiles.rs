//! Instance profiles.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};

use super::users::ListTagsResponse;
use super::{now, requesting, tagged};
use crate::names::{
    self, Tag, already_exists, check_name, check_path, delete_conflict, limit_exceeded,
    no_such_entity,
};
use crate::state::{Account, InstanceProfile, entity_key};
use crate::wire::{Empty, InstanceProfileOut, RoleOut, paginate};
use crate::{Iam, crypto};

pub(crate) fn profile_out(acct: &Account, p: &InstanceProfile) -> InstanceProfileOut {
    let roles = p
        .roles
        .iter()
        .filter_map(|r| acct.role(r).ok())
        .map(|r| RoleOut::from(r, false))
        .collect();
    InstanceProfileOut::from(p, roles)
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInstanceProfile {
    pub instance_profile_name: String,
    pub path: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceProfileResponse {
    pub instance_profile: InstanceProfileOut,
}

impl CreateInstanceProfile {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_name(&self.instance_profile_name, "instanceProfileName", 128)?;
        let path = check_path(self.path.as_deref(), "path")?;
        names::check_tags(&self.tags)?;
        let arn = names::iam_arn(
            call.account(),
            "instance-profile",
            &path,
            &self.instance_profile_name,
        );
        Ok(Authorization::check(requesting(
            Check::new("iam:CreateInstanceProfile", arn),
            &self.tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<InstanceProfileResponse, AwsError> {
        let account = call.account().to_string();
        let path = check_path(self.path.as_deref(), "path")?;
        if self.tags.len() > 50 {
            return Err(limit_exceeded(
                "The number of tags has reached the maximum limit.",
            ));
        }
        let created = now(call);
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let key = self.instance_profile_name.to_lowercase();
            if acct.profiles.contains_key(&key) {
                return Err(already_exists(format!(
                    "Instance Profile {} already exists.",
                    self.instance_profile_name
                )));
            }
            let p = InstanceProfile {
                account: account.clone(),
                name: self.instance_profile_name,
                path,
                id: crypto::unique_id("AIPA"),
                created,
                roles: Vec::new(),
                tags: self.tags,
            };
            batch.put(&p);
            let out = InstanceProfileOut::from(&p, Vec::new());
            acct.profiles.insert(key, p);
            Ok(InstanceProfileResponse {
                instance_profile: out,
            })
        })
        .await
    }
}
operation!(CreateInstanceProfile -> InstanceProfileResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetInstanceProfile {
    pub instance_profile_name: String,
}

impl GetInstanceProfile {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:GetInstanceProfile", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<InstanceProfileResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let p = acct.profile(&self.instance_profile_name)?;
            Ok(InstanceProfileResponse {
                instance_profile: profile_out(acct, p),
            })
        })
    }
}
operation!(GetInstanceProfile -> InstanceProfileResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstanceProfiles {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstanceProfilesResponse {
    pub instance_profiles: Vec<InstanceProfileOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListInstanceProfiles {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListInstanceProfiles",
            super::list_resource(call, "instance-profile", &self.path_prefix),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListInstanceProfilesResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let items: Vec<InstanceProfileOut> = acct
                .profiles
                .values()
                .filter(|p| names::path_matches(&p.path, self.path_prefix.as_deref()))
                .map(|p| profile_out(acct, p))
                .collect();
            let page = paginate(items, self.marker.as_deref(), self.max_items)?;
            Ok(ListInstanceProfilesResponse {
                instance_profiles: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListInstanceProfiles -> ListInstanceProfilesResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstanceProfilesForRole {
    pub role_name: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl ListInstanceProfilesForRole {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.role_target(call, &self.role_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListInstanceProfilesForRole", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListInstanceProfilesResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let role = acct.role(&self.role_name)?;
            let items: Vec<InstanceProfileOut> = acct
                .profiles
                .values()
                .filter(|p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(&role.name)))
                .map(|p| profile_out(acct, p))
                .collect();
            let page = paginate(items, self.marker.as_deref(), self.max_items)?;
            Ok(ListInstanceProfilesResponse {
                instance_profiles: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListInstanceProfilesForRole -> ListInstanceProfilesResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInstanceProfile {
    pub instance_profile_name: String,
}

impl DeleteInstanceProfile {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeleteInstanceProfile", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let p = acct.profile(&self.instance_profile_name)?;
            if !p.roles.is_empty() {
                return Err(delete_conflict(
                    "Cannot delete entity, must remove roles from instance profile first.",
                ));
            }
            batch.delete::<InstanceProfile>(&entity_key(&account, &p.name));
            acct.profiles
                .remove(&self.instance_profile_name.to_lowercase());
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteInstanceProfile -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddRoleToInstanceProfile {
    pub instance_profile_name: String,
    pub role_name: String,
}

impl AddRoleToInstanceProfile {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        let (role_arn, _) = svc.role_target(call, &self.role_name);
        // Adding a role to an instance profile passes the role (to EC2).
        Ok(Authorization::all(vec![
            tagged(Check::new("iam:AddRoleToInstanceProfile", arn), &tags),
            Check::new("iam:PassRole", role_arn).with("iam:PassedToService", "ec2.amazonaws.com"),
        ]))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let role_name = acct.role(&self.role_name)?.name.clone();
            let p = acct.profile_mut(&self.instance_profile_name)?;
            if !p.roles.is_empty() {
                return Err(limit_exceeded(
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
                ));
            }
            p.roles.push(role_name);
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(AddRoleToInstanceProfile -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveRoleFromInstanceProfile {
    pub instance_profile_name: String,
    pub role_name: String,
}

impl RemoveRoleFromInstanceProfile {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:RemoveRoleFromInstanceProfile", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let p = acct.profile_mut(&self.instance_profile_name)?;
            let before = p.roles.len();
            p.roles.retain(|r| !r.eq_ignore_ascii_case(&self.role_name));
            if p.roles.len() == before {
                return Err(no_such_entity(format!(
                    "The role with name {} cannot be found in instance profile {}.",
                    self.role_name, p.name
                )));
            }
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(RemoveRoleFromInstanceProfile -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInstanceProfile {
    pub instance_profile_name: String,
    pub tags: Vec<Tag>,
}

impl TagInstanceProfile {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        names::check_tags(&self.tags)?;
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        Ok(Authorization::check(requesting(
            tagged(Check::new("iam:TagInstanceProfile", arn), &tags),
            &self.tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let p = st
                .account_mut(&account)?
                .profile_mut(&self.instance_profile_name)?;
            p.tags = names::merge_tags(&p.tags, &self.tags)?;
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(TagInstanceProfile -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagInstanceProfile {
    pub instance_profile_name: String,
    pub tag_keys: Vec<String>,
}

impl UntagInstanceProfile {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        let check = tagged(Check::new("iam:UntagInstanceProfile", arn), &tags)
            .with("aws:TagKeys", self.tag_keys.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, false, move |st, batch| {
            let p = st
                .account_mut(&account)?
                .profile_mut(&self.instance_profile_name)?;
            p.tags = names::remove_tags(&p.tags, &self.tag_keys);
            batch.put(&*p);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UntagInstanceProfile -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstanceProfileTags {
    pub instance_profile_name: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl ListInstanceProfileTags {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.profile_target(call, &self.instance_profile_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListInstanceProfileTags", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListTagsResponse, AwsError> {
        svc.read(|st| {
            let p = st
                .account(call.account())?
                .profile(&self.instance_profile_name)?;
            ListTagsResponse::page(p.tags.clone(), self.marker.as_deref(), self.max_items)
        })
    }
}
operation!(ListInstanceProfileTags -> ListTagsResponse);
