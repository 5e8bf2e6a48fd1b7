//! REST protocols (S3, S3 Control): the service routes a request to its
//! operation from method, path, query and headers, and renders the response.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use serde_json::Value;

use crate::body::Body;
use crate::error::AwsError;

/// The parts of a request a REST router reads.
pub struct RequestHead<'a> {
    /// The method.
    pub method: &'a Method,
    /// The raw (percent-encoded) path.
    pub path: &'a str,
    /// The decoded query parameters, in order.
    pub query: &'a [(Cow<'a, str>, Cow<'a, str>)],
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The `Host` header, without the port.
    pub host: &'a str,
}

impl RequestHead<'_> {
    /// A query parameter's value (`Some("")` for a bare `?uploads`).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How an operation wants its request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// No body is read.
    None,
    /// Read whole (bounded) and handed to [`RestRouter::payload`].
    Buffered,
    /// Streamed to the handler through [`crate::Call::take_body`].
    Stream,
}

/// A routed request.
pub struct Routed {
    /// The operation name.
    pub operation: &'static str,
    /// The input decoded from path, query and headers.
    pub input: Value,
    /// How the body is consumed.
    pub body: BodyMode,
}

/// A REST service's routing and rendering.
pub trait RestRouter: Send + Sync {
    /// Names the operation and decodes the input from the request head.
    fn route(&self, head: &RequestHead<'_>) -> Result<Routed, AwsError>;

    /// Decodes a buffered body into the input.
    fn payload(&self, operation: &str, input: &mut Value, body: Bytes) -> Result<(), AwsError>;

    /// Renders a successful output.
    fn render(&self, operation: &str, output: &Value, request_id: &str) -> Response<Body>;
}

/// A streaming request body, decoded (aws-chunked) and verified as it is read.
pub struct RequestBody {
    pub(crate) inner: crate::stream::VerifiedBody,
}

impl RequestBody {
    /// The next chunk of plaintext payload; `None` at the end. A chunk signature or
    /// payload hash mismatch surfaces as an error before the end, so a write that
    /// consumes the whole body never commits unverified data.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, AwsError>> {
        self.inner.next().await
    }

    /// The decoded length the client declared, when known.
    pub fn declared_length(&self) -> Option<u64> {
        self.inner.declared_length
    }

    /// Reads the whole body, failing past `limit` bytes.
    pub async fn collect(mut self, limit: usize) -> Result<Bytes, AwsError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            if out.len() + chunk.len() > limit {
                return Err(AwsError::bad_request(
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                ));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(out))
    }
}
