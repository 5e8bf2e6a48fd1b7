//! The instance keyring: one 256-bit root key per instance, from which the wrapping key and the audit
//! digest signing key are derived.
//!
//! The root key comes from `PERIMETER_ROOT_KEY` (base64) when set, otherwise from `<data-dir>/root.key`
//! (base64, mode 0600), created once on first start. An ephemeral store generates a key in memory.
//!
//! [`Keyring::wrap`] seals a secret (KMS key material, IAM secret access keys, S3 data keys) with
//! AES-256-GCM under a key derived from the root key. A wrapped value is
//! `version (1 byte) || nonce (12 bytes, random) || ciphertext || tag (16 bytes)`; the caller's context
//! (`aad`) is authenticated, so a value unwraps only with the context it was wrapped with.
//!
//! Audit digests are signed with Ed25519 (aws-lc-rs) under a key pair derived from the root key, so a
//! verifier holding only [`Keyring::audit_public_key`] can check them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Environment variable holding the root key (base64 of 32 bytes).
pub const ROOT_KEY_ENV: &str = "PERIMETER_ROOT_KEY";
/// File name of the root key inside a data directory.
pub const ROOT_KEY_FILE: &str = "root.key";

const WRAP_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Bytes a wrapped value adds to its plaintext.
pub const WRAP_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

const LABEL_WRAP: &[u8] = b"perimeter/keyring/wrap/v1";
const LABEL_AUDIT: &[u8] = b"perimeter/audit/digest-ed25519/v1";
const LABEL_FINGERPRINT: &[u8] = b"perimeter/keyring/fingerprint/v1";

/// The instance keyring. Cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    inner: Arc<Inner>,
}

struct Inner {
    wrap_key: LessSafeKey,
    audit_signer: Ed25519KeyPair,
    fingerprint: String,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("fingerprint", &self.inner.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Where the root key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKeySource {
    /// `PERIMETER_ROOT_KEY`.
    Environment,
    /// An existing `<data-dir>/root.key`.
    File,
    /// Generated now and written to `<data-dir>/root.key`.
    Created,
    /// Generated in memory (ephemeral).
    Ephemeral,
    /// Given by the caller.
    Explicit,
}

impl Keyring {
    /// Builds a keyring from a root key.
    pub fn from_root_key(root: &[u8; 32]) -> Result<Keyring> {
        let derive = |label: &[u8]| -> Zeroizing<[u8; 32]> {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, root), label);
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(tag.as_ref());
            out
        };
        let wrap = derive(LABEL_WRAP);
        let wrap_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, wrap.as_ref())?);
        let seed = derive(LABEL_AUDIT);
        let audit_signer =
            Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).map_err(|_| Error::Crypto)?;
        let fingerprint = hex::encode(&derive(LABEL_FINGERPRINT)[..8]);
        Ok(Keyring {
            inner: Arc::new(Inner {
                wrap_key,
                audit_signer,
                fingerprint,
            }),
        })
    }

    /// A keyring with a fresh random root key that exists only in memory.
    pub fn ephemeral() -> Result<Keyring> {
        let root = random_key()?;
        Keyring::from_root_key(&root)
    }

    /// The keyring of a data directory: `PERIMETER_ROOT_KEY` when set, otherwise `<dir>/root.key`,
    /// created (mode 0600) when absent.
    pub fn load_or_create(dir: &Path) -> Result<(Keyring, RootKeySource)> {
        if let Ok(value) = std::env::var(ROOT_KEY_ENV) {
            let root = parse_root_key(&value)
                .map_err(|m| Error::InvalidRootKey(format!("`{ROOT_KEY_ENV}`: {m}")))?;
            return Ok((Keyring::from_root_key(&root)?, RootKeySource::Environment));
        }
        let path = dir.join(ROOT_KEY_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                if let Ok(meta) = fs::metadata(&path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(path = %path.display(), "root key file is readable by other users; expected mode 0600");
                }
                let root = parse_root_key(&text)
                    .map_err(|m| Error::InvalidRootKey(format!("`{}`: {m}", path.display())))?;
                Ok((Keyring::from_root_key(&root)?, RootKeySource::File))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let root = random_key()?;
                write_root_key(dir, &root)?;
                Ok((Keyring::from_root_key(&root)?, RootKeySource::Created))
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Seals `plaintext` under the root-derived wrapping key, binding `aad` (the caller's context, e.g.
    /// `b"kms:key-material:<key-id>"`).
    pub fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)?;
        let mut out = Vec::with_capacity(plaintext.len() + WRAP_OVERHEAD);
        out.push(WRAP_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self.inner.wrap_key.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[1 + NONCE_LEN..],
        )?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a value made by [`Keyring::wrap`] with the same `aad`.
    pub fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if wrapped.len() < WRAP_OVERHEAD || wrapped[0] != WRAP_VERSION {
            return Err(Error::Unwrap);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&wrapped[1..1 + NONCE_LEN]);
        let mut buf = Zeroizing::new(wrapped[1 + NONCE_LEN..].to_vec());
        let len = self
            .inner
            .wrap_key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| Error::Unwrap)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// A short public identifier of the root key (not secret; safe to log).
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    /// The Ed25519 public key that verifies audit digests (32 bytes).
    pub fn audit_public_key(&self) -> Vec<u8> {
        self.inner.audit_signer.public_key().as_ref().to_vec()
    }

    pub(crate) fn sign_digest(&self, message: &[u8]) -> Vec<u8> {
        self.inner.audit_signer.sign(message).as_ref().to_vec()
    }

    pub(crate) fn verify_digest(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(
            &signature::ED25519,
            self.inner.audit_signer.public_key().as_ref(),
        )
        .verify(message, sig)
        .is_ok()
    }
}

/// 32 random bytes from the system CSPRNG (e.g. a data key for SSE-S3).
pub fn random_key() -> Result<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(key.as_mut())?;
    Ok(key)
}

/// Encodes a root key the way `root.key` and `PERIMETER_ROOT_KEY` hold it.
pub fn encode_root_key(root: &[u8; 32]) -> Zeroizing<String> {
    Zeroizing::new(STANDARD.encode(root))
}

fn parse_root_key(text: &str) -> std::result::Result<Zeroizing<[u8; 32]>, String> {
    let text = text.trim();
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .map_err(|_| "not valid base64".to_string())?,
    );
    if bytes.len() != 32 {
        return Err(format!(
            "expected 32 bytes of base64, found {} bytes",
            bytes.len()
        ));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn write_root_key(dir: &Path, root: &[u8; 32]) -> Result<()> {
    let path = dir.join(ROOT_KEY_FILE);
    let tmp = dir.join(format!("{ROOT_KEY_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    let mut text = encode_root_key(root);
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trips_and_binds_context() {
        let k = Keyring::ephemeral().unwrap();
        let w = k.wrap(b"secret", b"ctx-a").unwrap();
        assert_eq!(w.len(), 6 + WRAP_OVERHEAD);
        assert_eq!(&k.unwrap(&w, b"ctx-a").unwrap()[..], b"secret");
        assert!(matches!(k.unwrap(&w, b"ctx-b"), Err(Error::Unwrap)));
        let other = Keyring::ephemeral().unwrap();
        assert!(matches!(other.unwrap(&w, b"ctx-a"), Err(Error::Unwrap)));
        let mut bad = w.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(k.unwrap(&bad, b"ctx-a"), Err(Error::Unwrap)));
        assert!(matches!(k.unwrap(&w[..10], b"ctx-a"), Err(Error::Unwrap)));
        assert!(matches!(k.unwrap(&[], b"ctx-a"), Err(Error::Unwrap)));
        // Fresh nonce each time.
        assert_ne!(k.wrap(b"secret", b"ctx-a").unwrap(), w);
    }

    #[test]
    fn root_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (a, src) = Keyring::load_or_create(dir.path()).unwrap();
        if src == RootKeySource::Environment {
            return;
        }
        assert_eq!(src, RootKeySource::Created);
        let mode = fs::metadata(dir.path().join(ROOT_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (b, src) = Keyring::load_or_create(dir.path()).unwrap();
        assert_eq!(src, RootKeySource::File);
        assert_eq!(a.fingerprint(), b.fingerprint());
        let w = a.wrap(b"x", b"").unwrap();
        assert_eq!(&b.unwrap(&w, b"").unwrap()[..], b"x");
    }

    #[test]
    fn parses_root_keys_strictly() {
        let key = [7u8; 32];
        let text = encode_root_key(&key);
        assert_eq!(*parse_root_key(&format!(" {}\n", *text)).unwrap(), key);
        assert!(parse_root_key("not base64!").is_err());
        assert!(parse_root_key(&STANDARD.encode([1u8; 16])).is_err());
    }

    #[test]
    fn digests_signatures_verify() {
        let k = Keyring::from_root_key(&[1u8; 32]).unwrap();
        let sig = k.sign_digest(b"m");
        assert!(k.verify_digest(b"m", &sig));
        assert!(!k.verify_digest(b"n", &sig));
        let k2 = Keyring::from_root_key(&[1u8; 32]).unwrap();
        assert_eq!(k.audit_public_key(), k2.audit_public_key());
    }
}
