//! An operation's input as the router decoded it: the model's member names over JSON values.

use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::router::FACTS;

/// The decoded input of one S3 operation: the document the router decoded, shared with the
/// call (which keeps it for the audit trail) rather than copied.
#[derive(Debug, Clone)]
pub struct Input(Arc<Value>);

impl Default for Input {
    fn default() -> Input {
        Input::new(Map::new())
    }
}

impl Serialize for Input {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Input, D::Error> {
        Map::deserialize(d).map(Input::new)
    }
}

impl Input {
    /// An input with these members.
    pub fn new(members: Map<String, Value>) -> Input {
        Input(Arc::new(Value::Object(members)))
    }

    /// The decoded document itself, when it is an object (as the router makes it).
    pub(crate) fn shared(document: &Arc<Value>) -> Option<Input> {
        document.is_object().then(|| Input(document.clone()))
    }

    /// The members.
    pub fn map(&self) -> &Map<String, Value> {
        static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        self.0.as_object().unwrap_or(&EMPTY)
    }

    /// A member's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        member(self.map(), name).filter(|v| !v.is_null())
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
        match member(self.map(), FACTS) {
            Some(Value::Object(facts)) => member(facts, name),
            _ => None,
        }
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

/// `map[name]`. An input has a handful of members, looked up a few dozen times per request: a scan
/// comparing names (most differ in length) costs less than hashing the name with the map's SipHash.
fn member<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    if map.len() > 16 {
        return map.get(name);
    }
    map.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_in_small_and_large_inputs() {
        for n in [0usize, 1, 5, 16, 17, 40] {
            let mut m = Map::new();
            for i in 0..n {
                m.insert(format!("Member{i}"), Value::from(i));
            }
            m.insert("Bucket".into(), Value::from("b"));
            m.insert("Gone".into(), Value::Null);
            m.insert(
                FACTS.into(),
                serde_json::json!({"authType": "REST-QUERY-STRING"}),
            );
            let input = Input::new(m);
            assert_eq!(input.bucket(), "b", "{n}");
            assert_eq!(input.get("Gone"), None);
            assert_eq!(input.get("Missing"), None);
            assert_eq!(input.get("member0"), None, "names are compared exactly");
            if n > 0 {
                assert_eq!(input.int(&format!("Member{}", n - 1)), Some(n as i64 - 1));
            }
            assert_eq!(
                input.fact("authType").and_then(Value::as_str),
                Some("REST-QUERY-STRING")
            );
        }
    }
}
