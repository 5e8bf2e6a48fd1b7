//! Streaming request bodies: `aws-chunked` decoding with chunk signatures, and
//! declared payload hashes checked at the end, so a handler that consumes the
//! whole body never sees unverified data succeed.

use bytes::Bytes;
use http::request::Parts;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::auth::{header_pairs, sig_request, to_aws};
use crate::error::AwsError;

enum Mode {
    Plain {
        hasher: Option<Box<(sigv4::PayloadHasher, [u8; 32])>>,
    },
    Chunked {
        decoder: Option<Box<sigv4::ChunkedDecoder>>,
        pending: Bytes,
    },
}

/// A request body checked as it streams.
pub(crate) struct VerifiedBody {
    body: Incoming,
    mode: Mode,
    dialect: sigv4::Dialect,
    /// The decoded length the client declared.
    pub declared_length: Option<u64>,
    done: bool,
}

fn decoder_for(
    parts: &Parts,
    verified: Option<&sigv4::Verified>,
) -> Result<Option<sigv4::ChunkedDecoder>, AwsError> {
    let headers = header_pairs(parts);
    let req = sig_request(parts, &headers, None);
    match verified {
        Some(v) => v.chunked_decoder(&req).map_err(to_aws),
        None if crate::auth::is_chunked(parts) => sigv4::ChunkedDecoder::unsigned_for(&req)
            .map(Some)
            .map_err(to_aws),
        None => Ok(None),
    }
}

fn declared_length(parts: &Parts) -> Option<u64> {
    let h = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    };
    h("x-amz-decoded-content-length").or_else(|| h("content-length"))
}

impl VerifiedBody {
    pub(crate) fn new(
        body: Incoming,
        parts: &Parts,
        verified: Option<sigv4::Verified>,
    ) -> Result<VerifiedBody, AwsError> {
        let dialect = verified
            .as_ref()
            .map(|v| v.dialect)
            .unwrap_or(sigv4::Dialect::S3);
        let mode = match decoder_for(parts, verified.as_ref())? {
            Some(decoder) => Mode::Chunked {
                decoder: Some(Box::new(decoder)),
                pending: Bytes::new(),
            },
            None => {
                let hasher = match verified.as_ref().map(|v| &v.payload) {
                    Some(sigv4::Payload::Sha256(declared)) => {
                        Some(Box::new((sigv4::PayloadHasher::new(), *declared)))
                    }
                    _ => None,
                };
                Mode::Plain { hasher }
            }
        };
        Ok(VerifiedBody {
            body,
            mode,
            dialect,
            declared_length: declared_length(parts),
            done: false,
        })
    }

    /// Decodes a buffered `aws-chunked` body.
    pub(crate) fn decode_buffered(
        bytes: Bytes,
        parts: &Parts,
        verified: Option<sigv4::Verified>,
    ) -> Result<Bytes, AwsError> {
        let Some(mut decoder) = decoder_for(parts, verified.as_ref())? else {
            return Ok(bytes);
        };
        let mut out = Vec::with_capacity(bytes.len());
        let mut input: &[u8] = &bytes;
        while let Some(data) = decoder.decode(&mut input).map_err(to_aws)? {
            out.extend_from_slice(data);
        }
        decoder.finish().map_err(to_aws)?;
        Ok(Bytes::from(out))
    }

    /// The next verified piece of payload.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, AwsError>> {
        loop {
            if self.done {
                return None;
            }
            if let Mode::Chunked {
                decoder: Some(decoder),
                pending,
            } = &mut self.mode
                && !pending.is_empty()
            {
                let mut input: &[u8] = pending;
                let before = input.len();
                match decoder.decode(&mut input) {
                    Ok(Some(data)) => {
                        let start = before - input.len() - data.len();
                        let piece = pending.slice(start..start + data.len());
                        let consumed = before - input.len();
                        *pending = pending.slice(consumed..);
                        return Some(Ok(piece));
                    }
                    Ok(None) => {
                        *pending = Bytes::new();
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(to_aws(e)));
                    }
                }
            }
            let frame = match self.body.frame().await {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(AwsError::bad_request(
                        "IncompleteBody",
                        format!("the request body ended early: {e}"),
                    )));
                }
                None => {
                    self.done = true;
                    return self.finish();
                }
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            match &mut self.mode {
                Mode::Plain { hasher } => {
                    if let Some(state) = hasher {
                        let (h, _) = state.as_mut();
                        h.update(&data);
                    }
                    if data.is_empty() {
                        continue;
                    }
                    return Some(Ok(data));
                }
                Mode::Chunked { pending, .. } => {
                    *pending = data;
                }
            }
        }
    }

    fn finish(&mut self) -> Option<Result<Bytes, AwsError>> {
        match &mut self.mode {
            Mode::Plain { hasher } => {
                if let Some(state) = hasher.take() {
                    let (h, declared) = *state;
                    let actual = h.finish();
                    if let Err(e) = sigv4::check_content_sha256(&declared, &actual) {
                        let _ = self.dialect;
                        return Some(Err(to_aws(e)));
                    }
                }
                None
            }
            Mode::Chunked { decoder, .. } => match decoder.take().map(|d| d.finish()) {
                Some(Err(e)) => Some(Err(to_aws(e))),
                _ => None,
            },
        }
    }
}
