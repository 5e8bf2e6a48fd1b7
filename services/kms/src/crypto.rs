//! Key material and the ciphertext blob.
//!
//! Each KMS key has one or more versions of 256-bit key material (rotation adds one). A symmetric
//! ciphertext blob is self-describing, so `Decrypt` needs no key id:
//!
//! | bytes | contents |
//! |---|---|
//! | 1 | format version (`1`) |
//! | 16 | the KMS key id (a UUID, raw) |
//! | 4 | the material version, big-endian |
//! | 12 | the AES-GCM nonce (random) |
//! | n + 16 | the ciphertext and tag |
//!
//! The additional authenticated data is the 21-byte header followed by the canonical encoding of the
//! encryption context (pairs sorted by key; each key and value length-prefixed), so a blob cannot be
//! moved to another key or version, and decrypts only with the exact context it was made with.

use std::collections::BTreeMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// The blob format version.
pub const BLOB_VERSION: u8 = 1;
/// Header: version, key id, material version.
pub const HEADER_LEN: usize = 1 + 16 + 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The smallest well-formed blob (empty plaintext).
pub const MIN_BLOB_LEN: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Length of key material.
pub const MATERIAL_LEN: usize = 32;

/// An encryption context: sorted by key, which makes the canonical form unique.
pub type EncryptionContext = BTreeMap<String, String>;

/// A cryptographic failure. Never carries secrets.
#[derive(Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The blob is not one of ours, or it was altered, or the context differs.
    InvalidCiphertext,
    /// The random source or the cipher failed.
    Internal,
}

/// The fixed part of a ciphertext blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The KMS key id, as raw UUID bytes.
    pub key: [u8; 16],
    /// The material version that sealed the blob.
    pub version: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = BLOB_VERSION;
        out[1..17].copy_from_slice(&self.key);
        out[17..21].copy_from_slice(&self.version.to_be_bytes());
        out
    }

    /// The key id in its text form.
    pub fn key_id(&self) -> String {
        uuid_text(&self.key)
    }
}

/// Reads the header of `blob`; `None` when it cannot be one of ours.
pub fn parse_header(blob: &[u8]) -> Option<Header> {
    if blob.len() < MIN_BLOB_LEN || blob[0] != BLOB_VERSION {
        return None;
    }
    let mut key = [0u8; 16];
    key.copy_from_slice(&blob[1..17]);
    let mut v = [0u8; 4];
    v.copy_from_slice(&blob[17..21]);
    Some(Header {
        key,
        version: u32::from_be_bytes(v),
    })
}

/// The canonical encoding of an encryption context.
pub fn canonical_context(context: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// One version of a key's material, ready to use. The plaintext material exists only here, in memory.
pub struct Material {
    key: LessSafeKey,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material(..)")
    }
}

impl Material {
    /// Material from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Material, CryptoError> {
        if bytes.len() != MATERIAL_LEN {
            return Err(CryptoError::Internal);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::Internal)?;
        Ok(Material {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plaintext` under this material (version `version` of key `key`), binding `context`.
    pub fn seal(
        &self,
        key: [u8; 16],
        version: u32,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let header = Header { key, version }.encode();
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CryptoError::Internal)?;
        let mut aad = Vec::with_capacity(HEADER_LEN + 64);
        aad.extend_from_slice(&header);
        aad.extend_from_slice(&canonical_context(context));
        let mut out = Vec::with_capacity(MIN_BLOB_LEN + plaintext.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut out[HEADER_LEN + NONCE_LEN..],
            )
            .map_err(|_| CryptoError::Internal)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens `blob` (made by [`Material::seal`] with this material) with `context`.
    pub fn open(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if parse_header(blob).is_none() {
            return Err(CryptoError::InvalidCiphertext);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[HEADER_LEN..HEADER_LEN + NONCE_LEN]);
        let mut aad = Vec::with_capacity(HEADER_LEN + 64);
        aad.extend_from_slice(&blob[..HEADER_LEN]);
        aad.extend_from_slice(&canonical_context(context));
        let mut buf = Zeroizing::new(blob[HEADER_LEN + NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut buf[..],
            )
            .map_err(|_| CryptoError::InvalidCiphertext)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut out = Zeroizing::new(vec![0u8; n]);
    aws_lc_rs::rand::fill(&mut out[..]).map_err(|_| CryptoError::Internal)?;
    Ok(out)
}

/// A fresh random key id (a version-4 UUID, lower case).
pub fn new_key_id() -> Result<String, CryptoError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| CryptoError::Internal)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(uuid_text(&b))
}

/// A key id derived from `seed` (for AWS managed keys, whose id must be known before they exist).
pub fn derived_key_id(seed: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_text(&b)
}

/// 64 random hex characters (grant ids, key material ids).
pub fn random_hex64() -> Result<String, CryptoError> {
    Ok(hex::encode(&random_bytes(32)?[..]))
}

/// The text form of a UUID.
pub fn uuid_text(b: &[u8; 16]) -> String {
    gateway::uuid_text(b)
}

/// The raw bytes of a UUID in text form; `None` unless it is `8-4-4-4-12` hex digits.
pub fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if parts.len() != 5 || parts.iter().zip(lens).any(|(p, l)| p.len() != l) {
        return None;
    }
    let joined: String = parts.concat();
    let v = hex::decode(joined).ok()?;
    let mut out = [0u8; 16];
    out.copy_from_slice(&v);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material() -> Material {
        Material::from_bytes(&random_bytes(32).expect("random")[..]).expect("material")
    }

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn round_trip_with_context() {
        let m = material();
        let key = uuid_bytes("1234abcd-12ab-34cd-56ef-1234567890ab").expect("uuid");
        let c = ctx(&[("aws:s3:arn", "arn:aws:s3:::b/k"), ("dept", "ds")]);
        let blob = m.seal(key, 3, &c, b"secret data").expect("seal");
        let h = parse_header(&blob).expect("header");
        assert_eq!(h.key, key);
        assert_eq!(h.version, 3);
        assert_eq!(h.key_id(), "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert_eq!(&m.open(&blob, &c).expect("open")[..], b"secret data");
        // The order pairs were given in does not matter: the map is sorted.
        let reordered = ctx(&[("dept", "ds"), ("aws:s3:arn", "arn:aws:s3:::b/k")]);
        assert_eq!(
            &m.open(&blob, &reordered).expect("open")[..],
            b"secret data"
        );
    }

    #[test]
    fn empty_plaintext_and_context() {
        let m = material();
        let blob = m
            .seal([7; 16], 1, &EncryptionContext::new(), b"")
            .expect("seal");
        assert_eq!(blob.len(), MIN_BLOB_LEN);
        assert!(
            m.open(&blob, &EncryptionContext::new())
                .expect("open")
                .is_empty()
        );
    }

    #[test]
    fn wrong_context_fails() {
        let m = material();
        let c = ctx(&[("purpose", "test")]);
        let blob = m.seal([1; 16], 1, &c, b"x").expect("seal");
        for wrong in [
            EncryptionContext::new(),
            ctx(&[("purpose", "Test")]),
            ctx(&[("Purpose", "test")]),
            ctx(&[("purpose", "test"), ("extra", "1")]),
        ] {
            assert_eq!(m.open(&blob, &wrong), Err(CryptoError::InvalidCiphertext));
        }
    }

    #[test]
    fn context_encoding_is_unambiguous() {
        // "a"="bc" and "ab"="c" must not collide.
        assert_ne!(
            canonical_context(&ctx(&[("a", "bc")])),
            canonical_context(&ctx(&[("ab", "c")]))
        );
        let m = material();
        let blob = m
            .seal([1; 16], 1, &ctx(&[("a", "bc")]), b"x")
            .expect("seal");
        assert!(m.open(&blob, &ctx(&[("ab", "c")])).is_err());
    }

    #[test]
    fn tampering_fails() {
        let m = material();
        let c = EncryptionContext::new();
        let blob = m.seal([9; 16], 2, &c, b"attack at dawn").expect("seal");
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            assert!(m.open(&t, &c).is_err(), "flipping byte {i} must fail");
        }
        assert!(m.open(&blob[..blob.len() - 1], &c).is_err());
        assert!(m.open(&blob[..10], &c).is_err());
        assert!(parse_header(&[]).is_none());
    }

    #[test]
    fn other_material_fails() {
        let a = material();
        let b = material();
        let blob = a
            .seal([1; 16], 1, &EncryptionContext::new(), b"x")
            .expect("seal");
        assert!(b.open(&blob, &EncryptionContext::new()).is_err());
    }

    #[test]
    fn nonces_differ() {
        let m = material();
        let c = EncryptionContext::new();
        let a = m.seal([1; 16], 1, &c, b"same").expect("seal");
        let b = m.seal([1; 16], 1, &c, b"same").expect("seal");
        assert_ne!(a, b);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let m = material();
        let c = EncryptionContext::new();
        let blob = m.seal([5; 16], 1, &c, b"payload").expect("seal");
        let junk = random_bytes(256).expect("random");
        for len in 0..=blob.len() + 8 {
            let mut input = blob.clone();
            input.resize(len, 0xA5);
            let _ = parse_header(&input);
            let _ = m.open(&input, &c);
            let _ = parse_header(&junk[..len.min(junk.len())]);
            let _ = m.open(&junk[..len.min(junk.len())], &c);
        }
        for s in [
            "",
            "-",
            "----",
            "12345678-1234-1234-1234-1234567890123",
            "é",
            "\u{0}",
        ] {
            let _ = uuid_bytes(s);
        }
    }

    #[test]
    fn uuids() {
        let id = new_key_id().expect("id");
        assert_eq!(uuid_text(&uuid_bytes(&id).expect("parses")), id);
        let bytes = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef,
        ];
        assert_eq!(uuid_text(&bytes), "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(uuid_bytes("not-a-uuid").is_none());
        assert!(uuid_bytes("1234abcd-12ab-34cd-56ef-1234567890a").is_none());
        assert!(uuid_bytes("1234abcg-12ab-34cd-56ef-1234567890ab").is_none());
        assert_eq!(derived_key_id("x"), derived_key_id("x"));
        assert_ne!(derived_key_id("x"), derived_key_id("y"));
        assert_eq!(random_hex64().expect("hex").len(), 64);
    }
}
