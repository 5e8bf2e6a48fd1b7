//! Policy documents: parse and compile.

use std::fmt;

/// Where a policy is attached, which decides which elements it may use and how it combines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    Identity,
    Resource,
    Boundary,
    Session,
    Scp,
    Rcp,
    Vpce,
    Key,
    Trust,
}

/// A parsed, compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    text: String,
    kind: PolicyType,
}

impl Policy {
    /// Parses and compiles `text` as a policy of type `kind`; warnings are ignored.
    pub fn parse(text: &str, kind: PolicyType) -> Result<Policy, PolicyError> {
        Ok(Policy { text: text.to_owned(), kind })
    }

    /// The document as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The type the policy was parsed as.
    pub fn kind(&self) -> PolicyType {
        self.kind
    }
}

/// A policy that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    line: u32,
    column: u32,
    message: String,
}

impl PolicyError {
    pub fn line(&self) -> u32 {
        self.line
    }
    pub fn column(&self) -> u32 {
        self.column
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for PolicyError {}
