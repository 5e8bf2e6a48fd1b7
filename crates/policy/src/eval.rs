//! Combining every applicable policy into one decision.

use crate::condition::Vars;
use crate::context::Context;
use crate::policy::{AwsPrincipal, Effect, Policy, PolicyType, PrincipalSpec, Statement};
use crate::principal::{Principal, PrincipalKind};
use crate::trace::{ConditionTrace, PolicyTrace, StatementTrace, Trace};

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
        Decision {
            outcome,
            blocked: [PolicyType::Identity; MAX_TYPES],
            n_blocked: 0,
        }
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
    run(req, set, &mut NoTrace)
}

/// Evaluates `req` against `set` and records why.
pub fn explain(req: &Request, set: &PolicySet) -> (Decision, Trace) {
    let mut t = Trace::default();
    let d = run(req, set, &mut t);
    (d, t)
}

/// Receives the trace; compiled away on the fast path.
pub(crate) trait Tracer {
    const ON: bool;
    fn policy(&mut self, kind: PolicyType, label: String);
    fn statement(&mut self, st: StatementTrace);
    fn note(&mut self, f: impl FnOnce() -> String);
}

struct NoTrace;

impl Tracer for NoTrace {
    const ON: bool = false;
    #[inline(always)]
    fn policy(&mut self, _: PolicyType, _: String) {}
    #[inline(always)]
    fn statement(&mut self, _: StatementTrace) {}
    #[inline(always)]
    fn note(&mut self, _: impl FnOnce() -> String) {}
}

impl Tracer for Trace {
    const ON: bool = true;
    fn policy(&mut self, kind: PolicyType, label: String) {
        self.policies.push(PolicyTrace {
            kind,
            label,
            statements: Vec::new(),
        });
    }
    fn statement(&mut self, st: StatementTrace) {
        if let Some(p) = self.policies.last_mut() {
            p.statements.push(st);
        }
    }
    fn note(&mut self, f: impl FnOnce() -> String) {
        self.notes.push(f());
    }
}

/// How a resource-side statement named the caller, weakest first. The kind decides whether
/// implicit denies in identity policies, boundaries and session policies still apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// The caller's account (`123456789012` or `arn:aws:iam::123456789012:root`): a delegation
    /// to the account's identity policies.
    Account,
    /// The role of a role session, or the IAM user behind a federated user: limited by the
    /// boundary and session policies.
    Parent,
    /// The caller itself (or `*`): not limited by implicit denies elsewhere.
    Direct,
}

#[derive(Clone, Copy, Default)]
struct Outcome2 {
    allow: Option<Grant>,
    deny: bool,
}

struct Env<'r, 'a> {
    req: &'r Request<'a>,
    vars: Vars<'a>,
    has_boundary: bool,
    service: &'a str,
    service_hash: u64,
    service_bit: u64,
    name: &'a str,
    resource: Option<[&'a str; 6]>,
}

fn match_principal(spec: &PrincipalSpec, p: &Principal) -> Option<Grant> {
    if spec.any {
        return Some(Grant::Direct);
    }
    let mut best: Option<Grant> = None;
    let mut take = |g: Grant| {
        if best.is_none_or(|b| g > b) {
            best = Some(g);
        }
    };
    for a in &spec.aws {
        match a {
            AwsPrincipal::Any => take(Grant::Direct),
            AwsPrincipal::Account(acct) => {
                if p.is_iam() && p.account() == acct {
                    take(if p.kind() == PrincipalKind::Root {
                        Grant::Direct
                    } else {
                        Grant::Account
                    });
                }
            }
            AwsPrincipal::User(u) => match p.kind() {
                PrincipalKind::User if p.arn() == u => take(Grant::Direct),
                PrincipalKind::FederatedUser if p.user_arn() == u => take(Grant::Parent),
                _ => {}
            },
            AwsPrincipal::Role(r) => {
                if p.kind() == PrincipalKind::AssumedRole && p.role_arn() == r {
                    take(Grant::Parent);
                }
            }
            AwsPrincipal::Session(s) => {
                if p.kind() == PrincipalKind::AssumedRole && p.arn() == s {
                    take(Grant::Direct);
                }
            }
            AwsPrincipal::FederatedUser(f) => {
                if p.kind() == PrincipalKind::FederatedUser && p.arn() == f {
                    take(Grant::Direct);
                }
            }
            AwsPrincipal::UniqueId(id) => match p.kind() {
                PrincipalKind::User if p.unique_id() == id => take(Grant::Direct),
                PrincipalKind::AssumedRole if p.role_id() == id => take(Grant::Parent),
                _ => {}
            },
        }
    }
    if p.kind() == PrincipalKind::Service
        && spec
            .service
            .iter()
            .any(|s| s.eq_ignore_ascii_case(p.name()))
    {
        take(Grant::Direct);
    }
    if p.kind() == PrincipalKind::WebIdentity && spec.federated.iter().any(|f| f == p.name()) {
        take(Grant::Direct);
    }
    if let Some(c) = p.canonical_user()
        && spec.canonical.iter().any(|x| x.eq_ignore_ascii_case(c))
    {
        take(Grant::Direct);
    }
    best
}

/// Whether a NotPrincipal list exempts the caller: every identity AWS evaluates for it (the
/// account; the user; the role and the role session) must be listed.
fn not_principal_exempts(spec: &PrincipalSpec, p: &Principal) -> bool {
    if spec.any {
        return true;
    }
    let listed = |f: &dyn Fn(&AwsPrincipal) -> bool| spec.aws.iter().any(f);
    let account = listed(&|a| matches!(a, AwsPrincipal::Account(x) if x == p.account()));
    match p.kind() {
        PrincipalKind::Root => account,
        PrincipalKind::User => {
            account
                && listed(&|a| {
                    matches!(a, AwsPrincipal::User(x) if x == p.arn())
                        || matches!(a, AwsPrincipal::UniqueId(x) if x == p.unique_id())
                })
        }
        PrincipalKind::AssumedRole => {
            account
                && listed(&|a| {
                    matches!(a, AwsPrincipal::Role(x) if x == p.role_arn())
                        || matches!(a, AwsPrincipal::UniqueId(x) if x == p.role_id())
                })
                && listed(&|a| matches!(a, AwsPrincipal::Session(x) if x == p.arn()))
        }
        PrincipalKind::FederatedUser => {
            account && listed(&|a| matches!(a, AwsPrincipal::FederatedUser(x) if x == p.arn()))
        }
        PrincipalKind::Service => spec
            .service
            .iter()
            .any(|s| s.eq_ignore_ascii_case(p.name())),
        PrincipalKind::WebIdentity => spec.federated.iter().any(|f| f == p.name()),
        PrincipalKind::Anonymous => false,
    }
}

/// Evaluates one statement; `Some(grant)` when it applies to the request.
fn eval_statement<T: Tracer>(p: &Policy, s: &Statement, env: &Env, t: &mut T) -> Option<Grant> {
    let req = env.req;
    if !T::ON && s.service_filter & env.service_bit == 0 {
        return None;
    }
    let action = s.actions.iter().any(|p| {
        p.matches(
            req.action,
            env.service,
            env.service_hash,
            env.name,
            &env.vars,
        )
    }) != s.not_action;
    if !T::ON && !action {
        return None;
    }
    let resource = s.resources.as_ref().map(|rs| {
        rs.iter()
            .any(|p| p.matches_split(req.resource, env.resource.as_ref(), &env.vars))
            != s.not_resource
    });
    if !T::ON && resource == Some(false) {
        return None;
    }
    let grant = match &s.principal {
        None => Some(Grant::Direct),
        Some(spec) if s.not_principal => {
            let forced = s.effect == Effect::Deny && env.has_boundary;
            if forced || !not_principal_exempts(spec, req.principal) {
                Some(Grant::Direct)
            } else {
                None
            }
        }
        Some(spec) => match_principal(spec, req.principal),
    };
    if !T::ON {
        if grant.is_none() || !s.conditions.iter().all(|c| c.eval(req.context)) {
            return None;
        }
        return grant;
    }
    let mut conds = Vec::with_capacity(s.conditions.len());
    let mut all = true;
    for c in &s.conditions {
        let ok = c.eval(req.context);
        all &= ok;
        let (request_values, policy_values) = c.describe(req.context);
        conds.push(ConditionTrace {
            operator: c.op_name.clone(),
            key: c.key_name.clone(),
            request_values,
            policy_values,
            result: ok,
        });
    }
    let applies = action && resource != Some(false) && grant.is_some() && all;
    let (line, column) = crate::json::position(p.text(), s.offset);
    t.statement(StatementTrace {
        statement: s.label.clone(),
        effect: s.effect.as_str(),
        line,
        column,
        principal: s.principal.as_ref().map(|_| grant.is_some()),
        action,
        resource,
        conditions: conds,
        applies,
    });
    if applies { grant } else { None }
}

fn eval_policy<T: Tracer>(
    p: &Policy,
    env: &Env,
    t: &mut T,
    kind: PolicyType,
    allow_known: bool,
    label: impl FnOnce() -> String,
) -> Outcome2 {
    if T::ON {
        t.policy(kind, label());
    }
    let mut out = Outcome2::default();
    for s in &p.statements {
        // On the fast path, once an allow at full strength is known only denies can matter.
        if !T::ON && s.effect == Effect::Allow && (allow_known || out.allow == Some(Grant::Direct))
        {
            continue;
        }
        if let Some(g) = eval_statement(p, s, env, t) {
            match s.effect {
                Effect::Deny => out.deny = true,
                Effect::Allow => {
                    if out.allow.is_none_or(|a| g > a) {
                        out.allow = Some(g);
                    }
                }
            }
        }
    }
    out
}

/// Canonical order of policy types in `blocked_by`.
const ORDER: [PolicyType; 9] = [
    PolicyType::Scp,
    PolicyType::Rcp,
    PolicyType::Vpce,
    PolicyType::Identity,
    PolicyType::Boundary,
    PolicyType::Session,
    PolicyType::Resource,
    PolicyType::Key,
    PolicyType::Trust,
];

fn run<T: Tracer>(req: &Request, set: &PolicySet, t: &mut T) -> Decision {
    let p = req.principal;
    let iam = p.is_iam();
    let kind = p.kind();
    let caller_acct = p.account();
    let res_acct = req
        .resource_account
        .filter(|a| !a.is_empty())
        .unwrap_or(caller_acct);
    let same = iam && res_acct == caller_acct;
    let boundary = set.boundary.filter(|b| !b.is_empty());
    let session = set.session.filter(|s| !s.is_empty());
    let bounded = matches!(
        kind,
        PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
    );
    let (service, name) = req.action.split_once(':').unwrap_or(("", req.action));
    let env = Env {
        req,
        vars: Vars(req.context),
        has_boundary: bounded && boundary.is_some(),
        service,
        service_hash: crate::context::key_hash(service),
        service_bit: crate::pattern::service_bit(crate::context::key_hash(service)),
        name,
        resource: crate::pattern::arn_split(req.resource),
    };
    let mut denies = [false; 9];
    let deny = |d: &mut [bool; 9], k: PolicyType| {
        if let Some(i) = ORDER.iter().position(|o| *o == k) {
            d[i] = true;
        }
    };
    t.note(|| {
        if !iam {
            format!("caller `{}` is not an IAM principal: only resource-based policies can allow", p.arn())
        } else if same {
            format!("same-account request (account {caller_acct})")
        } else {
            format!("cross-account request: caller account {caller_acct}, resource account {res_acct}: identity and resource-based policies must both allow")
        }
    });

    // Identity-based policies.
    let mut id_allow = false;
    if iam {
        for (i, pol) in set.identity.iter().enumerate() {
            let r = eval_policy(pol, &env, t, PolicyType::Identity, id_allow, || {
                format!("identity[{i}]")
            });
            id_allow |= r.allow.is_some();
            if r.deny {
                deny(&mut denies, PolicyType::Identity);
            }
        }
    } else if !set.identity.is_empty() {
        t.note(|| "identity-based policies do not apply to this caller".to_owned());
    }

    // Resource-side policies.
    let mut grant_res: Option<Grant> = None;
    let mut grant_auth: Option<Grant> = None;
    let authoritative = set.key.is_some() || set.trust.is_some();
    for (pk, pol) in [
        (PolicyType::Resource, set.resource),
        (PolicyType::Key, set.key),
        (PolicyType::Trust, set.trust),
    ] {
        let Some(pol) = pol else { continue };
        let r = eval_policy(pol, &env, t, pk, false, || pk.as_str().to_owned());
        if r.deny {
            deny(&mut denies, pk);
        }
        if pk == PolicyType::Resource {
            grant_res = grant_res.max(r.allow);
        } else {
            grant_auth = grant_auth.max(r.allow);
        }
    }

    // Permissions boundary and session policies.
    let mut bnd_ok = true;
    if let Some(b) = boundary {
        if bounded {
            let mut any = false;
            for (i, pol) in b.iter().enumerate() {
                let r = eval_policy(pol, &env, t, PolicyType::Boundary, any, || {
                    format!("boundary[{i}]")
                });
                any |= r.allow.is_some();
                if r.deny {
                    deny(&mut denies, PolicyType::Boundary);
                }
            }
            bnd_ok = any;
        } else {
            t.note(|| "a permissions boundary does not apply to this caller".to_owned());
        }
    }
    let mut sess_ok = kind != PrincipalKind::FederatedUser;
    if let Some(sp) = session {
        if iam && kind != PrincipalKind::Root {
            let mut any = false;
            for (i, pol) in sp.iter().enumerate() {
                let r = eval_policy(pol, &env, t, PolicyType::Session, any, || {
                    format!("session[{i}]")
                });
                any |= r.allow.is_some();
                if r.deny {
                    deny(&mut denies, PolicyType::Session);
                }
            }
            sess_ok = any;
        } else {
            t.note(|| "session policies do not apply to this caller".to_owned());
        }
    } else if kind == PrincipalKind::FederatedUser {
        t.note(|| {
            "a federated user session without a session policy has no permissions of its own"
                .to_owned()
        });
    }

    // Organizations: SCPs (every level must allow) and RCPs (deny only).
    let mut scp_ok = true;
    if !set.scps.is_empty() {
        if iam {
            for (l, level) in set.scps.iter().enumerate() {
                let mut any = false;
                for (i, pol) in level.iter().enumerate() {
                    let r = eval_policy(pol, &env, t, PolicyType::Scp, any, || {
                        format!("scps[{l}][{i}]")
                    });
                    any |= r.allow.is_some();
                    if r.deny {
                        deny(&mut denies, PolicyType::Scp);
                    }
                }
                if !any {
                    scp_ok = false;
                    t.note(|| format!("no SCP at level {l} (root = 0) allows the action"));
                }
            }
        } else {
            t.note(|| "SCPs apply only to principals of member accounts".to_owned());
        }
    }
    for (l, level) in set.rcps.iter().enumerate() {
        for (i, pol) in level.iter().enumerate() {
            let r = eval_policy(pol, &env, t, PolicyType::Rcp, true, || {
                format!("rcps[{l}][{i}]")
            });
            if r.deny {
                deny(&mut denies, PolicyType::Rcp);
            }
        }
    }

    // VPC endpoint policies: each must allow.
    let mut vpce_ok = true;
    for (i, pol) in set.vpce.iter().enumerate() {
        let r = eval_policy(pol, &env, t, PolicyType::Vpce, false, || {
            format!("vpce[{i}]")
        });
        if r.deny {
            deny(&mut denies, PolicyType::Vpce);
        }
        if r.allow.is_none() {
            vpce_ok = false;
        }
    }

    if denies.iter().any(|d| *d) {
        let mut d = Decision::new(Outcome::ExplicitlyDenied);
        for (i, k) in ORDER.iter().enumerate() {
            if denies[i] {
                d.block(*k);
            }
        }
        t.note(|| "an explicit deny applies: denied whatever else allows".to_owned());
        return d;
    }

    // Combine the grants.
    let id_side = iam && (kind == PrincipalKind::Root || id_allow);
    let identity_ok = id_side && bnd_ok && sess_ok;
    let mut blocked = [false; 9];
    let block = |b: &mut [bool; 9], k: PolicyType| {
        if let Some(i) = ORDER.iter().position(|o| *o == k) {
            b[i] = true;
        }
    };
    let identity_reason = |b: &mut [bool; 9]| {
        if !id_side {
            block(b, PolicyType::Identity);
        } else if !bnd_ok {
            block(b, PolicyType::Boundary);
        } else if !sess_ok {
            block(b, PolicyType::Session);
        }
    };
    let auth_kind = if set.key.is_some() {
        PolicyType::Key
    } else {
        PolicyType::Trust
    };
    let main_ok;
    if same {
        if authoritative {
            main_ok = match grant_auth {
                Some(Grant::Direct) => true,
                Some(Grant::Parent) => bnd_ok && sess_ok,
                Some(Grant::Account) => identity_ok,
                None => false,
            };
            if !main_ok {
                match grant_auth {
                    None => {
                        block(&mut blocked, auth_kind);
                        t.note(|| format!("the {} does not allow the caller: IAM policies count only where it delegates to the account", if auth_kind == PolicyType::Key { "key policy" } else { "trust policy" }));
                    }
                    Some(Grant::Parent) if !bnd_ok => block(&mut blocked, PolicyType::Boundary),
                    Some(Grant::Parent) => block(&mut blocked, PolicyType::Session),
                    _ => identity_reason(&mut blocked),
                }
            }
        } else {
            let by_resource = match grant_res {
                Some(Grant::Direct) => true,
                Some(Grant::Parent) => bnd_ok && sess_ok,
                _ => false,
            };
            if by_resource && !identity_ok {
                t.note(|| "the resource-based policy names the caller: implicit denies in identity-based policies, boundaries and session policies do not limit it".to_owned());
            }
            main_ok = identity_ok || by_resource;
            if !main_ok {
                if grant_res == Some(Grant::Parent) && !bnd_ok {
                    block(&mut blocked, PolicyType::Boundary);
                } else if grant_res == Some(Grant::Parent) && !sess_ok {
                    block(&mut blocked, PolicyType::Session);
                } else {
                    identity_reason(&mut blocked);
                }
            }
        }
    } else {
        let grant = if authoritative { grant_auth } else { grant_res };
        let rk = if authoritative {
            auth_kind
        } else {
            PolicyType::Resource
        };
        if iam {
            main_ok = identity_ok && grant.is_some();
            if !identity_ok {
                identity_reason(&mut blocked);
            }
        } else {
            main_ok = grant.is_some();
        }
        if grant.is_none() {
            block(&mut blocked, rk);
        }
    }
    if !scp_ok {
        block(&mut blocked, PolicyType::Scp);
    }
    if !vpce_ok {
        block(&mut blocked, PolicyType::Vpce);
        t.note(|| "a VPC endpoint policy does not allow the request".to_owned());
    }
    if main_ok && scp_ok && vpce_ok {
        t.note(|| "allowed".to_owned());
        return Decision::new(Outcome::Allowed);
    }
    let mut d = Decision::new(Outcome::ImplicitlyDenied);
    for (i, k) in ORDER.iter().enumerate() {
        if blocked[i] {
            d.block(*k);
        }
    }
    d
}
