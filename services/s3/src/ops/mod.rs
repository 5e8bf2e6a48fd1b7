//! The operations' handlers, one file per family, and what they share.

pub mod bucket;
pub mod list;
pub mod multipart;
pub mod object;

use std::time::{SystemTime, UNIX_EPOCH};

use gateway::{AwsError, Call};
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::S3;
use crate::error;
use crate::input::Input;
use crate::state::{Bucket, BucketRecord, Headers, Tag};

/// Now, epoch seconds with millisecond precision (S3's resolution).
pub fn now() -> f64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_millis() as f64) / 1000.0
}

/// `x-amz-expected-bucket-owner`: a mismatch is `AccessDenied`.
pub fn expect_owner(input: &Input, owner: &str) -> Result<(), AwsError> {
    match input.str("ExpectedBucketOwner") {
        Some(want) if want != owner => Err(error::access_denied("Access Denied")),
        _ => Ok(()),
    }
}

/// Runs `f` on a bucket under the lock, then writes the bucket record through (with the
/// call's audit record) and waits until it is durable.
pub async fn update_bucket<T>(
    svc: &S3,
    call: &Call,
    input: &Input,
    f: impl FnOnce(&mut Bucket) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let pending = {
        let mut st = svc.lock();
        let name = input.bucket();
        let b = st
            .buckets
            .get_mut(name)
            .ok_or_else(|| error::no_such_bucket(name))?;
        expect_owner(input, &b.rec.owner)?;
        let out = f(b)?;
        let mut batch = storage::Batch::new();
        batch.put::<BucketRecord>(&b.rec);
        (out, call.submit(batch))
    };
    let (out, pending) = pending;
    pending.await?;
    Ok(out)
}

/// Reads from a bucket under the lock.
pub fn read_bucket<T>(
    svc: &S3,
    input: &Input,
    f: impl FnOnce(&Bucket) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let st = svc.lock();
    let name = input.bucket();
    let b = st
        .buckets
        .get(name)
        .ok_or_else(|| error::no_such_bucket(name))?;
    expect_owner(input, &b.rec.owner)?;
    f(b)
}

/// Parses `x-amz-tagging` (URL query encoding).
pub fn tags_from_header(text: &str) -> Result<Vec<Tag>, AwsError> {
    let mut tags = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| error::invalid_tag("The TagKey you have provided is invalid"))
        };
        tags.push(Tag {
            k: dec(k)?,
            v: dec(v)?,
        });
    }
    Ok(tags)
}

/// Reads a `Tagging` payload's tag set.
pub fn tags_from_payload(v: Option<&Value>) -> Result<Vec<Tag>, AwsError> {
    let Some(set) = v.and_then(|t| t.get("TagSet")).and_then(Value::as_array) else {
        return Err(error::malformed_xml());
    };
    set.iter()
        .map(|t| {
            let k = t.get("Key").and_then(Value::as_str);
            let v = t.get("Value").and_then(Value::as_str);
            match (k, v) {
                (Some(k), Some(v)) => Ok(Tag {
                    k: k.into(),
                    v: v.into(),
                }),
                _ => Err(error::malformed_xml()),
            }
        })
        .collect()
}

/// Checks tags against S3's limits (`max` tags, key and value lengths, unique keys).
pub fn validate_tags(tags: &[Tag], max: usize) -> Result<(), AwsError> {
    if tags.len() > max {
        return Err(error::invalid_tag(if max == 10 {
            "Object tags cannot be greater than 10".to_string()
        } else {
            format!("Bucket tag count cannot be greater than {max}")
        }));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.k.is_empty() || t.k.chars().count() > 128 {
            return Err(error::invalid_tag(
                "The TagKey you have provided is invalid",
            ));
        }
        if t.v.chars().count() > 256 {
            return Err(error::invalid_tag(
                "The TagValue you have provided is invalid",
            ));
        }
        if t.k.starts_with("aws:") {
            return Err(error::invalid_tag(
                "System tags cannot be added/updated by requester",
            ));
        }
        if tags[..i].iter().any(|o| o.k == t.k) {
            return Err(error::invalid_tag(
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    Ok(())
}

/// Tags as the model's `TagSet`.
pub fn tag_set(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| serde_json::json!({"Key": t.k, "Value": t.v}))
            .collect(),
    )
}

/// The system metadata a write sets.
pub fn headers_from_input(input: &Input) -> Headers {
    let s = |n: &str| input.str(n).map(str::to_string);
    Headers {
        content_type: s("ContentType"),
        content_encoding: s("ContentEncoding").filter(|e| e != "aws-chunked"),
        content_disposition: s("ContentDisposition"),
        content_language: s("ContentLanguage"),
        cache_control: s("CacheControl"),
        expires: s("Expires"),
        website_redirect: s("WebsiteRedirectLocation"),
        storage_class: s("StorageClass").filter(|c| c != "STANDARD"),
        metadata: input.metadata(),
    }
}

/// Checks `x-amz-acl` against the bucket's object ownership: with `BucketOwnerEnforced`
/// only `bucket-owner-full-control` (or `private`) is accepted.
pub fn check_acl(input: &Input, bucket: &Bucket) -> Result<(), AwsError> {
    let enforced = bucket
        .rec
        .ownership
        .as_deref()
        .is_none_or(|o| o == "BucketOwnerEnforced");
    let has_grants = [
        "GrantFullControl",
        "GrantRead",
        "GrantReadACP",
        "GrantWriteACP",
    ]
    .iter()
    .any(|g| input.str(g).is_some());
    match input.str("ACL") {
        Some("private") | Some("bucket-owner-full-control") | None if !has_grants => Ok(()),
        _ if enforced => Err(AwsError::bad_request(
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
        )),
        _ => Ok(()),
    }
}
