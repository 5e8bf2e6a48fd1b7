//! Keys: create, describe, list, enable and disable, deletion, key policies, tags.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Operation};
use policy::{Policy, PolicyType};

use crate::api::*;
use crate::errors;
use crate::keypolicy;
use crate::records::{KeyRecord, KeyState, key_arn};
use crate::state::{self, Key};
use crate::{KeyView, Kms, now_of, paginate};

/// `KeyMetadata` of a key.
pub(crate) fn metadata(key: &Key) -> KeyMetadata {
    let r = &key.rec;
    KeyMetadata {
        aws_account_id: r.account.clone(),
        key_id: r.id.clone(),
        arn: r.arn(),
        creation_date: r.created,
        enabled: r.state == KeyState::Enabled,
        description: r.description.clone(),
        key_usage: "ENCRYPT_DECRYPT".into(),
        key_state: r.state.as_str().into(),
        deletion_date: r.deletion_date,
        origin: "AWS_KMS".into(),
        key_manager: r.manager.clone(),
        customer_master_key_spec: "SYMMETRIC_DEFAULT".into(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        encryption_algorithms: vec!["SYMMETRIC_DEFAULT".into()],
        multi_region: false,
        pending_deletion_window_in_days: r.pending_window_days,
        current_key_material_id: r.current_material().map(|m| m.material_id.clone()),
    }
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.tag_key.clone(), t.tag_value.clone()))
        .collect()
}

/// Validates tags as `TagResource` and `CreateKey` do.
fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    for (i, t) in tags.iter().enumerate() {
        let n = i + 1;
        if t.tag_key.is_empty() || t.tag_key.chars().count() > 128 {
            return Err(errors::value_constraint(
                &t.tag_key,
                &format!("tags.{n}.member.tagKey"),
                "Member must have length between 1 and 128",
            ));
        }
        if t.tag_value.chars().count() > 256 {
            return Err(errors::value_constraint(
                &t.tag_value,
                &format!("tags.{n}.member.tagValue"),
                "Member must have length less than or equal to 256",
            ));
        }
        if t.tag_key.starts_with("aws:") {
            return Err(errors::tag("Tags beginning with aws: are reserved"));
        }
    }
    Ok(())
}

/// Adds or replaces tags on a key.
fn merge_tags(key: &mut Key, tags: &[Tag]) -> Result<(), AwsError> {
    let mut merged = key.rec.tags.clone();
    for t in tags {
        match merged.iter_mut().find(|(k, _)| *k == t.tag_key) {
            Some(existing) => existing.1 = t.tag_value.clone(),
            None => merged.push((t.tag_key.clone(), t.tag_value.clone())),
        }
    }
    if merged.len() > 50 {
        return Err(errors::limit(
            "The request was rejected because a quota was exceeded: a KMS key can have at most 50 tags",
        ));
    }
    key.rec.tags = merged;
    Ok(())
}

fn only_symmetric(member: &str, value: &Option<String>, allowed: &str) -> Result<(), AwsError> {
    match value.as_deref() {
        None => Ok(()),
        Some(v) if v == allowed => Ok(()),
        Some(v) => Err(errors::unsupported(format!(
            "{member} {v} is not supported by Perimeter, which provides {allowed} keys only"
        ))),
    }
}

impl Operation for CreateKey {
    type Service = Kms;
    type Output = KeyMetadataOutput;
    const NAME: &'static str = "CreateKey";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        if self.key_spec.is_some() && self.customer_master_key_spec.is_some() {
            return Err(errors::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
            ));
        }
        only_symmetric("KeySpec", &self.key_spec, "SYMMETRIC_DEFAULT")?;
        only_symmetric(
            "CustomerMasterKeySpec",
            &self.customer_master_key_spec,
            "SYMMETRIC_DEFAULT",
        )?;
        only_symmetric("KeyUsage", &self.key_usage, "ENCRYPT_DECRYPT")?;
        only_symmetric("Origin", &self.origin, "AWS_KMS")?;
        if self.custom_key_store_id.is_some() || self.xks_key_id.is_some() {
            return Err(errors::unsupported(
                "Custom key stores are not supported by Perimeter",
            ));
        }
        if self.multi_region == Some(true) {
            return Err(errors::unsupported(
                "Multi-Region keys are not supported by Perimeter",
            ));
        }
        check_tags(&self.tags)?;
        let tags = tag_pairs(&self.tags);
        let create = svc
            .account_check(call, "kms:CreateKey")
            .request_tags(&tags, None)
            .with("kms:KeySpec", "SYMMETRIC_DEFAULT")
            .with("kms:KeyUsage", "ENCRYPT_DECRYPT")
            .with("kms:KeyOrigin", "AWS_KMS")
            .with("kms:MultiRegion", false)
            .with(
                "kms:BypassPolicyLockoutSafetyCheck",
                self.bypass_policy_lockout_safety_check.unwrap_or(false),
            );
        let mut auth = Authorization::check(create);
        if !tags.is_empty() {
            auth = auth.and(
                svc.account_check(call, "kms:TagResource")
                    .request_tags(&tags, None),
            );
        }
        Ok(auth)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<KeyMetadataOutput, AwsError> {
        let now = now_of(&call);
        let account = call.account().to_string();
        let id =
            crate::crypto::new_key_id().map_err(|_| AwsError::internal("random source failed"))?;
        let text = match self.policy {
            Some(p) => p,
            None => keypolicy::default_policy(&account),
        };
        let policy =
            Arc::new(Policy::parse(&text, PolicyType::Key).map_err(|e| errors::policy_error(&e))?);
        let view = KeyView {
            arn: key_arn(svc.region(), &account, &id),
            id: id.clone(),
            account: account.clone(),
            policy: policy.clone(),
            tags: tag_pairs(&self.tags),
            aliases: Vec::new(),
            request_alias: None,
            managed: None,
        };
        if !self.bypass_policy_lockout_safety_check.unwrap_or(false)
            && !call.would_allow(&svc.key_check(&call, "kms:PutKeyPolicy", &view))
        {
            return Err(errors::lockout());
        }
        let (material, _) = state::new_material(svc.keyring(), &id, 1, now, None)?;
        let rec = KeyRecord {
            id: id.clone(),
            account,
            region: svc.region().to_string(),
            created: now,
            description: self.description.unwrap_or_default(),
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: text,
            tags: Vec::new(),
            manager: "CUSTOMER".into(),
            rotation: None,
            on_demand_started: None,
            materials: vec![material],
            grants: Vec::new(),
        };
        let mut key = Key::load(rec, svc.keyring()).map_err(AwsError::internal)?;
        merge_tags(&mut key, &self.tags)?;
        let out = KeyMetadataOutput {
            key_metadata: metadata(&key),
        };
        let pending = {
            let mut st = svc.write();
            let mut batch = storage::Batch::new();
            batch.put(&key.rec);
            st.purge_expired(now, &mut batch);
            st.keys.insert(id, key);
            call.submit(batch)
        };
        pending.await?;
        Ok(out)
    }
}

impl Operation for DescribeKey {
    type Service = Kms;
    type Output = KeyMetadataOutput;
    const NAME: &'static str = "DescribeKey";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, true)?;
        Ok(Authorization::check(svc.key_check(
            call,
            "kms:DescribeKey",
            &v,
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<KeyMetadataOutput, AwsError> {
        let v = svc.view(&call, &self.key_id, true)?;
        svc.ensure_managed(&call, &v).await?;
        svc.with_key(&call, &self.key_id, true, |_, k| {
            Ok(KeyMetadataOutput {
                key_metadata: metadata(k),
            })
        })
    }
}

impl Operation for ListKeys {
    type Service = Kms;
    type Output = ListKeysOutput;
    const NAME: &'static str = "ListKeys";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            svc.account_check(call, "kms:ListKeys"),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListKeysOutput, AwsError> {
        let now = now_of(&call);
        let items: Vec<(String, KeyListEntry)> = {
            let st = svc.read();
            st.keys
                .values()
                .filter(|k| k.rec.account == call.account() && !k.expired(now))
                .map(|k| {
                    (
                        k.rec.id.clone(),
                        KeyListEntry {
                            key_id: k.rec.id.clone(),
                            key_arn: k.arn(),
                        },
                    )
                })
                .collect()
        };
        let (keys, next) = paginate(items, self.marker.as_deref(), self.limit, 100)?;
        Ok(ListKeysOutput {
            keys,
            truncated: next.is_some(),
            next_marker: next,
        })
    }
}

macro_rules! key_op {
    ($op:ident, $action:literal) => {
        impl $op {
            fn key_authorization(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
                let v = svc.view(call, &self.key_id, false)?;
                Ok(Authorization::check(svc.key_check(call, $action, &v)))
            }
        }
    };
}

key_op!(EnableKey, "kms:EnableKey");
key_op!(DisableKey, "kms:DisableKey");
key_op!(UpdateKeyDescription, "kms:UpdateKeyDescription");
key_op!(CancelKeyDeletion, "kms:CancelKeyDeletion");
key_op!(GetKeyPolicy, "kms:GetKeyPolicy");
key_op!(ListKeyPolicies, "kms:ListKeyPolicies");
key_op!(ListResourceTags, "kms:ListResourceTags");

impl Operation for EnableKey {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "EnableKey";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        svc.update_key(&call, &self.key_id, false, |k, _, _| {
            k.not_pending_deletion()?;
            k.rec.state = KeyState::Enabled;
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for DisableKey {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "DisableKey";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        svc.update_key(&call, &self.key_id, false, |k, _, _| {
            k.not_pending_deletion()?;
            k.rec.state = KeyState::Disabled;
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for UpdateKeyDescription {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "UpdateKeyDescription";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let description = self.description;
        svc.update_key(&call, &self.key_id, false, move |k, _, _| {
            k.not_pending_deletion()?;
            k.rec.description = description;
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for ScheduleKeyDeletion {
    type Service = Kms;
    type Output = ScheduleKeyDeletionOutput;
    const NAME: &'static str = "ScheduleKeyDeletion";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let days = self.pending_window_in_days.unwrap_or(30);
        if days < 7 {
            return Err(errors::value_constraint(
                days,
                "pendingWindowInDays",
                "Member must have value greater than or equal to 7",
            ));
        }
        if days > 30 {
            return Err(errors::value_constraint(
                days,
                "pendingWindowInDays",
                "Member must have value less than or equal to 30",
            ));
        }
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(
            svc.key_check(call, "kms:ScheduleKeyDeletion", &v)
                .with("kms:ScheduleKeyDeletionPendingWindowInDays", days),
        ))
    }

    async fn handle(
        self,
        svc: Arc<Kms>,
        call: Call,
    ) -> Result<ScheduleKeyDeletionOutput, AwsError> {
        let days = self.pending_window_in_days.unwrap_or(30).clamp(7, 30) as u32;
        svc.update_key(&call, &self.key_id, false, move |k, _, now| {
            k.not_pending_deletion()?;
            let date = now + f64::from(days) * 86400.0;
            k.rec.state = KeyState::PendingDeletion;
            k.rec.deletion_date = Some(date);
            k.rec.pending_window_days = Some(days);
            Ok(ScheduleKeyDeletionOutput {
                key_id: k.arn(),
                deletion_date: date,
                key_state: KeyState::PendingDeletion.as_str().into(),
                pending_window_in_days: days,
            })
        })
        .await
    }
}

impl Operation for CancelKeyDeletion {
    type Service = Kms;
    type Output = KeyIdOutput;
    const NAME: &'static str = "CancelKeyDeletion";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<KeyIdOutput, AwsError> {
        svc.update_key(&call, &self.key_id, false, |k, _, _| {
            if k.rec.state != KeyState::PendingDeletion {
                return Err(errors::invalid_state(format!(
                    "{} is not pending deletion.",
                    k.arn()
                )));
            }
            k.rec.state = KeyState::Disabled;
            k.rec.deletion_date = None;
            k.rec.pending_window_days = None;
            Ok(KeyIdOutput { key_id: k.arn() })
        })
        .await
    }
}

fn check_policy_name(name: &Option<String>) -> Result<(), AwsError> {
    match name.as_deref() {
        None | Some("default") => Ok(()),
        Some(_) => Err(AwsError::bad_request(
            "NotFoundException",
            "No such policy exists",
        )),
    }
}

impl Operation for GetKeyPolicy {
    type Service = Kms;
    type Output = GetKeyPolicyOutput;
    const NAME: &'static str = "GetKeyPolicy";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<GetKeyPolicyOutput, AwsError> {
        check_policy_name(&self.policy_name)?;
        svc.with_key(&call, &self.key_id, false, |_, k| {
            Ok(GetKeyPolicyOutput {
                policy: k.rec.policy.clone(),
                policy_name: "default".into(),
            })
        })
    }
}

impl Operation for PutKeyPolicy {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "PutKeyPolicy";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(
            svc.key_check(call, "kms:PutKeyPolicy", &v).with(
                "kms:BypassPolicyLockoutSafetyCheck",
                self.bypass_policy_lockout_safety_check.unwrap_or(false),
            ),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        check_policy_name(&self.policy_name)?;
        let policy = Arc::new(
            Policy::parse(&self.policy, PolicyType::Key).map_err(|e| errors::policy_error(&e))?,
        );
        if !self.bypass_policy_lockout_safety_check.unwrap_or(false) {
            let mut v = svc.view(&call, &self.key_id, false)?;
            v.policy = policy.clone();
            if !call.would_allow(&svc.key_check(&call, "kms:PutKeyPolicy", &v)) {
                return Err(errors::lockout());
            }
        }
        let text = self.policy;
        svc.update_key(&call, &self.key_id, false, move |k, _, _| {
            k.set_policy(text, policy);
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for ListKeyPolicies {
    type Service = Kms;
    type Output = ListKeyPoliciesOutput;
    const NAME: &'static str = "ListKeyPolicies";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListKeyPoliciesOutput, AwsError> {
        svc.with_key(&call, &self.key_id, false, |_, _| {
            Ok(ListKeyPoliciesOutput {
                policy_names: vec!["default".into()],
                truncated: false,
            })
        })
    }
}

impl Operation for TagResource {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "TagResource";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        check_tags(&self.tags)?;
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(
            svc.key_check(call, "kms:TagResource", &v)
                .request_tags(&tag_pairs(&self.tags), None),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let tags = self.tags;
        svc.update_key(&call, &self.key_id, false, move |k, _, _| {
            k.not_pending_deletion()?;
            merge_tags(k, &tags)?;
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for UntagResource {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "UntagResource";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(
            svc.key_check(call, "kms:UntagResource", &v)
                .with("aws:TagKeys", self.tag_keys.clone()),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let keys = self.tag_keys;
        svc.update_key(&call, &self.key_id, false, move |k, _, _| {
            k.not_pending_deletion()?;
            k.rec.tags.retain(|(t, _)| !keys.contains(t));
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for ListResourceTags {
    type Service = Kms;
    type Output = ListResourceTagsOutput;
    const NAME: &'static str = "ListResourceTags";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        self.key_authorization(svc, call)
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListResourceTagsOutput, AwsError> {
        let mut items: Vec<(String, Tag)> = svc.with_key(&call, &self.key_id, false, |_, k| {
            Ok(k.rec
                .tags
                .iter()
                .map(|(key, value)| {
                    (
                        key.clone(),
                        Tag {
                            tag_key: key.clone(),
                            tag_value: value.clone(),
                        },
                    )
                })
                .collect())
        })?;
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (tags, next) = paginate(items, self.marker.as_deref(), self.limit, 50)?;
        Ok(ListResourceTagsOutput {
            tags,
            truncated: next.is_some(),
            next_marker: next,
        })
    }
}
