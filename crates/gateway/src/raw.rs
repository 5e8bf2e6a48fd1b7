//! Plain HTTP routes beside the AWS APIs: Studio sign-in pages and the
//! container credentials endpoint. Each handler authorizes with its own
//! bearer (a presigned token), never with IAM policies.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};

use crate::body::Body;
use crate::location::Location;
use crate::service::BoxFuture;

/// A plain HTTP request routed by path prefix.
pub struct RawRequest {
    /// The request head and buffered body.
    pub request: Request<Bytes>,
    /// Where it arrived.
    pub location: Location,
    /// The client.
    pub peer: SocketAddr,
}

/// Serves plain HTTP under a path prefix.
pub trait RawHandler: Send + Sync {
    /// Answers one request.
    fn handle(&self, req: RawRequest) -> BoxFuture<Response<Body>>;
}
