//! Identifiers, secrets and one-time passwords: AWS-shaped ids, access keys,
//! session tokens, Base32 and RFC 6238 TOTP (HMAC-SHA1, 30-second steps, six digits).

use aws_lc_rs::{constant_time, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The unique-id alphabet AWS uses (upper-case letters and digits).
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// RFC 4648 Base32.
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The secret alphabet (base64 without padding).
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system CSPRNG does not fail in practice; a zeroed buffer would still
    // yield a well-formed (if predictable) id, never a panic.
    if rand::fill(&mut b).is_err() {
        tracing::error!("system random number generator failed");
    }
    b
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut filled = 0;
    while filled < len {
        let bytes = random_bytes::<32>();
        for b in bytes {
            // Rejection sampling keeps the distribution uniform.
            let limit = 256 - (256 % alphabet.len());
            if (b as usize) < limit {
                out.push(alphabet[b as usize % alphabet.len()] as char);
                filled += 1;
                if filled == len {
                    break;
                }
            }
        }
    }
    out
}

/// A unique id such as `AIDA...` (users), `AROA...` (roles), `AGPA...` (groups),
/// `ANPA...` (managed policies), `AIPA...` (instance profiles): the prefix and 17 characters.
pub fn unique_id(prefix: &str) -> String {
    let mut id = String::with_capacity(21);
    id.push_str(prefix);
    id.push_str(&random_from(ID_ALPHABET, 17));
    id
}

/// An access key id: `AKIA` (long-term) or `ASIA` (temporary) and 16 characters.
pub fn access_key_id(prefix: &str) -> String {
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    id.push_str(&random_from(ID_ALPHABET, 16));
    id
}

/// A 40-character secret access key.
pub fn secret_access_key() -> String {
    random_from(SECRET_ALPHABET, 40)
}

/// An opaque session token (base64 of random bytes, as long as AWS's are short).
pub fn session_token() -> String {
    let body = random_bytes::<96>();
    let mut t = String::from("IQoJb3JpZ2luX2VjE");
    t.push_str(&STANDARD.encode(body));
    t
}

/// A random TOTP seed (20 bytes, as RFC 4226 recommends for HMAC-SHA1).
pub fn totp_seed() -> [u8; 20] {
    random_bytes::<20>()
}

/// Compares two secrets in constant time.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// RFC 4648 Base32 without padding (what authenticator apps read).
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &b in data {
        buffer = (buffer << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes RFC 4648 Base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for c in text.chars() {
        if c == '=' || c == ' ' {
            continue;
        }
        let upper = c.to_ascii_uppercase() as u32;
        let v = BASE32.iter().position(|&a| u32::from(a) == upper)? as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The time step (RFC 6238, T0 = 0, X = 30 s) of `epoch_seconds`.
pub fn totp_step(epoch_seconds: u64) -> u64 {
    epoch_seconds / 30
}

/// The six-digit HOTP value (RFC 4226) of `seed` at counter `step`.
pub fn totp_code(seed: &[u8], step: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let binary = (u32::from(mac[offset] & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    format!("{:06}", binary % 1_000_000)
}

/// Whether `code` is the TOTP value of `seed` at `step` (constant-time comparison).
pub fn totp_matches(seed: &[u8], step: u64, code: &str) -> bool {
    secrets_equal(totp_code(seed, step).as_bytes(), code.as_bytes())
}

/// Finds the step within `window` steps of `now_step` at which `code` is valid.
pub fn totp_find(seed: &[u8], now_step: u64, window: u64, code: &str) -> Option<u64> {
    let first = now_step.saturating_sub(window);
    (first..=now_step + window).find(|&s| totp_matches(seed, s, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_the_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B uses the ASCII seed "12345678901234567890" and 8 digits;
        // the last six digits are the six-digit code.
        let seed = b"12345678901234567890";
        let vectors = [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, eight) in vectors {
            assert_eq!(totp_code(seed, totp_step(t)), eight[2..], "t = {t}");
        }
    }

    #[test]
    fn rfc_4226_hotp_vectors() {
        let seed = b"12345678901234567890";
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (i, code) in expected.iter().enumerate() {
            assert_eq!(totp_code(seed, i as u64), *code);
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        let seed = totp_seed();
        assert_eq!(
            base32_decode(&base32_encode(&seed)).as_deref(),
            Some(&seed[..])
        );
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn ids_have_aws_shapes() {
        let id = unique_id("AIDA");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        let ak = access_key_id("ASIA");
        assert_eq!(ak.len(), 20);
        assert_eq!(secret_access_key().len(), 40);
        assert_ne!(secret_access_key(), secret_access_key());
    }

    #[test]
    fn totp_window_finds_neighbouring_steps() {
        let seed = totp_seed();
        let code = totp_code(&seed, 1000);
        assert_eq!(totp_find(&seed, 1001, 1, &code), Some(1000));
        assert_eq!(totp_find(&seed, 1003, 1, &code), None);
    }
}
