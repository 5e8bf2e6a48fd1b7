//! The operations' inputs and outputs, member for member as the KMS model spells them. Blobs are
//! base64 text, timestamps epoch seconds. Other services build these to call KMS on a caller's
//! behalf (`..Default::default()` fills the rest).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// An encryption context as it travels.
pub type ContextMap = BTreeMap<String, String>;

/// A tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub tag_key: String,
    pub tag_value: String,
}

/// `KeyMetadata`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: f64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    pub origin: String,
    pub key_manager: String,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    pub encryption_algorithms: Vec<String>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

macro_rules! input {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        #[serde(rename_all = "PascalCase", default)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
        }
    };
}

input!(
    /// `CreateKey`.
    CreateKey {
        #[serde(skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_usage: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_master_key_spec: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_spec: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        origin: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        bypass_policy_lockout_safety_check: Option<bool>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tags: Vec<Tag>,
        #[serde(skip_serializing_if = "Option::is_none")]
        multi_region: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        xks_key_id: Option<String>,
    }
);

/// `CreateKey` / `DescribeKey` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyMetadataOutput {
    pub key_metadata: KeyMetadata,
}

input!(
    /// `DescribeKey`.
    DescribeKey {
        key_id: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
    }
);

input!(
    /// `ListKeys`.
    ListKeys {
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
);

/// One entry of `ListKeys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}

/// `ListKeys` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeysOutput {
    pub keys: Vec<KeyListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

input!(
    /// `EnableKey`.
    EnableKey { key_id: String }
);
input!(
    /// `DisableKey`.
    DisableKey { key_id: String }
);
input!(
    /// `UpdateKeyDescription`.
    UpdateKeyDescription {
        key_id: String,
        description: String,
    }
);
input!(
    /// `ScheduleKeyDeletion`.
    ScheduleKeyDeletion {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pending_window_in_days: Option<i64>,
    }
);

/// `ScheduleKeyDeletion` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScheduleKeyDeletionOutput {
    pub key_id: String,
    pub deletion_date: f64,
    pub key_state: String,
    pub pending_window_in_days: u32,
}

input!(
    /// `CancelKeyDeletion`.
    CancelKeyDeletion { key_id: String }
);

/// An output carrying only `KeyId`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KeyIdOutput {
    pub key_id: String,
}

/// An empty output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

input!(
    /// `GetKeyPolicy`.
    GetKeyPolicy {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        policy_name: Option<String>,
    }
);

/// `GetKeyPolicy` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetKeyPolicyOutput {
    pub policy: String,
    pub policy_name: String,
}

input!(
    /// `PutKeyPolicy`.
    PutKeyPolicy {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        policy_name: Option<String>,
        policy: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        bypass_policy_lockout_safety_check: Option<bool>,
    }
);
input!(
    /// `ListKeyPolicies`.
    ListKeyPolicies {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
);

/// `ListKeyPolicies` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeyPoliciesOutput {
    pub policy_names: Vec<String>,
    pub truncated: bool,
}

input!(
    /// `TagResource`.
    TagResource {
        key_id: String,
        tags: Vec<Tag>,
    }
);
input!(
    /// `UntagResource`.
    UntagResource {
        key_id: String,
        tag_keys: Vec<String>,
    }
);
input!(
    /// `ListResourceTags`.
    ListResourceTags {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
);

/// `ListResourceTags` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListResourceTagsOutput {
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

input!(
    /// `EnableKeyRotation`.
    EnableKeyRotation {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        rotation_period_in_days: Option<i64>,
    }
);
input!(
    /// `DisableKeyRotation`.
    DisableKeyRotation { key_id: String }
);
input!(
    /// `GetKeyRotationStatus`.
    GetKeyRotationStatus { key_id: String }
);

/// `GetKeyRotationStatus` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetKeyRotationStatusOutput {
    pub key_rotation_enabled: bool,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_rotation_start_date: Option<f64>,
}

input!(
    /// `RotateKeyOnDemand`.
    RotateKeyOnDemand { key_id: String }
);
input!(
    /// `ListKeyRotations`.
    ListKeyRotations {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        include_key_material: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
);

/// One entry of `ListKeyRotations`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RotationsListEntry {
    pub key_id: String,
    pub key_material_id: String,
    pub key_material_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<String>,
}

/// `ListKeyRotations` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListKeyRotationsOutput {
    pub rotations: Vec<RotationsListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

input!(
    /// `CreateAlias`.
    CreateAlias {
        alias_name: String,
        target_key_id: String,
    }
);
input!(
    /// `UpdateAlias`.
    UpdateAlias {
        alias_name: String,
        target_key_id: String,
    }
);
input!(
    /// `DeleteAlias`.
    DeleteAlias { alias_name: String }
);
input!(
    /// `ListAliases`.
    ListAliases {
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    }
);

/// One entry of `ListAliases`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    pub creation_date: f64,
    pub last_updated_date: f64,
}

/// `ListAliases` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListAliasesOutput {
    pub aliases: Vec<AliasListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

input!(
    /// `Encrypt`.
    Encrypt {
        key_id: String,
        /// Base64.
        plaintext: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_context: Option<ContextMap>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_algorithm: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// `Encrypt` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EncryptOutput {
    /// Base64.
    pub ciphertext_blob: String,
    pub key_id: String,
    pub encryption_algorithm: String,
}

input!(
    /// `Decrypt`.
    Decrypt {
        /// Base64.
        ciphertext_blob: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_context: Option<ContextMap>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_algorithm: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// `Decrypt` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DecryptOutput {
    pub key_id: String,
    /// Base64.
    pub plaintext: String,
    pub encryption_algorithm: String,
    pub key_material_id: String,
}

input!(
    /// `ReEncrypt`.
    ReEncrypt {
        /// Base64.
        ciphertext_blob: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        source_encryption_context: Option<ContextMap>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source_key_id: Option<String>,
        destination_key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        destination_encryption_context: Option<ContextMap>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source_encryption_algorithm: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        destination_encryption_algorithm: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// `ReEncrypt` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReEncryptOutput {
    /// Base64.
    pub ciphertext_blob: String,
    pub source_key_id: String,
    pub key_id: String,
    pub source_encryption_algorithm: String,
    pub destination_encryption_algorithm: String,
    pub source_key_material_id: String,
    pub destination_key_material_id: String,
}

input!(
    /// `GenerateDataKey`.
    GenerateDataKey {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_context: Option<ContextMap>,
        #[serde(skip_serializing_if = "Option::is_none")]
        number_of_bytes: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_spec: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// `GenerateDataKey` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateDataKeyOutput {
    /// Base64.
    pub ciphertext_blob: String,
    /// Base64.
    pub plaintext: String,
    pub key_id: String,
    pub key_material_id: String,
}

input!(
    /// `GenerateDataKeyWithoutPlaintext`.
    GenerateDataKeyWithoutPlaintext {
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        encryption_context: Option<ContextMap>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_spec: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        number_of_bytes: Option<i64>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// `GenerateDataKeyWithoutPlaintext` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateDataKeyWithoutPlaintextOutput {
    /// Base64.
    pub ciphertext_blob: String,
    pub key_id: String,
    pub key_material_id: String,
}

input!(
    /// `GenerateRandom`.
    GenerateRandom {
        #[serde(skip_serializing_if = "Option::is_none")]
        number_of_bytes: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        custom_key_store_id: Option<String>,
    }
);

/// `GenerateRandom` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GenerateRandomOutput {
    /// Base64.
    pub plaintext: String,
}

/// `GrantConstraints`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GrantConstraintsShape {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<ContextMap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<ContextMap>,
}

input!(
    /// `CreateGrant`.
    CreateGrant {
        key_id: String,
        grantee_principal: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        retiring_principal: Option<String>,
        operations: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        constraints: Option<GrantConstraintsShape>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        grant_tokens: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// `CreateGrant` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateGrantOutput {
    pub grant_token: String,
    pub grant_id: String,
}

input!(
    /// `ListGrants`.
    ListGrants {
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
        key_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        grantee_principal: Option<String>,
    }
);
input!(
    /// `ListRetirableGrants`.
    ListRetirableGrants {
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
        retiring_principal: String,
    }
);

/// One entry of `ListGrants`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GrantListEntry {
    pub key_id: String,
    pub grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub creation_date: f64,
    pub grantee_principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraintsShape>,
}

/// `ListGrants` output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListGrantsOutput {
    pub grants: Vec<GrantListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
}

input!(
    /// `RetireGrant`.
    RetireGrant {
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_token: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        grant_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);
input!(
    /// `RevokeGrant`.
    RevokeGrant {
        key_id: String,
        grant_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        dry_run: Option<bool>,
    }
);

/// Decodes a base64 blob member.
pub fn decode_blob(value: &str) -> Option<Vec<u8>> {
    STANDARD.decode(value.trim()).ok()
}

/// Encodes a blob member.
pub fn encode_blob(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

impl GenerateDataKeyOutput {
    /// The plaintext data key.
    pub fn plaintext_bytes(&self) -> Option<Vec<u8>> {
        decode_blob(&self.plaintext)
    }

    /// The encrypted data key.
    pub fn ciphertext_bytes(&self) -> Option<Vec<u8>> {
        decode_blob(&self.ciphertext_blob)
    }
}

impl DecryptOutput {
    /// The plaintext.
    pub fn plaintext_bytes(&self) -> Option<Vec<u8>> {
        decode_blob(&self.plaintext)
    }
}
