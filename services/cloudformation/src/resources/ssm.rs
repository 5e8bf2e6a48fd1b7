//! `AWS::SSM::Parameter`.

use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, key_value_tags, put};
use crate::state::ResourceRecord;
use crate::template::scalar_text;

pub const PARAMETER: TypeInfo = TypeInfo {
    kind: "AWS::SSM::Parameter",
    attributes: &["Type", "Value"],
    replace: &["Name"],
    updatable: true,
    name_property: Some("Name"),
};

/// `Tags` of a parameter: a map of keys to values.
fn tags(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Vec<(String, String)>, Failure> {
    let own: Vec<(String, String)> = match p.object("Tags")? {
        None => Vec::new(),
        Some(m) => m
            .iter()
            .map(|(k, v)| {
                scalar_text(v)
                    .map(|v| (k.clone(), v))
                    .ok_or_else(|| p.fail(format!("#/Tags/{k}: expected type: String")))
            })
            .collect::<Result<_, _>>()?,
    };
    let mut out: Vec<(String, String)> = ctx
        .stack_tags
        .iter()
        .filter(|t| !own.iter().any(|(k, _)| *k == t.key))
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    out.extend(own);
    Ok(out)
}

fn input(p: &Props<'_>, name: &str) -> Result<Map<String, Value>, Failure> {
    let kind = p.required("Type")?;
    if kind == "SecureString" {
        return Err(p.fail(
            "#/Type: SecureString is not supported by AWS::SSM::Parameter; use String or StringList",
        ));
    }
    let mut input = Map::new();
    input.insert("Name".into(), json!(name));
    input.insert("Type".into(), json!(kind));
    input.insert("Value".into(), json!(p.required("Value")?));
    put(&mut input, "Description", p.str("Description")?);
    put(&mut input, "AllowedPattern", p.str("AllowedPattern")?);
    put(&mut input, "Tier", p.str("Tier")?);
    put(&mut input, "DataType", p.str("DataType")?);
    put(&mut input, "Policies", p.str("Policies")?);
    Ok(input)
}

fn created(name: &str, p: &Props<'_>) -> Result<Created, Failure> {
    Ok(Created::new(name)
        .attr("Type", p.required("Type")?)
        .attr("Value", p.required("Value")?))
}

pub async fn create(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "Name",
        "Type",
        "Value",
        "Description",
        "AllowedPattern",
        "Tier",
        "DataType",
        "Policies",
        "Tags",
    ])?;
    let name = match p.str("Name")? {
        Some(n) => n,
        None => format!("CFN-{}-{}", ctx.logical_id, crate::random_suffix(12)),
    };
    let mut input = input(p, &name)?;
    let tags = tags(ctx, p)?;
    if !tags.is_empty() {
        input.insert("Tags".into(), key_value_tags(&tags));
    }
    ctx.call::<::ssm::PutParameter>(&ctx.svc.ssm, "ssm", Value::Object(input))
        .await?;
    Ok(created(&name, p)?)
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let ssm = &ctx.svc.ssm;
    let name = current.physical_id.clone().unwrap_or_default();
    let mut input = input(p, &name)?;
    input.insert("Overwrite".into(), json!(true));
    ctx.call::<::ssm::PutParameter>(ssm, "ssm", Value::Object(input))
        .await?;
    super::retag::<::ssm::RemoveTagsFromResource, ::ssm::AddTagsToResource>(
        ctx,
        ssm,
        "ssm",
        &tags(ctx, old)?,
        &tags(ctx, p)?,
        |keys| json!({"ResourceType": "Parameter", "ResourceId": name, "TagKeys": keys}),
        |tags| json!({"ResourceType": "Parameter", "ResourceId": name, "Tags": key_value_tags(tags)}),
    )
    .await?;
    created(&name, p)
}

pub async fn delete(ctx: &Ctx<'_>, id: &str) -> Result<(), Failure> {
    ctx.call_gone_ok::<::ssm::DeleteParameter>(&ctx.svc.ssm, "ssm", json!({"Name": id}))
        .await
}
