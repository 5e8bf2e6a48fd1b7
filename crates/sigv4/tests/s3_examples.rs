//! The worked examples of the Amazon S3 documentation ("Signature Calculations for the
//! Authorization Header", "Authenticating Requests: Using Query Parameters", "Transferring Payload
//! in Multiple Chunks", "Including Trailing Headers"): credentials `AKIAIOSFODNN7EXAMPLE` /
//! `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, 20130524T000000Z, us-east-1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sigv4::{
    AuthMethod, ChecksumAlgorithm, ChunkedMode, Dialect, Payload, PayloadSigning, Request,
    SigningKeyCache, SigningParams, Timestamp,
};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20130524T000000Z";
const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HOST: &str = "examplebucket.s3.amazonaws.com";

fn at(offset_secs: i64) -> SystemTime {
    let t = Timestamp::parse_basic(DATE).unwrap().unix() + offset_secs;
    UNIX_EPOCH + Duration::from_secs(t as u64)
}

fn authorization(signed: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={signature}"
    )
}

/// Parses and verifies; returns the verified request.
fn verify(req: &Request<'_>, now: SystemTime) -> Result<sigv4::Verified, sigv4::Error> {
    let auth = sigv4::parse(req, None)?.expect("signed");
    assert_eq!(auth.dialect(), Dialect::S3);
    auth.precheck(now, Some("us-east-1"), None)?;
    auth.verify(req, SECRET, now, &SigningKeyCache::new(8))
}

#[test]
fn get_object() {
    let auth = authorization(
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", HOST.as_bytes()),
        ("Range", b"bytes=0-9"),
        ("x-amz-content-sha256", EMPTY.as_bytes()),
        ("x-amz-date", DATE.as_bytes()),
        ("Authorization", auth.as_bytes()),
    ];
    let req = Request::new("GET", "/test.txt", &headers);
    let verified = verify(&req, at(0)).unwrap();
    assert_eq!(verified.payload, Payload::Sha256(sigv4::sha256(b"")));
    verified.check_payload(&sigv4::sha256(b"")).unwrap();
    assert_eq!(
        verified
            .check_payload(&sigv4::sha256(b"x"))
            .unwrap_err()
            .code(),
        "XAmzContentSHA256Mismatch"
    );
}

#[test]
fn put_object() {
    let body = b"Welcome to Amazon S3.";
    let auth = authorization(
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    );
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", HOST.as_bytes()),
        ("Date", b"Fri, 24 May 2013 00:00:00 GMT"),
        ("x-amz-date", DATE.as_bytes()),
        ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        (
            "x-amz-content-sha256",
            b"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        ),
        ("Authorization", auth.as_bytes()),
    ];
    let req = Request::new("PUT", "/test%24file.text", &headers);
    let verified = verify(&req.with_body(body), at(0)).unwrap();
    assert_eq!(verified.payload, Payload::Verified);
    // The body is checked when it is there.
    assert_eq!(
        verify(&req.with_body(b"Welcome to Amazon S3!"), at(0))
            .unwrap_err()
            .code(),
        "XAmzContentSHA256Mismatch"
    );
}

#[test]
fn get_bucket_lifecycle_and_list_objects() {
    for (target, signature) in [
        (
            "/?lifecycle",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (
            "/?max-keys=2&prefix=J",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ] {
        let auth = authorization("host;x-amz-content-sha256;x-amz-date", signature);
        let headers: Vec<(&str, &[u8])> = vec![
            ("Host", HOST.as_bytes()),
            ("x-amz-content-sha256", EMPTY.as_bytes()),
            ("x-amz-date", DATE.as_bytes()),
            ("Authorization", auth.as_bytes()),
        ];
        verify(&Request::new("GET", target, &headers), at(0)).unwrap();
    }
}

const PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

#[test]
fn presigned_get_object() {
    let headers: Vec<(&str, &[u8])> = vec![("Host", HOST.as_bytes())];
    let req = Request::new("GET", PRESIGNED, &headers);
    let verified = verify(&req, at(0)).unwrap();
    assert_eq!(verified.method, AuthMethod::Presigned);
    assert_eq!(verified.payload, Payload::Unsigned);
    // Valid through the last second of X-Amz-Expires, not after.
    verify(&req, at(86_400)).unwrap();
    let expired = verify(&req, at(86_401)).unwrap_err();
    assert_eq!(
        (expired.code(), expired.status(), expired.message().as_str()),
        ("AccessDenied", 403, "Request has expired")
    );
    assert_eq!(
        expired.details(),
        vec![
            ("X-Amz-Expires", "86400".to_owned()),
            ("Expires", "2013-05-25T00:00:00Z".to_owned()),
            ("ServerTime", "2013-05-25T00:00:01Z".to_owned())
        ]
    );
    // Up to 15 minutes early.
    verify(&req, at(-900)).unwrap();
    let early = verify(&req, at(-901)).unwrap_err();
    assert_eq!(
        (early.code(), early.message().as_str()),
        ("AccessDenied", "Request is not yet valid")
    );
    // The signer makes the same URL.
    let params = SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "s3",
        time: at(0),
    };
    let presigned = sigv4::presign(&Request::new("GET", "/test.txt", &headers), &params, 86_400);
    assert_eq!(format!("/test.txt?{}", presigned.query), PRESIGNED);
}

/// The headers of the chunked examples.
fn chunked_headers<'a>(
    trailer: bool,
    authorization: &'a str,
    length: &'a str,
) -> Vec<(&'a str, &'a [u8])> {
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("Host", b"s3.amazonaws.com"),
        ("x-amz-date", DATE.as_bytes()),
        ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        ("Content-Encoding", b"aws-chunked"),
        ("x-amz-decoded-content-length", b"66560"),
        ("Authorization", authorization.as_bytes()),
    ];
    if trailer {
        headers.push((
            "x-amz-content-sha256",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        ));
        headers.push(("x-amz-trailer", b"x-amz-checksum-crc32c"));
    } else {
        headers.push((
            "x-amz-content-sha256",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        ));
        headers.push(("Content-Length", length.as_bytes()));
    }
    headers
}

/// The body of the chunked examples: 65536 and 1024 bytes of `a`, then the final chunk.
fn chunked_body(signatures: [&str; 3], trailers: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(format!("10000;chunk-signature={}\r\n", signatures[0]).as_bytes());
    body.extend_from_slice(&[b'a'; 65_536]);
    body.extend_from_slice(format!("\r\n400;chunk-signature={}\r\n", signatures[1]).as_bytes());
    body.extend_from_slice(&[b'a'; 1024]);
    body.extend_from_slice(format!("\r\n0;chunk-signature={}\r\n", signatures[2]).as_bytes());
    body.extend_from_slice(trailers.as_bytes());
    body.extend_from_slice(b"\r\n");
    body
}

const CHUNK_SIGNATURES: [&str; 3] = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
const TRAILER_CHUNK_SIGNATURES: [&str; 3] = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
];
const TRAILERS: &str = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n";

/// Decodes `body` fed in pieces of `step` bytes.
fn decode(
    decoder: &mut sigv4::ChunkedDecoder,
    body: &[u8],
    step: usize,
) -> Result<Vec<u8>, sigv4::Error> {
    let mut out = Vec::new();
    for piece in body.chunks(step) {
        let mut input = piece;
        while let Some(data) = decoder.decode(&mut input)? {
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

#[test]
fn put_object_in_chunks() {
    let auth = authorization(
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    );
    let body = chunked_body(CHUNK_SIGNATURES, "");
    assert_eq!(body.len(), 66_824, "the documented Content-Length");
    let headers = chunked_headers(false, &auth, "66824");
    let req = Request::new("PUT", "/examplebucket/chunkObject.txt", &headers);
    let verified = verify(&req, at(0)).unwrap();
    assert_eq!(verified.payload, Payload::Streaming(ChunkedMode::Signed));
    for step in [1, 7, 8192, 70_000] {
        let mut decoder = verified.chunked_decoder(&req).unwrap().unwrap();
        let data = decode(&mut decoder, &body, step).unwrap();
        assert_eq!(data, vec![b'a'; 66_560]);
        let trailers = decoder.finish().unwrap();
        assert_eq!(trailers.checksum, None);
    }
    // The signer produces the same seed and chunk signatures.
    let params = SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "s3",
        time: at(0),
    };
    let unsigned: Vec<(&str, &[u8])> = headers
        .iter()
        .copied()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .collect();
    let signature = sigv4::sign(
        &Request::new("PUT", "/examplebucket/chunkObject.txt", &unsigned),
        &params,
        PayloadSigning::Streaming(ChunkedMode::Signed),
    );
    assert_eq!(
        signature.signature,
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    );
    let mut chunks = signature.chunk_signer();
    assert_eq!(
        chunks.encode(ChunkedMode::Signed, &[b'a'; 66_560], 65_536, &[]),
        body
    );
}

#[test]
fn put_object_in_chunks_with_a_trailing_checksum() {
    let auth = authorization(
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
    );
    let body = chunked_body(TRAILER_CHUNK_SIGNATURES, TRAILERS);
    let headers = chunked_headers(true, &auth, "");
    let req = Request::new("PUT", "/examplebucket/chunkObject.txt", &headers);
    let verified = verify(&req, at(0)).unwrap();
    assert_eq!(
        verified.payload,
        Payload::Streaming(ChunkedMode::SignedWithTrailer)
    );
    for step in [1, 3, 4096, 100_000] {
        let mut decoder = verified.chunked_decoder(&req).unwrap().unwrap();
        assert_eq!(decode(&mut decoder, &body, step).unwrap().len(), 66_560);
        let trailers = decoder.finish().unwrap();
        assert_eq!(
            trailers.checksum,
            Some((ChecksumAlgorithm::Crc32c, "sOO8/Q==".to_owned()))
        );
        assert_eq!(
            trailers.headers,
            vec![("x-amz-checksum-crc32c".to_owned(), "sOO8/Q==".to_owned())]
        );
    }
    // A changed trailer value breaks the trailer signature.
    let tampered = chunked_body(
        TRAILER_CHUNK_SIGNATURES,
        &TRAILERS.replace("sOO8/Q==", "AAAAAA=="),
    );
    let mut decoder = verified.chunked_decoder(&req).unwrap().unwrap();
    let err = decode(&mut decoder, &tampered, 1000).unwrap_err();
    assert_eq!(err.code(), "SignatureDoesNotMatch");
    assert!(
        err.details()
            .iter()
            .any(|(n, v)| *n == "StringToSign" && v.starts_with("AWS4-HMAC-SHA256-TRAILER\n"))
    );
    // The signer produces the same body.
    let params = SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "s3",
        time: at(0),
    };
    let unsigned: Vec<(&str, &[u8])> = headers
        .iter()
        .copied()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .collect();
    let signature = sigv4::sign(
        &Request::new("PUT", "/examplebucket/chunkObject.txt", &unsigned),
        &params,
        PayloadSigning::Streaming(ChunkedMode::SignedWithTrailer),
    );
    assert_eq!(
        signature.signature,
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    );
    let mut chunks = signature.chunk_signer();
    let encoded = chunks.encode(
        ChunkedMode::SignedWithTrailer,
        &[b'a'; 66_560],
        65_536,
        &[("x-amz-checksum-crc32c", "sOO8/Q==")],
    );
    assert_eq!(encoded, body);
}
