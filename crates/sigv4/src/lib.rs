//! AWS Signature Version 4 as AWS verifies it: parsing, verification, presigned URLs,
//! `aws-chunked` payloads, and the signer. Pure: no I/O, no async; "now" is always an argument.
//!
//! Verifying a request, in the order AWS checks:
//!
//! ```ignore
//! let req = sigv4::Request { method, path, query, headers: &headers, body: None };
//! let Some(auth) = sigv4::parse(&req, None)? else { return anonymous() };
//! auth.precheck(now, Some(region), None)?;            // time (not S3) and credential scope
//! let secret = lookup(auth.access_key_id()).ok_or_else(|| auth.unknown_access_key())?;
//! let verified = auth.verify(&req, secret, now, &cache)?;
//! match verified.payload {
//!     sigv4::Payload::Sha256(_) => verified.check_payload(&body_sha256)?,   // once the body is read
//!     sigv4::Payload::Streaming(_) => { /* decode with verified.chunked_decoder(&req)? */ }
//!     _ => {}
//! }
//! ```
//!
//! Errors carry the AWS error code, HTTP status and message of each case, by protocol
//! ([`Dialect`]); the caller renders them.
//!
//! Pass [`Authorization::precheck`] the region the service signs with: IAM and the global STS
//! endpoint sign with `us-east-1` whatever the server's region.
//!
//! Where this differs from AWS, or AWS is not documented:
//! - A JSON request's `X-Amz-Target` must be signed (it names the operation); the SDKs always sign it.
//! - Services other than S3 ignore a presigned URL's `X-Amz-Expires` and allow the usual 15
//!   minutes, as STS does; S3 enforces it (at most 604800; 0 has always expired).
//! - Signature Version 2, SigV4a (`AWS4-ECDSA-P256-SHA256`) and S3 POST policies are not supported.
//! - S3 canonicalizes the path by decoding and encoding it again, except that `%2F` stays escaped.

mod canonical;
mod checksum;
mod chunked;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod request;
mod sign;
mod time;
mod verify;

pub use canonical::decode_query_component;
pub use checksum::{Checksum, ChecksumAlgorithm, base64_decode, base64_encode};
pub use chunked::{
    ChunkSigner, ChunkedDecoder, ChunkedMode, MIN_CHUNK_SIZE, Trailers, encode_unsigned,
};
pub use error::{Dialect, Error, Mismatch};
pub use key::{SigningKey, SigningKeyCache};
pub use request::Request;
pub use sign::{PayloadSigning, Presigned, Signature, SigningParams, presign, sign};
pub use time::Timestamp;
pub use verify::{
    ALGORITHM, AuthMethod, Authorization, ContentSha256, CredentialScope, DateSource, EMPTY_SHA256,
    MAX_EXPIRES, MAX_SKEW, Payload, STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER, UNSIGNED_PAYLOAD, Verified, check_content_sha256, parse,
};

/// The SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    key::sha256(data)
}

/// An incremental SHA-256, for hashing a body as it is read.
#[derive(Clone)]
pub struct PayloadHasher(aws_lc_rs::digest::Context);

impl Default for PayloadHasher {
    fn default() -> Self {
        PayloadHasher(aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256))
    }
}

impl std::fmt::Debug for PayloadHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadHasher(..)")
    }
}

impl PayloadHasher {
    /// A new hasher.
    pub fn new() -> PayloadHasher {
        PayloadHasher::default()
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The SHA-256 of everything added.
    pub fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}
