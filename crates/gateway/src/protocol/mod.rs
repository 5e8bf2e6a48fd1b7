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
            escape(&err.message, &mut out);
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
