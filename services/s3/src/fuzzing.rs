//! Entry points shared by the fuzz targets `s3_request` and `s3_xml` (under `fuzz/`) and the test
//! that replays their saved corpora. Input never panics: it is routed, decoded and handled the
//! way the gateway does it, and every failure is an AWS error.
//!
//! The handlers run against an in-memory S3 (with KMS) holding a bucket `fixture` and a
//! multipart upload of `fixture/upload`; the environment is rebuilt every [`REBUILD`] inputs
//! so state made by earlier inputs stays small.

use std::cell::RefCell;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use gateway::fuzzing::Harness;
use gateway::{AwsError, BodyMode, RequestHead, RestRouter};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::{Value, json};

use crate::http_semantics::{self, Conditions};
use crate::input::Input;
use crate::router::S3Router;
use crate::{S3, checksum, names, ops};

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 256;

/// The bucket every environment has.
pub const BUCKET: &str = "fixture";

/// The key of the multipart upload every environment has.
pub const UPLOAD_KEY: &str = "upload";

/// Stands for the fixture upload's id in a fuzzed request (ids are random).
pub const UPLOAD_ID: &str = "UPLOAD-ID";

struct Env {
    harness: Harness,
    model: Arc<gateway::model::Model>,
    router: S3Router,
    upload_id: String,
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let kms = match kms::Kms::open(&store, &config) {
            Ok(k) => k,
            Err(e) => panic!("kms: {e}"),
        };
        let s3 = match S3::open(&store, &config, kms.clone()) {
            Ok(s) => s,
            Err(e) => panic!("s3: {e}"),
        };
        let def = s3.service_def();
        let model = def.model.clone();
        let router = S3Router::new(model.clone());
        let harness = Harness::new(config, store, vec![def, kms.service_def()]);
        let created = harness.run("s3", "CreateBucket", json!({"Bucket": BUCKET}));
        assert!(
            matches!(created, Some(Ok(_))),
            "fixture bucket: {created:?}"
        );
        let upload = harness.run(
            "s3",
            "CreateMultipartUpload",
            json!({"Bucket": BUCKET, "Key": UPLOAD_KEY}),
        );
        let upload_id = match upload {
            Some(Ok(v)) => v["UploadId"].as_str().unwrap_or_default().to_string(),
            other => panic!("fixture upload: {other:?}"),
        };
        Env {
            harness,
            model,
            router,
            upload_id,
        }
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

fn with_env(f: impl FnOnce(&Env)) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, f);
}

/// An error the router or the payload decoder may answer a bad request with.
fn check_client_error(e: &AwsError, what: &str) {
    assert!(
        (400..500).contains(&e.status) || e.code == "NotImplemented",
        "{what}: a bad request got {} {}: {}",
        e.status,
        e.code,
        e.message
    );
}

/// Operations whose handlers run on fuzzed input: everything but the streaming uploads (which
/// need a request body stream).
fn handled(op: &str) -> bool {
    !matches!(op, "PutObject" | "UploadPart")
}

/// A request as text: `METHOD TARGET`, header lines (`Name: value`), an empty line, the body.
/// It is routed (path-style or virtual-hosted-style by `Host`), its buffered payload decoded,
/// the values S3 parses from it (range, conditions, copy source, tagging, checksums, bucket
/// name) parsed, and its operation handled. `UPLOAD-ID` in the target stands for the fixture
/// upload's id.
pub fn request(data: &[u8]) {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (&data[..i], &data[i + 2..]))
        .unwrap_or((data, &[][..]));
    let (head_bytes, body) = split;
    let head_text = String::from_utf8_lossy(head_bytes);
    let mut lines = head_text.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(n, v);
        }
    }
    with_env(|env| {
        let target = target.replace(UPLOAD_ID, &env.upload_id);
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        serve(
            env,
            &method,
            path,
            query,
            &headers,
            Bytes::copy_from_slice(body),
        );
    });
}

fn serve(env: &Env, method: &Method, path: &str, query: &str, headers: &HeaderMap, body: Bytes) {
    let pairs = gateway::codec::query::parse_form_borrowed(query);
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let head = RequestHead {
        method,
        path,
        query: &pairs,
        headers,
        host,
    };
    let mut routed = match env.router.route(&head) {
        Ok(r) => r,
        Err(e) => return check_client_error(&e, "route"),
    };
    if routed.body == BodyMode::Buffered
        && let Err(e) = env
            .router
            .payload(routed.operation, &mut routed.input, body.clone())
    {
        return check_client_error(&e, "payload");
    }
    values(&routed.input);
    if handled(routed.operation) {
        let _ = env.harness.run("s3", routed.operation, routed.input);
    }
}

/// What S3 parses out of a routed input beyond the model: ranges (against objects of several
/// sizes), conditional headers, the copy source, `x-amz-tagging`, checksums, bucket names,
/// list prefixes.
fn values(input: &Value) {
    let Some(map) = input.as_object() else { return };
    let input = Input::new(map.clone());
    for size in [0, 1, 10, 5 << 20, u64::MAX] {
        for header in [input.str("Range"), input.str("CopySourceRange")] {
            if let Ok(Some(r)) = http_semantics::parse_range(header, size) {
                assert!(
                    r.start < r.end && r.end <= size,
                    "range {header:?} of {size} bytes is {}..{}",
                    r.start,
                    r.end
                );
            }
        }
    }
    for (m, n, ms, us) in [
        (
            "IfMatch",
            "IfNoneMatch",
            "IfModifiedSince",
            "IfUnmodifiedSince",
        ),
        (
            "CopySourceIfMatch",
            "CopySourceIfNoneMatch",
            "CopySourceIfModifiedSince",
            "CopySourceIfUnmodifiedSince",
        ),
    ] {
        let c = Conditions {
            if_match: input.str(m),
            if_none_match: input.str(n),
            if_modified_since: input.time(ms),
            if_unmodified_since: input.time(us),
        };
        for etag in ["\"d41d8cd98f00b204e9800998ecf8427e\"", "", "\""] {
            let _ = http_semantics::evaluate(&c, etag, 1_700_000_000.5);
        }
    }
    if input.str("CopySource").is_some()
        && let Ok((bucket, key, _)) = ops::object::copy_source(&input)
    {
        assert!(!bucket.is_empty() && !key.is_empty());
    }
    if let Some(t) = input.str("Tagging")
        && let Ok(tags) = ops::tags_from_header(t)
    {
        let _ = ops::validate_tags(&tags, 10);
    }
    let _ = checksum::content_md5(input.map());
    let _ = checksum::declared(input.map());
    let _ = names::check_bucket_name(input.bucket());
    if let Some(p) = input.str("Prefix")
        && let Some(next) = ops::list::successor(p)
    {
        assert!(next.as_str() > p, "successor of {p:?}");
    }
}

/// The operations with an XML (or policy) payload, the request that names each, and the
/// payload's root element.
const PAYLOADS: &[(&str, &str, &str)] = &[
    ("PUT", "/fixture", "CreateBucketConfiguration"),
    ("PUT", "/fixture?tagging", "Tagging"),
    ("PUT", "/fixture?versioning", "VersioningConfiguration"),
    (
        "PUT",
        "/fixture?encryption",
        "ServerSideEncryptionConfiguration",
    ),
    (
        "PUT",
        "/fixture?publicAccessBlock",
        "PublicAccessBlockConfiguration",
    ),
    ("PUT", "/fixture?ownershipControls", "OwnershipControls"),
    ("POST", "/fixture?delete", "Delete"),
    (
        "POST",
        "/fixture/upload?uploadId=UPLOAD-ID",
        "CompleteMultipartUpload",
    ),
    ("PUT", "/fixture/upload?tagging", "Tagging"),
    ("PUT", "/fixture?policy", ""),
];

/// Byte 0 picks an operation with a payload (CreateBucket's `CreateBucketConfiguration`,
/// tagging, versioning, encryption, Block Public Access, ownership controls, DeleteObjects,
/// CompleteMultipartUpload, object tagging, bucket policy); the rest is its body, sent with its
/// `Content-MD5` (DeleteObjects requires one). The body is
/// parsed and decoded by the gateway's REST-XML decoder against every payload shape of the S3
/// model, then as that operation's payload, and the operation handled.
pub fn xml(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let (method, target, _) = PAYLOADS[which as usize % PAYLOADS.len()];
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_static("localhost"));
    let md5 = STANDARD.encode(checksum::md5(body));
    if let Ok(v) = HeaderValue::from_str(&md5) {
        headers.insert("content-md5", v);
    }
    with_env(|env| {
        gateway::fuzzing::xml_input(&env.model, body);
        let target = target.replace(UPLOAD_ID, &env.upload_id);
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        serve(
            env,
            &method,
            path,
            query,
            &headers,
            Bytes::copy_from_slice(body),
        );
    });
}

/// Byte 0 is a page size (`max-keys` and the like), the rest a token given as every pagination
/// parameter S3 reads: `ListObjectsV2`'s `continuation-token` and `start-after`, `ListObjects`'s
/// `marker`, `ListObjectVersions`'s `key-marker` and `version-id-marker`,
/// `ListMultipartUploads`'s `key-marker` and `upload-id-marker`, `ListParts`'s
/// `part-number-marker`, and `ListBuckets`'s `continuation-token`: AWS errors, never a panic.
pub fn next_token(data: &[u8]) {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let (limit, token) = gateway::fuzzing::page_input(data);
    let t = utf8_percent_encode(&token, NON_ALPHANUMERIC).to_string();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_static("localhost"));
    with_env(|env| {
        let upload = env.upload_id.clone();
        for (path, query) in [
            (
                "/fixture",
                format!("list-type=2&continuation-token={t}&max-keys={limit}"),
            ),
            (
                "/fixture",
                format!("list-type=2&start-after={t}&max-keys={limit}"),
            ),
            (
                "/fixture",
                format!("marker={t}&max-keys={limit}&delimiter=%2F"),
            ),
            (
                "/fixture",
                format!("versions&key-marker={t}&version-id-marker={t}&max-keys={limit}"),
            ),
            (
                "/fixture",
                format!("versions&key-marker=k&version-id-marker={t}"),
            ),
            (
                "/fixture",
                format!("uploads&key-marker={t}&upload-id-marker={t}&max-uploads={limit}"),
            ),
            (
                "/fixture",
                format!("uploads&key-marker=upload&upload-id-marker={t}"),
            ),
            (
                "/fixture/upload",
                format!("uploadId={upload}&part-number-marker={t}&max-parts={limit}"),
            ),
            ("/", format!("continuation-token={t}&max-buckets={limit}")),
        ] {
            serve(env, &Method::GET, path, &query, &headers, Bytes::new());
        }
    });
}
