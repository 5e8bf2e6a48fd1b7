//! The request context: condition keys and their values.

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
    /// (lower-cased key, key as given, value)
    entries: Vec<(String, String, Value)>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (case-insensitive) to `value`.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl Into<Value>) {
        let key = key.as_ref();
        let lower = key.to_ascii_lowercase();
        let value = value.into();
        if let Some(e) = self.entries.iter_mut().find(|e| e.0 == lower) {
            e.1 = key.to_owned();
            e.2 = value;
        } else {
            self.entries.push((lower, key.to_owned(), value));
        }
    }

    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: impl AsRef<str>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self
            .entries
            .iter()
            .position(|e| e.0.eq_ignore_ascii_case(key))?;
        Some(self.entries.remove(i).2)
    }

    /// The value of `key`, compared case-insensitively.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|e| e.0.len() == key.len() && e.0.eq_ignore_ascii_case(key))
            .map(|e| &e.2)
    }

    /// Lookup with a key that is already lower case (compiled policies store keys that way).
    pub(crate) fn get_lower(&self, lower: &str) -> Option<&Value> {
        self.entries.iter().find(|e| e.0 == lower).map(|e| &e.2)
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
        self.entries.iter().map(|e| (e.1.as_str(), &e.2))
    }
}
