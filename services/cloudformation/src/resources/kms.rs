//! `AWS::KMS::Key` and `AWS::KMS::Alias`.

use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish, put, retag};
use crate::state::ResourceRecord;

pub const KEY: TypeInfo = TypeInfo {
    kind: "AWS::KMS::Key",
    attributes: &["Arn", "KeyId"],
    replace: &["KeySpec", "KeyUsage", "MultiRegion", "Origin"],
    updatable: true,
    name_property: None,
};

pub const ALIAS: TypeInfo = TypeInfo {
    kind: "AWS::KMS::Alias",
    attributes: &[],
    replace: &["AliasName"],
    updatable: true,
    name_property: Some("AliasName"),
};

fn kms_tags(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
            .collect(),
    )
}

pub async fn create(ctx: &Ctx<'_>, kind: &str, p: &Props<'_>) -> Result<Created, Partial> {
    let kms = &ctx.svc.kms;
    match kind {
        "AWS::KMS::Key" => {
            p.allow(&[
                "Description",
                "Enabled",
                "EnableKeyRotation",
                "KeyPolicy",
                "KeySpec",
                "KeyUsage",
                "MultiRegion",
                "Origin",
                "PendingWindowInDays",
                "RotationPeriodInDays",
                "BypassPolicyLockoutSafetyCheck",
                "Tags",
            ])?;
            let mut input = Map::new();
            put(&mut input, "Policy", p.document("KeyPolicy")?);
            put(&mut input, "Description", p.str("Description")?);
            put(&mut input, "KeySpec", p.str("KeySpec")?);
            put(&mut input, "KeyUsage", p.str("KeyUsage")?);
            put(&mut input, "MultiRegion", p.bool("MultiRegion")?);
            put(&mut input, "Origin", p.str("Origin")?);
            put(
                &mut input,
                "BypassPolicyLockoutSafetyCheck",
                p.bool("BypassPolicyLockoutSafetyCheck")?,
            );
            let tags = ctx.tags(p, "Tags")?;
            if !tags.is_empty() {
                input.insert("Tags".into(), kms_tags(&tags));
            }
            let out = ctx
                .call::<::kms::CreateKey>(kms, "kms", Value::Object(input))
                .await?;
            let meta = &out["KeyMetadata"];
            let id = meta["KeyId"].as_str().unwrap_or_default().to_string();
            let created = Created::new(id.clone())
                .attr("KeyId", id.clone())
                .attr("Arn", meta["Arn"].clone());
            let rest = async {
                if p.bool("EnableKeyRotation")? == Some(true) {
                    let mut rot = Map::new();
                    rot.insert("KeyId".into(), json!(id));
                    put(
                        &mut rot,
                        "RotationPeriodInDays",
                        p.int("RotationPeriodInDays")?,
                    );
                    ctx.call::<::kms::EnableKeyRotation>(kms, "kms", Value::Object(rot))
                        .await?;
                }
                if p.bool("Enabled")? == Some(false) {
                    ctx.call::<::kms::DisableKey>(kms, "kms", json!({"KeyId": id}))
                        .await?;
                }
                Ok(())
            }
            .await;
            finish(created, rest)
        }
        "AWS::KMS::Alias" => {
            p.allow(&["AliasName", "TargetKeyId"])?;
            let name = p.required("AliasName")?;
            let target = p.required("TargetKeyId")?;
            ctx.call::<::kms::CreateAlias>(
                kms,
                "kms",
                json!({"AliasName": name, "TargetKeyId": target}),
            )
            .await?;
            Ok(Created::new(name))
        }
        other => Err(super::unsupported(other).into()),
    }
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let kms = &ctx.svc.kms;
    let id = current.physical_id.clone().unwrap_or_default();
    match current.kind.as_str() {
        "AWS::KMS::Key" => {
            if let Some(policy) = p.document("KeyPolicy")?
                && old.document("KeyPolicy")?.as_deref() != Some(policy.as_str())
            {
                let mut input = Map::new();
                input.insert("KeyId".into(), json!(id));
                input.insert("PolicyName".into(), json!("default"));
                input.insert("Policy".into(), json!(policy));
                put(
                    &mut input,
                    "BypassPolicyLockoutSafetyCheck",
                    p.bool("BypassPolicyLockoutSafetyCheck")?,
                );
                ctx.call::<::kms::PutKeyPolicy>(kms, "kms", Value::Object(input))
                    .await?;
            }
            if old.str("Description")? != p.str("Description")? {
                ctx.call::<::kms::UpdateKeyDescription>(
                    kms,
                    "kms",
                    json!({"KeyId": id, "Description": p.str("Description")?.unwrap_or_default()}),
                )
                .await?;
            }
            let was = old.bool("Enabled")?.unwrap_or(true);
            let now = p.bool("Enabled")?.unwrap_or(true);
            if was != now {
                if now {
                    ctx.call::<::kms::EnableKey>(kms, "kms", json!({"KeyId": id}))
                        .await?;
                } else {
                    ctx.call::<::kms::DisableKey>(kms, "kms", json!({"KeyId": id}))
                        .await?;
                }
            }
            let was = old.bool("EnableKeyRotation")?.unwrap_or(false);
            let now = p.bool("EnableKeyRotation")?.unwrap_or(false);
            if was != now || old.int("RotationPeriodInDays")? != p.int("RotationPeriodInDays")? {
                if now {
                    let mut rot = Map::new();
                    rot.insert("KeyId".into(), json!(id));
                    put(
                        &mut rot,
                        "RotationPeriodInDays",
                        p.int("RotationPeriodInDays")?,
                    );
                    ctx.call::<::kms::EnableKeyRotation>(kms, "kms", Value::Object(rot))
                        .await?;
                } else {
                    ctx.call::<::kms::DisableKeyRotation>(kms, "kms", json!({"KeyId": id}))
                        .await?;
                }
            }
            retag::<::kms::UntagResource, ::kms::TagResource>(
                ctx,
                kms,
                "kms",
                &ctx.tags(old, "Tags")?,
                &ctx.tags(p, "Tags")?,
                |keys| json!({"KeyId": id, "TagKeys": keys}),
                |tags| json!({"KeyId": id, "Tags": kms_tags(tags)}),
            )
            .await?;
            Ok(super::unchanged(current))
        }
        "AWS::KMS::Alias" => {
            let target = p.required("TargetKeyId")?;
            if old.str("TargetKeyId")?.as_deref() != Some(target.as_str()) {
                ctx.call::<::kms::UpdateAlias>(
                    kms,
                    "kms",
                    json!({"AliasName": id, "TargetKeyId": target}),
                )
                .await?;
            }
            Ok(super::unchanged(current))
        }
        other => Err(super::unsupported(other)),
    }
}

pub async fn delete(ctx: &Ctx<'_>, kind: &str, id: &str, p: &Props<'_>) -> Result<(), Failure> {
    let kms = &ctx.svc.kms;
    match kind {
        "AWS::KMS::Key" => {
            let mut input = Map::new();
            input.insert("KeyId".into(), json!(id));
            input.insert(
                "PendingWindowInDays".into(),
                json!(p.int("PendingWindowInDays")?.unwrap_or(30)),
            );
            match ctx
                .run::<::kms::ScheduleKeyDeletion>(kms, "kms", Value::Object(input))
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if super::is_not_found(&e) => Ok(()),
                // Already scheduled for deletion: nothing more to do.
                Err(e) if e.code == "KMSInvalidStateException" => Ok(()),
                Err(e) => Err(super::handler_failure("kms", &e)),
            }
        }
        "AWS::KMS::Alias" => {
            ctx.call_gone_ok::<::kms::DeleteAlias>(kms, "kms", json!({"AliasName": id}))
                .await
        }
        _ => Ok(()),
    }
}
