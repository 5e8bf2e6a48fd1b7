//! `AWS::Logs::LogGroup`.

use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish, put, retag};
use crate::state::ResourceRecord;

pub const LOG_GROUP: TypeInfo = TypeInfo {
    kind: "AWS::Logs::LogGroup",
    attributes: &["Arn"],
    replace: &["LogGroupName", "KmsKeyId", "LogGroupClass"],
    updatable: true,
    name_property: Some("LogGroupName"),
};

fn tag_map(tags: &[(String, String)]) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn created(ctx: &Ctx<'_>, name: &str) -> Created {
    Created::new(name).attr(
        "Arn",
        format!(
            "arn:{}:logs:{}:{}:log-group:{name}:*",
            ctx.partition(),
            ctx.region(),
            ctx.account()
        ),
    )
}

pub async fn create(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "LogGroupName",
        "RetentionInDays",
        "KmsKeyId",
        "LogGroupClass",
        "DeletionProtectionEnabled",
        "Tags",
    ])?;
    let logs = &ctx.svc.logs;
    let name = ctx.name_or_generated(p, "LogGroupName", 512)?;
    let mut input = Map::new();
    input.insert("logGroupName".into(), json!(name));
    put(&mut input, "kmsKeyId", p.str("KmsKeyId")?);
    put(&mut input, "logGroupClass", p.str("LogGroupClass")?);
    put(
        &mut input,
        "deletionProtectionEnabled",
        p.bool("DeletionProtectionEnabled")?,
    );
    let tags = ctx.tags(p, "Tags")?;
    if !tags.is_empty() {
        input.insert("tags".into(), tag_map(&tags));
    }
    ctx.call::<::logs::CreateLogGroup>(logs, "logs", Value::Object(input))
        .await?;
    let rest = async {
        if let Some(days) = p.int("RetentionInDays")? {
            ctx.call::<::logs::PutRetentionPolicy>(
                logs,
                "logs",
                json!({"logGroupName": name, "retentionInDays": days}),
            )
            .await?;
        }
        Ok(())
    }
    .await;
    finish(created(ctx, &name), rest)
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let logs = &ctx.svc.logs;
    let name = current.physical_id.clone().unwrap_or_default();
    if old.int("RetentionInDays")? != p.int("RetentionInDays")? {
        match p.int("RetentionInDays")? {
            Some(days) => {
                ctx.call::<::logs::PutRetentionPolicy>(
                    logs,
                    "logs",
                    json!({"logGroupName": name, "retentionInDays": days}),
                )
                .await?;
            }
            None => {
                ctx.call::<::logs::DeleteRetentionPolicy>(
                    logs,
                    "logs",
                    json!({"logGroupName": name}),
                )
                .await?;
            }
        }
    }
    let arn = format!(
        "arn:{}:logs:{}:{}:log-group:{name}",
        ctx.partition(),
        ctx.region(),
        ctx.account()
    );
    retag::<::logs::UntagResource, ::logs::TagResource>(
        ctx,
        logs,
        "logs",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |keys| json!({"resourceArn": arn, "tagKeys": keys}),
        |tags| json!({"resourceArn": arn, "tags": tag_map(tags)}),
    )
    .await?;
    Ok(created(ctx, &name))
}

pub async fn delete(ctx: &Ctx<'_>, id: &str) -> Result<(), Failure> {
    ctx.call_gone_ok::<::logs::DeleteLogGroup>(&ctx.svc.logs, "logs", json!({"logGroupName": id}))
        .await
}
