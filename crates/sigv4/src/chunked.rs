//! `aws-chunked` bodies: an incremental decoder that verifies chunk and trailer signatures and
//! trailing checksums, and the signer that produces them.
//!
//! The framing is
//!
//! ```text
//! <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n     one per chunk, each at least 8 KiB but the last
//! 0[;chunk-signature=<sig>]\r\n                        the final, empty chunk
//! <name>:<value>\r\n                                   trailers (x-amz-checksum-*), if any
//! x-amz-trailer-signature:<sig>\r\n                    signed trailers only
//! \r\n
//! ```
//!
//! A chunk signature signs `AWS4-HMAC-SHA256-PAYLOAD\n<time>\n<scope>\n<previous signature>\n<SHA-256
//! of "">\n<SHA-256 of the data>`, the first chaining from the request's (seed) signature; the trailer
//! signature signs `AWS4-HMAC-SHA256-TRAILER\n<time>\n<scope>\n<last chunk signature>\n<SHA-256 of
//! the trailers, each "name:value\n">`.

use aws_lc_rs::digest;

use crate::canonical::to_hex;
use crate::checksum::{Checksum, ChecksumAlgorithm, base64_decode};
use crate::error::{Dialect, Error, Mismatch};
use crate::key::{SigningKey, sha256};
use crate::request::Request;
use crate::verify::{EMPTY_SHA256, signature_matches};

/// Which kind of `aws-chunked` body (the `x-amz-content-sha256` of the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkedMode {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: signed chunks, no trailer.
    Signed,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a signed trailer.
    SignedWithTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: unsigned chunks and an unsigned trailer.
    UnsignedWithTrailer,
}

impl ChunkedMode {
    /// Whether chunks carry signatures.
    pub fn is_signed(self) -> bool {
        !matches!(self, ChunkedMode::UnsignedWithTrailer)
    }

    /// The `x-amz-content-sha256` value.
    pub fn content_sha256(self) -> &'static str {
        match self {
            ChunkedMode::Signed => crate::verify::STREAMING_PAYLOAD,
            ChunkedMode::SignedWithTrailer => crate::verify::STREAMING_PAYLOAD_TRAILER,
            ChunkedMode::UnsignedWithTrailer => crate::verify::STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        }
    }
}

/// The smallest chunk but the last.
pub const MIN_CHUNK_SIZE: u64 = 8192;
/// The longest chunk header or trailer line accepted.
const MAX_LINE: usize = 4096;
/// The most trailers accepted.
const MAX_TRAILERS: usize = 16;

/// What chains chunk signatures: the signing key, the request's time and scope, and the signature
/// the next one follows.
#[derive(Clone, Debug)]
pub(crate) struct ChunkSigning {
    pub access_key_id: String,
    pub key: SigningKey,
    pub timestamp: String,
    pub scope: String,
    pub previous: [u8; 32],
}

impl ChunkSigning {
    fn chunk_string_to_sign(&self, data_sha256: &[u8; 32]) -> String {
        format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.timestamp,
            self.scope,
            to_hex(&self.previous),
            to_hex(data_sha256)
        )
    }

    fn trailer_string_to_sign(&self, canonical_trailers: &[u8]) -> String {
        format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.timestamp,
            self.scope,
            to_hex(&self.previous),
            to_hex(&sha256(canonical_trailers))
        )
    }
}

/// The trailers of an `aws-chunked` body, once it is decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trailers {
    /// The trailing checksum, verified against the data: the algorithm and its value as sent (base64).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    /// Every trailer but the signature, names lower case, in order.
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a chunk header line.
    Header,
    /// Reading chunk data.
    Data { remaining: u64 },
    /// Expecting the `\r\n` after chunk data; `seen` of its bytes read.
    DataEnd { seen: u8 },
    /// Reading trailer lines, up to the empty line.
    Trailer,
    /// The body is complete.
    Done,
}

/// Decodes an `aws-chunked` body incrementally: feed it the bytes as they arrive and it hands out
/// the decoded data, in slices of the input, with memory that does not grow with the body.
///
/// Data is handed out as it arrives, before the signature of its chunk (checked at the chunk's end)
/// and the trailing checksum (checked at the end) are known: commit nothing until
/// [`ChunkedDecoder::finish`] succeeds.
///
/// ```ignore
/// let mut decoder = verified.chunked_decoder(&req)?.expect("a streaming payload");
/// for mut bytes in body_frames {
///     while let Some(data) = decoder.decode(&mut bytes)? {
///         sink.write(data);
///     }
/// }
/// let trailers = decoder.finish()?;
/// ```
pub struct ChunkedDecoder {
    mode: ChunkedMode,
    signing: Option<ChunkSigning>,
    state: State,
    line: Vec<u8>,
    /// The signature the current chunk header declared.
    chunk_signature: String,
    chunk_hash: Option<digest::Context>,
    expected_length: u64,
    decoded: u64,
    chunks: u64,
    /// A chunk under the minimum size: fine if it turns out to be the last.
    small_chunk: Option<(u64, u64)>,
    declared_trailer: Option<String>,
    checksum: Option<(ChecksumAlgorithm, Checksum)>,
    verified_checksum: Option<(ChecksumAlgorithm, String)>,
    trailers: Vec<(String, String)>,
    trailer_signature: Option<String>,
}

impl std::fmt::Debug for ChunkedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedDecoder")
            .field("mode", &self.mode)
            .field("state", &self.state)
            .field("expected_length", &self.expected_length)
            .field("decoded", &self.decoded)
            .finish_non_exhaustive()
    }
}

impl ChunkedDecoder {
    /// A decoder for a body with unsigned chunks (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`), for
    /// `decoded_length` bytes of data and the trailer named by `x-amz-trailer` if any.
    pub fn unsigned(decoded_length: u64, trailer: Option<&str>) -> Result<ChunkedDecoder, Error> {
        ChunkedDecoder::build(
            ChunkedMode::UnsignedWithTrailer,
            None,
            decoded_length,
            trailer,
        )
    }

    /// A decoder for the unsigned `aws-chunked` body of `req` (typically an anonymous upload),
    /// configured from its `x-amz-decoded-content-length` and `x-amz-trailer` headers.
    pub fn unsigned_for(req: &Request<'_>) -> Result<ChunkedDecoder, Error> {
        ChunkedDecoder::from_request(req, ChunkedMode::UnsignedWithTrailer, None)
    }

    pub(crate) fn from_request(
        req: &Request<'_>,
        mode: ChunkedMode,
        signing: Option<ChunkSigning>,
    ) -> Result<ChunkedDecoder, Error> {
        let Some(length) = req.header_str("x-amz-decoded-content-length") else {
            return Err(Error::MissingContentLength);
        };
        let length = length.trim();
        let Some(length) = length
            .parse::<u64>()
            .ok()
            .filter(|_| length.bytes().all(|b| b.is_ascii_digit()))
        else {
            return Err(Error::InvalidArgument {
                message: "Invalid argument.".into(),
                name: "x-amz-decoded-content-length".into(),
                value: length.to_owned(),
            });
        };
        let trailer = req
            .header_str("x-amz-trailer")
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let signing = if mode.is_signed() { signing } else { None };
        if mode.is_signed() && signing.is_none() {
            return Err(Error::signature_mismatch(Dialect::S3, None));
        }
        ChunkedDecoder::build(mode, signing, length, trailer)
    }

    fn build(
        mode: ChunkedMode,
        signing: Option<ChunkSigning>,
        expected_length: u64,
        trailer: Option<&str>,
    ) -> Result<ChunkedDecoder, Error> {
        let declared_trailer = trailer.map(str::to_ascii_lowercase);
        let checksum = match &declared_trailer {
            Some(name) => match ChecksumAlgorithm::from_header_name(name) {
                Some(a) => Some((a, Checksum::new(a))),
                None if name.starts_with("x-amz-checksum-") => {
                    return Err(Error::InvalidRequest {
                        message: "The value specified in the x-amz-trailer header is not supported"
                            .into(),
                    });
                }
                None => None,
            },
            None => None,
        };
        Ok(ChunkedDecoder {
            mode,
            signing,
            state: State::Header,
            line: Vec::new(),
            chunk_signature: String::new(),
            chunk_hash: None,
            expected_length,
            decoded: 0,
            chunks: 0,
            small_chunk: None,
            declared_trailer,
            checksum,
            verified_checksum: None,
            trailers: Vec::new(),
            trailer_signature: None,
        })
    }

    /// The kind of body.
    pub fn mode(&self) -> ChunkedMode {
        self.mode
    }

    /// The data length the request declared (`x-amz-decoded-content-length`).
    pub fn expected_length(&self) -> u64 {
        self.expected_length
    }

    /// The data handed out so far.
    pub fn decoded_length(&self) -> u64 {
        self.decoded
    }

    /// Whether the final chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes bytes from the front of `input` and returns the next piece of data, a slice of
    /// `input`; `Ok(None)` once `input` is used up (feed the next bytes then). Errors are final.
    pub fn decode<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<&'a [u8]>, Error> {
        loop {
            if input.is_empty() {
                return Ok(None);
            }
            match self.state {
                State::Header => {
                    if let Some(line) = self.take_line(input)? {
                        self.start_chunk(&line)?;
                    }
                }
                State::Data { remaining } => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    let (data, rest) = input.split_at(n);
                    *input = rest;
                    let n64 = u64::try_from(n).unwrap_or(u64::MAX);
                    self.decoded = self.decoded.saturating_add(n64);
                    if self.decoded > self.expected_length {
                        return Err(Error::IncompleteBody);
                    }
                    if let Some(h) = &mut self.chunk_hash {
                        h.update(data);
                    }
                    if let Some((_, c)) = &mut self.checksum {
                        c.update(data);
                    }
                    let remaining = remaining - n64;
                    if remaining == 0 {
                        self.end_chunk()?;
                        self.state = State::DataEnd { seen: 0 };
                    } else {
                        self.state = State::Data { remaining };
                    }
                    return Ok(Some(data));
                }
                State::DataEnd { seen } => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if input[0] != expected {
                        return Err(Error::IncompleteBody);
                    }
                    *input = &input[1..];
                    self.state = if seen == 0 {
                        State::DataEnd { seen: 1 }
                    } else {
                        State::Header
                    };
                }
                State::Trailer => {
                    if let Some(line) = self.take_line(input)? {
                        if line.is_empty() {
                            self.end_trailers()?;
                            self.state = State::Done;
                        } else {
                            self.add_trailer(&line)?;
                        }
                    }
                }
                State::Done => return Err(Error::IncompleteBody),
            }
        }
    }

    /// Ends decoding: the body must be complete and hold exactly `x-amz-decoded-content-length`
    /// bytes of data. Returns the trailers.
    pub fn finish(self) -> Result<Trailers, Error> {
        if self.state != State::Done || self.decoded != self.expected_length {
            return Err(Error::IncompleteBody);
        }
        Ok(Trailers {
            checksum: self.verified_checksum,
            headers: self.trailers,
        })
    }

    /// Reads up to the end of a line; `Ok(None)` when `input` ran out first.
    fn take_line(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let (part, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (&input[..=i], true),
            None => (&input[..], false),
        };
        if self.line.len() + part.len() > MAX_LINE {
            return Err(Error::IncompleteBody);
        }
        self.line.extend_from_slice(part);
        *input = &input[part.len()..];
        if !complete {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if line.len() < 2 || line[line.len() - 2] != b'\r' {
            return Err(Error::IncompleteBody);
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }

    fn start_chunk(&mut self, line: &[u8]) -> Result<(), Error> {
        let text = std::str::from_utf8(line).map_err(|_| Error::IncompleteBody)?;
        let mut parts = text.split(';');
        let size_text = parts.next().unwrap_or("").trim();
        if size_text.is_empty()
            || size_text.len() > 16
            || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::IncompleteBody);
        }
        let size = u64::from_str_radix(size_text, 16).map_err(|_| Error::IncompleteBody)?;
        if self.signing.is_some() {
            let signature = parts.find_map(|ext| ext.trim().strip_prefix("chunk-signature="));
            self.chunk_signature = signature.unwrap_or("").trim().to_owned();
            self.chunk_hash = Some(digest::Context::new(&digest::SHA256));
        }
        if size == 0 {
            self.end_chunk()?;
            self.state = State::Trailer;
            return Ok(());
        }
        if let Some((chunk, size)) = self.small_chunk {
            return Err(Error::InvalidChunkSizeError { chunk, size });
        }
        self.chunks += 1;
        if size < MIN_CHUNK_SIZE {
            self.small_chunk = Some((self.chunks, size));
        }
        if size > self.expected_length.saturating_sub(self.decoded) {
            return Err(Error::IncompleteBody);
        }
        self.state = State::Data { remaining: size };
        Ok(())
    }

    /// Verifies the signature of the chunk just read.
    fn end_chunk(&mut self) -> Result<(), Error> {
        let Some(signing) = &mut self.signing else {
            return Ok(());
        };
        let hash = match self.chunk_hash.take() {
            Some(h) => {
                let mut out = [0u8; 32];
                out.copy_from_slice(h.finish().as_ref());
                out
            }
            None => sha256(b""),
        };
        let string_to_sign = signing.chunk_string_to_sign(&hash);
        let computed = signing.key.sign(string_to_sign.as_bytes());
        if !signature_matches(&self.chunk_signature, &computed) {
            return Err(chunk_mismatch(
                signing,
                string_to_sign,
                &self.chunk_signature,
            ));
        }
        signing.previous = computed;
        Ok(())
    }

    fn add_trailer(&mut self, line: &[u8]) -> Result<(), Error> {
        let text = std::str::from_utf8(line).map_err(|_| Error::MalformedTrailerError)?;
        let Some((name, value)) = text.split_once(':') else {
            return Err(Error::MalformedTrailerError);
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim().to_owned();
        if name == "x-amz-trailer-signature" {
            if self.mode != ChunkedMode::SignedWithTrailer || self.trailer_signature.is_some() {
                return Err(Error::MalformedTrailerError);
            }
            self.trailer_signature = Some(value);
            return Ok(());
        }
        if self.trailers.len() >= MAX_TRAILERS || self.trailers.iter().any(|(n, _)| *n == name) {
            return Err(Error::MalformedTrailerError);
        }
        self.trailers.push((name, value));
        Ok(())
    }

    fn end_trailers(&mut self) -> Result<(), Error> {
        if self.mode == ChunkedMode::SignedWithTrailer
            && let Some(signing) = &mut self.signing
        {
            let mut canonical = Vec::new();
            for (name, value) in &self.trailers {
                canonical.extend_from_slice(name.as_bytes());
                canonical.push(b':');
                canonical.extend_from_slice(value.as_bytes());
                canonical.push(b'\n');
            }
            let string_to_sign = signing.trailer_string_to_sign(&canonical);
            let computed = signing.key.sign(string_to_sign.as_bytes());
            let provided = self.trailer_signature.clone().unwrap_or_default();
            if !signature_matches(&provided, &computed) {
                return Err(chunk_mismatch(signing, string_to_sign, &provided));
            }
            signing.previous = computed;
        }
        // Exactly the declared trailer, if any.
        let expected = match &self.declared_trailer {
            Some(declared) => self.trailers.len() == 1 && self.trailers[0].0 == *declared,
            None => self.trailers.is_empty(),
        };
        if !expected {
            return Err(Error::MalformedTrailerError);
        }
        if let Some((algorithm, checksum)) = self.checksum.take() {
            let sent = self.trailers[0].1.as_str();
            let valid = base64_decode(sent).filter(|b| b.len() == algorithm.digest_len());
            let Some(sent_bytes) = valid else {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "Value for {} trailing header is invalid.",
                        algorithm.header_name()
                    ),
                });
            };
            if checksum.finish() != sent_bytes {
                return Err(Error::BadDigest {
                    algorithm: algorithm.name(),
                });
            }
            self.verified_checksum = Some((algorithm, sent.to_owned()));
        }
        Ok(())
    }
}

fn chunk_mismatch(signing: &ChunkSigning, string_to_sign: String, provided: &str) -> Error {
    let access_key_id = signing.access_key_id.clone();
    Error::signature_mismatch(
        Dialect::S3,
        Some(Mismatch {
            access_key_id,
            string_to_sign,
            signature_provided: provided.to_owned(),
            canonical_request: None,
        }),
    )
}

/// Produces the signatures of an `aws-chunked` body, chaining from a request's seed signature.
#[derive(Clone, Debug)]
pub struct ChunkSigner {
    signing: ChunkSigning,
}

impl ChunkSigner {
    pub(crate) fn new(signing: ChunkSigning) -> ChunkSigner {
        ChunkSigner { signing }
    }

    /// The signature of the next chunk (the empty final chunk included), hex.
    pub fn sign_chunk(&mut self, data: &[u8]) -> String {
        let string_to_sign = self.signing.chunk_string_to_sign(&sha256(data));
        let signature = self.signing.key.sign(string_to_sign.as_bytes());
        self.signing.previous = signature;
        hex::encode(signature)
    }

    /// The signature of the trailers (after the final chunk), hex.
    pub fn sign_trailers(&mut self, trailers: &[(&str, &str)]) -> String {
        let mut canonical = Vec::new();
        for (name, value) in trailers {
            canonical.extend_from_slice(name.to_ascii_lowercase().as_bytes());
            canonical.push(b':');
            canonical.extend_from_slice(value.trim().as_bytes());
            canonical.push(b'\n');
        }
        let string_to_sign = self.signing.trailer_string_to_sign(&canonical);
        let signature = self.signing.key.sign(string_to_sign.as_bytes());
        self.signing.previous = signature;
        hex::encode(signature)
    }

    /// Encodes `data` as a whole `aws-chunked` body of `mode` with chunks of `chunk_size` bytes
    /// (the last shorter), and `trailers` after the final chunk. Unsigned modes ignore the key.
    pub fn encode(
        &mut self,
        mode: ChunkedMode,
        data: &[u8],
        chunk_size: usize,
        trailers: &[(&str, &str)],
    ) -> Vec<u8> {
        encode_chunks(Some(self), mode, data, chunk_size, trailers)
    }
}

/// Encodes `data` as an unsigned `aws-chunked` body (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
pub fn encode_unsigned(data: &[u8], chunk_size: usize, trailers: &[(&str, &str)]) -> Vec<u8> {
    encode_chunks(
        None,
        ChunkedMode::UnsignedWithTrailer,
        data,
        chunk_size,
        trailers,
    )
}

fn encode_chunks(
    mut signer: Option<&mut ChunkSigner>,
    mode: ChunkedMode,
    data: &[u8],
    chunk_size: usize,
    trailers: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 256);
    let chunk_size = chunk_size.max(1);
    let mut pieces: Vec<&[u8]> = data.chunks(chunk_size).collect();
    pieces.push(&[]);
    for piece in pieces {
        out.extend_from_slice(format!("{:x}", piece.len()).as_bytes());
        if mode.is_signed()
            && let Some(s) = signer.as_deref_mut()
        {
            out.extend_from_slice(b";chunk-signature=");
            out.extend_from_slice(s.sign_chunk(piece).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !piece.is_empty() {
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
    }
    for (name, value) in trailers {
        out.extend_from_slice(
            format!("{}:{}\r\n", name.to_ascii_lowercase(), value.trim()).as_bytes(),
        );
    }
    if mode == ChunkedMode::SignedWithTrailer
        && let Some(s) = signer
    {
        out.extend_from_slice(
            format!("x-amz-trailer-signature:{}\r\n", s.sign_trailers(trailers)).as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out
}
