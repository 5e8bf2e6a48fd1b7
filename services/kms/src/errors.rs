//! KMS's error codes and messages, as AWS words them.

use gateway::AwsError;

/// `NotFoundException` for a key id or ARN that names no key.
pub fn key_not_found(arn: &str) -> AwsError {
    AwsError::bad_request("NotFoundException", format!("Key '{arn}' does not exist"))
}

/// `NotFoundException` for an identifier that is not a key id, key ARN or (where accepted) alias.
pub fn invalid_key_id(input: &str) -> AwsError {
    AwsError::bad_request("NotFoundException", format!("Invalid keyId {input}"))
}

/// `NotFoundException` for an alias that does not exist.
pub fn alias_not_found(alias_arn: &str) -> AwsError {
    AwsError::bad_request(
        "NotFoundException",
        format!("Alias {alias_arn} is not found."),
    )
}

/// `DisabledException`.
pub fn disabled(arn: &str) -> AwsError {
    AwsError::bad_request("DisabledException", format!("{arn} is disabled."))
}

/// `KMSInvalidStateException` for a key pending deletion.
pub fn pending_deletion(arn: &str) -> AwsError {
    AwsError::bad_request(
        "KMSInvalidStateException",
        format!("{arn} is pending deletion."),
    )
}

/// `KMSInvalidStateException` with a message.
pub fn invalid_state(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("KMSInvalidStateException", message)
}

/// `InvalidCiphertextException`: AWS gives no detail.
pub fn invalid_ciphertext() -> AwsError {
    AwsError::bad_request("InvalidCiphertextException", "")
}

/// `IncorrectKeyException`.
pub fn incorrect_key() -> AwsError {
    AwsError::bad_request(
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
    )
}

/// `ValidationException`.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("ValidationException", message)
}

/// `ValidationException` in the model validator's words.
pub fn value_constraint(value: impl std::fmt::Display, member: &str, constraint: &str) -> AwsError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// `MalformedPolicyDocumentException`.
pub fn malformed_policy(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("MalformedPolicyDocumentException", message)
}

/// The lockout safety check's refusal.
pub fn lockout() -> AwsError {
    malformed_policy(
        "The new key policy will not allow you to update the key policy in the future.",
    )
}

/// A policy the engine rejects, with where.
pub fn policy_error(e: &policy::PolicyError) -> AwsError {
    let mut message = e.message().to_string();
    if let Some(first) = message.get(..1) {
        message = first.to_ascii_uppercase() + &message[1..];
    }
    malformed_policy(format!(
        "{message} (line {}, column {})",
        e.line(),
        e.column()
    ))
}

/// `UnsupportedOperationException`.
pub fn unsupported(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("UnsupportedOperationException", message)
}

/// `TagException`.
pub fn tag(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("TagException", message)
}

/// `LimitExceededException`.
pub fn limit(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("LimitExceededException", message)
}

/// `InvalidMarkerException`.
pub fn invalid_marker() -> AwsError {
    AwsError::bad_request(
        "InvalidMarkerException",
        "The request was rejected because the marker that specifies where pagination should next begin is not valid.",
    )
}

/// `InvalidGrantIdException`.
pub fn invalid_grant_id() -> AwsError {
    AwsError::bad_request(
        "InvalidGrantIdException",
        "The request was rejected because the specified GrantId is not valid.",
    )
}

/// `InvalidGrantTokenException`.
pub fn invalid_grant_token() -> AwsError {
    AwsError::bad_request(
        "InvalidGrantTokenException",
        "The request was rejected because the specified grant token is not valid.",
    )
}

/// `DryRunOperationException`: the request would have succeeded.
pub fn dry_run() -> AwsError {
    AwsError::bad_request(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
    )
}

/// `AlreadyExistsException` for an alias.
pub fn alias_exists(alias_arn: &str) -> AwsError {
    AwsError::bad_request(
        "AlreadyExistsException",
        format!("An alias with the name {alias_arn} already exists"),
    )
}

/// `InvalidKeyUsageException`.
pub fn invalid_key_usage(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidKeyUsageException", message)
}
