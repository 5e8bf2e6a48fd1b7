//! CloudTrail-format records of every call, allowed or denied.

use std::time::UNIX_EPOCH;

use serde_json::{Map, Value, json};

use crate::authz::CheckOutcome;
use crate::call::Call;
use crate::error::AwsError;
use crate::identity::IdentityType;
use crate::location::Location;
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

fn user_identity(call: &Call) -> Value {
    let c = &call.caller;
    if c.kind == IdentityType::Anonymous {
        let mut m = Map::new();
        m.insert("type".into(), "AWSAccount".into());
        m.insert("principalId".into(), "".into());
        m.insert("accountId".into(), "ANONYMOUS_PRINCIPAL".into());
        if let Some(ak) = &c.access_key_id {
            m.insert("accessKeyId".into(), ak.clone().into());
        }
        return Value::Object(m);
    }
    let mut m = Map::new();
    m.insert("type".into(), c.kind.cloudtrail_name().into());
    m.insert("principalId".into(), c.principal_id.clone().into());
    m.insert("arn".into(), c.arn.clone().into());
    m.insert("accountId".into(), c.account.clone().into());
    if let Some(ak) = &c.access_key_id {
        m.insert("accessKeyId".into(), ak.clone().into());
    }
    if let Some(name) = &c.user_name {
        m.insert("userName".into(), name.clone().into());
    }
    if let Some(s) = &c.session {
        let created = s
            .issued_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut ctx = Map::new();
        if let Some((arn, name, id)) = &s.role {
            ctx.insert(
                "sessionIssuer".into(),
                json!({"type": "Role", "principalId": id, "arn": arn, "accountId": c.account, "userName": name}),
            );
        }
        ctx.insert(
            "attributes".into(),
            json!({"creationDate": time::iso8601(created as f64, false), "mfaAuthenticated": s.mfa_authenticated.to_string()}),
        );
        if let Some(id) = &s.source_identity {
            ctx.insert("sourceIdentity".into(), id.clone().into());
        }
        m.insert("sessionContext".into(), Value::Object(ctx));
    }
    if let Some(via) = &call.via {
        m.insert("invokedBy".into(), via.service.into());
    }
    Value::Object(m)
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
    let mut params = (*call.input).clone();
    if let Some(svc) = service
        && let Some(shape) = svc
            .model
            .operations
            .get(call.operation)
            .and_then(|o| o.input.as_ref())
    {
        redact(&svc.model, &shape.shape, &mut params);
    }
    let operation = if call.operation.is_empty() {
        "Unknown"
    } else {
        call.operation
    };
    let source = event_source(call.service);
    let ro = read_only(operation);
    let resources: Vec<Value> = decisions
        .iter()
        .filter(|d| d.resource != "*")
        .map(|d| json!({"ARN": d.resource, "accountId": call.account()}))
        .collect();
    let source_ip = match (&call.via, call.source_ip) {
        (Some(via), _) => via.service.to_string(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => String::new(),
    };
    let mut m = Map::new();
    m.insert("eventVersion".into(), "1.09".into());
    m.insert("userIdentity".into(), user_identity(call));
    m.insert("eventTime".into(), event_time.into());
    m.insert("eventSource".into(), source.clone().into());
    m.insert("eventName".into(), operation.into());
    m.insert("awsRegion".into(), call.region().into());
    m.insert("sourceIPAddress".into(), source_ip.into());
    m.insert("userAgent".into(), call.user_agent.as_ref().into());
    if let Some(e) = error {
        m.insert("errorCode".into(), e.code.as_ref().into());
        m.insert("errorMessage".into(), e.message.clone().into());
    }
    m.insert(
        "requestParameters".into(),
        if params.as_object().is_some_and(|o| o.is_empty()) {
            Value::Null
        } else {
            params
        },
    );
    m.insert("responseElements".into(), Value::Null);
    m.insert("requestID".into(), call.request_id.as_ref().into());
    let event_id = crate::gateway::new_request_id();
    m.insert("eventID".into(), event_id.clone().into());
    m.insert("readOnly".into(), ro.into());
    if !resources.is_empty() {
        m.insert("resources".into(), Value::Array(resources));
    }
    m.insert("eventType".into(), "AwsApiCall".into());
    m.insert(
        "managementEvent".into(),
        (call.service != "s3" || !is_s3_data(operation)).into(),
    );
    m.insert("recipientAccountId".into(), call.account().into());
    if let Location::Endpoint(e) = &call.location {
        m.insert("vpcEndpointId".into(), e.id.clone().into());
        m.insert("vpcEndpointAccountId".into(), call.account().into());
    }
    m.insert(
        "decisions".into(),
        Value::Array(
            decisions
                .iter()
                .map(|d| {
                    json!({"action": d.action, "resource": d.resource,
                           "decision": format!("{:?}", d.decision.outcome()),
                           "blockedBy": d.decision.blocked_by().iter().map(|t| format!("{t:?}").to_lowercase()).collect::<Vec<_>>()})
                })
                .collect(),
        ),
    );
    m.insert(
        "eventCategory".into(),
        if call.service == "s3" && is_s3_data(operation) {
            "Data"
        } else {
            "Management"
        }
        .into(),
    );
    let username = match call.caller.kind {
        IdentityType::IamUser => call.caller.user_name.clone(),
        IdentityType::AssumedRole => call.caller.arn.rsplit('/').next().map(str::to_string),
        IdentityType::Root => Some("root".into()),
        _ => None,
    };
    let body = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
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
