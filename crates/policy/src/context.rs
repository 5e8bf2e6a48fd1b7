//! The request context: condition keys and their values.

use std::borrow::Cow;

/// A context value: one string or several. Typed operators (numeric, date, bool, IP, ARN) parse
/// the strings when they read them; the key's type comes from the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Single(String),
    Multi(Vec<String>),
}

impl Value {
    /// The values as a slice (one element for a single value).
    pub fn as_slice(&self) -> &[String] {
        match self {
            Value::Single(s) => std::slice::from_ref(s),
            Value::Multi(v) => v,
        }
    }

    pub fn is_multi(&self) -> bool {
        matches!(self, Value::Multi(_))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Single(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Single(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Single(s.clone())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Single(if b { "true" } else { "false" }.to_owned())
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Single(n.to_string())
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Single(n.to_string())
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Single(n.to_string())
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::Multi(v)
    }
}
impl From<Vec<&str>> for Value {
    fn from(v: Vec<&str>) -> Self {
        Value::Multi(v.into_iter().map(str::to_owned).collect())
    }
}
impl From<&[&str]> for Value {
    fn from(v: &[&str]) -> Self {
        Value::Multi(v.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// Condition keys of a request. Key names are case-insensitive; a later insert of the same key
/// replaces the earlier value.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `key_hash` of each entry's key, kept apart so lookups scan one small array.
    hashes: Vec<u64>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    hash: u64,
    /// As first given; compared ignoring ASCII case (no lower-cased copy: a request's context is
    /// built for every call, and each copy is an allocation). Most keys are the build's own
    /// names, borrowed.
    key: Cow<'static, str>,
    value: Value,
}

/// FNV-1a of the ASCII-lower-cased bytes: cheap, and lets lookups compare one word first.
#[inline]
pub(crate) fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= b.to_ascii_lowercase() as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context with room for `n` keys (a request's context has a few dozen).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            hashes: Vec::with_capacity(n),
            entries: Vec::with_capacity(n),
        }
    }

    /// Sets `key` (case-insensitive) to `value`.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        let hash = key_hash(&key);
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.hash == hash && e.key.eq_ignore_ascii_case(&key))
        {
            e.key = key;
            e.value = value;
        } else {
            self.hashes.push(hash);
            self.entries.push(Entry { hash, key, value });
        }
    }

    /// Adds `key`, which the caller knows is not in the context yet (a context built from
    /// distinct keys need not look each one up first).
    pub fn insert_new(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        let key = key.into();
        let hash = key_hash(&key);
        debug_assert!(
            self.get_hashed(hash, &key).is_none(),
            "{key} is already in the context"
        );
        self.hashes.push(hash);
        self.entries.push(Entry {
            hash,
            key,
            value: value.into(),
        });
    }

    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self
            .entries
            .iter()
            .position(|e| e.key.eq_ignore_ascii_case(key))?;
        self.hashes.remove(i);
        Some(self.entries.remove(i).value)
    }

    /// The value of `key`, compared case-insensitively.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.get_hashed(key_hash(key), key)
    }

    /// Lookup with a key that is already lower case (compiled policies store keys that way).
    pub(crate) fn get_lower(&self, lower: &str) -> Option<&Value> {
        self.get_hashed(key_hash(lower), lower)
    }

    /// Lookup with the key's [`key_hash`] computed in advance.
    #[inline]
    pub(crate) fn get_hashed(&self, hash: u64, key: &str) -> Option<&Value> {
        for (i, h) in self.hashes.iter().enumerate() {
            if *h == hash {
                let e = &self.entries[i];
                if e.key.as_bytes() == key.as_bytes() || e.key.eq_ignore_ascii_case(key) {
                    return Some(&e.value);
                }
            }
        }
        None
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The keys (as first given) and values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|e| (e.key.as_ref(), &e.value))
    }
}
