//! The service interface: an operation declares what it needs authorized
//! ([`Operation::authorize`]) and does its work ([`Operation::handle`]); the
//! gateway decides in between. Adding an operation never touches
//! authentication or authorization code.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use policy::Policy;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::call::Call;
use crate::error::AwsError;
use crate::model::Model;
use crate::protocol::Protocol;
use crate::rest::RestRouter;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One request for one action on one resource, with everything the engine needs
/// about that resource. Every check of an operation must be allowed.
#[derive(Debug, Clone)]
pub struct Check {
    /// The IAM action, e.g. `iam:GetRole`.
    pub action: Cow<'static, str>,
    /// The resource ARN, or `*` for actions without a resource type.
    pub resource: String,
    /// The account that owns the resource; `None` means the caller's account.
    pub resource_account: Option<String>,
    /// The resource's policy (bucket policy, queue policy...).
    pub resource_policy: Option<Arc<Policy>>,
    /// A KMS key policy: the root of trust for that key.
    pub key_policy: Option<Arc<Policy>>,
    /// A role trust policy, for `sts:AssumeRole*`.
    pub trust_policy: Option<Arc<Policy>>,
    /// The resource's tags, for `aws:ResourceTag/*`.
    pub resource_tags: Vec<(String, String)>,
    /// Service-specific condition keys this request supplies (`s3:prefix`, `sagemaker:VpcSubnets`...).
    pub context: Vec<(Cow<'static, str>, policy::Value)>,
}

impl Check {
    /// A check of `action` on `resource`.
    pub fn new(action: impl Into<Cow<'static, str>>, resource: impl Into<String>) -> Check {
        Check {
            action: action.into(),
            resource: resource.into(),
            resource_account: None,
            resource_policy: None,
            key_policy: None,
            trust_policy: None,
            resource_tags: Vec::new(),
            context: Vec::new(),
        }
    }

    /// Sets the account that owns the resource.
    pub fn owned_by(mut self, account: impl Into<String>) -> Check {
        self.resource_account = Some(account.into());
        self
    }

    /// Sets the resource policy.
    pub fn resource_policy(mut self, policy: Option<Arc<Policy>>) -> Check {
        self.resource_policy = policy;
        self
    }

    /// Sets the key policy.
    pub fn key_policy(mut self, policy: Arc<Policy>) -> Check {
        self.key_policy = Some(policy);
        self
    }

    /// Sets the trust policy.
    pub fn trust_policy(mut self, policy: Arc<Policy>) -> Check {
        self.trust_policy = Some(policy);
        self
    }

    /// Sets the resource's tags.
    pub fn resource_tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Check {
        self.resource_tags = tags.into_iter().collect();
        self
    }

    /// Supplies a condition key.
    pub fn with(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<policy::Value>,
    ) -> Check {
        self.context.push((key.into(), value.into()));
        self
    }

    /// Supplies a condition key when the request has a value for it.
    pub fn with_opt<V: Into<policy::Value>>(
        self,
        key: impl Into<Cow<'static, str>>,
        value: Option<V>,
    ) -> Check {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// Supplies `aws:RequestTag/<k>` for each tag and `aws:TagKeys`, plus the service's own
    /// `<prefix>:RequestTag/<k>` and `<prefix>:TagKeys` when `service_prefix` is given.
    pub fn request_tags(
        mut self,
        tags: &[(String, String)],
        service_prefix: Option<&str>,
    ) -> Check {
        let keys: Vec<String> = tags.iter().map(|(k, _)| k.clone()).collect();
        for (k, v) in tags {
            self.context
                .push((format!("aws:RequestTag/{k}").into(), v.clone().into()));
            if let Some(p) = service_prefix {
                self.context
                    .push((format!("{p}:RequestTag/{k}").into(), v.clone().into()));
            }
        }
        if !tags.is_empty() {
            if let Some(p) = service_prefix {
                self.context
                    .push((format!("{p}:TagKeys").into(), keys.clone().into()));
            }
            self.context.push(("aws:TagKeys".into(), keys.into()));
        }
        self
    }
}

/// What an operation needs authorized.
#[derive(Debug, Clone, Default)]
pub struct Authorization {
    /// Every check must be allowed, in order; the first denial is reported.
    pub checks: Vec<Check>,
    /// AWS performs no authorization for this operation (e.g. `sts:GetCallerIdentity`).
    pub(crate) none_required: bool,
    /// Only an explicit deny refuses (AWS requires no permission but honours a Deny,
    /// e.g. `sts:GetSessionToken`).
    pub(crate) deny_only: bool,
}

impl Authorization {
    /// One check.
    pub fn check(check: Check) -> Authorization {
        Authorization {
            checks: vec![check],
            none_required: false,
            deny_only: false,
        }
    }

    /// Several checks, all required.
    pub fn all(checks: Vec<Check>) -> Authorization {
        Authorization {
            checks,
            none_required: false,
            deny_only: false,
        }
    }

    /// For the few operations AWS never authorizes, such as `sts:GetCallerIdentity`.
    pub fn none_required() -> Authorization {
        Authorization {
            checks: Vec::new(),
            none_required: true,
            deny_only: false,
        }
    }

    /// For operations that need no permission but that an explicit `Deny` still refuses.
    pub fn deny_only(check: Check) -> Authorization {
        Authorization {
            checks: vec![check],
            none_required: false,
            deny_only: true,
        }
    }

    /// Adds a check.
    pub fn and(mut self, check: Check) -> Authorization {
        self.checks.push(check);
        self
    }
}

/// One API operation of one service. The input type deserializes from the
/// operation's input shape (member names as the model spells them) and
/// serializes back for the audit trail.
pub trait Operation: DeserializeOwned + Serialize + Send + 'static {
    /// The service state the operation works on.
    type Service: Send + Sync + 'static;
    /// The output, serialized into the output shape.
    type Output: Serialize + Send + 'static;
    /// The operation name, e.g. `GetRole`.
    const NAME: &'static str;

    /// Declares the action, resources and condition keys to authorize. Runs before
    /// anything else and must not change state.
    fn authorize(&self, svc: &Self::Service, call: &Call) -> Result<Authorization, AwsError>;

    /// Does the work, once the gateway has allowed the request.
    fn handle(
        self,
        svc: Arc<Self::Service>,
        call: Call,
    ) -> impl Future<Output = Result<Self::Output, AwsError>> + Send;

    /// The operation from its decoded input (which the call keeps for the audit trail). The
    /// default deserializes a copy; an operation that works on the decoded document itself can
    /// share it instead.
    fn from_input(input: &Arc<Value>) -> Result<Self, serde_json::Error> {
        Self::deserialize(&**input)
    }

    /// The output as the document the protocol layer renders; an output that already is one
    /// is passed on as it is.
    fn output_value(output: Self::Output) -> Result<Value, serde_json::Error> {
        serde_json::to_value(output)
    }
}

/// A prepared request: decoded, declared, waiting for the decision.
pub(crate) struct Prepared {
    pub authorization: Authorization,
    pub run: Box<dyn FnOnce(Call) -> BoxFuture<Result<Value, AwsError>> + Send>,
}

pub(crate) trait Handler: Send + Sync {
    fn prepare(&self, input: &Arc<Value>, call: &Call) -> Result<Prepared, AwsError>;
}

struct Entry<O: Operation> {
    svc: Arc<O::Service>,
}

impl<O: Operation> Handler for Entry<O> {
    fn prepare(&self, input: &Arc<Value>, call: &Call) -> Result<Prepared, AwsError> {
        let op: O = O::from_input(input).map_err(|e| {
            AwsError::bad_request(
                "ValidationException",
                format!("1 validation error detected: {e}"),
            )
        })?;
        let authorization = op.authorize(&self.svc, call)?;
        let svc = self.svc.clone();
        Ok(Prepared {
            authorization,
            run: Box::new(move |call| {
                Box::pin(async move {
                    let out = op.handle(svc, call).await?;
                    O::output_value(out).map_err(AwsError::internal)
                })
            }),
        })
    }
}

/// A service as the gateway routes to it.
pub struct ServiceDef {
    /// The SigV4 signing name, e.g. `iam`.
    pub signing_name: &'static str,
    /// The service model.
    pub model: Arc<Model>,
    /// The wire protocol.
    pub protocol: Protocol,
    pub(crate) handlers: crate::fasthash::FastMap<&'static str, Arc<dyn Handler>>,
    pub(crate) rest: Option<Arc<dyn RestRouter>>,
    /// Operations whose input can carry a sensitive value, redacted in the audit trail: the
    /// top-level input members that lead to one (most requests carry none, and skip the copy).
    pub(crate) sensitive_inputs: crate::fasthash::FastMap<String, Vec<String>>,
    /// Operations with binary top-level input members (ciphertexts, say) that are not secret:
    /// CloudTrail leaves binary data out of `requestParameters`, and so does the trail.
    pub(crate) binary_inputs: crate::fasthash::FastMap<String, Vec<String>>,
}

impl ServiceDef {
    /// A service with its embedded model (`model.json` from `tools/trim-model.py`).
    pub fn new(signing_name: &'static str, model_json: &str) -> Result<ServiceDef, AwsError> {
        let model = Model::from_json(model_json)
            .map_err(|e| AwsError::internal(format!("model for {signing_name}: {e}")))?;
        let sensitive_inputs = input_members(&model, |input, r| {
            input.sensitive || crate::audit::has_sensitive(&model, &r.shape)
        });
        let binary_inputs = input_members(&model, |_, r| {
            model.shape(&r.shape).is_some_and(|s| s.kind == "blob")
                && !crate::audit::has_sensitive(&model, &r.shape)
        });
        Ok(ServiceDef {
            sensitive_inputs,
            binary_inputs,
            signing_name,
            protocol: Protocol::of(&model),
            model: Arc::new(model),
            handlers: Default::default(),
            rest: None,
        })
    }

    /// Registers an operation. Operations the model does not define are a build defect.
    pub fn operation<O: Operation>(mut self, svc: &Arc<O::Service>) -> ServiceDef {
        debug_assert!(
            self.model.operations.contains_key(O::NAME),
            "operation {} missing from the {} model",
            O::NAME,
            self.signing_name
        );
        self.handlers
            .insert(O::NAME, Arc::new(Entry::<O> { svc: svc.clone() }));
        self
    }

    /// Sets the REST router (S3, S3 Control): how a request names its operation.
    pub fn rest_router(mut self, router: Arc<dyn RestRouter>) -> ServiceDef {
        self.rest = Some(router);
        self
    }

    /// Whether the service implements `op`.
    pub fn implements(&self, op: &str) -> bool {
        self.handlers.contains_key(op)
    }
}

/// For each operation, its top-level input members that `pick` selects (operations with none left out).
fn input_members(
    model: &Model,
    pick: impl Fn(&crate::model::Shape, &crate::model::ShapeRef) -> bool,
) -> crate::fasthash::FastMap<String, Vec<String>> {
    model
        .operations
        .iter()
        .filter_map(|(name, op)| {
            let input = model.shape(&op.input.as_ref()?.shape)?;
            let members: Vec<String> = input
                .members
                .iter()
                .filter(|(_, r)| pick(input, r))
                .map(|(m, _)| m.clone())
                .collect();
            (!members.is_empty()).then(|| (name.clone(), members))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_inputs_name_the_members_that_lead_to_a_secret() {
        let def = ServiceDef::new(
            "demo",
            r#"{
              "metadata": {"protocol": "json", "apiVersion": "2020-01-01", "endpointPrefix": "demo",
                           "jsonVersion": "1.1", "targetPrefix": "Demo"},
              "operations": {
                "Seal": {"name": "Seal", "http": {"method": "POST", "requestUri": "/"},
                         "input": {"shape": "SealIn"}},
                "Look": {"name": "Look", "http": {"method": "POST", "requestUri": "/"},
                         "input": {"shape": "LookIn"}},
                "Hide": {"name": "Hide", "http": {"method": "POST", "requestUri": "/"},
                         "input": {"shape": "HideIn"}}},
              "shapes": {
                "SealIn": {"type": "structure", "members": {
                  "KeyId": {"shape": "String"},
                  "Plaintext": {"shape": "Secret"},
                  "Grants": {"shape": "GrantList"}}},
                "GrantList": {"type": "list", "member": {"shape": "Grant"}},
                "Grant": {"type": "structure", "members": {"Token": {"shape": "Secret"}}},
                "LookIn": {"type": "structure", "members": {"KeyId": {"shape": "String"},
                  "Blob": {"shape": "Bytes"}}},
                "HideIn": {"type": "structure", "sensitive": true,
                           "members": {"Name": {"shape": "String"}}},
                "Secret": {"type": "blob", "sensitive": true},
                "Bytes": {"type": "blob"},
                "String": {"type": "string"}
              }
            }"#,
        )
        .expect("model");
        let members = |op: &str| def.sensitive_inputs.get(op).cloned();
        assert_eq!(
            members("Seal"),
            Some(vec!["Plaintext".to_string(), "Grants".to_string()])
        );
        assert_eq!(members("Look"), None);
        assert_eq!(members("Hide"), Some(vec!["Name".to_string()]));
        // Binary members that are not secret are left out of the trail; secret ones are redacted.
        let binary = |op: &str| def.binary_inputs.get(op).cloned();
        assert_eq!(binary("Look"), Some(vec!["Blob".to_string()]));
        assert_eq!(binary("Seal"), None);
    }
}
