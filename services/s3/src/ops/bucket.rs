//! Bucket operations: create, delete, head, list, location, policy, tagging, versioning,
//! default encryption, Block Public Access, ownership controls.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check};
use policy::{Policy, PolicyType};
use serde_json::{Value, json};

use super::{now, read_bucket, tag_set, tags_from_payload, update_bucket, validate_tags};
use crate::S3;
use crate::access::{self, BucketFacts};
use crate::error;
use crate::input::Input;
use crate::names::{bucket_arn, canonical_id, check_bucket_name};
use crate::state::{Bucket, BucketRecord, EncryptionRule, PublicAccessBlock};

/// A check on the bucket the request names.
fn bucket_check(svc: &S3, call: &Call, input: &Input, action: &'static str) -> Check {
    let facts = svc.bucket_facts(input.bucket());
    access::check(
        call,
        input,
        facts.as_ref(),
        action,
        bucket_arn(input.bucket()),
    )
}

fn one(
    svc: &S3,
    call: &Call,
    input: &Input,
    action: &'static str,
) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(bucket_check(svc, call, input, action)))
}

/// The bucket policy operations: the owner account's root user is never locked out by the
/// bucket policy (AWS's documented exception), so for it the policy is left out of the check.
fn policy_admin(
    svc: &S3,
    call: &Call,
    input: &Input,
    action: &'static str,
) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket()).map(|mut f| {
        if call.caller.is_root_of(&f.owner) {
            f.policy = None;
        }
        f
    });
    Ok(Authorization::check(access::check(
        call,
        input,
        facts.as_ref(),
        action,
        bucket_arn(input.bucket()),
    )))
}

// ---- ListBuckets

pub fn auth_list_buckets(_svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(access::check(
        call,
        input,
        None,
        "s3:ListAllMyBuckets",
        "*".into(),
    )))
}

pub async fn list_buckets(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let account = call.account().to_string();
    let prefix = input.str("Prefix").unwrap_or("");
    let st = svc.lock();
    let buckets: Vec<Value> = st
        .buckets
        .values()
        .filter(|b| b.rec.owner == account && b.rec.name.starts_with(prefix))
        .map(|b| {
            json!({"Name": b.rec.name, "CreationDate": b.rec.created, "BucketRegion": b.rec.region,
                   "BucketArn": bucket_arn(&b.rec.name)})
        })
        .collect();
    Ok(json!({
        "Buckets": buckets,
        "Owner": {"DisplayName": owner_name(&account), "ID": canonical_id(&account)},
        "Prefix": input.str("Prefix"),
    }))
}

fn owner_name(account: &str) -> String {
    format!("account-{account}")
}

// ---- CreateBucket

pub fn auth_create_bucket(
    _svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    let mut c = access::check(
        call,
        input,
        None,
        "s3:CreateBucket",
        bucket_arn(input.bucket()),
    );
    if let Some(lc) = location_constraint(input) {
        c = c.with("s3:LocationConstraint", lc);
    }
    if let Some(o) = input.str("ObjectOwnership") {
        c = c.with("s3:x-amz-object-ownership", o);
    }
    Ok(Authorization::check(c))
}

fn location_constraint(input: &Input) -> Option<&str> {
    input
        .get("CreateBucketConfiguration")
        .and_then(|c| c.get("LocationConstraint"))
        .and_then(Value::as_str)
}

pub async fn create_bucket(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let name = input.bucket().to_string();
    check_bucket_name(&name)?;
    let region = svc.config.region.clone();
    match location_constraint(&input) {
        None | Some("") if region == "us-east-1" => {}
        None | Some("") => {
            return Err(AwsError::bad_request(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.",
            ));
        }
        Some("us-east-1") => {
            return Err(AwsError::bad_request(
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
            )
            .with("LocationConstraint", "us-east-1"));
        }
        Some(lc) if lc != region => {
            return Err(AwsError::bad_request(
                "IllegalLocationConstraintException",
                format!(
                    "The {lc} location constraint is incompatible for the region specific endpoint this request was sent to."
                ),
            ));
        }
        Some(_) => {}
    }
    let ownership = match input.str("ObjectOwnership") {
        None => "BucketOwnerEnforced".to_string(),
        Some(o @ ("BucketOwnerEnforced" | "BucketOwnerPreferred" | "ObjectWriter")) => {
            o.to_string()
        }
        Some(o) => {
            return Err(error::invalid_argument(
                "Invalid x-amz-object-ownership header",
                "x-amz-object-ownership",
                o,
            ));
        }
    };
    let account = call.account().to_string();
    let pending = {
        let mut st = svc.lock();
        if let Some(existing) = st.buckets.get(&name) {
            if existing.rec.owner == account {
                if region == "us-east-1" {
                    // S3 in us-east-1 answers 200 for a bucket the caller already owns.
                    drop(st);
                    return Ok(json!({"Location": format!("/{name}")}));
                }
                return Err(AwsError::new(
                    "BucketAlreadyOwnedByYou",
                    409,
                    "Your previous request to create the named bucket succeeded and you already own it.",
                )
                .with("BucketName", name));
            }
            return Err(AwsError::new(
                "BucketAlreadyExists",
                409,
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
            .with("BucketName", name));
        }
        if let Some(acl) = input.str("ACL")
            && acl != "private"
            && ownership == "BucketOwnerEnforced"
        {
            return Err(AwsError::bad_request(
                "InvalidBucketAclWithObjectOwnership",
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            ));
        }
        let rec = BucketRecord {
            name: name.clone(),
            owner: account,
            region: region.clone(),
            created: now(),
            versioning: None,
            policy: None,
            tags: Vec::new(),
            encryption: None,
            public_access_block: Some(PublicAccessBlock::ALL),
            ownership: Some(ownership),
        };
        let mut batch = storage::Batch::new();
        batch.put(&rec);
        st.buckets.insert(name.clone(), Bucket::new(rec));
        call.submit(batch)
    };
    pending.await?;
    let location = if region == "us-east-1" {
        format!("/{name}")
    } else {
        format!("http://{name}.s3.amazonaws.com/")
    };
    Ok(json!({"Location": location, "BucketArn": bucket_arn(&name)}))
}

// ---- DeleteBucket

pub fn auth_delete_bucket(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:DeleteBucket")
}

pub async fn delete_bucket(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let name = input.bucket().to_string();
    let (pending, blobs) = {
        let mut st = svc.lock();
        let b = st
            .buckets
            .get(&name)
            .ok_or_else(|| error::no_such_bucket(&name))?;
        super::expect_owner(&input, &b.rec.owner)?;
        if !b.is_empty() {
            return Err(AwsError::new(
                "BucketNotEmpty",
                409,
                "The bucket you tried to delete is not empty",
            )
            .with("BucketName", name));
        }
        let mut batch = storage::Batch::new();
        batch.delete::<BucketRecord>(&name);
        // Incomplete multipart uploads go with the bucket.
        let ids: Vec<String> = st
            .uploads
            .values()
            .filter(|u| u.rec.bucket == name)
            .map(|u| u.rec.upload_id.clone())
            .collect();
        let mut blobs = Vec::new();
        for id in ids {
            if let Some(u) = st.uploads.remove(&id) {
                batch.delete::<crate::state::UploadRecord>(&id);
                for p in u.parts.values() {
                    batch.delete::<crate::state::PartRecord>(&crate::state::part_record_key(
                        &id, p.number,
                    ));
                    blobs.push(p.chunk.blob);
                }
            }
        }
        st.buckets.remove(&name);
        (call.submit(batch), blobs)
    };
    pending.await?;
    for id in blobs {
        let _ = svc.delete_blob(id);
    }
    Ok(json!({}))
}

// ---- HeadBucket, GetBucketLocation, GetBucketAcl

pub fn auth_head_bucket(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:ListBucket")
}

pub async fn head_bucket(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| {
        Ok(
            json!({"BucketRegion": b.rec.region, "AccessPointAlias": false, "BucketArn": bucket_arn(&b.rec.name)}),
        )
    })
}

pub fn auth_get_bucket_location(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketLocation")
}

pub async fn get_bucket_location(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| {
        let lc = if b.rec.region == "us-east-1" {
            None
        } else {
            Some(b.rec.region.clone())
        };
        Ok(json!({"LocationConstraint": lc}))
    })
}

pub fn auth_get_bucket_acl(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketAcl")
}

pub async fn get_bucket_acl(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| {
        let id = canonical_id(&b.rec.owner);
        let name = owner_name(&b.rec.owner);
        Ok(json!({
            "Owner": {"DisplayName": name, "ID": id},
            "Grants": [{"Grantee": {"DisplayName": name, "ID": id, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}],
        }))
    })
}

// ---- Bucket policy

pub fn auth_put_bucket_policy(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    policy_admin(svc, call, input, "s3:PutBucketPolicy")
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// S3 accepts a bucket policy only if every resource names this bucket or its objects.
fn check_policy_resources(text: &str, bucket: &str) -> Result<(), AwsError> {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return Ok(());
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s) => vec![s.clone()],
        None => Vec::new(),
    };
    for st in &statements {
        for field in ["Resource", "NotResource"] {
            let values: Vec<&str> = match st.get(field) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            for r in values {
                let ok = r.strip_prefix("arn:aws:s3:::").is_some_and(|rest| {
                    let b = rest.split('/').next().unwrap_or("");
                    glob(b, bucket)
                }) || r == "*";
                if !ok {
                    return Err(AwsError::bad_request(
                        "MalformedPolicy",
                        "Policy has invalid resource",
                    ));
                }
            }
        }
    }
    Ok(())
}

pub async fn put_bucket_policy(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let text = input.str("Policy").unwrap_or("").to_string();
    if text.trim().is_empty() {
        return Err(AwsError::bad_request(
            "MalformedPolicy",
            "Policies must be valid JSON and the first byte must be '{'",
        ));
    }
    let compiled = Policy::parse(&text, PolicyType::Resource).map_err(|e| {
        AwsError::bad_request(
            "MalformedPolicy",
            format!("{} (line {}, column {})", e.message(), e.line(), e.column()),
        )
    })?;
    check_policy_resources(&text, input.bucket())?;
    let public = crate::public::is_public(&text);
    let caller = call.caller.arn.clone();
    update_bucket(&svc, &call, &input, move |b| {
        if public && b.rec.public_access_block.is_some_and(|p| p.block_public_policy) {
            return Err(error::access_denied(format!(
                "User: {caller} is not authorized to perform: s3:PutBucketPolicy on resource: \"{}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
                bucket_arn(&b.rec.name)
            )));
        }
        b.rec.policy = Some(text);
        b.policy = Some(Arc::new(compiled));
        b.policy_public = public;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_bucket_policy(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    policy_admin(svc, call, input, "s3:GetBucketPolicy")
}

fn no_such_policy(bucket: &str) -> AwsError {
    AwsError::new(
        "NoSuchBucketPolicy",
        404,
        "The bucket policy does not exist",
    )
    .with("BucketName", bucket)
}

pub async fn get_bucket_policy(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| match &b.rec.policy {
        Some(p) => Ok(json!({"Policy": p})),
        None => Err(no_such_policy(&b.rec.name)),
    })
}

pub fn auth_delete_bucket_policy(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    policy_admin(svc, call, input, "s3:DeleteBucketPolicy")
}

pub async fn delete_bucket_policy(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    update_bucket(&svc, &call, &input, |b| {
        b.rec.policy = None;
        b.compile_policy();
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_bucket_policy_status(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketPolicyStatus")
}

pub async fn get_bucket_policy_status(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| match &b.rec.policy {
        Some(_) => Ok(json!({"PolicyStatus": {"IsPublic": b.policy_public}})),
        None => Err(no_such_policy(&b.rec.name)),
    })
}

// ---- Bucket tagging

pub fn auth_put_bucket_tagging(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketTagging")
}

pub async fn put_bucket_tagging(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let tags = tags_from_payload(input.get("Tagging"))?;
    validate_tags(&tags, 50)?;
    update_bucket(&svc, &call, &input, |b| {
        b.rec.tags = tags;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_bucket_tagging(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketTagging")
}

pub async fn get_bucket_tagging(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| {
        if b.rec.tags.is_empty() {
            return Err(
                AwsError::new("NoSuchTagSet", 404, "The TagSet does not exist")
                    .with("BucketName", b.rec.name.clone()),
            );
        }
        Ok(json!({"TagSet": tag_set(&b.rec.tags)}))
    })
}

pub fn auth_delete_bucket_tagging(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketTagging")
}

pub async fn delete_bucket_tagging(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    update_bucket(&svc, &call, &input, |b| {
        b.rec.tags.clear();
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

// ---- Versioning

pub fn auth_put_bucket_versioning(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketVersioning")
}

pub async fn put_bucket_versioning(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    let cfg = input
        .get("VersioningConfiguration")
        .ok_or_else(error::malformed_xml)?;
    let status = match cfg.get("Status").and_then(Value::as_str) {
        Some(s @ ("Enabled" | "Suspended")) => Some(s.to_string()),
        None => None,
        Some(_) => return Err(error::malformed_xml()),
    };
    if cfg.get("MFADelete").and_then(Value::as_str) == Some("Enabled") {
        return Err(error::invalid_request(
            "DevPay and Mfa are mutually exclusive authorization methods.",
        ));
    }
    update_bucket(&svc, &call, &input, |b| {
        if let Some(s) = status {
            b.rec.versioning = Some(s);
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_bucket_versioning(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketVersioning")
}

pub async fn get_bucket_versioning(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| Ok(json!({"Status": b.rec.versioning})))
}

// ---- Default encryption

pub fn auth_put_bucket_encryption(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutEncryptionConfiguration")
}

pub async fn put_bucket_encryption(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    let rules = input
        .get("ServerSideEncryptionConfiguration")
        .and_then(|c| c.get("Rules"))
        .and_then(Value::as_array)
        .ok_or_else(error::malformed_xml)?;
    let [rule] = rules.as_slice() else {
        return Err(error::malformed_xml());
    };
    let by_default = rule
        .get("ApplyServerSideEncryptionByDefault")
        .ok_or_else(error::malformed_xml)?;
    let algorithm = by_default
        .get("SSEAlgorithm")
        .and_then(Value::as_str)
        .ok_or_else(error::malformed_xml)?
        .to_string();
    if !matches!(algorithm.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse") {
        return Err(error::malformed_xml());
    }
    let kms_key_id = by_default
        .get("KMSMasterKeyID")
        .and_then(Value::as_str)
        .map(str::to_string);
    if kms_key_id.is_some() && algorithm == "AES256" {
        return Err(error::invalid_argument(
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            "ApplyServerSideEncryptionByDefault",
            "",
        ));
    }
    let bucket_key = rule
        .get("BucketKeyEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    update_bucket(&svc, &call, &input, |b| {
        b.rec.encryption = Some(EncryptionRule {
            algorithm,
            kms_key_id,
            bucket_key,
        });
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_bucket_encryption(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetEncryptionConfiguration")
}

pub async fn get_bucket_encryption(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| {
        // Every bucket has default encryption; without a configuration it is SSE-S3.
        let rule = b.rec.encryption.clone().unwrap_or(EncryptionRule {
            algorithm: "AES256".into(),
            kms_key_id: None,
            bucket_key: false,
        });
        let mut by_default = json!({"SSEAlgorithm": rule.algorithm});
        if let Some(k) = rule.kms_key_id {
            by_default["KMSMasterKeyID"] = Value::String(k);
        }
        Ok(json!({"ServerSideEncryptionConfiguration": {"Rules": [
            {"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": rule.bucket_key}
        ]}}))
    })
}

pub fn auth_delete_bucket_encryption(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutEncryptionConfiguration")
}

pub async fn delete_bucket_encryption(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    update_bucket(&svc, &call, &input, |b| {
        b.rec.encryption = None;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

// ---- Block Public Access

pub fn auth_put_public_access_block(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketPublicAccessBlock")
}

pub async fn put_public_access_block(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    let cfg = input
        .get("PublicAccessBlockConfiguration")
        .ok_or_else(error::malformed_xml)?;
    let flag = |n: &str| cfg.get(n).and_then(Value::as_bool).unwrap_or(false);
    let pab = PublicAccessBlock {
        block_public_acls: flag("BlockPublicAcls"),
        ignore_public_acls: flag("IgnorePublicAcls"),
        block_public_policy: flag("BlockPublicPolicy"),
        restrict_public_buckets: flag("RestrictPublicBuckets"),
    };
    update_bucket(&svc, &call, &input, |b| {
        b.rec.public_access_block = Some(pab);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_public_access_block(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketPublicAccessBlock")
}

pub async fn get_public_access_block(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| match b.rec.public_access_block {
        Some(p) => Ok(json!({"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": p.block_public_acls, "IgnorePublicAcls": p.ignore_public_acls,
            "BlockPublicPolicy": p.block_public_policy, "RestrictPublicBuckets": p.restrict_public_buckets}})),
        None => Err(AwsError::new(
            "NoSuchPublicAccessBlockConfiguration",
            404,
            "The public access block configuration was not found",
        )
        .with("BucketName", b.rec.name.clone())),
    })
}

pub fn auth_delete_public_access_block(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketPublicAccessBlock")
}

pub async fn delete_public_access_block(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    update_bucket(&svc, &call, &input, |b| {
        b.rec.public_access_block = None;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

// ---- Ownership controls

pub fn auth_put_ownership_controls(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketOwnershipControls")
}

pub async fn put_ownership_controls(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    let rules = input
        .get("OwnershipControls")
        .and_then(|c| c.get("Rules"))
        .and_then(Value::as_array)
        .ok_or_else(error::malformed_xml)?;
    let [rule] = rules.as_slice() else {
        return Err(error::malformed_xml());
    };
    let ownership = match rule.get("ObjectOwnership").and_then(Value::as_str) {
        Some(o @ ("BucketOwnerEnforced" | "BucketOwnerPreferred" | "ObjectWriter")) => {
            o.to_string()
        }
        _ => return Err(error::malformed_xml()),
    };
    update_bucket(&svc, &call, &input, |b| {
        b.rec.ownership = Some(ownership);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub fn auth_get_ownership_controls(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:GetBucketOwnershipControls")
}

pub async fn get_ownership_controls(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    read_bucket(&svc, &input, |b| match &b.rec.ownership {
        Some(o) => Ok(json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": o}]}})),
        None => Err(AwsError::new(
            "OwnershipControlsNotFoundError",
            404,
            "The bucket ownership controls were not found",
        )
        .with("BucketName", b.rec.name.clone())),
    })
}

pub fn auth_delete_ownership_controls(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    one(svc, call, input, "s3:PutBucketOwnershipControls")
}

pub async fn delete_ownership_controls(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    update_bucket(&svc, &call, &input, |b| {
        b.rec.ownership = None;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[allow(dead_code)]
fn facts_for_tests(b: &Bucket) -> BucketFacts {
    BucketFacts::of(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_resources_must_name_the_bucket() {
        let p = |r: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":{r}}}]}}"#
            )
        };
        assert!(
            check_policy_resources(&p(r#"["arn:aws:s3:::b","arn:aws:s3:::b/*"]"#), "b").is_ok()
        );
        assert!(
            check_policy_resources(&p(r#""arn:aws:s3:::*sagemaker*""#), "my-sagemaker-data")
                .is_ok()
        );
        assert!(check_policy_resources(&p(r#""arn:aws:s3:::other/*""#), "b").is_err());
        assert!(check_policy_resources(&p(r#""arn:aws:iam::1:role/x""#), "b").is_err());
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*", ""));
    }
}
