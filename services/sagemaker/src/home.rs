//! Home directories: one per user profile (and per space) in its domain's storage, the way
//! a domain's EFS volume keeps one private directory per user.
//!
//! Each directory has its own 256-bit data key. With a domain KMS key, SageMaker asks KMS
//! for that data key as itself (`sagemaker.amazonaws.com`, allowed by the grant the domain's
//! creator gave it, with the encryption context `aws:sagemaker:domain-arn`) and keeps only
//! KMS's ciphertext; without one, the key is wrapped by the instance keyring (a
//! Perimeter-managed key). Files are blobs sealed under the data key in SageMaker's blob
//! store; the only way to them is a Studio session of their owner.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::{AwsError, Caller};
use serde_json::Value;
use storage::{Batch, BlobId};
use zeroize::Zeroizing;

use crate::kinds::Kind;
use crate::state::{HomeFile, HomeVolume, State};
use crate::{SERVICE_PRINCIPAL, SageMaker, time};

/// The encryption context key of home-directory data keys.
pub(crate) const CONTEXT_KEY: &str = "aws:sagemaker:domain-arn";

/// The largest file a home directory takes through the Studio pages.
pub(crate) const MAX_FILE: usize = 8 << 20;

/// A 256-bit data key.
pub(crate) type DataKey = Zeroizing<[u8; 32]>;

/// The next POSIX uid in a domain (`HomeEfsFileSystemUid`), from 200001 as AWS numbers them.
pub(crate) fn next_uid(svc: &SageMaker, account: &str, domain_id: &str) -> String {
    let prefix = format!("{domain_id}/");
    let taken = svc
        .read(|st| {
            Ok(st
                .of_kind(account, Kind::UserProfile)
                .chain(st.of_kind(account, Kind::Space))
                .filter(|r| r.id.starts_with(&prefix))
                .filter_map(|r| {
                    r.doc
                        .get("HomeEfsFileSystemUid")
                        .and_then(Value::as_str)
                        .and_then(|u| u.parse::<u64>().ok())
                })
                .max())
        })
        .ok()
        .flatten();
    (taken.unwrap_or(200_000) + 1).to_string()
}

/// Removes every home directory of a domain (its `RetentionPolicy` is `Delete`); returns the
/// blobs to delete once the batch is durable.
pub(crate) fn remove_domain(
    st: &mut State,
    batch: &mut Batch,
    account: &str,
    domain_id: &str,
) -> Vec<BlobId> {
    let files: Vec<HomeFile> = st
        .files
        .values()
        .filter(|f| f.account == account && f.domain_id == domain_id)
        .cloned()
        .collect();
    let mut blobs = Vec::new();
    for f in files {
        batch.delete::<HomeFile>(&storage::Record::key(&f));
        st.files.remove(&f.slot());
        blobs.push(f.blob);
    }
    let volumes: Vec<HomeVolume> = st
        .volumes
        .values()
        .filter(|v| v.account == account && v.domain_id == domain_id)
        .cloned()
        .collect();
    for v in volumes {
        batch.delete::<HomeVolume>(&storage::Record::key(&v));
        st.volumes.remove(&v.slot());
    }
    blobs
}

fn keyring_aad(account: &str, domain_id: &str, owner: &str) -> Vec<u8> {
    format!("sagemaker:home:{account}/{domain_id}/{owner}").into_bytes()
}

fn as_key(bytes: &[u8]) -> Result<DataKey, AwsError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| AwsError::internal("a home-directory data key is not 256 bits"))?;
    Ok(Zeroizing::new(arr))
}

/// SageMaker acting on its own, for KMS calls outside any request.
fn service_call(svc: &SageMaker, account: &str) -> Result<gateway::Call, AwsError> {
    let gw = svc
        .installed_gateway()
        .ok_or_else(|| AwsError::internal("sagemaker is not installed on a gateway"))?;
    Ok(gw.internal_call(
        Arc::new(Caller::service(SERVICE_PRINCIPAL, account)),
        "sagemaker",
    ))
}

/// The data key of a home directory, creating the directory on first use.
pub(crate) async fn data_key(
    svc: &SageMaker,
    account: &str,
    domain_id: &str,
    owner: &str,
    uid: &str,
) -> Result<DataKey, AwsError> {
    let slot = (
        account.to_string(),
        domain_id.to_string(),
        owner.to_string(),
    );
    let volume = svc.read(|st| Ok(st.volumes.get(&slot).cloned()))?;
    if let Some(v) = volume {
        return open_key(svc, &v).await;
    }
    let domain = svc
        .read(|st| Ok(st.get(account, Kind::Domain, domain_id).cloned()))?
        .ok_or_else(|| AwsError::internal("home directory of a domain that does not exist"))?;
    let key_arn = domain
        .doc
        .get("_HomeKeyArn")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (key, wrapped) = match &key_arn {
        Some(arn) => {
            let call = service_call(svc, account)?;
            let out = call
                .invoke_as_service(
                    SERVICE_PRINCIPAL,
                    svc.kms(),
                    kms::GenerateDataKey {
                        key_id: arn.clone(),
                        encryption_context: Some(
                            [(CONTEXT_KEY.to_string(), domain.arn.clone())]
                                .into_iter()
                                .collect(),
                        ),
                        key_spec: Some("AES_256".into()),
                        ..Default::default()
                    },
                    "kms",
                )
                .await?;
            let plain =
                Zeroizing::new(STANDARD.decode(&out.plaintext).map_err(|_| {
                    AwsError::internal("KMS returned a plaintext that is not base64")
                })?);
            (as_key(&plain)?, out.ciphertext_blob)
        }
        None => {
            let key = storage::keyring::random_key().map_err(AwsError::internal)?;
            let wrapped = svc
                .store()
                .keyring()
                .wrap(&key[..], &keyring_aad(account, domain_id, owner))
                .map_err(AwsError::internal)?;
            (key, STANDARD.encode(wrapped))
        }
    };
    let v = HomeVolume {
        account: account.to_string(),
        domain_id: domain_id.to_string(),
        owner: owner.to_string(),
        kms_key_arn: key_arn,
        wrapped_key: wrapped,
        uid: uid.to_string(),
    };
    let kept = svc
        .write_internal(move |st, batch| {
            // Two first uses at once: the first one stored wins.
            if let Some(existing) = st.volumes.get(&v.slot()) {
                return Ok(Some(existing.clone()));
            }
            batch.put(&v);
            st.volumes.insert(v.slot(), v);
            Ok(None)
        })
        .await?;
    match kept {
        Some(existing) => open_key(svc, &existing).await,
        None => Ok(key),
    }
}

async fn open_key(svc: &SageMaker, v: &HomeVolume) -> Result<DataKey, AwsError> {
    let wrapped = STANDARD
        .decode(&v.wrapped_key)
        .map_err(|_| AwsError::internal("a stored home-directory key is not base64"))?;
    match &v.kms_key_arn {
        None => {
            let plain = svc
                .store()
                .keyring()
                .unwrap(&wrapped, &keyring_aad(&v.account, &v.domain_id, &v.owner))
                .map_err(AwsError::internal)?;
            as_key(&plain)
        }
        Some(_) => {
            let domain_arn =
                crate::kinds::arn(svc.region(), &v.account, Kind::Domain, &v.domain_id);
            let call = service_call(svc, &v.account)?;
            let out = call
                .invoke_as_service(
                    SERVICE_PRINCIPAL,
                    svc.kms(),
                    kms::Decrypt {
                        ciphertext_blob: v.wrapped_key.clone(),
                        encryption_context: Some(
                            [(CONTEXT_KEY.to_string(), domain_arn)]
                                .into_iter()
                                .collect(),
                        ),
                        ..Default::default()
                    },
                    "kms",
                )
                .await?;
            let plain =
                Zeroizing::new(STANDARD.decode(&out.plaintext).map_err(|_| {
                    AwsError::internal("KMS returned a plaintext that is not base64")
                })?);
            as_key(&plain)
        }
    }
}

/// Checks a home-relative file path: no absolute paths, no `.` or `..`, no empty segments.
pub(crate) fn check_path(path: &str) -> Result<String, String> {
    if path.is_empty() || path.len() > 1024 {
        return Err("a file path must have 1 to 1024 characters".into());
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Err(format!("`{path}` must be relative to the home directory"));
    }
    for seg in path.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(format!("`{path}` has an empty, `.` or `..` segment"));
        }
        if seg.chars().any(char::is_control) {
            return Err(format!("`{path}` has a control character"));
        }
    }
    Ok(path.to_string())
}

/// One directory's files: (path, size, modified).
pub(crate) fn list(
    svc: &SageMaker,
    account: &str,
    domain_id: &str,
    owner: &str,
) -> Vec<(String, u64, f64)> {
    svc.read(|st| {
        Ok(st
            .files
            .values()
            .filter(|f| f.account == account && f.domain_id == domain_id && f.owner == owner)
            .map(|f| (f.path.clone(), f.size, f.modified))
            .collect())
    })
    .unwrap_or_default()
}

/// Reads a file.
pub(crate) async fn read(
    svc: &SageMaker,
    account: &str,
    domain_id: &str,
    owner: &str,
    uid: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, AwsError> {
    let slot = (
        account.to_string(),
        domain_id.to_string(),
        owner.to_string(),
        path.to_string(),
    );
    let Some(f) = svc.read(|st| Ok(st.files.get(&slot).cloned()))? else {
        return Ok(None);
    };
    let key = data_key(svc, account, domain_id, owner, uid).await?;
    let reader = svc
        .home_blobs()
        .open(f.blob, &key)
        .map_err(AwsError::internal)?;
    reader.read_all().map(Some).map_err(AwsError::internal)
}

/// Writes a file (replacing it).
pub(crate) async fn write(
    svc: &SageMaker,
    account: &str,
    domain_id: &str,
    owner: &str,
    uid: &str,
    path: &str,
    data: &[u8],
) -> Result<(), AwsError> {
    let key = data_key(svc, account, domain_id, owner, uid).await?;
    let mut w = svc.home_blobs().create(&key).map_err(AwsError::internal)?;
    w.write_all(data).map_err(AwsError::internal)?;
    let info = w.finish().map_err(AwsError::internal)?;
    let f = HomeFile {
        account: account.to_string(),
        domain_id: domain_id.to_string(),
        owner: owner.to_string(),
        path: path.to_string(),
        blob: info.id,
        size: info.len,
        modified: time::now(),
    };
    let old = svc
        .write_internal(move |st, batch| {
            batch.put(&f);
            Ok(st.files.insert(f.slot(), f).map(|o| o.blob))
        })
        .await;
    match old {
        Ok(Some(b)) => {
            let _ = svc.home_blobs().delete(b);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            let _ = svc.home_blobs().delete(info.id);
            Err(e)
        }
    }
}

/// Deletes a file; returns whether it existed.
pub(crate) async fn delete(
    svc: &SageMaker,
    account: &str,
    domain_id: &str,
    owner: &str,
    path: &str,
) -> Result<bool, AwsError> {
    let slot = (
        account.to_string(),
        domain_id.to_string(),
        owner.to_string(),
        path.to_string(),
    );
    let old = svc
        .write_internal(move |st, batch| {
            let Some(f) = st.files.remove(&slot) else {
                return Ok(None);
            };
            batch.delete::<HomeFile>(&storage::Record::key(&f));
            Ok(Some(f.blob))
        })
        .await?;
    match old {
        Some(b) => {
            let _ = svc.home_blobs().delete(b);
            Ok(true)
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_paths_stay_inside_the_home_directory() {
        for ok in ["a.ipynb", "work/data.csv", "a b/c"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            "..",
            "a\u{0}b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}
