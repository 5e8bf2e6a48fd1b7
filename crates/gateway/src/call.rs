//! One request in flight: who, from where, when — and the handles an operation
//! needs: durable commits that carry the audit record, the request body for
//! REST operations, and calls to other services on the caller's behalf.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::Value;

use crate::authz::{self, CheckOutcome};
use crate::body::Body;
use crate::error::AwsError;
use crate::gateway::Inner;
use crate::identity::{Caller, OrgAccount};
use crate::location::Location;
use crate::rest::RequestBody;
use crate::service::{Operation, Prepared};

/// A call made by a service on the caller's behalf (a forward access session).
#[derive(Debug, Clone)]
pub struct Via {
    /// The calling service's principal, e.g. `s3.amazonaws.com`.
    pub service: &'static str,
    /// `aws:CalledVia` chain (only services AWS lists there, such as CloudFormation).
    pub called_via: Vec<&'static str>,
}

impl Via {
    /// A forward access session from `service` without an `aws:CalledVia` entry.
    pub fn service(service: &'static str) -> Via {
        Via {
            service,
            called_via: Vec::new(),
        }
    }

    /// A call that AWS lists in `aws:CalledVia` (e.g. `cloudformation.amazonaws.com`).
    pub fn called_via(service: &'static str) -> Via {
        Via {
            service,
            called_via: vec![service],
        }
    }
}

/// What the audit trail learns during a call.
#[derive(Default)]
pub(crate) struct AuditSlot {
    pub decisions: Vec<CheckOutcome>,
    /// Whether a commit has carried the event already.
    pub written: bool,
}

/// What a REST operation adds to its response beyond the output shape.
#[derive(Default)]
pub(crate) struct RestExtras {
    pub body: Option<RequestBody>,
    pub stream: Option<Body>,
    pub headers: Vec<(String, String)>,
    pub status: Option<u16>,
}

/// One request in flight.
#[derive(Clone)]
pub struct Call {
    pub(crate) gw: Arc<Inner>,
    /// The authenticated caller.
    pub caller: Arc<Caller>,
    /// The request id returned to the client and recorded in the trail.
    pub request_id: Arc<str>,
    /// Where the request came from.
    pub location: Location,
    /// The client's address (absent for calls made by services).
    pub source_ip: Option<IpAddr>,
    /// Whether the request arrived over TLS.
    pub secure_transport: bool,
    /// The client's `User-Agent`.
    pub user_agent: Arc<str>,
    /// Set when a service makes this call on the caller's behalf.
    pub via: Option<Via>,
    /// The request time.
    pub now: SystemTime,
    /// The operation name.
    pub operation: &'static str,
    /// The service's signing name.
    pub service: &'static str,
    /// The decoded input, for the audit trail.
    pub(crate) input: Arc<Value>,
    pub(crate) audit: Arc<Mutex<AuditSlot>>,
    pub(crate) rest: Arc<Mutex<RestExtras>>,
}

impl Call {
    /// The region the server serves.
    pub fn region(&self) -> &str {
        &self.gw.config.region
    }

    /// The account the request acts in: the caller's, or the default account for anonymous callers.
    pub fn account(&self) -> &str {
        if self.caller.account.is_empty() {
            &self.gw.config.account_id
        } else {
            &self.caller.account
        }
    }

    /// The gateway, for services that manage listeners (VPC endpoints) or routes.
    pub fn gateway(&self) -> crate::Gateway {
        crate::Gateway {
            inner: self.gw.clone(),
        }
    }

    /// The store.
    pub fn store(&self) -> &storage::Store {
        &self.gw.store
    }

    /// The caller's organization facts.
    pub fn org_account(&self, account: &str) -> Option<Arc<OrgAccount>> {
        self.gw.organizations.get()?.account(account)
    }

    pub(crate) fn record_decisions(&self, outcomes: &[CheckOutcome]) {
        if let Ok(mut slot) = self.audit.lock() {
            slot.decisions.extend_from_slice(outcomes);
        }
    }

    /// Submits `batch` with this call's audit record and waits until it is durable.
    /// Use [`Call::submit`] instead when the batch must be queued under a lock.
    pub async fn commit(&self, batch: storage::Batch) -> Result<(), AwsError> {
        self.submit(batch).await
    }

    /// Queues `batch` (carrying this call's audit record the first time) now, in order,
    /// and returns a future that resolves once it is durable.
    pub fn submit(
        &self,
        mut batch: storage::Batch,
    ) -> impl std::future::Future<Output = Result<(), AwsError>> + use<> {
        if let Ok(mut slot) = self.audit.lock()
            && !slot.written
        {
            let event = crate::audit::event(self, &slot.decisions, None);
            batch.audit(event);
            slot.written = true;
        }
        let pending = self.gw.store.submit(batch);
        async move { pending.await.map_err(AwsError::internal) }
    }

    /// Takes the streaming request body (REST operations such as `PutObject`).
    pub fn take_body(&self) -> Option<RequestBody> {
        self.rest.lock().ok().and_then(|mut r| r.body.take())
    }

    /// Sets a streaming response body (`GetObject`).
    pub fn set_stream(&self, body: Body) {
        if let Ok(mut r) = self.rest.lock() {
            r.stream = Some(body);
        }
    }

    /// Adds a response header.
    pub fn add_header(&self, name: impl Into<String>, value: impl Into<String>) {
        if let Ok(mut r) = self.rest.lock() {
            r.headers.push((name.into(), value.into()));
        }
    }

    /// Overrides the success status code.
    pub fn set_status(&self, status: u16) {
        if let Ok(mut r) = self.rest.lock() {
            r.status = Some(status);
        }
    }

    /// Runs `op` of another service as this caller, on its behalf, through the same
    /// authorization path and audit trail (a forward access session from `via`).
    pub async fn invoke<O: Operation>(
        &self,
        svc: &Arc<O::Service>,
        op: O,
        service: &'static str,
        via: Via,
    ) -> Result<O::Output, AwsError> {
        self.invoke_as(self.caller.clone(), svc, op, service, Some(via))
            .await
    }

    /// Runs `op` as an AWS service principal acting on its own (e.g. SageMaker assuming
    /// an execution role as `sagemaker.amazonaws.com`), in this call's account.
    pub async fn invoke_as_service<O: Operation>(
        &self,
        principal: &'static str,
        svc: &Arc<O::Service>,
        op: O,
        service: &'static str,
    ) -> Result<O::Output, AwsError> {
        let caller = Arc::new(Caller::service(principal, self.account()));
        self.invoke_as(caller, svc, op, service, None).await
    }

    async fn invoke_as<O: Operation>(
        &self,
        caller: Arc<Caller>,
        svc: &Arc<O::Service>,
        op: O,
        service: &'static str,
        via: Option<Via>,
    ) -> Result<O::Output, AwsError> {
        let input = serde_json::to_value(&op).unwrap_or(Value::Null);
        let agent: Arc<str> = match &via {
            Some(v) => Arc::from(v.service),
            None => Arc::from(caller.arn.as_str()),
        };
        let call = Call {
            gw: self.gw.clone(),
            caller,
            request_id: crate::gateway::new_request_id().into(),
            location: Location::Internal,
            source_ip: None,
            secure_transport: true,
            user_agent: agent,
            via,
            now: SystemTime::now(),
            operation: O::NAME,
            service,
            input: Arc::new(input),
            audit: Arc::default(),
            rest: Arc::default(),
        };
        call.run_typed(svc, op).await
    }

    /// Authorizes and runs a typed operation on this call.
    pub(crate) async fn run_typed<O: Operation>(
        &self,
        svc: &Arc<O::Service>,
        op: O,
    ) -> Result<O::Output, AwsError> {
        let protocol = self
            .gw
            .services
            .get(self.service)
            .map(|s| s.protocol)
            .unwrap_or(crate::protocol::Protocol::Json);
        let authorization = match op.authorize(svc, self) {
            Ok(a) => a,
            Err(e) => {
                self.finish(Some(&e));
                return Err(e);
            }
        };
        if let Err(e) = authz::authorize(self, authorization, protocol) {
            self.finish(Some(&e));
            return Err(e);
        }
        let result = op.handle(svc.clone(), self.clone()).await;
        self.finish(result.as_ref().err());
        result
    }

    /// Whether `check` would be allowed for this caller, from this location, now. For
    /// validations AWS makes with the authorization model that are not themselves the
    /// request's authorization, such as KMS's key policy lockout safety check. Not recorded.
    pub fn would_allow(&self, check: &crate::service::Check) -> bool {
        let base = authz::base_context(self);
        authz::decide(self, &base, check).is_allowed()
    }

    pub(crate) async fn run_prepared(
        &self,
        prepared: Prepared,
        protocol: crate::protocol::Protocol,
    ) -> Result<Value, AwsError> {
        authz::authorize(self, prepared.authorization, protocol)?;
        (prepared.run)(self.clone()).await
    }

    /// Records the call in the audit trail unless a commit already carried it. The record
    /// is queued in order at once; the returned commit may be awaited for backpressure.
    pub(crate) fn finish(&self, error: Option<&AwsError>) -> Option<storage::Pending> {
        let Ok(mut slot) = self.audit.lock() else {
            return None;
        };
        if slot.written {
            return None;
        }
        slot.written = true;
        let event = crate::audit::event(self, &slot.decisions, error);
        drop(slot);
        Some(self.gw.audit_async(event))
    }
}
