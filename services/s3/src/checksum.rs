//! Content-MD5 and the flexible checksums (`x-amz-checksum-*`): parsed from the request,
//! computed while the body streams, compared at the end.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::AwsError;
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use sigv4::{Checksum, ChecksumAlgorithm};

use crate::error;

/// The input members that carry checksums, with their algorithms.
pub const MEMBERS: [(&str, ChecksumAlgorithm); 5] = [
    ("ChecksumCRC32", ChecksumAlgorithm::Crc32),
    ("ChecksumCRC32C", ChecksumAlgorithm::Crc32c),
    ("ChecksumCRC64NVME", ChecksumAlgorithm::Crc64Nvme),
    ("ChecksumSHA1", ChecksumAlgorithm::Sha1),
    ("ChecksumSHA256", ChecksumAlgorithm::Sha256),
];

/// The output member of an algorithm.
pub fn member(alg: ChecksumAlgorithm) -> &'static str {
    MEMBERS
        .iter()
        .find(|(_, a)| *a == alg)
        .map(|(m, _)| *m)
        .unwrap_or("ChecksumCRC32")
}

/// A declared Content-MD5, decoded.
pub fn content_md5(input: &Map<String, Value>) -> Result<Option<[u8; 16]>, AwsError> {
    let Some(text) = input.get("ContentMD5").and_then(Value::as_str) else {
        return Ok(None);
    };
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| error::invalid_digest("Content-MD5", text))?;
    let arr: [u8; 16] = bytes
        .try_into()
        .map_err(|_| error::invalid_digest("Content-MD5", text))?;
    Ok(Some(arr))
}

/// What a request declares about its payload's checksum.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The algorithm to compute, if any.
    pub algorithm: Option<ChecksumAlgorithm>,
    /// The value to compare against (base64), when sent as a header.
    pub expected: Option<String>,
}

/// The flexible checksum a request declares: a header value, or only an algorithm (the value
/// then travels as a trailer, which the gateway verifies).
pub fn declared(input: &Map<String, Value>) -> Result<Declared, AwsError> {
    let mut found: Option<(ChecksumAlgorithm, String)> = None;
    for (name, alg) in MEMBERS {
        if let Some(v) = input.get(name).and_then(Value::as_str) {
            if found.is_some() {
                return Err(error::invalid_request(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            let ok = STANDARD
                .decode(v.trim())
                .is_ok_and(|b| b.len() == alg.digest_len());
            if !ok {
                return Err(error::invalid_request(format!(
                    "Value for {} header is invalid.",
                    alg.header_name()
                )));
            }
            found = Some((alg, v.trim().to_string()));
        }
    }
    if let Some((alg, v)) = found {
        return Ok(Declared {
            algorithm: Some(alg),
            expected: Some(v),
        });
    }
    let algorithm = match input.get("ChecksumAlgorithm").and_then(Value::as_str) {
        Some(name) => Some(ChecksumAlgorithm::from_name(name).ok_or_else(|| {
            error::invalid_request(format!("Checksum algorithm `{name}` is not supported."))
        })?),
        None => None,
    };
    Ok(Declared {
        algorithm,
        expected: None,
    })
}

/// Digests computed while a body streams.
pub struct Hashers {
    md5: Option<Md5>,
    checksum: Option<(ChecksumAlgorithm, Checksum)>,
}

/// What the digests came to.
#[derive(Debug, Clone, Default)]
pub struct Digests {
    /// The MD5, when computed.
    pub md5: Option<[u8; 16]>,
    /// The flexible checksum: algorithm and base64 value.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

impl Hashers {
    /// Hashers for MD5 (when `md5`) and the declared algorithm.
    pub fn new(md5: bool, algorithm: Option<ChecksumAlgorithm>) -> Hashers {
        Hashers {
            md5: md5.then(Md5::new),
            checksum: algorithm.map(|a| (a, Checksum::new(a))),
        }
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        if let Some(m) = &mut self.md5 {
            m.update(data);
        }
        if let Some((_, c)) = &mut self.checksum {
            c.update(data);
        }
    }

    /// The results.
    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.map(|m| m.finalize().into()),
            checksum: self.checksum.map(|(a, c)| (a, c.finish_base64())),
        }
    }
}

/// Compares what was computed with what was declared.
pub fn check(
    digests: &Digests,
    md5: Option<[u8; 16]>,
    declared: &Declared,
) -> Result<(), AwsError> {
    if let (Some(want), Some(got)) = (md5, digests.md5)
        && want != got
    {
        return Err(error::bad_digest("Content-MD5"));
    }
    if let (Some(want), Some((alg, got))) = (&declared.expected, &digests.checksum)
        && want != got
    {
        return Err(error::bad_digest(alg.name()));
    }
    Ok(())
}

/// Checks the Content-MD5 and checksum headers of a buffered payload.
pub fn verify_buffered(input: &Map<String, Value>, body: &[u8]) -> Result<(), AwsError> {
    let md5 = content_md5(input)?;
    let declared = declared(input)?;
    if md5.is_none() && declared.expected.is_none() {
        return Ok(());
    }
    let mut h = Hashers::new(md5.is_some(), declared.algorithm);
    h.update(body);
    check(&h.finish(), md5, &declared)
}

/// MD5 of bytes.
pub fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    #[test]
    fn content_md5_is_checked() {
        let body = b"hello";
        let good = STANDARD.encode(md5(body));
        assert!(verify_buffered(&input(&[("ContentMD5", &good)]), body).is_ok());
        let e = verify_buffered(&input(&[("ContentMD5", &good)]), b"other").unwrap_err();
        assert_eq!(e.code, "BadDigest");
        let e = verify_buffered(&input(&[("ContentMD5", "nope")]), body).unwrap_err();
        assert_eq!(e.code, "InvalidDigest");
    }

    #[test]
    fn flexible_checksums_are_checked() {
        let body = b"hello";
        for (member, alg) in MEMBERS {
            let mut c = Checksum::new(alg);
            c.update(body);
            let v = c.finish_base64();
            assert!(verify_buffered(&input(&[(member, &v)]), body).is_ok());
            let e = verify_buffered(&input(&[(member, &v)]), b"hellO").unwrap_err();
            assert_eq!(e.code, "BadDigest");
            assert!(e.message.contains(alg.name()));
        }
        let e = verify_buffered(&input(&[("ChecksumCRC32", "AAAA")]), body).unwrap_err();
        assert_eq!(e.code, "InvalidRequest");
    }
}
