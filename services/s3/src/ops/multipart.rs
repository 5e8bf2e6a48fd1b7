//! Multipart uploads: create, upload part (and part copy), complete, abort, list uploads,
//! list parts. Each part is its own blob under the upload's data key; completing an upload
//! makes those blobs the chunks of the new version, so nothing is copied.

use std::collections::BTreeMap;
use std::sync::Arc;

use gateway::{Authorization, AwsError, Call};
use serde_json::{Map, Value, json};

use super::object::{
    commit_version, copy_pieces, copy_source, copy_source_version, delete_blobs, etag_of,
    write_body,
};
use super::{check_acl, expect_owner, headers_from_input, now, tags_from_header, validate_tags};
use crate::S3;
use crate::access;
use crate::body::{Piece, pieces};
use crate::checksum::{self, Hashers};
use crate::error;
use crate::input::Input;
use crate::names::{canonical_id, new_upload_id, object_arn};
use crate::sse;
use crate::state::{Chunk, ObjectVersion, PartRecord, Upload, UploadRecord, part_record_key};

/// Smallest part other than the last (5 MiB).
const MIN_PART: u64 = 5 << 20;
/// Largest part (5 GiB).
const MAX_PART: u64 = 5 << 30;

fn put_check(svc: &S3, call: &Call, input: &Input) -> gateway::Check {
    let facts = svc.bucket_facts(input.bucket());
    access::check(
        call,
        input,
        facts.as_ref(),
        "s3:PutObject",
        object_arn(input.bucket(), input.key()),
    )
}

pub fn auth_create(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let tags = match input.str("Tagging") {
        Some(t) => tags_from_header(t)?,
        None => Vec::new(),
    };
    let c = access::request_tags(
        access::encryption_keys(put_check(svc, call, input), input),
        &tags,
    );
    let mut auth = Authorization::check(c);
    if !tags.is_empty() {
        let facts = svc.bucket_facts(input.bucket());
        let c = access::check(
            call,
            input,
            facts.as_ref(),
            "s3:PutObjectTagging",
            object_arn(input.bucket(), input.key()),
        );
        auth = auth.and(access::request_tags(c, &tags));
    }
    Ok(auth)
}

fn sse_out(out: &mut Map<String, Value>, s: &crate::state::Sse) {
    out.insert("ServerSideEncryption".into(), s.algorithm.clone().into());
    if let Some(k) = &s.kms_key_arn {
        out.insert("SSEKMSKeyId".into(), k.clone().into());
    }
    if s.bucket_key {
        out.insert("BucketKeyEnabled".into(), true.into());
    }
}

pub async fn create(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let bucket = input.bucket().to_string();
    let key = input.key().to_string();
    let tags = match input.str("Tagging") {
        Some(t) => tags_from_header(t)?,
        None => Vec::new(),
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
    let algorithm = match input.str("ChecksumAlgorithm") {
        Some(a) => Some(
            sigv4::ChecksumAlgorithm::from_name(a)
                .ok_or_else(|| {
                    error::invalid_request(format!("Checksum algorithm `{a}` is not supported."))
                })?
                .name()
                .to_string(),
        ),
        None => None,
    };
    let (_key, sse) = svc
        .keys
        .generate(&call, &choice, &bucket, &object_arn(&bucket, &key))
        .await?;
    let rec = UploadRecord {
        upload_id: new_upload_id(),
        bucket: bucket.clone(),
        key: key.clone(),
        initiated: now(),
        initiator_arn: call.caller.arn.clone(),
        initiator_id: call.caller.principal_id.clone(),
        owner: call.account().to_string(),
        headers: headers_from_input(&input),
        tags,
        sse: sse.clone(),
        checksum_algorithm: algorithm.clone(),
    };
    let pending = {
        let mut st = svc.lock();
        if !st.buckets.contains_key(&bucket) {
            return Err(error::no_such_bucket(&bucket));
        }
        let mut batch = storage::Batch::new();
        batch.put(&rec);
        st.uploads.insert(
            rec.upload_id.clone(),
            Upload {
                rec: rec.clone(),
                parts: BTreeMap::new(),
            },
        );
        call.submit(batch)
    };
    pending.await?;
    let mut out = Map::new();
    out.insert("Bucket".into(), bucket.into());
    out.insert("Key".into(), key.into());
    out.insert("UploadId".into(), rec.upload_id.into());
    if let Some(a) = algorithm {
        out.insert("ChecksumAlgorithm".into(), a.into());
        out.insert("ChecksumType".into(), "COMPOSITE".into());
    }
    sse_out(&mut out, &sse);
    Ok(Value::Object(out))
}

/// The upload a part request names, checked against its bucket and key.
fn upload_of(svc: &S3, input: &Input) -> Result<UploadRecord, AwsError> {
    let id = input.str("UploadId").unwrap_or("");
    let st = svc.lock();
    let b = st
        .buckets
        .get(input.bucket())
        .ok_or_else(|| error::no_such_bucket(input.bucket()))?;
    expect_owner(input, &b.rec.owner)?;
    match st.uploads.get(id) {
        Some(u) if u.rec.bucket == input.bucket() && u.rec.key == input.key() => Ok(u.rec.clone()),
        _ => Err(error::no_such_upload(id)),
    }
}

fn part_number(input: &Input) -> Result<u32, AwsError> {
    match input.int("PartNumber") {
        Some(n) if (1..=10_000).contains(&n) => Ok(n as u32),
        n => Err(error::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
            "partNumber",
            &n.map(|n| n.to_string()).unwrap_or_default(),
        )),
    }
}

/// Records a part, replacing (and freeing) an earlier part with the same number.
async fn commit_part(svc: &S3, call: &Call, part: PartRecord) -> Result<(), AwsError> {
    let result = {
        let mut st = svc.lock();
        match st.uploads.get_mut(&part.upload_id) {
            None => Err(error::no_such_upload(&part.upload_id)),
            Some(u) => {
                let old = u.parts.insert(part.number, part.clone());
                let mut batch = storage::Batch::new();
                batch.put(&part);
                Ok((old, call.submit(batch)))
            }
        }
    };
    match result {
        Err(e) => {
            let _ = svc.delete_blob(part.chunk.blob);
            Err(e)
        }
        Ok((old, pending)) => {
            pending.await?;
            if let Some(old) = old {
                delete_blobs(svc, [old.chunk.blob]);
            }
            Ok(())
        }
    }
}

pub fn auth_upload_part(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(put_check(svc, call, input)))
}

pub async fn upload_part(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let mut body = call
        .take_body()
        .ok_or_else(|| error::invalid_request("the request has no body"))?;
    let result = upload_part_body(&svc, &call, &input, &mut body).await;
    if result.is_err() {
        super::object::drain(&mut body).await;
    }
    result
}

async fn upload_part_body(
    svc: &Arc<S3>,
    call: &Call,
    input: &Input,
    body: &mut gateway::RequestBody,
) -> Result<Value, AwsError> {
    let number = part_number(input)?;
    let upload = upload_of(svc, input)?;
    let md5 = checksum::content_md5(input.map())?;
    let mut declared = checksum::declared(input.map())?;
    if declared.algorithm.is_none() {
        declared.algorithm = upload
            .checksum_algorithm
            .as_deref()
            .and_then(sigv4::ChecksumAlgorithm::from_name);
    }
    let arn = object_arn(&upload.bucket, &upload.key);
    let key = svc
        .keys
        .open(call, &upload.sse, &upload.bucket, &arn)
        .await?;
    let md5_wanted = upload.sse.algorithm == "AES256" || md5.is_some();
    let mut hashers = Hashers::new(md5_wanted, declared.algorithm);
    let info = write_body(svc, body, &key, &mut hashers, MAX_PART).await?;
    let digests = hashers.finish();
    if let Err(e) = checksum::check(&digests, md5, &declared) {
        let _ = svc.delete_blob(info.id);
        return Err(e);
    }
    let (etag, md5_hex) = etag_of(&digests);
    let part = PartRecord {
        upload_id: upload.upload_id.clone(),
        number,
        chunk: Chunk {
            blob: info.id,
            len: info.len,
        },
        etag: etag.clone(),
        md5_hex,
        last_modified: now(),
        checksum: digests.checksum.map(|(a, v)| (a.name().to_string(), v)),
    };
    commit_part(svc, call, part.clone()).await?;
    let mut out = Map::new();
    out.insert("ETag".into(), etag.into());
    sse_out(&mut out, &upload.sse);
    if let Some((alg, v)) = &part.checksum
        && let Some(a) = sigv4::ChecksumAlgorithm::from_name(alg)
    {
        out.insert(checksum::member(a).into(), v.clone().into());
    }
    Ok(Value::Object(out))
}

pub fn auth_upload_part_copy(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    let (sb, sk, sv) = copy_source(input)?;
    let src = svc.bucket_facts(&sb);
    let action = if sv.is_some() {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    let get = access::check(call, input, src.as_ref(), action, object_arn(&sb, &sk));
    Ok(Authorization::all(vec![get, put_check(svc, call, input)]))
}

pub async fn upload_part_copy(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let number = part_number(&input)?;
    let upload = upload_of(&svc, &input)?;
    let (sb, sk, src) = copy_source_version(&svc, &input)?;
    let mut range = 0..src.size;
    if let Some(r) = input.str("CopySourceRange") {
        let parsed = crate::http_semantics::parse_range(Some(r), src.size)
            .ok()
            .flatten()
            .filter(|_| r.starts_with("bytes=") && !r.contains("=-"))
            .ok_or_else(|| {
                error::invalid_argument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                    "x-amz-copy-source-range",
                    r,
                )
            })?;
        range = parsed.start..parsed.end;
    }
    let src_sse = src
        .sse
        .clone()
        .ok_or_else(|| AwsError::internal("object without encryption metadata"))?;
    let src_key = svc
        .keys
        .open(&call, &src_sse, &sb, &object_arn(&sb, &sk))
        .await?;
    let arn = object_arn(&upload.bucket, &upload.key);
    let dst_key = svc
        .keys
        .open(&call, &upload.sse, &upload.bucket, &arn)
        .await?;
    let lens: Vec<u64> = src.chunks.iter().map(|c| c.len).collect();
    let mut ps = Vec::new();
    for (i, r) in pieces(&lens, range) {
        let reader = svc
            .open_blob(src.chunks[i].blob, &src_key)
            .map_err(error::internal)?;
        ps.push(Piece { reader, range: r });
    }
    let svc2 = svc.clone();
    let (info, digests) =
        tokio::task::spawn_blocking(move || copy_pieces(&svc2, ps, &dst_key, true))
            .await
            .map_err(error::internal)??;
    let (etag, md5_hex) = etag_of(&digests);
    let last_modified = now();
    let part = PartRecord {
        upload_id: upload.upload_id.clone(),
        number,
        chunk: Chunk {
            blob: info.id,
            len: info.len,
        },
        etag: etag.clone(),
        md5_hex,
        last_modified,
        checksum: None,
    };
    commit_part(&svc, &call, part).await?;
    let mut out = Map::new();
    out.insert(
        "CopyPartResult".into(),
        json!({"ETag": etag, "LastModified": last_modified}),
    );
    sse_out(&mut out, &upload.sse);
    if src.version_id != "null" {
        out.insert("CopySourceVersionId".into(), src.version_id.clone().into());
    }
    Ok(Value::Object(out))
}

pub fn auth_complete(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(put_check(svc, call, input)))
}

pub async fn complete(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let id = input.str("UploadId").unwrap_or("").to_string();
    let listed = input
        .get("MultipartUpload")
        .and_then(|m| m.get("Parts"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if listed.is_empty() {
        return Err(error::malformed_xml());
    }
    let mut wanted = Vec::with_capacity(listed.len());
    for p in &listed {
        let n = p
            .get("PartNumber")
            .and_then(Value::as_i64)
            .ok_or_else(error::malformed_xml)?;
        let etag = p
            .get("ETag")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_string();
        wanted.push((n, etag));
    }
    if wanted.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(AwsError::bad_request(
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
        )
        .with("UploadId", id));
    }
    let upload = upload_of(&svc, &input)?;
    // Pick the parts under the lock; the commit re-checks that the upload still exists.
    let (chosen, unused) = {
        let st = svc.lock();
        let u = st
            .uploads
            .get(&id)
            .ok_or_else(|| error::no_such_upload(&id))?;
        let mut chosen = Vec::new();
        for (i, (n, etag)) in wanted.iter().enumerate() {
            let part = u
                .parts
                .get(&(*n as u32))
                .filter(|p| p.etag.trim_matches('"') == etag)
                .ok_or_else(|| {
                    AwsError::bad_request(
                        "InvalidPart",
                        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                    )
                    .with("UploadId", id.clone())
                    .with("PartNumber", n.to_string())
                    .with("ETag", etag.clone())
                })?;
            if i + 1 < wanted.len() && part.chunk.len < MIN_PART {
                return Err(AwsError::bad_request(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                )
                .with("ProposedSize", part.chunk.len.to_string())
                .with("MinSizeAllowed", MIN_PART.to_string())
                .with("PartNumber", n.to_string())
                .with("ETag", etag.clone()));
            }
            chosen.push(part.clone());
        }
        let numbers: Vec<u32> = chosen.iter().map(|p| p.number).collect();
        let unused: Vec<PartRecord> = u
            .parts
            .values()
            .filter(|p| !numbers.contains(&p.number))
            .cloned()
            .collect();
        (chosen, unused)
    };
    let mut concat = Vec::with_capacity(chosen.len() * 16);
    for p in &chosen {
        concat.extend(hex::decode(&p.md5_hex).unwrap_or_default());
    }
    let etag = format!(
        "\"{}-{}\"",
        hex::encode(checksum::md5(&concat)),
        chosen.len()
    );
    let size: u64 = chosen.iter().map(|p| p.chunk.len).sum();
    let v = ObjectVersion {
        bucket: upload.bucket.clone(),
        key: upload.key.clone(),
        version_id: String::new(),
        seq: 0,
        delete_marker: false,
        last_modified: now(),
        etag: etag.clone(),
        size,
        headers: upload.headers.clone(),
        tags: upload.tags.clone(),
        sse: Some(upload.sse.clone()),
        chunks: chosen.iter().map(|p| p.chunk).collect(),
        checksum: None,
        parts: Some(chosen.len() as u32),
        owner: upload.owner.clone(),
    };
    // The upload's records go in the same transaction as the new version.
    let (v, versioned) = {
        let result = {
            let mut st = svc.lock();
            if !st.uploads.contains_key(&id) {
                return Err(error::no_such_upload(&id));
            }
            let seq = st.next_seq();
            let Some(b) = st.buckets.get_mut(&upload.bucket) else {
                return Err(error::no_such_bucket(&upload.bucket));
            };
            let mut v = v;
            v.seq = seq;
            v.version_id = if b.versioning_enabled() {
                crate::names::new_version_id()
            } else {
                "null".into()
            };
            let versioned = b.rec.versioning.is_some();
            let v = Arc::new(v);
            let replaced = b.push_version(v.clone());
            let mut batch = storage::Batch::new();
            for old in &replaced {
                batch.delete::<ObjectVersion>(&crate::state::version_record_key(
                    &old.bucket,
                    &old.version_id,
                    &old.key,
                ));
            }
            batch.put::<ObjectVersion>(&v);
            batch.delete::<UploadRecord>(&id);
            if let Some(u) = st.uploads.remove(&id) {
                for n in u.parts.keys() {
                    batch.delete::<PartRecord>(&part_record_key(&id, *n));
                }
            }
            (v, versioned, replaced, call.submit(batch))
        };
        let (v, versioned, replaced, pending) = result;
        pending.await?;
        delete_blobs(
            &svc,
            replaced
                .iter()
                .flat_map(|o| o.chunks.iter().map(|c| c.blob)),
        );
        (v, versioned)
    };
    delete_blobs(&svc, unused.iter().map(|p| p.chunk.blob));
    let _ = commit_version;
    let mut out = Map::new();
    out.insert("Location".into(), format!("/{}/{}", v.bucket, v.key).into());
    out.insert("Bucket".into(), v.bucket.clone().into());
    out.insert("Key".into(), v.key.clone().into());
    out.insert("ETag".into(), etag.into());
    sse_out(&mut out, &upload.sse);
    if versioned || v.version_id != "null" {
        out.insert("VersionId".into(), v.version_id.clone().into());
    }
    Ok(Value::Object(out))
}

pub fn auth_abort(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    Ok(Authorization::check(access::check(
        call,
        input,
        facts.as_ref(),
        "s3:AbortMultipartUpload",
        object_arn(input.bucket(), input.key()),
    )))
}

pub async fn abort(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let upload = upload_of(&svc, &input)?;
    let id = upload.upload_id;
    let (blobs, pending) = {
        let mut st = svc.lock();
        let Some(u) = st.uploads.remove(&id) else {
            return Err(error::no_such_upload(&id));
        };
        let mut batch = storage::Batch::new();
        batch.delete::<UploadRecord>(&id);
        for n in u.parts.keys() {
            batch.delete::<PartRecord>(&part_record_key(&id, *n));
        }
        (
            u.parts.values().map(|p| p.chunk.blob).collect::<Vec<_>>(),
            call.submit(batch),
        )
    };
    pending.await?;
    delete_blobs(&svc, blobs);
    Ok(json!({}))
}

fn initiator(rec: &UploadRecord) -> Value {
    json!({"ID": rec.initiator_arn, "DisplayName": rec.initiator_id})
}

fn owner(account: &str) -> Value {
    json!({"ID": canonical_id(account), "DisplayName": format!("account-{account}")})
}

pub fn auth_list_uploads(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    let mut c = access::check(
        call,
        input,
        facts.as_ref(),
        "s3:ListBucketMultipartUploads",
        crate::names::bucket_arn(input.bucket()),
    );
    if let Some(p) = input.str("Prefix") {
        c = c.with("s3:prefix", p);
    }
    Ok(Authorization::check(c))
}

pub async fn list_uploads(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let bucket = input.bucket().to_string();
    let prefix = input.str("Prefix").unwrap_or("").to_string();
    let key_marker = input.str("KeyMarker").unwrap_or("").to_string();
    let id_marker = input.str("UploadIdMarker").unwrap_or("").to_string();
    let max = input.int("MaxUploads").unwrap_or(1000).clamp(0, 1000) as usize;
    let st = svc.lock();
    let b = st
        .buckets
        .get(&bucket)
        .ok_or_else(|| error::no_such_bucket(&bucket))?;
    expect_owner(&input, &b.rec.owner)?;
    let mut all: Vec<&UploadRecord> = st
        .uploads
        .values()
        .map(|u| &u.rec)
        .filter(|u| u.bucket == bucket && u.key.starts_with(&prefix))
        .filter(|u| {
            key_marker.is_empty()
                || u.key > key_marker
                || (!id_marker.is_empty() && u.key == key_marker && u.upload_id > id_marker)
        })
        .collect();
    all.sort_by(|a, b| {
        (&a.key, a.initiated.total_cmp(&b.initiated))
            .cmp(&(&b.key, std::cmp::Ordering::Equal))
            .then(a.upload_id.cmp(&b.upload_id))
    });
    let truncated = all.len() > max;
    all.truncate(max);
    let uploads: Vec<Value> = all
        .iter()
        .map(|u| {
            json!({"UploadId": u.upload_id, "Key": u.key, "Initiated": u.initiated, "StorageClass": "STANDARD",
                   "Owner": owner(&u.owner), "Initiator": initiator(u), "ChecksumAlgorithm": u.checksum_algorithm})
        })
        .collect();
    let mut out = Map::new();
    out.insert("Bucket".into(), bucket.into());
    out.insert("KeyMarker".into(), key_marker.into());
    out.insert("UploadIdMarker".into(), id_marker.into());
    if truncated && let Some(last) = all.last() {
        out.insert("NextKeyMarker".into(), last.key.clone().into());
        out.insert("NextUploadIdMarker".into(), last.upload_id.clone().into());
    }
    out.insert("Prefix".into(), prefix.into());
    out.insert("MaxUploads".into(), max.into());
    out.insert("IsTruncated".into(), truncated.into());
    out.insert("Uploads".into(), uploads.into());
    Ok(Value::Object(out))
}

pub fn auth_list_parts(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    Ok(Authorization::check(access::check(
        call,
        input,
        facts.as_ref(),
        "s3:ListMultipartUploadParts",
        object_arn(input.bucket(), input.key()),
    )))
}

pub async fn list_parts(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let upload = upload_of(&svc, &input)?;
    let marker = input.int("PartNumberMarker").unwrap_or(0).max(0) as u32;
    let max = input.int("MaxParts").unwrap_or(1000).clamp(0, 1000) as usize;
    let st = svc.lock();
    let u = st
        .uploads
        .get(&upload.upload_id)
        .ok_or_else(|| error::no_such_upload(&upload.upload_id))?;
    let all: Vec<&PartRecord> = u.parts.values().filter(|p| p.number > marker).collect();
    let truncated = all.len() > max;
    let shown = &all[..all.len().min(max)];
    let parts: Vec<Value> = shown
        .iter()
        .map(|p| {
            let mut o = json!({"PartNumber": p.number, "LastModified": p.last_modified, "ETag": p.etag, "Size": p.chunk.len});
            if let Some((alg, v)) = &p.checksum
                && let Some(a) = sigv4::ChecksumAlgorithm::from_name(alg)
            {
                o[checksum::member(a)] = json!(v);
            }
            o
        })
        .collect();
    let mut out = Map::new();
    out.insert("Bucket".into(), upload.bucket.clone().into());
    out.insert("Key".into(), upload.key.clone().into());
    out.insert("UploadId".into(), upload.upload_id.clone().into());
    out.insert("PartNumberMarker".into(), marker.into());
    if let Some(last) = shown.last() {
        out.insert("NextPartNumberMarker".into(), last.number.into());
    }
    out.insert("MaxParts".into(), max.into());
    out.insert("IsTruncated".into(), truncated.into());
    out.insert("Parts".into(), parts.into());
    out.insert("Initiator".into(), initiator(&upload));
    out.insert("Owner".into(), owner(&upload.owner));
    out.insert("StorageClass".into(), "STANDARD".into());
    if let Some(a) = &upload.checksum_algorithm {
        out.insert("ChecksumAlgorithm".into(), a.clone().into());
    }
    Ok(Value::Object(out))
}
