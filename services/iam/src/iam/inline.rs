//! Inline policies, attached managed policies and permissions boundaries of users,
//! roles and groups.

use std::collections::BTreeMap;

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};

use super::tagged;
use crate::names::{self, Tag, check_name, limit_exceeded, no_such_entity};
use crate::state::{Account, Doc, Group, IdentityDoc, Role, User};
use crate::wire::{AttachedPolicyOut, Empty, paginate};
use crate::{Iam, names::iam_arn};

/// What users, roles and groups have in common as policy holders.
pub(crate) trait Holder: storage::Record + Send + Sync {
    /// `user`, `role` or `group`.
    const KIND: &'static str;
    /// The IAM quota on attached managed policies, e.g. `PoliciesPerRole`.
    const QUOTA: &'static str;
    /// The aggregate inline policy size limit.
    const INLINE_LIMIT: usize;
    fn find<'a>(acct: &'a Account, name: &str) -> Result<&'a Self, AwsError>;
    fn find_mut<'a>(acct: &'a mut Account, name: &str) -> Result<&'a mut Self, AwsError>;
    fn name(&self) -> &str;
    fn arn(&self) -> String;
    fn tags(&self) -> &[Tag];
    fn boundary(&self) -> Option<&str>;
    fn inline(&self) -> &BTreeMap<String, Doc<IdentityDoc>>;
    fn inline_mut(&mut self) -> &mut BTreeMap<String, Doc<IdentityDoc>>;
    fn attached(&self) -> &Vec<String>;
    fn attached_mut(&mut self) -> &mut Vec<String>;
}

macro_rules! holder {
    ($t:ty, $kind:literal, $quota:literal, $limit:literal, $find:ident, $find_mut:ident, tags: $tags:expr, boundary: $boundary:expr) => {
        impl Holder for $t {
            const KIND: &'static str = $kind;
            const QUOTA: &'static str = $quota;
            const INLINE_LIMIT: usize = $limit;
            fn find<'a>(acct: &'a Account, name: &str) -> Result<&'a Self, AwsError> {
                acct.$find(name)
            }
            fn find_mut<'a>(acct: &'a mut Account, name: &str) -> Result<&'a mut Self, AwsError> {
                acct.$find_mut(name)
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn arn(&self) -> String {
                <$t>::arn(self)
            }
            fn tags(&self) -> &[Tag] {
                let f: fn(&$t) -> &[Tag] = $tags;
                f(self)
            }
            fn boundary(&self) -> Option<&str> {
                let f: fn(&$t) -> Option<&str> = $boundary;
                f(self)
            }
            fn inline(&self) -> &BTreeMap<String, Doc<IdentityDoc>> {
                &self.inline
            }
            fn inline_mut(&mut self) -> &mut BTreeMap<String, Doc<IdentityDoc>> {
                &mut self.inline
            }
            fn attached(&self) -> &Vec<String> {
                &self.attached
            }
            fn attached_mut(&mut self) -> &mut Vec<String> {
                &mut self.attached
            }
        }
    };
}

holder!(User, "user", "PoliciesPerUser", 2048, user, user_mut, tags: |u| &u.tags, boundary: |u| u.boundary.as_deref());
holder!(Role, "role", "PoliciesPerRole", 10240, role, role_mut, tags: |r| &r.tags, boundary: |r| r.boundary.as_deref());
holder!(Group, "group", "PoliciesPerGroup", 5120, group, group_mut, tags: |_| &[], boundary: |_| None);

/// The ARN, tags and boundary of a holder in the caller's account (root path when absent).
fn target<H: Holder>(iam: &Iam, call: &Call, name: &str) -> (String, Vec<Tag>, Option<String>) {
    let account = call.account();
    iam.read(|st| {
        Ok(st
            .accounts
            .get(account)
            .and_then(|a| H::find(a, name).ok())
            .map(|h| (h.arn(), h.tags().to_vec(), h.boundary().map(str::to_string))))
    })
    .ok()
    .flatten()
    .unwrap_or_else(|| (iam_arn(account, H::KIND, "/", name), Vec::new(), None))
}

/// A check of `action` on the holder, with its tags and boundary.
fn holder_check<H: Holder>(iam: &Iam, call: &Call, action: &'static str, name: &str) -> Check {
    let (arn, tags, boundary) = target::<H>(iam, call, name);
    tagged(Check::new(action, arn), &tags).with_opt("iam:PermissionsBoundary", boundary)
}

fn no_such_inline(kind: &str, policy: &str) -> AwsError {
    no_such_entity(format!(
        "The {kind} policy with name {policy} cannot be found."
    ))
}

async fn put_inline<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: String,
    policy_name: String,
    document: String,
) -> Result<Empty, AwsError> {
    check_name(&policy_name, "policyName", 128)?;
    let doc: Doc<IdentityDoc> = Doc::parse(&document)?;
    let account = call.account().to_string();
    iam.write(call, true, move |st, batch| {
        let h = H::find_mut(st.account_mut(&account)?, &holder)?;
        let total: usize = h
            .inline()
            .iter()
            .filter(|(n, _)| **n != policy_name)
            .map(|(_, d)| names::policy_size(&d.text))
            .sum::<usize>()
            + names::policy_size(&doc.text);
        if total > H::INLINE_LIMIT {
            return Err(limit_exceeded(format!(
                "Maximum policy size of {} bytes exceeded for {} {}",
                H::INLINE_LIMIT,
                H::KIND,
                h.name()
            )));
        }
        h.inline_mut().insert(policy_name, doc);
        batch.put(&*h);
        Ok(Empty {})
    })
    .await
}

async fn delete_inline<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: String,
    policy_name: String,
) -> Result<Empty, AwsError> {
    let account = call.account().to_string();
    iam.write(call, true, move |st, batch| {
        let h = H::find_mut(st.account_mut(&account)?, &holder)?;
        if h.inline_mut().remove(&policy_name).is_none() {
            return Err(no_such_inline(H::KIND, &policy_name));
        }
        batch.put(&*h);
        Ok(Empty {})
    })
    .await
}

fn get_inline<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: &str,
    policy_name: &str,
) -> Result<(String, String), AwsError> {
    iam.read(|st| {
        let h = H::find(st.account(call.account())?, holder)?;
        let doc = h
            .inline()
            .get(policy_name)
            .ok_or_else(|| no_such_inline(H::KIND, policy_name))?;
        Ok((h.name().to_string(), names::encode_document(&doc.text)))
    })
}

fn list_inline<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: &str,
    marker: Option<&str>,
    max: Option<i64>,
) -> Result<PolicyNames, AwsError> {
    iam.read(|st| {
        let h = H::find(st.account(call.account())?, holder)?;
        let page = paginate(h.inline().keys().cloned().collect(), marker, max)?;
        Ok(PolicyNames {
            policy_names: page.items,
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    })
}

async fn attach<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: String,
    policy_arn: String,
) -> Result<Empty, AwsError> {
    let account = call.account().to_string();
    iam.write(call, true, move |st, batch| {
        if iam.managed(st, &account, &policy_arn).is_none() {
            return Err(no_such_entity(format!(
                "Policy {policy_arn} does not exist or is not attachable."
            )));
        }
        let h = H::find_mut(st.account_mut(&account)?, &holder)?;
        if h.attached().contains(&policy_arn) {
            return Ok(Empty {});
        }
        if h.attached().len() >= 10 {
            return Err(limit_exceeded(format!(
                "Cannot exceed quota for {}: 10",
                H::QUOTA
            )));
        }
        h.attached_mut().push(policy_arn);
        batch.put(&*h);
        Ok(Empty {})
    })
    .await
}

async fn detach<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: String,
    policy_arn: String,
) -> Result<Empty, AwsError> {
    let account = call.account().to_string();
    iam.write(call, true, move |st, batch| {
        let h = H::find_mut(st.account_mut(&account)?, &holder)?;
        let before = h.attached().len();
        h.attached_mut().retain(|a| *a != policy_arn);
        if h.attached().len() == before {
            return Err(no_such_entity(format!(
                "Policy {policy_arn} was not found."
            )));
        }
        batch.put(&*h);
        Ok(Empty {})
    })
    .await
}

fn list_attached<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: &str,
    prefix: Option<&str>,
    marker: Option<&str>,
    max: Option<i64>,
) -> Result<AttachedPolicies, AwsError> {
    iam.read(|st| {
        let h = H::find(st.account(call.account())?, holder)?;
        let items: Vec<AttachedPolicyOut> = h
            .attached()
            .iter()
            .filter(|arn| {
                prefix.is_none_or(|p| {
                    names::parse_iam_arn(arn).is_some_and(|a| a.path.starts_with(p))
                })
            })
            .map(|arn| AttachedPolicyOut::from_arn(arn))
            .collect();
        let page = paginate(items, marker, max)?;
        Ok(AttachedPolicies {
            attached_policies: page.items,
            is_truncated: page.is_truncated,
            marker: page.marker,
        })
    })
}

/// `ListUserPolicies` / `ListRolePolicies` / `ListGroupPolicies`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyNames {
    pub policy_names: Vec<String>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// `ListAttached*Policies`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicies {
    pub attached_policies: Vec<AttachedPolicyOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

macro_rules! holder_ops {
    (
        $H:ty, $field:ident,
        $Put:ident / $put_action:literal,
        $Get:ident / $get_action:literal / $GetOut:ident,
        $List:ident / $list_action:literal,
        $Delete:ident / $delete_action:literal,
        $Attach:ident / $attach_action:literal,
        $Detach:ident / $detach_action:literal,
        $ListAttached:ident / $list_attached_action:literal
    ) => {
        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $Put {
            pub $field: String,
            pub policy_name: String,
            pub policy_document: String,
        }

        impl $Put {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                Ok(Authorization::check(holder_check::<$H>(svc, call, $put_action, &self.$field)))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
                put_inline::<$H>(svc, call, self.$field, self.policy_name, self.policy_document).await
            }
        }
        operation!($Put -> Empty);

        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $Get {
            pub $field: String,
            pub policy_name: String,
        }

        #[derive(Debug, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $GetOut {
            pub $field: String,
            pub policy_name: String,
            pub policy_document: String,
        }

        impl $Get {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                Ok(Authorization::check(holder_check::<$H>(svc, call, $get_action, &self.$field)))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<$GetOut, AwsError> {
                let (name, policy_document) = get_inline::<$H>(svc, call, &self.$field, &self.policy_name)?;
                Ok($GetOut { $field: name, policy_name: self.policy_name, policy_document })
            }
        }
        operation!($Get -> $GetOut);

        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $List {
            pub $field: String,
            pub marker: Option<String>,
            pub max_items: Option<i64>,
        }

        impl $List {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                Ok(Authorization::check(holder_check::<$H>(svc, call, $list_action, &self.$field)))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<PolicyNames, AwsError> {
                list_inline::<$H>(svc, call, &self.$field, self.marker.as_deref(), self.max_items)
            }
        }
        operation!($List -> PolicyNames);

        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $Delete {
            pub $field: String,
            pub policy_name: String,
        }

        impl $Delete {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                Ok(Authorization::check(holder_check::<$H>(svc, call, $delete_action, &self.$field)))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
                delete_inline::<$H>(svc, call, self.$field, self.policy_name).await
            }
        }
        operation!($Delete -> Empty);

        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $Attach {
            pub $field: String,
            pub policy_arn: String,
        }

        impl $Attach {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                let check = holder_check::<$H>(svc, call, $attach_action, &self.$field)
                    .with("iam:PolicyARN", self.policy_arn.clone());
                Ok(Authorization::check(check))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
                attach::<$H>(svc, call, self.$field, self.policy_arn).await
            }
        }
        operation!($Attach -> Empty);

        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $Detach {
            pub $field: String,
            pub policy_arn: String,
        }

        impl $Detach {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                let check = holder_check::<$H>(svc, call, $detach_action, &self.$field)
                    .with("iam:PolicyARN", self.policy_arn.clone());
                Ok(Authorization::check(check))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
                detach::<$H>(svc, call, self.$field, self.policy_arn).await
            }
        }
        operation!($Detach -> Empty);

        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $ListAttached {
            pub $field: String,
            pub path_prefix: Option<String>,
            pub marker: Option<String>,
            pub max_items: Option<i64>,
        }

        impl $ListAttached {
            fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
                Ok(Authorization::check(holder_check::<$H>(svc, call, $list_attached_action, &self.$field)))
            }

            async fn run(self, svc: &Iam, call: &Call) -> Result<AttachedPolicies, AwsError> {
                list_attached::<$H>(
                    svc,
                    call,
                    &self.$field,
                    self.path_prefix.as_deref(),
                    self.marker.as_deref(),
                    self.max_items,
                )
            }
        }
        operation!($ListAttached -> AttachedPolicies);
    };
}

holder_ops!(
    User,
    user_name,
    PutUserPolicy / "iam:PutUserPolicy",
    GetUserPolicy / "iam:GetUserPolicy" / GetUserPolicyResponse,
    ListUserPolicies / "iam:ListUserPolicies",
    DeleteUserPolicy / "iam:DeleteUserPolicy",
    AttachUserPolicy / "iam:AttachUserPolicy",
    DetachUserPolicy / "iam:DetachUserPolicy",
    ListAttachedUserPolicies / "iam:ListAttachedUserPolicies"
);

holder_ops!(
    Role,
    role_name,
    PutRolePolicy / "iam:PutRolePolicy",
    GetRolePolicy / "iam:GetRolePolicy" / GetRolePolicyResponse,
    ListRolePolicies / "iam:ListRolePolicies",
    DeleteRolePolicy / "iam:DeleteRolePolicy",
    AttachRolePolicy / "iam:AttachRolePolicy",
    DetachRolePolicy / "iam:DetachRolePolicy",
    ListAttachedRolePolicies / "iam:ListAttachedRolePolicies"
);

holder_ops!(
    Group,
    group_name,
    PutGroupPolicy / "iam:PutGroupPolicy",
    GetGroupPolicy / "iam:GetGroupPolicy" / GetGroupPolicyResponse,
    ListGroupPolicies / "iam:ListGroupPolicies",
    DeleteGroupPolicy / "iam:DeleteGroupPolicy",
    AttachGroupPolicy / "iam:AttachGroupPolicy",
    DetachGroupPolicy / "iam:DetachGroupPolicy",
    ListAttachedGroupPolicies / "iam:ListAttachedGroupPolicies"
);

async fn put_boundary<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: String,
    arn: String,
    set: fn(&mut H, Option<String>),
) -> Result<Empty, AwsError> {
    let account = call.account().to_string();
    iam.write(call, true, move |st, batch| {
        if iam.managed(st, &account, &arn).is_none() {
            return Err(no_such_entity(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
        let h = H::find_mut(st.account_mut(&account)?, &holder)?;
        set(h, Some(arn));
        batch.put(&*h);
        Ok(Empty {})
    })
    .await
}

async fn delete_boundary<H: Holder>(
    iam: &Iam,
    call: &Call,
    holder: String,
    set: fn(&mut H, Option<String>),
) -> Result<Empty, AwsError> {
    let account = call.account().to_string();
    iam.write(call, true, move |st, batch| {
        let h = H::find_mut(st.account_mut(&account)?, &holder)?;
        set(h, None);
        batch.put(&*h);
        Ok(Empty {})
    })
    .await
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutUserPermissionsBoundary {
    pub user_name: String,
    pub permissions_boundary: String,
}

impl PutUserPermissionsBoundary {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags, _) = target::<User>(svc, call, &self.user_name);
        let check = tagged(Check::new("iam:PutUserPermissionsBoundary", arn), &tags)
            .with("iam:PermissionsBoundary", self.permissions_boundary.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        put_boundary::<User>(
            svc,
            call,
            self.user_name,
            self.permissions_boundary,
            |u, b| u.boundary = b,
        )
        .await
    }
}
operation!(PutUserPermissionsBoundary -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserPermissionsBoundary {
    pub user_name: String,
}

impl DeleteUserPermissionsBoundary {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(holder_check::<User>(
            svc,
            call,
            "iam:DeleteUserPermissionsBoundary",
            &self.user_name,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        delete_boundary::<User>(svc, call, self.user_name, |u, b| u.boundary = b).await
    }
}
operation!(DeleteUserPermissionsBoundary -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRolePermissionsBoundary {
    pub role_name: String,
    pub permissions_boundary: String,
}

impl PutRolePermissionsBoundary {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let (arn, tags, _) = target::<Role>(svc, call, &self.role_name);
        let check = tagged(Check::new("iam:PutRolePermissionsBoundary", arn), &tags)
            .with("iam:PermissionsBoundary", self.permissions_boundary.clone());
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        put_boundary::<Role>(
            svc,
            call,
            self.role_name,
            self.permissions_boundary,
            |r, b| r.boundary = b,
        )
        .await
    }
}
operation!(PutRolePermissionsBoundary -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRolePermissionsBoundary {
    pub role_name: String,
}

impl DeleteRolePermissionsBoundary {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(holder_check::<Role>(
            svc,
            call,
            "iam:DeleteRolePermissionsBoundary",
            &self.role_name,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        delete_boundary::<Role>(svc, call, self.role_name, |r, b| r.boundary = b).await
    }
}
operation!(DeleteRolePermissionsBoundary -> Empty);
