//! The one authorization path. Every request, external or made by a service on
//! a caller's behalf, comes here with its operation's declared checks; the
//! engine decides each against every applicable policy. Nothing else decides.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use policy::{Context, Decision, Policy, PolicySet, Request};

use crate::call::Call;
use crate::error::AwsError;
use crate::identity::{Caller, IdentityType};
use crate::location::Location;
use crate::protocol::Protocol;
use crate::service::{Authorization, Check};
use crate::time;

/// The outcome of one check, kept for the audit trail.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The action.
    pub action: std::borrow::Cow<'static, str>,
    /// The resource.
    pub resource: String,
    /// The decision.
    pub decision: Decision,
}

/// The global condition keys of a request: who, from where, when.
pub(crate) fn base_context(call: &Call) -> Context {
    let caller: &Caller = &call.caller;
    // Every key below is distinct but the principal's tags (tag keys may differ only in case).
    let mut cx = Context::with_capacity(32);
    let secs = call
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    cx.insert_new("aws:CurrentTime", time::iso8601(secs as f64, false));
    cx.insert_new("aws:EpochTime", secs);
    cx.insert_new("aws:SecureTransport", call.secure_transport);
    cx.insert_new("aws:RequestedRegion", call.region().to_string());
    match &call.location {
        Location::Public => {
            if let Some(ip) = call.source_ip {
                cx.insert_new("aws:SourceIp", ip_text(ip));
            }
        }
        Location::Endpoint(e) => {
            cx.insert_new("aws:SourceVpce", e.id.as_str());
            cx.insert_new("aws:SourceVpc", e.vpc_id.as_str());
            if let Some(ip) = call.source_ip {
                cx.insert_new("aws:VpcSourceIp", ip_text(ip));
            }
        }
        Location::Internal => {}
    }
    if let Some(via) = &call.via {
        cx.insert_new("aws:ViaAWSService", true);
        if !via.called_via.is_empty() {
            let chain: Vec<String> = via.called_via.iter().map(|s| s.to_string()).collect();
            if let Some(first) = chain.first() {
                cx.insert_new("aws:CalledViaFirst", first.clone());
            }
            if let Some(last) = chain.last() {
                cx.insert_new("aws:CalledViaLast", last.clone());
            }
            cx.insert_new("aws:CalledVia", chain);
        }
    } else {
        cx.insert_new("aws:ViaAWSService", false);
    }
    if caller.kind == IdentityType::Anonymous {
        return cx;
    }
    let principal_arn = match caller.session.as_ref().and_then(|s| s.role.as_ref()) {
        Some((role_arn, _, _)) => role_arn.as_str(),
        None => caller.arn.as_str(),
    };
    cx.insert_new("aws:PrincipalArn", principal_arn);
    cx.insert_new("aws:PrincipalAccount", caller.account.as_str());
    cx.insert_new("aws:PrincipalType", caller.kind.principal_type());
    cx.insert_new(
        "aws:PrincipalIsAWSService",
        caller.kind == IdentityType::AwsService,
    );
    cx.insert_new("aws:userid", caller.principal_id.as_str());
    if let Some(name) = &caller.user_name {
        cx.insert_new("aws:username", name.as_str());
    }
    for (k, v) in &caller.tags {
        cx.insert(format!("aws:PrincipalTag/{k}"), v.as_str());
    }
    if let Some(s) = &caller.session {
        cx.insert_new("aws:MultiFactorAuthPresent", s.mfa_authenticated);
        if let Some(at) = s.mfa_auth_time {
            let age = call
                .now
                .duration_since(at)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            cx.insert_new("aws:MultiFactorAuthAge", age);
        }
        let issued = s
            .issued_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        cx.insert_new("aws:TokenIssueTime", time::iso8601(issued as f64, false));
        if let Some(id) = &s.source_identity {
            cx.insert_new("aws:SourceIdentity", id.as_str());
        }
    }
    if let Some(org) = call.org_account(&caller.account) {
        cx.insert_new("aws:PrincipalOrgID", org.org_id.as_str());
        cx.insert_new("aws:PrincipalOrgPaths", org.paths.clone());
    }
    cx
}

/// RCPs bind only the services AWS lists as supporting them.
fn rcp_applies(action: &str) -> bool {
    const SERVICES: [&str; 10] = [
        "s3",
        "sts",
        "kms",
        "sqs",
        "secretsmanager",
        "cognito-identity",
        "logs",
        "dynamodb",
        "ecr",
        "aoss",
    ];
    let prefix = action.split(':').next().unwrap_or("");
    SERVICES.iter().any(|s| prefix.eq_ignore_ascii_case(s))
}

/// The address as policies and the trail see it: an IPv4-mapped IPv6 peer is its IPv4 address.
pub(crate) fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_text(v4),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4_text(v4),
    }
}

/// Dotted decimal, as `Ipv4Addr`'s `Display` writes it (every request's context and record
/// carry the client's address).
fn v4_text(ip: std::net::Ipv4Addr) -> String {
    let mut out = String::with_capacity(15);
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// Decides every check of `authorization` for `call`. The first denial becomes the
/// protocol's access-denied error with AWS's enriched message.
pub(crate) fn authorize(
    call: &Call,
    authorization: Authorization,
    protocol: Protocol,
) -> Result<Vec<CheckOutcome>, AwsError> {
    if authorization.none_required {
        return Ok(Vec::new());
    }
    if authorization.checks.is_empty() {
        // Fail closed: an operation must declare what it does.
        return Err(AwsError::internal(
            "operation declared no authorization checks",
        ));
    }
    let mut base = Some(base_context(call));
    let count = authorization.checks.len();
    let deny_only = authorization.deny_only;
    let mut outcomes = Vec::with_capacity(count);
    for (i, mut check) in authorization.checks.into_iter().enumerate() {
        // Each check adds its own keys to the request's: the last one takes the base instead of a
        // copy, so the common single-check call copies nothing.
        let own = if i + 1 == count {
            base.take()
        } else {
            base.clone()
        };
        let cx = take_check_context(call, own.unwrap_or_else(|| base_context(call)), &mut check);
        let decision = decide_in(call, &cx, &check);
        let allowed = decision.is_allowed()
            || (deny_only && decision.outcome() != policy::Outcome::ExplicitlyDenied);
        let message = (!allowed).then(|| denied_message(call, &check, &decision, &cx));
        outcomes.push(CheckOutcome {
            action: check.action,
            resource: check.resource,
            decision,
        });
        if let Some(message) = message {
            call.record_decisions(&outcomes);
            let status = if protocol == Protocol::Json || protocol == Protocol::RestJson {
                400
            } else {
                403
            };
            return Err(AwsError::new(
                protocol.access_denied_code(),
                status,
                message,
            ));
        }
    }
    call.record_decisions(&outcomes);
    Ok(outcomes)
}

fn denied_message(call: &Call, check: &Check, decision: &Decision, cx: &Context) -> String {
    let resource_account = check.resource_account.as_deref().unwrap_or(call.account());
    let req = Request {
        principal: &call.caller.principal,
        action: &check.action,
        resource: &check.resource,
        resource_account: Some(resource_account),
        context: cx,
    };
    decision.message(&req)
}

/// The request's context `cx` with the keys `check` adds.
fn check_context(call: &Call, cx: Context, check: &Check) -> Context {
    let mut cx = resource_keys(call, cx, check);
    for (k, v) in &check.context {
        cx.insert(k.clone(), v.clone());
    }
    cx
}

/// [`check_context`] for a check that is used up: its keys move into the context.
fn take_check_context(call: &Call, cx: Context, check: &mut Check) -> Context {
    let mut cx = resource_keys(call, cx, check);
    for (k, v) in std::mem::take(&mut check.context) {
        cx.insert(k, v);
    }
    cx
}

/// `cx` with the keys of the resource `check` is on: its account, organization and tags.
fn resource_keys(call: &Call, mut cx: Context, check: &Check) -> Context {
    let resource_account = check.resource_account.as_deref().unwrap_or(call.account());
    // The base context has no resource keys.
    cx.insert_new("aws:ResourceAccount", resource_account);
    if let Some(org) = call.org_account(resource_account) {
        cx.insert_new("aws:ResourceOrgID", org.org_id.as_str());
        cx.insert_new("aws:ResourceOrgPaths", org.paths.clone());
    }
    for (k, v) in &check.resource_tags {
        cx.insert(format!("aws:ResourceTag/{k}"), v.as_str());
    }
    cx
}

/// One decision: gathers the policies that apply to this caller, resource and
/// network location, and asks the engine.
pub(crate) fn decide(call: &Call, base: &Context, check: &Check) -> Decision {
    decide_in(call, &check_context(call, base.clone(), check), check)
}

/// [`decide`] in the context `cx` the check's keys are already in.
fn decide_in(call: &Call, cx: &Context, check: &Check) -> Decision {
    let caller = &call.caller;
    let resource_account = check.resource_account.as_deref().unwrap_or(call.account());
    let req = Request {
        principal: &caller.principal,
        action: &check.action,
        resource: &check.resource,
        resource_account: Some(resource_account),
        context: cx,
    };
    let identity: Vec<&Policy> = caller.identity_policies.iter().map(Arc::as_ref).collect();
    let boundary_list: Vec<&Policy> = caller.boundary.iter().map(Arc::as_ref).collect();
    let session_list: Option<Vec<&Policy>> = caller
        .session
        .as_ref()
        .and_then(|s| s.policies.as_ref())
        .map(|ps| ps.iter().map(Arc::as_ref).collect());
    // SCPs bind the principal's account, RCPs the resource's; neither binds a management account.
    let org = call.org_account(&caller.account).filter(|o| !o.management);
    let scps: Vec<Vec<&Policy>> = org
        .as_ref()
        .map(|o| {
            o.scps
                .iter()
                .map(|lvl| lvl.iter().map(Arc::as_ref).collect())
                .collect()
        })
        .unwrap_or_default();
    let resource_org = call
        .org_account(resource_account)
        .filter(|o| !o.management && rcp_applies(&check.action));
    let rcps: Vec<Vec<&Policy>> = resource_org
        .as_ref()
        .map(|o| {
            o.rcps
                .iter()
                .map(|lvl| lvl.iter().map(Arc::as_ref).collect())
                .collect()
        })
        .unwrap_or_default();
    let vpce_policy = call.location.endpoint().and_then(|e| e.policy());
    let vpce: Vec<&Policy> = vpce_policy.iter().map(Arc::as_ref).collect();
    let set = PolicySet {
        identity: &identity,
        resource: check.resource_policy.as_deref(),
        boundary: caller.boundary.as_ref().map(|_| boundary_list.as_slice()),
        session: session_list.as_deref(),
        scps: &scps,
        rcps: &rcps,
        vpce: &vpce,
        key: check.key_policy.as_deref(),
        trust: check.trust_policy.as_deref(),
    };
    policy::evaluate(&req, &set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn addresses_read_as_display_writes_them() {
        for a in 0..=255u8 {
            for b in [0u8, 1, 9, 10, 99, 100, 199, 255] {
                let v4 = Ipv4Addr::new(a, b, 255 - a, a / 3);
                assert_eq!(ip_text(IpAddr::V4(v4)), v4.to_string());
                assert_eq!(ip_text(IpAddr::V6(v4.to_ipv6_mapped())), v4.to_string());
            }
        }
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        assert_eq!(ip_text(IpAddr::V6(v6)), "2001:db8::1");
    }
}
