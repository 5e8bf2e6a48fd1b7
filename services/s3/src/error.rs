//! S3's errors, with the codes, statuses and messages S3 returns.

use gateway::AwsError;

/// `NoSuchBucket`.
pub fn no_such_bucket(bucket: &str) -> AwsError {
    AwsError::new("NoSuchBucket", 404, "The specified bucket does not exist")
        .with("BucketName", bucket)
}

/// `NoSuchKey`.
pub fn no_such_key(key: &str) -> AwsError {
    AwsError::new("NoSuchKey", 404, "The specified key does not exist.").with("Key", key)
}

/// `NoSuchVersion`.
pub fn no_such_version(key: &str, version: &str) -> AwsError {
    AwsError::new(
        "NoSuchVersion",
        404,
        "The specified version does not exist.",
    )
    .with("Key", key)
    .with("VersionId", version)
}

/// `NoSuchUpload`.
pub fn no_such_upload(upload_id: &str) -> AwsError {
    AwsError::new(
        "NoSuchUpload",
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
    .with("UploadId", upload_id)
}

/// `InvalidArgument` naming the argument.
pub fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> AwsError {
    AwsError::bad_request("InvalidArgument", message)
        .with("ArgumentName", name)
        .with("ArgumentValue", value)
}

/// `InvalidRequest`.
pub fn invalid_request(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidRequest", message)
}

/// `MalformedXML`.
pub fn malformed_xml() -> AwsError {
    AwsError::bad_request(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

/// `InvalidDigest`: a Content-MD5 or checksum header that is not a valid digest.
pub fn invalid_digest(header: &str, value: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidDigest",
        "The Content-MD5 you specified was invalid.",
    )
    .with(
        if header.eq_ignore_ascii_case("content-md5") {
            "Content-MD5"
        } else {
            "ChecksumHeader"
        },
        value,
    )
}

/// `BadDigest`.
pub fn bad_digest(what: &str) -> AwsError {
    let message = if what == "Content-MD5" {
        "The Content-MD5 you specified did not match what we received.".to_string()
    } else {
        format!("The {what} you specified did not match the calculated checksum.")
    };
    AwsError::bad_request("BadDigest", message)
}

/// `PreconditionFailed`.
pub fn precondition_failed(condition: &str) -> AwsError {
    AwsError::new(
        "PreconditionFailed",
        412,
        "At least one of the pre-conditions you specified did not hold",
    )
    .with("Condition", condition)
}

/// `InvalidRange`.
pub fn invalid_range(range: &str, size: u64) -> AwsError {
    AwsError::new(
        "InvalidRange",
        416,
        "The requested range is not satisfiable",
    )
    .with("RangeRequested", range)
    .with("ActualObjectSize", size.to_string())
}

/// `MethodNotAllowed` (e.g. GET of a delete marker by version id).
pub fn method_not_allowed(method: &str, resource: &str) -> AwsError {
    AwsError::new(
        "MethodNotAllowed",
        405,
        "The specified method is not allowed against this resource.",
    )
    .with("Method", method)
    .with("ResourceType", resource)
}

/// `NotImplemented`.
pub fn not_implemented() -> AwsError {
    AwsError::new(
        "NotImplemented",
        501,
        "A header you provided implies functionality that is not implemented",
    )
}

/// `InvalidTag`.
pub fn invalid_tag(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidTag", message)
}

/// `AccessDenied` for a failed precondition of ownership (`x-amz-expected-bucket-owner`).
pub fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new("AccessDenied", 403, message)
}

/// An internal failure from the store or blob store.
pub fn internal(e: impl std::fmt::Display) -> AwsError {
    AwsError::internal(e)
}
