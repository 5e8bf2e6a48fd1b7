//! Entry points for fuzzing: arbitrary bytes through every parser of untrusted input. Each must
//! return (with an error or not) and never panic.

use std::time::{Duration, UNIX_EPOCH};

use crate::{ChunkedDecoder, Request, SigningKeyCache};

/// The secret access key [`request`] verifies with.
pub const SECRET: &str = "fuzz/secret+key/EXAMPLE";

/// Splits `data` into a request: the first line is `METHOD TARGET`, then `name: value` header
/// lines up to an empty line, then the body. Parses its signature, prechecks and verifies it with
/// [`SECRET`] at the request's own time (so that well-signed inputs get past the clock), then
/// decodes an `aws-chunked` body. Returns whether the signature (and the body) verified.
pub fn request(data: &[u8]) -> bool {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let headers: Vec<(&str, &[u8])> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n, v.trim_start().as_bytes()))
        .collect();
    let req = Request::new(method, target, &headers).with_body(body);
    let cache = SigningKeyCache::new(4);
    let mut verified_all = false;
    if let Ok(Some(auth)) = crate::parse(&req, None) {
        let now = auth
            .request_time()
            .to_system_time()
            .unwrap_or(UNIX_EPOCH + Duration::from_secs(1_704_067_200));
        let _ = auth.precheck(now, Some("us-east-1"), None);
        let _ = auth.canonical_request(&req);
        if let Ok(verified) = auth.verify(&req, SECRET, now, &cache) {
            verified_all = match verified.chunked_decoder(&req) {
                Ok(Some(mut decoder)) => {
                    let mut input = body;
                    while let Ok(Some(_)) = decoder.decode(&mut input) {}
                    decoder.finish().is_ok()
                }
                Ok(None) => true,
                Err(_) => false,
            };
        }
        let _ = auth.verify(&Request { body: None, ..req }, SECRET, now, &cache);
    }
    verified_all
}

/// Decodes `data` as an unsigned `aws-chunked` body with a CRC32 trailer, the first byte choosing
/// the declared length and the split of the input.
pub fn chunked(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let trailer = if first & 1 == 0 {
        Some("x-amz-checksum-crc32")
    } else {
        None
    };
    let Ok(mut decoder) = ChunkedDecoder::unsigned(u64::from(first) * 64, trailer) else {
        return;
    };
    let step = usize::from(first % 17) + 1;
    for piece in rest.chunks(step) {
        let mut input = piece;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = decoder.finish();
}

/// Parses `data` as the date formats SigV4 accepts and as a checksum value.
pub fn values(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::Timestamp::parse_basic(&text);
    let _ = crate::Timestamp::parse_http_date(&text);
    let _ = crate::Timestamp::parse_date(&text);
    let _ = crate::base64_decode(&text);
    let _ = crate::ContentSha256::parse(&text);
}
