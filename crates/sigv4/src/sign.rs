//! Signing requests: the `Authorization` header and presigned URLs.

use std::time::SystemTime;

use crate::canonical::encode;
use crate::chunked::{ChunkSigner, ChunkSigning, ChunkedMode};
use crate::key::{SigningKey, sha256};
use crate::request::Request;
use crate::time::Timestamp;
use crate::verify::{ALGORITHM, UNSIGNED_PAYLOAD, build_canonical_request, string_to_sign};

/// Headers that are never signed: hop-by-hop headers and those proxies and clients change
/// (the list botocore uses).
const UNSIGNED_HEADERS: [&str; 12] = [
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// Who signs, for what, when.
#[derive(Clone, Copy, Debug)]
pub struct SigningParams<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials.
    pub session_token: Option<&'a str>,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The service's signing name, e.g. `s3`, `sts`. `s3` signs the path as it is; other services
    /// normalize it.
    pub service: &'a str,
    /// The signing time.
    pub time: SystemTime,
}

/// What the signature says about the body.
#[derive(Clone, Copy, Debug)]
pub enum PayloadSigning<'a> {
    /// The SHA-256 of this body.
    Body(&'a [u8]),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// An `aws-chunked` body, signed chunk by chunk with [`Signature::chunk_signer`].
    Streaming(ChunkedMode),
    /// A payload hash computed elsewhere (hex).
    Precomputed(&'a str),
}

/// The result of signing with the `Authorization` header.
#[derive(Clone, Debug)]
pub struct Signature {
    /// The headers to add to the request, replacing any of the same name: `x-amz-date`, then
    /// `x-amz-security-token` and `x-amz-content-sha256` when used, then `authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The signature, hex.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string that was signed.
    pub string_to_sign: String,
    signing: ChunkSigning,
}

impl Signature {
    /// The value of the `Authorization` header.
    pub fn authorization(&self) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| *n == "authorization")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The signer of the chunks of an `aws-chunked` body, seeded with this signature.
    pub fn chunk_signer(&self) -> ChunkSigner {
        ChunkSigner::new(self.signing.clone())
    }
}

/// The result of presigning.
#[derive(Clone, Debug)]
pub struct Presigned {
    /// The query string to send instead of the request's: its parameters, then the signing
    /// parameters, `X-Amz-Signature` last.
    pub query: String,
    /// The signature, hex.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string that was signed.
    pub string_to_sign: String,
}

fn scope_of(params: &SigningParams<'_>, time: Timestamp) -> String {
    format!(
        "{}/{}/{}/aws4_request",
        time.date_stamp(),
        params.region,
        params.service
    )
}

fn signed_header_names(headers: &[(&str, &[u8])]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .filter(|n| !UNSIGNED_HEADERS.contains(&n.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Signs `req` with the `Authorization` header, as the AWS SDKs do: every header but hop-by-hop
/// ones is signed (`host` must be among them), with `x-amz-date`, the session token and, for S3 or
/// a payload that is not a plain body, `x-amz-content-sha256` added.
pub fn sign(
    req: &Request<'_>,
    params: &SigningParams<'_>,
    payload: PayloadSigning<'_>,
) -> Signature {
    let time = Timestamp::from_system_time(params.time);
    let timestamp = time.to_basic();
    let s3 = params.service == "s3";
    let payload_hash = match payload {
        PayloadSigning::Body(body) => hex::encode(sha256(body)),
        PayloadSigning::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
        PayloadSigning::Streaming(mode) => mode.content_sha256().to_owned(),
        PayloadSigning::Precomputed(hash) => hash.to_owned(),
    };
    let mut added: Vec<(&'static str, String)> = vec![("x-amz-date", timestamp.clone())];
    if let Some(token) = params.session_token {
        added.push(("x-amz-security-token", token.to_owned()));
    }
    if s3 || !matches!(payload, PayloadSigning::Body(_)) {
        added.push(("x-amz-content-sha256", payload_hash.clone()));
    }
    let mut headers: Vec<(&str, &[u8])> = req
        .headers
        .iter()
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("authorization")
                && !added.iter().any(|(a, _)| n.eq_ignore_ascii_case(a))
        })
        .copied()
        .collect();
    headers.extend(added.iter().map(|(n, v)| (*n, v.as_bytes())));
    let signed = signed_header_names(&headers);
    let view = Request {
        headers: &headers,
        ..*req
    };
    let canonical = build_canonical_request(&view, s3, false, &signed.join(";"), &payload_hash);
    let scope = scope_of(params, time);
    let string_to_sign = string_to_sign(&timestamp, &scope, &canonical);
    let key = SigningKey::derive(
        params.secret_access_key,
        &time.date_stamp(),
        params.region,
        params.service,
    );
    let signature_bytes = key.sign(string_to_sign.as_bytes());
    let signature = hex::encode(signature_bytes);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        params.access_key_id,
        signed.join(";")
    );
    added.push(("authorization", authorization));
    Signature {
        headers: added,
        signature,
        canonical_request: String::from_utf8_lossy(&canonical).into_owned(),
        string_to_sign,
        signing: ChunkSigning {
            access_key_id: params.access_key_id.to_owned(),
            key,
            timestamp,
            scope,
            previous: signature_bytes,
        },
    }
}

/// Presigns `req` for `expires_in` seconds: the signature goes in the query string. The headers of
/// `req` (usually just `host`) are signed and must be sent as they are; the payload is
/// `UNSIGNED-PAYLOAD` for S3 and the SHA-256 of the body (empty when none) otherwise.
pub fn presign(req: &Request<'_>, params: &SigningParams<'_>, expires_in: u64) -> Presigned {
    let time = Timestamp::from_system_time(params.time);
    let timestamp = time.to_basic();
    let s3 = params.service == "s3";
    let scope = scope_of(params, time);
    let signed = signed_header_names(req.headers);
    let mut auth: Vec<(&str, String)> = vec![
        ("X-Amz-Algorithm", ALGORITHM.to_owned()),
        (
            "X-Amz-Credential",
            format!("{}/{scope}", params.access_key_id),
        ),
        ("X-Amz-Date", timestamp.clone()),
        ("X-Amz-Expires", expires_in.to_string()),
        ("X-Amz-SignedHeaders", signed.join(";")),
    ];
    if let Some(token) = params.session_token {
        auth.push(("X-Amz-Security-Token", token.to_owned()));
    }
    let mut query = req.query.to_owned();
    for (name, value) in &auth {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(&encode(value.as_bytes()));
    }
    let payload_hash = if s3 {
        UNSIGNED_PAYLOAD.to_owned()
    } else {
        hex::encode(sha256(req.body.unwrap_or(b"")))
    };
    let view = Request {
        query: &query,
        ..*req
    };
    let canonical = build_canonical_request(&view, s3, true, &signed.join(";"), &payload_hash);
    let string_to_sign = string_to_sign(&timestamp, &scope, &canonical);
    let key = SigningKey::derive(
        params.secret_access_key,
        &time.date_stamp(),
        params.region,
        params.service,
    );
    let signature = hex::encode(key.sign(string_to_sign.as_bytes()));
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    Presigned {
        query,
        signature,
        canonical_request: String::from_utf8_lossy(&canonical).into_owned(),
        string_to_sign,
    }
}
