//! The five AWS wire protocols: how a request names its operation and input,
//! and how results and errors go back.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::body::{self, Body};
use crate::codec::xml::{XmlWriter, escape};
use crate::error::AwsError;
use crate::model::Model;

/// A service's wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `awsQuery`: form-encoded `Action=...`, XML responses (IAM, STS, CloudFormation).
    Query,
    /// EC2's query dialect.
    Ec2,
    /// JSON 1.0/1.1 with `X-Amz-Target` (KMS, SSM, SageMaker, CloudTrail, Logs, Organizations).
    Json,
    /// REST with XML payloads (S3, S3 Control).
    RestXml,
    /// REST with JSON payloads.
    RestJson,
}

impl Protocol {
    /// The protocol a model declares.
    pub fn of(model: &Model) -> Protocol {
        match model.metadata.protocol.as_str() {
            "query" => Protocol::Query,
            "ec2" => Protocol::Ec2,
            "rest-xml" => Protocol::RestXml,
            "rest-json" => Protocol::RestJson,
            _ => Protocol::Json,
        }
    }

    /// The code an authorization failure carries in this protocol.
    pub fn access_denied_code(self) -> &'static str {
        match self {
            Protocol::Query | Protocol::RestXml => "AccessDenied",
            Protocol::Ec2 => "UnauthorizedOperation",
            Protocol::Json | Protocol::RestJson => "AccessDeniedException",
        }
    }
}

const XML: &str = "text/xml";

fn response(status: u16, content_type: &str, request_id: &str, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v.clone());
        h.insert("x-amz-request-id", v);
    }
    res
}

/// Renders a successful Query or EC2 response.
pub fn xml_result(
    model: &Model,
    op: &str,
    output: &Value,
    protocol: Protocol,
    request_id: &str,
) -> Response<Body> {
    let def = model.operations.get(op);
    let ns = model.metadata.xml_namespace.as_deref();
    let mut w = XmlWriter::new(model);
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let root = format!("{op}Response");
    w.open(&root, ns);
    let out_ref = def.and_then(|d| d.output.as_ref());
    if protocol == Protocol::Ec2 {
        w.text_element("requestId", request_id);
        if let Some(r) = out_ref {
            w.members(&r.shape, output);
        }
    } else {
        if let Some(r) = out_ref {
            let wrapper = r
                .result_wrapper
                .clone()
                .unwrap_or_else(|| format!("{op}Result"));
            w.open(&wrapper, None);
            w.members(&r.shape, output);
            w.close(&wrapper);
        }
        w.open("ResponseMetadata", None);
        w.text_element("RequestId", request_id);
        w.close("ResponseMetadata");
    }
    w.close(&root);
    response(200, XML, request_id, body::full(w.out))
}

/// Renders a successful JSON 1.x response.
pub fn json_result(model: &Model, output: &Value, request_id: &str) -> Response<Body> {
    let version = model.metadata.json_version.as_deref().unwrap_or("1.1");
    let text = if output.is_null() {
        "{}".to_string()
    } else {
        output.to_string()
    };
    response(
        200,
        &format!("application/x-amz-json-{version}"),
        request_id,
        body::full(text),
    )
}

/// EC2's wording of a denial: `You are not authorized to perform this operation. User: ...
/// because .... Encoded authorization failure message: ...`. The encoded part is the
/// base64url of the decision as `sts:DecodeAuthorizationMessage` returns it (`allowed`,
/// `explicitDeny`, `context` with principal, action and resource), not encrypted: it says
/// nothing the message does not already say.
pub fn ec2_denial(message: &str) -> String {
    use base64::Engine;
    let after = |key: &str| message.split_once(key).map(|(_, rest)| rest);
    let principal = after("User: ")
        .and_then(|r| r.split_once(" is not authorized to perform: "))
        .map(|(p, _)| p);
    let action = after(" is not authorized to perform: ")
        .and_then(|r| r.split_once(" on resource: "))
        .map(|(a, _)| a);
    let resource = after(" on resource: ").map(|r| {
        let r = r.split_once(" because ").map_or(r, |(res, _)| res);
        r.split_once(" with an explicit deny")
            .map_or(r, |(res, _)| res)
    });
    let decoded = serde_json::json!({
        "allowed": false,
        "explicitDeny": message.contains("with an explicit deny"),
        "matchedStatements": {"items": []},
        "failures": {"items": []},
        "context": {
            "principal": {"arn": principal},
            "action": action,
            "resource": resource,
            "conditions": {"items": []},
        },
        "message": message,
    });
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(decoded.to_string());
    let sentence = message.trim_end_matches('.');
    format!(
        "You are not authorized to perform this operation. {sentence}. Encoded authorization failure message: {encoded}"
    )
}

/// Renders an error in the protocol's shape.
pub fn error(
    protocol: Protocol,
    model: Option<&Model>,
    err: &AwsError,
    request_id: &str,
    head_only: bool,
) -> Response<Body> {
    let mut out = String::with_capacity(256);
    let content_type = match protocol {
        Protocol::Query => {
            let ns = model.and_then(|m| m.metadata.xml_namespace.as_deref());
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse");
            if let Some(ns) = ns {
                out.push_str(" xmlns=\"");
                escape(ns, &mut out);
                out.push('"');
            }
            out.push_str("><Error><Type>");
            out.push_str(if err.sender_fault {
                "Sender"
            } else {
                "Receiver"
            });
            out.push_str("</Type><Code>");
            escape(&err.code, &mut out);
            out.push_str("</Code><Message>");
            escape(&err.message, &mut out);
            out.push_str("</Message></Error><RequestId>");
            escape(request_id, &mut out);
            out.push_str("</RequestId></ErrorResponse>");
            XML
        }
        Protocol::Ec2 => {
            out.push_str(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>",
            );
            escape(&err.code, &mut out);
            out.push_str("</Code><Message>");
            if err.code == Protocol::Ec2.access_denied_code() {
                escape(&ec2_denial(&err.message), &mut out);
            } else {
                escape(&err.message, &mut out);
            }
            out.push_str("</Message></Error></Errors><RequestID>");
            escape(request_id, &mut out);
            out.push_str("</RequestID></Response>");
            XML
        }
        Protocol::RestXml => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
            escape(&err.code, &mut out);
            out.push_str("</Code><Message>");
            escape(&err.message, &mut out);
            out.push_str("</Message>");
            for (name, value) in &err.extra {
                out.push('<');
                out.push_str(name);
                out.push('>');
                escape(value, &mut out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            out.push_str("<RequestId>");
            escape(request_id, &mut out);
            out.push_str("</RequestId><HostId>");
            escape(request_id, &mut out);
            out.push_str("</HostId></Error>");
            "application/xml"
        }
        Protocol::Json | Protocol::RestJson => {
            let body = serde_json::json!({ "__type": err.code, "message": err.message });
            out = body.to_string();
            "application/x-amz-json-1.1"
        }
    };
    let payload = if head_only {
        Bytes::new()
    } else {
        Bytes::from(out)
    };
    let mut res = response(err.status, content_type, request_id, body::full(payload));
    if matches!(protocol, Protocol::Json | Protocol::RestJson)
        && let Ok(v) = HeaderValue::from_str(&err.code)
    {
        res.headers_mut().insert("x-amzn-errortype", v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_denials_use_aws_wording_with_an_encoded_message() {
        let m = "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: ec2:CreateVpc on resource: arn:aws:ec2:us-east-1:111122223333:vpc/* because no identity-based policy allows the ec2:CreateVpc action";
        let text = ec2_denial(m);
        let prefix = "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/bob";
        assert!(text.starts_with(prefix), "{text}");
        let (_, encoded) = text
            .split_once("action. Encoded authorization failure message: ")
            .unwrap_or_default();
        use base64::Engine;
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&decoded).unwrap_or_default();
        assert_eq!(v["allowed"], false);
        assert_eq!(v["explicitDeny"], false);
        assert_eq!(v["context"]["action"], "ec2:CreateVpc");
        assert_eq!(
            v["context"]["resource"],
            "arn:aws:ec2:us-east-1:111122223333:vpc/*"
        );
        assert_eq!(
            v["context"]["principal"]["arn"],
            "arn:aws:iam::111122223333:user/bob"
        );
    }

    #[test]
    fn ec2_errors_render_in_the_ec2_shape() {
        let e = AwsError::new(
            "UnauthorizedOperation",
            403,
            "User: u is not authorized to perform: ec2:X on resource: * with an explicit deny in an identity-based policy",
        );
        let res = error(Protocol::Ec2, None, &e, "req-1", false);
        assert_eq!(res.status(), 403);
        let text = ec2_denial(&e.message);
        assert!(
            text.contains("on resource: * with an explicit deny"),
            "{text}"
        );
        let e = AwsError::bad_request("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist");
        let res = error(Protocol::Ec2, None, &e, "req-2", false);
        assert_eq!(res.status(), 400);
    }
}
