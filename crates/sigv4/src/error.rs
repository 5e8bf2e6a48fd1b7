//! The errors AWS returns when it refuses a signature, one variant per AWS error code.

/// How a service names its authentication errors.
///
/// The same failure has different codes by protocol: a signature mismatch is `SignatureDoesNotMatch`
/// (HTTP 403) for Query services and S3, `InvalidSignatureException` (HTTP 400) for JSON services,
/// and `AuthFailure` (HTTP 401) for EC2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Amazon S3 (REST-XML): its own codes, messages and extra error fields.
    S3,
    /// Query protocol services (IAM, STS): `IncompleteSignature`, `SignatureDoesNotMatch`, ...
    Query,
    /// Amazon EC2 (the EC2 Query protocol): `AuthFailure`, `RequestExpired`, ...
    Ec2,
    /// JSON protocol services (KMS, SSM, SageMaker, CloudTrail, Logs): `...Exception` codes, HTTP 400.
    Json,
}

impl Dialect {
    /// The dialect of a request signed for `service` (the credential scope's service), when the
    /// caller knows nothing better: `s3` is S3, `ec2` is EC2, a request with an `X-Amz-Target`
    /// header is JSON, anything else is Query.
    pub fn for_service(service: &str, has_target_header: bool) -> Dialect {
        match service {
            "s3" => Dialect::S3,
            "ec2" => Dialect::Ec2,
            _ if has_target_header => Dialect::Json,
            _ => Dialect::Query,
        }
    }
}

/// The S3 message for a signature mismatch.
pub(crate) const S3_SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
/// EC2's message for credentials it cannot validate.
pub(crate) const EC2_NOT_VALIDATED: &str =
    "AWS was not able to validate the provided access credentials";
/// The message other services give for a signature mismatch.
pub(crate) const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Why a request's authentication was refused: the AWS error code (see [`Error::code`]), HTTP status
/// ([`Error::status`]), message ([`Error::message`], also the `Display` form) and, for S3, the extra
/// fields of the error document ([`Error::details`]).
///
/// Variants are named after the AWS error code they carry; where the code depends on the protocol
/// the variant holds the [`Dialect`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Query: `IncompleteSignature` (400); JSON: `IncompleteSignatureException` (400); EC2:
    /// `IncompleteSignature` (400). The signature parameters are missing or malformed.
    #[error("{message}")]
    IncompleteSignature {
        /// The protocol that names the code.
        dialect: Dialect,
        /// What is missing or malformed.
        message: String,
    },
    /// Query and S3: `SignatureDoesNotMatch` (403); JSON: `InvalidSignatureException` (400); EC2:
    /// `AuthFailure` (401). The signature, the credential scope or the request time is wrong.
    #[error("{message}")]
    SignatureDoesNotMatch {
        /// The protocol that names the code.
        dialect: Dialect,
        /// The AWS message.
        message: String,
        /// For S3's error document: what the server signed and what the client sent.
        mismatch: Option<Box<Mismatch>>,
    },
    /// Query: `InvalidClientTokenId` (403); JSON: `UnrecognizedClientException` (400); EC2:
    /// `AuthFailure` (401); S3: `InvalidAccessKeyId` (403). The access key does not exist.
    #[error("{}", self.message())]
    InvalidAccessKeyId {
        /// The protocol that names the code.
        dialect: Dialect,
        /// The access key id of the request.
        access_key_id: String,
    },
    /// Query: `ExpiredToken` (403); JSON: `ExpiredTokenException` (400); EC2: `RequestExpired`
    /// (400); S3: `ExpiredToken` (400). The session credentials have expired.
    #[error("{}", self.message())]
    ExpiredToken {
        /// The protocol that names the code.
        dialect: Dialect,
    },
    /// S3: `InvalidToken` (400); others: as [`Error::InvalidAccessKeyId`]. The session token does not
    /// belong to the access key, or is missing.
    #[error("{}", self.message())]
    InvalidToken {
        /// The protocol that names the code.
        dialect: Dialect,
    },
    /// Query: `MissingAuthenticationToken` (403); JSON: `MissingAuthenticationTokenException` (400);
    /// EC2: `AuthFailure` (401); S3: `AccessDenied` (403). The request is not signed and must be.
    #[error("{}", self.message())]
    MissingAuthenticationToken {
        /// The protocol that names the code.
        dialect: Dialect,
    },
    /// EC2: `RequestExpired` (400). The request time is more than 15 minutes from the server's.
    #[error("{message}")]
    RequestExpired {
        /// The AWS message.
        message: String,
    },
    /// S3: `AuthorizationHeaderMalformed` (400).
    #[error("{message}")]
    AuthorizationHeaderMalformed {
        /// The AWS message.
        message: String,
        /// The region S3 expected, when the region was wrong (the `Region` field).
        region: Option<String>,
    },
    /// S3: `AuthorizationQueryParametersError` (400). A presigned URL's parameters are malformed.
    #[error("{message}")]
    AuthorizationQueryParametersError {
        /// The AWS message.
        message: String,
        /// The region S3 expected, when the region was wrong (the `Region` field).
        region: Option<String>,
    },
    /// S3: `AccessDenied` (403): no valid date, unsigned `x-amz-*` headers, an expired or not yet
    /// valid presigned URL.
    #[error("{message}")]
    AccessDenied {
        /// The AWS message.
        message: String,
        /// The extra fields of S3's error document, in order.
        details: Vec<(&'static str, String)>,
    },
    /// S3: `RequestTimeTooSkewed` (403). The request time is more than 15 minutes from the server's.
    #[error("The difference between the request time and the current time is too large.")]
    RequestTimeTooSkewed {
        /// The request time as sent (`RequestTime`).
        request_time: String,
        /// The server time, ISO 8601 (`ServerTime`).
        server_time: String,
    },
    /// S3: `InvalidArgument` (400).
    #[error("{message}")]
    InvalidArgument {
        /// The AWS message.
        message: String,
        /// The argument (`ArgumentName`).
        name: String,
        /// Its value (`ArgumentValue`).
        value: String,
    },
    /// S3: `InvalidRequest` (400).
    #[error("{message}")]
    InvalidRequest {
        /// The AWS message.
        message: String,
    },
    /// S3: `XAmzContentSHA256Mismatch` (400). The body does not hash to `x-amz-content-sha256`.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    XAmzContentSha256Mismatch {
        /// The declared hash (`ClientComputedContentSHA256`).
        client_computed: String,
        /// The hash of the body (`S3ComputedContentSHA256`).
        computed: String,
    },
    /// S3: `IncompleteBody` (400). An `aws-chunked` body ended early, is malformed, or its length
    /// is not `x-amz-decoded-content-length`.
    #[error("The request body terminated unexpectedly")]
    IncompleteBody,
    /// S3: `InvalidChunkSizeError` (403). A chunk other than the last is under 8 KiB.
    #[error("Only the last chunk is allowed to have a size less than 8192 bytes")]
    InvalidChunkSizeError {
        /// The chunk, counted from 1 (`Chunk`).
        chunk: u64,
        /// Its size (`BadChunkSize`).
        size: u64,
    },
    /// S3: `MalformedTrailerError` (400). The trailer of an `aws-chunked` body is not the declared one.
    #[error(
        "The request contained trailing data that was not well-formed or did not conform to our published schema."
    )]
    MalformedTrailerError,
    /// S3: `MissingContentLength` (411). A streaming upload has no `x-amz-decoded-content-length`.
    #[error("You must provide the Content-Length HTTP header.")]
    MissingContentLength,
    /// S3: `BadDigest` (400). The body does not match its `x-amz-checksum-*` value.
    #[error("The {algorithm} you specified did not match the calculated checksum.")]
    BadDigest {
        /// The algorithm as S3 names it (`CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`).
        algorithm: &'static str,
    },
}

/// What S3 reports about a signature mismatch, so that clients can compare it with what they signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The access key id of the request (`AWSAccessKeyId`).
    pub access_key_id: String,
    /// The string the server signed (`StringToSign`).
    pub string_to_sign: String,
    /// The signature the client sent (`SignatureProvided`).
    pub signature_provided: String,
    /// The canonical request the server built, when the mismatch is the request's own signature
    /// (`CanonicalRequest`); chunk and trailer signatures have none.
    pub canonical_request: Option<String>,
}

impl Error {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        use Dialect::{Ec2, Json, Query, S3};
        match self {
            Error::IncompleteSignature { dialect: Json, .. } => "IncompleteSignatureException",
            Error::IncompleteSignature { .. } => "IncompleteSignature",
            Error::SignatureDoesNotMatch { dialect: Json, .. } => "InvalidSignatureException",
            Error::SignatureDoesNotMatch { dialect: Ec2, .. } => "AuthFailure",
            Error::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            Error::InvalidAccessKeyId { dialect, .. } => match dialect {
                S3 => "InvalidAccessKeyId",
                Query => "InvalidClientTokenId",
                Json => "UnrecognizedClientException",
                Ec2 => "AuthFailure",
            },
            Error::InvalidToken { dialect } => match dialect {
                S3 => "InvalidToken",
                Query => "InvalidClientTokenId",
                Json => "UnrecognizedClientException",
                Ec2 => "AuthFailure",
            },
            Error::ExpiredToken { dialect } => match dialect {
                Json => "ExpiredTokenException",
                Ec2 => "RequestExpired",
                S3 | Query => "ExpiredToken",
            },
            Error::MissingAuthenticationToken { dialect } => match dialect {
                Json => "MissingAuthenticationTokenException",
                Query => "MissingAuthenticationToken",
                Ec2 => "AuthFailure",
                S3 => "AccessDenied",
            },
            Error::RequestExpired { .. } => "RequestExpired",
            Error::AuthorizationHeaderMalformed { .. } => "AuthorizationHeaderMalformed",
            Error::AuthorizationQueryParametersError { .. } => "AuthorizationQueryParametersError",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::RequestTimeTooSkewed { .. } => "RequestTimeTooSkewed",
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::XAmzContentSha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
            Error::IncompleteBody => "IncompleteBody",
            Error::InvalidChunkSizeError { .. } => "InvalidChunkSizeError",
            Error::MalformedTrailerError => "MalformedTrailerError",
            Error::MissingContentLength => "MissingContentLength",
            Error::BadDigest { .. } => "BadDigest",
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        use Dialect::{Ec2, Json, Query, S3};
        match self {
            Error::IncompleteSignature { .. } => 400,
            Error::SignatureDoesNotMatch { dialect, .. } => match dialect {
                Json => 400,
                Ec2 => 401,
                S3 | Query => 403,
            },
            Error::InvalidAccessKeyId { dialect, .. } => match dialect {
                Json => 400,
                Ec2 => 401,
                S3 | Query => 403,
            },
            Error::InvalidToken { dialect } => match dialect {
                Json | S3 => 400,
                Ec2 => 401,
                Query => 403,
            },
            Error::ExpiredToken { dialect } => match dialect {
                Json | S3 | Ec2 => 400,
                Query => 403,
            },
            Error::MissingAuthenticationToken { dialect } => match dialect {
                Json => 400,
                Ec2 => 401,
                S3 | Query => 403,
            },
            Error::RequestExpired { .. } => 400,
            Error::AuthorizationHeaderMalformed { .. }
            | Error::AuthorizationQueryParametersError { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidRequest { .. }
            | Error::XAmzContentSha256Mismatch { .. }
            | Error::IncompleteBody
            | Error::MalformedTrailerError
            | Error::BadDigest { .. } => 400,
            Error::AccessDenied { .. }
            | Error::RequestTimeTooSkewed { .. }
            | Error::InvalidChunkSizeError { .. } => 403,
            Error::MissingContentLength => 411,
        }
    }

    /// The AWS message (the same text as `Display`).
    pub fn message(&self) -> String {
        use Dialect::{Ec2, S3};
        const INVALID: &str = "The security token included in the request is invalid.";
        const NOT_VALIDATED: &str = EC2_NOT_VALIDATED;
        match self {
            Error::InvalidAccessKeyId { dialect, .. } => match dialect {
                S3 => "The AWS Access Key Id you provided does not exist in our records.".into(),
                Ec2 => NOT_VALIDATED.into(),
                _ => INVALID.into(),
            },
            Error::InvalidToken { dialect } => match dialect {
                S3 => "The provided token is malformed or otherwise invalid.".into(),
                Ec2 => NOT_VALIDATED.into(),
                _ => INVALID.into(),
            },
            Error::MissingAuthenticationToken { dialect: Ec2 } => NOT_VALIDATED.into(),
            Error::ExpiredToken { dialect: S3 } => "The provided token has expired.".into(),
            Error::ExpiredToken { dialect: Ec2 } => "Request has expired.".into(),
            Error::ExpiredToken { .. } => {
                "The security token included in the request is expired".into()
            }
            Error::MissingAuthenticationToken { dialect: S3 } => "Access Denied".into(),
            Error::MissingAuthenticationToken { .. } => {
                "Request is missing Authentication Token".into()
            }
            other => other.to_string(),
        }
    }

    /// The extra fields of S3's XML error document (after `Code` and `Message`), in order. Empty
    /// for other dialects and for errors that have none.
    pub fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::SignatureDoesNotMatch {
                dialect: Dialect::S3,
                mismatch: Some(m),
                ..
            } => {
                let mut d = vec![
                    ("AWSAccessKeyId", m.access_key_id.clone()),
                    ("StringToSign", m.string_to_sign.clone()),
                    ("SignatureProvided", m.signature_provided.clone()),
                    ("StringToSignBytes", spaced_hex(m.string_to_sign.as_bytes())),
                ];
                if let Some(c) = &m.canonical_request {
                    d.push(("CanonicalRequest", c.clone()));
                    d.push(("CanonicalRequestBytes", spaced_hex(c.as_bytes())));
                }
                d
            }
            Error::InvalidAccessKeyId {
                dialect: Dialect::S3,
                access_key_id,
            } => {
                vec![("AWSAccessKeyId", access_key_id.clone())]
            }
            Error::AuthorizationHeaderMalformed {
                region: Some(r), ..
            }
            | Error::AuthorizationQueryParametersError {
                region: Some(r), ..
            } => vec![("Region", r.clone())],
            Error::AccessDenied { details, .. } => details.clone(),
            Error::RequestTimeTooSkewed {
                request_time,
                server_time,
            } => vec![
                ("RequestTime", request_time.clone()),
                ("ServerTime", server_time.clone()),
                ("MaxAllowedSkewMilliseconds", "900000".into()),
            ],
            Error::InvalidArgument { name, value, .. } => {
                vec![
                    ("ArgumentName", name.clone()),
                    ("ArgumentValue", value.clone()),
                ]
            }
            Error::XAmzContentSha256Mismatch {
                client_computed,
                computed,
            } => vec![
                ("ClientComputedContentSHA256", client_computed.clone()),
                ("S3ComputedContentSHA256", computed.clone()),
            ],
            Error::InvalidChunkSizeError { chunk, size } => {
                vec![
                    ("Chunk", chunk.to_string()),
                    ("BadChunkSize", size.to_string()),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// The error for an access key the caller does not know: `InvalidClientTokenId`,
    /// `UnrecognizedClientException`, `AuthFailure` or `InvalidAccessKeyId` by dialect.
    pub fn unknown_access_key(dialect: Dialect, access_key_id: &str) -> Error {
        Error::InvalidAccessKeyId {
            dialect,
            access_key_id: access_key_id.to_owned(),
        }
    }

    /// The error for expired session credentials.
    pub fn expired_token(dialect: Dialect) -> Error {
        Error::ExpiredToken { dialect }
    }

    /// The error for a session token that is missing, malformed or not the access key's.
    pub fn invalid_token(dialect: Dialect) -> Error {
        Error::InvalidToken { dialect }
    }

    /// The error for an unsigned request that must be signed.
    pub fn missing_authentication_token(dialect: Dialect) -> Error {
        Error::MissingAuthenticationToken { dialect }
    }

    pub(crate) fn incomplete(dialect: Dialect, message: impl Into<String>) -> Error {
        Error::IncompleteSignature {
            dialect,
            message: message.into(),
        }
    }

    pub(crate) fn mismatch(dialect: Dialect, message: impl Into<String>) -> Error {
        Error::SignatureDoesNotMatch {
            dialect,
            message: message.into(),
            mismatch: None,
        }
    }

    pub(crate) fn signature_mismatch(dialect: Dialect, mismatch: Option<Mismatch>) -> Error {
        let message = match dialect {
            Dialect::S3 => S3_SIGNATURE_MISMATCH,
            Dialect::Ec2 => EC2_NOT_VALIDATED,
            Dialect::Query | Dialect::Json => SIGNATURE_MISMATCH,
        };
        let mismatch = if dialect == Dialect::S3 {
            mismatch.map(Box::new)
        } else {
            None
        };
        Error::SignatureDoesNotMatch {
            dialect,
            message: message.into(),
            mismatch,
        }
    }

    pub(crate) fn access_denied(
        message: impl Into<String>,
        details: Vec<(&'static str, String)>,
    ) -> Error {
        Error::AccessDenied {
            message: message.into(),
            details,
        }
    }
}

/// Bytes as S3 shows them in `StringToSignBytes`: two-digit lower-case hex separated by spaces.
fn spaced_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}
