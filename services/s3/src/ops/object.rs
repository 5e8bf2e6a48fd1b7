//! Object operations: put, get, head, delete (one or many), copy, tagging.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use gateway::{Authorization, AwsError, Call, Check};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use storage::{BlobId, BlobInfo};

use super::{
    check_acl, expect_owner, headers_from_input, now, tag_set, tags_from_header, tags_from_payload,
    validate_tags,
};
use crate::S3;
use crate::access::{self, BucketFacts};
use crate::body::{ObjectBody, Piece, pieces};
use crate::checksum::{self, Declared, Digests, Hashers};
use crate::error;
use crate::http_semantics::{self, Conditions, Outcome};
use crate::input::Input;
use crate::names::{new_version_id, object_arn};
use crate::sse::{self, DataKey};
use crate::state::{Bucket, Chunk, Headers, ObjectVersion, Sse, Tag, version_record_key};

/// Bodies up to this size are decrypted before the response starts; larger ones stream.
const SMALL_BODY: u64 = 256 * 1024;

/// Largest object a single PUT accepts (5 GiB).
const MAX_PUT: u64 = 5 << 30;

/// The version a read names: the latest, or `versionId`.
pub fn find_version(
    b: &Bucket,
    key: &str,
    version_id: Option<&str>,
    method: &str,
) -> Result<Arc<ObjectVersion>, AwsError> {
    match version_id {
        None => match b.latest(key) {
            Some(v) if !v.delete_marker => Ok(v.clone()),
            _ => Err(error::no_such_key(key)),
        },
        Some(id) => match b.version(key, id) {
            Some(v) if v.delete_marker => Err(error::method_not_allowed(method, "DeleteMarker")),
            Some(v) => Ok(v.clone()),
            None if id != "null" && id.len() < 8 => Err(error::invalid_argument(
                "Invalid version id specified",
                "versionId",
                id,
            )),
            None => Err(error::no_such_version(key, id)),
        },
    }
}

/// The bucket facts and the tags of the version a request names, for authorization.
fn facts_and_tags(
    svc: &S3,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> (Option<BucketFacts>, Vec<Tag>) {
    let st = svc.lock();
    match st.buckets.get(bucket) {
        Some(b) => {
            let v = match version {
                Some(id) => b.version(key, id),
                None => b.latest(key),
            };
            (
                Some(BucketFacts::of(b)),
                v.map(|v| v.tags.clone()).unwrap_or_default(),
            )
        }
        None => (None, Vec::new()),
    }
}

fn object_check(
    call: &Call,
    input: &Input,
    facts: Option<&BucketFacts>,
    action: &'static str,
) -> Check {
    access::check(
        call,
        input,
        facts,
        action,
        object_arn(input.bucket(), input.key()),
    )
}

/// Response members common to reads and writes of a version.
fn sse_members(out: &mut Map<String, Value>, sse: Option<&Sse>) {
    if let Some(s) = sse {
        out.insert("ServerSideEncryption".into(), s.algorithm.clone().into());
        if let Some(k) = &s.kms_key_arn {
            out.insert("SSEKMSKeyId".into(), k.clone().into());
        }
        if s.bucket_key {
            out.insert("BucketKeyEnabled".into(), true.into());
        }
    }
}

fn version_header(out: &mut Map<String, Value>, b_versioned: bool, v: &ObjectVersion) {
    if b_versioned || v.version_id != "null" {
        out.insert("VersionId".into(), v.version_id.clone().into());
    }
}

/// Streams a request body into a new blob under `key`, computing the digests.
pub async fn write_body(
    svc: &S3,
    body: &mut gateway::RequestBody,
    key: &DataKey,
    hashers: &mut Hashers,
    limit: u64,
) -> Result<BlobInfo, AwsError> {
    let mut writer = svc.store.blobs().create(key).map_err(error::internal)?;
    while let Some(chunk) = body.chunk().await {
        let chunk = chunk?;
        if writer.len() + chunk.len() as u64 > limit {
            return Err(AwsError::bad_request(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            ));
        }
        hashers.update(&chunk);
        writer.write_all(&chunk).map_err(error::internal)?;
    }
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(error::internal)?
        .map_err(error::internal)
}

/// Writes a whole body into a new blob under `key`, computing the digests.
async fn write_whole(
    svc: &S3,
    bytes: Bytes,
    key: &DataKey,
    hashers: &mut Hashers,
) -> Result<BlobInfo, AwsError> {
    let mut writer = svc.store.blobs().create(key).map_err(error::internal)?;
    hashers.update(&bytes);
    writer.write_all(&bytes).map_err(error::internal)?;
    tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(error::internal)?
        .map_err(error::internal)
}

/// An ETag from the digests: the MD5 when computed, otherwise (SSE-KMS) an opaque value.
pub fn etag_of(digests: &Digests) -> (String, String) {
    let md5 = match digests.md5 {
        Some(m) => m,
        None => {
            let mut b = [0u8; 16];
            let _ = aws_lc_rs::rand::fill(&mut b);
            b
        }
    };
    let hex = hex::encode(md5);
    (format!("\"{hex}\""), hex)
}

/// Whether to compute MD5 for the ETag: S3's ETag is the MD5 for SSE-S3 objects, not for SSE-KMS.
fn wants_md5(sse: &Sse, content_md5: Option<[u8; 16]>) -> bool {
    sse.algorithm == "AES256" || content_md5.is_some()
}

/// Write conditions of a PUT (`If-None-Match: *`, `If-Match`), checked at commit.
fn check_write_conditions(input: &Input, b: &Bucket, key: &str) -> Result<(), AwsError> {
    let current = b.latest(key).filter(|v| !v.delete_marker);
    if let Some(m) = input.str("IfNoneMatch") {
        if m.trim() != "*" {
            return Err(error::not_implemented());
        }
        if current.is_some() {
            return Err(error::precondition_failed("If-None-Match"));
        }
    }
    if let Some(m) = input.str("IfMatch") {
        match current {
            None => return Err(error::no_such_key(key)),
            Some(v)
                if m.trim() != "*" && m.trim().trim_matches('"') != v.etag.trim_matches('"') =>
            {
                return Err(error::precondition_failed("If-Match"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Commits a new version as the latest of its key; returns it and the blobs it replaced.
pub async fn commit_version(
    svc: &S3,
    call: &Call,
    input: &Input,
    mut v: ObjectVersion,
    new_blobs: &[BlobId],
) -> Result<(Arc<ObjectVersion>, bool), AwsError> {
    let result = {
        let mut st = svc.lock();
        let seq = st.next_seq();
        match st.buckets.get_mut(&v.bucket) {
            None => Err(error::no_such_bucket(&v.bucket)),
            Some(b) => match expect_owner(input, &b.rec.owner)
                .and_then(|()| check_write_conditions(input, b, &v.key))
            {
                Err(e) => Err(e),
                Ok(()) => {
                    v.seq = seq;
                    v.version_id = if b.versioning_enabled() {
                        new_version_id()
                    } else {
                        "null".into()
                    };
                    let versioned = b.rec.versioning.is_some();
                    let v = Arc::new(v);
                    let replaced = b.push_version(v.clone());
                    let mut batch = storage::Batch::new();
                    for old in &replaced {
                        batch.delete::<ObjectVersion>(&version_record_key(
                            &old.bucket,
                            &old.version_id,
                            &old.key,
                        ));
                    }
                    batch.put::<ObjectVersion>(&v);
                    Ok((v, versioned, replaced, call.submit(batch)))
                }
            },
        }
    };
    match result {
        Err(e) => {
            for id in new_blobs {
                let _ = svc.delete_blob(*id);
            }
            Err(e)
        }
        Ok((v, versioned, replaced, pending)) => {
            pending.await?;
            delete_blobs(
                svc,
                replaced
                    .iter()
                    .flat_map(|o| o.chunks.iter().map(|c| c.blob)),
            );
            Ok((v, versioned))
        }
    }
}

/// Removes blobs whose metadata is gone (after the commit).
pub fn delete_blobs(svc: &S3, ids: impl IntoIterator<Item = BlobId>) {
    for id in ids {
        if let Err(e) = svc.delete_blob(id) {
            tracing::warn!(blob = %id, error = %e, "could not remove a replaced blob; the startup sweep will");
        }
    }
}

// ---- PutObject

pub fn auth_put_object(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    let tags = match input.str("Tagging") {
        Some(t) => tags_from_header(t)?,
        None => Vec::new(),
    };
    let put = access::encryption_keys(
        object_check(call, input, facts.as_ref(), "s3:PutObject"),
        input,
    );
    let put = access::request_tags(put, &tags);
    let mut auth = Authorization::check(put);
    if !tags.is_empty() {
        let c = object_check(call, input, facts.as_ref(), "s3:PutObjectTagging");
        auth = auth.and(access::request_tags(c, &tags));
    }
    Ok(auth)
}

/// Reads and discards what is left of a request body (up to a bound), so an early error
/// reaches a client that is still sending.
pub async fn drain(body: &mut gateway::RequestBody) {
    let mut left: usize = 64 << 20;
    while let Some(Ok(chunk)) = body.chunk().await {
        left = left.saturating_sub(chunk.len());
        if left == 0 {
            break;
        }
    }
}

fn put_choice(
    svc: &S3,
    input: &Input,
    declared_length: Option<u64>,
) -> Result<(Vec<Tag>, sse::Choice), AwsError> {
    if input.key().len() > 1024 {
        return Err(AwsError::bad_request(
            "KeyTooLongError",
            "Your key is too long",
        ));
    }
    let tags = match input.str("Tagging") {
        Some(t) => tags_from_header(t)?,
        None => Vec::new(),
    };
    validate_tags(&tags, 10)?;
    if declared_length.is_some_and(|n| n > MAX_PUT) {
        return Err(AwsError::bad_request(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        ));
    }
    let st = svc.lock();
    let bucket = input.bucket();
    let b = st
        .buckets
        .get(bucket)
        .ok_or_else(|| error::no_such_bucket(bucket))?;
    expect_owner(input, &b.rec.owner)?;
    check_acl(input, b)?;
    let choice = sse::choose(
        input.str("ServerSideEncryption"),
        input.str("SSEKMSKeyId"),
        input.bool("BucketKeyEnabled"),
        &b.rec,
    )?;
    Ok((tags, choice))
}

pub async fn put_object(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let mut body = call
        .take_body()
        .ok_or_else(|| error::invalid_request("the request has no body"))?;
    let result = put_object_body(&svc, &call, &input, Source::Stream(&mut body)).await;
    if result.is_err() {
        drain(&mut body).await;
    }
    result
}

/// Where a PUT's body comes from: the request, or a service writing a whole object.
enum Source<'a> {
    Stream(&'a mut gateway::RequestBody),
    Whole(Bytes),
}

async fn put_object_body(
    svc: &Arc<S3>,
    call: &Call,
    input: &Input,
    body: Source<'_>,
) -> Result<Value, AwsError> {
    let declared = match &body {
        Source::Stream(b) => b.declared_length(),
        Source::Whole(b) => Some(b.len() as u64),
    };
    let (tags, choice) = put_choice(svc, input, declared)?;
    let bucket = input.bucket().to_string();
    let key = input.key().to_string();
    let md5 = checksum::content_md5(input.map())?;
    let declared: Declared = checksum::declared(input.map())?;
    let arn = object_arn(&bucket, &key);
    let (data_key, sse) = svc.keys.generate(call, &choice, &bucket, &arn).await?;
    let mut hashers = Hashers::new(wants_md5(&sse, md5), declared.algorithm);
    let info = match body {
        Source::Stream(body) => write_body(svc, body, &data_key, &mut hashers, MAX_PUT).await?,
        Source::Whole(bytes) => write_whole(svc, bytes, &data_key, &mut hashers).await?,
    };
    let digests = hashers.finish();
    if let Err(e) = checksum::check(&digests, md5, &declared) {
        let _ = svc.delete_blob(info.id);
        return Err(e);
    }
    let (etag, _) = etag_of(&digests);
    let v = ObjectVersion {
        bucket: bucket.clone(),
        key: key.clone(),
        version_id: String::new(),
        seq: 0,
        delete_marker: false,
        last_modified: now(),
        etag,
        size: info.len,
        headers: headers_from_input(input),
        tags,
        sse: Some(sse),
        chunks: vec![Chunk {
            blob: info.id,
            len: info.len,
        }],
        checksum: digests.checksum.map(|(a, v)| (a.name().to_string(), v)),
        parts: None,
        owner: call.account().to_string(),
    };
    let (v, versioned) = commit_version(svc, call, input, v, &[info.id]).await?;
    let mut out = Map::new();
    out.insert("ETag".into(), v.etag.clone().into());
    sse_members(&mut out, v.sse.as_ref());
    version_header(&mut out, versioned, &v);
    if let Some((alg, value)) = &v.checksum
        && let Some(a) = sigv4::ChecksumAlgorithm::from_name(alg)
    {
        out.insert(checksum::member(a).into(), value.clone().into());
        out.insert("ChecksumType".into(), "FULL_OBJECT".into());
    }
    out.insert("Size".into(), v.size.into());
    Ok(Value::Object(out))
}

// ---- DeliverObject

/// An object an AWS service writes on its own account's behalf (log delivery): authorized as
/// the `s3:PutObject` of a request from that service principal — the bucket policy must allow
/// it — with `aws:SourceAccount` and `aws:SourceArn` supplied and
/// `x-amz-acl: bucket-owner-full-control`, as AWS's log delivery sends. Run it with
/// `Call::invoke_as_service`; it appears in the audit trail as `PutObject`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeliverObject {
    /// The bucket.
    #[serde(rename = "bucketName")]
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The object's `Content-Type`.
    #[serde(
        rename = "Content-Type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub content_type: Option<String>,
    /// The account of the resource the delivery is for (`aws:SourceAccount`).
    #[serde(skip)]
    pub source_account: String,
    /// The resource the delivery is for (`aws:SourceArn`).
    #[serde(skip)]
    pub source_arn: String,
    /// The body.
    #[serde(skip)]
    pub body: Bytes,
}

impl DeliverObject {
    fn input(&self) -> Input {
        let mut m = Map::new();
        m.insert("Bucket".into(), self.bucket.clone().into());
        m.insert("Key".into(), self.key.clone().into());
        m.insert("ACL".into(), "bucket-owner-full-control".into());
        if let Some(ct) = &self.content_type {
            m.insert("ContentType".into(), ct.clone().into());
        }
        Input::new(m)
    }
}

impl gateway::Operation for DeliverObject {
    type Service = S3;
    type Output = Value;
    const NAME: &'static str = "PutObject";

    fn authorize(&self, svc: &S3, call: &Call) -> Result<Authorization, AwsError> {
        let mut auth = auth_put_object(svc, call, &self.input())?;
        for c in &mut auth.checks {
            let with = std::mem::replace(c, Check::new("", ""))
                .with("aws:SourceAccount", self.source_account.clone())
                .with("aws:SourceArn", self.source_arn.clone());
            *c = with;
        }
        Ok(auth)
    }

    async fn handle(self, svc: Arc<S3>, call: Call) -> Result<Value, AwsError> {
        let input = self.input();
        put_object_body(&svc, &call, &input, Source::Whole(self.body)).await
    }
}

// ---- GetObject / HeadObject

pub fn auth_get_object(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let version = input.str("VersionId");
    let (facts, tags) = facts_and_tags(svc, input.bucket(), input.key(), version);
    let action = if version.is_some() {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    let c = object_check(call, input, facts.as_ref(), action);
    Ok(Authorization::check(access::existing_tags(c, &tags)))
}

pub async fn get_object(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    read_object(svc, call, input, false).await
}

pub async fn head_object(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    read_object(svc, call, input, true).await
}

async fn read_object(
    svc: Arc<S3>,
    call: Call,
    input: Input,
    head: bool,
) -> Result<Value, AwsError> {
    let bucket = input.bucket().to_string();
    let key = input.key().to_string();
    let method = if head { "HEAD" } else { "GET" };
    let (v, versioned) = {
        let st = svc.lock();
        let b = st
            .buckets
            .get(&bucket)
            .ok_or_else(|| error::no_such_bucket(&bucket))?;
        expect_owner(&input, &b.rec.owner)?;
        (
            find_version(b, &key, input.str("VersionId"), method)?,
            b.rec.versioning.is_some(),
        )
    };
    let conditions = Conditions {
        if_match: input.str("IfMatch"),
        if_none_match: input.str("IfNoneMatch"),
        if_modified_since: input.time("IfModifiedSince"),
        if_unmodified_since: input.time("IfUnmodifiedSince"),
    };
    let mut out = Map::new();
    out.insert("ETag".into(), v.etag.clone().into());
    out.insert("LastModified".into(), v.last_modified.into());
    version_header(&mut out, versioned, &v);
    if http_semantics::evaluate(&conditions, &v.etag, v.last_modified)? == Outcome::NotModified {
        call.set_status(304);
        return Ok(Value::Object(out));
    }
    // The whole object, one part of it (`partNumber`), or a range.
    let lens: Vec<u64> = v.chunks.iter().map(|c| c.len).collect();
    let mut range = 0..v.size;
    let mut partial = false;
    if let Some(n) = input.int("PartNumber") {
        if input.str("Range").is_some() {
            return Err(error::invalid_request(
                "Cannot specify both Range header and partNumber query parameter",
            ));
        }
        let count = v.parts.unwrap_or(1) as i64;
        if n < 1 || n > count.max(1) {
            return Err(AwsError::new(
                "InvalidPartNumber",
                416,
                "The requested partnumber is not satisfiable",
            )
            .with("PartNumberRequested", n.to_string())
            .with("ActualPartCount", count.to_string()));
        }
        if v.parts.is_some() {
            let start: u64 = lens[..(n - 1) as usize].iter().sum();
            range = start..start + lens[(n - 1) as usize];
            partial = true;
        }
        out.insert("PartsCount".into(), count.into());
    } else if let Some(r) = http_semantics::parse_range(input.str("Range"), v.size)? {
        range = r.start..r.end;
        partial = true;
    }
    if partial {
        out.insert(
            "ContentRange".into(),
            format!(
                "bytes {}-{}/{}",
                range.start,
                range.end.saturating_sub(1),
                v.size
            )
            .into(),
        );
    }
    out.insert("ContentLength".into(), (range.end - range.start).into());
    out.insert("AcceptRanges".into(), "bytes".into());
    let h = &v.headers;
    out.insert(
        "ContentType".into(),
        h.content_type
            .clone()
            .unwrap_or_else(|| "binary/octet-stream".into())
            .into(),
    );
    for (member, value, over) in [
        (
            "ContentEncoding",
            &h.content_encoding,
            "ResponseContentEncoding",
        ),
        (
            "ContentDisposition",
            &h.content_disposition,
            "ResponseContentDisposition",
        ),
        (
            "ContentLanguage",
            &h.content_language,
            "ResponseContentLanguage",
        ),
        ("CacheControl", &h.cache_control, "ResponseCacheControl"),
        ("Expires", &h.expires, "ResponseExpires"),
        ("WebsiteRedirectLocation", &h.website_redirect, ""),
        ("StorageClass", &h.storage_class, ""),
    ] {
        if let Some(x) = value {
            out.insert(member.into(), x.clone().into());
        }
        if !over.is_empty()
            && let Some(x) = input.str(over)
        {
            out.insert(member.into(), x.into());
        }
    }
    if let Some(t) = input.str("ResponseContentType") {
        out.insert("ContentType".into(), t.into());
    }
    if !h.metadata.is_empty() {
        out.insert("Metadata".into(), json!(h.metadata));
    }
    if !v.tags.is_empty() {
        out.insert("TagCount".into(), v.tags.len().into());
    }
    if let Some(p) = v.parts
        && input.int("PartNumber").is_none()
        && head
    {
        let _ = p;
    }
    sse_members(&mut out, v.sse.as_ref());
    if input.str("ChecksumMode") == Some("ENABLED")
        && !partial
        && let Some((alg, value)) = &v.checksum
        && let Some(a) = sigv4::ChecksumAlgorithm::from_name(alg)
    {
        out.insert(checksum::member(a).into(), value.clone().into());
        out.insert("ChecksumType".into(), "FULL_OBJECT".into());
    }
    if partial {
        call.set_status(206);
    }
    if head {
        return Ok(Value::Object(out));
    }
    let key_bytes = match &v.sse {
        Some(s) => {
            svc.keys
                .open(&call, s, &bucket, &object_arn(&bucket, &key))
                .await?
        }
        None => return Err(AwsError::internal("object without encryption metadata")),
    };
    let small = range.end - range.start <= SMALL_BODY;
    let mut body = Vec::new();
    for (i, r) in pieces(&lens, range) {
        let reader = svc
            .open_blob(v.chunks[i].blob, &key_bytes)
            .map_err(error::internal)?;
        body.push(Piece { reader, range: r });
    }
    if small {
        // A small body is decrypted here and sent in one piece.
        let mut out = Vec::new();
        for p in body {
            for chunk in p.reader.read_range(p.range).map_err(error::internal)? {
                out.extend_from_slice(&chunk.map_err(error::internal)?);
            }
        }
        call.set_stream(gateway::body::full(out));
    } else {
        call.set_stream(ObjectBody::new(body).boxed());
    }
    Ok(Value::Object(out))
}

// ---- DeleteObject

pub fn auth_delete_object(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    let action = if input.str("VersionId").is_some() {
        "s3:DeleteObjectVersion"
    } else {
        "s3:DeleteObject"
    };
    Ok(Authorization::check(object_check(
        call,
        input,
        facts.as_ref(),
        action,
    )))
}

/// What deleting one key did.
struct Deleted {
    version_id: Option<String>,
    delete_marker: bool,
    marker_version: Option<String>,
}

/// Deletes under the lock, adding the changes to `batch` and the freed blobs to `blobs`.
fn delete_one(
    b: &mut Bucket,
    key: &str,
    version_id: Option<&str>,
    seq: u64,
    owner: &str,
    batch: &mut storage::Batch,
    blobs: &mut Vec<BlobId>,
) -> Result<Deleted, AwsError> {
    if let Some(id) = version_id {
        if b.version(key, id).is_none() {
            if id != "null" && id.len() < 8 {
                return Err(error::invalid_argument(
                    "Invalid version id specified",
                    "versionId",
                    id,
                ));
            }
            // Deleting a version that does not exist succeeds.
            return Ok(Deleted {
                version_id: Some(id.to_string()),
                delete_marker: false,
                marker_version: None,
            });
        }
        let Some(v) = b.remove_version(key, id) else {
            return Err(error::no_such_version(key, id));
        };
        batch.delete::<ObjectVersion>(&version_record_key(&v.bucket, &v.version_id, &v.key));
        blobs.extend(v.chunks.iter().map(|c| c.blob));
        return Ok(Deleted {
            version_id: Some(id.to_string()),
            delete_marker: v.delete_marker,
            marker_version: None,
        });
    }
    match b.rec.versioning.as_deref() {
        None => {
            if let Some(v) = b.remove_version(key, "null") {
                batch.delete::<ObjectVersion>(&version_record_key(
                    &v.bucket,
                    &v.version_id,
                    &v.key,
                ));
                blobs.extend(v.chunks.iter().map(|c| c.blob));
            }
            Ok(Deleted {
                version_id: None,
                delete_marker: false,
                marker_version: None,
            })
        }
        Some(status) => {
            let marker = ObjectVersion {
                bucket: b.rec.name.clone(),
                key: key.to_string(),
                version_id: if status == "Enabled" {
                    new_version_id()
                } else {
                    "null".into()
                },
                seq,
                delete_marker: true,
                last_modified: now(),
                etag: String::new(),
                size: 0,
                headers: Headers::default(),
                tags: Vec::new(),
                sse: None,
                chunks: Vec::new(),
                checksum: None,
                parts: None,
                owner: owner.to_string(),
            };
            let id = marker.version_id.clone();
            let marker = Arc::new(marker);
            for old in b.push_version(marker.clone()) {
                batch.delete::<ObjectVersion>(&version_record_key(
                    &old.bucket,
                    &old.version_id,
                    &old.key,
                ));
                blobs.extend(old.chunks.iter().map(|c| c.blob));
            }
            batch.put::<ObjectVersion>(&marker);
            Ok(Deleted {
                version_id: None,
                delete_marker: true,
                marker_version: Some(id),
            })
        }
    }
}

pub async fn delete_object(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let bucket = input.bucket().to_string();
    let mut blobs = Vec::new();
    let (d, pending) = {
        let mut st = svc.lock();
        let seq = st.next_seq();
        let b = st
            .buckets
            .get_mut(&bucket)
            .ok_or_else(|| error::no_such_bucket(&bucket))?;
        expect_owner(&input, &b.rec.owner)?;
        let mut batch = storage::Batch::new();
        let d = delete_one(
            b,
            input.key(),
            input.str("VersionId"),
            seq,
            call.account(),
            &mut batch,
            &mut blobs,
        )?;
        (d, call.submit(batch))
    };
    pending.await?;
    delete_blobs(&svc, blobs);
    let mut out = Map::new();
    if d.delete_marker {
        out.insert("DeleteMarker".into(), true.into());
    }
    if let Some(v) = d.marker_version.or(d.version_id) {
        out.insert("VersionId".into(), v.into());
    }
    Ok(Value::Object(out))
}

// ---- DeleteObjects

fn delete_list(input: &Input) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let objects = input
        .get("Delete")
        .and_then(|d| d.get("Objects"))
        .and_then(Value::as_array)
        .ok_or_else(error::malformed_xml)?;
    if objects.is_empty() || objects.len() > 1000 {
        return Err(error::malformed_xml());
    }
    objects
        .iter()
        .map(|o| {
            let key = o
                .get("Key")
                .and_then(Value::as_str)
                .ok_or_else(error::malformed_xml)?;
            Ok((
                key.to_string(),
                o.get("VersionId")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ))
        })
        .collect()
}

/// Every key is authorized before anything is deleted: a request naming a key the caller
/// may not delete is denied as a whole (S3 reports such keys one by one instead).
pub fn auth_delete_objects(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    let list = delete_list(input)?;
    let checks = list
        .iter()
        .map(|(key, version)| {
            let action = if version.is_some() {
                "s3:DeleteObjectVersion"
            } else {
                "s3:DeleteObject"
            };
            access::check(
                call,
                input,
                facts.as_ref(),
                action,
                object_arn(input.bucket(), key),
            )
        })
        .collect();
    Ok(Authorization::all(checks))
}

pub async fn delete_objects(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    if input.str("ContentMD5").is_none()
        && !checksum::MEMBERS
            .iter()
            .any(|(m, _)| input.str(m).is_some())
    {
        return Err(error::invalid_request(
            "Missing required header for this request: Content-MD5",
        ));
    }
    let list = delete_list(&input)?;
    let quiet = input
        .get("Delete")
        .and_then(|d| d.get("Quiet"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let bucket = input.bucket().to_string();
    let mut blobs = Vec::new();
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    let pending = {
        let mut st = svc.lock();
        if !st.buckets.contains_key(&bucket) {
            return Err(error::no_such_bucket(&bucket));
        }
        let mut batch = storage::Batch::new();
        for (key, version) in &list {
            let seq = st.next_seq();
            let Some(b) = st.buckets.get_mut(&bucket) else {
                break;
            };
            expect_owner(&input, &b.rec.owner)?;
            match delete_one(
                b,
                key,
                version.as_deref(),
                seq,
                call.account(),
                &mut batch,
                &mut blobs,
            ) {
                Ok(d) => {
                    if !quiet {
                        let mut e = Map::new();
                        e.insert("Key".into(), key.clone().into());
                        if let Some(v) = &d.version_id {
                            e.insert("VersionId".into(), v.clone().into());
                        }
                        if d.delete_marker {
                            e.insert("DeleteMarker".into(), true.into());
                        }
                        if let Some(m) = &d.marker_version {
                            e.insert("DeleteMarkerVersionId".into(), m.clone().into());
                        }
                        deleted.push(Value::Object(e));
                    }
                }
                Err(e) => errors.push(
                    json!({"Key": key, "VersionId": version, "Code": e.code, "Message": e.message}),
                ),
            }
        }
        call.submit(batch)
    };
    pending.await?;
    delete_blobs(&svc, blobs);
    Ok(json!({"Deleted": deleted, "Errors": errors}))
}

// ---- CopyObject

/// The source of a copy: bucket, key, version.
pub fn copy_source(input: &Input) -> Result<(String, String, Option<String>), AwsError> {
    let raw = input.str("CopySource").unwrap_or("");
    let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
    let path = percent_decode_str(path).decode_utf8().map_err(|_| {
        error::invalid_argument("Invalid copy source encoding", "x-amz-copy-source", raw)
    })?;
    let path = path.strip_prefix('/').unwrap_or(&path);
    let Some((b, k)) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        return Err(error::invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            "x-amz-copy-source",
            raw,
        ));
    };
    let version = query
        .split('&')
        .find_map(|p| p.strip_prefix("versionId="))
        .map(str::to_string);
    Ok((b.to_string(), k.to_string(), version))
}

pub fn auth_copy_object(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let (sb, sk, sv) = copy_source(input)?;
    let (src_facts, src_tags) = facts_and_tags(svc, &sb, &sk, sv.as_deref());
    let action = if sv.is_some() {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    let get = access::check(
        call,
        input,
        src_facts.as_ref(),
        action,
        object_arn(&sb, &sk),
    );
    let get = access::existing_tags(get, &src_tags);
    let facts = svc.bucket_facts(input.bucket());
    let mut put = access::encryption_keys(
        object_check(call, input, facts.as_ref(), "s3:PutObject"),
        input,
    )
    .with(
        "s3:x-amz-copy-source",
        input.str("CopySource").unwrap_or(""),
    );
    if let Some(d) = input.str("MetadataDirective") {
        put = put.with("s3:x-amz-metadata-directive", d);
    }
    let replace_tags = input.str("TaggingDirective") == Some("REPLACE");
    let tags = match input.str("Tagging") {
        Some(t) if replace_tags => tags_from_header(t)?,
        _ => Vec::new(),
    };
    let mut auth = Authorization::all(vec![get, access::request_tags(put, &tags)]);
    if !tags.is_empty() {
        let c = object_check(call, input, facts.as_ref(), "s3:PutObjectTagging");
        auth = auth.and(access::request_tags(c, &tags));
    }
    Ok(auth)
}

/// Copies plaintext `pieces` into a new blob under `key` (blocking: run off the async threads).
pub fn copy_pieces(
    svc: &S3,
    pieces: Vec<Piece>,
    key: &DataKey,
    md5: bool,
) -> Result<(BlobInfo, Digests), AwsError> {
    let mut writer = svc.store.blobs().create(key).map_err(error::internal)?;
    let mut hashers = Hashers::new(md5, None);
    for p in pieces {
        let mut r = p.reader.read_range(p.range).map_err(error::internal)?;
        while let Some(chunk) = r.next_chunk().map_err(error::internal)? {
            hashers.update(&chunk);
            writer.write_all(&chunk).map_err(error::internal)?;
        }
    }
    let info = writer.finish().map_err(error::internal)?;
    Ok((info, hashers.finish()))
}

fn copy_conditions(input: &Input, v: &ObjectVersion) -> Result<(), AwsError> {
    let c = Conditions {
        if_match: input.str("CopySourceIfMatch"),
        if_none_match: input.str("CopySourceIfNoneMatch"),
        if_modified_since: input.time("CopySourceIfModifiedSince"),
        if_unmodified_since: input.time("CopySourceIfUnmodifiedSince"),
    };
    match http_semantics::evaluate(&c, &v.etag, v.last_modified)? {
        Outcome::Proceed => Ok(()),
        Outcome::NotModified => Err(error::precondition_failed(
            "x-amz-copy-source-If-None-Match",
        )),
    }
}

/// Reads a source version for a copy.
pub fn copy_source_version(
    svc: &S3,
    input: &Input,
) -> Result<(String, String, Arc<ObjectVersion>), AwsError> {
    let (sb, sk, sv) = copy_source(input)?;
    let st = svc.lock();
    let b = st
        .buckets
        .get(&sb)
        .ok_or_else(|| error::no_such_bucket(&sb))?;
    if let Some(want) = input.str("ExpectedSourceBucketOwner")
        && want != b.rec.owner
    {
        return Err(error::access_denied("Access Denied"));
    }
    let v = find_version(b, &sk, sv.as_deref(), "GET")?;
    copy_conditions(input, &v)?;
    Ok((sb, sk, v))
}

pub async fn copy_object(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let (sb, sk, src) = copy_source_version(&svc, &input)?;
    let bucket = input.bucket().to_string();
    let key = input.key().to_string();
    let replace_meta = match input.str("MetadataDirective") {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(d) => {
            return Err(error::invalid_argument(
                "Unknown metadata directive.",
                "x-amz-metadata-directive",
                d,
            ));
        }
    };
    let tags = match input.str("TaggingDirective") {
        None | Some("COPY") => src.tags.clone(),
        Some("REPLACE") => match input.str("Tagging") {
            Some(t) => tags_from_header(t)?,
            None => Vec::new(),
        },
        Some(d) => {
            return Err(error::invalid_argument(
                "Unknown tagging directive.",
                "x-amz-tagging-directive",
                d,
            ));
        }
    };
    validate_tags(&tags, 10)?;
    let choice = {
        let st = svc.lock();
        let b = st
            .buckets
            .get(&bucket)
            .ok_or_else(|| error::no_such_bucket(&bucket))?;
        expect_owner(&input, &b.rec.owner)?;
        check_acl(&input, b)?;
        sse::choose(
            input.str("ServerSideEncryption"),
            input.str("SSEKMSKeyId"),
            input.bool("BucketKeyEnabled"),
            &b.rec,
        )?
    };
    let changes_encryption =
        input.str("ServerSideEncryption").is_some() || input.str("SSEKMSKeyId").is_some();
    if sb == bucket
        && sk == key
        && !replace_meta
        && !changes_encryption
        && input.str("StorageClass").is_none()
    {
        return Err(error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let src_sse = src
        .sse
        .clone()
        .ok_or_else(|| AwsError::internal("object without encryption metadata"))?;
    let src_key = svc
        .keys
        .open(&call, &src_sse, &sb, &object_arn(&sb, &sk))
        .await?;
    let (dst_key, sse) = svc
        .keys
        .generate(&call, &choice, &bucket, &object_arn(&bucket, &key))
        .await?;
    let lens: Vec<u64> = src.chunks.iter().map(|c| c.len).collect();
    let mut ps = Vec::new();
    for (i, r) in pieces(&lens, 0..src.size) {
        let reader = svc
            .open_blob(src.chunks[i].blob, &src_key)
            .map_err(error::internal)?;
        ps.push(Piece { reader, range: r });
    }
    if src.size == 0 {
        // An empty object still has one (empty) chunk to authenticate; nothing to copy.
        ps.clear();
    }
    let md5 = sse.algorithm == "AES256";
    let svc2 = svc.clone();
    let (info, digests) =
        tokio::task::spawn_blocking(move || copy_pieces(&svc2, ps, &dst_key, md5))
            .await
            .map_err(error::internal)??;
    let etag = if md5 {
        etag_of(&digests).0
    } else {
        etag_of(&Digests::default()).0
    };
    let headers = if replace_meta {
        headers_from_input(&input)
    } else {
        src.headers.clone()
    };
    let v = ObjectVersion {
        bucket: bucket.clone(),
        key: key.clone(),
        version_id: String::new(),
        seq: 0,
        delete_marker: false,
        last_modified: now(),
        etag,
        size: info.len,
        headers,
        tags,
        sse: Some(sse),
        chunks: vec![Chunk {
            blob: info.id,
            len: info.len,
        }],
        checksum: src.checksum.clone(),
        parts: None,
        owner: call.account().to_string(),
    };
    let (v, versioned) = commit_version(&svc, &call, &input, v, &[info.id]).await?;
    let mut out = Map::new();
    out.insert(
        "CopyObjectResult".into(),
        json!({"ETag": v.etag, "LastModified": v.last_modified}),
    );
    sse_members(&mut out, v.sse.as_ref());
    version_header(&mut out, versioned, &v);
    if src.version_id != "null" {
        out.insert("CopySourceVersionId".into(), src.version_id.clone().into());
    }
    Ok(Value::Object(out))
}

// ---- Object tagging

fn tagging_auth(
    svc: &S3,
    call: &Call,
    input: &Input,
    action: &'static str,
    version_action: &'static str,
    request: Option<&[Tag]>,
) -> Result<Authorization, AwsError> {
    let version = input.str("VersionId");
    let (facts, tags) = facts_and_tags(svc, input.bucket(), input.key(), version);
    let c = object_check(
        call,
        input,
        facts.as_ref(),
        if version.is_some() {
            version_action
        } else {
            action
        },
    );
    let c = access::existing_tags(c, &tags);
    let c = match request {
        Some(t) => access::request_tags(c, t),
        None => c,
    };
    Ok(Authorization::check(c))
}

pub fn auth_put_object_tagging(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    let tags = tags_from_payload(input.get("Tagging"))?;
    tagging_auth(
        svc,
        call,
        input,
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        Some(&tags),
    )
}

pub fn auth_get_object_tagging(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    tagging_auth(
        svc,
        call,
        input,
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
        None,
    )
}

pub fn auth_delete_object_tagging(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    tagging_auth(
        svc,
        call,
        input,
        "s3:DeleteObjectTagging",
        "s3:DeleteObjectVersionTagging",
        None,
    )
}

async fn set_tags(svc: &S3, call: &Call, input: &Input, tags: Vec<Tag>) -> Result<Value, AwsError> {
    let bucket = input.bucket();
    let (v, pending) = {
        let mut st = svc.lock();
        let b = st
            .buckets
            .get_mut(bucket)
            .ok_or_else(|| error::no_such_bucket(bucket))?;
        expect_owner(input, &b.rec.owner)?;
        let v = find_version(b, input.key(), input.str("VersionId"), "PUT")?;
        let mut nv = (*v).clone();
        nv.tags = tags;
        let nv = Arc::new(nv);
        b.replace_version(nv.clone());
        let mut batch = storage::Batch::new();
        batch.put::<ObjectVersion>(&nv);
        (nv, call.submit(batch))
    };
    pending.await?;
    let mut out = Map::new();
    if v.version_id != "null" {
        out.insert("VersionId".into(), v.version_id.clone().into());
    }
    Ok(Value::Object(out))
}

pub async fn put_object_tagging(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let tags = tags_from_payload(input.get("Tagging"))?;
    validate_tags(&tags, 10)?;
    set_tags(&svc, &call, &input, tags).await
}

pub async fn delete_object_tagging(
    svc: Arc<S3>,
    call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    set_tags(&svc, &call, &input, Vec::new()).await
}

pub async fn get_object_tagging(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    let st = svc.lock();
    let bucket = input.bucket();
    let b = st
        .buckets
        .get(bucket)
        .ok_or_else(|| error::no_such_bucket(bucket))?;
    expect_owner(&input, &b.rec.owner)?;
    let v = find_version(b, input.key(), input.str("VersionId"), "GET")?;
    let mut out = Map::new();
    out.insert("TagSet".into(), tag_set(&v.tags));
    if v.version_id != "null" {
        out.insert("VersionId".into(), v.version_id.clone().into());
    }
    Ok(Value::Object(out))
}

/// The base64 MD5 of data, as Content-MD5 carries it (for tests).
#[allow(dead_code)]
pub fn content_md5_of(data: &[u8]) -> String {
    STANDARD.encode(checksum::md5(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> Input {
        Input::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        )
    }

    #[test]
    fn copy_sources_parse() {
        assert_eq!(
            copy_source(&input(&[("CopySource", "/b/dir/a%20b.txt?versionId=v1")])).unwrap(),
            ("b".into(), "dir/a b.txt".into(), Some("v1".into()))
        );
        assert_eq!(
            copy_source(&input(&[("CopySource", "b/k")])).unwrap(),
            ("b".into(), "k".into(), None)
        );
        assert!(copy_source(&input(&[("CopySource", "b")])).is_err());
    }
}
