//! Refusals: the AWS error code, HTTP status and message of each, by protocol.

mod common;

use common::{AKID, Owned, SECRET, at, params, triple};
use sigv4::{Dialect, Error, Request};

const S3_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn s3_get() -> Owned {
    Owned::new("GET", "/bucket/key", &[("host", "s3.localhost:4566")], b"")
        .sign(&params("s3", at(0)))
}

fn sts_post() -> Owned {
    Owned::new(
        "POST",
        "/",
        &[
            ("host", "127.0.0.1:4566"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    .sign(&params("sts", at(0)))
}

fn kms_post() -> Owned {
    Owned::new(
        "POST",
        "/",
        &[
            ("host", "127.0.0.1:4566"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.ListKeys"),
        ],
        b"{}",
    )
    .sign(&params("kms", at(0)))
}

fn ec2_post() -> Owned {
    Owned::new(
        "POST",
        "/",
        &[("host", "127.0.0.1:4566")],
        b"Action=DescribeVpcs&Version=2016-11-15",
    )
    .sign(&params("ec2", at(0)))
}

fn parse_error(o: &Owned) -> Error {
    o.with(|req| sigv4::parse(req, None).expect_err("refused"))
}

fn malformed(detail: &str) -> (&'static str, u16, String) {
    (
        "AuthorizationHeaderMalformed",
        400,
        format!("The authorization header is malformed; {detail}"),
    )
}

#[test]
fn s3_authorization_header_form() {
    type Change = fn(String) -> String;
    type Expected = (&'static str, u16, String);
    let cases: Vec<(Change, Expected)> = vec![
        (
            |a| a.replace("SignedHeaders=", "Signed="),
            malformed("the authorization header requires three components: Credential, SignedHeaders, and Signature."),
        ),
        (
            |a| a.replace("/us-east-1/", "/"),
            malformed("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."),
        ),
        (
            |a| a.replace("/20240101/", "/2024010/"),
            malformed("incorrect date format \"2024010\". This date in the credential must be in the format \"yyyyMMdd\"."),
        ),
        (|a| a.replace("aws4_request", "aws4_reques"), malformed("incorrect terminal \"aws4_reques\". This endpoint uses \"aws4_request\".")),
        (
            |a| a.replace("/20240101/", "/20231231/"),
            malformed("Invalid credential date \"20231231\". This date is not the same as X-Amz-Date: \"20240101\"."),
        ),
        (|a| a.replace(AKID, ""), malformed("a non-empty Access Key (AKID) must be provided in the credential.")),
        (
            |_| "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".into(),
            (
                "InvalidRequest",
                400,
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.".into(),
            ),
        ),
        (|_| "Bearer token".into(), ("InvalidArgument", 400, "Unsupported Authorization Type".into())),
    ];
    for (change, expected) in cases {
        let e = parse_error(&s3_get().map_header("authorization", change));
        assert_eq!(triple(&e), expected);
    }
    let e = parse_error(&s3_get().set_header("authorization", "Bearer token"));
    assert_eq!(
        e.details(),
        vec![
            ("ArgumentName", "Authorization".into()),
            ("ArgumentValue", "Bearer token".into())
        ]
    );
    // Another service, when the endpoint is S3's.
    let o = s3_get().map_header("authorization", |a| a.replace("/s3/", "/ec2/"));
    let e = o.with(|req| sigv4::parse(req, Some(Dialect::S3)).unwrap_err());
    assert_eq!(
        triple(&e),
        malformed("incorrect service \"ec2\". This endpoint belongs to \"s3\".")
    );
    // An empty Authorization header is no signature.
    assert!(
        s3_get()
            .set_header("authorization", "")
            .with(|req| sigv4::parse(req, None))
            .unwrap()
            .is_none()
    );
}

#[test]
fn s3_payload_hash_date_and_unsigned_headers() {
    let e = parse_error(&s3_get().remove_header("x-amz-content-sha256"));
    assert_eq!(
        triple(&e),
        (
            "InvalidRequest",
            400,
            "Missing required header for this request: x-amz-content-sha256".into()
        )
    );
    let e = parse_error(&s3_get().set_header("x-amz-content-sha256", "abc"));
    assert_eq!(e.code(), "InvalidArgument");
    assert!(e.message().starts_with(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    ));
    assert_eq!(
        e.details()[0],
        ("ArgumentName", "x-amz-content-sha256".into())
    );
    let no_date = (
        "AccessDenied",
        403,
        "AWS authentication requires a valid Date or x-amz-date header".into(),
    );
    assert_eq!(
        triple(&parse_error(&s3_get().remove_header("x-amz-date"))),
        no_date
    );
    assert_eq!(
        triple(&parse_error(
            &s3_get().set_header("x-amz-date", "2024-01-01T00:00:00Z")
        )),
        no_date
    );
    let e = parse_error(&s3_get().set_header("x-amz-meta-color", "red"));
    assert_eq!(
        triple(&e),
        (
            "AccessDenied",
            403,
            "There were headers present in the request which were not signed".into()
        )
    );
    assert_eq!(
        e.details(),
        vec![("HeadersNotSigned", "x-amz-meta-color".into())]
    );
    let e = parse_error(&s3_get().map_header("authorization", |a| {
        a.replace("SignedHeaders=host;", "SignedHeaders=")
    }));
    assert_eq!(e.details(), vec![("HeadersNotSigned", "host".into())]);
    // Headers that are not x-amz-* need not be signed.
    s3_get()
        .set_header("user-agent", "aws-cli/2")
        .verify(at(0))
        .unwrap();
    // Both mechanisms.
    let e = parse_error(&s3_get().map_target(|t| format!("{t}?X-Amz-Algorithm=AWS4-HMAC-SHA256")));
    assert_eq!(e.code(), "InvalidArgument");
    assert_eq!(
        e.message(),
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
    );
}

#[test]
fn s3_signature_region_and_clock() {
    let o = s3_get();
    o.verify(at(0)).unwrap();
    // The signature in upper case is the same signature.
    o.clone()
        .map_header("authorization", |a| {
            let (head, sig) = a.split_at(a.len() - 64);
            format!("{head}{}", sig.to_uppercase())
        })
        .verify(at(0))
        .unwrap();
    let e = o.verify_with("wrong", at(0)).unwrap_err();
    assert_eq!(
        triple(&e),
        ("SignatureDoesNotMatch", 403, S3_MISMATCH.into())
    );
    let details = e.details();
    let names: Vec<&str> = details.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "AWSAccessKeyId",
            "StringToSign",
            "SignatureProvided",
            "StringToSignBytes",
            "CanonicalRequest",
            "CanonicalRequestBytes"
        ]
    );
    assert_eq!(details[0].1, AKID);
    assert!(
        details[1].1.starts_with(
            "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\n"
        )
    );
    assert!(details[3].1.starts_with("41 57 53 34"));
    assert!(
        details[4]
            .1
            .starts_with("GET\n/bucket/key\n\nhost:s3.localhost:4566\n")
    );
    // The region.
    let e = o.with(|req| {
        sigv4::parse(req, None)
            .unwrap()
            .unwrap()
            .precheck(at(0), Some("eu-west-1"), None)
            .unwrap_err()
    });
    assert_eq!(
        triple(&e),
        malformed("the region 'us-east-1' is wrong; expecting 'eu-west-1'")
    );
    assert_eq!(e.details(), vec![("Region", "eu-west-1".into())]);
    // Fifteen minutes either way.
    o.verify(at(900)).unwrap();
    o.verify(at(-900)).unwrap();
    for skew in [901, -901] {
        let e = o.error(at(skew));
        assert_eq!(
            triple(&e),
            (
                "RequestTimeTooSkewed",
                403,
                "The difference between the request time and the current time is too large.".into()
            )
        );
        assert_eq!(e.details()[0], ("RequestTime", "20240101T000000Z".into()));
        assert_eq!(
            e.details()[2],
            ("MaxAllowedSkewMilliseconds", "900000".into())
        );
    }
    // S3 checks the signature before the time.
    assert_eq!(
        o.verify_with("wrong", at(5000)).unwrap_err().code(),
        "SignatureDoesNotMatch"
    );
    // A Date header instead of x-amz-date.
    let dated = Owned::new(
        "GET",
        "/bucket/key",
        &[
            ("host", "s3.localhost:4566"),
            ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ],
        b"",
    )
    .sign(&params("s3", at(0)))
    .remove_header("x-amz-date");
    let e = dated.verify(at(0));
    // The signer signed x-amz-date; without it the signature is different.
    assert_eq!(e.unwrap_err().code(), "SignatureDoesNotMatch");
}

#[test]
fn s3_date_header_signatures_verify() {
    // Signed with only a Date header: the string to sign has the date in the basic format.
    let headers: Vec<(&str, &[u8])> = vec![
        ("host", b"s3.localhost:4566"),
        ("date", b"Mon, 01 Jan 2024 00:00:00 GMT"),
        ("x-amz-content-sha256", sigv4::EMPTY_SHA256.as_bytes()),
    ];
    let req = Request::new("GET", "/bucket/key", &headers);
    let canonical = "GET\n/bucket/key\n\ndate:Mon, 01 Jan 2024 00:00:00 GMT\nhost:s3.localhost:4566\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\ndate;host;x-amz-content-sha256\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let sts = format!(
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\n{}",
        hex::encode(sigv4::sha256(canonical.as_bytes()))
    );
    let key = sigv4::SigningKey::derive(SECRET, "20240101", "us-east-1", "s3");
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AKID}/20240101/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256, Signature={}",
        hex::encode(key.sign(sts.as_bytes()))
    );
    let mut all = headers.clone();
    all.push(("authorization", auth.as_bytes()));
    let req = Request {
        headers: &all,
        ..req
    };
    let parsed = sigv4::parse(&req, None).unwrap().unwrap();
    assert_eq!(parsed.date_source(), sigv4::DateSource::Date);
    parsed
        .verify(&req, SECRET, at(0), &sigv4::SigningKeyCache::new(2))
        .unwrap();
}

fn presigned_put() -> Owned {
    Owned::new(
        "PUT",
        "/bucket/key?x-id=PutObject",
        &[("host", "s3.localhost:4566"), ("x-amz-meta-color", "red")],
        b"data",
    )
    .presign(&params("s3", at(0)), 60)
}

fn query_error(message: &str) -> (&'static str, u16, String) {
    ("AuthorizationQueryParametersError", 400, message.into())
}

#[test]
fn s3_presigned_urls() {
    let o = presigned_put();
    assert!(
        o.target
            .contains("X-Amz-SignedHeaders=host%3Bx-amz-meta-color")
    );
    let v = o.verify(at(0)).unwrap();
    assert_eq!(v.payload, sigv4::Payload::Unsigned);
    let required = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";
    for name in [
        "Algorithm",
        "Credential",
        "Signature",
        "Date",
        "SignedHeaders",
        "Expires",
    ] {
        let without = o.clone().map_target(|t| {
            let (path, query) = t.split_once('?').unwrap();
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with(&format!("X-Amz-{name}=")))
                .collect();
            format!("{path}?{}", kept.join("&"))
        });
        assert_eq!(
            triple(&parse_error(&without)),
            query_error(required),
            "{name}"
        );
    }
    let replace =
        |from: &'static str, to: &'static str| o.clone().map_target(move |t| t.replace(from, to));
    assert_eq!(
        triple(&parse_error(&replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"))),
        query_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256\""
        )
    );
    assert_eq!(
        triple(&parse_error(&replace(
            "X-Amz-Date=20240101T000000Z",
            "X-Amz-Date=2024-01-01T00:00:00Z"
        ))),
        query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    );
    assert_eq!(
        triple(&parse_error(&replace(
            "X-Amz-Expires=60",
            "X-Amz-Expires=604801"
        ))),
        query_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
        )
    );
    assert_eq!(
        triple(&parse_error(&replace(
            "X-Amz-Expires=60",
            "X-Amz-Expires=-1"
        ))),
        query_error("X-Amz-Expires must be non-negative")
    );
    assert_eq!(
        triple(&parse_error(&replace(
            "X-Amz-Expires=60",
            "X-Amz-Expires=1h"
        ))),
        query_error("X-Amz-Expires should be a number")
    );
    let ec2_scope = replace("%2Fs3%2F", "%2Fec2%2F");
    let e = ec2_scope.with(|req| sigv4::parse(req, Some(Dialect::S3)).unwrap_err());
    assert_eq!(
        triple(&e),
        query_error(
            "Error parsing the X-Amz-Credential parameter; incorrect service \"ec2\". This endpoint belongs to \"s3\"."
        )
    );
    let e = o.with(|req| {
        sigv4::parse(req, None)
            .unwrap()
            .unwrap()
            .precheck(at(0), Some("eu-west-1"), None)
            .unwrap_err()
    });
    assert_eq!(
        triple(&e),
        query_error(
            "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
        )
    );
    // Anything signed changed.
    for changed in [
        replace("x-id=PutObject", "x-id=GetObject"),
        o.clone().map_target(|t| format!("{t}&versionId=null")),
        replace("/bucket/key?", "/bucket/other?"),
        o.clone().set_header("x-amz-meta-color", "blue"),
        o.clone().remove_header("x-amz-meta-color"),
        o.clone().map_target(|t| t.replace("X-Amz-", "x-amz-")),
    ] {
        assert_eq!(
            triple(&changed.error(at(0))),
            ("SignatureDoesNotMatch", 403, S3_MISMATCH.into()),
            "{}",
            changed.target
        );
    }
    // An x-amz-* header that is not signed.
    let e = parse_error(&o.clone().set_header("x-amz-meta-size", "1"));
    assert_eq!(
        e.details(),
        vec![("HeadersNotSigned", "x-amz-meta-size".into())]
    );
    // Expiry: through the last second, then AccessDenied; a bad signature is reported first.
    o.verify(at(60)).unwrap();
    let e = o.error(at(61));
    assert_eq!(
        triple(&e),
        ("AccessDenied", 403, "Request has expired".into())
    );
    assert_eq!(
        o.verify_with("wrong", at(61)).unwrap_err().code(),
        "SignatureDoesNotMatch"
    );
    let never = Owned::new("GET", "/b/k", &[("host", "h")], b"").presign(&params("s3", at(0)), 0);
    assert_eq!(never.error(at(0)).message(), "Request has expired");
    // A week is the longest.
    let week =
        Owned::new("GET", "/b/k", &[("host", "h")], b"").presign(&params("s3", at(0)), 604_800);
    week.verify(at(604_800)).unwrap();
    assert_eq!(week.error(at(604_801)).message(), "Request has expired");
    // Signature Version 2 query parameters.
    let v2 = Owned::new(
        "GET",
        "/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=abc",
        &[("host", "h")],
        b"",
    );
    assert_eq!(parse_error(&v2).code(), "InvalidRequest");
}

#[test]
fn query_services_incomplete_signatures() {
    let o = sts_post();
    o.verify(at(0)).unwrap();
    let e = parse_error(
        &o.clone()
            .set_header("authorization", "AWS4-HMAC-SHA256")
            .remove_header("x-amz-date"),
    );
    assert_eq!(
        triple(&e),
        (
            "IncompleteSignature",
            400,
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256".into()
        )
    );
    let e = parse_error(&o.clone().remove_header("x-amz-date"));
    assert!(e.message().starts_with("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential="));
    let e = parse_error(&o.clone().set_header("x-amz-date", "20240101"));
    assert_eq!(
        triple(&e),
        ("IncompleteSignature", 400, "Date must be in ISO-8601 'basic format'. Got '20240101'. See http://en.wikipedia.org/wiki/ISO_8601".into())
    );
    let e = parse_error(
        &o.clone()
            .map_header("authorization", |a| a.replace("/us-east-1/", "/")),
    );
    assert_eq!(
        e.message(),
        format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{AKID}/20240101/sts/aws4_request'"
        )
    );
    let e = parse_error(&o.clone().map_header("authorization", |a| {
        a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")
    }));
    assert_eq!(
        triple(&e),
        (
            "IncompleteSignature",
            400,
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'".into()
        )
    );
    let e = parse_error(&o.clone().map_header("authorization", |a| {
        a.replace("content-type;host;", "content-type;")
    }));
    assert_eq!(
        e.message(),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
    let e = parse_error(
        &o.clone()
            .map_target(|t| format!("{t}?X-Amz-Algorithm=AWS4-HMAC-SHA256")),
    );
    assert_eq!(
        triple(&e),
        ("SignatureDoesNotMatch", 403, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.".into())
    );
    // Components separated by commas alone are fine.
    o.clone()
        .map_header("authorization", |a| a.replace(", ", ","))
        .verify(at(0))
        .unwrap();
}

#[test]
fn query_services_signature_scope_and_clock() {
    let o = sts_post();
    let mismatch = ("SignatureDoesNotMatch", 403, MISMATCH.to_owned());
    assert_eq!(
        triple(&o.verify_with("wrong", at(0)).unwrap_err()),
        mismatch
    );
    assert!(
        o.verify_with("wrong", at(0))
            .unwrap_err()
            .details()
            .is_empty()
    );
    let mut body_changed = o.clone();
    body_changed.body = b"Action=GetCallerIdentity&Version=2011-06-16".to_vec();
    assert_eq!(triple(&body_changed.error(at(0))), mismatch);
    assert_eq!(
        triple(
            &o.clone()
                .set_header("content-type", "text/plain")
                .error(at(0))
        ),
        mismatch
    );
    assert_eq!(
        triple(&o.clone().map_target(|_| "/?a=b".into()).error(at(0))),
        mismatch
    );
    // The clock, with AWS's wording.
    let e = o.error(at(30 * 60));
    assert_eq!(
        triple(&e),
        (
            "SignatureDoesNotMatch",
            403,
            "Signature expired: 20240101T000000Z is now earlier than 20240101T001500Z (20240101T003000Z - 15 min.)".into()
        )
    );
    let e = o.error(at(-30 * 60));
    assert_eq!(
        e.message(),
        "Signature not yet current: 20240101T000000Z is still later than 20231231T234500Z (20231231T233000Z + 15 min.)"
    );
    o.verify(at(900)).unwrap();
    o.verify(at(-900)).unwrap();
    // The clock is checked before the access key is looked up, and before the scope.
    let stale_and_elsewhere = o
        .clone()
        .map_header("authorization", |a| a.replace("/us-east-1/", "/us-west-2/"));
    let auth = stale_and_elsewhere.with(|req| sigv4::parse(req, None).unwrap().unwrap());
    assert!(
        auth.precheck(at(3600), Some("us-east-1"), None)
            .unwrap_err()
            .message()
            .starts_with("Signature expired: ")
    );
    assert_eq!(
        auth.precheck(at(0), Some("us-east-1"), None)
            .unwrap_err()
            .message(),
        "Credential should be scoped to a valid region. "
    );
    let check = |change: fn(String) -> String, expected: &str| {
        let auth = o
            .clone()
            .map_header("authorization", change)
            .with(|req| sigv4::parse(req, None).unwrap().unwrap());
        let e = auth
            .precheck(at(0), Some("us-east-1"), Some("sts"))
            .unwrap_err();
        assert_eq!(
            (e.code(), e.status(), e.message().as_str()),
            ("SignatureDoesNotMatch", 403, expected)
        );
    };
    check(
        |a| a.replace("/sts/", "/iam/"),
        "Credential should be scoped to correct service: 'sts'. ",
    );
    check(
        |a| a.replace("aws4_request", "aws4_reques"),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reques'. ",
    );
    check(
        |a| a.replace("/20240101/", "/20240102/"),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240102' != '20240101', from '20240101T000000Z'.",
    );
}

#[test]
fn query_presigned_urls_live_fifteen_minutes() {
    // STS ignores X-Amz-Expires: a presigned request is good for the usual 15 minutes.
    let o = Owned::new(
        "GET",
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        &[("host", "sts.local")],
        b"",
    )
    .presign(&params("sts", at(0)), 60);
    o.verify(at(600)).unwrap();
    assert!(
        o.error(at(16 * 60))
            .message()
            .starts_with("Signature expired: 20240101T000000Z is now earlier than")
    );
    let without = o.clone().map_target(|t| {
        t.split("&X-Amz-Signature=")
            .next()
            .unwrap()
            .replace("&X-Amz-Date=20240101T000000Z", "")
    });
    let e = parse_error(&without);
    assert_eq!(
        triple(&e),
        (
            "IncompleteSignature",
            400,
            "AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.".into()
        )
    );
    // Without X-Amz-Algorithm the other parameters are just parameters: the request is anonymous.
    let anonymous = o
        .clone()
        .map_target(|t| t.replace("X-Amz-Algorithm", "Algorithm"));
    assert!(
        anonymous
            .with(|req| sigv4::parse(req, None))
            .unwrap()
            .is_none()
    );
}

#[test]
fn json_services_name_errors_their_way() {
    let o = kms_post();
    o.verify(at(0)).unwrap();
    assert_eq!(
        triple(&o.verify_with("wrong", at(0)).unwrap_err()),
        ("InvalidSignatureException", 400, MISMATCH.into())
    );
    let e = o.error(at(3600));
    assert_eq!((e.code(), e.status()), ("InvalidSignatureException", 400));
    assert!(e.message().starts_with("Signature expired: "));
    let e = parse_error(
        &o.clone()
            .set_header("authorization", "AWS4-HMAC-SHA256 Credential=a/b"),
    );
    assert_eq!(
        (e.code(), e.status()),
        ("IncompleteSignatureException", 400)
    );
    // The operation must be signed.
    let e = parse_error(
        &o.clone()
            .map_header("authorization", |a| a.replace(";x-amz-target", "")),
    );
    assert_eq!(
        triple(&e),
        (
            "IncompleteSignatureException",
            400,
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into()
        )
    );
    let mut target_changed = o
        .clone()
        .set_header("x-amz-target", "TrentService.ScheduleKeyDeletion");
    target_changed.body = b"{}".to_vec();
    assert_eq!(
        target_changed.error(at(0)).code(),
        "InvalidSignatureException"
    );
}

#[test]
fn ec2_names_errors_its_way() {
    let o = ec2_post();
    o.verify(at(0)).unwrap();
    assert_eq!(
        triple(&o.verify_with("wrong", at(0)).unwrap_err()),
        (
            "AuthFailure",
            401,
            "AWS was not able to validate the provided access credentials".into()
        )
    );
    assert_eq!(
        triple(&o.error(at(3600))),
        ("RequestExpired", 400, "Request has expired.".into())
    );
}

#[test]
fn credential_errors_by_dialect() {
    let cases = [
        (
            Dialect::Query,
            (
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            ),
        ),
        (
            Dialect::Json,
            (
                "UnrecognizedClientException",
                400,
                "The security token included in the request is invalid.",
            ),
        ),
        (
            Dialect::Ec2,
            (
                "AuthFailure",
                401,
                "AWS was not able to validate the provided access credentials",
            ),
        ),
        (
            Dialect::S3,
            (
                "InvalidAccessKeyId",
                403,
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
        ),
    ];
    for (dialect, (code, status, message)) in cases {
        let e = Error::unknown_access_key(dialect, "AKIDUNKNOWN");
        assert_eq!(
            (e.code(), e.status(), e.message().as_str()),
            (code, status, message)
        );
        assert_eq!(e.to_string(), message);
    }
    assert_eq!(
        Error::unknown_access_key(Dialect::S3, "AKIDUNKNOWN").details(),
        vec![("AWSAccessKeyId", "AKIDUNKNOWN".into())]
    );
    let expired = [
        (
            Dialect::Query,
            (
                "ExpiredToken",
                403,
                "The security token included in the request is expired",
            ),
        ),
        (
            Dialect::Json,
            (
                "ExpiredTokenException",
                400,
                "The security token included in the request is expired",
            ),
        ),
        (
            Dialect::Ec2,
            ("RequestExpired", 400, "Request has expired."),
        ),
        (
            Dialect::S3,
            ("ExpiredToken", 400, "The provided token has expired."),
        ),
    ];
    for (dialect, (code, status, message)) in expired {
        let e = Error::expired_token(dialect);
        assert_eq!(
            (e.code(), e.status(), e.message().as_str()),
            (code, status, message)
        );
    }
    let e = Error::invalid_token(Dialect::S3);
    assert_eq!(
        triple(&e),
        (
            "InvalidToken",
            400,
            "The provided token is malformed or otherwise invalid.".into()
        )
    );
    assert_eq!(
        Error::invalid_token(Dialect::Query).code(),
        "InvalidClientTokenId"
    );
    let e = Error::missing_authentication_token(Dialect::Query);
    assert_eq!(
        triple(&e),
        (
            "MissingAuthenticationToken",
            403,
            "Request is missing Authentication Token".into()
        )
    );
    assert_eq!(
        Error::missing_authentication_token(Dialect::Json).code(),
        "MissingAuthenticationTokenException"
    );
    // The request's own dialect.
    let auth = kms_post().with(|req| sigv4::parse(req, None).unwrap().unwrap());
    assert_eq!(
        auth.unknown_access_key().code(),
        "UnrecognizedClientException"
    );
}

#[test]
fn anonymous_requests_are_not_errors() {
    for (target, headers) in [
        ("/bucket/key", vec![("host", "h")]),
        (
            "/?Action=GetCallerIdentity&Version=2011-06-15",
            vec![("host", "h")],
        ),
        (
            "/",
            vec![("host", "h"), ("x-amz-target", "TrentService.ListKeys")],
        ),
        (
            "/bucket/key?X-Amz-Foo=1",
            vec![("host", "h"), ("authorization", "  ")],
        ),
    ] {
        let o = Owned::new("GET", target, &headers, b"");
        assert!(
            o.with(|req| sigv4::parse(req, None)).unwrap().is_none(),
            "{target}"
        );
    }
}
