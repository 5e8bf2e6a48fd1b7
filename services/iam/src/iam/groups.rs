//! Groups and membership.

use std::collections::BTreeMap;

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};

use super::{now, tagged};
use crate::names::{
    already_exists, check_name, check_path, delete_conflict, limit_exceeded, no_such_entity,
};
use crate::state::{Group, User, entity_key};
use crate::wire::{Empty, GroupOut, UserOut, paginate};
use crate::{Iam, crypto, names};

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroup {
    pub path: Option<String>,
    pub group_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGroupResponse {
    pub group: GroupOut,
}

impl CreateGroup {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_name(&self.group_name, "groupName", 128)?;
        let path = check_path(self.path.as_deref(), "path")?;
        let arn = names::iam_arn(call.account(), "group", &path, &self.group_name);
        Ok(Authorization::check(Check::new("iam:CreateGroup", arn)))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<CreateGroupResponse, AwsError> {
        let account = call.account().to_string();
        let path = check_path(self.path.as_deref(), "path")?;
        let created = now(call);
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let key = self.group_name.to_lowercase();
            if acct.groups.contains_key(&key) {
                return Err(already_exists(format!(
                    "Group with name {} already exists.",
                    self.group_name
                )));
            }
            let group = Group {
                account: account.clone(),
                name: self.group_name,
                path,
                id: crypto::unique_id("AGPA"),
                created,
                inline: BTreeMap::new(),
                attached: Vec::new(),
            };
            batch.put(&group);
            let out = GroupOut::from(&group);
            acct.groups.insert(key, group);
            Ok(CreateGroupResponse { group: out })
        })
        .await
    }
}
operation!(CreateGroup -> CreateGroupResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetGroup {
    pub group_name: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetGroupResponse {
    pub group: GroupOut,
    pub users: Vec<UserOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl GetGroup {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:GetGroup",
            svc.group_target(call, &self.group_name),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetGroupResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let group = acct.group(&self.group_name)?;
            let users: Vec<UserOut> = acct
                .users
                .values()
                .filter(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(&group.name)))
                .map(|u| UserOut::from(u, false))
                .collect();
            let page = paginate(users, self.marker.as_deref(), self.max_items)?;
            Ok(GetGroupResponse {
                group: GroupOut::from(group),
                users: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(GetGroup -> GetGroupResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroups {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsResponse {
    pub groups: Vec<GroupOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListGroups {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListGroups",
            super::list_resource(call, "group", &self.path_prefix),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListGroupsResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let groups: Vec<GroupOut> = acct
                .groups
                .values()
                .filter(|g| names::path_matches(&g.path, self.path_prefix.as_deref()))
                .map(GroupOut::from)
                .collect();
            let page = paginate(groups, self.marker.as_deref(), self.max_items)?;
            Ok(ListGroupsResponse {
                groups: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListGroups -> ListGroupsResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsForUser {
    pub user_name: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl ListGroupsForUser {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.user_target(call, &self.user_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListGroupsForUser", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListGroupsResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let user = acct.user(&self.user_name)?;
            let groups: Vec<GroupOut> = user
                .groups
                .iter()
                .filter_map(|g| acct.group(g).ok())
                .map(GroupOut::from)
                .collect();
            let page = paginate(groups, self.marker.as_deref(), self.max_items)?;
            Ok(ListGroupsResponse {
                groups: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListGroupsForUser -> ListGroupsResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateGroup {
    pub group_name: String,
    pub new_path: Option<String>,
    pub new_group_name: Option<String>,
}

impl UpdateGroup {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        if let Some(n) = &self.new_group_name {
            check_name(n, "newGroupName", 128)?;
        }
        if self.new_path.is_some() {
            check_path(self.new_path.as_deref(), "newPath")?;
        }
        Ok(Authorization::check(Check::new(
            "iam:UpdateGroup",
            svc.group_target(call, &self.group_name),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let old_key = self.group_name.to_lowercase();
            let mut group = acct.group(&self.group_name)?.clone();
            let new_name = self
                .new_group_name
                .clone()
                .unwrap_or_else(|| group.name.clone());
            let new_key = new_name.to_lowercase();
            if new_key != old_key && acct.groups.contains_key(&new_key) {
                return Err(already_exists(format!(
                    "Group with name {new_name} already exists."
                )));
            }
            if let Some(p) = &self.new_path {
                group.path = p.clone();
            }
            let old_name = group.name.clone();
            group.name = new_name.clone();
            acct.groups.remove(&old_key);
            batch.delete::<Group>(&entity_key(&account, &old_name));
            batch.put(&group);
            acct.groups.insert(new_key, group);
            for u in acct.users.values_mut() {
                let mut changed = false;
                for g in u.groups.iter_mut() {
                    if g.eq_ignore_ascii_case(&old_name) {
                        *g = new_name.clone();
                        changed = true;
                    }
                }
                if changed {
                    batch.put::<User>(u);
                }
            }
            Ok(Empty {})
        })
        .await
    }
}
operation!(UpdateGroup -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteGroup {
    pub group_name: String,
}

impl DeleteGroup {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:DeleteGroup",
            svc.group_target(call, &self.group_name),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let group = acct.group(&self.group_name)?;
            if acct
                .users
                .values()
                .any(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(&group.name)))
            {
                return Err(delete_conflict(
                    "Cannot delete entity, must remove users from group first.",
                ));
            }
            if !group.inline.is_empty() {
                return Err(delete_conflict(
                    "Cannot delete entity, must delete policies first.",
                ));
            }
            if !group.attached.is_empty() {
                return Err(delete_conflict(
                    "Cannot delete entity, must detach all policies first.",
                ));
            }
            batch.delete::<Group>(&entity_key(&account, &group.name));
            acct.groups.remove(&self.group_name.to_lowercase());
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteGroup -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddUserToGroup {
    pub group_name: String,
    pub user_name: String,
}

impl AddUserToGroup {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:AddUserToGroup",
            svc.group_target(call, &self.group_name),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let group_name = acct.group(&self.group_name)?.name.clone();
            let user = acct.user_mut(&self.user_name)?;
            if user
                .groups
                .iter()
                .any(|g| g.eq_ignore_ascii_case(&group_name))
            {
                return Ok(Empty {});
            }
            if user.groups.len() >= 10 {
                return Err(limit_exceeded("Cannot exceed quota for GroupsPerUser: 10"));
            }
            user.groups.push(group_name);
            batch.put(&*user);
            Ok(Empty {})
        })
        .await
    }
}
operation!(AddUserToGroup -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveUserFromGroup {
    pub group_name: String,
    pub user_name: String,
}

impl RemoveUserFromGroup {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:RemoveUserFromGroup",
            svc.group_target(call, &self.group_name),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let group_name = acct.group(&self.group_name)?.name.clone();
            let user = acct.user_mut(&self.user_name)?;
            let before = user.groups.len();
            user.groups.retain(|g| !g.eq_ignore_ascii_case(&group_name));
            if user.groups.len() == before {
                return Err(no_such_entity(format!(
                    "The user with name {} cannot be found in group {group_name}.",
                    self.user_name
                )));
            }
            batch.put(&*user);
            Ok(Empty {})
        })
        .await
    }
}
operation!(RemoveUserFromGroup -> Empty);
