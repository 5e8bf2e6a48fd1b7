//! `SimulatePrincipalPolicy` and `SimulateCustomPolicy`, answered by the policy engine
//! (`policy::explain`) in AWS's response shape, and the context-key listings.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check};
use policy::{Context, Outcome, Policy, PolicySet, PolicyType, Principal, Request, Value};
use serde::{Deserialize, Serialize};

use crate::iam::operation;
use crate::names::{self, invalid_input, no_such_entity};
use crate::state::{Account, State};
use crate::wire::paginate;
use crate::{Iam, caller};

/// One policy given to the simulation and where it came from.
#[derive(Clone)]
struct Source {
    id: String,
    /// `user`, `group`, `role`, `aws-managed`, `user-managed`, `resource`, `none`.
    kind: &'static str,
    policy: Arc<Policy>,
}

fn parse_input(text: &str, kind: PolicyType, label: &str) -> Result<Arc<Policy>, AwsError> {
    Policy::parse(text, kind).map(Arc::new).map_err(|e| {
        invalid_input(format!(
            "{label}: {} (line {}, column {})",
            e.message(),
            e.line(),
            e.column()
        ))
    })
}

fn input_sources(list: &[String], kind: PolicyType, label: &str) -> Result<Vec<Source>, AwsError> {
    list.iter()
        .enumerate()
        .map(|(i, text)| {
            let id = format!("{label}.{}", i + 1);
            Ok(Source {
                policy: parse_input(text, kind, &id)?,
                id,
                kind: "none",
            })
        })
        .collect()
}

/// `ContextEntry`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextEntry {
    pub context_key_name: Option<String>,
    #[serde(default)]
    pub context_key_values: Vec<String>,
    pub context_key_type: Option<String>,
}

/// `Position`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PositionOut {
    pub line: u32,
    pub column: u32,
}

/// `Statement` (a matched statement).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatementOut {
    pub source_policy_id: String,
    pub source_policy_type: &'static str,
    pub start_position: PositionOut,
    pub end_position: PositionOut,
}

/// `PermissionsBoundaryDecisionDetail`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundaryDetailOut {
    pub allowed_by_permissions_boundary: bool,
}

/// `EvaluationResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResultOut {
    pub eval_action_name: String,
    pub eval_resource_name: String,
    pub eval_decision: &'static str,
    pub matched_statements: Vec<StatementOut>,
    pub missing_context_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_decision_detail: Option<BoundaryDetailOut>,
}

/// `SimulatePolicyResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulatePolicyResponse {
    pub evaluation_results: Vec<EvaluationResultOut>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// Everything one simulation needs.
struct Simulation {
    principal: Principal,
    identity: Vec<Source>,
    boundary: Vec<Source>,
    resource: Option<Source>,
    resource_account: Option<String>,
    context: Context,
}

fn decision_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allowed => "allowed",
        Outcome::ImplicitlyDenied => "implicitDeny",
        Outcome::ExplicitlyDenied => "explicitDeny",
    }
}

/// The index in a trace label such as `identity[2]`.
fn label_index(label: &str) -> usize {
    label
        .split_once('[')
        .and_then(|(_, rest)| rest.split(']').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where a statement starting at (line, column) ends, from the document's JSON.
fn statement_end(text: &str, line: u32, column: u32) -> PositionOut {
    let fallback = PositionOut { line, column };
    let Ok(doc) = policy::json::parse(text) else {
        return fallback;
    };
    let Some(stmts) = doc.get("Statement") else {
        return fallback;
    };
    let nodes: Vec<&policy::json::Node> = match stmts.as_array() {
        Some(a) => a.iter().collect(),
        None => vec![stmts],
    };
    for n in nodes {
        if policy::json::position(text, n.start) == (line, column) {
            let (l, c) = policy::json::position(text, n.end);
            return PositionOut { line: l, column: c };
        }
    }
    fallback
}

fn context_from(entries: &[ContextEntry]) -> Result<Context, AwsError> {
    let mut cx = Context::new();
    for e in entries {
        let Some(key) = &e.context_key_name else {
            return Err(invalid_input(
                "ContextKeyName is required for every context entry.",
            ));
        };
        let list = e
            .context_key_type
            .as_deref()
            .is_some_and(|t| t.ends_with("List"));
        let value = if list || e.context_key_values.len() != 1 {
            Value::Multi(e.context_key_values.clone())
        } else {
            Value::Single(e.context_key_values[0].clone())
        };
        cx.insert(key.to_owned(), value);
    }
    Ok(cx)
}

fn account_of(arn: &str) -> Option<String> {
    if arn.len() == 12 && arn.bytes().all(|b| b.is_ascii_digit()) {
        return Some(arn.to_string());
    }
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

impl Simulation {
    fn run(&self, actions: &[String], resources: &[String]) -> Vec<EvaluationResultOut> {
        let identity: Vec<&Policy> = self.identity.iter().map(|s| s.policy.as_ref()).collect();
        let boundary: Vec<&Policy> = self.boundary.iter().map(|s| s.policy.as_ref()).collect();
        let set = PolicySet {
            identity: &identity,
            resource: self.resource.as_ref().map(|s| s.policy.as_ref()),
            boundary: (!boundary.is_empty()).then_some(boundary.as_slice()),
            ..PolicySet::default()
        };
        let mut out = Vec::with_capacity(actions.len() * resources.len());
        for action in actions {
            for resource in resources {
                let req = Request {
                    principal: &self.principal,
                    action,
                    resource,
                    resource_account: self.resource_account.as_deref(),
                    context: &self.context,
                };
                let (decision, trace) = policy::explain(&req, &set);
                let outcome = decision.outcome();
                let wanted_effect = match outcome {
                    Outcome::Allowed => Some("Allow"),
                    Outcome::ExplicitlyDenied => Some("Deny"),
                    Outcome::ImplicitlyDenied => None,
                };
                let mut matched = Vec::new();
                let mut missing: Vec<String> = Vec::new();
                for pt in &trace.policies {
                    let source = match pt.kind {
                        PolicyType::Identity => self.identity.get(label_index(&pt.label)),
                        PolicyType::Boundary => self.boundary.get(label_index(&pt.label)),
                        PolicyType::Resource => self.resource.as_ref(),
                        _ => None,
                    };
                    for st in &pt.statements {
                        if st.action && st.resource != Some(false) {
                            for c in &st.conditions {
                                if c.request_values.is_none()
                                    && !missing.iter().any(|m| m.eq_ignore_ascii_case(&c.key))
                                {
                                    missing.push(c.key.clone());
                                }
                            }
                        }
                        let counts = st.applies
                            && Some(st.effect) == wanted_effect
                            && pt.kind != PolicyType::Boundary;
                        if let (true, Some(src)) = (counts, source) {
                            matched.push(StatementOut {
                                source_policy_id: src.id.clone(),
                                source_policy_type: src.kind,
                                start_position: PositionOut {
                                    line: st.line,
                                    column: st.column,
                                },
                                end_position: statement_end(src.policy.text(), st.line, st.column),
                            });
                        }
                    }
                }
                let boundary_detail = (!self.boundary.is_empty()).then(|| BoundaryDetailOut {
                    allowed_by_permissions_boundary: !decision
                        .blocked_by()
                        .contains(&PolicyType::Boundary),
                });
                out.push(EvaluationResultOut {
                    eval_action_name: action.clone(),
                    eval_resource_name: resource.clone(),
                    eval_decision: decision_name(outcome),
                    matched_statements: matched,
                    missing_context_values: missing,
                    permissions_boundary_decision_detail: boundary_detail,
                });
            }
        }
        out
    }
}

/// The principal's own policies, for `SimulatePrincipalPolicy`.
fn principal_sources(
    iam: &Iam,
    st: &State,
    acct: &Account,
    arn: &str,
) -> Result<(Principal, Vec<Source>, Vec<Source>), AwsError> {
    let parsed =
        names::parse_iam_arn(arn).ok_or_else(|| invalid_input(format!("Invalid ARN: {arn}")))?;
    if parsed.account != acct.id() {
        return Err(no_such_entity(format!("The entity {arn} cannot be found.")));
    }
    let managed = |arns: &[String]| -> Vec<Source> {
        arns.iter()
            .filter_map(|a| iam.managed(st, acct.id(), a))
            .filter_map(|m| {
                Some(Source {
                    id: m.name.clone(),
                    kind: if m.is_aws_managed() {
                        "aws-managed"
                    } else {
                        "user-managed"
                    },
                    policy: m.default_policy()?,
                })
            })
            .collect()
    };
    let inline = |kind: &'static str,
                  docs: &std::collections::BTreeMap<
        String,
        crate::state::Doc<crate::state::IdentityDoc>,
    >|
     -> Vec<Source> {
        docs.iter()
            .filter_map(|(n, d)| {
                Some(Source {
                    id: n.clone(),
                    kind,
                    policy: d.policy.clone()?,
                })
            })
            .collect()
    };
    let boundary = |b: &Option<String>| -> Vec<Source> {
        b.as_ref()
            .map(|a| managed(std::slice::from_ref(a)))
            .unwrap_or_default()
    };
    match parsed.kind {
        "user" => {
            let u = acct.user(parsed.name)?;
            let mut sources = inline("user", &u.inline);
            sources.extend(managed(&u.attached));
            for g in &u.groups {
                if let Ok(group) = acct.group(g) {
                    sources.extend(inline("group", &group.inline));
                    sources.extend(managed(&group.attached));
                }
            }
            let p = caller::user_caller(iam, st, acct, u, None).principal;
            Ok((p, sources, boundary(&u.boundary)))
        }
        "role" => {
            let r = acct.role(parsed.name)?;
            let mut sources = inline("role", &r.inline);
            sources.extend(managed(&r.attached));
            let session = format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                acct.id(),
                r.name,
                r.name
            );
            let mut p = Principal::assumed_role(&session, &r.arn(), &r.id, &r.name);
            for t in &r.tags {
                p = p.with_tag(&t.key, &t.value);
            }
            Ok((p, sources, boundary(&r.boundary)))
        }
        "group" => {
            let g = acct.group(parsed.name)?;
            let mut sources = inline("group", &g.inline);
            sources.extend(managed(&g.attached));
            Ok((
                Principal::user(&g.arn(), &g.id, &g.name),
                sources,
                Vec::new(),
            ))
        }
        _ => Err(invalid_input(format!(
            "Invalid ARN: {arn}. The PolicySourceArn must be a user, group or role."
        ))),
    }
}

macro_rules! simulate_input {
    ($name:ident { $($extra:tt)* }) => {
        #[derive(Debug, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            $($extra)*
            #[serde(default)]
            pub permissions_boundary_policy_input_list: Vec<String>,
            pub action_names: Vec<String>,
            #[serde(default)]
            pub resource_arns: Vec<String>,
            pub resource_policy: Option<String>,
            pub resource_owner: Option<String>,
            pub caller_arn: Option<String>,
            #[serde(default)]
            pub context_entries: Vec<ContextEntry>,
            pub resource_handling_option: Option<String>,
            pub max_items: Option<i64>,
            pub marker: Option<String>,
        }
    };
}

simulate_input!(SimulatePrincipalPolicy {
    pub policy_source_arn: String,
    #[serde(default)]
    pub policy_input_list: Vec<String>,
});

simulate_input!(SimulateCustomPolicy {
    pub policy_input_list: Vec<String>,
});

/// Runs a simulation and pages its results.
fn simulate(
    sim: Simulation,
    actions: &[String],
    resources: &[String],
    marker: Option<&str>,
    max: Option<i64>,
) -> Result<SimulatePolicyResponse, AwsError> {
    let star = ["*".to_string()];
    let resources = if resources.is_empty() {
        &star[..]
    } else {
        resources
    };
    let results = sim.run(actions, resources);
    let page = paginate(results, marker, max)?;
    Ok(SimulatePolicyResponse {
        evaluation_results: page.items,
        is_truncated: page.is_truncated,
        marker: page.marker,
    })
}

fn resource_source(text: &Option<String>) -> Result<Option<Source>, AwsError> {
    text.as_ref()
        .map(|t| {
            Ok(Source {
                id: "ResourcePolicy".into(),
                kind: "resource",
                policy: parse_input(t, PolicyType::Resource, "ResourcePolicy")?,
            })
        })
        .transpose()
}

impl SimulatePrincipalPolicy {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:SimulatePrincipalPolicy",
            self.policy_source_arn.clone(),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<SimulatePolicyResponse, AwsError> {
        let extra = input_sources(
            &self.policy_input_list,
            PolicyType::Identity,
            "PolicyInputList",
        )?;
        let boundary_inputs = input_sources(
            &self.permissions_boundary_policy_input_list,
            PolicyType::Boundary,
            "PermissionsBoundaryPolicyInputList",
        )?;
        let resource = resource_source(&self.resource_policy)?;
        let mut context = context_from(&self.context_entries)?;
        let (principal, mut identity, boundary) = svc.read(|st| {
            let acct = st.account(call.account())?;
            principal_sources(svc, st, acct, &self.policy_source_arn)
        })?;
        identity.extend(extra);
        let principal = match &self.caller_arn {
            Some(a) => Principal::from_arn(a)
                .ok_or_else(|| invalid_input(format!("Invalid CallerArn: {a}")))?,
            None => principal,
        };
        context.add_principal_keys(&principal);
        let sim = Simulation {
            principal,
            identity,
            boundary: if boundary_inputs.is_empty() {
                boundary
            } else {
                boundary_inputs
            },
            resource,
            resource_account: self
                .resource_owner
                .as_deref()
                .and_then(account_of)
                .or_else(|| Some(call.account().to_string())),
            context,
        };
        simulate(
            sim,
            &self.action_names,
            &self.resource_arns,
            self.marker.as_deref(),
            self.max_items,
        )
    }
}
operation!(SimulatePrincipalPolicy -> SimulatePolicyResponse);

impl SimulateCustomPolicy {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:SimulateCustomPolicy",
            "*",
        )))
    }

    async fn run(self, _: &Iam, call: &Call) -> Result<SimulatePolicyResponse, AwsError> {
        let identity = input_sources(
            &self.policy_input_list,
            PolicyType::Identity,
            "PolicyInputList",
        )?;
        let boundary = input_sources(
            &self.permissions_boundary_policy_input_list,
            PolicyType::Boundary,
            "PermissionsBoundaryPolicyInputList",
        )?;
        let resource = resource_source(&self.resource_policy)?;
        let mut context = context_from(&self.context_entries)?;
        let principal = match &self.caller_arn {
            Some(a) => {
                let p = Principal::from_arn(a)
                    .ok_or_else(|| invalid_input(format!("Invalid CallerArn: {a}")))?;
                context.add_principal_keys(&p);
                p
            }
            None => {
                let arn = format!("arn:aws:iam::{}:user/SimulatedUser", call.account());
                Principal::user(&arn, "AIDASIMULATEDUSER0000", "SimulatedUser")
            }
        };
        let sim = Simulation {
            principal,
            identity,
            boundary,
            resource,
            resource_account: self
                .resource_owner
                .as_deref()
                .and_then(account_of)
                .or_else(|| Some(call.account().to_string())),
            context,
        };
        simulate(
            sim,
            &self.action_names,
            &self.resource_arns,
            self.marker.as_deref(),
            self.max_items,
        )
    }
}
operation!(SimulateCustomPolicy -> SimulatePolicyResponse);

/// The condition keys a policy document uses, in document order.
pub(crate) fn context_keys(text: &str, out: &mut Vec<String>) {
    let Ok(doc) = policy::json::parse(text) else {
        return;
    };
    let Some(stmts) = doc.get("Statement") else {
        return;
    };
    let nodes: Vec<&policy::json::Node> = match stmts.as_array() {
        Some(a) => a.iter().collect(),
        None => vec![stmts],
    };
    for s in nodes {
        let Some(cond) = s.get("Condition").and_then(|c| c.as_object()) else {
            continue;
        };
        for (_, keys) in cond {
            for (k, _) in keys.as_object().unwrap_or(&[]) {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(&k.name)) {
                    out.push(k.name.to_string());
                }
            }
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextKeysResponse {
    pub context_key_names: Vec<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetContextKeysForPrincipalPolicy {
    pub policy_source_arn: String,
    #[serde(default)]
    pub policy_input_list: Vec<String>,
}

impl GetContextKeysForPrincipalPolicy {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:GetContextKeysForPrincipalPolicy",
            self.policy_source_arn.clone(),
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<ContextKeysResponse, AwsError> {
        let (_, sources, _) = svc.read(|st| {
            let acct = st.account(call.account())?;
            principal_sources(svc, st, acct, &self.policy_source_arn)
        })?;
        let mut keys = Vec::new();
        for s in &sources {
            context_keys(s.policy.text(), &mut keys);
        }
        for t in &self.policy_input_list {
            context_keys(t, &mut keys);
        }
        Ok(ContextKeysResponse {
            context_key_names: keys,
        })
    }
}
operation!(GetContextKeysForPrincipalPolicy -> ContextKeysResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetContextKeysForCustomPolicy {
    pub policy_input_list: Vec<String>,
}

impl GetContextKeysForCustomPolicy {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "iam:GetContextKeysForCustomPolicy",
            "*",
        )))
    }

    async fn run(self, _: &Iam, _: &Call) -> Result<ContextKeysResponse, AwsError> {
        let mut keys = Vec::new();
        for t in &self.policy_input_list {
            context_keys(t, &mut keys);
        }
        Ok(ContextKeysResponse {
            context_key_names: keys,
        })
    }
}
operation!(GetContextKeysForCustomPolicy -> ContextKeysResponse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_give_indexes() {
        assert_eq!(label_index("identity[2]"), 2);
        assert_eq!(label_index("resource"), 0);
        assert_eq!(label_index("scps[1][0]"), 1);
    }

    #[test]
    fn context_keys_are_listed_once() {
        let text = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"sagemaker.amazonaws.com"}}},
            {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Null":{"aws:MultiFactorAuthAge":"true"},"StringEquals":{"IAM:PassedToService":"x"}}}
        ]}"#;
        let mut keys = Vec::new();
        context_keys(text, &mut keys);
        assert_eq!(
            keys,
            vec![
                "iam:PassedToService".to_string(),
                "aws:MultiFactorAuthAge".to_string()
            ]
        );
    }

    #[test]
    fn statement_end_positions_come_from_the_document() {
        let text = "{\n \"Statement\": [\n  {\"Effect\": \"Allow\"}\n ]\n}";
        let end = statement_end(text, 3, 3);
        assert_eq!((end.line, end.column), (3, 22));
    }

    #[test]
    fn context_entries_become_values() {
        let cx = context_from(&[
            ContextEntry {
                context_key_name: Some("iam:PassedToService".into()),
                context_key_values: vec!["sagemaker.amazonaws.com".into()],
                context_key_type: Some("string".into()),
            },
            ContextEntry {
                context_key_name: Some("aws:TagKeys".into()),
                context_key_values: vec!["a".into()],
                context_key_type: Some("stringList".into()),
            },
        ])
        .unwrap();
        assert_eq!(
            cx.get("iam:passedtoservice"),
            Some(&Value::Single("sagemaker.amazonaws.com".into()))
        );
        assert_eq!(cx.get("aws:TagKeys"), Some(&Value::Multi(vec!["a".into()])));
    }
}
