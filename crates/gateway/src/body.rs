//! Response bodies: buffered or streamed.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};

/// The error type of streamed bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body.
pub type Body = BoxBody<Bytes, BoxError>;

/// A buffered body.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}
