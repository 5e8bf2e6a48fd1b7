//! Names, paths, tags and ARNs as IAM validates and builds them, and IAM's errors.

use gateway::AwsError;
use serde::{Deserialize, Serialize};

/// `NoSuchEntity` (404).
pub fn no_such_entity(message: impl Into<String>) -> AwsError {
    AwsError::new("NoSuchEntity", 404, message)
}

/// `EntityAlreadyExists` (409).
pub fn already_exists(message: impl Into<String>) -> AwsError {
    AwsError::new("EntityAlreadyExists", 409, message)
}

/// `LimitExceeded` (409).
pub fn limit_exceeded(message: impl Into<String>) -> AwsError {
    AwsError::new("LimitExceeded", 409, message)
}

/// `DeleteConflict` (409).
pub fn delete_conflict(message: impl Into<String>) -> AwsError {
    AwsError::new("DeleteConflict", 409, message)
}

/// `InvalidInput` (400).
pub fn invalid_input(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInput", 400, message)
}

/// `ValidationError` (400).
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", 400, message)
}

/// `MalformedPolicyDocument` (400) with the engine's position.
pub fn malformed_policy(e: &policy::PolicyError) -> AwsError {
    let mut message = e.message().to_string();
    if let Some(first) = message.get(..1) {
        message = first.to_ascii_uppercase() + &message[1..];
    }
    AwsError::new(
        "MalformedPolicyDocument",
        400,
        format!("{message} (line {}, column {})", e.line(), e.column()),
    )
}

fn pattern_error(value: &str, member: &str, pattern: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: {pattern}"
    ))
}

fn length_error(value: &str, member: &str, bound: &str, n: usize) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must have length {bound} {n}"
    ))
}

/// `[\w+=,.@-]+`: user, group, role, policy, instance profile and MFA device names.
pub fn check_name(value: &str, member: &str, max: usize) -> Result<(), AwsError> {
    if value.is_empty() {
        return Err(length_error(value, member, "greater than or equal to", 1));
    }
    if value.chars().count() > max {
        return Err(length_error(value, member, "less than or equal to", max));
    }
    let ok = value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-'));
    if !ok {
        return Err(pattern_error(value, member, "[\\w+=,.@-]+"));
    }
    Ok(())
}

/// `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`: entity paths. Returns `/` when absent.
pub fn check_path(value: Option<&str>, member: &str) -> Result<String, AwsError> {
    let Some(p) = value else {
        return Ok("/".to_string());
    };
    if p.chars().count() > 512 {
        return Err(length_error(p, member, "less than or equal to", 512));
    }
    let ok = p == "/"
        || (p.len() >= 3
            && p.starts_with('/')
            && p.ends_with('/')
            && p.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if !ok {
        return Err(pattern_error(
            p,
            member,
            "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(p.to_string())
}

/// A tag on an IAM resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_alphabetic()
            || c.is_numeric()
            || c.is_whitespace()
            || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
    })
}

/// Validates tags as IAM does: keys 1..=128, values ..=256, no `aws:` prefix, no
/// duplicate keys (case-insensitive).
pub fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    for (i, t) in tags.iter().enumerate() {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'tags.{}.member.key' failed to satisfy constraint: \
                 Member must have length less than or equal to 128",
                t.key,
                i + 1
            )));
        }
        if !tag_chars_ok(&t.key) {
            return Err(pattern_error(
                &t.key,
                &format!("tags.{}.member.key", i + 1),
                "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            ));
        }
        if t.value.chars().count() > 256 {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'tags.{}.member.value' failed to satisfy constraint: \
                 Member must have length less than or equal to 256",
                t.value,
                i + 1
            )));
        }
        if !tag_chars_ok(&t.value) {
            return Err(pattern_error(
                &t.value,
                &format!("tags.{}.member.value", i + 1),
                "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
            ));
        }
        if t.key.len() >= 4 && t.key[..4].eq_ignore_ascii_case("aws:") {
            return Err(invalid_input(
                "User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.",
            ));
        }
        if tags[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            return Err(invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// Merges `new` into `tags` (a key that exists, compared case-insensitively, gets the new value).
/// Fails when the result would exceed 50 tags.
pub fn merge_tags(tags: &[Tag], new: &[Tag]) -> Result<Vec<Tag>, AwsError> {
    check_tags(new)?;
    let mut out = tags.to_vec();
    for t in new {
        match out.iter_mut().find(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            Some(o) => {
                o.key = t.key.clone();
                o.value = t.value.clone();
            }
            None => out.push(t.clone()),
        }
    }
    if out.len() > 50 {
        return Err(limit_exceeded(
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(out)
}

/// Removes tags whose keys are in `keys`.
pub fn remove_tags(tags: &[Tag], keys: &[String]) -> Vec<Tag> {
    tags.iter()
        .filter(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)))
        .cloned()
        .collect()
}

/// Tags as (key, value) pairs for the engine.
pub fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// `arn:aws:iam::ACCOUNT:KIND/PATH...NAME` (the path starts and ends with `/`).
pub fn iam_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    let mut s = String::with_capacity(24 + kind.len() + path.len() + name.len());
    s.push_str("arn:aws:iam::");
    s.push_str(account);
    s.push(':');
    s.push_str(kind);
    s.push_str(if path.is_empty() { "/" } else { path });
    s.push_str(name);
    s
}

/// An IAM ARN split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamArn<'a> {
    pub account: &'a str,
    /// `user`, `group`, `role`, `policy`, `instance-profile`, `mfa`.
    pub kind: &'a str,
    /// `/` or `/a/b/`.
    pub path: &'a str,
    pub name: &'a str,
}

/// Parses `arn:aws:iam::ACCOUNT:KIND/PATH/NAME`.
pub fn parse_iam_arn(arn: &str) -> Option<IamArn<'_>> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "iam" {
        return None;
    }
    let _region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    let slash = resource.find('/')?;
    let kind = &resource[..slash];
    let last = resource.rfind('/')?;
    let path = &resource[slash..=last];
    let name = &resource[last + 1..];
    if name.is_empty() {
        return None;
    }
    Some(IamArn {
        account,
        kind,
        path,
        name,
    })
}

/// Whether `path` starts with `prefix` (absent prefix matches everything).
pub fn path_matches(path: &str, prefix: Option<&str>) -> bool {
    prefix.is_none_or(|p| path.starts_with(p))
}

/// Percent-encodes a policy document as IAM returns them (RFC 3986; botocore decodes it).
/// Written out rather than through `percent_encoding`'s `Display`: every GetRole and
/// GetPolicyVersion response carries one.
pub fn encode_document(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 2);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// Number of characters of a policy document, not counting white space outside strings
/// (how IAM measures policy sizes).
pub fn policy_size(text: &str) -> usize {
    let mut n = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            n += 1;
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            n += 1;
        } else if !c.is_whitespace() {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_encode_as_rfc_3986() {
        let text = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"a-b_c.d~e f/é\"}]}\n";
        const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        assert_eq!(
            encode_document(text),
            percent_encoding::utf8_percent_encode(text, SET).to_string()
        );
        assert_eq!(encode_document("a b~é"), "a%20b~%C3%A9");
    }

    #[test]
    fn names_follow_iam_patterns() {
        assert!(check_name("data-science_1+=,.@", "userName", 64).is_ok());
        let e = check_name("bad name", "userName", 64).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(e.message.contains("at 'userName'"), "{}", e.message);
        assert!(check_name(&"a".repeat(65), "userName", 64).is_err());
    }

    #[test]
    fn paths_must_be_slash_delimited() {
        assert_eq!(check_path(None, "path").unwrap(), "/");
        assert_eq!(check_path(Some("/a/b/"), "path").unwrap(), "/a/b/");
        assert!(check_path(Some("a/"), "path").is_err());
        assert!(check_path(Some("/a"), "path").is_err());
        assert!(check_path(Some("//"), "path").is_ok() || check_path(Some("//"), "path").is_err());
    }

    #[test]
    fn arns_round_trip() {
        let arn = iam_arn("123456789012", "role", "/service/", "Admin");
        assert_eq!(arn, "arn:aws:iam::123456789012:role/service/Admin");
        let p = parse_iam_arn(&arn).unwrap();
        assert_eq!(
            (p.account, p.kind, p.path, p.name),
            ("123456789012", "role", "/service/", "Admin")
        );
        let p = parse_iam_arn("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert_eq!(
            (p.account, p.kind, p.path, p.name),
            ("aws", "policy", "/", "AdministratorAccess")
        );
        assert!(parse_iam_arn("arn:aws:s3:::bucket").is_none());
        assert!(parse_iam_arn("arn:aws:iam::1:root").is_none());
    }

    #[test]
    fn tags_are_validated_like_iam() {
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(check_tags(&[t("Project", "ml"), t("team", "")]).is_ok());
        assert_eq!(
            check_tags(&[t("a", "1"), t("A", "2")]).unwrap_err().code,
            "InvalidInput"
        );
        assert_eq!(
            check_tags(&[t("aws:x", "1")]).unwrap_err().code,
            "InvalidInput"
        );
        let merged = merge_tags(&[t("a", "1")], &[t("A", "2"), t("b", "3")]).unwrap();
        assert_eq!(merged, vec![t("A", "2"), t("b", "3")]);
        assert_eq!(remove_tags(&merged, &["a".into()]), vec![t("b", "3")]);
    }

    #[test]
    fn documents_are_percent_encoded_and_sized_without_white_space() {
        assert_eq!(
            encode_document("{\"a\": \"b c\"}"),
            "%7B%22a%22%3A%20%22b%20c%22%7D"
        );
        assert_eq!(policy_size("{ \"a\" : \"b c\" }"), 11);
    }
}
