//! An operation's input as the router decoded it: the model's member names over JSON values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::router::FACTS;

/// The decoded input of one S3 operation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Input(pub Map<String, Value>);

impl Input {
    /// A member's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A string member.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// An integer member.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// A boolean member.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    /// A timestamp member, epoch seconds.
    pub fn time(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    /// The bucket (always present for bucket and object operations).
    pub fn bucket(&self) -> &str {
        self.str("Bucket").unwrap_or("")
    }

    /// The object key.
    pub fn key(&self) -> &str {
        self.str("Key").unwrap_or("")
    }

    /// A fact about how the request was made (see [`crate::router::FACTS`]).
    pub fn fact(&self, name: &str) -> Option<&Value> {
        self.0.get(FACTS).and_then(|f| f.get(name))
    }

    /// The `x-amz-meta-*` map.
    pub fn metadata(&self) -> std::collections::BTreeMap<String, String> {
        match self.get("Metadata") {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.to_ascii_lowercase(), s.to_string())))
                .collect(),
            _ => Default::default(),
        }
    }
}
