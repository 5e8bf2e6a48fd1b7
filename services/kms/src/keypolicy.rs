//! Key policies: AWS's default and AWS managed policies, and grants compiled into the key policy.
//!
//! Grants authorize through the same engine as everything else: each grant becomes `Allow` statements
//! naming the grantee, the granted operations as actions and the constraints as
//! `kms:EncryptionContext:*` conditions, appended to the key policy the gateway evaluates. A grant
//! that includes `CreateGrant` lets the grantee create grants for at most its own operations
//! (`ForAllValues:StringEquals kms:GrantOperations`) and at least its own constraints.

use std::collections::BTreeSet;
use std::sync::Arc;

use policy::{Policy, PolicyType};
use serde_json::{Value, json};

use crate::records::{GrantConstraints, GrantRecord};

/// AWS's default key policy for a key created without one, formatted as AWS returns it.
pub fn default_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

/// The services that have an AWS managed key (`alias/aws/<service>`), with the principal name used
/// in `kms:ViaService` and the key's description.
pub const AWS_MANAGED: &[(&str, &str, &str)] = &[
    (
        "s3",
        "S3",
        "Default key that protects my S3 objects when no other key is defined",
    ),
    (
        "ebs",
        "EBS",
        "Default key that protects my EBS volumes when no other key is defined",
    ),
    (
        "ssm",
        "SSM",
        "Default key that protects my SSM parameters when no other key is defined",
    ),
    (
        "sagemaker",
        "SageMaker",
        "Default key that protects my SageMaker resources when no other key is defined",
    ),
    (
        "elasticfilesystem",
        "Elastic File System",
        "Default key that protects my EFS file systems when no other key is defined",
    ),
    (
        "logs",
        "CloudWatch Logs",
        "Default key that protects my CloudWatch Logs data when no other key is defined",
    ),
];

/// The `kms:ViaService` endpoint name of an AWS managed key's service.
fn via_endpoint(service: &str) -> &str {
    match service {
        "ebs" => "ec2",
        s => s,
    }
}

/// The key policy of the AWS managed key for `service`: the account's principals may use it only
/// through that service; the account may read its metadata.
pub fn aws_managed_policy(account: &str, region: &str, service: &str, title: &str) -> String {
    let mut actions = vec![
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    ];
    if service != "s3" {
        actions.push("kms:CreateGrant");
    }
    actions.push("kms:DescribeKey");
    let doc = json!({
        "Version": "2012-10-17",
        "Id": format!("auto-{service}-2"),
        "Statement": [
            {
                "Sid": format!("Allow access through {title} for all principals in the account that are authorized to use {title}"),
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": actions,
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:CallerAccount": account,
                    "kms:ViaService": format!("{}.{region}.amazonaws.com", via_endpoint(service)),
                }}
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*"
            }
        ]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The `Principal` element naming a grant's grantee or retiring principal; `None` when the value
/// cannot name a principal.
pub fn principal_element(principal: &str) -> Option<Value> {
    if principal.starts_with("arn:") {
        return Some(json!({ "AWS": principal }));
    }
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(json!({ "AWS": principal }));
    }
    if principal.ends_with(".amazonaws.com") && !principal.contains(':') {
        return Some(json!({ "Service": principal }));
    }
    None
}

/// Grant operations whose requests carry an encryption context (constraints apply to them).
const CONTEXT_OPERATIONS: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

fn constraint_conditions(c: &GrantConstraints) -> Option<Value> {
    if c.is_empty() {
        return None;
    }
    let mut equals = serde_json::Map::new();
    if let Some(m) = &c.subset {
        for (k, v) in m {
            equals.insert(
                format!("kms:EncryptionContext:{k}"),
                Value::String(v.clone()),
            );
        }
    }
    let mut cond = serde_json::Map::new();
    if let Some(m) = c.equals.as_ref().filter(|m| !m.is_empty()) {
        for (k, v) in m {
            equals.insert(
                format!("kms:EncryptionContext:{k}"),
                Value::String(v.clone()),
            );
        }
        let keys: Vec<Value> = m.keys().map(|k| Value::String(k.clone())).collect();
        cond.insert(
            "ForAllValues:StringEqualsIgnoreCase".into(),
            json!({ "kms:EncryptionContextKeys": keys }),
        );
    }
    cond.insert("StringEquals".into(), Value::Object(equals));
    Some(Value::Object(cond))
}

/// The statements a grant contributes to its key's policy (without `Sid`).
pub fn grant_statements(g: &GrantRecord) -> Vec<Value> {
    let Some(principal) = principal_element(&g.grantee) else {
        return Vec::new();
    };
    let constraints = g.constraints.clone().unwrap_or_default();
    let cond = constraint_conditions(&constraints);
    let ops: BTreeSet<&str> = g.operations.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let with_context: Vec<String> = ops
        .iter()
        .filter(|o| CONTEXT_OPERATIONS.contains(o))
        .map(|o| format!("kms:{o}"))
        .collect();
    let without_context: Vec<String> = ops
        .iter()
        .filter(|o| !CONTEXT_OPERATIONS.contains(o) && **o != "CreateGrant" && **o != "RetireGrant")
        .map(|o| format!("kms:{o}"))
        .collect();
    if !with_context.is_empty() {
        let mut s = json!({"Effect": "Allow", "Principal": principal, "Action": with_context, "Resource": "*"});
        if let Some(c) = &cond {
            s["Condition"] = c.clone();
        }
        out.push(s);
    }
    if !without_context.is_empty() {
        out.push(json!({"Effect": "Allow", "Principal": principal, "Action": without_context, "Resource": "*"}));
    }
    if ops.contains("CreateGrant") {
        let granted: Vec<&str> = ops.iter().copied().collect();
        let mut c = cond.clone().unwrap_or_else(|| json!({}));
        if let Some(obj) = c.as_object_mut() {
            obj.insert(
                "ForAllValues:StringEquals".into(),
                json!({ "kms:GrantOperations": granted }),
            );
        }
        out.push(json!({"Effect": "Allow", "Principal": principal, "Action": "kms:CreateGrant", "Resource": "*", "Condition": c}));
    }
    out
}

/// Checks that a grant compiles (its principals parse); the engine's message otherwise.
pub fn check_grant(g: &GrantRecord) -> Result<(), String> {
    if principal_element(&g.grantee).is_none() {
        return Err(format!("Invalid principal: {}", g.grantee));
    }
    if let Some(r) = &g.retiring
        && principal_element(r).is_none()
    {
        return Err(format!("Invalid principal: {r}"));
    }
    let mut statements = grant_statements(g);
    if let Some(r) = &g.retiring
        && let Some(p) = principal_element(r)
    {
        statements.push(json!({"Effect": "Allow", "Principal": p, "Action": "kms:RetireGrant", "Resource": "*"}));
    }
    if statements.is_empty() {
        return Ok(());
    }
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    Policy::parse(&doc.to_string(), PolicyType::Key)
        .map(|_| ())
        .map_err(|e| e.message().to_string())
}

fn statements_of(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// The key policy with `grants` compiled in. `None` when the combined document cannot be compiled
/// (too large): the caller then compiles only the grants that can apply to one caller.
pub fn compile_with_grants<'a>(
    key_policy_text: &str,
    grants: impl IntoIterator<Item = &'a GrantRecord>,
) -> Option<Policy> {
    let mut doc: Value = serde_json::from_str(key_policy_text).ok()?;
    let mut statements = statements_of(&doc);
    let mut seen = BTreeSet::new();
    for g in grants {
        for (i, mut s) in grant_statements(g).into_iter().enumerate() {
            // Identical grants (same grantee, operations and constraints) compile once.
            if !seen.insert(s.to_string()) {
                continue;
            }
            s["Sid"] = Value::String(format!("Grant{}{}", g.id, i));
            statements.push(s);
        }
    }
    doc["Statement"] = Value::Array(statements);
    Policy::parse(&doc.to_string(), PolicyType::Key).ok()
}

/// The policy that decides `kms:RetireGrant` for one grant: its retiring principal, its grantee when
/// the grant includes `RetireGrant`, and the account that owns the key (which may delegate through
/// IAM policies). A key policy alone cannot allow retiring a grant.
pub fn retire_policy(g: &GrantRecord, key_account: &str) -> Option<Arc<Policy>> {
    let mut statements = Vec::new();
    if let Some(p) = g.retiring.as_deref().and_then(principal_element) {
        statements.push(json!({"Sid": "RetiringPrincipal", "Effect": "Allow", "Principal": p, "Action": "kms:RetireGrant", "Resource": "*"}));
    }
    if g.operations.iter().any(|o| o == "RetireGrant")
        && let Some(p) = principal_element(&g.grantee)
    {
        statements.push(json!({"Sid": "GranteePrincipal", "Effect": "Allow", "Principal": p, "Action": "kms:RetireGrant", "Resource": "*"}));
    }
    statements.push(json!({"Sid": "KeyAccount", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{key_account}:root")}, "Action": "kms:RetireGrant", "Resource": "*"}));
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    Policy::parse(&doc.to_string(), PolicyType::Key)
        .ok()
        .map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::{Context, PolicySet, Principal, Request};

    fn grant(grantee: &str, ops: &[&str], constraints: Option<GrantConstraints>) -> GrantRecord {
        GrantRecord {
            id: "a".repeat(64),
            name: None,
            grantee: grantee.into(),
            retiring: None,
            operations: ops.iter().map(|s| s.to_string()).collect(),
            constraints,
            created: 0.0,
            issuing_account: "111122223333".into(),
        }
    }

    const ROLE: &str = "arn:aws:iam::111122223333:role/app";

    fn session() -> Principal {
        Principal::assumed_role(
            "arn:aws:sts::111122223333:assumed-role/app/s1",
            ROLE,
            "AROAAPP",
            "s1",
        )
    }

    fn allowed(p: &Policy, action: &str, cx: &Context) -> bool {
        let principal = session();
        let req = Request {
            principal: &principal,
            action,
            resource: "arn:aws:kms:us-east-1:111122223333:key/k",
            resource_account: Some("111122223333"),
            context: cx,
        };
        let set = PolicySet {
            key: Some(p),
            ..Default::default()
        };
        policy::evaluate(&req, &set).is_allowed()
    }

    fn no_one() -> String {
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"}]}"#.into()
    }

    #[test]
    fn default_policy_parses_and_delegates_to_the_account() {
        let p = Policy::parse(&default_policy("111122223333"), PolicyType::Key).expect("parses");
        assert_eq!(p.id(), Some("key-default-1"));
        assert_eq!(p.statement_count(), 1);
    }

    #[test]
    fn aws_managed_policy_parses() {
        let text = aws_managed_policy("111122223333", "us-east-1", "s3", "S3");
        let p = Policy::parse(&text, PolicyType::Key).expect("parses");
        assert_eq!(p.statement_count(), 2);
        assert!(text.contains("s3.us-east-1.amazonaws.com"));
    }

    #[test]
    fn grant_allows_its_operations_only() {
        let g = grant(ROLE, &["Decrypt", "DescribeKey"], None);
        let p = compile_with_grants(&no_one(), [&g]).expect("compiles");
        let cx = Context::new();
        assert!(allowed(&p, "kms:Decrypt", &cx));
        assert!(allowed(&p, "kms:DescribeKey", &cx));
        assert!(!allowed(&p, "kms:Encrypt", &cx));
        assert!(!allowed(&p, "kms:CreateGrant", &cx));
        let base = Policy::parse(&no_one(), PolicyType::Key).expect("parses");
        assert!(!allowed(&base, "kms:Decrypt", &cx));
    }

    #[test]
    fn subset_constraint() {
        let c = GrantConstraints {
            subset: Some([("Dept".to_string(), "IT".to_string())].into()),
            equals: None,
        };
        let g = grant(ROLE, &["Encrypt", "DescribeKey"], Some(c));
        let p = compile_with_grants(&no_one(), [&g]).expect("compiles");
        let ok = Context::new()
            .with("kms:EncryptionContext:Dept", "IT")
            .with("kms:EncryptionContext:Other", "x")
            .with("kms:EncryptionContextKeys", vec!["Dept", "Other"]);
        assert!(allowed(&p, "kms:Encrypt", &ok));
        let wrong = Context::new()
            .with("kms:EncryptionContext:Dept", "it")
            .with("kms:EncryptionContextKeys", vec!["Dept"]);
        assert!(!allowed(&p, "kms:Encrypt", &wrong));
        assert!(!allowed(&p, "kms:Encrypt", &Context::new()));
        // Constraints do not apply to operations without an encryption context.
        assert!(allowed(&p, "kms:DescribeKey", &Context::new()));
    }

    #[test]
    fn equals_constraint_rejects_extra_pairs() {
        let c = GrantConstraints {
            equals: Some([("Dept".to_string(), "IT".to_string())].into()),
            subset: None,
        };
        let g = grant(ROLE, &["Decrypt"], Some(c));
        let p = compile_with_grants(&no_one(), [&g]).expect("compiles");
        let exact = Context::new()
            .with("kms:EncryptionContext:Dept", "IT")
            .with("kms:EncryptionContextKeys", vec!["Dept"]);
        assert!(allowed(&p, "kms:Decrypt", &exact));
        let extra = Context::new()
            .with("kms:EncryptionContext:Dept", "IT")
            .with("kms:EncryptionContext:Other", "x")
            .with("kms:EncryptionContextKeys", vec!["Dept", "Other"]);
        assert!(!allowed(&p, "kms:Decrypt", &extra));
    }

    #[test]
    fn create_grant_cannot_widen_operations() {
        let g = grant(ROLE, &["Decrypt", "CreateGrant"], None);
        let p = compile_with_grants(&no_one(), [&g]).expect("compiles");
        let narrower = Context::new().with("kms:GrantOperations", vec!["Decrypt"]);
        assert!(allowed(&p, "kms:CreateGrant", &narrower));
        let wider = Context::new().with("kms:GrantOperations", vec!["Decrypt", "Encrypt"]);
        assert!(!allowed(&p, "kms:CreateGrant", &wider));
    }

    #[test]
    fn principals() {
        assert!(principal_element(ROLE).is_some());
        assert!(principal_element("111122223333").is_some());
        assert_eq!(
            principal_element("s3.amazonaws.com"),
            Some(json!({"Service": "s3.amazonaws.com"}))
        );
        assert!(principal_element("bob").is_none());
        assert!(check_grant(&grant("bob", &["Decrypt"], None)).is_err());
        assert!(check_grant(&grant(ROLE, &["Decrypt"], None)).is_ok());
    }

    #[test]
    fn retire_policy_names_the_right_principals() {
        let mut g = grant(ROLE, &["Decrypt"], None);
        let p = retire_policy(&g, "111122223333").expect("compiles");
        assert!(!allowed(&p, "kms:RetireGrant", &Context::new()));
        g.operations.push("RetireGrant".into());
        let p = retire_policy(&g, "111122223333").expect("compiles");
        assert!(allowed(&p, "kms:RetireGrant", &Context::new()));
        let mut g = grant("arn:aws:iam::111122223333:role/other", &["Decrypt"], None);
        g.retiring = Some(ROLE.into());
        let p = retire_policy(&g, "111122223333").expect("compiles");
        assert!(allowed(&p, "kms:RetireGrant", &Context::new()));
    }
}
