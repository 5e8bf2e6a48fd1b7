//! CloudTrail-format records of every call, allowed or denied.

use std::time::UNIX_EPOCH;

use serde::Serialize;
use serde_json::Value;

use crate::authz::CheckOutcome;
use crate::call::Call;
use crate::error::AwsError;
use crate::identity::IdentityType;
use crate::model::Model;
use crate::time;

const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Operations whose names do not say whether they only read.
fn read_only(operation: &str) -> bool {
    [
        "Get", "List", "Describe", "Head", "Lookup", "Search", "Simulate", "Generate", "Decrypt",
        "Encrypt", "Select",
    ]
    .iter()
    .any(|p| operation.starts_with(p))
        && !operation.starts_with("GenerateDataKeyPair")
}

/// The event source of a service, e.g. `iam.amazonaws.com`.
pub fn event_source(service: &str) -> String {
    match service {
        "s3control" => "s3.amazonaws.com".into(),
        "studio" => "sagemaker.amazonaws.com".into(),
        s => format!("{s}.amazonaws.com"),
    }
}

/// Replaces members the model marks sensitive (secrets, plaintexts) with CloudTrail's placeholder.
pub fn redact(model: &Model, shape_name: &str, value: &mut Value) {
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    if shape.sensitive {
        *value = Value::String(HIDDEN.into());
        return;
    }
    match (shape.kind.as_str(), value) {
        ("structure", Value::Object(obj)) => {
            for (name, r) in &shape.members {
                if let Some(child) = obj.get_mut(name) {
                    redact(model, &r.shape, child);
                }
            }
        }
        ("list", Value::Array(items)) => {
            if let Some(m) = &shape.member {
                for item in items {
                    redact(model, &m.shape, item);
                }
            }
        }
        ("map", Value::Object(entries)) => {
            if let Some(v) = &shape.value {
                for (_, item) in entries.iter_mut() {
                    redact(model, &v.shape, item);
                }
            }
        }
        _ => {}
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    principal_id: &'a str,
    arn: &'a str,
    account_id: &'a str,
    user_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    creation_date: String,
    mfa_authenticated: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_issuer: Option<SessionIssuer<'a>>,
    attributes: SessionAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_identity: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    principal_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_by: Option<&'a str>,
}

fn user_identity(call: &Call) -> UserIdentity<'_> {
    let c = &call.caller;
    if c.kind == IdentityType::Anonymous {
        return UserIdentity {
            kind: "AWSAccount",
            principal_id: "",
            arn: None,
            account_id: "ANONYMOUS_PRINCIPAL",
            access_key_id: c.access_key_id.as_deref(),
            user_name: None,
            session_context: None,
            invoked_by: None,
        };
    }
    let session_context = c.session.as_ref().map(|s| {
        let created = s
            .issued_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        SessionContext {
            session_issuer: s.role.as_ref().map(|(arn, name, id)| SessionIssuer {
                kind: "Role",
                principal_id: id,
                arn,
                account_id: &c.account,
                user_name: name,
            }),
            attributes: SessionAttributes {
                creation_date: time::iso8601(created as f64, false),
                mfa_authenticated: if s.mfa_authenticated { "true" } else { "false" },
            },
            source_identity: s.source_identity.as_deref(),
        }
    });
    UserIdentity {
        kind: c.kind.cloudtrail_name(),
        principal_id: &c.principal_id,
        arn: Some(&c.arn),
        account_id: &c.account,
        access_key_id: c.access_key_id.as_deref(),
        user_name: c.user_name.as_deref(),
        session_context,
        invoked_by: call.via.as_ref().map(|v| v.service),
    }
}

#[derive(Serialize)]
struct ResourceRef<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    #[serde(rename = "accountId")]
    account_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DecisionRecord<'a> {
    action: &'a str,
    resource: &'a str,
    decision: &'static str,
    blocked_by: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'static str,
    user_identity: UserIdentity<'a>,
    event_time: &'a str,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: &'a Value,
    response_elements: Option<()>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<ResourceRef<'a>>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_endpoint_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_endpoint_account_id: Option<&'a str>,
    decisions: Vec<DecisionRecord<'a>>,
    event_category: &'static str,
}

/// Builds the record of `call`, with its decisions and outcome.
pub(crate) fn event(
    call: &Call,
    decisions: &[CheckOutcome],
    error: Option<&AwsError>,
) -> storage::AuditEvent {
    let now = call.now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let event_time = time::iso8601(now.as_secs() as f64, false);
    let service = call.gw.services.get(call.service);
    let redacted;
    let mut params: &Value = &call.input;
    if let Some(svc) = service
        && let Some(members) = svc.sensitive_inputs.get(call.operation)
        && let Some(input) = call.input.as_object()
        && members.iter().any(|m| input.contains_key(m))
        && let Some(shape) = svc
            .model
            .operations
            .get(call.operation)
            .and_then(|o| o.input.as_ref())
    {
        let mut copy = (*call.input).clone();
        redact(&svc.model, &shape.shape, &mut copy);
        redacted = copy;
        params = &redacted;
    }
    let empty = params.as_object().is_some_and(|o| o.is_empty());
    let operation = if call.operation.is_empty() {
        "Unknown"
    } else {
        call.operation
    };
    let source = event_source(call.service);
    let ro = read_only(operation);
    let account = call.account();
    let source_ip = match (&call.via, call.source_ip) {
        (Some(via), _) => via.service.to_string(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => String::new(),
    };
    let event_id = crate::gateway::new_request_id();
    let data_event = call.service == "s3" && is_s3_data(operation);
    let endpoint = call.location.endpoint();
    let blocked: Vec<Vec<String>> = decisions
        .iter()
        .map(|d| {
            d.decision
                .blocked_by()
                .iter()
                .map(|t| format!("{t:?}").to_lowercase())
                .collect()
        })
        .collect();
    let record = Record {
        event_version: "1.09",
        user_identity: user_identity(call),
        event_time: &event_time,
        event_source: &source,
        event_name: operation,
        aws_region: call.region(),
        source_ip_address: &source_ip,
        user_agent: &call.user_agent,
        error_code: error.map(|e| e.code.as_ref()),
        error_message: error.map(|e| e.message.as_str()),
        request_parameters: if empty { &Value::Null } else { params },
        response_elements: None,
        request_id: &call.request_id,
        event_id: &event_id,
        read_only: ro,
        resources: decisions
            .iter()
            .filter(|d| d.resource != "*")
            .map(|d| ResourceRef {
                arn: &d.resource,
                account_id: account,
            })
            .collect(),
        event_type: "AwsApiCall",
        management_event: !data_event,
        recipient_account_id: account,
        vpc_endpoint_id: endpoint.map(|e| e.id.as_str()),
        vpc_endpoint_account_id: endpoint.map(|_| account),
        decisions: decisions
            .iter()
            .zip(blocked)
            .map(|(d, blocked_by)| DecisionRecord {
                action: &d.action,
                resource: &d.resource,
                decision: d.decision.outcome().as_str(),
                blocked_by,
            })
            .collect(),
        event_category: if data_event { "Data" } else { "Management" },
    };
    let body = serde_json::to_vec(&record).unwrap_or_default();
    let username = match call.caller.kind {
        IdentityType::IamUser => call.caller.user_name.clone(),
        IdentityType::AssumedRole => call.caller.arn.rsplit('/').next().map(str::to_string),
        IdentityType::Root => Some("root".into()),
        _ => None,
    };
    storage::AuditEvent {
        event_time: now.as_millis() as i64,
        event_id,
        event_name: operation.to_string(),
        event_source: source,
        username,
        access_key_id: call.caller.access_key_id.clone(),
        read_only: ro,
        resources: decisions
            .iter()
            .filter(|d| d.resource != "*")
            .map(|d| storage::AuditResource {
                resource_type: None,
                resource_name: d.resource.clone(),
            })
            .collect(),
        body,
    }
}

/// Whether any shape reachable from `shape_name` is sensitive.
pub(crate) fn has_sensitive(model: &Model, shape_name: &str) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![shape_name];
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        let Some(shape) = model.shape(name) else {
            continue;
        };
        if shape.sensitive {
            return true;
        }
        stack.extend(shape.members.iter().map(|(_, r)| r.shape.as_str()));
        stack.extend(shape.member.iter().map(|r| r.shape.as_str()));
        stack.extend(shape.value.iter().map(|r| r.shape.as_str()));
    }
    false
}

fn is_s3_data(operation: &str) -> bool {
    matches!(
        operation,
        "GetObject"
            | "PutObject"
            | "HeadObject"
            | "DeleteObject"
            | "DeleteObjects"
            | "CopyObject"
            | "ListObjects"
            | "ListObjectsV2"
            | "ListObjectVersions"
            | "CreateMultipartUpload"
            | "UploadPart"
            | "CompleteMultipartUpload"
            | "AbortMultipartUpload"
            | "ListParts"
            | "GetObjectTagging"
            | "PutObjectTagging"
            | "DeleteObjectTagging"
    )
}
