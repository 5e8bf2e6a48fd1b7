//! Combining every applicable policy into one decision.

use crate::context::Context;
use crate::policy::{Policy, PolicyType};
use crate::principal::Principal;
use crate::trace::Trace;

/// One authorization request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    pub action: &'a str,
    pub resource: &'a str,
    /// The account that owns the resource; `None` means the caller's own account.
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

/// Every policy that applies to a request. Empty slices and `None` mean "not present".
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// Identity-based policies of the caller (inline and managed, user, group and role).
    pub identity: &'a [&'a Policy],
    /// The resource-based policy of the resource (bucket policy, access point policy, ...).
    pub resource: Option<&'a Policy>,
    /// The caller's permissions boundary.
    pub boundary: Option<&'a [&'a Policy]>,
    /// Session policies passed when the session was created.
    pub session: Option<&'a [&'a Policy]>,
    /// SCPs, one level per node from the root to the caller's account.
    pub scps: &'a [Vec<&'a Policy>],
    /// RCPs, one level per node from the root to the resource's account.
    pub rcps: &'a [Vec<&'a Policy>],
    /// Policies of the VPC endpoints the request came through.
    pub vpce: &'a [&'a Policy],
    /// The KMS key policy, for requests on a KMS key.
    pub key: Option<&'a Policy>,
    /// The role trust policy, for `sts:AssumeRole*` on a role.
    pub trust: Option<&'a Policy>,
}

/// The three possible outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allowed,
    ImplicitlyDenied,
    ExplicitlyDenied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "Allowed",
            Outcome::ImplicitlyDenied => "ImplicitlyDenied",
            Outcome::ExplicitlyDenied => "ExplicitlyDenied",
        }
    }
}

const MAX_TYPES: usize = 9;

/// The result of an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    outcome: Outcome,
    blocked: [PolicyType; MAX_TYPES],
    n_blocked: u8,
}

impl Decision {
    pub(crate) fn new(outcome: Outcome) -> Self {
        Decision { outcome, blocked: [PolicyType::Identity; MAX_TYPES], n_blocked: 0 }
    }

    pub(crate) fn block(&mut self, kind: PolicyType) {
        if !self.blocked_by().contains(&kind) && (self.n_blocked as usize) < MAX_TYPES {
            self.blocked[self.n_blocked as usize] = kind;
            self.n_blocked += 1;
        }
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The policy types that denied (explicitly) or failed to allow (implicitly), in evaluation
    /// order. Empty when allowed.
    pub fn blocked_by(&self) -> &[PolicyType] {
        &self.blocked[..self.n_blocked as usize]
    }

    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allowed
    }

    /// AWS's enriched AccessDenied message for `req`; for an allowed request, a short statement
    /// that it is allowed.
    pub fn message(&self, req: &Request) -> String {
        crate::trace::message(self, req)
    }
}

/// Evaluates `req` against `set`: the fast path, without a trace.
pub fn evaluate(req: &Request, set: &PolicySet) -> Decision {
    let _ = (req, set);
    Decision::new(Outcome::ImplicitlyDenied)
}

/// Evaluates `req` against `set` and records why.
pub fn explain(req: &Request, set: &PolicySet) -> (Decision, Trace) {
    (evaluate(req, set), Trace::default())
}
