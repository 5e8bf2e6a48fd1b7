//! What KMS keeps in the store: one record per key (its material wrapped under the instance root key,
//! its policy, tags and grants) and one per alias.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A key's lifecycle state (`KeyState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    /// The `KeyState` value.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

/// One version of a key's material, wrapped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MaterialRecord {
    /// 1 for the material the key was created with, then one more per rotation.
    pub version: u32,
    /// `KeyMaterialId`: 64 hex characters, unrelated to the material itself.
    pub material_id: String,
    /// The material sealed by the instance keyring (base64).
    pub wrapped: String,
    /// When it was created (epoch seconds).
    pub created: f64,
    /// `AUTOMATIC` or `ON_DEMAND` for rotations; `None` for the original material.
    #[serde(default)]
    pub rotation_type: Option<String>,
}

/// Encryption context constraints of a grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantConstraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<BTreeMap<String, String>>,
}

impl GrantConstraints {
    /// Whether the constraints restrict nothing.
    pub fn is_empty(&self) -> bool {
        self.equals.as_ref().is_none_or(|m| m.is_empty())
            && self.subset.as_ref().is_none_or(|m| m.is_empty())
    }
}

/// A grant on a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantRecord {
    /// 64 hex characters.
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub grantee: String,
    #[serde(default)]
    pub retiring: Option<String>,
    /// Grant operations (`Decrypt`, `ReEncryptFrom`, ...).
    pub operations: Vec<String>,
    #[serde(default)]
    pub constraints: Option<GrantConstraints>,
    pub created: f64,
    /// The account whose principal created the grant.
    pub issuing_account: String,
}

/// Automatic rotation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rotation {
    pub period_days: u32,
    /// When the next automatic rotation is due (epoch seconds).
    pub next: f64,
}

/// A KMS key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key id (a UUID).
    pub id: String,
    pub account: String,
    pub region: String,
    pub created: f64,
    pub description: String,
    pub state: KeyState,
    #[serde(default)]
    pub deletion_date: Option<f64>,
    #[serde(default)]
    pub pending_window_days: Option<u32>,
    /// The key policy as given (or AWS's default).
    pub policy: String,
    /// Tags in the order they were added.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    #[serde(default)]
    pub rotation: Option<Rotation>,
    /// When the last on-demand rotation started.
    #[serde(default)]
    pub on_demand_started: Option<f64>,
    pub materials: Vec<MaterialRecord>,
    #[serde(default)]
    pub grants: Vec<GrantRecord>,
}

impl storage::Record for KeyRecord {
    const TABLE: &'static str = "kms.key";
    fn key(&self) -> String {
        self.id.clone()
    }
}

impl KeyRecord {
    /// The key ARN.
    pub fn arn(&self) -> String {
        key_arn(&self.region, &self.account, &self.id)
    }

    /// The current (newest) material.
    pub fn current_material(&self) -> Option<&MaterialRecord> {
        self.materials.iter().max_by_key(|m| m.version)
    }
}

/// An alias.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AliasRecord {
    pub account: String,
    pub region: String,
    /// `alias/...`.
    pub name: String,
    /// The key id it points to.
    pub target: String,
    pub created: f64,
    pub updated: f64,
}

impl storage::Record for AliasRecord {
    const TABLE: &'static str = "kms.alias";
    fn key(&self) -> String {
        alias_record_key(&self.account, &self.name)
    }
}

impl AliasRecord {
    /// The alias ARN.
    pub fn arn(&self) -> String {
        alias_arn(&self.region, &self.account, &self.name)
    }
}

/// The store key of an alias.
pub fn alias_record_key(account: &str, name: &str) -> String {
    format!("{account}/{name}")
}

/// `arn:aws:kms:<region>:<account>:key/<id>`.
pub fn key_arn(region: &str, account: &str, id: &str) -> String {
    // Every key operation names its key: joined without the formatting machinery.
    ["arn:aws:kms:", region, ":", account, ":key/", id].concat()
}

/// `arn:aws:kms:<region>:<account>:alias/<name>` (`name` includes `alias/`).
pub fn alias_arn(region: &str, account: &str, name: &str) -> String {
    ["arn:aws:kms:", region, ":", account, ":", name].concat()
}
