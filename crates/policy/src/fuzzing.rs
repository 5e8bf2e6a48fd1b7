//! Entry points shared by the fuzz targets under `fuzz/` and the test that replays their saved
//! corpus. Each checks invariants and panics only when one is broken: input itself never panics.

use crate::{Context, Outcome, Policy, PolicySet, PolicyType, Principal, Request, Severity};

/// Parses `data` as every policy type: `validate` and `Policy::parse` must agree, every finding
/// must point inside the document, and a policy that parses must evaluate.
pub fn policy_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count() as u32;
    for kind in PolicyType::ALL {
        let findings = crate::validate(&text, kind);
        for f in &findings {
            assert!(
                f.line >= 1 && f.line <= lines,
                "finding line {} outside 1..={lines}: {f:?}",
                f.line
            );
            assert!(f.column >= 1, "finding column 0: {f:?}");
        }
        let first_error = findings.iter().find(|f| f.severity == Severity::Error);
        match (Policy::parse(&text, kind), first_error) {
            (Ok(p), None) => {
                let principal = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/R/s")
                    .unwrap_or_else(Principal::anonymous);
                let ctx = Context::new().with("aws:SourceVpce", "vpce-1");
                let req = Request {
                    principal: &principal,
                    action: "s3:GetObject",
                    resource: "arn:aws:s3:::b/k",
                    resource_account: None,
                    context: &ctx,
                };
                let refs = [&p];
                let set = match kind {
                    PolicyType::Identity => PolicySet {
                        identity: &refs,
                        ..Default::default()
                    },
                    PolicyType::Vpce => PolicySet {
                        vpce: &refs,
                        ..Default::default()
                    },
                    PolicyType::Key => PolicySet {
                        key: Some(&p),
                        ..Default::default()
                    },
                    PolicyType::Trust => PolicySet {
                        trust: Some(&p),
                        ..Default::default()
                    },
                    _ => PolicySet {
                        resource: Some(&p),
                        ..Default::default()
                    },
                };
                let d = crate::evaluate(&req, &set);
                let (e, _) = crate::explain(&req, &set);
                assert_eq!(d, e, "evaluate and explain disagree");
            }
            (Err(e), Some(f)) => {
                assert_eq!(
                    (e.line(), e.column(), e.message()),
                    (f.line, f.column, f.message.as_str())
                );
            }
            (r, f) => panic!("parse {:?} disagrees with validate {f:?}", r.err()),
        }
    }
}

/// Splits `data` at NUL bytes into: a selector byte, three policies (identity, resource,
/// VPC endpoint), a permissions boundary, an SCP, an action, a resource, and `key=value`
/// context entries. Policies that do not parse are left out. `evaluate` and `explain` must
/// agree, and an allowed decision must have no blocking policy type.
pub fn policy_evaluate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\0');
    let selector = fields.next().and_then(|s| s.bytes().next()).unwrap_or(0);
    let mut next = || fields.next().unwrap_or("");
    let identity = Policy::parse(next(), PolicyType::Identity).ok();
    let resource = Policy::parse(next(), PolicyType::Resource).ok();
    let vpce = Policy::parse(next(), PolicyType::Vpce).ok();
    let boundary = Policy::parse(next(), PolicyType::Boundary).ok();
    let scp = Policy::parse(next(), PolicyType::Scp).ok();
    let action = next().to_owned();
    let res = next().to_owned();
    let mut ctx = Context::new();
    for kv in fields {
        if let Some((k, v)) = kv.split_once('=') {
            if v.contains(',') {
                ctx.insert(
                    k.to_owned(),
                    v.split(',').map(str::to_owned).collect::<Vec<_>>(),
                );
            } else {
                ctx.insert(k.to_owned(), v);
            }
        }
    }
    let principal = match selector % 7 {
        0 => Principal::root("111122223333"),
        1 => Principal::user("arn:aws:iam::111122223333:user/alice", "AIDAALICE", "alice"),
        2 => Principal::assumed_role(
            "arn:aws:sts::111122223333:assumed-role/R/s",
            "arn:aws:iam::111122223333:role/R",
            "AROAR",
            "s",
        ),
        3 => Principal::federated_user(
            "arn:aws:sts::111122223333:federated-user/f",
            "arn:aws:iam::111122223333:user/alice",
        ),
        4 => Principal::service("s3.amazonaws.com"),
        5 => Principal::user("arn:aws:iam::444455556666:user/bob", "AIDABOB", "bob"),
        _ => Principal::anonymous(),
    };
    ctx.add_principal_keys(&principal);
    let ids: Vec<&Policy> = identity.iter().collect();
    let vp: Vec<&Policy> = vpce.iter().collect();
    let bd: Vec<&Policy> = boundary.iter().collect();
    let scps: Vec<Vec<&Policy>> = scp.iter().map(|p| vec![p]).collect();
    let set = PolicySet {
        identity: &ids,
        resource: resource.as_ref(),
        boundary: (selector & 8 != 0).then_some(bd.as_slice()),
        session: None,
        scps: &scps,
        rcps: &[],
        vpce: &vp,
        key: None,
        trust: None,
    };
    let req = Request {
        principal: &principal,
        action: &action,
        resource: &res,
        resource_account: (selector & 16 != 0).then_some("111122223333"),
        context: &ctx,
    };
    let d = crate::evaluate(&req, &set);
    let (e, trace) = crate::explain(&req, &set);
    assert_eq!(d, e, "evaluate and explain disagree");
    assert_eq!(
        d.is_allowed(),
        d.blocked_by().is_empty() && d.outcome() == Outcome::Allowed
    );
    if !d.is_allowed() {
        assert!(!d.blocked_by().is_empty(), "a denial names no policy type");
    }
    let _ = d.message(&req);
    let _ = trace.to_string();
}
