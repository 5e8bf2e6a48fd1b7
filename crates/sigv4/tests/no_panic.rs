//! Arbitrary and mutated inputs through every parser: errors, never panics. The same entry
//! points serve fuzzing (`sigv4::fuzzing`).

mod common;

use common::{Owned, at, params};
use sigv4::{ChunkedMode, PayloadSigning, fuzzing};

/// A deterministic pseudo-random generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 17
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Replaces, inserts or deletes a few bytes.
fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"%/;=&+ \r\n\t:,0aAzZ\xff\x00";
    let mut out = data.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        let byte = if rng.below(2) == 0 {
            INTERESTING[rng.below(INTERESTING.len())]
        } else {
            rng.next() as u8
        };
        match rng.below(3) {
            0 if at < out.len() => out[at] = byte,
            1 => out.insert(at, byte),
            _ if at < out.len() => {
                out.remove(at);
            }
            _ => out.push(byte),
        }
    }
    out
}

/// A request in the format of `fuzzing::request`.
fn serialize(o: &Owned) -> Vec<u8> {
    let mut out = format!("{} {}\n", o.method, o.target).into_bytes();
    for (name, value) in &o.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(&o.body);
    out
}

#[test]
fn mutated_requests_never_panic() {
    let seeds = [
        Owned::new(
            "GET",
            "/bucket/a%20b?list-type=2&prefix=x",
            &[("host", "h")],
            b"",
        )
        .sign(&params("s3", at(0))),
        Owned::new(
            "POST",
            "/",
            &[("host", "h"), ("x-amz-target", "TrentService.ListKeys")],
            b"{}",
        )
        .sign(&params("kms", at(0))),
        Owned::new("POST", "/", &[("host", "h")], b"Action=GetCallerIdentity")
            .sign(&params("sts", at(0))),
        Owned::new("GET", "/b/k", &[("host", "h")], b"").presign(&params("s3", at(0)), 60),
        Owned::new("GET", "/?Action=GetCallerIdentity", &[("host", "h")], b"")
            .presign(&params("sts", at(0)), 60),
    ];
    let mut rng = Rng(7);
    for seed in &seeds {
        let bytes = serialize(seed);
        fuzzing::request(&bytes);
        for _ in 0..3000 {
            fuzzing::request(&mutate(&mut rng, &bytes));
        }
    }
    for _ in 0..2000 {
        let len = rng.below(300);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        fuzzing::request(&data);
        fuzzing::values(&data);
    }
}

#[test]
fn mutated_chunked_bodies_never_panic() {
    let data = vec![b'x'; 20_000];
    let mut bodies = vec![
        sigv4::encode_unsigned(&data, 8192, &[("x-amz-checksum-crc32", "AAAAAA==")]),
        sigv4::encode_unsigned(b"abc", 8192, &[]),
    ];
    let o = Owned::new("PUT", "/b/k", &[("host", "h")], b"");
    let signature = o.with(|req| {
        sigv4::sign(
            req,
            &params("s3", at(0)),
            PayloadSigning::Streaming(ChunkedMode::SignedWithTrailer),
        )
    });
    bodies.push(signature.chunk_signer().encode(
        ChunkedMode::SignedWithTrailer,
        &data,
        8192,
        &[("x-amz-checksum-crc32", "AAAAAA==")],
    ));
    let mut rng = Rng(11);
    for body in &bodies {
        for first in [0u8, 1, 200, 255] {
            let mut input = vec![first];
            input.extend_from_slice(body);
            fuzzing::chunked(&input);
            for _ in 0..500 {
                fuzzing::chunked(&mutate(&mut rng, &input));
            }
        }
    }
    for _ in 0..2000 {
        let len = rng.below(200);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        fuzzing::chunked(&data);
    }
}

#[test]
fn public_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<sigv4::Authorization>();
    send_sync::<sigv4::Verified>();
    send_sync::<sigv4::SigningKeyCache>();
    send_sync::<sigv4::ChunkedDecoder>();
    send_sync::<sigv4::Error>();
    send_sync::<sigv4::ChunkSigner>();
}
