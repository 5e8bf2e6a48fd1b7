//! Whether a bucket policy is "public", as Block Public Access defines it.
//!
//! The policy crate does not expose this, so S3 applies AWS's documented test to the policy
//! text itself (the policy already compiled, so the document is well formed). A policy is
//! public when one of its `Allow` statements grants access to a principal that is not a fixed
//! value — `"*"`, `{"AWS": "*"}`, an ARN with a wildcard, or `NotPrincipal` — unless that
//! statement is limited by a condition that pins a fixed value of one of the keys AWS lists:
//! `aws:SourceIp` (a range no broader than /8, or /32 for IPv6), `aws:SourceArn`,
//! `aws:SourceVpc`, `aws:SourceVpce`, `aws:SourceOwner`, `aws:SourceAccount`, `aws:userid`,
//! `aws:PrincipalOrgID`, `aws:PrincipalAccount`, `aws:PrincipalArn`,
//! `s3:x-amz-server-side-encryption-aws-kms-key-id`, `s3:DataAccessPointArn`,
//! `s3:DataAccessPointAccount`.

use serde_json::Value;

const FIXING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:userid",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceorgid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

/// Whether the policy text grants public access.
pub fn is_public(text: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return false,
    };
    statements.iter().any(statement_is_public)
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn statement_is_public(st: &Value) -> bool {
    if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return false;
    }
    let open_principal = if st.get("NotPrincipal").is_some() {
        true
    } else {
        match st.get("Principal") {
            Some(Value::String(s)) => s == "*",
            Some(Value::Object(m)) => m.iter().any(|(kind, v)| {
                strings(v)
                    .iter()
                    .any(|p| *p == "*" || (kind == "AWS" && (p.contains('*') || p.contains('?'))))
            }),
            _ => false,
        }
    };
    open_principal && !condition_fixes(st.get("Condition"))
}

fn is_fixed(value: &str) -> bool {
    !value.is_empty() && !value.contains('*') && !value.contains('?') && !value.contains("${")
}

fn narrow_cidr(value: &str) -> bool {
    let (addr, len) = match value.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()),
        None => (value, None),
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len.is_none_or(|l| l >= 8),
        Ok(std::net::IpAddr::V6(_)) => len.is_none_or(|l| l >= 32),
        Err(_) => false,
    }
}

fn condition_fixes(cond: Option<&Value>) -> bool {
    let Some(Value::Object(ops)) = cond else {
        return false;
    };
    ops.iter().any(|(op, keys)| {
        let op_l = op.to_ascii_lowercase();
        let base = op_l
            .trim_start_matches("forallvalues:")
            .trim_start_matches("foranyvalue:")
            .trim_end_matches("ifexists");
        let Value::Object(keys) = keys else {
            return false;
        };
        keys.iter().any(|(key, values)| {
            let key = key.to_ascii_lowercase();
            let vals = strings(values);
            if vals.is_empty() || op_l.ends_with("ifexists") {
                return false;
            }
            if key == "aws:sourceip" {
                return base == "ipaddress" && vals.iter().all(|v| narrow_cidr(v));
            }
            if !FIXING_KEYS.contains(&key.as_str()) {
                return false;
            }
            let positive = matches!(
                base,
                "stringequals" | "stringequalsignorecase" | "stringlike" | "arnequals" | "arnlike"
            );
            if key == "aws:userid" && vals.iter().any(|v| v.ends_with(":*")) {
                return false;
            }
            positive && vals.iter().all(|v| is_fixed(v))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::is_public;

    fn policy(statement: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
    }

    #[test]
    fn open_allow_is_public() {
        assert!(is_public(&policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#
        )));
        assert!(is_public(&policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#
        )));
        assert!(is_public(&policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"s3:*","Resource":"*"}"#
        )));
    }

    #[test]
    fn fixed_principals_and_pinning_conditions_are_not_public() {
        assert!(!is_public(&policy(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}"#
        )));
        assert!(!is_public(&policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}"#
        )));
        assert!(!is_public(&policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/16"}}}"#
        )));
        assert!(!is_public(&policy(
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#
        )));
    }

    #[test]
    fn wildcard_or_broad_conditions_stay_public() {
        assert!(is_public(&policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:SourceVpce":"vpce-*"}}}"#
        )));
        assert!(is_public(&policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}"#
        )));
        assert!(is_public(&policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"home/"}}}"#
        )));
    }
}
