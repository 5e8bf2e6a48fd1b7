//! The checksums S3 accepts in `x-amz-checksum-*` headers and trailers, computed incrementally.

use aws_lc_rs::digest;

/// A checksum algorithm of S3's flexible checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (IEEE 802.3).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// The name S3 uses: `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header (and trailer) that carries it: `x-amz-checksum-crc32`, ...
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm of a header name (any letter case).
    pub fn from_header_name(name: &str) -> Option<ChecksumAlgorithm> {
        ChecksumAlgorithm::ALL
            .into_iter()
            .find(|a| a.header_name().eq_ignore_ascii_case(name))
    }

    /// The algorithm of a name as S3 spells it (`x-amz-sdk-checksum-algorithm`), any letter case.
    pub fn from_name(name: &str) -> Option<ChecksumAlgorithm> {
        ChecksumAlgorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The length of the checksum in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }
}

/// A checksum being computed.
#[derive(Clone)]
pub struct Checksum {
    state: State,
}

#[derive(Clone)]
enum State {
    Crc32(u32),
    Crc32c(u32),
    Crc64(u64),
    Digest(digest::Context),
}

impl std::fmt::Debug for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checksum(..)")
    }
}

impl Checksum {
    /// A new checksum.
    pub fn new(algorithm: ChecksumAlgorithm) -> Checksum {
        let state = match algorithm {
            ChecksumAlgorithm::Crc32 => State::Crc32(!0),
            ChecksumAlgorithm::Crc32c => State::Crc32c(!0),
            ChecksumAlgorithm::Crc64Nvme => State::Crc64(!0),
            ChecksumAlgorithm::Sha1 => {
                State::Digest(digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY))
            }
            ChecksumAlgorithm::Sha256 => State::Digest(digest::Context::new(&digest::SHA256)),
        };
        Checksum { state }
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc32(c) => *c = crc32_update(&CRC32_TABLES, *c, data),
            State::Crc32c(c) => *c = crc32_update(&CRC32C_TABLES, *c, data),
            State::Crc64(c) => *c = crc64_update(&CRC64NVME_TABLES, *c, data),
            State::Digest(d) => d.update(data),
        }
    }

    /// The checksum, big-endian for the CRCs.
    pub fn finish(self) -> Vec<u8> {
        match self.state {
            State::Crc32(c) | State::Crc32c(c) => (!c).to_be_bytes().to_vec(),
            State::Crc64(c) => (!c).to_be_bytes().to_vec(),
            State::Digest(d) => d.finish().as_ref().to_vec(),
        }
    }

    /// The checksum, base64 as S3 sends it.
    pub fn finish_base64(self) -> String {
        base64_encode(&self.finish())
    }
}

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding; `None` unless it is exactly that.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, quad) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = n << 6 | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Bits beyond the data must be zero, as a canonical encoder leaves them.
        if bytes[3 - pad..].iter().any(|&x| x != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

const fn crc32_tables(poly: u32) -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

const fn crc64_tables(poly: u64) -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

static CRC32_TABLES: [[u32; 256]; 8] = crc32_tables(0xEDB8_8320);
static CRC32C_TABLES: [[u32; 256]; 8] = crc32_tables(0x82F6_3B78);
static CRC64NVME_TABLES: [[u64; 256]; 8] = crc64_tables(0x9A6C_9329_AC4B_C9B5);

fn crc32_update(t: &[[u32; 256]; 8], mut crc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][(lo >> 8 & 0xff) as usize]
            ^ t[5][(lo >> 16 & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][usize::from(c[4])]
            ^ t[2][usize::from(c[5])]
            ^ t[1][usize::from(c[6])]
            ^ t[0][usize::from(c[7])];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    crc
}

fn crc64_update(t: &[[u64; 256]; 8], mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let x = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(x & 0xff) as usize]
            ^ t[6][(x >> 8 & 0xff) as usize]
            ^ t[5][(x >> 16 & 0xff) as usize]
            ^ t[4][(x >> 24 & 0xff) as usize]
            ^ t[3][(x >> 32 & 0xff) as usize]
            ^ t[2][(x >> 40 & 0xff) as usize]
            ^ t[1][(x >> 48 & 0xff) as usize]
            ^ t[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ u64::from(b)) & 0xff) as usize];
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(algorithm: ChecksumAlgorithm, pieces: &[&[u8]]) -> String {
        let mut c = Checksum::new(algorithm);
        for p in pieces {
            c.update(p);
        }
        hex::encode(c.finish())
    }

    #[test]
    fn check_values() {
        // The check value of each algorithm: the checksum of "123456789".
        let cases = [
            (ChecksumAlgorithm::Crc32, "cbf43926"),
            (ChecksumAlgorithm::Crc32c, "e3069283"),
            (ChecksumAlgorithm::Crc64Nvme, "ae8b14860a799888"),
            (
                ChecksumAlgorithm::Sha1,
                "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
            ),
            (
                ChecksumAlgorithm::Sha256,
                "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
            ),
        ];
        for (algorithm, expected) in cases {
            assert_eq!(
                hex_of(algorithm, &[b"123456789"]),
                expected,
                "{algorithm:?}"
            );
            assert_eq!(
                hex_of(algorithm, &[b"1234", b"", b"56789"]),
                expected,
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn slicing_agrees_with_bytewise() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for algorithm in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let whole = hex_of(algorithm, &[&data]);
            let bytewise: Vec<&[u8]> = data.chunks(1).collect();
            assert_eq!(hex_of(algorithm, &bytewise), whole);
            let odd: Vec<&[u8]> = data.chunks(13).collect();
            assert_eq!(hex_of(algorithm, &odd), whole);
        }
    }

    #[test]
    fn base64_round_trips() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let text = base64_encode(&data);
            assert_eq!(base64_decode(&text).as_deref(), Some(&data[..]));
        }
        assert_eq!(base64_encode(b"abc"), "YWJj");
        assert_eq!(base64_encode(&hex::decode("cbf43926").unwrap()), "y/Q5Jg==");
        for bad in [
            "y/Q5Jg", "y/Q5Jg=", "y/Q5J===", "y/Q5Jh==", "====", "a=bc", "ab!d",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
        assert_eq!(
            ChecksumAlgorithm::from_header_name("X-Amz-Checksum-CRC32C"),
            Some(ChecksumAlgorithm::Crc32c)
        );
        assert_eq!(
            ChecksumAlgorithm::from_name("crc64nvme"),
            Some(ChecksumAlgorithm::Crc64Nvme)
        );
    }
}
