//! SageMaker's errors, with its codes: `ValidationException`, `ResourceNotFound`,
//! `ResourceInUse`, `ResourceLimitExceeded`.

use gateway::AwsError;

/// `ValidationException` (400).
pub(crate) fn validation(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ValidationException", message)
}

/// `ResourceNotFound` (400).
pub(crate) fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ResourceNotFound", message)
}

/// `ResourceInUse` (400).
pub(crate) fn in_use(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ResourceInUse", message)
}

/// `ResourceLimitExceeded` (400).
pub(crate) fn limit_exceeded(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ResourceLimitExceeded", message)
}

/// The `ValidationException` of a member that fails its pattern, as AWS words it.
pub(crate) fn pattern(value: &str, member: &str, pattern: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: {pattern}"
    ))
}

/// A `NextToken` this service did not issue.
pub(crate) fn invalid_token() -> AwsError {
    validation("Invalid pagination token because of a mismatch in the request parameters.")
}
