//! S3's calls to KMS, made as the caller through the gateway (a forward access session from
//! `s3.amazonaws.com`): the key policy, grants, `kms:ViaService` and `kms:CallerAccount`
//! apply, and each call leaves its own audit record.
//!
//! The AWS managed key `alias/aws/s3` is not created here: S3 names the alias and KMS creates
//! the key on its first use (KMS's documented shortcut for AWS managed keys).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::{AwsError, Call, Via};

use crate::sse::{DataKey, GeneratedKey, KeyFuture, KeyService};

/// KMS as S3 uses it.
pub struct KmsKeys(pub Arc<kms::Kms>);

const VIA: &str = "s3.amazonaws.com";

fn context(arn: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("aws:s3:arn".to_string(), arn.to_string())])
}

/// KMS errors as S3 reports them: an authorization failure is S3's `AccessDenied` (403) with
/// KMS's message; other failures keep KMS's code behind `KMS.`.
fn s3_error(e: AwsError) -> AwsError {
    match e.code.as_ref() {
        "AccessDeniedException" => AwsError::new("AccessDenied", 403, e.message),
        "InternalFailure" => e,
        code if code.starts_with("KMS.") => e,
        code => AwsError::bad_request(format!("KMS.{code}"), e.message),
    }
}

fn key_of(b64: &str) -> Result<DataKey, AwsError> {
    let bytes = zeroize::Zeroizing::new(
        STANDARD
            .decode(b64)
            .map_err(|_| AwsError::internal("KMS returned a plaintext that is not base64"))?,
    );
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| AwsError::internal("KMS returned a data key that is not 256 bits"))?;
    Ok(zeroize::Zeroizing::new(arr))
}

impl KeyService for KmsKeys {
    fn generate_data_key<'a>(
        &'a self,
        call: &'a Call,
        key_id: &'a str,
        arn: &'a str,
    ) -> KeyFuture<'a, GeneratedKey> {
        Box::pin(async move {
            let op = kms::GenerateDataKey {
                key_id: key_id.to_string(),
                encryption_context: Some(context(arn)),
                key_spec: Some("AES_256".into()),
                ..Default::default()
            };
            let out = call
                .invoke(&self.0, op, "kms", Via::service(VIA))
                .await
                .map_err(s3_error)?;
            let ciphertext = STANDARD
                .decode(&out.ciphertext_blob)
                .map_err(|_| AwsError::internal("KMS returned a ciphertext that is not base64"))?;
            Ok(GeneratedKey {
                plaintext: key_of(&out.plaintext)?,
                ciphertext,
                key_arn: out.key_id,
            })
        })
    }

    fn decrypt<'a>(
        &'a self,
        call: &'a Call,
        ciphertext: &'a [u8],
        arn: &'a str,
    ) -> KeyFuture<'a, DataKey> {
        Box::pin(async move {
            let op = kms::Decrypt {
                ciphertext_blob: STANDARD.encode(ciphertext),
                encryption_context: Some(context(arn)),
                ..Default::default()
            };
            let out = call
                .invoke(&self.0, op, "kms", Via::service(VIA))
                .await
                .map_err(s3_error)?;
            key_of(&out.plaintext)
        })
    }

    fn resolve_key_arn(&self, account: &str, key_id: &str) -> Option<String> {
        self.0.resolve_key_arn(account, key_id)
    }

    fn default_key<'a>(&'a self, _call: &'a Call) -> KeyFuture<'a, String> {
        Box::pin(async move { Ok("alias/aws/s3".to_string()) })
    }
}
