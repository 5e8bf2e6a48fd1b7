//! CloudTrail-format records of every call, allowed or denied.

use std::time::UNIX_EPOCH;

use serde_json::Value;

use crate::authz::CheckOutcome;
use crate::call::Call;
use crate::codec::json_out::{self, Object};
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
        s => [s, ".amazonaws.com"].concat(),
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

/// Writes `userIdentity`.
fn user_identity(call: &Call, out: &mut Vec<u8>) {
    let c = &call.caller;
    let mut o = Object::open(out);
    if c.kind == IdentityType::Anonymous {
        o.str("type", "AWSAccount");
        o.str("principalId", "");
        o.str("accountId", "ANONYMOUS_PRINCIPAL");
        o.opt_str("accessKeyId", c.access_key_id.as_deref());
        o.close();
        return;
    }
    o.str("type", c.kind.cloudtrail_name());
    o.str("principalId", &c.principal_id);
    o.str("arn", &c.arn);
    o.str("accountId", &c.account);
    o.opt_str("accessKeyId", c.access_key_id.as_deref());
    o.opt_str("userName", c.user_name.as_deref());
    if let Some(s) = &c.session {
        let created = s
            .issued_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut session = Object::open(o.member("sessionContext"));
        if let Some((arn, name, id)) = &s.role {
            let mut issuer = Object::open(session.member("sessionIssuer"));
            issuer.str("type", "Role");
            issuer.str("principalId", id);
            issuer.str("arn", arn);
            issuer.str("accountId", &c.account);
            issuer.str("userName", name);
            issuer.close();
        }
        let mut attributes = Object::open(session.member("attributes"));
        attributes.str("creationDate", &time::iso8601(created as f64, false));
        attributes.str(
            "mfaAuthenticated",
            if s.mfa_authenticated { "true" } else { "false" },
        );
        attributes.close();
        session.opt_str("sourceIdentity", s.source_identity.as_deref());
        session.close();
    }
    o.opt_str("invokedBy", call.via.as_ref().map(|v| v.service));
    o.close();
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
    let binary = service
        .and_then(|svc| svc.binary_inputs.get(call.operation))
        .map_or(&[][..], Vec::as_slice);
    let kept = |k: &String| !binary.contains(k);
    let empty = params.as_object().is_some_and(|o| !o.keys().any(kept));
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
        (None, Some(ip)) => crate::authz::ip_text(ip),
        (None, None) => String::new(),
    };
    let event_id = crate::gateway::new_request_id();
    let data_event = call.service == "s3" && is_s3_data(operation);
    let endpoint = call.location.endpoint();
    // The record, in CloudTrail's member order.
    // A record is 1-1.5 KB: room for it at once rather than a copy when it outgrows 1 KB.
    let mut body = Vec::with_capacity(2048);
    let mut o = Object::open(&mut body);
    o.str("eventVersion", "1.09");
    user_identity(call, o.member("userIdentity"));
    o.str("eventTime", &event_time);
    o.str("eventSource", &source);
    o.str("eventName", operation);
    o.str("awsRegion", call.region());
    o.str("sourceIPAddress", &source_ip);
    o.str("userAgent", &call.user_agent);
    o.opt_str("errorCode", error.map(|e| e.code.as_ref()));
    o.opt_str("errorMessage", error.map(|e| e.message.as_str()));
    match params.as_object() {
        _ if empty => o.null("requestParameters"),
        Some(members) if !binary.is_empty() => {
            let mut p = Object::open(o.member("requestParameters"));
            for (k, v) in members.iter().filter(|(k, _)| kept(k)) {
                json_out::value(p.member_escaped(k), v);
            }
            p.close();
        }
        _ => json_out::value(o.member("requestParameters"), params),
    }
    o.null("responseElements");
    o.str("requestID", &call.request_id);
    o.str("eventID", &event_id);
    o.bool("readOnly", ro);
    let mut resources = decisions.iter().filter(|d| d.resource != "*").peekable();
    if resources.peek().is_some() {
        let out = o.member("resources");
        out.push(b'[');
        for (i, d) in resources.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut r = Object::open(out);
            r.str("ARN", &d.resource);
            r.str("accountId", account);
            r.close();
        }
        out.push(b']');
    }
    o.str("eventType", "AwsApiCall");
    o.bool("managementEvent", !data_event);
    o.str("recipientAccountId", account);
    o.opt_str("vpcEndpointId", endpoint.map(|e| e.id.as_str()));
    o.opt_str("vpcEndpointAccountId", endpoint.map(|_| account));
    let out = o.member("decisions");
    out.push(b'[');
    for (i, d) in decisions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut r = Object::open(out);
        r.str("action", &d.action);
        r.str("resource", &d.resource);
        r.str("decision", d.decision.outcome().as_str());
        let blocked = r.member("blockedBy");
        blocked.push(b'[');
        for (j, t) in d.decision.blocked_by().iter().enumerate() {
            if j > 0 {
                blocked.push(b',');
            }
            json_out::string(blocked, &format!("{t:?}").to_lowercase());
        }
        blocked.push(b']');
        r.close();
    }
    out.push(b']');
    o.str(
        "eventCategory",
        if data_event { "Data" } else { "Management" },
    );
    o.close();
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
