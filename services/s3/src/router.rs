//! How an S3 request names its operation (method, path or `Host`, query subresource,
//! headers) and how the input and output travel, driven by the botocore model: each
//! member's `location` (`uri`, `querystring`, `header`, `headers`, payload) and
//! `locationName`.
//!
//! Addressing: path-style (`/bucket/key`) and virtual-hosted-style (`bucket.localhost`,
//! `bucket.s3.amazonaws.com`, `bucket.s3.<region>.amazonaws.com`, `bucket.s3.localhost`);
//! access points by ARN host (`NAME-ACCOUNT.HOST`) or alias ([`crate::access_point::address`]).

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use gateway::codec::{xml::XmlWriter, xml_in};
use gateway::model::{Model, Shape};
use gateway::{AwsError, BodyMode, RequestHead, RestRouter, Routed};
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error;
use crate::plan::{Plans, Source, Target as To};

/// The XML namespace of S3 documents.
pub const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The input member that carries facts about how the request was made (authentication
/// method, signature version and age, payload hash): CloudTrail's `additionalEventData`.
pub const FACTS: &str = "additionalEventData";

/// S3's router over its embedded model.
pub struct S3Router {
    model: Arc<Model>,
    plans: Arc<Plans>,
    /// The access points requests may address; none without them.
    access_points: Option<Arc<RwLock<crate::access_point::Directory>>>,
}

/// Where a request addresses: the bucket and key, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// The bucket, from the `Host` or the first path segment.
    pub bucket: Option<String>,
    /// The object key, percent-decoded.
    pub key: Option<String>,
}

/// Splits a request's address into bucket and key.
pub fn target(host: &str, path: &str) -> Result<Target, AwsError> {
    let decode = |s: &str| -> Result<String, AwsError> {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| error::invalid_request("the request path is not valid UTF-8"))
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    if let Some(bucket) = virtual_host_bucket(host) {
        let key = if path.is_empty() {
            None
        } else {
            Some(decode(path)?)
        };
        return Ok(Target {
            bucket: Some(bucket),
            key,
        });
    }
    if path.is_empty() {
        return Ok(Target::default());
    }
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (b, (!k.is_empty()).then_some(k)),
        None => (path, None),
    };
    Ok(Target {
        bucket: Some(decode(bucket)?),
        key: key.map(decode).transpose()?,
    })
}

/// The bucket named by a virtual-hosted-style `Host`, if it is one.
pub fn virtual_host_bucket(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    for suffix in [".s3.amazonaws.com", ".s3.localhost", ".localhost"] {
        if let Some(b) = host.strip_suffix(suffix)
            && !b.is_empty()
        {
            return Some(b.to_string());
        }
    }
    // bucket.s3.<region>.amazonaws.com and bucket.s3-<region>.amazonaws.com
    if let Some(rest) = host.strip_suffix(".amazonaws.com") {
        for marker in [".s3.", ".s3-"] {
            if let Some(i) = rest.rfind(marker) {
                let b = &rest[..i];
                if !b.is_empty() {
                    return Some(b.to_string());
                }
            }
        }
    }
    None
}

/// Names the operation of a request.
pub fn operation(
    method: &Method,
    target: &Target,
    has: &dyn Fn(&str) -> bool,
    header: &dyn Fn(&str) -> bool,
) -> Result<&'static str, AwsError> {
    let Some(_) = &target.bucket else {
        return match *method {
            Method::GET => Ok("ListBuckets"),
            _ => Err(error::method_not_allowed(method.as_str(), "SERVICE")),
        };
    };
    // Subresources S3 has that Perimeter does not serve.
    const UNSUPPORTED: &[&str] = &[
        "accelerate",
        "analytics",
        "cors",
        "intelligent-tiering",
        "inventory",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "replication",
        "requestPayment",
        "website",
        "legal-hold",
        "retention",
        "restore",
        "select",
        "torrent",
        "attributes",
        "renameObject",
    ];
    if UNSUPPORTED.iter().any(|s| has(s)) {
        return Err(error::not_implemented());
    }
    let op = if target.key.is_none() {
        match *method {
            Method::GET => {
                if has("policy") {
                    "GetBucketPolicy"
                } else if has("policyStatus") {
                    "GetBucketPolicyStatus"
                } else if has("tagging") {
                    "GetBucketTagging"
                } else if has("versioning") {
                    "GetBucketVersioning"
                } else if has("encryption") {
                    "GetBucketEncryption"
                } else if has("publicAccessBlock") {
                    "GetPublicAccessBlock"
                } else if has("ownershipControls") {
                    "GetBucketOwnershipControls"
                } else if has("location") {
                    "GetBucketLocation"
                } else if has("acl") {
                    "GetBucketAcl"
                } else if has("uploads") {
                    "ListMultipartUploads"
                } else if has("versions") {
                    "ListObjectVersions"
                } else if has("list-type") {
                    "ListObjectsV2"
                } else {
                    "ListObjects"
                }
            }
            Method::PUT => {
                if has("policy") {
                    "PutBucketPolicy"
                } else if has("tagging") {
                    "PutBucketTagging"
                } else if has("versioning") {
                    "PutBucketVersioning"
                } else if has("encryption") {
                    "PutBucketEncryption"
                } else if has("publicAccessBlock") {
                    "PutPublicAccessBlock"
                } else if has("ownershipControls") {
                    "PutBucketOwnershipControls"
                } else if has("acl") {
                    return Err(error::not_implemented());
                } else {
                    "CreateBucket"
                }
            }
            Method::DELETE => {
                if has("policy") {
                    "DeleteBucketPolicy"
                } else if has("tagging") {
                    "DeleteBucketTagging"
                } else if has("encryption") {
                    "DeleteBucketEncryption"
                } else if has("publicAccessBlock") {
                    "DeletePublicAccessBlock"
                } else if has("ownershipControls") {
                    "DeleteBucketOwnershipControls"
                } else {
                    "DeleteBucket"
                }
            }
            Method::HEAD => "HeadBucket",
            Method::POST if has("delete") => "DeleteObjects",
            _ => return Err(error::method_not_allowed(method.as_str(), "BUCKET")),
        }
    } else {
        match *method {
            Method::GET => {
                if has("tagging") {
                    "GetObjectTagging"
                } else if has("uploadId") {
                    "ListParts"
                } else if has("acl") {
                    return Err(error::not_implemented());
                } else {
                    "GetObject"
                }
            }
            Method::HEAD => "HeadObject",
            Method::PUT => {
                if has("tagging") {
                    "PutObjectTagging"
                } else if has("acl") {
                    return Err(error::not_implemented());
                } else if has("partNumber") || has("uploadId") {
                    if header("x-amz-copy-source") {
                        "UploadPartCopy"
                    } else {
                        "UploadPart"
                    }
                } else if header("x-amz-copy-source") {
                    "CopyObject"
                } else {
                    "PutObject"
                }
            }
            Method::DELETE => {
                if has("tagging") {
                    "DeleteObjectTagging"
                } else if has("uploadId") {
                    "AbortMultipartUpload"
                } else {
                    "DeleteObject"
                }
            }
            Method::POST => {
                if has("uploads") {
                    "CreateMultipartUpload"
                } else if has("uploadId") {
                    "CompleteMultipartUpload"
                } else {
                    return Err(error::not_implemented());
                }
            }
            _ => return Err(error::method_not_allowed(method.as_str(), "OBJECT")),
        }
    };
    Ok(op)
}

fn body_mode(op: &str) -> BodyMode {
    match op {
        "PutObject" | "UploadPart" => BodyMode::Stream,
        "CreateBucket"
        | "PutBucketPolicy"
        | "PutBucketTagging"
        | "PutBucketVersioning"
        | "PutBucketEncryption"
        | "PutPublicAccessBlock"
        | "PutBucketOwnershipControls"
        | "DeleteObjects"
        | "CompleteMultipartUpload"
        | "PutObjectTagging" => BodyMode::Buffered,
        _ => BodyMode::None,
    }
}

const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");
const CHECKSUM_CRC32: HeaderName = HeaderName::from_static("x-amz-checksum-crc32");
const CHECKSUM_CRC32C: HeaderName = HeaderName::from_static("x-amz-checksum-crc32c");
const CHECKSUM_CRC64NVME: HeaderName = HeaderName::from_static("x-amz-checksum-crc64nvme");
const CHECKSUM_SHA1: HeaderName = HeaderName::from_static("x-amz-checksum-sha1");
const CHECKSUM_SHA256: HeaderName = HeaderName::from_static("x-amz-checksum-sha256");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
const ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");
const AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

/// How the request authenticated, for `s3:authType`, `s3:signatureversion`, `s3:signatureAge`
/// and `s3:x-amz-content-sha256`.
fn facts(head: &RequestHead<'_>) -> Value {
    let mut m = Map::new();
    let presigned = head.query("X-Amz-Signature").is_some();
    let header_auth = head
        .headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.to_str().is_ok());
    let (method, auth_type) = if header_auth {
        ("AuthHeader", "REST-HEADER")
    } else if presigned {
        ("QueryString", "REST-QUERY-STRING")
    } else {
        ("", "")
    };
    if !auth_type.is_empty() {
        m.insert("AuthenticationMethod".into(), method.into());
        m.insert("authType".into(), auth_type.into());
        m.insert("SignatureVersion".into(), "SigV4".into());
        let date = head
            .headers
            .get(AMZ_DATE)
            .and_then(|v| v.to_str().ok())
            .or_else(|| head.query("X-Amz-Date"))
            .and_then(sigv4::Timestamp::parse_basic)
            .and_then(|t| t.to_system_time());
        if let Some(at) = date {
            let age = SystemTime::now()
                .duration_since(at)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            m.insert("signatureAge".into(), age.into());
        }
    }
    if let Some(v) = head
        .headers
        .get(CONTENT_SHA256)
        .and_then(|v| v.to_str().ok())
    {
        m.insert("x-amz-content-sha256".into(), v.into());
    }
    m.insert("Host".into(), head.host.into());
    Value::Object(m)
}

impl S3Router {
    /// A router over `model`.
    pub fn new(model: Arc<Model>) -> S3Router {
        S3Router {
            plans: Arc::new(Plans::new(&model)),
            model,
            access_points: None,
        }
    }

    /// Routes requests addressed to the access points of `dir` too.
    pub fn with_access_points(
        mut self,
        dir: Arc<RwLock<crate::access_point::Directory>>,
    ) -> S3Router {
        self.access_points = Some(dir);
        self
    }

    /// The bucket and key a request addresses, and the access point it came through.
    fn address(&self, head: &RequestHead<'_>) -> Result<(Target, Option<String>), AwsError> {
        let plain = target(head.host, head.path);
        let Some(dir) = &self.access_points else {
            return plain.map(|t| (t, None));
        };
        let dir = dir.read().unwrap_or_else(|p| p.into_inner());
        match crate::access_point::address(&dir, head.host, head.path, &plain)? {
            Some((t, arn)) => Ok((t, Some(arn))),
            None => plain.map(|t| (t, None)),
        }
    }

    fn input_shape(&self, op: &str) -> Option<&Shape> {
        let r = self.model.operations.get(op)?.input.as_ref()?;
        self.model.shape(&r.shape)
    }

    fn output_shape(&self, op: &str) -> Option<&Shape> {
        let r = self.model.operations.get(op)?.output.as_ref()?;
        self.model.shape(&r.shape)
    }

    /// Decodes the located members of `op`'s input from the request head.
    fn decode_head(
        &self,
        op: &str,
        head: &RequestHead<'_>,
        target: &Target,
    ) -> Result<Value, AwsError> {
        let mut input = Map::new();
        let plan = self.plans.get(op);
        if !plan.has_input {
            return Ok(Value::Object(input));
        }
        // The members found, by binding: the request's few parameters and headers are looked up
        // in the plan, and the members go in in the shape's order.
        let mut found: Vec<(usize, Value)> = Vec::new();
        for (k, v) in head.query {
            // The first occurrence of a parameter counts.
            if let Some(&i) = plan.query_index.get(k.as_ref())
                && found.iter().all(|(j, _)| *j != i)
            {
                found.push((i, typed(&plan.input[i].kind, v, &plan.input[i].wire)?));
            }
        }
        for name in head.headers.keys() {
            let Some(&i) = plan.header_index.get(name) else {
                continue;
            };
            let binding = &plan.input[i];
            let values: Vec<&str> = head
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                continue;
            }
            let value = if binding.kind == "list" {
                Value::Array(
                    values
                        .iter()
                        .flat_map(|v| v.split(','))
                        .map(|s| Value::String(s.trim().to_string()))
                        .collect(),
                )
            } else if let [one] = values.as_slice() {
                typed(&binding.kind, one, &binding.wire)?
            } else {
                typed(&binding.kind, &values.join(","), &binding.wire)?
            };
            found.push((i, value));
        }
        for (i, binding) in plan.input.iter().enumerate() {
            match &binding.source {
                Source::Uri => {
                    let v = match binding.wire.as_str() {
                        "Bucket" => target.bucket.clone(),
                        "Key" => target.key.clone(),
                        _ => None,
                    };
                    if let Some(v) = v {
                        found.push((i, Value::String(v)));
                    }
                }
                Source::Prefixed(prefix) => {
                    let mut map = Map::new();
                    for (k, v) in head.headers {
                        if let Some(suffix) = k.as_str().strip_prefix(prefix.as_str()) {
                            let text = String::from_utf8_lossy(v.as_bytes()).into_owned();
                            map.insert(suffix.to_string(), Value::String(text));
                        }
                    }
                    if !map.is_empty() {
                        found.push((i, Value::Object(map)));
                    }
                }
                Source::Query | Source::Header(_) => {}
            }
        }
        found.sort_unstable_by_key(|(i, _)| *i);
        for (i, value) in found {
            input.insert(plan.input[i].member.clone(), value);
        }
        // Digests of the payload are checked whatever the operation's shape declares.
        for (header, member) in [
            (&CONTENT_MD5, "ContentMD5"),
            (&CHECKSUM_CRC32, "ChecksumCRC32"),
            (&CHECKSUM_CRC32C, "ChecksumCRC32C"),
            (&CHECKSUM_CRC64NVME, "ChecksumCRC64NVME"),
            (&CHECKSUM_SHA1, "ChecksumSHA1"),
            (&CHECKSUM_SHA256, "ChecksumSHA256"),
        ] {
            if !input.contains_key(member)
                && let Some(v) = head.headers.get(header).and_then(|v| v.to_str().ok())
            {
                input.insert(member.into(), Value::String(v.to_string()));
            }
        }
        input.insert(FACTS.into(), facts(head));
        Ok(Value::Object(input))
    }
}

fn typed(kind: &str, text: &str, wire: &str) -> Result<Value, AwsError> {
    xml_in::scalar(kind, text, wire).map_err(|e| error::invalid_argument(e.message, wire, text))
}

impl RestRouter for S3Router {
    fn route(&self, head: &RequestHead<'_>) -> Result<Routed, AwsError> {
        let (target, access_point) = self.address(head)?;
        // Subresources are looked for by name many times: a presigned URL's own parameters are
        // none of them, so they are set aside once.
        let names: Vec<&str> = head
            .query
            .iter()
            .map(|(k, _)| k.as_ref())
            .filter(|k: &&str| !k.starts_with("X-Amz-"))
            .collect();
        let has = |name: &str| names.contains(&name);
        let header = |name: &str| head.headers.contains_key(name);
        let op = operation(head.method, &target, &has, &header)?;
        if let Some(b) = &target.bucket
            && op != "CreateBucket"
            && b.len() > 255
        {
            return Err(error::no_such_bucket(b));
        }
        let mut input = self.decode_head(op, head, &target)?;
        if let (Some(arn), Value::Object(m)) = (access_point, &mut input) {
            m.insert(crate::access_point::ACCESS_POINT.into(), Value::String(arn));
        }
        if let (Some(dir), Value::Object(m)) = (&self.access_points, &mut input)
            && matches!(op, "CopyObject" | "UploadPartCopy")
            && let Some(Value::String(raw)) = m.get("CopySource")
        {
            let dir = dir.read().unwrap_or_else(|p| p.into_inner());
            if let Some((source, arn)) = crate::access_point::copy_source(&dir, raw)? {
                m.insert("CopySource".into(), Value::String(source));
                m.insert(
                    crate::access_point::COPY_SOURCE_ACCESS_POINT.into(),
                    Value::String(arn),
                );
            }
        }
        Ok(Routed {
            operation: op,
            input,
            body: body_mode(op),
        })
    }

    fn payload(&self, operation: &str, input: &mut Value, body: Bytes) -> Result<(), AwsError> {
        let Some(shape) = self.input_shape(operation) else {
            return Ok(());
        };
        let Some(payload) = shape.payload.as_deref() else {
            return Ok(());
        };
        let Some((_, r)) = shape.members.iter().find(|(n, _)| n == payload) else {
            return Ok(());
        };
        let kind = self
            .model
            .shape(&r.shape)
            .map(|s| s.kind.as_str())
            .unwrap_or("blob");
        let Value::Object(obj) = input else {
            return Ok(());
        };
        // Content-MD5 and checksum headers on buffered payloads are checked here, as S3 does
        // before it reads the document.
        crate::checksum::verify_buffered(obj, &body)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match kind {
            "structure" => {
                let text = std::str::from_utf8(&body).map_err(|_| error::malformed_xml())?;
                let root = xml_in::parse(text).map_err(|_| error::malformed_xml())?;
                let expected = r.location_name.as_deref().unwrap_or(&r.shape);
                if root.name != expected {
                    return Err(error::malformed_xml());
                }
                let value =
                    xml_in::decode(&self.model, r, &root).map_err(|_| error::malformed_xml())?;
                obj.insert(payload.to_string(), value);
            }
            _ => {
                let text = String::from_utf8(body.to_vec())
                    .map_err(|_| error::invalid_request("the request body is not valid UTF-8"))?;
                obj.insert(payload.to_string(), Value::String(text));
            }
        }
        Ok(())
    }

    fn render(
        &self,
        operation: &str,
        output: &Value,
        request_id: &str,
    ) -> Response<gateway::body::Body> {
        let mut headers: Vec<(http::HeaderName, String)> = Vec::with_capacity(16);
        let mut body = String::new();
        let status = self
            .model
            .operations
            .get(operation)
            .and_then(|o| o.http.response_code)
            .unwrap_or(200);
        if let (Some(shape), Value::Object(obj)) = (self.output_shape(operation), output) {
            let plan = self.plans.get(operation);
            // In the shape's member order, as the model lists them.
            let mut present: Vec<(usize, &Value)> = obj
                .iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, v)| plan.output_index.get(k.as_str()).map(|&i| (i, v)))
                .collect();
            present.sort_unstable_by_key(|(i, _)| *i);
            for (i, v) in present {
                let binding = &plan.output[i];
                match &binding.target {
                    To::Header(name) => headers.push((name.clone(), header_text(&binding.kind, v))),
                    To::Prefixed(prefix) => {
                        if let Value::Object(map) = v {
                            for (k, v) in map {
                                if let (Value::String(s), Ok(name)) =
                                    (v, http::HeaderName::try_from(format!("{prefix}{k}")))
                                {
                                    headers.push((name, s.clone()));
                                }
                            }
                        }
                    }
                }
            }
            body = self.render_body(operation, shape, obj);
        }
        let has_body = !body.is_empty();
        let mut res = Response::new(gateway::body::full(body));
        *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let h = res.headers_mut();
        h.reserve(headers.len() + 4);
        if has_body {
            let ct = if operation == "GetBucketPolicy" {
                "application/json"
            } else {
                "application/xml"
            };
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert(REQUEST_ID, v.clone());
            h.insert(ID_2, v);
        }
        h.insert(http::header::SERVER, HeaderValue::from_static("AmazonS3"));
        for (name, v) in headers {
            if let Ok(value) = HeaderValue::try_from(v) {
                h.append(name, value);
            }
        }
        res
    }
}

/// The root element of an operation's XML result when the output has no payload member.
fn root_element(operation: &str) -> &'static str {
    match operation {
        "ListBuckets" => "ListAllMyBucketsResult",
        "ListObjects" | "ListObjectsV2" => "ListBucketResult",
        "ListObjectVersions" => "ListVersionsResult",
        "ListMultipartUploads" => "ListMultipartUploadsResult",
        "ListParts" => "ListPartsResult",
        "CreateMultipartUpload" => "InitiateMultipartUploadResult",
        "CompleteMultipartUpload" => "CompleteMultipartUploadResult",
        "DeleteObjects" => "DeleteResult",
        "GetObjectTagging" | "GetBucketTagging" => "Tagging",
        "GetBucketVersioning" => "VersioningConfiguration",
        "GetBucketLocation" => "LocationConstraint",
        "GetBucketAcl" => "AccessControlPolicy",
        _ => "Result",
    }
}

impl S3Router {
    fn render_body(&self, operation: &str, shape: &Shape, obj: &Map<String, Value>) -> String {
        let mut w = XmlWriter::new(&self.model);
        w.millis = true;
        if let Some(payload) = shape.payload.as_deref() {
            let Some((_, r)) = shape.members.iter().find(|(n, _)| n == payload) else {
                return String::new();
            };
            let Some(v) = obj.get(payload) else {
                return String::new();
            };
            let kind = self
                .model
                .shape(&r.shape)
                .map(|s| s.kind.as_str())
                .unwrap_or("blob");
            return match kind {
                "structure" => {
                    let root = r.location_name.as_deref().unwrap_or(&r.shape);
                    w.out
                        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
                    w.open(root, Some(XMLNS));
                    w.members(&r.shape, v);
                    w.close(root);
                    w.out
                }
                // Streaming bodies are set on the call; text payloads go as they are.
                _ => v.as_str().map(str::to_string).unwrap_or_default(),
            };
        }
        let has_body = shape
            .members
            .iter()
            .any(|(n, r)| r.location.is_none() && obj.get(n).is_some_and(|v| !v.is_null()));
        if operation == "GetBucketLocation" {
            w.out
                .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            let text = obj
                .get("LocationConstraint")
                .and_then(Value::as_str)
                .unwrap_or("");
            w.out
                .push_str(&format!("<LocationConstraint xmlns=\"{XMLNS}\">"));
            gateway::codec::xml::escape(text, &mut w.out);
            w.out.push_str("</LocationConstraint>");
            return w.out;
        }
        if !has_body {
            return String::new();
        }
        let root = root_element(operation);
        w.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.open(root, Some(XMLNS));
        w.body_members(
            &self
                .model
                .operations
                .get(operation)
                .and_then(|o| o.output.as_ref())
                .map(|r| r.shape.clone())
                .unwrap_or_default(),
            &Value::Object(obj.clone()),
        );
        w.close(root);
        w.out
    }
}

/// A header's text for a scalar output value.
fn header_text(kind: &str, v: &Value) -> String {
    match (kind, v) {
        ("timestamp", Value::Number(n)) => gateway::time::http_date(n.as_f64().unwrap_or(0.0)),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(
        method: Method,
        host: &str,
        path: &str,
        query: &[&str],
        headers: &[&str],
    ) -> &'static str {
        let t = target(host, path).unwrap();
        operation(&method, &t, &|n| query.contains(&n), &|h| {
            headers.contains(&h)
        })
        .unwrap()
    }

    #[test]
    fn path_and_virtual_host_addressing() {
        assert_eq!(
            target("localhost", "/bkt/a/b%20c.txt").unwrap(),
            Target {
                bucket: Some("bkt".into()),
                key: Some("a/b c.txt".into())
            }
        );
        assert_eq!(
            target("127.0.0.1", "/bkt").unwrap(),
            Target {
                bucket: Some("bkt".into()),
                key: None
            }
        );
        assert_eq!(
            target("bkt.localhost", "/a/b").unwrap(),
            Target {
                bucket: Some("bkt".into()),
                key: Some("a/b".into())
            }
        );
        assert_eq!(
            target("my.bkt.s3.us-west-2.amazonaws.com", "/").unwrap(),
            Target {
                bucket: Some("my.bkt".into()),
                key: None
            }
        );
        assert_eq!(target("s3.amazonaws.com", "/").unwrap(), Target::default());
        assert_eq!(
            target("localhost", "/bkt/dir/").unwrap().key.as_deref(),
            Some("dir/")
        );
        assert_eq!(
            target("localhost", "/bkt/a+b").unwrap().key.as_deref(),
            Some("a+b")
        );
    }

    #[test]
    fn operations_from_method_and_subresource() {
        assert_eq!(op(Method::GET, "localhost", "/", &[], &[]), "ListBuckets");
        assert_eq!(op(Method::PUT, "localhost", "/b", &[], &[]), "CreateBucket");
        assert_eq!(
            op(Method::GET, "localhost", "/b", &["list-type"], &[]),
            "ListObjectsV2"
        );
        assert_eq!(op(Method::GET, "localhost", "/b", &[], &[]), "ListObjects");
        assert_eq!(
            op(Method::GET, "localhost", "/b", &["versions"], &[]),
            "ListObjectVersions"
        );
        assert_eq!(
            op(Method::PUT, "localhost", "/b", &["policy"], &[]),
            "PutBucketPolicy"
        );
        assert_eq!(
            op(Method::POST, "localhost", "/b", &["delete"], &[]),
            "DeleteObjects"
        );
        assert_eq!(op(Method::HEAD, "localhost", "/b", &[], &[]), "HeadBucket");
        assert_eq!(op(Method::PUT, "localhost", "/b/k", &[], &[]), "PutObject");
        assert_eq!(
            op(
                Method::PUT,
                "localhost",
                "/b/k",
                &[],
                &["x-amz-copy-source"]
            ),
            "CopyObject"
        );
        assert_eq!(
            op(
                Method::PUT,
                "localhost",
                "/b/k",
                &["partNumber", "uploadId"],
                &[]
            ),
            "UploadPart"
        );
        assert_eq!(
            op(Method::POST, "localhost", "/b/k", &["uploads"], &[]),
            "CreateMultipartUpload"
        );
        assert_eq!(
            op(Method::POST, "localhost", "/b/k", &["uploadId"], &[]),
            "CompleteMultipartUpload"
        );
        assert_eq!(
            op(Method::DELETE, "localhost", "/b/k", &["uploadId"], &[]),
            "AbortMultipartUpload"
        );
        assert_eq!(
            op(Method::GET, "localhost", "/b/k", &["uploadId"], &[]),
            "ListParts"
        );
        assert_eq!(
            op(Method::GET, "b.localhost", "/k", &["tagging"], &[]),
            "GetObjectTagging"
        );
        assert_eq!(op(Method::GET, "b.localhost", "/", &[], &[]), "ListObjects");
        let t = target("localhost", "/b").unwrap();
        let e = operation(&Method::GET, &t, &|n| n == "lifecycle", &|_| false).unwrap_err();
        assert_eq!(e.code, "NotImplemented");
    }

    fn s3_router() -> S3Router {
        match gateway::ServiceDef::new("s3", crate::MODEL) {
            Ok(def) => S3Router::new(def.model.clone()),
            Err(e) => panic!("model: {e}"),
        }
    }

    #[test]
    fn every_query_and_header_binding_is_indexed() {
        let r = s3_router();
        for op in r.model.operations.keys() {
            let plan = r.plans.get(op);
            for (i, b) in plan.input.iter().enumerate() {
                match &b.source {
                    Source::Query => assert_eq!(plan.query_index.get(&b.wire), Some(&i), "{op}"),
                    Source::Header(h) => assert_eq!(plan.header_index.get(h), Some(&i), "{op}"),
                    Source::Uri | Source::Prefixed(_) => {}
                }
            }
        }
    }

    #[test]
    fn head_members_are_decoded_in_the_shapes_order() {
        let r = s3_router();
        let mut headers = http::HeaderMap::new();
        for (k, v) in [
            ("host", "localhost:4566"),
            ("x-amz-meta-color", "blue"),
            ("range", "bytes=0-9"),
            ("if-match", "\"a\""),
            ("if-match", "\"b\""),
            ("x-amz-checksum-mode", "ENABLED"),
            ("content-md5", "AAAA"),
            ("x-amz-expected-bucket-owner", "000000000000"),
        ] {
            headers.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let query = gateway::codec::query::parse_form_borrowed(
            "versionId=v1&partNumber=2&response-content-type=text%2Fplain&versionId=v2&X-Amz-Date=x",
        );
        let head = RequestHead {
            method: &Method::GET,
            path: "/bkt/a/b.txt",
            query: &query,
            headers: &headers,
            host: "localhost",
        };
        let routed = r.route(&head).unwrap();
        assert_eq!(routed.operation, "GetObject");
        let input = routed.input.as_object().unwrap();
        let shape = r.input_shape("GetObject").unwrap();
        let expected: Vec<&str> = shape
            .members
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| input.contains_key(*n))
            .collect();
        let got: Vec<&str> = input
            .keys()
            .map(String::as_str)
            .filter(|k| shape.members.iter().any(|(n, _)| n == k))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(input["Bucket"], "bkt");
        assert_eq!(input["Key"], "a/b.txt");
        assert_eq!(input["VersionId"], "v1", "the first occurrence counts");
        assert_eq!(input["PartNumber"], 2);
        assert_eq!(input["ResponseContentType"], "text/plain");
        assert_eq!(input["IfMatch"], "\"a\",\"b\"");
        assert_eq!(input["Range"], "bytes=0-9");
        assert_eq!(input["ChecksumMode"], "ENABLED");
        assert_eq!(input["ExpectedBucketOwner"], "000000000000");
        assert_eq!(input["ContentMD5"], "AAAA");
        assert!(
            !input.contains_key("Metadata"),
            "GetObject reads no metadata headers"
        );
    }
}
