//! Authentication: SigV4 as AWS verifies it, against the credential directory.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;

use crate::error::AwsError;
use crate::gateway::Inner;
use crate::identity::Caller;
use crate::protocol::Protocol;

/// A parsed (not yet verified) signature.
pub(crate) struct Parsed {
    /// The credential scope's service.
    pub service: String,
    pub auth: sigv4::Authorization,
}

/// The outcome of authentication.
pub(crate) struct Authenticated {
    /// `None` for an anonymous request.
    pub caller: Option<Arc<Caller>>,
    /// The verified signature, for streaming payload checks.
    pub verified: Option<sigv4::Verified>,
}

/// The header list sigv4 reads.
pub(crate) fn header_pairs(parts: &Parts) -> Vec<(&str, &[u8])> {
    parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect()
}

pub(crate) fn sig_request<'a>(
    parts: &'a Parts,
    headers: &'a [(&'a str, &'a [u8])],
    body: Option<&'a [u8]>,
) -> sigv4::Request<'a> {
    sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers,
        body,
    }
}

pub(crate) fn to_aws(e: sigv4::Error) -> AwsError {
    let mut err = AwsError::new(e.code(), e.status(), e.message());
    for (k, v) in e.details() {
        err = err.with(k, v);
    }
    err
}

/// Parses the request's signature, if any.
pub(crate) fn parse(parts: &Parts) -> Result<Option<Parsed>, AwsError> {
    let headers = header_pairs(parts);
    let req = sig_request(parts, &headers, None);
    match sigv4::parse(&req, None) {
        Ok(Some(auth)) => Ok(Some(Parsed {
            service: auth.scope().service.clone(),
            auth,
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(to_aws(e)),
    }
}

/// Whether the body is `aws-chunked` (signed or not).
pub(crate) fn is_chunked(parts: &Parts) -> bool {
    parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"))
}

fn dialect(protocol: Protocol) -> sigv4::Dialect {
    match protocol {
        Protocol::RestXml => sigv4::Dialect::S3,
        Protocol::Ec2 => sigv4::Dialect::Ec2,
        Protocol::Json | Protocol::RestJson => sigv4::Dialect::Json,
        Protocol::Query => sigv4::Dialect::Query,
    }
}

/// Verifies the signature and resolves the caller. `body` is the whole body when it was
/// buffered; streaming bodies are checked as they are read.
pub(crate) fn authenticate(
    gw: &Inner,
    protocol: Protocol,
    parts: &Parts,
    parsed: Option<&Parsed>,
    body: Option<&Bytes>,
    now: SystemTime,
) -> Result<Authenticated, AwsError> {
    let Some(parsed) = parsed else {
        return Ok(Authenticated {
            caller: None,
            verified: None,
        });
    };
    let auth = &parsed.auth;
    let d = dialect(protocol);
    // Global services (IAM, Organizations) and STS's global endpoint sign for us-east-1;
    // SDKs given a custom endpoint sign them for the configured region instead. Take both.
    let global = matches!(parsed.service.as_str(), "iam" | "organizations" | "sts");
    auth.precheck(now, Some(&gw.config.region), None)
        .or_else(|e| {
            if global {
                auth.precheck(now, Some("us-east-1"), None)
            } else {
                Err(e)
            }
        })
        .map_err(to_aws)?;
    let credential = gw
        .identities
        .lookup(auth.access_key_id(), auth.security_token(), now)
        .map_err(|e| match e.code.as_ref() {
            "ExpiredToken" => to_aws(sigv4::Error::expired_token(d)),
            "InvalidToken" => to_aws(sigv4::Error::invalid_token(d)),
            _ => to_aws(sigv4::Error::unknown_access_key(d, auth.access_key_id())),
        })?;
    let headers = header_pairs(parts);
    let req = sig_request(parts, &headers, body.map(|b| b.as_ref()));
    let verified = auth
        .verify(&req, &credential.secret, now, &gw.signing_keys)
        .map_err(to_aws)?;
    if let (sigv4::Payload::Sha256(_), Some(b)) = (&verified.payload, body) {
        verified.check_payload(&sigv4::sha256(b)).map_err(to_aws)?;
    }
    Ok(Authenticated {
        caller: Some(credential.caller),
        verified: Some(verified),
    })
}
