//! Amazon S3: buckets, objects, versions, multipart uploads, bucket policies, Block Public
//! Access, SSE-S3 and SSE-KMS, over the REST-XML protocol (path-style and
//! virtual-hosted-style); access points, managed through S3 Control ([`control`]) and
//! addressed by ARN or alias ([`access_point`]).
//!
//! Each operation is one type here, declaring what S3 authorizes for it (`access`) and doing
//! the work (`ops`). Object bodies stream through the encrypted blob store (`storage::blob`),
//! never buffered whole and never written in plaintext; metadata lives in memory and is
//! written through to the store, each change committed with the call's audit record.

#![forbid(unsafe_code)]

mod access;
pub mod access_point;
mod body;
mod checksum;
pub mod control;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod http_semantics;
mod input;
mod kms_client;
mod names;
mod ops;
mod plan;
mod public;
mod router;
mod sse;
mod state;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use gateway::{Authorization, AwsError, Call, Operation, ServiceDef};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use access::{AccessPointFacts, through_access_point};
pub use control::VpcDirectory;
pub use input::Input;
pub use ops::object::DeliverObject;
pub use public::is_public as is_public_policy;
pub use sse::{DataKey, GeneratedKey, KeyFuture, KeyService, NoKms};

/// The S3 service.
pub struct S3 {
    store: storage::Store,
    config: gateway::Config,
    state: Mutex<state::State>,
    keys: sse::Keys,
    /// Open blobs of recently read versions, with the fingerprint of the data key they were
    /// opened with: a hit needs the same key, so it authorizes nothing a fresh open would not.
    readers: Mutex<std::collections::HashMap<storage::BlobId, ([u8; 32], storage::BlobReader)>>,
    /// Access points (their own lock: the router reads them to address a request).
    access_points: Arc<RwLock<access_point::Directory>>,
    /// Where `VpcConfiguration`s are validated (EC2, wired at startup).
    vpcs: OnceLock<Arc<dyn VpcDirectory>>,
}

/// Open blobs kept for reads.
const READER_CACHE: usize = 256;

impl S3 {
    /// Opens S3 over `store`, calling `kms` for SSE-KMS.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
        kms: Arc<kms::Kms>,
    ) -> Result<Arc<S3>, storage::Error> {
        S3::open_with(store, config, Arc::new(kms_client::KmsKeys(kms)))
    }

    /// Opens S3 over `store` with KMS behind `keys` (SSE-KMS), loading its state and removing
    /// blobs no metadata refers to (writes interrupted by a crash).
    pub fn open_with(
        store: &storage::Store,
        config: &gateway::Config,
        keys: Arc<dyn KeyService>,
    ) -> Result<Arc<S3>, storage::Error> {
        let state = state::State::load(store)?;
        let access_points = access_point::Directory::load(store)?;
        if !store.is_read_only() {
            let live = state.live_blobs();
            let removed = store.blobs().sweep(|id| live.contains(id))?;
            if removed > 0 {
                tracing::info!(removed, "removed unreferenced object blobs");
            }
        }
        Ok(Arc::new(S3 {
            store: store.clone(),
            config: config.clone(),
            state: Mutex::new(state),
            keys: sse::Keys::new(store.keyring().clone(), keys),
            readers: Mutex::new(std::collections::HashMap::new()),
            access_points: Arc::new(RwLock::new(access_points)),
            vpcs: OnceLock::new(),
        }))
    }

    /// The service as the gateway routes to it.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        let def = match ServiceDef::new("s3", MODEL) {
            Ok(d) => d,
            // The embedded model is part of the build; failing to parse it is a build defect.
            Err(e) => panic!("embedded S3 model: {e}"),
        };
        let router = Arc::new(
            router::S3Router::new(def.model.clone()).with_access_points(self.access_points.clone()),
        );
        register(def.rest_router(router), self)
    }

    /// S3 Control (`s3control`): access points.
    pub fn control_service_def(self: &Arc<Self>) -> ServiceDef {
        let def = match ServiceDef::new("s3control", CONTROL_MODEL) {
            Ok(d) => d,
            // The embedded model is part of the build; failing to parse it is a build defect.
            Err(e) => panic!("embedded S3 Control model: {e}"),
        };
        let router = Arc::new(control::ControlRouter::new(def.model.clone()));
        register_control(def.rest_router(router), self)
    }

    /// Where `CreateAccessPoint` checks that a `VpcConfiguration` names an existing VPC. Until
    /// it is set, VPC access points cannot be created.
    pub fn set_vpc_directory(&self, vpcs: Arc<dyn VpcDirectory>) {
        let _ = self.vpcs.set(vpcs);
    }

    /// The region served.
    pub(crate) fn region(&self) -> &str {
        &self.config.region
    }

    /// The access points, for reading.
    pub(crate) fn access_points(&self) -> RwLockReadGuard<'_, access_point::Directory> {
        self.access_points.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The access points, for changing.
    pub(crate) fn access_points_mut(&self) -> RwLockWriteGuard<'_, access_point::Directory> {
        self.access_points
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a blob for reading with `key`, reusing a reader opened with the same key.
    pub(crate) fn open_blob(
        &self,
        id: storage::BlobId,
        key: &sse::DataKey,
    ) -> Result<storage::BlobReader, storage::Error> {
        let fp: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_ref())
            .as_ref()
            .try_into()
            .unwrap_or([0; 32]);
        let cache = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((f, r)) = cache.get(&id)
            && *f == fp
        {
            return Ok(r.clone());
        }
        drop(cache);
        let reader = self.store.blobs().open(id, key)?;
        let mut cache = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= READER_CACHE {
            cache.clear();
        }
        cache.insert(id, (fp, reader.clone()));
        Ok(reader)
    }

    /// Removes a blob (after the metadata that named it is gone) and forgets its reader.
    pub(crate) fn delete_blob(&self, id: storage::BlobId) -> Result<bool, storage::Error> {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        self.store.blobs().delete(id)
    }

    /// The bucket facts authorization needs, if the bucket exists.
    pub(crate) fn bucket_facts(&self, bucket: &str) -> Option<access::BucketFacts> {
        self.lock().buckets.get(bucket).map(access::BucketFacts::of)
    }
}

const MODEL: &str = include_str!("../s3.json");
const CONTROL_MODEL: &str = include_str!("../s3control.json");

macro_rules! operations {
    ($($name:ident => $module:ident :: $auth:ident, $handle:ident;)*) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` operation.")]
            #[derive(Debug, Serialize, Deserialize)]
            #[serde(transparent)]
            pub struct $name(pub Input);

            impl Operation for $name {
                type Service = S3;
                type Output = Value;
                const NAME: &'static str = stringify!($name);

                fn authorize(&self, svc: &S3, call: &Call) -> Result<Authorization, AwsError> {
                    let auth = ops::$module::$auth(svc, call, &self.0)?;
                    // Through an access point, each check becomes two: access point and bucket.
                    access_point::authorize(&svc.access_points(), call, &self.0, Self::NAME, auth)
                }

                fn handle(
                    self,
                    svc: Arc<S3>,
                    call: Call,
                ) -> impl std::future::Future<Output = Result<Value, AwsError>> + Send {
                    ops::$module::$handle(svc, call, self.0)
                }

                fn from_input(input: &Arc<Value>) -> Result<Self, serde_json::Error> {
                    match Input::shared(input) {
                        Some(shared) => Ok($name(shared)),
                        None => Self::deserialize(&**input),
                    }
                }

                fn output_value(output: Value) -> Result<Value, serde_json::Error> {
                    Ok(output)
                }
            }
        )*

        fn register(def: ServiceDef, svc: &Arc<S3>) -> ServiceDef {
            def$(.operation::<$name>(svc))*
        }
    };
}

operations! {
    ListBuckets => bucket::auth_list_buckets, list_buckets;
    CreateBucket => bucket::auth_create_bucket, create_bucket;
    DeleteBucket => bucket::auth_delete_bucket, delete_bucket;
    HeadBucket => bucket::auth_head_bucket, head_bucket;
    GetBucketLocation => bucket::auth_get_bucket_location, get_bucket_location;
    GetBucketAcl => bucket::auth_get_bucket_acl, get_bucket_acl;
    PutBucketPolicy => bucket::auth_put_bucket_policy, put_bucket_policy;
    GetBucketPolicy => bucket::auth_get_bucket_policy, get_bucket_policy;
    DeleteBucketPolicy => bucket::auth_delete_bucket_policy, delete_bucket_policy;
    GetBucketPolicyStatus => bucket::auth_get_bucket_policy_status, get_bucket_policy_status;
    PutBucketTagging => bucket::auth_put_bucket_tagging, put_bucket_tagging;
    GetBucketTagging => bucket::auth_get_bucket_tagging, get_bucket_tagging;
    DeleteBucketTagging => bucket::auth_delete_bucket_tagging, delete_bucket_tagging;
    PutBucketVersioning => bucket::auth_put_bucket_versioning, put_bucket_versioning;
    GetBucketVersioning => bucket::auth_get_bucket_versioning, get_bucket_versioning;
    PutBucketEncryption => bucket::auth_put_bucket_encryption, put_bucket_encryption;
    GetBucketEncryption => bucket::auth_get_bucket_encryption, get_bucket_encryption;
    DeleteBucketEncryption => bucket::auth_delete_bucket_encryption, delete_bucket_encryption;
    PutPublicAccessBlock => bucket::auth_put_public_access_block, put_public_access_block;
    GetPublicAccessBlock => bucket::auth_get_public_access_block, get_public_access_block;
    DeletePublicAccessBlock => bucket::auth_delete_public_access_block, delete_public_access_block;
    PutBucketOwnershipControls => bucket::auth_put_ownership_controls, put_ownership_controls;
    GetBucketOwnershipControls => bucket::auth_get_ownership_controls, get_ownership_controls;
    DeleteBucketOwnershipControls => bucket::auth_delete_ownership_controls, delete_ownership_controls;
    PutObject => object::auth_put_object, put_object;
    GetObject => object::auth_get_object, get_object;
    HeadObject => object::auth_get_object, head_object;
    DeleteObject => object::auth_delete_object, delete_object;
    DeleteObjects => object::auth_delete_objects, delete_objects;
    CopyObject => object::auth_copy_object, copy_object;
    PutObjectTagging => object::auth_put_object_tagging, put_object_tagging;
    GetObjectTagging => object::auth_get_object_tagging, get_object_tagging;
    DeleteObjectTagging => object::auth_delete_object_tagging, delete_object_tagging;
    ListObjects => list::auth_list_objects, list_objects;
    ListObjectsV2 => list::auth_list_objects, list_objects_v2;
    ListObjectVersions => list::auth_list_object_versions, list_object_versions;
    CreateMultipartUpload => multipart::auth_create, create;
    UploadPart => multipart::auth_upload_part, upload_part;
    UploadPartCopy => multipart::auth_upload_part_copy, upload_part_copy;
    CompleteMultipartUpload => multipart::auth_complete, complete;
    AbortMultipartUpload => multipart::auth_abort, abort;
    ListMultipartUploads => multipart::auth_list_uploads, list_uploads;
    ListParts => multipart::auth_list_parts, list_parts;
}

macro_rules! control_operations {
    ($($name:ident => $auth:ident, $handle:ident;)*) => {
        $(
            #[doc = concat!("The S3 Control `", stringify!($name), "` operation.")]
            #[derive(Debug, Serialize, Deserialize)]
            #[serde(transparent)]
            pub struct $name(pub Input);

            impl Operation for $name {
                type Service = S3;
                type Output = Value;
                const NAME: &'static str = stringify!($name);

                fn authorize(&self, svc: &S3, call: &Call) -> Result<Authorization, AwsError> {
                    control::$auth(svc, call, &self.0)
                }

                fn handle(
                    self,
                    svc: Arc<S3>,
                    call: Call,
                ) -> impl std::future::Future<Output = Result<Value, AwsError>> + Send {
                    control::$handle(svc, call, self.0)
                }
            }
        )*

        fn register_control(def: ServiceDef, svc: &Arc<S3>) -> ServiceDef {
            def$(.operation::<$name>(svc))*
        }
    };
}

control_operations! {
    CreateAccessPoint => auth_create, create;
    GetAccessPoint => auth_get, get;
    ListAccessPoints => auth_list, list;
    DeleteAccessPoint => auth_delete, delete;
    PutAccessPointPolicy => auth_put_policy, put_policy;
    GetAccessPointPolicy => auth_get_policy, get_policy;
    DeleteAccessPointPolicy => auth_delete_policy, delete_policy;
    GetAccessPointPolicyStatus => auth_policy_status, policy_status;
}
