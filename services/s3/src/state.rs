//! S3's working state: buckets, object versions, multipart uploads. Kept in memory and
//! written through to the store; loaded whole at startup.
//!
//! Tables (keys compare bytewise, so a bucket's records share a prefix):
//!
//! | table | key | record |
//! |---|---|---|
//! | `s3.bucket` | bucket | [`BucketRecord`] |
//! | `s3.object` | `bucket/version-id/key` | [`ObjectVersion`] (delete markers included) |
//! | `s3.upload` | upload id | [`UploadRecord`] |
//! | `s3.part` | `upload-id/part-number` | [`PartRecord`] |
//!
//! A version's body is one blob per chunk (one for a PUT, one per part after a multipart
//! upload), each sealed under the version's data key. Blobs are durable before the record
//! that names them commits; a crash in between leaves an orphan that [`State::live_blobs`]
//! lets the startup sweep remove.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use policy::Policy;
use serde::{Deserialize, Serialize};
use storage::{BlobId, Record};

/// Block Public Access settings of a bucket.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    /// Reject ACLs that grant public access.
    pub block_public_acls: bool,
    /// Ignore public ACLs.
    pub ignore_public_acls: bool,
    /// Reject bucket policies that grant public access.
    pub block_public_policy: bool,
    /// Limit a public policy to principals of the bucket's account.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four settings on: the default of a new bucket since April 2023.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
}

/// A tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tag {
    /// The key.
    pub k: String,
    /// The value.
    pub v: String,
}

/// A bucket and its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketRecord {
    /// The bucket name.
    pub name: String,
    /// The owning account.
    pub owner: String,
    /// The region it was created in.
    pub region: String,
    /// Creation time, epoch seconds.
    pub created: f64,
    /// `Enabled` or `Suspended`; `None` when versioning was never enabled.
    #[serde(default)]
    pub versioning: Option<String>,
    /// The bucket policy text.
    #[serde(default)]
    pub policy: Option<String>,
    /// Bucket tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The default encryption rule: (`AES256` | `aws:kms`, KMS key id, bucket key enabled).
    #[serde(default)]
    pub encryption: Option<EncryptionRule>,
    /// Block Public Access; `None` when deleted.
    #[serde(default)]
    pub public_access_block: Option<PublicAccessBlock>,
    /// Object ownership (`BucketOwnerEnforced`, ...); `None` when deleted.
    #[serde(default)]
    pub ownership: Option<String>,
}

impl Record for BucketRecord {
    const TABLE: &'static str = "s3.bucket";
    fn key(&self) -> String {
        self.name.clone()
    }
}

/// A bucket's default encryption.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EncryptionRule {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    /// The KMS key as configured (id, ARN or alias).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// S3 Bucket Keys.
    #[serde(default)]
    pub bucket_key: bool,
}

/// How an object's data key is protected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sse {
    /// `AES256` or `aws:kms`.
    pub algorithm: String,
    /// The KMS key ARN (SSE-KMS).
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// Whether the data key is the bucket's S3 Bucket Key.
    #[serde(default)]
    pub bucket_key: bool,
    /// The data key: wrapped by the instance keyring (SSE-S3) or a KMS ciphertext blob
    /// (SSE-KMS), base64.
    pub wrapped_key: String,
}

/// One stored piece of a version's body.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Chunk {
    /// The blob.
    pub blob: BlobId,
    /// Its plaintext length.
    pub len: u64,
}

/// System metadata S3 stores and returns as headers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Headers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `x-amz-meta-*`, names lower case.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One version of an object, or a delete marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    /// `null` for versions written while versioning was off or suspended.
    pub version_id: String,
    /// Order of creation across the instance (newest is largest).
    pub seq: u64,
    #[serde(default)]
    pub delete_marker: bool,
    /// Epoch seconds with milliseconds.
    pub last_modified: f64,
    /// Quoted, as S3 returns it.
    #[serde(default)]
    pub etag: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub sse: Option<Sse>,
    #[serde(default)]
    pub chunks: Vec<Chunk>,
    /// The flexible checksum: algorithm name and base64 value.
    #[serde(default)]
    pub checksum: Option<(String, String)>,
    /// Number of parts, for multipart objects.
    #[serde(default)]
    pub parts: Option<u32>,
    /// The account that wrote it.
    #[serde(default)]
    pub owner: String,
}

impl Record for ObjectVersion {
    const TABLE: &'static str = "s3.object";
    fn key(&self) -> String {
        version_record_key(&self.bucket, &self.version_id, &self.key)
    }
}

/// The record key of a version.
pub fn version_record_key(bucket: &str, version_id: &str, key: &str) -> String {
    format!("{bucket}/{version_id}/{key}")
}

/// A multipart upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadRecord {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub initiated: f64,
    /// The initiator's ARN and principal id.
    pub initiator_arn: String,
    pub initiator_id: String,
    /// The account that owns the upload.
    pub owner: String,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub sse: Sse,
    /// The checksum algorithm the upload declared.
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
}

impl Record for UploadRecord {
    const TABLE: &'static str = "s3.upload";
    fn key(&self) -> String {
        self.upload_id.clone()
    }
}

/// An uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartRecord {
    pub upload_id: String,
    pub number: u32,
    pub chunk: Chunk,
    /// Quoted.
    pub etag: String,
    /// The raw MD5 behind the ETag, hex (for the multipart ETag).
    pub md5_hex: String,
    pub last_modified: f64,
    #[serde(default)]
    pub checksum: Option<(String, String)>,
}

impl Record for PartRecord {
    const TABLE: &'static str = "s3.part";
    fn key(&self) -> String {
        part_record_key(&self.upload_id, self.number)
    }
}

/// The record key of a part.
pub fn part_record_key(upload_id: &str, number: u32) -> String {
    format!("{upload_id}/{number:05}")
}

/// A bucket in memory.
pub struct Bucket {
    pub rec: BucketRecord,
    /// The compiled bucket policy.
    pub policy: Option<Arc<Policy>>,
    /// Whether the policy is public (AWS's definition).
    pub policy_public: bool,
    /// Object versions by key, newest first.
    pub objects: BTreeMap<String, Vec<Arc<ObjectVersion>>>,
}

impl Bucket {
    /// A bucket from its record.
    pub fn new(rec: BucketRecord) -> Bucket {
        let mut b = Bucket {
            rec,
            policy: None,
            policy_public: false,
            objects: BTreeMap::new(),
        };
        b.compile_policy();
        b
    }

    /// Compiles the stored policy text.
    pub fn compile_policy(&mut self) {
        self.policy = None;
        self.policy_public = false;
        if let Some(text) = &self.rec.policy {
            match Policy::parse(text, policy::PolicyType::Resource) {
                Ok(p) => {
                    self.policy_public = crate::public::is_public(text);
                    self.policy = Some(Arc::new(p));
                }
                Err(e) => {
                    tracing::error!(bucket = %self.rec.name, error = %e, "stored bucket policy no longer compiles");
                }
            }
        }
    }

    /// The latest version of `key` (possibly a delete marker).
    pub fn latest(&self, key: &str) -> Option<&Arc<ObjectVersion>> {
        self.objects.get(key).and_then(|v| v.first())
    }

    /// A version of `key` by id.
    pub fn version(&self, key: &str, version_id: &str) -> Option<&Arc<ObjectVersion>> {
        self.objects
            .get(key)
            .and_then(|vs| vs.iter().find(|v| v.version_id == version_id))
    }

    /// Whether versioning is on.
    pub fn versioning_enabled(&self) -> bool {
        self.rec.versioning.as_deref() == Some("Enabled")
    }

    /// Whether the bucket holds no object versions (delete markers count).
    pub fn is_empty(&self) -> bool {
        self.objects.values().all(Vec::is_empty)
    }

    /// Adds a new version as the latest; returns the versions it replaces (the `null` version
    /// when versioning is not enabled), already removed.
    pub fn push_version(&mut self, v: Arc<ObjectVersion>) -> Vec<Arc<ObjectVersion>> {
        let list = self.objects.entry(v.key.clone()).or_default();
        let mut replaced = Vec::new();
        if v.version_id == "null" {
            list.retain(|old| {
                if old.version_id == "null" {
                    replaced.push(old.clone());
                    false
                } else {
                    true
                }
            });
        }
        list.insert(0, v);
        replaced
    }

    /// Removes a version; returns it.
    pub fn remove_version(&mut self, key: &str, version_id: &str) -> Option<Arc<ObjectVersion>> {
        let list = self.objects.get_mut(key)?;
        let i = list.iter().position(|v| v.version_id == version_id)?;
        let v = list.remove(i);
        if list.is_empty() {
            self.objects.remove(key);
        }
        Some(v)
    }

    /// Replaces a version in place (tag changes).
    pub fn replace_version(&mut self, v: Arc<ObjectVersion>) {
        if let Some(list) = self.objects.get_mut(&v.key)
            && let Some(slot) = list.iter_mut().find(|o| o.version_id == v.version_id)
        {
            *slot = v;
        }
    }
}

/// A multipart upload in memory.
pub struct Upload {
    pub rec: UploadRecord,
    pub parts: BTreeMap<u32, PartRecord>,
}

/// Everything S3 holds.
#[derive(Default)]
pub struct State {
    pub buckets: BTreeMap<String, Bucket>,
    pub uploads: BTreeMap<String, Upload>,
    /// The last version sequence number handed out.
    pub seq: u64,
}

impl State {
    /// Loads the state from the store.
    pub fn load(store: &storage::Store) -> Result<State, storage::Error> {
        let mut state = State::default();
        for rec in store.table::<BucketRecord>().load_all()? {
            state.buckets.insert(rec.name.clone(), Bucket::new(rec));
        }
        let mut orphans = 0usize;
        for v in store.table::<ObjectVersion>().load_all()? {
            state.seq = state.seq.max(v.seq);
            match state.buckets.get_mut(&v.bucket) {
                Some(b) => b
                    .objects
                    .entry(v.key.clone())
                    .or_default()
                    .push(Arc::new(v)),
                None => orphans += 1,
            }
        }
        for b in state.buckets.values_mut() {
            for list in b.objects.values_mut() {
                list.sort_by_key(|v| std::cmp::Reverse(v.seq));
            }
        }
        for rec in store.table::<UploadRecord>().load_all()? {
            state.uploads.insert(
                rec.upload_id.clone(),
                Upload {
                    rec,
                    parts: BTreeMap::new(),
                },
            );
        }
        for p in store.table::<PartRecord>().load_all()? {
            if let Some(u) = state.uploads.get_mut(&p.upload_id) {
                u.parts.insert(p.number, p);
            } else {
                orphans += 1;
            }
        }
        if orphans > 0 {
            tracing::warn!(
                orphans,
                "s3 records without their bucket or upload were ignored"
            );
        }
        Ok(state)
    }

    /// Every blob the metadata refers to.
    pub fn live_blobs(&self) -> HashSet<BlobId> {
        let mut live = HashSet::new();
        for b in self.buckets.values() {
            for list in b.objects.values() {
                for v in list {
                    live.extend(v.chunks.iter().map(|c| c.blob));
                }
            }
        }
        for u in self.uploads.values() {
            live.extend(u.parts.values().map(|p| p.chunk.blob));
        }
        live
    }

    /// The next version sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}
