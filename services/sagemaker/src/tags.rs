//! Tags: parsing and checking them as SageMaker does, the automatic tags of resources
//! created from Studio, and the tag condition keys of a check.

use gateway::{AwsError, Check};
use serde_json::Value;

use crate::errors::{limit_exceeded, validation};
use crate::state::{AppCredential, Tag};

/// The most tags a resource carries.
pub(crate) const MAX_TAGS: usize = 50;

/// The `Tags` member of a request.
pub(crate) fn from_input(input: &Value, member: &str) -> Result<Vec<Tag>, AwsError> {
    let Some(list) = input.get(member).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let tags: Vec<Tag> = serde_json::from_value(list.clone())
        .map_err(|e| validation(format!("1 validation error detected: invalid Tags: {e}")))?;
    check(&tags)?;
    Ok(tags)
}

/// Checks tags a caller supplies: no reserved prefix, no duplicate keys, at most 50.
pub(crate) fn check(tags: &[Tag]) -> Result<(), AwsError> {
    if tags.len() > MAX_TAGS {
        return Err(limit_exceeded(format!(
            "The number of tags ({}) exceeds the limit of {MAX_TAGS}.",
            tags.len()
        )));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag keys beginning with 'aws:' are reserved for system use: {}",
                t.key
            )));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(validation(format!("Duplicate tag key: {}", t.key)));
        }
    }
    Ok(())
}

/// `tags` with `extra` merged in (an extra tag replaces a caller's tag of the same key).
pub(crate) fn merged(tags: &[Tag], extra: &[Tag]) -> Vec<Tag> {
    let mut out: Vec<Tag> = tags
        .iter()
        .filter(|t| !extra.iter().any(|e| e.key == t.key))
        .cloned()
        .collect();
    out.extend(extra.iter().cloned());
    out
}

/// The tags a request creates a resource with: the caller's, plus the automatic tags of the
/// Studio app whose credentials signed it.
pub(crate) fn requested(tags: &[Tag], studio: Option<&AppCredential>) -> Vec<Tag> {
    match studio {
        Some(s) => merged(tags, &s.auto_tags),
        None => tags.to_vec(),
    }
}

pub(crate) fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// Adds `aws:RequestTag/*`, `aws:TagKeys`, `sagemaker:RequestTag/*` and `sagemaker:TagKeys`.
pub(crate) fn with_request_tags(check: Check, tags: &[Tag]) -> Check {
    check.request_tags(&pairs(tags), Some("sagemaker"))
}

/// Adds `aws:ResourceTag/*` and `sagemaker:ResourceTag/*` for an existing resource's tags.
pub(crate) fn with_resource_tags(mut check: Check, tags: &[Tag]) -> Check {
    for t in tags {
        check = check.with(format!("sagemaker:ResourceTag/{}", t.key), t.value.clone());
    }
    check.resource_tags(pairs(tags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reserved_duplicate_and_too_many_tags_are_refused() {
        let t = from_input(&json!({"Tags": [{"Key": "team", "Value": "a"}]}), "Tags").unwrap();
        assert_eq!(t, vec![Tag::new("team", "a")]);
        assert!(from_input(&json!({}), "Tags").unwrap().is_empty());
        let e = from_input(&json!({"Tags": [{"Key": "aws:x", "Value": "a"}]}), "Tags").unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let e = from_input(
            &json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}),
            "Tags",
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"Key": format!("k{i}"), "Value": ""}))
            .collect();
        let e = from_input(&json!({ "Tags": many }), "Tags").unwrap_err();
        assert_eq!(e.code, "ResourceLimitExceeded");
    }

    #[test]
    fn automatic_tags_replace_a_callers_tag_of_the_same_key() {
        let m = merged(
            &[
                Tag::new("sagemaker:domain-arn", "forged"),
                Tag::new("team", "a"),
            ],
            &[Tag::new("sagemaker:domain-arn", "real")],
        );
        assert_eq!(
            m,
            vec![
                Tag::new("team", "a"),
                Tag::new("sagemaker:domain-arn", "real")
            ]
        );
    }
}
