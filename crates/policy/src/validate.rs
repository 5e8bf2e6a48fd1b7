//! Findings like IAM Access Analyzer's ValidatePolicy.

use crate::policy::PolicyType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem in a policy, with its position (1-based line and column, in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub line: u32,
    pub column: u32,
    /// The statement's Sid, or its index (`#0`, `#1`, ...) when it has none.
    pub statement: Option<String>,
    pub message: String,
}

/// Validates `text` as a policy of type `kind`: errors for what AWS would reject, warnings for
/// what is legal but dangerous.
pub fn validate(text: &str, kind: PolicyType) -> Vec<Finding> {
    crate::policy::compile(text, kind).1
}
