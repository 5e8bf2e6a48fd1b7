//! Requests signed by botocore's signers (see `data/botocore_fixtures.py`): each verifies, and each
//! fails once anything signed is changed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sigv4::{AuthMethod, Dialect, Payload, Request, SigningKeyCache, Timestamp};

struct Fixture {
    name: String,
    service: String,
    secret: String,
    now: SystemTime,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn fixtures() -> Vec<Fixture> {
    let text = include_str!("data/botocore.txt");
    let mut out = Vec::new();
    let mut current: Option<Fixture> = None;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        if key == "case" {
            current = Some(Fixture {
                name: value.into(),
                service: String::new(),
                secret: String::new(),
                now: UNIX_EPOCH,
                method: String::new(),
                target: String::new(),
                headers: Vec::new(),
                body: Vec::new(),
            });
            continue;
        }
        let f = current.as_mut().expect("a case");
        match key {
            "service" => f.service = value.into(),
            "secret" => f.secret = value.into(),
            "now" => {
                f.now = UNIX_EPOCH
                    + Duration::from_secs(Timestamp::parse_basic(value).unwrap().unix() as u64)
            }
            "method" => f.method = value.into(),
            "target" => f.target = value.into(),
            "header" => {
                let (n, v) = value.split_once(": ").unwrap();
                f.headers.push((n.into(), v.into()));
            }
            "body" => f.body = hex::decode(value).unwrap(),
            "end" => out.push(current.take().unwrap()),
            other => panic!("unknown line {other}"),
        }
    }
    out
}

fn check(
    f: &Fixture,
    headers: &[(String, String)],
    target: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<sigv4::Verified, sigv4::Error> {
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let req = Request::new(&f.method, target, &headers).with_body(body);
    let auth = sigv4::parse(&req, None)?.expect("signed");
    auth.precheck(now, Some("us-east-1"), Some(&f.service))?;
    let verified = auth.verify(&req, &f.secret, now, &SigningKeyCache::new(8))?;
    // An aws-chunked body is decoded and checked chunk by chunk.
    if let Some(mut decoder) = verified.chunked_decoder(&req)? {
        let mut input = body;
        while decoder.decode(&mut input)?.is_some() {}
        decoder.finish()?;
    }
    Ok(verified)
}

#[test]
fn every_fixture_verifies() {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 25);
    for f in &fixtures {
        let verified = check(f, &f.headers, &f.target, &f.body, f.now)
            .unwrap_or_else(|e| panic!("{}: {} {}", f.name, e.code(), e));
        assert_eq!(verified.scope.service, f.service, "{}", f.name);
        let expected_dialect = match f.service.as_str() {
            "s3" => Dialect::S3,
            "kms" | "sagemaker" | "logs" => Dialect::Json,
            _ => Dialect::Query,
        };
        assert_eq!(verified.dialect, expected_dialect, "{}", f.name);
        if f.name.contains("presigned") {
            assert_eq!(verified.method, AuthMethod::Presigned, "{}", f.name);
        }
        if f.name.contains("session")
            || f.name.contains("virtual-host")
            || f.name == "s3-presigned-get"
        {
            assert_eq!(
                verified.security_token.as_deref(),
                Some("FwoGZXIvYXdzEJr//////////wEaDPerimeterSessionToken+with/slashes="),
                "{}",
                f.name
            );
        }
        if f.name == "s3-put-object-unsigned-payload" {
            assert_eq!(verified.payload, Payload::Unsigned);
        }
        if f.name.ends_with("-trailer") {
            assert!(
                matches!(verified.payload, Payload::Streaming(_)),
                "{}",
                f.name
            );
        }
    }
}

#[test]
fn every_fixture_fails_once_changed() {
    for f in &fixtures() {
        let code = |r: Result<sigv4::Verified, sigv4::Error>| {
            r.map(|_| "accepted").unwrap_or_else(|e| e.code())
        };
        let mismatch = if ["kms", "sagemaker", "logs"].contains(&f.service.as_str()) {
            "InvalidSignatureException"
        } else {
            "SignatureDoesNotMatch"
        };
        // Another secret.
        let mut other = Fixture {
            secret: format!("{}x", f.secret),
            ..clone(f)
        };
        assert_eq!(
            code(check(&other, &f.headers, &f.target, &f.body, f.now)),
            mismatch,
            "{}",
            f.name
        );
        other.secret = f.secret.clone();
        // A signed header changed.
        let mut headers = f.headers.clone();
        let host = headers.iter_mut().find(|(n, _)| n == "host").unwrap();
        host.1.push('0');
        assert_eq!(
            code(check(f, &headers, &f.target, &f.body, f.now)),
            mismatch,
            "{}",
            f.name
        );
        // The query changed.
        let sep = if f.target.contains('?') { '&' } else { '?' };
        let target = format!("{}{sep}extra=1", f.target);
        assert_eq!(
            code(check(f, &f.headers, &target, &f.body, f.now)),
            mismatch,
            "{}",
            f.name
        );
        // The path changed.
        let target = f.target.replacen('/', "/x", 1);
        assert_eq!(
            code(check(f, &f.headers, &target, &f.body, f.now)),
            mismatch,
            "{}",
            f.name
        );
        // The body changed: caught unless it is not signed; an aws-chunked body by its
        // trailing checksum.
        let mut body = f.body.clone();
        let chunked = f.name.ends_with("-trailer");
        if chunked {
            let middle = body.len() / 2;
            body[middle] ^= 1;
        } else {
            body.push(b' ');
        }
        let unsigned_body = f.name.contains("unsigned-payload")
            || (f.service == "s3" && f.name.contains("presigned"));
        let expected = match (unsigned_body, f.service.as_str()) {
            (true, _) => "accepted",
            (false, "s3") if chunked => "BadDigest",
            (false, "s3") => "XAmzContentSHA256Mismatch",
            _ => mismatch,
        };
        assert_eq!(
            code(check(f, &f.headers, &f.target, &body, f.now)),
            expected,
            "{}",
            f.name
        );
        // Sixteen minutes later.
        let later = f.now + Duration::from_secs(16 * 60);
        let expected = match f.service.as_str() {
            "s3" if f.name.contains("presigned") => "accepted",
            "s3" => "RequestTimeTooSkewed",
            _ => mismatch,
        };
        assert_eq!(
            code(check(f, &f.headers, &f.target, &f.body, later)),
            expected,
            "{}",
            f.name
        );
    }
}

fn clone(f: &Fixture) -> Fixture {
    Fixture {
        name: f.name.clone(),
        service: f.service.clone(),
        secret: f.secret.clone(),
        now: f.now,
        method: f.method.clone(),
        target: f.target.clone(),
        headers: f.headers.clone(),
        body: f.body.clone(),
    }
}
