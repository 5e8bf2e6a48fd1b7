//! The error every operation returns, rendered per protocol by `protocol`.

use std::borrow::Cow;
use std::fmt;

/// An AWS error: the code clients match on, a message, and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The error code, e.g. `NoSuchEntity` or `AccessDeniedException`.
    pub code: Cow<'static, str>,
    /// The human-readable message.
    pub message: String,
    /// The HTTP status code.
    pub status: u16,
    /// Whether the caller is at fault (`Sender`) or the service (`Receiver`).
    pub sender_fault: bool,
    /// Extra elements some protocols carry, e.g. S3's `<BucketName>`.
    pub extra: Vec<(&'static str, String)>,
}

impl AwsError {
    /// An error with a code, status and message; the caller is at fault when status < 500.
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        status: u16,
        message: impl Into<String>,
    ) -> Self {
        AwsError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault: status < 500,
            extra: Vec::new(),
        }
    }

    /// A 400 error with the given code.
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(code, 400, message)
    }

    /// An internal failure; the details go to the log, not to the client.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    /// Adds an extra element (S3 style) to the error.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}
