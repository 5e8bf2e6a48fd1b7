//! Parameters as kept in the store and in memory: one record per parameter, holding its
//! tags and every version (at most 100). A SecureString version holds KMS's ciphertext
//! blob (base64), never the plaintext.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One version of a parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    pub version: u64,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// The value; for a SecureString, KMS's ciphertext blob in base64.
    pub value: String,
    /// The KMS key a SecureString was encrypted under, as the request named it.
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    /// `Standard` or `Advanced`.
    pub tier: String,
    pub data_type: String,
    pub labels: Vec<String>,
    pub modified: f64,
    pub modified_user: String,
}

/// A parameter with its history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    pub account: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub versions: Vec<Version>,
}

impl Param {
    pub fn key_of(account: &str, name: &str) -> String {
        format!("{account}/{name}")
    }

    /// The newest version.
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }

    pub fn version(&self, v: u64) -> Option<&Version> {
        self.versions.iter().find(|x| x.version == v)
    }

    pub fn labelled(&self, label: &str) -> Option<&Version> {
        self.versions
            .iter()
            .find(|x| x.labels.iter().any(|l| l == label))
    }
}

impl storage::Record for Param {
    const TABLE: &'static str = "ssm.parameter";
    fn key(&self) -> String {
        Param::key_of(&self.account, &self.name)
    }
}

/// Every account's parameters, by name (sorted, for paths).
#[derive(Debug, Default)]
pub struct State {
    pub accounts: HashMap<String, BTreeMap<String, Param>>,
}

impl State {
    pub fn get(&self, account: &str, name: &str) -> Option<&Param> {
        self.accounts.get(account)?.get(name)
    }

    pub fn get_mut(&mut self, account: &str, name: &str) -> Option<&mut Param> {
        self.accounts.get_mut(account)?.get_mut(name)
    }
}
