//! SecureString values: encrypted and decrypted by KMS as the caller, on the caller's
//! behalf (`kms:ViaService = ssm.<region>.amazonaws.com`), with the encryption context
//! `{"PARAMETER_ARN": <arn>}` as Parameter Store uses. The default key is the AWS managed
//! `alias/aws/ssm`, which KMS creates in the caller's account on first use.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::{AwsError, Call, Via};

/// The default key of SecureString parameters.
pub const DEFAULT_KEY: &str = "alias/aws/ssm";

/// How KMS knows this service.
const SSM_PRINCIPAL: &str = "ssm.amazonaws.com";

fn context(arn: &str) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    c.insert("PARAMETER_ARN".to_string(), arn.to_string());
    c
}

/// KMS's errors as Parameter Store reports them: a key that cannot be used is
/// `InvalidKeyId`; a denial keeps KMS's code and message, naming the service it came from.
fn from_kms(e: AwsError) -> AwsError {
    match e.code.as_ref() {
        "NotFoundException"
        | "InvalidArnException"
        | "DisabledException"
        | "KMSInvalidStateException"
        | "InvalidKeyUsageException" => AwsError::bad_request("InvalidKeyId", e.message),
        "AccessDeniedException" => AwsError::bad_request(
            "AccessDeniedException",
            format!(
                "{} (Service: AWSKMS; Status Code: {}; Error Code: AccessDeniedException)",
                e.message, e.status
            ),
        ),
        _ => e,
    }
}

/// Encrypts `plaintext` for the parameter `arn` under `key_id`; returns the ciphertext
/// blob (base64) and the key ARN.
pub async fn encrypt(
    kms: &Arc<kms::Kms>,
    call: &Call,
    key_id: &str,
    arn: &str,
    plaintext: &str,
) -> Result<(String, String), AwsError> {
    let op = kms::Encrypt {
        key_id: key_id.to_string(),
        plaintext: STANDARD.encode(plaintext.as_bytes()),
        encryption_context: Some(context(arn)),
        ..Default::default()
    };
    let out = call
        .invoke(kms, op, "kms", Via::service(SSM_PRINCIPAL))
        .await
        .map_err(from_kms)?;
    Ok((out.ciphertext_blob, out.key_id))
}

/// Decrypts a stored ciphertext blob (base64) of the parameter `arn`.
pub async fn decrypt(
    kms: &Arc<kms::Kms>,
    call: &Call,
    arn: &str,
    ciphertext: &str,
) -> Result<String, AwsError> {
    let op = kms::Decrypt {
        ciphertext_blob: ciphertext.to_string(),
        encryption_context: Some(context(arn)),
        ..Default::default()
    };
    let out = call
        .invoke(kms, op, "kms", Via::service(SSM_PRINCIPAL))
        .await
        .map_err(from_kms)?;
    let bytes = STANDARD
        .decode(out.plaintext.as_bytes())
        .map_err(AwsError::internal)?;
    String::from_utf8(bytes).map_err(AwsError::internal)
}
