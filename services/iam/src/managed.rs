//! AWS managed policies shipped with Perimeter (`arn:aws:iam::aws:policy/...`), written from
//! AWS's documented action lists. They are read-only and shared by every account.

use std::collections::BTreeMap;

use aws_lc_rs::digest;

use crate::state::{Doc, ManagedPolicy, PolicyVersion};

/// (name, description, document).
const POLICIES: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        include_str!("../policies/AdministratorAccess.json"),
    ),
    (
        "PowerUserAccess",
        "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        include_str!("../policies/PowerUserAccess.json"),
    ),
    (
        "ReadOnlyAccess",
        "Provides read-only access to AWS services and resources.",
        include_str!("../policies/ReadOnlyAccess.json"),
    ),
    (
        "AmazonSageMakerFullAccess",
        "Provides full access to Amazon SageMaker via the AWS Management Console and SDK. Also provides select access to related services (e.g., S3, ECR, CloudWatch Logs).",
        include_str!("../policies/AmazonSageMakerFullAccess.json"),
    ),
    (
        "AmazonSageMakerReadOnly",
        "Provides read only access to Amazon SageMaker via the AWS Management Console and SDK.",
        include_str!("../policies/AmazonSageMakerReadOnly.json"),
    ),
    (
        "AmazonS3FullAccess",
        "Provides full access to all buckets via the AWS Management Console.",
        include_str!("../policies/AmazonS3FullAccess.json"),
    ),
    (
        "AmazonS3ReadOnlyAccess",
        "Provides read only access to all buckets via the AWS Management Console.",
        include_str!("../policies/AmazonS3ReadOnlyAccess.json"),
    ),
    (
        "IAMFullAccess",
        "Provides full access to IAM via the AWS Management Console.",
        include_str!("../policies/IAMFullAccess.json"),
    ),
    (
        "IAMReadOnlyAccess",
        "Provides read only access to IAM via the AWS Management Console.",
        include_str!("../policies/IAMReadOnlyAccess.json"),
    ),
    (
        "AWSKeyManagementServicePowerUser",
        "Provides access to AWS Key Management Service (KMS).",
        include_str!("../policies/AWSKeyManagementServicePowerUser.json"),
    ),
];

/// 2015-02-06T18:39:46Z, when AWS published its first managed policies.
const PUBLISHED: u64 = 1_423_248_000 - 14;

/// A stable `ANPA...` id derived from the policy name.
fn stable_id(name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let d = digest::digest(&digest::SHA256, name.as_bytes());
    let mut id = String::from("ANPA");
    for b in d.as_ref().iter().take(17) {
        id.push(ALPHABET[(*b & 31) as usize] as char);
    }
    id
}

/// The shipped AWS managed policies by ARN. A document that fails to parse is a build defect
/// caught by the tests; it is skipped (and logged) rather than taking the server down.
pub fn load() -> BTreeMap<String, ManagedPolicy> {
    let mut out = BTreeMap::new();
    for (name, description, text) in POLICIES {
        let doc = match Doc::parse(text) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(policy = name, error = %e, "shipped managed policy does not parse");
                continue;
            }
        };
        let p = ManagedPolicy {
            account: "aws".into(),
            name: (*name).into(),
            path: "/".into(),
            id: stable_id(name),
            description: Some((*description).into()),
            created: PUBLISHED,
            updated: PUBLISHED,
            default_version: "v1".into(),
            versions: vec![PolicyVersion {
                id: "v1".into(),
                doc,
                created: PUBLISHED,
            }],
            next_version: 2,
            tags: Vec::new(),
        };
        out.insert(p.arn(), p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_policy_parses() {
        for (name, _, text) in POLICIES {
            let r = Doc::<crate::state::IdentityDoc>::parse(text);
            assert!(r.is_ok(), "{name}: {:?}", r.err());
        }
        let all = load();
        assert_eq!(all.len(), POLICIES.len());
        assert!(all.contains_key("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(all.contains_key("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"));
    }

    #[test]
    fn ids_are_stable_and_aws_shaped() {
        assert_eq!(stable_id("ReadOnlyAccess"), stable_id("ReadOnlyAccess"));
        assert_ne!(
            stable_id("ReadOnlyAccess"),
            stable_id("AdministratorAccess")
        );
        assert_eq!(stable_id("x").len(), 21);
    }
}
