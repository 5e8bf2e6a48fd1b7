//! Tags: `AddTags`, `DeleteTags` and `ListTags` on any resource by ARN.

use gateway::{Authorization, AwsError, Call, Check};
use serde_json::{Value, json};

use super::{base, modify, opt, page, required};
use crate::SageMaker;
use crate::errors::{limit_exceeded, not_found, validation};
use crate::kinds::{Kind, parse_arn};
use crate::state::Tag;
use crate::tags::{self, MAX_TAGS};

fn resource_of(call: &Call, input: &Value) -> Result<(String, Kind, String), AwsError> {
    let arn = required(input, "ResourceArn")?;
    let (account, kind, _) = parse_arn(arn).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value '{arn}' at 'resourceArn' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{{12}}:.+"
        ))
    })?;
    let _ = call;
    Ok((arn.to_string(), kind, account))
}

pub(super) fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let (arn, _, account) = resource_of(call, input)?;
    let existing_tags = svc
        .read(|st| Ok(st.by_arn(&arn).map(|r| r.tags.clone())))?
        .unwrap_or_default();
    let mut check: Check =
        tags::with_resource_tags(base(svc, call, op, arn), &existing_tags).owned_by(account);
    match op {
        "AddTags" => {
            let requested = tags::from_input(input, "Tags")?;
            check = tags::with_request_tags(check, &requested);
        }
        "DeleteTags" => {
            let keys: Vec<String> = super::strings(input, &["TagKeys"]);
            if !keys.is_empty() {
                check = check.with("aws:TagKeys", keys);
            }
        }
        _ => {}
    }
    Ok(Authorization::check(check))
}

fn gone(arn: &str) -> AwsError {
    not_found(format!("Resource {arn} does not exist."))
}

/// The resource an ARN names, as `modify` wants it.
fn slot(svc: &SageMaker, arn: &str) -> Result<(Kind, String), AwsError> {
    svc.read(|st| {
        st.by_arn(arn)
            .map(|r| (r.kind, r.id.clone()))
            .ok_or_else(|| gone(arn))
    })
}

pub(super) async fn add_tags(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (arn, _, account) = resource_of(call, &input)?;
    if account != call.account() {
        return Err(gone(&arn));
    }
    let requested = tags::from_input(&input, "Tags")?;
    tags::not_generated(requested.iter().map(|t| t.key.as_str()))?;
    let (kind, id) = slot(svc, &arn)?;
    let added = requested.clone();
    modify(svc, call, kind, &id, gone(&arn), move |r, _| {
        let merged = tags::merged(&r.tags, &requested);
        if merged.len() > MAX_TAGS {
            return Err(limit_exceeded(format!(
                "The resource {} would have {} tags; the limit is {MAX_TAGS}.",
                r.arn,
                merged.len()
            )));
        }
        r.tags = merged;
        Ok(())
    })
    .await?;
    Ok(json!({"Tags": added}))
}

pub(super) async fn delete_tags(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (arn, _, account) = resource_of(call, &input)?;
    if account != call.account() {
        return Err(gone(&arn));
    }
    let keys = super::strings(&input, &["TagKeys"]);
    for k in &keys {
        tags::reserved(k)?;
    }
    tags::not_generated(keys.iter().map(String::as_str))?;
    let (kind, id) = slot(svc, &arn)?;
    modify(svc, call, kind, &id, gone(&arn), move |r, _| {
        r.tags.retain(|t| !keys.contains(&t.key));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub(super) fn list_tags(svc: &SageMaker, call: &Call, input: &Value) -> Result<Value, AwsError> {
    let (arn, _, account) = resource_of(call, input)?;
    if account != call.account() {
        return Err(gone(&arn));
    }
    let all: Vec<Tag> = svc
        .read(|st| Ok(st.by_arn(&arn).map(|r| r.tags.clone())))?
        .ok_or_else(|| gone(&arn))?;
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map(|n| n.clamp(1, 100) as usize)
        .unwrap_or(50);
    let (tags, next) = page(all, opt(input, "NextToken"), max)?;
    let mut out = json!({ "Tags": tags });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}
