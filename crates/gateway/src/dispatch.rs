//! One request, start to end: identify the service, read the body,
//! authenticate, decode, authorize, run, render, audit.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::auth::{self, Authenticated};
use crate::body::Body;
use crate::call::{AuditSlot, Call, RestExtras};
use crate::codec::query::{self, Dialect, Params};
use crate::codec::validate;
use crate::error::AwsError;
use crate::gateway::{Inner, new_request_id};
use crate::identity::Caller;
use crate::location::Location;
use crate::protocol::{self, Protocol};
use crate::raw::RawRequest;
use crate::rest::{BodyMode, RequestBody, RequestHead};
use crate::service::ServiceDef;
use crate::stream::VerifiedBody;

/// Returned to hyper to drop the connection without an answer: how a VPC endpoint
/// treats traffic for a service it does not serve.
#[derive(Debug)]
pub(crate) struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused by endpoint")
    }
}

impl std::error::Error for Refused {}

pub(crate) async fn handle(
    gw: Arc<Inner>,
    location: Location,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Refused> {
    let request_id = new_request_id();
    let now = SystemTime::now();
    // Plain routes (Studio pages) carry their own bearer tokens; a SigV4-signed request is an
    // API call even when its path looks like one (an S3 bucket named `studio`).
    let signed = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-") || v.as_bytes().starts_with(b"AWS "))
        || req
            .uri()
            .query()
            .is_some_and(|q| q.contains("X-Amz-Credential="));
    if let Some((service, handler)) = raw_route(&gw, req.uri().path()).filter(|_| !signed) {
        if location.endpoint().is_some_and(|e| !e.serves(service)) {
            return Err(Refused);
        }
        let (parts, body) = req.into_parts();
        let body = match collect(body, gw.config.max_body).await {
            Ok(b) => b,
            Err(e) => {
                return Ok(protocol::error(
                    Protocol::RestXml,
                    None,
                    &e,
                    &request_id,
                    false,
                ));
            }
        };
        let raw = RawRequest {
            request: Request::from_parts(parts, body),
            location,
            peer,
        };
        return Ok(handler.handle(raw).await);
    }
    let (parts, body) = req.into_parts();
    let parsed = auth::parse(&parts);
    let Some(svc) = identify(&gw, &parts, parsed.as_ref().ok().and_then(Option::as_ref)) else {
        if location.endpoint().is_some() {
            return Err(Refused);
        }
        let e = AwsError::bad_request(
            "UnknownOperationException",
            "the request names no service this endpoint serves",
        );
        return Ok(protocol::error(
            Protocol::Json,
            None,
            &e,
            &request_id,
            false,
        ));
    };
    if let Location::Endpoint(e) = &location
        && !e.serves(svc.signing_name)
    {
        return Err(Refused);
    }
    let head_only = parts.method == Method::HEAD;
    let mut call = Call {
        gw: gw.clone(),
        caller: anonymous(),
        request_id: request_id.as_str().into(),
        location,
        source_ip: Some(peer.ip()),
        secure_transport: false,
        user_agent: parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .into(),
        via: None,
        now,
        operation: "",
        service: svc.signing_name,
        input: Arc::new(Value::Null),
        audit: Arc::new(Mutex::new(AuditSlot::default())),
        rest: Arc::new(Mutex::new(RestExtras::default())),
    };
    let result = run(&gw, &svc, &mut call, parts, body, parsed).await;
    let response = match result {
        Ok(response) => response,
        Err(e) => protocol::error(svc.protocol, Some(&svc.model), &e, &request_id, head_only),
    };
    Ok(response)
}

/// The caller before authentication.
fn anonymous() -> Arc<Caller> {
    static ANONYMOUS: std::sync::OnceLock<Arc<Caller>> = std::sync::OnceLock::new();
    ANONYMOUS
        .get_or_init(|| Arc::new(Caller::anonymous()))
        .clone()
}

fn raw_route(gw: &Inner, path: &str) -> Option<(&'static str, Arc<dyn crate::raw::RawHandler>)> {
    let routes = gw.raw.read().ok()?;
    routes
        .iter()
        .find(|(prefix, _, _)| path.starts_with(prefix.as_str()))
        .map(|(_, service, h)| (*service, h.clone()))
}

/// Which service a request is for: the SigV4 credential scope, then `X-Amz-Target`,
/// then a Query `Action`, then S3.
fn identify(gw: &Inner, parts: &Parts, parsed: Option<&auth::Parsed>) -> Option<Arc<ServiceDef>> {
    if let Some(p) = parsed {
        let mut name = p.service.as_str();
        if name == "s3" && parts.uri.path().starts_with("/v20180820/") {
            name = "s3control";
        }
        return gw
            .services
            .iter()
            .find(|(k, _)| **k == name)
            .map(|(_, v)| v.clone());
    }
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let prefix = target.split('.').next().unwrap_or("");
        let name = gw.targets.get(prefix)?;
        return gw.services.get(name).cloned();
    }
    if let Some(q) = parts.uri.query() {
        for (k, v) in query::parse_form(q.as_bytes()) {
            if k == "Action"
                && let Some(name) = gw.actions.get(&v)
            {
                return gw.services.get(name).cloned();
            }
        }
    }
    let is_form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form && parts.method == Method::POST {
        // Unsigned Query requests (AssumeRoleWithWebIdentity) name only an action;
        // STS is the one service that accepts them.
        return gw.services.get("sts").cloned();
    }
    gw.services.get("s3").cloned()
}

async fn collect(body: Incoming, limit: usize) -> Result<Bytes, AwsError> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(AwsError::new(
            "RequestEntityTooLarge",
            413,
            format!("request body is larger than {limit} bytes"),
        )),
        Err(e) => Err(AwsError::bad_request(
            "IncompleteBody",
            format!("could not read the request body: {e}"),
        )),
    }
}

async fn run(
    gw: &Arc<Inner>,
    svc: &Arc<ServiceDef>,
    call: &mut Call,
    parts: Parts,
    body: Incoming,
    parsed: Result<Option<auth::Parsed>, AwsError>,
) -> Result<Response<Body>, AwsError> {
    let claimed = parsed
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map(|p| p.auth.access_key_id().to_string());
    let result = run_inner(gw, svc, call, parts, body, parsed).await;
    if result.is_err()
        && call.caller.kind == crate::identity::IdentityType::Anonymous
        && claimed.is_some()
    {
        // Authentication failed: keep the access key id it claimed, so the refusal is attributable.
        let mut c = Caller::anonymous();
        c.access_key_id = claimed;
        call.caller = Arc::new(c);
    }
    if let Some(pending) = call.finish(result.as_ref().err())
        && gw.store.pending_commits() > AUDIT_BACKLOG
    {
        // The writer is behind: hold this response until its record is durable, so the
        // queue of records not yet on disk stays bounded under overload.
        if let Err(e) = pending.await {
            tracing::error!(error = %e, "audit record was not written");
        }
    }
    result
}

/// Records queued but not yet durable before requests start waiting for theirs.
const AUDIT_BACKLOG: usize = 20_000;

async fn run_inner(
    gw: &Arc<Inner>,
    svc: &Arc<ServiceDef>,
    call: &mut Call,
    parts: Parts,
    body: Incoming,
    parsed: Result<Option<auth::Parsed>, AwsError>,
) -> Result<Response<Body>, AwsError> {
    let parsed = parsed?;
    match svc.protocol {
        Protocol::RestXml | Protocol::RestJson => rest(gw, svc, call, parts, body, parsed).await,
        protocol => {
            let bytes = collect(body, gw.config.max_body).await?;
            let authenticated = auth::authenticate(
                gw,
                svc.protocol,
                &parts,
                parsed.as_ref(),
                Some(&bytes),
                call.now,
            )?;
            apply(call, authenticated);
            let (op, input) = match protocol {
                Protocol::Json => decode_json(svc, &parts, &bytes)?,
                _ => decode_query(svc, &parts, &bytes, protocol)?,
            };
            let output = execute(svc, call, op, input).await?;
            Ok(match protocol {
                Protocol::Json => protocol::json_result(&svc.model, &output, &call.request_id),
                _ => protocol::xml_result(
                    &svc.model,
                    call.operation,
                    &output,
                    protocol,
                    &call.request_id,
                ),
            })
        }
    }
}

fn apply(call: &mut Call, authenticated: Authenticated) {
    if let Some(caller) = authenticated.caller {
        call.caller = caller;
    }
}

async fn execute(
    svc: &Arc<ServiceDef>,
    call: &mut Call,
    op: &'static str,
    input: Value,
) -> Result<Value, AwsError> {
    call.operation = op;
    call.input = Arc::new(input);
    let handler = svc
        .handlers
        .get(op)
        .cloned()
        .ok_or_else(|| unknown_operation(svc.protocol, op))?;
    let input = call.input.clone();
    let prepared = handler.prepare(&input, call)?;
    call.run_prepared(prepared, svc.protocol).await
}

fn unknown_operation(protocol: Protocol, op: &str) -> AwsError {
    match protocol {
        Protocol::Query | Protocol::Ec2 => {
            AwsError::bad_request("InvalidAction", format!("Could not find operation {op}"))
        }
        Protocol::RestXml => AwsError::new(
            "NotImplemented",
            501,
            "A header you provided implies functionality that is not implemented",
        ),
        _ => AwsError::bad_request(
            "UnknownOperationException",
            format!("Unknown operation {op}"),
        ),
    }
}

fn decode_json(
    svc: &ServiceDef,
    parts: &Parts,
    bytes: &Bytes,
) -> Result<(&'static str, Value), AwsError> {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AwsError::bad_request("UnknownOperationException", "missing X-Amz-Target header")
        })?;
    let name = target.rsplit('.').next().unwrap_or(target);
    let (op, _) = svc
        .handlers
        .get_key_value(name)
        .ok_or_else(|| unknown_operation(Protocol::Json, name))?;
    let input: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            AwsError::bad_request(
                "SerializationException",
                format!("could not parse the request body as JSON: {e}"),
            )
        })?
    };
    if !input.is_object() {
        return Err(AwsError::bad_request(
            "SerializationException",
            "the request body must be a JSON object",
        ));
    }
    if let Some(shape) = svc.model.operations.get(*op).and_then(|d| d.input.as_ref()) {
        validate::validate(&svc.model, &shape.shape, &input)
            .map_err(|m| AwsError::bad_request("ValidationException", m))?;
    }
    Ok((op, input))
}

fn decode_query(
    svc: &ServiceDef,
    parts: &Parts,
    bytes: &Bytes,
    protocol: Protocol,
) -> Result<(&'static str, Value), AwsError> {
    let mut pairs = query::parse_form(parts.uri.query().unwrap_or("").as_bytes());
    if parts.method == Method::POST {
        pairs.extend(query::parse_form(bytes));
    }
    let params = Params::new(&pairs);
    let action = params
        .get("Action")
        .ok_or_else(|| AwsError::bad_request("MissingAction", "Missing Action"))?;
    let (op, _) = svc
        .handlers
        .get_key_value(action)
        .ok_or_else(|| unknown_operation(protocol, action))?;
    let dialect = if protocol == Protocol::Ec2 {
        Dialect::Ec2
    } else {
        Dialect::Query
    };
    let input = match svc.model.operations.get(*op).and_then(|d| d.input.as_ref()) {
        Some(shape) => {
            let v = query::decode(&svc.model, &shape.shape, &params, dialect)?;
            let code = if protocol == Protocol::Ec2 {
                "InvalidParameterValue"
            } else {
                "ValidationError"
            };
            validate::validate(&svc.model, &shape.shape, &v)
                .map_err(|m| AwsError::bad_request(code, m))?;
            v
        }
        None => Value::Object(Default::default()),
    };
    Ok((op, input))
}

async fn rest(
    gw: &Arc<Inner>,
    svc: &Arc<ServiceDef>,
    call: &mut Call,
    parts: Parts,
    body: Incoming,
    parsed: Option<auth::Parsed>,
) -> Result<Response<Body>, AwsError> {
    let router = svc
        .rest
        .clone()
        .ok_or_else(|| AwsError::internal(format!("{} has no REST router", svc.signing_name)))?;
    let query_pairs = query::parse_form_borrowed(parts.uri.query().unwrap_or(""));
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let head = RequestHead {
        method: &parts.method,
        path: parts.uri.path(),
        query: &query_pairs,
        headers: &parts.headers,
        host,
    };
    let routed = router.route(&head);
    // Authenticate before anything else is reported about the request.
    let (authenticated, body_state) =
        match routed.as_ref().map(|r| r.body).unwrap_or(BodyMode::None) {
            BodyMode::Stream => {
                let a =
                    auth::authenticate(gw, svc.protocol, &parts, parsed.as_ref(), None, call.now)?;
                let verified = VerifiedBody::new(body, &parts, a.verified.clone())?;
                (a, Some(RequestBody { inner: verified }))
            }
            _ => {
                let bytes = collect(body, gw.config.max_body).await?;
                let a = auth::authenticate(
                    gw,
                    svc.protocol,
                    &parts,
                    parsed.as_ref(),
                    Some(&bytes),
                    call.now,
                )?;
                let bytes = if a
                    .verified
                    .as_ref()
                    .is_some_and(|v| matches!(v.payload, sigv4::Payload::Streaming(_)))
                    || auth::is_chunked(&parts)
                {
                    VerifiedBody::decode_buffered(bytes, &parts, a.verified.clone())?
                } else {
                    bytes
                };
                let mut routed_ok = routed?;
                if routed_ok.body == BodyMode::Buffered {
                    router.payload(routed_ok.operation, &mut routed_ok.input, bytes)?;
                }
                apply(call, a);
                let output = execute(svc, call, routed_ok.operation, routed_ok.input).await?;
                return Ok(finish_rest(router.as_ref(), call, &output));
            }
        };
    let routed = routed?;
    apply(call, authenticated);
    if let Ok(mut r) = call.rest.lock() {
        r.body = body_state;
    }
    let output = execute(svc, call, routed.operation, routed.input).await?;
    Ok(finish_rest(router.as_ref(), call, &output))
}

fn finish_rest(
    router: &dyn crate::rest::RestRouter,
    call: &Call,
    output: &Value,
) -> Response<Body> {
    let mut response = router.render(call.operation, output, &call.request_id);
    if let Ok(mut extras) = call.rest.lock() {
        if let Some(stream) = extras.stream.take() {
            *response.body_mut() = stream;
        }
        if let Some(status) = extras.status
            && let Ok(s) = http::StatusCode::from_u16(status)
        {
            *response.status_mut() = s;
        }
        for (k, v) in extras.headers.drain(..) {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(k),
                http::HeaderValue::try_from(v),
            ) {
                response.headers_mut().append(name, value);
            }
        }
    }
    response
}
