//! Parsing the signature of a request and verifying it as AWS does.

use std::time::{Duration, SystemTime};

use aws_lc_rs::constant_time;

use crate::canonical::{
    RawParam, header_text, push_canonical_query, push_canonical_uri, push_hex, push_trimmed,
    split_query, to_hex,
};
use crate::chunked::{ChunkedDecoder, ChunkedMode};
use crate::error::{Dialect, Error, Mismatch};
use crate::key::{SigningKey, SigningKeyCache, sha256};
use crate::request::Request;
use crate::time::Timestamp;

/// The signing algorithm.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a request whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The payload hash of an `aws-chunked` body with signed chunks.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// The payload hash of an `aws-chunked` body with signed chunks and a signed trailer.
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// The payload hash of an `aws-chunked` body with unsigned chunks and a trailer.
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// The SHA-256 of the empty string, hex.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How far the request time may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest a presigned URL may be valid, in seconds (seven days).
pub const MAX_EXPIRES: u64 = 604_800;

const PAYLOAD_HASH_VALUES: &str = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.";
const VERSION_2: &str =
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.";
const ONE_MECHANISM: &str = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified";
const NO_DATE_S3: &str = "AWS authentication requires a valid Date or x-amz-date header";
const QUERY_PARAMETERS_REQUIRED: &str = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";
const CREDENTIAL_PARAMETER: &str = "Error parsing the X-Amz-Credential parameter; ";
const HEADER_MALFORMED: &str = "The authorization header is malformed; ";
const NOT_SIGNED: &str = "There were headers present in the request which were not signed";

/// How the request carries its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// The `Authorization` header.
    Header,
    /// Query parameters (a presigned URL).
    Presigned,
}

/// The credential scope: `date/region/service/aws4_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    /// `YYYYMMDD`.
    pub date: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The service's signing name, e.g. `s3`, `iam`, `sts`.
    pub service: String,
    /// `aws4_request` in a well-formed scope.
    pub terminal: String,
}

impl CredentialScope {
    /// The scope as the string to sign has it.
    pub fn as_scope_string(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminal
        )
    }
}

/// The payload hash a request declares (`x-amz-content-sha256`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentSha256 {
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// The hex SHA-256 of the body.
    Sha256([u8; 32]),
    /// An `aws-chunked` body.
    Streaming(ChunkedMode),
}

impl ContentSha256 {
    /// Parses a declared value; `None` when it is none of the values AWS accepts (the ECDSA
    /// streaming modes are not supported).
    pub fn parse(value: &str) -> Option<ContentSha256> {
        match value {
            UNSIGNED_PAYLOAD => Some(ContentSha256::Unsigned),
            STREAMING_PAYLOAD => Some(ContentSha256::Streaming(ChunkedMode::Signed)),
            STREAMING_PAYLOAD_TRAILER => {
                Some(ContentSha256::Streaming(ChunkedMode::SignedWithTrailer))
            }
            STREAMING_UNSIGNED_PAYLOAD_TRAILER => {
                Some(ContentSha256::Streaming(ChunkedMode::UnsignedWithTrailer))
            }
            hex_value if hex_value.len() == 64 => {
                let mut out = [0u8; 32];
                hex::decode_to_slice(hex_value, &mut out).ok()?;
                Some(ContentSha256::Sha256(out))
            }
            _ => None,
        }
    }
}

/// Where the request time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateSource {
    /// The `x-amz-date` header.
    XAmzDate,
    /// The `Date` header.
    Date,
    /// The `X-Amz-Date` query parameter.
    Query,
}

/// The signature of a request, parsed and checked for form: what [`parse`] returns for a signed
/// request. Nothing is verified yet; see [`Authorization::precheck`] and [`Authorization::verify`].
#[derive(Clone, Debug)]
pub struct Authorization {
    method: AuthMethod,
    dialect: Dialect,
    credential: String,
    access_key_id: String,
    scope: CredentialScope,
    /// Lower case, `;`-separated.
    signed_headers: String,
    signature: String,
    time: Timestamp,
    time_text: String,
    /// The request time in the basic format, as the string to sign has it.
    basic: String,
    date_source: DateSource,
    expires: Option<u64>,
    security_token: Option<String>,
    content_sha256: Option<String>,
}

/// Parses the signature of `req`: the `Authorization` header or the query parameters of a
/// presigned URL. `Ok(None)` when the request carries neither (it is anonymous).
///
/// `dialect` is the protocol when the caller knows it (a listener that serves only S3, say);
/// otherwise it is inferred with [`Dialect::for_service`] from the credential scope (and, when the
/// scope cannot be read, from the request: `X-Amz-Target` is JSON, `x-amz-content-sha256` or a
/// presigned URL without `Action` is S3).
///
/// Checks the form of everything: the algorithm, the parameters, the credential, the request time's
/// format, that `host` is signed, and for S3 the payload hash, the scope (service `s3`,
/// `aws4_request`, the date of the request) and that every `x-amz-*` header is signed.
pub fn parse(req: &Request<'_>, dialect: Option<Dialect>) -> Result<Option<Authorization>, Error> {
    let header = req.header("authorization").map(header_text);
    let header = header.filter(|h| !h.is_empty());
    let params = split_query(req.query);
    let param = |name: &str| find_param(&params, name);
    let has_v4_param = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
    ]
    .iter()
    .any(|n| param(n).is_some());
    if header.is_none() && !has_v4_param {
        if dialect_of(req, &params, None, dialect) == Dialect::S3
            && param("AWSAccessKeyId").is_some()
            && param("Signature").is_some()
        {
            return Err(Error::InvalidRequest {
                message: VERSION_2.into(),
            });
        }
        return Ok(None);
    }
    let components = header.as_deref().map(header_params).unwrap_or_default();
    let credential = match &header {
        Some(_) => components
            .iter()
            .find(|(k, _)| *k == "Credential")
            .map(|(_, v)| (*v).to_owned()),
        None => param("X-Amz-Credential").map(|p| p.value_string()),
    };
    let dialect = dialect_of(req, &params, credential.as_deref(), dialect);
    match &header {
        Some(h) => {
            if param("X-Amz-Algorithm").is_some() {
                return Err(match dialect {
                    Dialect::S3 => Error::InvalidArgument {
                        message: ONE_MECHANISM.into(),
                        name: "Authorization".into(),
                        value: h.clone(),
                    },
                    _ => Error::mismatch(
                        dialect,
                        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
                    ),
                });
            }
            parse_header(req, h, &components, dialect).map(Some)
        }
        None => {
            if dialect != Dialect::S3 && param("X-Amz-Algorithm").is_none() {
                return Ok(None);
            }
            parse_presigned(req, &params, dialect).map(Some)
        }
    }
}

fn find_param<'p, 'q>(params: &'p [RawParam<'q>], name: &str) -> Option<&'p RawParam<'q>> {
    params.iter().find(|p| p.name_is(name))
}

fn dialect_of(
    req: &Request<'_>,
    params: &[RawParam<'_>],
    credential: Option<&str>,
    hint: Option<Dialect>,
) -> Dialect {
    if let Some(d) = hint {
        return d;
    }
    let has_target = req.header("x-amz-target").is_some();
    if let Some(c) = credential
        && c.split('/').count() == 5
        && let Some(service) = c.split('/').nth(3)
    {
        return Dialect::for_service(service, has_target);
    }
    if has_target {
        Dialect::Json
    } else if req.header("x-amz-content-sha256").is_some()
        || (req.header("authorization").is_none() && find_param(params, "Action").is_none())
    {
        Dialect::S3
    } else {
        Dialect::Query
    }
}

/// The `key=value` components after the algorithm, separated by commas and/or white space.
fn header_params(header: &str) -> Vec<(&str, &str)> {
    let rest = header.split_once([' ', '\t']).map(|(_, r)| r).unwrap_or("");
    rest.split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.split_once('='))
        .collect()
}

fn parse_header(
    req: &Request<'_>,
    header: &str,
    components: &[(&str, &str)],
    dialect: Dialect,
) -> Result<Authorization, Error> {
    let s3 = dialect == Dialect::S3;
    let scheme = header.split([' ', '\t', ',']).next().unwrap_or("");
    if scheme != ALGORITHM {
        return Err(match dialect {
            Dialect::S3 if scheme == "AWS" || scheme == "AWS4-ECDSA-P256-SHA256" => {
                Error::InvalidRequest {
                    message: VERSION_2.into(),
                }
            }
            Dialect::S3 => Error::InvalidArgument {
                message: "Unsupported Authorization Type".into(),
                name: "Authorization".into(),
                value: header.to_owned(),
            },
            _ => Error::incomplete(dialect, format!("Unsupported AWS 'algorithm': '{scheme}'")),
        });
    }
    let get = |name: &str| {
        components
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    };
    let (credential, signed, signature) =
        (get("Credential"), get("SignedHeaders"), get("Signature"));
    let date = request_date(req);
    let (credential, signed, signature) = match (credential, signed, signature) {
        (Some(c), Some(h), Some(s)) if s3 || date.is_some() => (c, h, s),
        _ if s3 => {
            return Err(Error::AuthorizationHeaderMalformed {
                message: format!(
                    "{HEADER_MALFORMED}the authorization header requires three components: Credential, SignedHeaders, and Signature."
                ),
                region: None,
            });
        }
        (c, h, s) => {
            let mut message = String::new();
            for (present, name) in [(c, "Credential"), (s, "Signature"), (h, "SignedHeaders")] {
                if present.is_none() {
                    message.push_str(&format!(
                        "Authorization header requires '{name}' parameter. "
                    ));
                }
            }
            if date.is_none() {
                message.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
            }
            message.push_str("Authorization=");
            message.push_str(header);
            return Err(Error::incomplete(dialect, message));
        }
    };
    let (access_key_id, scope) = parse_credential(credential, dialect, HEADER_MALFORMED)?;
    let content_sha256 = req.header_str("x-amz-content-sha256").map(str::to_owned);
    check_content_sha256_value(req, content_sha256.as_deref(), dialect, s3)?;
    let (time, time_text, date_source) = match date {
        Some((source, text)) => match parse_request_time(source, &text) {
            Some(t) => (t, text, source),
            None if s3 => return Err(Error::access_denied(NO_DATE_S3, Vec::new())),
            None => return Err(bad_date(dialect, &text)),
        },
        None => return Err(Error::access_denied(NO_DATE_S3, Vec::new())),
    };
    if s3 {
        check_scope_date_s3(&scope, time, date_source, &time_text, HEADER_MALFORMED)?;
    }
    let signed_headers = normalize_signed_headers(signed);
    check_signed_headers(req, &signed_headers, dialect, AuthMethod::Header)?;
    Ok(Authorization {
        method: AuthMethod::Header,
        dialect,
        credential: credential.to_owned(),
        access_key_id,
        scope,
        signed_headers,
        signature: signature.to_owned(),
        time,
        basic: basic_of(time, date_source, &time_text),
        time_text,
        date_source,
        expires: None,
        security_token: req.header_str("x-amz-security-token").map(str::to_owned),
        content_sha256,
    })
}

fn parse_presigned(
    req: &Request<'_>,
    params: &[RawParam<'_>],
    dialect: Dialect,
) -> Result<Authorization, Error> {
    let s3 = dialect == Dialect::S3;
    let value = |name: &str| {
        find_param(params, name)
            .map(|p| p.value_string())
            .filter(|v| !v.is_empty())
    };
    let algorithm = value("X-Amz-Algorithm");
    let credential = value("X-Amz-Credential");
    let signature = value("X-Amz-Signature");
    let date = value("X-Amz-Date");
    let signed = value("X-Amz-SignedHeaders");
    let expires = value("X-Amz-Expires");
    let query_error = |message: String| Error::AuthorizationQueryParametersError {
        message,
        region: None,
    };
    let (algorithm, credential, signature, date, signed) =
        match (algorithm, credential, signature, date, signed) {
            (Some(a), Some(c), Some(s), Some(d), Some(h)) if !s3 || expires.is_some() => {
                (a, c, s, d, h)
            }
            _ if s3 => return Err(query_error(QUERY_PARAMETERS_REQUIRED.into())),
            (a, c, s, d, h) => {
                let mut message = String::new();
                for (present, name) in [
                    (a.is_some(), "X-Amz-Algorithm"),
                    (c.is_some(), "X-Amz-Credential"),
                    (s.is_some(), "X-Amz-Signature"),
                    (h.is_some(), "X-Amz-SignedHeaders"),
                    (d.is_some(), "X-Amz-Date"),
                ] {
                    if !present {
                        message.push_str(&format!(
                            "AWS query-string parameters must include '{name}'. "
                        ));
                    }
                }
                message.push_str("Re-examine the query-string parameters.");
                return Err(Error::incomplete(dialect, message));
            }
        };
    if algorithm != ALGORITHM {
        return Err(match dialect {
            Dialect::S3 if algorithm == "AWS4-ECDSA-P256-SHA256" => Error::InvalidRequest {
                message: VERSION_2.into(),
            },
            Dialect::S3 => query_error(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256\""
                    .into(),
            ),
            _ => Error::incomplete(
                dialect,
                format!("Unsupported AWS 'algorithm': '{algorithm}'"),
            ),
        });
    }
    let (access_key_id, scope) = parse_credential(&credential, dialect, CREDENTIAL_PARAMETER)?;
    let Some(time) = Timestamp::parse_basic(&date) else {
        return Err(if s3 {
            query_error(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".into(),
            )
        } else {
            bad_date(dialect, &date)
        });
    };
    let expires = match expires {
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n < 0 && s3 => {
                return Err(query_error("X-Amz-Expires must be non-negative".into()));
            }
            Ok(n) if n.unsigned_abs() > MAX_EXPIRES && s3 => {
                return Err(query_error(format!(
                    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than {MAX_EXPIRES} seconds"
                )));
            }
            Ok(n) => u64::try_from(n).ok(),
            Err(_) if s3 => return Err(query_error("X-Amz-Expires should be a number".into())),
            Err(_) => None,
        },
        None => None,
    };
    let content_sha256 = value("X-Amz-Content-Sha256");
    if s3 && let Some(v) = &content_sha256 {
        check_content_sha256_value(req, Some(v), dialect, true)?;
    }
    if s3 {
        check_scope_date_s3(&scope, time, DateSource::Query, &date, CREDENTIAL_PARAMETER)?;
    }
    let signed_headers = normalize_signed_headers(&signed);
    check_signed_headers(req, &signed_headers, dialect, AuthMethod::Presigned)?;
    Ok(Authorization {
        method: AuthMethod::Presigned,
        dialect,
        credential,
        access_key_id,
        scope,
        signed_headers,
        signature,
        time,
        basic: basic_of(time, DateSource::Query, &date),
        time_text: date,
        date_source: DateSource::Query,
        expires,
        security_token: value("X-Amz-Security-Token"),
        content_sha256,
    })
}

fn parse_credential(
    credential: &str,
    dialect: Dialect,
    s3_prefix: &str,
) -> Result<(String, CredentialScope), Error> {
    let mut split = credential.split('/');
    let parts: [Option<&str>; 6] = std::array::from_fn(|_| split.next());
    let s3_error = |detail: String| {
        let message = format!("{s3_prefix}{detail}");
        if s3_prefix == HEADER_MALFORMED {
            Error::AuthorizationHeaderMalformed {
                message,
                region: None,
            }
        } else {
            Error::AuthorizationQueryParametersError {
                message,
                region: None,
            }
        }
    };
    let [
        Some(akid),
        Some(date),
        Some(region),
        Some(service),
        Some(terminal),
        None,
    ] = parts
    else {
        return Err(if dialect == Dialect::S3 {
            s3_error(
                "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".".into(),
            )
        } else {
            Error::incomplete(
                dialect,
                format!(
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
                ),
            )
        });
    };
    if dialect == Dialect::S3 {
        if akid.is_empty() {
            return Err(s3_error(
                "a non-empty Access Key (AKID) must be provided in the credential.".into(),
            ));
        }
        if Timestamp::parse_date(date).is_none() {
            return Err(s3_error(format!(
                "incorrect date format \"{date}\". This date in the credential must be in the format \"yyyyMMdd\"."
            )));
        }
        if service != "s3" {
            return Err(s3_error(format!(
                "incorrect service \"{service}\". This endpoint belongs to \"s3\"."
            )));
        }
        if terminal != "aws4_request" {
            return Err(s3_error(format!(
                "incorrect terminal \"{terminal}\". This endpoint uses \"aws4_request\"."
            )));
        }
    }
    let scope = CredentialScope {
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        terminal: terminal.to_owned(),
    };
    Ok((akid.to_owned(), scope))
}

fn check_scope_date_s3(
    scope: &CredentialScope,
    time: Timestamp,
    source: DateSource,
    text: &str,
    prefix: &str,
) -> Result<(), Error> {
    let date = time.date_stamp();
    if scope.date == date {
        return Ok(());
    }
    let sent = if source == DateSource::Date {
        date.clone()
    } else {
        text.chars().take(8).collect()
    };
    let message = format!(
        "{prefix}Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{sent}\".",
        scope.date
    );
    Err(if prefix == HEADER_MALFORMED {
        Error::AuthorizationHeaderMalformed {
            message,
            region: None,
        }
    } else {
        Error::AuthorizationQueryParametersError {
            message,
            region: None,
        }
    })
}

fn check_content_sha256_value(
    req: &Request<'_>,
    value: Option<&str>,
    dialect: Dialect,
    s3: bool,
) -> Result<(), Error> {
    match value {
        None if s3 && req.header("authorization").is_some() => Err(Error::InvalidRequest {
            message: "Missing required header for this request: x-amz-content-sha256".into(),
        }),
        None => Ok(()),
        Some(v) if ContentSha256::parse(v).is_some() => Ok(()),
        Some(v) if s3 => Err(Error::InvalidArgument {
            message: PAYLOAD_HASH_VALUES.into(),
            name: "x-amz-content-sha256".into(),
            value: v.to_owned(),
        }),
        Some(_) => Err(Error::incomplete(dialect, PAYLOAD_HASH_VALUES)),
    }
}

fn request_date(req: &Request<'_>) -> Option<(DateSource, String)> {
    if let Some(v) = req.header("x-amz-date") {
        return Some((DateSource::XAmzDate, header_text(v)));
    }
    req.header("date")
        .map(|v| (DateSource::Date, header_text(v)))
}

fn parse_request_time(source: DateSource, text: &str) -> Option<Timestamp> {
    match source {
        DateSource::Date => Timestamp::parse_http_date(text),
        DateSource::XAmzDate | DateSource::Query => Timestamp::parse_basic(text),
    }
}

/// The request time as the string to sign has it: `x-amz-date` and `X-Amz-Date` are already in
/// the basic format.
fn basic_of(time: Timestamp, source: DateSource, text: &str) -> String {
    match source {
        DateSource::Date => time.to_basic(),
        DateSource::XAmzDate | DateSource::Query => text.to_owned(),
    }
}

fn bad_date(dialect: Dialect, text: &str) -> Error {
    Error::incomplete(
        dialect,
        format!(
            "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ),
    )
}

/// The signed header names lower case, without white space or empty names, `;`-separated.
fn normalize_signed_headers(signed: &str) -> String {
    let clean = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| !b.is_ascii_uppercase() && b != b' ' && b != b'\t')
    };
    if signed.split(';').all(clean) {
        return signed.to_owned();
    }
    let names: Vec<String> = signed
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    names.join(";")
}

fn check_signed_headers(
    req: &Request<'_>,
    signed: &str,
    dialect: Dialect,
    method: AuthMethod,
) -> Result<(), Error> {
    let is_signed = |name: &str| signed.split(';').any(|s| s.eq_ignore_ascii_case(name));
    if dialect == Dialect::S3 {
        let mut unsigned: Vec<String> = Vec::new();
        if !is_signed("host") {
            unsigned.push("host".into());
        }
        for (name, _) in req.headers {
            let amz = name.len() > 6 && name.as_bytes()[..6].eq_ignore_ascii_case(b"x-amz-");
            if !amz || is_signed(name) {
                continue;
            }
            let lower = name.to_ascii_lowercase();
            // A presigned URL's payload hash is in the query; the header is not its business.
            let exempt = method == AuthMethod::Presigned && lower == "x-amz-content-sha256";
            if lower.starts_with("x-amz-")
                && !exempt
                && !is_signed(&lower)
                && !unsigned.contains(&lower)
            {
                unsigned.push(lower);
            }
        }
        if !unsigned.is_empty() {
            return Err(Error::access_denied(
                NOT_SIGNED,
                vec![("HeadersNotSigned", unsigned.join(", "))],
            ));
        }
        return Ok(());
    }
    if !is_signed("host") && !is_signed(":authority") {
        return Err(Error::incomplete(
            dialect,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if req.header("x-amz-target").is_some() && !is_signed("x-amz-target") {
        return Err(Error::incomplete(
            dialect,
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(())
}

impl Authorization {
    /// How the request carries its signature.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// The protocol whose errors this request gets.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The credential scope.
    pub fn scope(&self) -> &CredentialScope {
        &self.scope
    }

    /// The whole credential: `AKID/date/region/service/aws4_request`.
    pub fn credential(&self) -> &str {
        &self.credential
    }

    /// The signed header names, lower case, in the order given.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';')
    }

    /// The signature as sent.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The request time (`x-amz-date`, `Date` or `X-Amz-Date`).
    pub fn request_time(&self) -> Timestamp {
        self.time
    }

    /// Where the request time came from.
    pub fn date_source(&self) -> DateSource {
        self.date_source
    }

    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// The session token (`x-amz-security-token` or `X-Amz-Security-Token`).
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// The declared payload hash (`x-amz-content-sha256`, or `X-Amz-Content-Sha256` in a presigned
    /// URL), as sent.
    pub fn content_sha256(&self) -> Option<&str> {
        self.content_sha256.as_deref()
    }

    /// Whether [`Authorization::verify`] needs the body (in [`Request::body`]): when the payload
    /// hash is not declared and the request is not a presigned S3 URL.
    pub fn needs_body(&self) -> bool {
        self.content_sha256.is_none()
            && !(self.dialect == Dialect::S3 && self.method == AuthMethod::Presigned)
    }

    /// The error for an access key the caller does not know, in this request's dialect.
    pub fn unknown_access_key(&self) -> Error {
        Error::unknown_access_key(self.dialect, &self.access_key_id)
    }

    /// The checks AWS makes before it looks up the access key, given the region the endpoint serves
    /// and, when known, the service it expects.
    ///
    /// For services other than S3: the request time (within 15 minutes of `now`; a presigned URL's
    /// `X-Amz-Expires` does not extend it), then the credential scope (terminator, date, region,
    /// service): `SignatureDoesNotMatch` and friends. For S3: the region and service only (S3
    /// checks the time after the signature).
    pub fn precheck(
        &self,
        now: SystemTime,
        region: Option<&str>,
        service: Option<&str>,
    ) -> Result<(), Error> {
        let scope = &self.scope;
        if self.dialect == Dialect::S3 {
            let prefix = if self.method == AuthMethod::Header {
                HEADER_MALFORMED
            } else {
                CREDENTIAL_PARAMETER
            };
            let error = |message: String, region: Option<String>| match self.method {
                AuthMethod::Header => Error::AuthorizationHeaderMalformed { message, region },
                AuthMethod::Presigned => {
                    Error::AuthorizationQueryParametersError { message, region }
                }
            };
            if let Some(expected) = region
                && scope.region != expected
            {
                return Err(error(
                    format!(
                        "{prefix}the region '{}' is wrong; expecting '{expected}'",
                        scope.region
                    ),
                    Some(expected.to_owned()),
                ));
            }
            if let Some(expected) = service
                && scope.service != expected
            {
                return Err(error(
                    format!(
                        "{prefix}incorrect service \"{}\". This endpoint belongs to \"{expected}\".",
                        scope.service
                    ),
                    None,
                ));
            }
            return Ok(());
        }
        self.check_clock(now)?;
        let d = self.dialect;
        if scope.terminal != "aws4_request" {
            return Err(Error::mismatch(
                d,
                format!(
                    "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                    scope.terminal
                ),
            ));
        }
        let date = self.basic.get(..8).unwrap_or("");
        if scope.date != date {
            return Err(Error::mismatch(
                d,
                format!(
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{date}', from '{}'.",
                    scope.date,
                    self.time.to_basic()
                ),
            ));
        }
        if let Some(expected) = region
            && scope.region != expected
        {
            return Err(Error::mismatch(
                d,
                "Credential should be scoped to a valid region. ",
            ));
        }
        if let Some(expected) = service
            && scope.service != expected
        {
            return Err(Error::mismatch(
                d,
                format!("Credential should be scoped to correct service: '{expected}'. "),
            ));
        }
        Ok(())
    }

    /// Services other than S3: the request time must be within 15 minutes of `now`.
    fn check_clock(&self, now: SystemTime) -> Result<(), Error> {
        let Some(time) = self.time.to_system_time() else {
            return Err(bad_date(self.dialect, &self.time_text));
        };
        let now_stamp = Timestamp::from_system_time(now);
        let skew = i64::try_from(MAX_SKEW.as_secs()).unwrap_or(900);
        let message = if now.duration_since(time).is_ok_and(|d| d > MAX_SKEW) {
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                self.time.to_basic(),
                now_stamp.plus(-skew).to_basic(),
                now_stamp.to_basic()
            )
        } else if time.duration_since(now).is_ok_and(|d| d > MAX_SKEW) {
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                self.time.to_basic(),
                now_stamp.plus(skew).to_basic(),
                now_stamp.to_basic()
            )
        } else {
            return Ok(());
        };
        Err(match self.dialect {
            Dialect::Ec2 => Error::RequestExpired {
                message: "Request has expired.".into(),
            },
            d => Error::mismatch(d, message),
        })
    }

    /// S3: the time of a signed request within 15 minutes of `now`; a presigned URL valid now.
    fn check_clock_s3(&self, now: SystemTime) -> Result<(), Error> {
        // Only errors name the server's time.
        let server_time = || Timestamp::from_system_time(now).to_iso8601();
        let Some(time) = self.time.to_system_time() else {
            return Err(Error::access_denied(NO_DATE_S3, Vec::new()));
        };
        match self.method {
            AuthMethod::Header => {
                let skewed = now.duration_since(time).is_ok_and(|d| d > MAX_SKEW)
                    || time.duration_since(now).is_ok_and(|d| d > MAX_SKEW);
                if skewed {
                    return Err(Error::RequestTimeTooSkewed {
                        request_time: self.time_text.clone(),
                        server_time: server_time(),
                    });
                }
            }
            AuthMethod::Presigned => {
                if time.duration_since(now).is_ok_and(|d| d > MAX_SKEW) {
                    return Err(Error::access_denied(
                        "Request is not yet valid",
                        vec![
                            ("X-Amz-Date", self.time_text.clone()),
                            ("ServerTime", server_time()),
                        ],
                    ));
                }
                let expires = self.expires.unwrap_or(0);
                let end = self.time.plus(i64::try_from(expires).unwrap_or(i64::MAX));
                let expired = expires == 0 || end.to_system_time().is_none_or(|end| now > end);
                if expired {
                    return Err(Error::access_denied(
                        "Request has expired",
                        vec![
                            ("X-Amz-Expires", expires.to_string()),
                            ("Expires", end.to_iso8601()),
                            ("ServerTime", server_time()),
                        ],
                    ));
                }
            }
        }
        Ok(())
    }

    /// The payload hash the canonical request ends with.
    fn payload_hash(&self, req: &Request<'_>) -> Option<String> {
        if let Some(v) = &self.content_sha256 {
            return Some(v.clone());
        }
        if self.dialect == Dialect::S3 && self.method == AuthMethod::Presigned {
            return Some(UNSIGNED_PAYLOAD.into());
        }
        req.body.map(|b| to_hex(&sha256(b)))
    }

    /// The canonical request of `req` as this signature covers it.
    pub fn canonical_request(&self, req: &Request<'_>) -> Option<String> {
        let payload = self.payload_hash(req)?;
        let bytes = self.canonical_request_bytes(req, &payload);
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn canonical_request_bytes(&self, req: &Request<'_>, payload_hash: &str) -> Vec<u8> {
        let presigned = self.method == AuthMethod::Presigned;
        build_canonical_request(
            req,
            self.dialect == Dialect::S3,
            presigned,
            &self.signed_headers,
            payload_hash,
        )
    }

    /// Verifies the signature of `req` with the secret access key of [`Authorization::access_key_id`].
    ///
    /// Recomputes the canonical request, the string to sign and the signature (the signing key comes
    /// from `cache`), compares signatures in constant time, checks the request time as
    /// [`Authorization::precheck`] describes (S3: after the signature; `RequestTimeTooSkewed`, or
    /// `AccessDenied` for an expired or not yet valid presigned URL), and checks the body against the
    /// declared payload hash when the body is in `req`.
    pub fn verify(
        &self,
        req: &Request<'_>,
        secret_access_key: &str,
        now: SystemTime,
        cache: &SigningKeyCache,
    ) -> Result<Verified, Error> {
        let d = self.dialect;
        if d != Dialect::S3 {
            self.check_clock(now)?;
        }
        let scope = &self.scope;
        let key = cache.get(
            &self.credential,
            secret_access_key,
            &scope.date,
            &scope.region,
            &scope.service,
        );
        // Without the body there is no payload hash to sign: the signature cannot match.
        let Some(payload_hash) = self.payload_hash(req) else {
            return Err(Error::signature_mismatch(d, None));
        };
        let canonical = self.canonical_request_bytes(req, &payload_hash);
        let timestamp = self.basic.clone();
        let scope_string = scope.as_scope_string();
        let string_to_sign = string_to_sign(&timestamp, &scope_string, &canonical);
        let computed = key.sign(string_to_sign.as_bytes());
        if !signature_matches(&self.signature, &computed) {
            return Err(Error::signature_mismatch(
                d,
                Some(Mismatch {
                    access_key_id: self.access_key_id.clone(),
                    string_to_sign,
                    signature_provided: self.signature.clone(),
                    canonical_request: Some(String::from_utf8_lossy(&canonical).into_owned()),
                }),
            ));
        }
        if d == Dialect::S3 {
            self.check_clock_s3(now)?;
        }
        let payload = match ContentSha256::parse(&payload_hash) {
            Some(ContentSha256::Unsigned) | None => Payload::Unsigned,
            Some(ContentSha256::Streaming(mode)) => Payload::Streaming(mode),
            Some(ContentSha256::Sha256(declared)) => match req.body {
                Some(body) => {
                    check_payload(d, &declared, &sha256(body))?;
                    Payload::Verified
                }
                None => Payload::Sha256(declared),
            },
        };
        Ok(Verified {
            access_key_id: self.access_key_id.clone(),
            scope: self.scope.clone(),
            method: self.method,
            dialect: d,
            security_token: self.security_token.clone(),
            request_time: self.time,
            payload,
            key,
            timestamp,
            scope_string,
            seed: computed,
        })
    }
}

/// The canonical request: method, URI, query, headers, signed headers, payload hash.
pub(crate) fn build_canonical_request(
    req: &Request<'_>,
    s3: bool,
    presigned: bool,
    signed_headers: &str,
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + req.path.len() + req.query.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    push_canonical_uri(&mut out, req.path, s3);
    out.push(b'\n');
    let params = split_query(req.query);
    push_canonical_query(&mut out, &params, |p| {
        presigned && p.name_is("X-Amz-Signature")
    });
    out.push(b'\n');
    for name in signed_headers.split(';').filter(|n| !n.is_empty()) {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in req.header_values(name).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(&mut out, value);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex SHA-256 of the canonical request>`.
pub(crate) fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &[u8]) -> String {
    let mut s = String::with_capacity(ALGORITHM.len() + timestamp.len() + scope.len() + 67);
    s.push_str(ALGORITHM);
    s.push('\n');
    s.push_str(timestamp);
    s.push('\n');
    s.push_str(scope);
    s.push('\n');
    push_hex(&mut s, &sha256(canonical_request));
    s
}

/// Whether the hex `provided` (either letter case) is `computed`, compared in constant time.
pub(crate) fn signature_matches(provided: &str, computed: &[u8; 32]) -> bool {
    let mut decoded = [0u8; 32];
    if provided.len() != 64 || hex::decode_to_slice(provided, &mut decoded).is_err() {
        return false;
    }
    constant_time::verify_slices_are_equal(&decoded, computed).is_ok()
}

fn check_payload(dialect: Dialect, declared: &[u8; 32], computed: &[u8; 32]) -> Result<(), Error> {
    if constant_time::verify_slices_are_equal(declared, computed).is_ok() {
        return Ok(());
    }
    Err(match dialect {
        Dialect::S3 => Error::XAmzContentSha256Mismatch {
            client_computed: hex::encode(declared),
            computed: hex::encode(computed),
        },
        d => Error::signature_mismatch(d, None),
    })
}

/// Checks a body's SHA-256 against the `x-amz-content-sha256` it declared: S3's
/// `XAmzContentSHA256Mismatch` when it differs.
pub fn check_content_sha256(declared: &[u8; 32], body_sha256: &[u8; 32]) -> Result<(), Error> {
    check_payload(Dialect::S3, declared, body_sha256)
}

/// What the body must still satisfy once the signature is verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// The body is not signed (`UNSIGNED-PAYLOAD`, or a presigned S3 URL).
    Unsigned,
    /// The body was in the request and matched its hash.
    Verified,
    /// The body must hash to this SHA-256: check it with [`Verified::check_payload`] once read.
    Sha256([u8; 32]),
    /// The body is `aws-chunked`: decode it with [`Verified::chunked_decoder`].
    Streaming(ChunkedMode),
}

/// A request whose signature is verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The access key id.
    pub access_key_id: String,
    /// The credential scope.
    pub scope: CredentialScope,
    /// How the signature was carried.
    pub method: AuthMethod,
    /// The protocol whose errors this request gets.
    pub dialect: Dialect,
    /// The session token, for the caller to check against the access key's session.
    pub security_token: Option<String>,
    /// The request time.
    pub request_time: Timestamp,
    /// What the body must still satisfy.
    pub payload: Payload,
    key: SigningKey,
    timestamp: String,
    scope_string: String,
    seed: [u8; 32],
}

impl Verified {
    /// The request's signature (the seed of chunk signatures), hex.
    pub fn signature(&self) -> String {
        to_hex(&self.seed)
    }

    /// Checks the SHA-256 of the body, read after verification, against [`Payload::Sha256`]. Other
    /// payloads need no check here.
    pub fn check_payload(&self, body_sha256: &[u8; 32]) -> Result<(), Error> {
        match &self.payload {
            Payload::Sha256(declared) => check_payload(self.dialect, declared, body_sha256),
            _ => Ok(()),
        }
    }

    /// The decoder of an `aws-chunked` body ([`Payload::Streaming`]), configured from the request's
    /// `x-amz-decoded-content-length` and `x-amz-trailer` headers. `None` when the payload is not
    /// streaming.
    pub fn chunked_decoder(&self, req: &Request<'_>) -> Result<Option<ChunkedDecoder>, Error> {
        let Payload::Streaming(mode) = self.payload else {
            return Ok(None);
        };
        let signing = crate::chunked::ChunkSigning {
            access_key_id: self.access_key_id.clone(),
            key: self.key.clone(),
            timestamp: self.timestamp.clone(),
            scope: self.scope_string.clone(),
            previous: self.seed,
        };
        ChunkedDecoder::from_request(req, mode, Some(signing)).map(Some)
    }
}
