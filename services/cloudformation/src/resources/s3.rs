//! `AWS::S3::Bucket` (encryption, versioning, public access block, ownership, tags) and
//! `AWS::S3::BucketPolicy`.

use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish, key_value_tags};
use crate::state::ResourceRecord;

pub const BUCKET: TypeInfo = TypeInfo {
    kind: "AWS::S3::Bucket",
    attributes: &[
        "Arn",
        "DomainName",
        "DualStackDomainName",
        "RegionalDomainName",
        "WebsiteURL",
    ],
    replace: &["BucketName"],
    updatable: true,
    name_property: Some("BucketName"),
};

pub const BUCKET_POLICY: TypeInfo = TypeInfo {
    kind: "AWS::S3::BucketPolicy",
    attributes: &[],
    replace: &["Bucket"],
    updatable: true,
    name_property: None,
};

const BUCKET_PROPERTIES: &[&str] = &[
    "BucketName",
    "BucketEncryption",
    "VersioningConfiguration",
    "PublicAccessBlockConfiguration",
    "OwnershipControls",
    "Tags",
];

/// `BucketEncryption` as `PutBucketEncryption` takes it.
fn encryption(p: &Props<'_>) -> Result<Option<Value>, Failure> {
    let Some(cfg) = p.object("BucketEncryption")? else {
        return Ok(None);
    };
    let rules = cfg
        .get("ServerSideEncryptionConfiguration")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            p.fail("#/BucketEncryption: required key [ServerSideEncryptionConfiguration] not found")
        })?;
    let mut out = Vec::new();
    for r in rules {
        let by_default = r.get("ServerSideEncryptionByDefault").ok_or_else(|| {
            p.fail("#/BucketEncryption/ServerSideEncryptionConfiguration: required key [ServerSideEncryptionByDefault] not found")
        })?;
        let mut d = Map::new();
        d.insert(
            "SSEAlgorithm".into(),
            by_default.get("SSEAlgorithm").cloned().ok_or_else(|| {
                p.fail("#/BucketEncryption/ServerSideEncryptionConfiguration/ServerSideEncryptionByDefault: required key [SSEAlgorithm] not found")
            })?,
        );
        if let Some(k) = by_default.get("KMSMasterKeyID") {
            d.insert("KMSMasterKeyID".into(), k.clone());
        }
        let mut rule = Map::new();
        rule.insert(
            "ApplyServerSideEncryptionByDefault".into(),
            Value::Object(d),
        );
        if let Some(b) = r.get("BucketKeyEnabled").and_then(super::bool_of) {
            rule.insert("BucketKeyEnabled".into(), json!(b));
        }
        out.push(Value::Object(rule));
    }
    Ok(Some(json!({ "Rules": out })))
}

fn public_access_block(p: &Props<'_>) -> Result<Option<Value>, Failure> {
    let Some(cfg) = p.object("PublicAccessBlockConfiguration")? else {
        return Ok(None);
    };
    let flag = |n: &str| cfg.get(n).and_then(super::bool_of).unwrap_or(false);
    Ok(Some(json!({
        "BlockPublicAcls": flag("BlockPublicAcls"),
        "BlockPublicPolicy": flag("BlockPublicPolicy"),
        "IgnorePublicAcls": flag("IgnorePublicAcls"),
        "RestrictPublicBuckets": flag("RestrictPublicBuckets"),
    })))
}

fn versioning(p: &Props<'_>) -> Result<Option<String>, Failure> {
    let Some(cfg) = p.object("VersioningConfiguration")? else {
        return Ok(None);
    };
    cfg.get("Status")
        .and_then(Value::as_str)
        .map(str::to_string)
        .map(Some)
        .ok_or_else(|| p.fail("#/VersioningConfiguration: required key [Status] not found"))
}

fn bucket_created(ctx: &Ctx<'_>, name: &str) -> Created {
    let region = ctx.region();
    let suffix = crate::intrinsic::Pseudo {
        region: region.to_string(),
        ..Default::default()
    }
    .url_suffix();
    Created::new(name)
        .attr("Arn", format!("arn:{}:s3:::{name}", ctx.partition()))
        .attr("DomainName", format!("{name}.s3.{suffix}"))
        .attr("RegionalDomainName", format!("{name}.s3.{region}.{suffix}"))
        .attr(
            "DualStackDomainName",
            format!("{name}.s3.dualstack.{region}.{suffix}"),
        )
        .attr(
            "WebsiteURL",
            format!("http://{name}.s3-website-{region}.{suffix}"),
        )
}

/// Applies the bucket's configuration, from `old` (what it had) to `p`.
async fn configure(
    ctx: &Ctx<'_>,
    name: &str,
    old: Option<&Props<'_>>,
    p: &Props<'_>,
) -> Result<(), Failure> {
    let s3 = &ctx.svc.s3;
    let changed = |key: &str| old.is_none_or(|o| o.get(key) != p.get(key));
    if changed("BucketEncryption") {
        match encryption(p)? {
            Some(cfg) => {
                ctx.call::<::s3::PutBucketEncryption>(
                    s3,
                    "s3",
                    json!({"Bucket": name, "ServerSideEncryptionConfiguration": cfg}),
                )
                .await?;
            }
            None if old.is_some() => {
                ctx.call::<::s3::DeleteBucketEncryption>(s3, "s3", json!({"Bucket": name}))
                    .await?;
            }
            None => {}
        }
    }
    if changed("VersioningConfiguration") {
        let status = match versioning(p)? {
            Some(s) => Some(s),
            // Versioning cannot be turned off, only suspended.
            None if old.is_some() => Some("Suspended".to_string()),
            None => None,
        };
        if let Some(status) = status {
            ctx.call::<::s3::PutBucketVersioning>(
                s3,
                "s3",
                json!({"Bucket": name, "VersioningConfiguration": {"Status": status}}),
            )
            .await?;
        }
    }
    if changed("PublicAccessBlockConfiguration") {
        match public_access_block(p)? {
            Some(cfg) => {
                ctx.call::<::s3::PutPublicAccessBlock>(
                    s3,
                    "s3",
                    json!({"Bucket": name, "PublicAccessBlockConfiguration": cfg}),
                )
                .await?;
            }
            None if old.is_some() => {
                ctx.call::<::s3::DeletePublicAccessBlock>(s3, "s3", json!({"Bucket": name}))
                    .await?;
            }
            None => {}
        }
    }
    if changed("OwnershipControls") {
        match p.object("OwnershipControls")? {
            Some(cfg) => {
                ctx.call::<::s3::PutBucketOwnershipControls>(
                    s3,
                    "s3",
                    json!({"Bucket": name, "OwnershipControls": cfg}),
                )
                .await?;
            }
            None if old.is_some() => {
                ctx.call::<::s3::DeleteBucketOwnershipControls>(s3, "s3", json!({"Bucket": name}))
                    .await?;
            }
            None => {}
        }
    }
    let tags = ctx.tags(p, "Tags")?;
    let old_tags = match old {
        Some(o) => Some(ctx.tags(o, "Tags")?),
        None => None,
    };
    if old_tags.as_ref() != Some(&tags) {
        if tags.is_empty() {
            if old_tags.is_some() {
                ctx.call::<::s3::DeleteBucketTagging>(s3, "s3", json!({"Bucket": name}))
                    .await?;
            }
        } else {
            ctx.call::<::s3::PutBucketTagging>(
                s3,
                "s3",
                json!({"Bucket": name, "Tagging": {"TagSet": key_value_tags(&tags)}}),
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn create(ctx: &Ctx<'_>, kind: &str, p: &Props<'_>) -> Result<Created, Partial> {
    let s3 = &ctx.svc.s3;
    match kind {
        "AWS::S3::Bucket" => {
            p.allow(BUCKET_PROPERTIES)?;
            let name = match p.str("BucketName")? {
                Some(n) => n,
                None => ctx.generated_bucket_name(),
            };
            // S3 answers 200 to CreateBucket for a bucket the caller already owns in
            // us-east-1; CloudFormation must not adopt (and later delete) such a bucket.
            if ctx
                .run::<::s3::HeadBucket>(s3, "s3", json!({"Bucket": name}))
                .await
                .is_ok()
            {
                return Err(Failure(format!("{name} already exists")).into());
            }
            let mut input = Map::new();
            input.insert("Bucket".into(), json!(name));
            if ctx.region() != "us-east-1" {
                input.insert(
                    "CreateBucketConfiguration".into(),
                    json!({"LocationConstraint": ctx.region()}),
                );
            }
            ctx.call::<::s3::CreateBucket>(s3, "s3", Value::Object(input))
                .await?;
            let rest = configure(ctx, &name, None, p).await;
            finish(bucket_created(ctx, &name), rest)
        }
        "AWS::S3::BucketPolicy" => {
            p.allow(&["Bucket", "PolicyDocument"])?;
            let bucket = p.required("Bucket")?;
            let policy = p.required_document("PolicyDocument")?;
            ctx.call::<::s3::PutBucketPolicy>(
                s3,
                "s3",
                json!({"Bucket": bucket, "Policy": policy}),
            )
            .await?;
            Ok(Created::new(bucket))
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
    let id = current.physical_id.clone().unwrap_or_default();
    match current.kind.as_str() {
        "AWS::S3::Bucket" => {
            p.allow(BUCKET_PROPERTIES)?;
            configure(ctx, &id, Some(old), p).await?;
            Ok(bucket_created(ctx, &id))
        }
        "AWS::S3::BucketPolicy" => {
            let policy = p.required_document("PolicyDocument")?;
            ctx.call::<::s3::PutBucketPolicy>(
                &ctx.svc.s3,
                "s3",
                json!({"Bucket": id, "Policy": policy}),
            )
            .await?;
            Ok(super::unchanged(current))
        }
        other => Err(super::unsupported(other)),
    }
}

pub async fn delete(ctx: &Ctx<'_>, kind: &str, id: &str, _p: &Props<'_>) -> Result<(), Failure> {
    let s3 = &ctx.svc.s3;
    match kind {
        "AWS::S3::Bucket" => {
            ctx.call_gone_ok::<::s3::DeleteBucket>(s3, "s3", json!({"Bucket": id}))
                .await
        }
        "AWS::S3::BucketPolicy" => {
            ctx.call_gone_ok::<::s3::DeleteBucketPolicy>(s3, "s3", json!({"Bucket": id}))
                .await
        }
        _ => Ok(()),
    }
}
