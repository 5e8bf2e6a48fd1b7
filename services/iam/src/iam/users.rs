//! Users and their tags.

use std::collections::BTreeMap;

use gateway::{Authorization, AwsError, Call, Check, IdentityType};
use serde::{Deserialize, Serialize};
use storage::Batch;

use super::{now, requesting, tagged};
use crate::names::{self, Tag, already_exists, check_name, check_path, delete_conflict};
use crate::state::{AccessKey, Account, MfaDevice, Session, SessionKind, State, User};
use crate::wire::{Empty, UserOut, paginate};
use crate::{Iam, crypto};

/// Checks that a boundary policy exists in (or for) `account`.
pub(crate) fn check_boundary(
    iam: &Iam,
    st: &State,
    account: &str,
    arn: &str,
) -> Result<(), AwsError> {
    if iam.managed(st, account, arn).is_none() {
        return Err(names::invalid_input(format!(
            "ARN {arn} is not valid. The specified value for permissionsBoundary is invalid or does not exist."
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUser {
    pub path: Option<String>,
    pub user_name: String,
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserResponse {
    pub user: UserOut,
}

impl CreateUser {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        check_name(&self.user_name, "userName", 64)?;
        let path = check_path(self.path.as_deref(), "path")?;
        names::check_tags(&self.tags)?;
        let arn = names::iam_arn(call.account(), "user", &path, &self.user_name);
        let check = requesting(Check::new("iam:CreateUser", arn), &self.tags)
            .with_opt("iam:PermissionsBoundary", self.permissions_boundary.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<CreateUserResponse, AwsError> {
        let account = call.account().to_string();
        let path = check_path(self.path.as_deref(), "path")?;
        if self.tags.len() > 50 {
            return Err(names::limit_exceeded(
                "The number of tags has reached the maximum limit.",
            ));
        }
        let created = now(call);
        svc.write(call, true, move |st, batch| {
            if let Some(b) = &self.permissions_boundary {
                check_boundary(svc, st, &account, b)?;
            }
            let acct = st.account_mut(&account)?;
            let key = self.user_name.to_lowercase();
            if acct.users.contains_key(&key) {
                return Err(already_exists(format!(
                    "User with name {} already exists.",
                    self.user_name
                )));
            }
            let user = User {
                account: account.clone(),
                name: self.user_name,
                path,
                id: crypto::unique_id("AIDA"),
                created,
                tags: self.tags,
                inline: BTreeMap::new(),
                attached: Vec::new(),
                boundary: self.permissions_boundary,
                groups: Vec::new(),
            };
            batch.put(&user);
            let out = UserOut::from(&user, true);
            acct.users.insert(key, user);
            Ok(CreateUserResponse { user: out })
        })
        .await
    }
}
operation!(CreateUser -> CreateUserResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUser {
    pub user_name: Option<String>,
}

/// The root user as `GetUser` describes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootUserOut {
    pub user_id: String,
    pub arn: String,
    pub create_date: u64,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum GetUserOut {
    User(UserOut),
    Root(RootUserOut),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserResponse {
    pub user: GetUserOut,
}

impl GetUser {
    /// The user the request names, or the caller's own user.
    fn target(&self, call: &Call) -> Result<Option<String>, AwsError> {
        if let Some(n) = &self.user_name {
            return Ok(Some(n.clone()));
        }
        match call.caller.kind {
            IdentityType::IamUser => Ok(call.caller.user_name.clone()),
            IdentityType::Root => Ok(None),
            _ => Err(names::validation(
                "Must specify userName when calling with non-User credentials",
            )),
        }
    }

    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        match self.target(call)? {
            Some(name) => {
                let (arn, tags) = svc.user_target(call, &name);
                Ok(Authorization::check(tagged(
                    Check::new("iam:GetUser", arn),
                    &tags,
                )))
            }
            None => Ok(Authorization::check(Check::new(
                "iam:GetUser",
                call.caller.arn.clone(),
            ))),
        }
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetUserResponse, AwsError> {
        let target = self.target(call)?;
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let user = match target {
                Some(name) => GetUserOut::User(UserOut::from(acct.user(&name)?, true)),
                None => GetUserOut::Root(RootUserOut {
                    user_id: acct.id().to_string(),
                    arn: format!("arn:aws:iam::{}:root", acct.id()),
                    create_date: acct.rec.created,
                }),
            };
            Ok(GetUserResponse { user })
        })
    }
}
operation!(GetUser -> GetUserResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsers {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersResponse {
    pub users: Vec<UserOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListUsers {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:ListUsers",
            super::list_resource(call, "user", &self.path_prefix),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListUsersResponse, AwsError> {
        svc.read(|st| {
            let acct = st.account(call.account())?;
            let users: Vec<UserOut> = acct
                .users
                .values()
                .filter(|u| names::path_matches(&u.path, self.path_prefix.as_deref()))
                .map(|u| UserOut::from(u, false))
                .collect();
            let page = paginate(users, self.marker.as_deref(), self.max_items)?;
            Ok(ListUsersResponse {
                users: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListUsers -> ListUsersResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUser {
    pub user_name: String,
    pub new_path: Option<String>,
    pub new_user_name: Option<String>,
}

impl UpdateUser {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        if let Some(n) = &self.new_user_name {
            check_name(n, "newUserName", 64)?;
        }
        if self.new_path.is_some() {
            check_path(self.new_path.as_deref(), "newPath")?;
        }
        let (arn, tags) = svc.user_target(call, &self.user_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:UpdateUser", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account_mut(&account)?;
            let old_key = self.user_name.to_lowercase();
            let mut user = acct.user(&self.user_name)?.clone();
            let new_name = self
                .new_user_name
                .clone()
                .unwrap_or_else(|| user.name.clone());
            let new_key = new_name.to_lowercase();
            if new_key != old_key && acct.users.contains_key(&new_key) {
                return Err(already_exists(format!(
                    "User with name {new_name} already exists."
                )));
            }
            if let Some(p) = &self.new_path {
                user.path = p.clone();
            }
            let old_name = user.name.clone();
            user.name = new_name.clone();
            acct.users.remove(&old_key);
            batch.delete::<User>(&crate::state::entity_key(&account, &old_name));
            batch.put(&user);
            acct.users.insert(new_key, user);
            rename_user_references(st, batch, &account, &old_name, &new_name);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UpdateUser -> Empty);

/// Keeps access keys, MFA devices and user sessions pointing at a renamed user.
fn rename_user_references(st: &mut State, batch: &mut Batch, account: &str, old: &str, new: &str) {
    for k in st.keys.values_mut() {
        if k.account == account && k.user.eq_ignore_ascii_case(old) {
            k.user = new.to_string();
            batch.put::<AccessKey>(k);
        }
    }
    if let Some(acct) = st.accounts.get_mut(account) {
        for d in acct.mfa.values_mut() {
            if d.user
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(old))
            {
                d.user = Some(new.to_string());
                batch.put::<MfaDevice>(d);
            }
        }
    }
    for s in st.sessions.values_mut() {
        if s.account != account {
            continue;
        }
        let renamed = match &mut s.kind {
            SessionKind::User { user_name } | SessionKind::Federated { user_name, .. }
                if user_name.eq_ignore_ascii_case(old) =>
            {
                *user_name = new.to_string();
                true
            }
            _ => false,
        };
        if renamed {
            batch.put::<Session>(s);
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUser {
    pub user_name: String,
}

/// Why a user cannot be deleted yet, as IAM words it.
fn user_delete_conflict(st: &State, acct: &Account, user: &User) -> Option<&'static str> {
    if st
        .keys
        .values()
        .any(|k| k.account == acct.id() && k.user.eq_ignore_ascii_case(&user.name))
    {
        return Some("Cannot delete entity, must delete access keys first.");
    }
    if !user.inline.is_empty() {
        return Some("Cannot delete entity, must delete policies first.");
    }
    if !user.attached.is_empty() {
        return Some("Cannot delete entity, must detach all policies first.");
    }
    if !user.groups.is_empty() {
        return Some("Cannot delete entity, must remove user from all groups first.");
    }
    if acct.mfa.values().any(|d| {
        d.user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(&user.name))
    }) {
        return Some("Cannot delete entity, must delete MFA device first.");
    }
    None
}

impl DeleteUser {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.user_target(call, &self.user_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeleteUser", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let acct = st.account(&account)?;
            let user = acct.user(&self.user_name)?;
            if let Some(why) = user_delete_conflict(st, acct, user) {
                return Err(delete_conflict(why));
            }
            let key = crate::state::entity_key(&account, &user.name);
            batch.delete::<User>(&key);
            st.account_mut(&account)?
                .users
                .remove(&self.user_name.to_lowercase());
            Ok(Empty {})
        })
        .await
    }
}
operation!(DeleteUser -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagUser {
    pub user_name: String,
    pub tags: Vec<Tag>,
}

impl TagUser {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        names::check_tags(&self.tags)?;
        let (arn, tags) = svc.user_target(call, &self.user_name);
        let check = requesting(tagged(Check::new("iam:TagUser", arn), &tags), &self.tags);
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let user = st.account_mut(&account)?.user_mut(&self.user_name)?;
            user.tags = names::merge_tags(&user.tags, &self.tags)?;
            batch.put(&*user);
            Ok(Empty {})
        })
        .await
    }
}
operation!(TagUser -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagUser {
    pub user_name: String,
    pub tag_keys: Vec<String>,
}

impl UntagUser {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.user_target(call, &self.user_name);
        let check = tagged(Check::new("iam:UntagUser", arn), &tags)
            .with("aws:TagKeys", self.tag_keys.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        svc.write(call, true, move |st, batch| {
            let user = st.account_mut(&account)?.user_mut(&self.user_name)?;
            user.tags = names::remove_tags(&user.tags, &self.tag_keys);
            batch.put(&*user);
            Ok(Empty {})
        })
        .await
    }
}
operation!(UntagUser -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserTags {
    pub user_name: String,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsResponse {
    pub tags: Vec<Tag>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListTagsResponse {
    pub(crate) fn page(
        tags: Vec<Tag>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<ListTagsResponse, AwsError> {
        let page = paginate(tags, marker, max_items)?;
        Ok(ListTagsResponse {
            tags: page.items,
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    }
}

impl ListUserTags {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags) = svc.user_target(call, &self.user_name);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListUserTags", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListTagsResponse, AwsError> {
        svc.read(|st| {
            let user = st.account(call.account())?.user(&self.user_name)?;
            ListTagsResponse::page(user.tags.clone(), self.marker.as_deref(), self.max_items)
        })
    }
}
operation!(ListUserTags -> ListTagsResponse);
