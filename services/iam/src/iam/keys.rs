//! Long-term access keys of IAM users. Secrets are returned once, at creation, and stored
//! wrapped by the instance keyring.

use gateway::{Authorization, AwsError, Call, Check, IdentityType};
use serde::{Deserialize, Serialize};

use super::{now, tagged};
use crate::names::{self, limit_exceeded, no_such_entity};
use crate::state::{AccessKey, KeyStatus, Secret};
use crate::wire::{Empty, paginate};
use crate::{Iam, crypto};

/// The user a key operation is about: the named one, or the calling user.
fn key_user(name: &Option<String>, call: &Call) -> Result<String, AwsError> {
    if let Some(n) = name {
        return Ok(n.clone());
    }
    match (call.caller.kind, &call.caller.user_name) {
        (IdentityType::IamUser, Some(u)) => Ok(u.clone()),
        _ => Err(names::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

fn no_such_key(id: &str) -> AwsError {
    no_such_entity(format!("The Access Key with id {id} cannot be found."))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKey {
    pub user_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyOut {
    pub user_name: String,
    pub access_key_id: String,
    pub status: &'static str,
    pub secret_access_key: String,
    pub create_date: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccessKeyResponse {
    pub access_key: AccessKeyOut,
}

impl CreateAccessKey {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let user = key_user(&self.user_name, call)?;
        let (arn, tags) = svc.user_target(call, &user);
        Ok(Authorization::check(tagged(
            Check::new("iam:CreateAccessKey", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<CreateAccessKeyResponse, AwsError> {
        let account = call.account().to_string();
        let user = key_user(&self.user_name, call)?;
        let created = now(call);
        let id = crypto::access_key_id("AKIA");
        let secret = Secret::wrap(
            svc.keyring(),
            &crypto::secret_access_key(),
            &AccessKey::aad(&id),
        )
        .map_err(AwsError::internal)?;
        svc.write(call, false, move |st, batch| {
            let user_name = st.account(&account)?.user(&user)?.name.clone();
            let count = st
                .keys
                .values()
                .filter(|k| k.account == account && k.user.eq_ignore_ascii_case(&user_name))
                .count();
            if count >= 2 {
                return Err(limit_exceeded(
                    "Cannot exceed quota for AccessKeysPerUser: 2",
                ));
            }
            let key = AccessKey {
                id: id.clone(),
                account,
                user: user_name.clone(),
                secret,
                status: KeyStatus::Active,
                created,
            };
            batch.put(&key);
            let out = AccessKeyOut {
                user_name,
                access_key_id: id.clone(),
                status: "Active",
                secret_access_key: key.secret.plain.to_string(),
                create_date: created,
            };
            st.keys.insert(id, key);
            Ok(CreateAccessKeyResponse { access_key: out })
        })
        .await
    }
}
operation!(CreateAccessKey -> CreateAccessKeyResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeys {
    pub user_name: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyMetadataOut {
    pub user_name: String,
    pub access_key_id: String,
    pub status: &'static str,
    pub create_date: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccessKeysResponse {
    pub access_key_metadata: Vec<AccessKeyMetadataOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListAccessKeys {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let user = key_user(&self.user_name, call)?;
        let (arn, tags) = svc.user_target(call, &user);
        Ok(Authorization::check(tagged(
            Check::new("iam:ListAccessKeys", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ListAccessKeysResponse, AwsError> {
        let user = key_user(&self.user_name, call)?;
        svc.read(|st| {
            let user = st.account(call.account())?.user(&user)?;
            let mut keys: Vec<&AccessKey> = st
                .keys
                .values()
                .filter(|k| k.account == user.account && k.user.eq_ignore_ascii_case(&user.name))
                .collect();
            keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            let items = keys
                .into_iter()
                .map(|k| AccessKeyMetadataOut {
                    user_name: k.user.clone(),
                    access_key_id: k.id.clone(),
                    status: k.status.as_str(),
                    create_date: k.created,
                })
                .collect();
            let page = paginate(items, self.marker.as_deref(), self.max_items)?;
            Ok(ListAccessKeysResponse {
                access_key_metadata: page.items,
                is_truncated: page.is_truncated,
                marker: page.marker,
            })
        })
    }
}
operation!(ListAccessKeys -> ListAccessKeysResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccessKey {
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub status: String,
}

impl UpdateAccessKey {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let user = key_user(&self.user_name, call)?;
        let (arn, tags) = svc.user_target(call, &user);
        Ok(Authorization::check(tagged(
            Check::new("iam:UpdateAccessKey", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let user = key_user(&self.user_name, call)?;
        let status = match self.status.as_str() {
            "Active" => KeyStatus::Active,
            "Inactive" => KeyStatus::Inactive,
            other => {
                return Err(names::validation(format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: \
                     Member must satisfy enum value set: [Active, Inactive]"
                )));
            }
        };
        let id = self.access_key_id.clone();
        let out = svc
            .write(call, true, move |st, batch| {
                st.account(&account)?.user(&user)?;
                let key = st
                    .keys
                    .get_mut(&self.access_key_id)
                    .filter(|k| k.account == account && k.user.eq_ignore_ascii_case(&user))
                    .ok_or_else(|| no_such_key(&self.access_key_id))?;
                key.status = status;
                batch.put(&*key);
                Ok(Empty {})
            })
            .await;
        svc.forget(&id);
        out
    }
}
operation!(UpdateAccessKey -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAccessKey {
    pub user_name: Option<String>,
    pub access_key_id: String,
}

impl DeleteAccessKey {
    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let user = key_user(&self.user_name, call)?;
        let (arn, tags) = svc.user_target(call, &user);
        Ok(Authorization::check(tagged(
            Check::new("iam:DeleteAccessKey", arn),
            &tags,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<Empty, AwsError> {
        let account = call.account().to_string();
        let user = key_user(&self.user_name, call)?;
        let id = self.access_key_id.clone();
        let out = svc
            .write(call, true, move |st, batch| {
                st.account(&account)?.user(&user)?;
                let owned = st
                    .keys
                    .get(&self.access_key_id)
                    .is_some_and(|k| k.account == account && k.user.eq_ignore_ascii_case(&user));
                if !owned {
                    return Err(no_such_key(&self.access_key_id));
                }
                st.keys.remove(&self.access_key_id);
                batch.delete::<AccessKey>(&self.access_key_id);
                Ok(Empty {})
            })
            .await;
        svc.forget(&id);
        out
    }
}
operation!(DeleteAccessKey -> Empty);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyLastUsed {
    pub access_key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyLastUsedOut {
    pub service_name: &'static str,
    pub region: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyLastUsedResponse {
    pub user_name: String,
    pub access_key_last_used: AccessKeyLastUsedOut,
}

impl GetAccessKeyLastUsed {
    fn owner(&self, svc: &Iam, call: &Call) -> Option<String> {
        svc.read(|st| {
            Ok(st
                .keys
                .get(&self.access_key_id)
                .filter(|k| k.account == call.account())
                .map(|k| k.user.clone()))
        })
        .ok()
        .flatten()
    }

    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        let resource = match self.owner(svc, call) {
            Some(user) => svc.user_target(call, &user).0,
            None => "*".to_string(),
        };
        Ok(Authorization::check(Check::new(
            "iam:GetAccessKeyLastUsed",
            resource,
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetAccessKeyLastUsedResponse, AwsError> {
        let user = self
            .owner(svc, call)
            .ok_or_else(|| no_such_key(&self.access_key_id))?;
        Ok(GetAccessKeyLastUsedResponse {
            user_name: user,
            access_key_last_used: AccessKeyLastUsedOut {
                service_name: "N/A",
                region: "N/A",
            },
        })
    }
}
operation!(GetAccessKeyLastUsed -> GetAccessKeyLastUsedResponse);
