//! Network locations. A location is a listener: the public endpoint, or one VPC
//! endpoint serving one service. Requests learn where they came from only from
//! the listener that accepted them, so clients cannot forge it.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use policy::Policy;

/// One connection through an endpoint, for flow logs.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The client.
    pub peer: SocketAddr,
    /// The endpoint's address.
    pub local: SocketAddr,
    /// When the connection was accepted or refused.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// Bytes received and sent.
    pub bytes: u64,
    /// Requests served (a stand-in for packets).
    pub packets: u64,
    /// Whether the security groups admitted it.
    pub accepted: bool,
}

/// Hooks an endpoint's owner (EC2) provides: security-group admission and flow records.
pub trait ConnectionGuard: Send + Sync {
    /// Whether the endpoint's security groups admit a connection from `peer`.
    fn admit(&self, peer: SocketAddr) -> bool;
    /// Called once per connection, accepted or refused, when it ends.
    fn record(&self, flow: Flow);
}

/// A VPC endpoint as the gateway sees it.
pub struct VpcEndpoint {
    /// `vpce-...`.
    pub id: String,
    /// The VPC it sits in.
    pub vpc_id: String,
    /// The signing name of the one service it serves (`s3`, `sagemaker`, `studio`...).
    pub service: String,
    /// The endpoint policy; `None` is AWS's default full-access policy.
    pub policy: RwLock<Option<Arc<Policy>>>,
    /// Security groups and flow logs.
    pub guard: Option<Arc<dyn ConnectionGuard>>,
}

impl VpcEndpoint {
    /// The current policy.
    pub fn policy(&self) -> Option<Arc<Policy>> {
        self.policy.read().map(|p| p.clone()).unwrap_or(None)
    }

    /// Replaces the policy (`ModifyVpcEndpoint`); `None` restores full access.
    pub fn set_policy(&self, policy: Option<Arc<Policy>>) {
        if let Ok(mut p) = self.policy.write() {
            *p = policy;
        }
    }

    /// Whether this endpoint serves a service with this signing name.
    pub fn serves(&self, signing_name: &str) -> bool {
        self.service == signing_name
    }
}

/// Where a listener sits.
#[derive(Clone)]
pub enum Location {
    /// The public endpoint: `aws:SourceIp` is the client's address.
    Public,
    /// A VPC endpoint: `aws:SourceVpce`, `aws:SourceVpc`, `aws:VpcSourceIp`.
    Endpoint(Arc<VpcEndpoint>),
    /// A call made by a service on a caller's behalf: no network keys.
    Internal,
}

impl Location {
    /// The endpoint, if this is one.
    pub fn endpoint(&self) -> Option<&Arc<VpcEndpoint>> {
        match self {
            Location::Endpoint(e) => Some(e),
            _ => None,
        }
    }
}
