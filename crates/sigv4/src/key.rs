//! Signing keys: derivation and a bounded cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_lc_rs::{digest, hmac};

/// The key that signs requests for one access key, day, region and service:
/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
#[derive(Clone)]
pub struct SigningKey {
    key: hmac::Key,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Derives the key from the secret access key and the scope (`date` is `YYYYMMDD`).
    pub fn derive(secret_access_key: &str, date: &str, region: &str, service: &str) -> SigningKey {
        let mut secret = Vec::with_capacity(4 + secret_access_key.len());
        secret.extend_from_slice(b"AWS4");
        secret.extend_from_slice(secret_access_key.as_bytes());
        let k_date = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), date.as_bytes());
        let k_region = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, k_date.as_ref()),
            region.as_bytes(),
        );
        let k_service = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, k_region.as_ref()),
            service.as_bytes(),
        );
        let k_signing = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, k_service.as_ref()),
            b"aws4_request",
        );
        SigningKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref()),
        }
    }

    /// The HMAC-SHA256 of `data` under this key.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.key, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

struct Entry {
    /// SHA-256 of the secret the key was derived from: a changed secret misses the cache.
    secret: [u8; 32],
    key: SigningKey,
}

#[derive(Default)]
struct Generations {
    current: HashMap<Box<str>, Entry>,
    previous: HashMap<Box<str>, Entry>,
}

/// Signing keys by access key id, date, region and service, so that a verification does one HMAC
/// over the string to sign instead of five.
///
/// Bounded: it holds at most `capacity` keys, in two generations; when the newer fills up the older
/// is dropped, and a hit in the older moves the key to the newer. Entries are bound to the secret they
/// were derived from, so a rotated or wrong secret never uses a stale key.
pub struct SigningKeyCache {
    half: usize,
    generations: Mutex<Generations>,
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("capacity", &(self.half * 2))
            .finish()
    }
}

impl SigningKeyCache {
    /// A cache of at most `capacity` keys (at least 2).
    pub fn new(capacity: usize) -> SigningKeyCache {
        SigningKeyCache {
            half: (capacity / 2).max(1),
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.generations
            .lock()
            .map(|g| g.current.len() + g.previous.len())
            .unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The signing key for `credential` (`AKID/date/region/service/aws4_request`), derived from
    /// `secret_access_key` unless cached.
    pub fn get(
        &self,
        credential: &str,
        secret_access_key: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> SigningKey {
        let fingerprint: [u8; 32] = sha256(secret_access_key.as_bytes());
        if let Ok(mut g) = self.generations.lock() {
            if let Some(e) = g.current.get(credential)
                && e.secret == fingerprint
            {
                return e.key.clone();
            }
            if let Some((name, e)) = g.previous.remove_entry(credential)
                && e.secret == fingerprint
            {
                let key = e.key.clone();
                self.insert(&mut g, name, e);
                return key;
            }
        }
        let key = SigningKey::derive(secret_access_key, date, region, service);
        if let Ok(mut g) = self.generations.lock() {
            self.insert(
                &mut g,
                credential.into(),
                Entry {
                    secret: fingerprint,
                    key: key.clone(),
                },
            );
        }
        key
    }

    fn insert(&self, g: &mut Generations, name: Box<str>, entry: Entry) {
        if g.current.len() >= self.half && !g.current.contains_key(&name) {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(name, entry);
    }
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_matches_the_documented_example() {
        // The signing key of the SigV4 documentation's example.
        let key = SigningKey::derive(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        let expected = hmac::Key::new(
            hmac::HMAC_SHA256,
            &hex::decode("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
                .unwrap(),
        );
        assert_eq!(key.sign(b"x"), hmac::sign(&expected, b"x").as_ref());
    }

    #[test]
    fn the_cache_is_bounded_and_bound_to_the_secret() {
        let cache = SigningKeyCache::new(4);
        let a = cache.get(
            "A/20240101/us-east-1/s3/aws4_request",
            "s1",
            "20240101",
            "us-east-1",
            "s3",
        );
        assert_eq!(cache.len(), 1);
        let again = cache.get(
            "A/20240101/us-east-1/s3/aws4_request",
            "s1",
            "20240101",
            "us-east-1",
            "s3",
        );
        assert_eq!(a.sign(b"m"), again.sign(b"m"));
        let other = cache.get(
            "A/20240101/us-east-1/s3/aws4_request",
            "s2",
            "20240101",
            "us-east-1",
            "s3",
        );
        assert_ne!(a.sign(b"m"), other.sign(b"m"));
        for i in 0..20 {
            cache.get(
                &format!("K{i}/20240101/us-east-1/s3/aws4_request"),
                "s",
                "20240101",
                "us-east-1",
                "s3",
            );
            assert!(cache.len() <= 4);
        }
    }
}
