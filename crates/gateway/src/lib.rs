//! The AWS front door: listeners, protocol codecs, the request context, the one
//! authorization path and the audit trail.
//!
//! A request flows through [`dispatch`]: the listener that accepted it fixes its
//! network location; the service comes from the SigV4 credential scope, then
//! `X-Amz-Target`; the signature is verified against the credential directory
//! ([`Identities`]); the input is decoded and validated against the service model;
//! the operation declares its checks ([`Operation::authorize`]); [`authz`] decides
//! each with the policy engine; only then does the handler run. Every request,
//! allowed or denied, leaves one CloudTrail-format record.

#![forbid(unsafe_code)]

pub mod audit;
mod auth;
pub mod authz;
pub mod body;
mod call;
pub mod codec;
mod dispatch;
pub mod error;
pub use storage::fasthash;
pub mod fuzzing;
mod gateway;
pub mod identity;
pub mod location;
pub mod model;
pub mod operation;
pub mod protocol;
pub mod raw;
pub mod rest;
mod server;
pub mod service;
pub mod state;
mod stream;
pub mod time;

pub use call::{Call, Via};
pub use error::AwsError;
pub use gateway::{Config, Gateway, GatewayBuilder, new_request_id, uuid_text};
pub use identity::{
    Caller, Credential, Identities, IdentityType, OrgAccount, Organizations, Session,
};
pub use location::{ConnectionGuard, Flow, Location, VpcEndpoint};
pub use rest::{BodyMode, RequestBody, RequestHead, RestRouter, Routed};
pub use service::{Authorization, BoxFuture, Check, Operation, ServiceDef};
