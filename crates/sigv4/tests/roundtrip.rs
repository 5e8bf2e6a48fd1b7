//! The signer and the verifier agree, and `aws-chunked` bodies decode as they were encoded.

mod common;

use common::{AKID, Owned, SECRET, at, params};
use sigv4::{
    Checksum, ChecksumAlgorithm, ChunkedDecoder, ChunkedMode, Dialect, Error, Payload,
    PayloadSigning, Request, SigningKeyCache, SigningParams,
};

#[test]
fn signed_requests_verify_for_every_service() {
    let cases: Vec<(&'static str, Owned)> = vec![
        (
            "s3",
            Owned::new(
                "GET",
                "/bucket/dir/a%20b%2Bc~%C3%BC?list-type=2&prefix=a%2Fb&delimiter=%2F",
                &[("host", "localhost:4566")],
                b"",
            ),
        ),
        (
            "s3",
            Owned::new(
                "PUT",
                "/bucket/key",
                &[
                    ("host", "localhost:4566"),
                    ("x-amz-meta-a", "x  y"),
                    ("content-type", "text/plain"),
                ],
                b"data",
            ),
        ),
        (
            "s3",
            Owned::new(
                "DELETE",
                "/bucket/k?versionId=null",
                &[("host", "b.s3.localhost:4566")],
                b"",
            ),
        ),
        (
            "iam",
            Owned::new(
                "POST",
                "/",
                &[
                    ("host", "iam.local"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                b"Action=ListUsers&Version=2010-05-08",
            ),
        ),
        (
            "sts",
            Owned::new(
                "POST",
                "/",
                &[("host", "127.0.0.1:4566"), ("user-agent", "aws-cli/1.32")],
                b"Action=GetCallerIdentity",
            ),
        ),
        (
            "kms",
            Owned::new(
                "POST",
                "/",
                &[
                    ("host", "127.0.0.1:4566"),
                    ("x-amz-target", "TrentService.Decrypt"),
                    ("content-type", "application/x-amz-json-1.1"),
                ],
                b"{\"CiphertextBlob\":\"AA==\"}",
            ),
        ),
        (
            "logs",
            Owned::new(
                "POST",
                "/",
                &[
                    ("host", "127.0.0.1:4566"),
                    ("x-amz-target", "Logs_20140328.PutLogEvents"),
                ],
                b"{}",
            ),
        ),
        (
            "lambda",
            Owned::new(
                "GET",
                "/2015-03-31/functions/my%3Afunction/configuration",
                &[("host", "127.0.0.1:4566")],
                b"",
            ),
        ),
        (
            "ec2",
            Owned::new(
                "POST",
                "/",
                &[("host", "127.0.0.1:4566")],
                b"Action=DescribeVpcs",
            ),
        ),
    ];
    for (service, request) in cases {
        let signed = request.sign(&params(service, at(0)));
        let verified = signed
            .verify(at(0))
            .unwrap_or_else(|e| panic!("{service} {}: {e}", signed.target));
        assert_eq!(verified.access_key_id, AKID);
        assert_eq!(verified.scope.service, service);
        let expected = Dialect::for_service(
            service,
            signed.headers.iter().any(|(n, _)| n == "x-amz-target"),
        );
        assert_eq!(verified.dialect, expected);
        if service != "s3" {
            assert_eq!(verified.payload, Payload::Verified);
        }
        // Without the body, a request that does not declare its payload hash cannot verify; one
        // that declares it verifies, and the body is checked later.
        let mut bodiless = signed.clone();
        bodiless.body = Vec::new();
        let result = bodiless.with(|req| {
            let req = Request { body: None, ..*req };
            let auth = sigv4::parse(&req, None).unwrap().unwrap();
            assert_eq!(auth.needs_body(), service != "s3");
            auth.verify(&req, SECRET, at(0), &SigningKeyCache::new(2))
        });
        match service {
            "s3" => {
                let v = result.unwrap();
                v.check_payload(&sigv4::sha256(&signed.body)).unwrap();
                assert_eq!(
                    v.check_payload(&sigv4::sha256(b"other"))
                        .unwrap_err()
                        .code(),
                    "XAmzContentSHA256Mismatch"
                );
            }
            _ => assert!(result.is_err()),
        }
    }
}

#[test]
fn session_tokens_are_reported() {
    let p = SigningParams {
        session_token: Some("token/with+chars="),
        ..params("sts", at(0))
    };
    let v = Owned::new("POST", "/", &[("host", "h")], b"Action=GetCallerIdentity")
        .sign(&p)
        .verify(at(0))
        .unwrap();
    assert_eq!(v.security_token.as_deref(), Some("token/with+chars="));
    let p = SigningParams {
        session_token: Some("token/with+chars="),
        ..params("s3", at(0))
    };
    let o = Owned::new("GET", "/b/k", &[("host", "h")], b"").presign(&p, 300);
    let v = o.verify(at(0)).unwrap();
    assert_eq!(v.security_token.as_deref(), Some("token/with+chars="));
    let auth = o.with(|req| sigv4::parse(req, None).unwrap().unwrap());
    assert_eq!(auth.security_token(), Some("token/with+chars="));
    assert_eq!(auth.expires(), Some(300));
}

#[test]
fn presigned_requests_verify_for_every_service() {
    for service in ["s3", "sts", "iam"] {
        let p = params(service, at(0));
        let o = Owned::new(
            "GET",
            "/b/k?a=1&b=two%20words",
            &[("host", "h:4566"), ("x-amz-meta-x", "1")],
            b"",
        )
        .presign(&p, 3600);
        o.verify(at(10))
            .unwrap_or_else(|e| panic!("{service}: {e}"));
        assert!(o.verify_with("other", at(10)).is_err());
    }
}

#[test]
fn the_cache_gives_the_same_answers() {
    let cache = SigningKeyCache::new(4);
    let signed: Vec<Owned> = (0..6)
        .map(|i| {
            let p = SigningParams {
                region: ["us-east-1", "eu-west-1", "ap-south-1"][i % 3],
                ..params("s3", at(0))
            };
            Owned::new("GET", &format!("/b/k{i}"), &[("host", "h")], b"").sign(&p)
        })
        .collect();
    for _ in 0..3 {
        for o in &signed {
            o.with(|req| {
                let auth = sigv4::parse(req, None).unwrap().unwrap();
                auth.verify(req, SECRET, at(0), &cache).unwrap();
                assert!(auth.verify(req, "other", at(0), &cache).is_err());
            });
        }
        assert!(cache.len() <= 4);
    }
}

/// A deterministic sequence of step sizes.
fn steps(seed: u64) -> impl Iterator<Item = usize> {
    let mut x = seed;
    std::iter::from_fn(move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Some((x >> 33) as usize % 20_000 + 1)
    })
}

fn feed(decoder: &mut ChunkedDecoder, body: &[u8], seed: u64) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut steps = steps(seed);
    while !rest.is_empty() {
        let n = steps.next().unwrap().min(rest.len());
        let (mut piece, tail) = rest.split_at(n);
        rest = tail;
        while let Some(data) = decoder.decode(&mut piece)? {
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

/// A signed streaming PUT of `data`: the request, and its body.
struct Upload {
    request: Owned,
    body: Vec<u8>,
}

fn upload(
    mode: ChunkedMode,
    data: &[u8],
    chunk: usize,
    checksum: Option<ChecksumAlgorithm>,
) -> Upload {
    let mut headers = vec![
        ("host".to_owned(), "s3.localhost:4566".to_owned()),
        ("content-encoding".to_owned(), "aws-chunked".to_owned()),
        (
            "x-amz-decoded-content-length".to_owned(),
            data.len().to_string(),
        ),
    ];
    if let Some(a) = checksum {
        headers.push(("x-amz-trailer".to_owned(), a.header_name().to_owned()));
    }
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let mut request = Owned::new("PUT", "/bucket/object", &refs, b"");
    let p = params("s3", at(0));
    let signature = request.with(|req| sigv4::sign(req, &p, PayloadSigning::Streaming(mode)));
    for (name, value) in &signature.headers {
        request = request.set_header(name, value);
    }
    let value = checksum.map(|a| {
        let mut c = Checksum::new(a);
        c.update(data);
        (a.header_name(), c.finish_base64())
    });
    let trailers: Vec<(&str, &str)> = value.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let body = match mode {
        ChunkedMode::UnsignedWithTrailer => sigv4::encode_unsigned(data, chunk, &trailers),
        _ => signature
            .chunk_signer()
            .encode(mode, data, chunk, &trailers),
    };
    Upload { request, body }
}

fn decoder_for(u: &Upload) -> Result<ChunkedDecoder, Error> {
    let verified = u.request.verify(at(0))?;
    u.request
        .with(|req| verified.chunked_decoder(req))
        .map(|d| d.expect("streaming"))
}

#[test]
fn chunked_bodies_round_trip() {
    let sizes = [0usize, 1, 8191, 8192, 65_553, 200_000];
    let modes = [
        ChunkedMode::Signed,
        ChunkedMode::SignedWithTrailer,
        ChunkedMode::UnsignedWithTrailer,
    ];
    for (i, &size) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..size).map(|n| (n * 31 % 251) as u8).collect();
        for mode in modes {
            for chunk in [8192, 65_536] {
                let checksum = match mode {
                    ChunkedMode::Signed => None,
                    _ => Some(ChecksumAlgorithm::ALL[i % 5]),
                };
                let u = upload(mode, &data, chunk, checksum);
                let mut decoder = decoder_for(&u).unwrap();
                assert_eq!(decoder.mode(), mode);
                let out = feed(&mut decoder, &u.body, (size + chunk) as u64).unwrap();
                assert_eq!(out, data, "{mode:?} {size} {chunk}");
                let trailers = decoder.finish().unwrap();
                assert_eq!(trailers.checksum.map(|(a, _)| a), checksum);
            }
        }
    }
}

#[test]
fn anonymous_chunked_uploads_decode() {
    let body = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n";
    let headers: Vec<(&str, &[u8])> = vec![
        (
            "x-amz-content-sha256",
            b"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        ),
        ("x-amz-decoded-content-length", b"3"),
        ("x-amz-trailer", b"x-amz-checksum-crc32"),
    ];
    let req = Request::new("PUT", "/b/k", &headers);
    let mut decoder = ChunkedDecoder::unsigned_for(&req).unwrap();
    assert_eq!(feed(&mut decoder, body, 1).unwrap(), b"abc");
    let trailers = decoder.finish().unwrap();
    assert_eq!(
        trailers.checksum,
        Some((ChecksumAlgorithm::Crc32, "NSRBwg==".to_owned()))
    );
    // Without a trailer.
    let mut decoder = ChunkedDecoder::unsigned(3, None).unwrap();
    assert_eq!(
        feed(&mut decoder, b"3\r\nabc\r\n0\r\n\r\n", 2).unwrap(),
        b"abc"
    );
    decoder.finish().unwrap();
}

fn decode_error(u: &Upload, body: &[u8]) -> Error {
    let mut decoder = match decoder_for(u) {
        Ok(d) => d,
        Err(e) => return e,
    };
    match feed(&mut decoder, body, 7) {
        Err(e) => e,
        Ok(_) => decoder.finish().expect_err("refused"),
    }
}

#[test]
fn chunked_bodies_are_refused_when_wrong() {
    let data: Vec<u8> = (0..100_000u32).map(|n| n as u8).collect();
    let signed = upload(ChunkedMode::Signed, &data, 65_536, None);
    // A data byte changed: the chunk signature fails.
    let mut body = signed.body.clone();
    let at_data = body.iter().position(|&b| b == b'\n').unwrap() + 1 + 70;
    body[at_data] ^= 1;
    let e = decode_error(&signed, &body);
    assert_eq!(e.code(), "SignatureDoesNotMatch");
    assert!(
        e.details()
            .iter()
            .any(|(n, v)| *n == "StringToSign" && v.starts_with("AWS4-HMAC-SHA256-PAYLOAD\n"))
    );
    assert!(
        e.details()
            .iter()
            .any(|(n, v)| *n == "AWSAccessKeyId" && v == AKID)
    );
    // A chunk signature removed.
    let text = String::from_utf8_lossy(&signed.body[..100]).into_owned();
    let sig_at = text.find(";chunk-signature=").unwrap();
    let mut body = signed.body.clone();
    body.drain(sig_at..sig_at + 17 + 64);
    assert_eq!(decode_error(&signed, &body).code(), "SignatureDoesNotMatch");
    // Truncated, before the final chunk.
    assert_eq!(
        decode_error(&signed, &signed.body[..signed.body.len() - 90]).code(),
        "IncompleteBody"
    );
    // Bytes after the end.
    let mut body = signed.body.clone();
    body.extend_from_slice(b"0\r\n");
    assert_eq!(decode_error(&signed, &body).code(), "IncompleteBody");
    // Framing broken.
    let mut body = signed.body.clone();
    body[0] = b'x';
    assert_eq!(decode_error(&signed, &body).code(), "IncompleteBody");
    // The declared length is not the data's.
    for declared in ["99999", "100001"] {
        // Signed with the wrong length, so that only the length is wrong.
        let resigned = upload_with_length(&data, declared);
        let e = decode_error(&resigned, &resigned.body);
        assert_eq!(
            (e.code(), e.status()),
            ("IncompleteBody", 400),
            "{declared}"
        );
    }
    // No declared length at all.
    let mut u = upload(
        ChunkedMode::UnsignedWithTrailer,
        &data,
        65_536,
        Some(ChecksumAlgorithm::Crc32),
    );
    u.request = u.request.remove_header("x-amz-decoded-content-length");
    let e = u
        .request
        .with(|req| ChunkedDecoder::unsigned_for(req).unwrap_err());
    assert_eq!((e.code(), e.status()), ("MissingContentLength", 411));
}

fn upload_with_length(data: &[u8], declared: &str) -> Upload {
    let headers = [
        ("host", "s3.localhost:4566"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", declared),
    ];
    let mut request = Owned::new("PUT", "/bucket/object", &headers, b"");
    let p = params("s3", at(0));
    let signature =
        request.with(|req| sigv4::sign(req, &p, PayloadSigning::Streaming(ChunkedMode::Signed)));
    for (name, value) in &signature.headers {
        request = request.set_header(name, value);
    }
    let body = signature
        .chunk_signer()
        .encode(ChunkedMode::Signed, data, 65_536, &[]);
    Upload { request, body }
}

#[test]
fn chunk_sizes_and_trailers_are_checked() {
    let data = vec![7u8; 20_000];
    // A chunk under 8 KiB that is not the last.
    let u = upload(ChunkedMode::Signed, &data, 8191, None);
    let e = decode_error(&u, &u.body);
    assert_eq!((e.code(), e.status()), ("InvalidChunkSizeError", 403));
    assert_eq!(
        e.details(),
        vec![("Chunk", "1".into()), ("BadChunkSize", "8191".into())]
    );
    let u = upload(
        ChunkedMode::UnsignedWithTrailer,
        &data,
        100,
        Some(ChecksumAlgorithm::Crc32),
    );
    assert_eq!(decode_error(&u, &u.body).code(), "InvalidChunkSizeError");
    // The trailing checksum of other data.
    let u = upload(
        ChunkedMode::UnsignedWithTrailer,
        &data,
        8192,
        Some(ChecksumAlgorithm::Crc32),
    );
    let mut body = u.body.clone();
    body[10] ^= 1;
    let e = decode_error(&u, &body);
    assert_eq!(
        (e.code(), e.status(), e.message().as_str()),
        (
            "BadDigest",
            400,
            "The CRC32 you specified did not match the calculated checksum."
        )
    );
    // A signed trailer with other data fails the chunk signature first.
    let u = upload(
        ChunkedMode::SignedWithTrailer,
        &data,
        8192,
        Some(ChecksumAlgorithm::Sha256),
    );
    let mut body = u.body.clone();
    let first_data = body.iter().position(|&b| b == b'\n').unwrap() + 5;
    body[first_data] ^= 1;
    assert_eq!(decode_error(&u, &body).code(), "SignatureDoesNotMatch");
    // A declared trailer that does not come.
    let text = String::from_utf8(sigv4::encode_unsigned(&data, 8192, &[])).unwrap();
    let u = upload(
        ChunkedMode::UnsignedWithTrailer,
        &data,
        8192,
        Some(ChecksumAlgorithm::Crc32c),
    );
    let e = decode_error(&u, text.as_bytes());
    assert_eq!(
        (e.code(), e.status(), e.message().as_str()),
        (
            "MalformedTrailerError",
            400,
            "The request contained trailing data that was not well-formed or did not conform to our published schema."
        )
    );
    // A trailer that is not base64 of the right length.
    let body = sigv4::encode_unsigned(&data, 8192, &[("x-amz-checksum-crc32c", "y/Q5Jg")]);
    let e = decode_error(&u, &body);
    assert_eq!(
        e.message(),
        "Value for x-amz-checksum-crc32c trailing header is invalid."
    );
    // A trailer that was not declared.
    let plain = upload(ChunkedMode::Signed, &data, 8192, None);
    let p = plain.request.clone();
    let undeclared = Upload {
        request: p,
        body: sigv4::encode_unsigned(&data, 8192, &[("x-amz-checksum-crc32", "AAAAAA==")]),
    };
    assert_eq!(
        decode_error(&undeclared, &undeclared.body).code(),
        "SignatureDoesNotMatch"
    );
    let unsigned = ChunkedDecoder::unsigned(data.len() as u64, None).unwrap();
    let mut d = unsigned;
    let e = feed(&mut d, &undeclared.body, 3).unwrap_err();
    assert_eq!(e.code(), "MalformedTrailerError");
    // An algorithm S3 does not have.
    assert_eq!(
        ChunkedDecoder::unsigned(3, Some("x-amz-checksum-md5"))
            .unwrap_err()
            .code(),
        "InvalidRequest"
    );
    // Lines are bounded.
    let mut d = ChunkedDecoder::unsigned(3, None).unwrap();
    let long = vec![b'1'; 5000];
    assert_eq!(
        feed(&mut d, &long, 11).unwrap_err().code(),
        "IncompleteBody"
    );
}

#[test]
fn large_bodies_stream_through() {
    // 64 MiB in 1 MiB chunks, fed 256 KiB at a time, without keeping the data.
    let chunk = vec![0x5au8; 1 << 20];
    let total = 64u64 << 20;
    let mut d = ChunkedDecoder::unsigned(total, Some("x-amz-checksum-crc64nvme")).unwrap();
    let mut checksum = Checksum::new(ChecksumAlgorithm::Crc64Nvme);
    let header = format!("{:x}\r\n", chunk.len());
    let mut decoded = 0u64;
    for _ in 0..64 {
        checksum.update(&chunk);
        for part in [header.as_bytes(), &chunk[..], b"\r\n"] {
            for piece in part.chunks(256 << 10) {
                let mut input = piece;
                while let Some(data) = d.decode(&mut input).unwrap() {
                    decoded += data.len() as u64;
                }
            }
        }
    }
    let tail = format!(
        "0\r\nx-amz-checksum-crc64nvme:{}\r\n\r\n",
        checksum.finish_base64()
    );
    let mut input = tail.as_bytes();
    assert!(d.decode(&mut input).unwrap().is_none());
    assert_eq!(decoded, total);
    assert!(d.is_done());
    assert_eq!(
        d.finish().unwrap().checksum.unwrap().0,
        ChecksumAlgorithm::Crc64Nvme
    );
}
