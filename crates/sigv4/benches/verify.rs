//! SigV4 verification and `aws-chunked` decoding.
//!
//! `cargo bench -p sigv4 --bench verify`

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sigv4::{
    Checksum, ChecksumAlgorithm, ChunkedMode, PayloadSigning, Request, SigningKeyCache,
    SigningParams,
};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

fn params(service: &'static str) -> SigningParams<'static> {
    SigningParams {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service,
        time: now(),
    }
}

/// Signs and returns the headers with the signature added.
fn signed_headers(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    params: &SigningParams<'_>,
    payload: PayloadSigning<'_>,
) -> Vec<(String, Vec<u8>)> {
    let raw: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    let req = Request::new(method, target, &raw).with_body(body);
    let signature = sigv4::sign(&req, params, payload);
    let mut out: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    out.extend(
        signature
            .headers
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.into_bytes())),
    );
    out
}

fn verify_once(req: &Request<'_>, cache: &SigningKeyCache) {
    let auth = sigv4::parse(req, None).unwrap().unwrap();
    auth.precheck(now(), Some("us-east-1"), None).unwrap();
    black_box(auth.verify(req, SECRET, now(), cache).unwrap());
}

fn verification(c: &mut Criterion) {
    let mut group = c.benchmark_group("sigv4/verify");
    // A JSON call: host, content-type, x-amz-date, x-amz-target, x-amz-security-token signed; 60-byte body.
    let body = br#"{"KeyId":"alias/data","Plaintext":"aGVsbG8gd29ybGQ="}"#;
    let p = SigningParams {
        session_token: Some("FwoGZXIvYXdzEJr//////////wEaDExampleSessionToken"),
        ..params("kms")
    };
    let headers = signed_headers(
        "POST",
        "/",
        &[
            ("host", "127.0.0.1:4566"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.Encrypt"),
            ("user-agent", "Boto3/1.34.0 md/Botocore#1.34.0"),
            ("content-length", "56"),
        ],
        body,
        &p,
        PayloadSigning::Body(body),
    );
    let raw: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request::new("POST", "/", &raw).with_body(body);
    let cache = SigningKeyCache::new(1024);
    group.bench_function("json_5_signed_headers", |b| {
        b.iter(|| verify_once(black_box(&req), &cache))
    });
    group.bench_function("json_5_signed_headers_uncached", |b| {
        b.iter(|| verify_once(black_box(&req), &SigningKeyCache::new(2)))
    });

    // A Query call (STS GetCallerIdentity): host, content-type, x-amz-date signed.
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let headers = signed_headers(
        "POST",
        "/",
        &[
            ("host", "127.0.0.1:4566"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ],
        body,
        &params("sts"),
        PayloadSigning::Body(body),
    );
    let raw: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request::new("POST", "/", &raw).with_body(body);
    group.bench_function("query_sts_get_caller_identity", |b| {
        b.iter(|| verify_once(black_box(&req), &cache))
    });

    // An S3 GET with a query, payload hash declared.
    let target = "/bucket?list-type=2&prefix=data%2F2024&delimiter=%2F";
    let headers = signed_headers(
        "GET",
        target,
        &[("host", "127.0.0.1:4566")],
        b"",
        &params("s3"),
        PayloadSigning::Body(b""),
    );
    let raw: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request::new("GET", target, &raw);
    group.bench_function("s3_list_objects", |b| {
        b.iter(|| verify_once(black_box(&req), &cache))
    });

    // A presigned S3 GET.
    let raw: Vec<(&str, &[u8])> = vec![("host", b"127.0.0.1:4566")];
    let presigned = sigv4::presign(
        &Request::new("GET", "/bucket/report.pdf", &raw),
        &params("s3"),
        3600,
    );
    let target = format!("/bucket/report.pdf?{}", presigned.query);
    let req = Request::new("GET", &target, &raw);
    group.bench_function("s3_presigned_get", |b| {
        b.iter(|| verify_once(black_box(&req), &cache))
    });
    group.finish();
}

fn chunked(c: &mut Criterion) {
    let mut group = c.benchmark_group("sigv4/chunked");
    let data = vec![0xa5u8; 1 << 20];
    group.throughput(Throughput::Bytes(data.len() as u64));
    let headers = [
        ("host", "127.0.0.1:4566"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "1048576"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ];
    for (name, mode) in [
        (
            "decode_signed_trailer_crc32_1MiB",
            ChunkedMode::SignedWithTrailer,
        ),
        (
            "decode_unsigned_trailer_crc32_1MiB",
            ChunkedMode::UnsignedWithTrailer,
        ),
    ] {
        let signed = signed_headers(
            "PUT",
            "/bucket/object",
            &headers,
            b"",
            &params("s3"),
            PayloadSigning::Streaming(mode),
        );
        let raw: Vec<(&str, &[u8])> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let req = Request::new("PUT", "/bucket/object", &raw);
        let cache = SigningKeyCache::new(16);
        let verified = sigv4::parse(&req, None)
            .unwrap()
            .unwrap()
            .verify(&req, SECRET, now(), &cache)
            .unwrap();
        let signature = sigv4::sign(
            &Request::new(
                "PUT",
                "/bucket/object",
                &headers.map(|(n, v)| (n, v.as_bytes())),
            ),
            &params("s3"),
            PayloadSigning::Streaming(mode),
        );
        let mut crc = Checksum::new(ChecksumAlgorithm::Crc32);
        crc.update(&data);
        let crc = crc.finish_base64();
        let trailers = [("x-amz-checksum-crc32", crc.as_str())];
        let body = match mode {
            ChunkedMode::UnsignedWithTrailer => sigv4::encode_unsigned(&data, 65_536, &trailers),
            _ => signature
                .chunk_signer()
                .encode(mode, &data, 65_536, &trailers),
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut decoder = verified.chunked_decoder(&req).unwrap().unwrap();
                let mut n = 0;
                for piece in body.chunks(16 << 10) {
                    let mut input = piece;
                    while let Some(d) = decoder.decode(&mut input).unwrap() {
                        n += d.len();
                    }
                }
                black_box(n);
                decoder.finish().unwrap()
            })
        });
    }
    for algorithm in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
    ] {
        group.bench_function(
            format!("checksum_{}_1MiB", algorithm.name().to_lowercase()),
            |b| {
                b.iter(|| {
                    let mut c = Checksum::new(algorithm);
                    c.update(black_box(&data));
                    c.finish()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, verification, chunked);
criterion_main!(benches);
