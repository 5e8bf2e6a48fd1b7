//! What each S3 request asks the gateway to authorize: the action, the resource ARN, the
//! bucket policy as the resource policy (owned by the bucket's account), and the condition
//! keys S3 supplies. The gateway decides; nothing here decides.
//!
//! Block Public Access: with `RestrictPublicBuckets`, a public bucket policy grants nothing to
//! principals outside the bucket's account (the policy is not consulted for them, so only
//! their own account's grants could apply, and cross-account access needs the bucket policy).
//!
//! Access points ([`crate::access_point`]) slot in through [`AccessPointFacts`]: a request made
//! through an access point adds `s3:DataAccessPointArn`, `s3:DataAccessPointAccount` and
//! `s3:AccessPointNetworkOrigin` to every check, and a second check against the access
//! point's own policy.

use std::sync::Arc;

use gateway::{Call, Check};
use policy::Policy;

use crate::input::Input;
use crate::state::{Bucket, PublicAccessBlock, Tag};

/// What authorization needs to know about a bucket.
#[derive(Clone)]
pub struct BucketFacts {
    pub owner: String,
    pub policy: Option<Arc<Policy>>,
    pub policy_public: bool,
    pub public_access_block: Option<PublicAccessBlock>,
}

impl BucketFacts {
    /// The facts of a bucket.
    pub fn of(b: &Bucket) -> BucketFacts {
        BucketFacts {
            owner: b.rec.owner.clone(),
            policy: b.policy.clone(),
            policy_public: b.policy_public,
            public_access_block: b.rec.public_access_block,
        }
    }
}

/// A request made through an S3 access point.
#[derive(Clone, Debug)]
pub struct AccessPointFacts {
    pub arn: String,
    pub account: String,
    /// `Internet` or `VPC`.
    pub network_origin: String,
}

/// The bucket policy that applies to this caller (Block Public Access applied).
fn effective_policy(call: &Call, facts: &BucketFacts) -> Option<Arc<Policy>> {
    let restrict = facts
        .public_access_block
        .is_some_and(|p| p.restrict_public_buckets);
    if restrict && facts.policy_public && call.caller.account != facts.owner {
        return None;
    }
    facts.policy.clone()
}

/// A check of `action` on `resource` in a bucket (`None` when the bucket does not exist),
/// with the condition keys every S3 request supplies.
pub fn check(
    call: &Call,
    input: &Input,
    bucket: Option<&BucketFacts>,
    action: &'static str,
    resource: String,
) -> Check {
    let mut c = Check::new(action, resource);
    let owner = match bucket {
        Some(f) => {
            c = c
                .owned_by(f.owner.clone())
                .resource_policy(effective_policy(call, f));
            f.owner.clone()
        }
        None => call.account().to_string(),
    };
    c = c.with("s3:ResourceAccount", owner);
    if let Some(t) = input.fact("authType").and_then(|v| v.as_str()) {
        c = c
            .with("s3:authType", t)
            .with("s3:signatureversion", "AWS4-HMAC-SHA256");
    }
    if let Some(age) = input.fact("signatureAge").and_then(|v| v.as_u64()) {
        c = c.with("s3:signatureAge", age);
    }
    if let Some(h) = input.fact("x-amz-content-sha256").and_then(|v| v.as_str()) {
        c = c.with("s3:x-amz-content-sha256", h);
    }
    if call.secure_transport {
        c = c.with("s3:TlsVersion", "1.3");
    }
    if let Some(v) = input.str("ACL") {
        c = c.with("s3:x-amz-acl", v);
    }
    if let Some(v) = input.str("VersionId") {
        c = c.with("s3:versionid", v);
    }
    c
}

/// Adds the access point keys to a check of a request made through an access point (see
/// [`crate::access_point::authorize`] for the second check, on the access point).
pub fn through_access_point(c: Check, ap: &AccessPointFacts) -> Check {
    c.with("s3:DataAccessPointArn", ap.arn.clone())
        .with("s3:DataAccessPointAccount", ap.account.clone())
        .with("s3:AccessPointNetworkOrigin", ap.network_origin.clone())
}

/// Adds `s3:ExistingObjectTag/<key>` for an existing object's tags.
pub fn existing_tags(mut c: Check, tags: &[Tag]) -> Check {
    for t in tags {
        c = c.with(format!("s3:ExistingObjectTag/{}", t.k), t.v.clone());
    }
    c
}

/// Adds `s3:RequestObjectTag/<key>` and `s3:RequestObjectTagKeys` for tags a request sets.
pub fn request_tags(mut c: Check, tags: &[Tag]) -> Check {
    if tags.is_empty() {
        return c;
    }
    for t in tags {
        c = c.with(format!("s3:RequestObjectTag/{}", t.k), t.v.clone());
    }
    c.with(
        "s3:RequestObjectTagKeys",
        tags.iter().map(|t| t.k.clone()).collect::<Vec<_>>(),
    )
}

/// Adds the encryption keys a write supplies.
pub fn encryption_keys(mut c: Check, input: &Input) -> Check {
    if let Some(v) = input.str("ServerSideEncryption") {
        c = c.with("s3:x-amz-server-side-encryption", v);
    }
    if let Some(v) = input.str("SSEKMSKeyId") {
        c = c.with("s3:x-amz-server-side-encryption-aws-kms-key-id", v);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_point_keys_are_supplied() {
        let ap = AccessPointFacts {
            arn: "arn:aws:s3:us-east-1:111122223333:accesspoint/ap1-ds".into(),
            account: "111122223333".into(),
            network_origin: "VPC".into(),
        };
        let c = through_access_point(Check::new("s3:GetObject", "arn:aws:s3:::b/k"), &ap);
        let keys: Vec<&str> = c.context.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(
            keys,
            [
                "s3:DataAccessPointArn",
                "s3:DataAccessPointAccount",
                "s3:AccessPointNetworkOrigin"
            ]
        );
    }

    #[test]
    fn tag_keys() {
        let tags = [
            Tag {
                k: "a".into(),
                v: "1".into(),
            },
            Tag {
                k: "b".into(),
                v: "2".into(),
            },
        ];
        let c = request_tags(Check::new("s3:PutObject", "arn:aws:s3:::b/k"), &tags);
        assert!(
            c.context
                .iter()
                .any(|(k, v)| k == "s3:RequestObjectTagKeys" && v.as_slice() == ["a", "b"])
        );
        let c = existing_tags(Check::new("s3:GetObject", "arn:aws:s3:::b/k"), &tags);
        assert!(
            c.context
                .iter()
                .any(|(k, v)| k == "s3:ExistingObjectTag/b" && v.as_slice() == ["2"])
        );
    }
}
