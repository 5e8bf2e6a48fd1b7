//! The gateway: services, directories, the store, and the listeners that feed
//! them requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::identity::{Identities, Organizations};
use crate::location::Location;
use crate::raw::RawHandler;
use crate::service::ServiceDef;

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The region served, e.g. `us-east-1`.
    pub region: String,
    /// The default account.
    pub account_id: String,
    /// Largest buffered (non-streaming) request body.
    pub max_body: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            max_body: 16 << 20,
        }
    }
}

pub(crate) struct Inner {
    pub config: Config,
    pub store: storage::Store,
    pub services: crate::fasthash::FastMap<&'static str, Arc<ServiceDef>>,
    /// JSON `X-Amz-Target` prefix → signing name.
    pub targets: crate::fasthash::FastMap<String, &'static str>,
    /// Query `Action` → signing name, for unsigned requests.
    pub actions: crate::fasthash::FastMap<String, &'static str>,
    pub identities: Arc<dyn Identities>,
    /// Installed once, at start-up; read without a lock by every authorization.
    pub organizations: OnceLock<Arc<dyn Organizations>>,
    pub raw: RwLock<Vec<RawRoute>>,
    pub listeners: Mutex<HashMap<String, Listener>>,
    pub signing_keys: sigv4::SigningKeyCache,
}

/// A plain HTTP route: path prefix, the endpoint service that may serve it, handler.
pub(crate) type RawRoute = (String, &'static str, Arc<dyn RawHandler>);

pub(crate) struct Listener {
    pub addr: SocketAddr,
    pub stop: tokio::sync::watch::Sender<bool>,
}

impl Inner {
    /// Appends a read-only or failed call's record without waiting for durability;
    /// the single writer keeps it in order with everything else.
    pub fn audit_async(&self, event: storage::AuditEvent) -> storage::Pending {
        let mut batch = storage::Batch::new();
        batch.audit(event);
        self.store.submit(batch)
    }
}

/// The AWS front door.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

/// Builds a [`Gateway`].
pub struct GatewayBuilder {
    config: Config,
    store: storage::Store,
    services: Vec<ServiceDef>,
    identities: Arc<dyn Identities>,
}

impl GatewayBuilder {
    /// A builder over a store and the credential directory.
    pub fn new(config: Config, store: storage::Store, identities: Arc<dyn Identities>) -> Self {
        GatewayBuilder {
            config,
            store,
            services: Vec::new(),
            identities,
        }
    }

    /// Adds a service.
    pub fn service(mut self, def: ServiceDef) -> Self {
        self.services.push(def);
        self
    }

    /// Builds the gateway.
    pub fn build(self) -> Gateway {
        let mut services = crate::fasthash::FastMap::default();
        let mut targets = crate::fasthash::FastMap::default();
        let mut actions = crate::fasthash::FastMap::default();
        for def in self.services {
            if let Some(prefix) = &def.model.metadata.target_prefix {
                targets.insert(prefix.clone(), def.signing_name);
            }
            if matches!(
                def.protocol,
                crate::protocol::Protocol::Query | crate::protocol::Protocol::Ec2
            ) {
                for op in def.handlers.keys() {
                    actions.insert(op.to_string(), def.signing_name);
                }
            }
            services.insert(def.signing_name, Arc::new(def));
        }
        Gateway {
            inner: Arc::new(Inner {
                config: self.config,
                store: self.store,
                services,
                targets,
                actions,
                identities: self.identities,
                organizations: OnceLock::new(),
                raw: RwLock::new(Vec::new()),
                listeners: Mutex::new(HashMap::new()),
                signing_keys: sigv4::SigningKeyCache::new(4096),
            }),
        }
    }
}

impl Gateway {
    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &storage::Store {
        &self.inner.store
    }

    /// Installs the organization directory; once (a second one is ignored, with a warning).
    pub fn set_organizations(&self, orgs: Arc<dyn Organizations>) {
        if self.inner.organizations.set(orgs).is_err() {
            tracing::warn!("the organization directory is already installed");
        }
    }

    /// Serves plain HTTP paths under `prefix` (Studio pages, credential endpoints) with
    /// `handler`, on the public endpoint and on VPC endpoints for `endpoint_service` (e.g. `studio`).
    pub fn add_raw_route(
        &self,
        prefix: impl Into<String>,
        endpoint_service: &'static str,
        handler: Arc<dyn RawHandler>,
    ) {
        if let Ok(mut r) = self.inner.raw.write() {
            r.push((prefix.into(), endpoint_service, handler));
        }
    }

    /// Binds `addr` and serves `location` there until [`Gateway::close`]; returns the bound address.
    pub async fn listen(
        &self,
        id: impl Into<String>,
        addr: SocketAddr,
        location: Location,
    ) -> std::io::Result<SocketAddr> {
        crate::server::listen(self.inner.clone(), id.into(), addr, location).await
    }

    /// Stops the listener `id`; open connections finish their current request.
    pub fn close(&self, id: &str) {
        if let Ok(mut l) = self.inner.listeners.lock()
            && let Some(listener) = l.remove(id)
        {
            let _ = listener.stop.send(true);
        }
    }

    /// A call made by Perimeter itself as `caller` (provisioning at startup, background work
    /// such as stack deployments), not tied to any listener. Run operations on it with
    /// [`Call::invoke`]; `via` names the service acting (e.g. CloudFormation).
    pub fn internal_call(&self, caller: Arc<crate::Caller>, service: &'static str) -> crate::Call {
        crate::Call {
            gw: self.inner.clone(),
            caller,
            request_id: new_request_id().into(),
            location: Location::Internal,
            source_ip: None,
            secure_transport: true,
            user_agent: "perimeter".into(),
            via: None,
            now: std::time::SystemTime::now(),
            operation: "",
            service,
            input: Arc::new(serde_json::Value::Null),
            audit: Arc::default(),
            rest: Arc::default(),
        }
    }

    /// The address listener `id` is bound to.
    pub fn listener_addr(&self, id: &str) -> Option<SocketAddr> {
        self.inner.listeners.lock().ok()?.get(id).map(|l| l.addr)
    }
}

/// A fresh request id, formatted like AWS's (a UUID).
pub fn new_request_id() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut b = [0u8; 8];
        let _ = aws_lc_rs::rand::fill(&mut b);
        u64::from_le_bytes(b)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let a = splitmix(seed ^ n);
    let b = splitmix(a ^ n.rotate_left(17));
    // Version 4 and variant bits, as a random UUID has them.
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0xc000 << 48)) | (0x8000 << 48);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid_text(&bytes)
}

/// 16 bytes in a UUID's text form, `8-4-4-4-12` lowercase hex digits.
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 15)]));
    }
    out
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::new_request_id;

    #[test]
    fn request_ids_look_like_uuids_and_differ() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert!(a.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    }
}
