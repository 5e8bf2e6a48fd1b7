//! Listing: ListObjects, ListObjectsV2 and ListObjectVersions, with prefix, delimiter
//! (common prefixes), markers, continuation tokens, `start-after` and URL encoding.

use std::ops::Bound;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::{Authorization, AwsError, Call};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::{expect_owner, read_bucket};
use crate::S3;
use crate::access;
use crate::error;
use crate::input::Input;
use crate::names::{bucket_arn, canonical_id};
use crate::state::{Bucket, ObjectVersion};

/// What S3 leaves unencoded with `encoding-type=url`.
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn list_auth(
    svc: &S3,
    call: &Call,
    input: &Input,
    action: &'static str,
) -> Result<Authorization, AwsError> {
    let facts = svc.bucket_facts(input.bucket());
    let mut c = access::check(
        call,
        input,
        facts.as_ref(),
        action,
        bucket_arn(input.bucket()),
    );
    if let Some(p) = input.str("Prefix") {
        c = c.with("s3:prefix", p);
    }
    if let Some(d) = input.str("Delimiter") {
        c = c.with("s3:delimiter", d);
    }
    if let Some(m) = input.int("MaxKeys") {
        c = c.with("s3:max-keys", m);
    }
    Ok(Authorization::check(c))
}

pub fn auth_list_objects(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    list_auth(svc, call, input, "s3:ListBucket")
}

pub fn auth_list_object_versions(
    svc: &S3,
    call: &Call,
    input: &Input,
) -> Result<Authorization, AwsError> {
    list_auth(svc, call, input, "s3:ListBucketVersions")
}

/// One listed entry.
#[derive(Debug, Clone)]
pub enum Entry {
    /// The latest version of a key (or, for version listings, any version).
    Object(Arc<ObjectVersion>),
    /// A common prefix.
    Prefix(String),
}

/// The smallest string greater than every string starting with `p`, if one exists.
pub fn successor(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(last) = chars.pop() {
        let mut n = last as u32 + 1;
        if (0xD800..0xE000).contains(&n) {
            n = 0xE000;
        }
        if let Some(c) = char::from_u32(n) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Walks keys in order from `after` (exclusive) within `prefix`, folding keys that share a
/// common prefix, calling `visit` per key (which returns how many entries it produced) until
/// `max` entries exist; returns whether more remain.
fn walk(
    b: &Bucket,
    prefix: &str,
    delimiter: &str,
    after: Option<&str>,
    max: usize,
    mut visit: impl FnMut(&str, &[Arc<ObjectVersion>], &mut Vec<Entry>) -> bool,
    out: &mut Vec<Entry>,
) -> bool {
    let mut from: Bound<String> = match after {
        Some(a) if a >= prefix => Bound::Excluded(a.to_string()),
        _ => Bound::Included(prefix.to_string()),
    };
    'outer: loop {
        for (key, versions) in b
            .objects
            .range::<String, _>((from.clone(), Bound::Unbounded))
        {
            if !key.starts_with(prefix) {
                if key.as_str() > prefix {
                    break 'outer;
                }
                continue;
            }
            let rest = &key[prefix.len()..];
            if !delimiter.is_empty()
                && let Some(i) = rest.find(delimiter)
            {
                let cp = &key[..prefix.len() + i + delimiter.len()];
                if after.is_some_and(|a| cp <= a) {
                    match successor(cp) {
                        Some(s) => {
                            from = Bound::Included(s);
                            continue 'outer;
                        }
                        None => break 'outer,
                    }
                }
                // Only keys with something to show count toward the prefix.
                let mut probe = Vec::new();
                if !visit(key, versions, &mut probe) {
                    continue;
                }
                if out.len() >= max {
                    return true;
                }
                out.push(Entry::Prefix(cp.to_string()));
                match successor(cp) {
                    Some(s) => {
                        from = Bound::Included(s);
                        continue 'outer;
                    }
                    None => break 'outer,
                }
            }
            let mut produced = Vec::new();
            if !visit(key, versions, &mut produced) {
                continue;
            }
            for e in produced {
                if out.len() >= max {
                    return true;
                }
                out.push(e);
            }
        }
        break;
    }
    false
}

/// Lists the latest versions (delete markers hidden).
pub fn list_latest(
    b: &Bucket,
    prefix: &str,
    delimiter: &str,
    after: Option<&str>,
    max: usize,
) -> (Vec<Entry>, bool) {
    let mut out = Vec::new();
    let truncated = walk(
        b,
        prefix,
        delimiter,
        after,
        max,
        |_, versions, produced| match versions.first() {
            Some(v) if !v.delete_marker => {
                produced.push(Entry::Object(v.clone()));
                true
            }
            _ => false,
        },
        &mut out,
    );
    (out, truncated)
}

fn max_keys(input: &Input) -> Result<usize, AwsError> {
    match input.int("MaxKeys") {
        None => Ok(1000),
        Some(n) if n < 0 => Err(error::invalid_argument(
            "Argument maxKeys must be an integer between 0 and 2147483647",
            "maxKeys",
            &n.to_string(),
        )),
        Some(n) => Ok((n as usize).min(1000)),
    }
}

fn encoder(input: &Input) -> Result<impl Fn(&str) -> String, AwsError> {
    let url = match input.str("EncodingType") {
        None => false,
        Some("url") => true,
        Some(e) => {
            return Err(error::invalid_argument(
                "Invalid Encoding Method specified in Request",
                "encoding-type",
                e,
            ));
        }
    };
    Ok(move |s: &str| {
        if url {
            utf8_percent_encode(s, URL_SAFE).to_string()
        } else {
            s.to_string()
        }
    })
}

fn owner(account: &str) -> Value {
    json!({"DisplayName": format!("account-{account}"), "ID": canonical_id(account)})
}

fn contents(
    entries: &[Entry],
    enc: &impl Fn(&str) -> String,
    with_owner: bool,
) -> (Vec<Value>, Vec<Value>) {
    let mut objects = Vec::new();
    let mut prefixes = Vec::new();
    for e in entries {
        match e {
            Entry::Object(v) => {
                let mut o = json!({
                    "Key": enc(&v.key), "LastModified": v.last_modified, "ETag": v.etag, "Size": v.size,
                    "StorageClass": v.headers.storage_class.clone().unwrap_or_else(|| "STANDARD".into()),
                });
                if let Some((alg, _)) = &v.checksum {
                    o["ChecksumAlgorithm"] = json!([alg]);
                    o["ChecksumType"] = json!("FULL_OBJECT");
                }
                if with_owner {
                    o["Owner"] = owner(&v.owner);
                }
                objects.push(o);
            }
            Entry::Prefix(p) => prefixes.push(json!({"Prefix": enc(p)})),
        }
    }
    (objects, prefixes)
}

fn last_name(e: Option<&Entry>) -> Option<String> {
    e.map(|e| match e {
        Entry::Object(v) => v.key.clone(),
        Entry::Prefix(p) => p.clone(),
    })
}

pub async fn list_objects(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let max = max_keys(&input)?;
    let enc = encoder(&input)?;
    let prefix = input.str("Prefix").unwrap_or("").to_string();
    let delimiter = input.str("Delimiter").unwrap_or("").to_string();
    let marker = input
        .str("Marker")
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    read_bucket(&svc, &input, |b| {
        let (entries, truncated) = list_latest(b, &prefix, &delimiter, marker.as_deref(), max);
        let (objects, prefixes) = contents(&entries, &enc, true);
        let mut out = Map::new();
        out.insert("Name".into(), b.rec.name.clone().into());
        out.insert("Prefix".into(), enc(&prefix).into());
        out.insert("Marker".into(), enc(marker.as_deref().unwrap_or("")).into());
        out.insert("MaxKeys".into(), max.into());
        if !delimiter.is_empty() {
            out.insert("Delimiter".into(), enc(&delimiter).into());
        }
        out.insert("IsTruncated".into(), truncated.into());
        if truncated
            && !delimiter.is_empty()
            && let Some(n) = last_name(entries.last())
        {
            out.insert("NextMarker".into(), enc(&n).into());
        }
        out.insert("Contents".into(), objects.into());
        out.insert("CommonPrefixes".into(), prefixes.into());
        if let Some(e) = input.str("EncodingType") {
            out.insert("EncodingType".into(), e.into());
        }
        Ok(Value::Object(out))
    })
}

pub async fn list_objects_v2(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let max = max_keys(&input)?;
    let enc = encoder(&input)?;
    let prefix = input.str("Prefix").unwrap_or("").to_string();
    let delimiter = input.str("Delimiter").unwrap_or("").to_string();
    let token = input.str("ContinuationToken");
    let after = match token {
        Some(t) => {
            let bytes = URL_SAFE_NO_PAD.decode(t).map_err(|_| {
                error::invalid_argument(
                    "The continuation token provided is incorrect",
                    "continuation-token",
                    t,
                )
            })?;
            Some(String::from_utf8(bytes).map_err(|_| {
                error::invalid_argument(
                    "The continuation token provided is incorrect",
                    "continuation-token",
                    t,
                )
            })?)
        }
        None => input
            .str("StartAfter")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    };
    let fetch_owner = input.bool("FetchOwner").unwrap_or(false);
    read_bucket(&svc, &input, |b| {
        let (entries, truncated) = list_latest(b, &prefix, &delimiter, after.as_deref(), max);
        let (objects, prefixes) = contents(&entries, &enc, fetch_owner);
        let mut out = Map::new();
        out.insert("Name".into(), b.rec.name.clone().into());
        out.insert("Prefix".into(), enc(&prefix).into());
        out.insert("MaxKeys".into(), max.into());
        if !delimiter.is_empty() {
            out.insert("Delimiter".into(), enc(&delimiter).into());
        }
        out.insert("IsTruncated".into(), truncated.into());
        out.insert("KeyCount".into(), entries.len().into());
        if let Some(t) = token {
            out.insert("ContinuationToken".into(), t.into());
        }
        if let Some(s) = input.str("StartAfter") {
            out.insert("StartAfter".into(), enc(s).into());
        }
        if truncated && let Some(n) = last_name(entries.last()) {
            out.insert(
                "NextContinuationToken".into(),
                URL_SAFE_NO_PAD.encode(n).into(),
            );
        }
        out.insert("Contents".into(), objects.into());
        out.insert("CommonPrefixes".into(), prefixes.into());
        if let Some(e) = input.str("EncodingType") {
            out.insert("EncodingType".into(), e.into());
        }
        Ok(Value::Object(out))
    })
}

pub async fn list_object_versions(
    svc: Arc<S3>,
    _call: Call,
    input: Input,
) -> Result<Value, AwsError> {
    let max = max_keys(&input)?;
    let enc = encoder(&input)?;
    let prefix = input.str("Prefix").unwrap_or("").to_string();
    let delimiter = input.str("Delimiter").unwrap_or("").to_string();
    let key_marker = input
        .str("KeyMarker")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let version_marker = input
        .str("VersionIdMarker")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if version_marker.is_some() && key_marker.is_none() {
        return Err(error::invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
            "version-id-marker",
            version_marker.as_deref().unwrap_or(""),
        ));
    }
    let st = svc.lock();
    let bucket = input.bucket();
    let b = st
        .buckets
        .get(bucket)
        .ok_or_else(|| error::no_such_bucket(bucket))?;
    expect_owner(&input, &b.rec.owner)?;
    // With a version marker, the marker key's remaining versions come first.
    let mut entries: Vec<Entry> = Vec::new();
    let mut truncated = false;
    if let (Some(k), Some(vm)) = (&key_marker, &version_marker)
        && let Some(list) = b.objects.get(k)
        && k.starts_with(&prefix)
    {
        let mut past = false;
        for v in list {
            if past {
                if entries.len() >= max {
                    truncated = true;
                    break;
                }
                entries.push(Entry::Object(v.clone()));
            } else if &v.version_id == vm {
                past = true;
            }
        }
    }
    if !truncated {
        let room = max - entries.len();
        let mut rest = Vec::new();
        truncated = walk(
            b,
            &prefix,
            &delimiter,
            key_marker.as_deref(),
            room,
            |_, versions, produced| {
                produced.extend(versions.iter().map(|v| Entry::Object(v.clone())));
                !versions.is_empty()
            },
            &mut rest,
        );
        entries.extend(rest);
    }
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    let mut prefixes = Vec::new();
    for e in &entries {
        match e {
            Entry::Object(v) => {
                let latest = b
                    .latest(&v.key)
                    .is_some_and(|l| l.version_id == v.version_id);
                if v.delete_marker {
                    markers.push(json!({"Owner": owner(&v.owner), "Key": enc(&v.key), "VersionId": v.version_id,
                        "IsLatest": latest, "LastModified": v.last_modified}));
                } else {
                    versions.push(json!({"ETag": v.etag, "Size": v.size, "StorageClass": "STANDARD", "Key": enc(&v.key),
                        "VersionId": v.version_id, "IsLatest": latest, "LastModified": v.last_modified,
                        "Owner": owner(&v.owner)}));
                }
            }
            Entry::Prefix(p) => prefixes.push(json!({"Prefix": enc(p)})),
        }
    }
    let mut out = Map::new();
    out.insert("Name".into(), b.rec.name.clone().into());
    out.insert("Prefix".into(), enc(&prefix).into());
    out.insert(
        "KeyMarker".into(),
        enc(key_marker.as_deref().unwrap_or("")).into(),
    );
    out.insert(
        "VersionIdMarker".into(),
        version_marker.clone().unwrap_or_default().into(),
    );
    out.insert("MaxKeys".into(), max.into());
    if !delimiter.is_empty() {
        out.insert("Delimiter".into(), enc(&delimiter).into());
    }
    out.insert("IsTruncated".into(), truncated.into());
    if truncated {
        match entries.last() {
            Some(Entry::Object(v)) => {
                out.insert("NextKeyMarker".into(), enc(&v.key).into());
                out.insert("NextVersionIdMarker".into(), v.version_id.clone().into());
            }
            Some(Entry::Prefix(p)) => {
                out.insert("NextKeyMarker".into(), enc(p).into());
            }
            None => {}
        }
    }
    out.insert("Versions".into(), versions.into());
    out.insert("DeleteMarkers".into(), markers.into());
    out.insert("CommonPrefixes".into(), prefixes.into());
    if let Some(e) = input.str("EncodingType") {
        out.insert("EncodingType".into(), e.into());
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{BucketRecord, Headers};

    fn bucket(keys: &[&str]) -> Bucket {
        let mut b = Bucket::new(BucketRecord {
            name: "b".into(),
            owner: "1".into(),
            region: "us-east-1".into(),
            created: 0.0,
            versioning: None,
            policy: None,
            tags: vec![],
            encryption: None,
            public_access_block: None,
            ownership: None,
        });
        for (i, k) in keys.iter().enumerate() {
            b.push_version(Arc::new(ObjectVersion {
                bucket: "b".into(),
                key: k.to_string(),
                version_id: "null".into(),
                seq: i as u64,
                delete_marker: k.ends_with("~deleted"),
                last_modified: 0.0,
                etag: String::new(),
                size: 0,
                headers: Headers::default(),
                tags: vec![],
                sse: None,
                chunks: vec![],
                checksum: None,
                parts: None,
                owner: "1".into(),
            }));
        }
        b
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Object(v) => v.key.clone(),
                Entry::Prefix(p) => format!("{p}(prefix)"),
            })
            .collect()
    }

    #[test]
    fn lists_with_prefix_and_delimiter() {
        let b = bucket(&[
            "a/1",
            "a/2",
            "a/b/3",
            "b",
            "c/x",
            "c/y~deleted",
            "d~deleted",
        ]);
        let (e, t) = list_latest(&b, "", "/", None, 1000);
        assert_eq!(names(&e), ["a/(prefix)", "b", "c/(prefix)"]);
        assert!(!t);
        let (e, _) = list_latest(&b, "a/", "/", None, 1000);
        assert_eq!(names(&e), ["a/1", "a/2", "a/b/(prefix)"]);
        let (e, _) = list_latest(&b, "", "", None, 1000);
        assert_eq!(names(&e), ["a/1", "a/2", "a/b/3", "b", "c/x"]);
    }

    #[test]
    fn paginates_and_resumes_after_prefixes() {
        let b = bucket(&["a/1", "a/2", "b", "c/x", "d"]);
        let (e, t) = list_latest(&b, "", "/", None, 2);
        assert_eq!(names(&e), ["a/(prefix)", "b"]);
        assert!(t);
        let (e, t) = list_latest(&b, "", "/", Some("b"), 2);
        assert_eq!(names(&e), ["c/(prefix)", "d"]);
        assert!(!t);
        let (e, _) = list_latest(&b, "", "/", Some("a/"), 10);
        assert_eq!(names(&e), ["b", "c/(prefix)", "d"]);
        let (e, t) = list_latest(&b, "", "", Some("a/1"), 1);
        assert_eq!(names(&e), ["a/2"]);
        assert!(t);
    }

    #[test]
    fn delete_markers_hide_keys_and_empty_prefixes() {
        let b = bucket(&["x/gone~deleted", "y"]);
        let (e, _) = list_latest(&b, "", "/", None, 10);
        assert_eq!(names(&e), ["y"]);
    }

    #[test]
    fn successor_bounds_a_prefix() {
        assert_eq!(successor("a/").as_deref(), Some("a0"));
        assert!(successor("a/").unwrap().as_str() > "a/\u{10FFFF}");
    }
}
