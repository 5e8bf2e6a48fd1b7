//! The order resources are created in: every `Ref`, `Fn::GetAtt`, `Fn::Sub` variable and
//! `DependsOn` is an edge; resources whose condition is false are left out; cycles and
//! references to nothing are template errors, as CloudFormation reports them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::intrinsic::{PSEUDO_PARAMETERS, condition_uses, references};
use crate::template::{Invalid, Template};

/// The resources to create and what each waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Resources whose condition holds, dependencies first (template order among equals).
    pub order: Vec<String>,
    /// Resource → the resources it depends on (created ones only).
    pub deps: BTreeMap<String, BTreeSet<String>>,
}

impl Plan {
    /// The order to delete in: dependents first.
    pub fn deletion_order(&self) -> Vec<String> {
        self.order.iter().rev().cloned().collect()
    }
}

fn unresolved(names: &BTreeSet<String>, block: &str) -> Invalid {
    Invalid(format!(
        "Template format error: Unresolved resource dependencies [{}] in the {block} block of the template",
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// Checks every reference of the template and orders the resources whose condition holds.
/// `attributes` gives the `Fn::GetAtt` attributes of the resource types Perimeter creates.
pub fn plan(
    template: &Template,
    conditions: &BTreeMap<String, bool>,
    attributes: &dyn Fn(&str) -> Option<&'static [&'static str]>,
) -> Result<Plan, Invalid> {
    let params: BTreeSet<&str> = template
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let declared: BTreeSet<&str> = template
        .resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    let active: BTreeSet<&str> = template
        .resources
        .iter()
        .filter(|r| {
            r.condition
                .as_ref()
                .is_none_or(|c| conditions.get(c).copied().unwrap_or(false))
        })
        .map(|r| r.logical_id.as_str())
        .collect();
    let known =
        |n: &str| params.contains(n) || declared.contains(n) || PSEUDO_PARAMETERS.contains(&n);

    let mut used_conditions = BTreeSet::new();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut missing = BTreeSet::new();
    for r in &template.resources {
        condition_uses(&r.properties, &mut used_conditions);
        let mut refs = BTreeSet::new();
        references(&r.properties, conditions, &mut refs);
        check_getatt(template, &r.properties, attributes)?;
        for n in &refs {
            if !known(n) {
                missing.insert(n.clone());
            }
        }
        for d in &r.depends_on {
            if !declared.contains(d.as_str()) {
                missing.insert(d.clone());
            }
        }
        if !active.contains(r.logical_id.as_str()) {
            continue;
        }
        let mut mine = BTreeSet::new();
        for n in refs {
            if declared.contains(n.as_str()) {
                if !active.contains(n.as_str()) {
                    return Err(Invalid(format!(
                        "Template format error: Unresolved resource dependencies [{n}] in the Resources block of the template: {n} is not created because its condition is false"
                    )));
                }
                mine.insert(n);
            }
        }
        for d in &r.depends_on {
            if active.contains(d.as_str()) {
                mine.insert(d.clone());
            }
        }
        if mine.contains(&r.logical_id) {
            return Err(Invalid(format!(
                "Circular dependency between resources: [{}]",
                r.logical_id
            )));
        }
        deps.insert(r.logical_id.clone(), mine);
    }
    if !missing.is_empty() {
        return Err(unresolved(&missing, "Resources"));
    }

    let mut out_missing = BTreeSet::new();
    for o in &template.outputs {
        let mut refs = BTreeSet::new();
        references(&o.value, conditions, &mut refs);
        if let Some(e) = &o.export_name {
            references(e, conditions, &mut refs);
        }
        condition_uses(&o.value, &mut used_conditions);
        check_getatt(template, &o.value, attributes)?;
        for n in refs {
            if !known(&n) {
                out_missing.insert(n);
            }
        }
        if let Some(c) = &o.condition {
            used_conditions.insert(c.clone());
        }
    }
    if !out_missing.is_empty() {
        return Err(unresolved(&out_missing, "Outputs"));
    }
    for c in &used_conditions {
        if !template.conditions.contains_key(c) {
            return Err(Invalid(format!(
                "Template format error: Unresolved condition dependency {c} in Fn::If"
            )));
        }
    }

    // Kahn's algorithm, choosing the earliest ready resource in template order.
    let mut order = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<&str> = template
        .resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .filter(|id| active.contains(id))
        .collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|id| {
            deps.get(*id)
                .is_none_or(|d| d.iter().all(|x| done.contains(x)))
        });
        match ready {
            Some(i) => {
                let id = pending.remove(i);
                done.insert(id.to_string());
                order.push(id.to_string());
            }
            None => {
                let stuck: BTreeSet<&str> = pending.iter().copied().collect();
                let cycle = cycle_members(&stuck, &deps);
                return Err(Invalid(format!(
                    "Circular dependency between resources: [{}]",
                    cycle.join(", ")
                )));
            }
        }
    }
    Ok(Plan { order, deps })
}

/// The resources on a cycle among `stuck` (those that can reach themselves).
fn cycle_members(stuck: &BTreeSet<&str>, deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let reaches_self = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = deps
            .get(start)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default();
        while let Some(n) = todo.pop() {
            if n == start {
                return true;
            }
            if seen.insert(n.clone())
                && let Some(d) = deps.get(&n)
            {
                todo.extend(d.iter().cloned());
            }
        }
        false
    };
    let members: Vec<String> = stuck
        .iter()
        .filter(|n| reaches_self(n))
        .map(|n| n.to_string())
        .collect();
    if members.is_empty() {
        stuck.iter().map(|n| n.to_string()).collect()
    } else {
        members
    }
}

/// Checks each literal `Fn::GetAtt` (and `${Res.Attr}` in `Fn::Sub`) against the attributes
/// the target's type has.
fn check_getatt(
    template: &Template,
    v: &Value,
    attributes: &dyn Fn(&str) -> Option<&'static [&'static str]>,
) -> Result<(), Invalid> {
    let mut pairs = Vec::new();
    getatt_pairs(v, &mut pairs);
    for (res, attr) in pairs {
        let Some(r) = template.resource(&res) else {
            return Err(Invalid(format!(
                "Template error: instance of Fn::GetAtt references undefined resource {res}"
            )));
        };
        if let Some(attrs) = attributes(&r.kind)
            && !attrs.contains(&attr.as_str())
        {
            return Err(Invalid(format!(
                "Template error: resource {res} does not support attribute type {attr} in Fn::GetAtt"
            )));
        }
    }
    Ok(())
}

fn getatt_pairs(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, arg) in m {
                match k.as_str() {
                    "Fn::GetAtt" => match arg {
                        Value::Array(a) if a.len() == 2 => {
                            if let (Some(r), Some(at)) = (a[0].as_str(), a[1].as_str()) {
                                out.push((r.to_string(), at.to_string()));
                            }
                        }
                        Value::String(s) => {
                            if let Some((r, at)) = s.split_once('.') {
                                out.push((r.to_string(), at.to_string()));
                            }
                        }
                        _ => {}
                    },
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Value::String(s) => (s.as_str(), None),
                            Value::Array(a) if a.len() == 2 => {
                                (a[0].as_str().unwrap_or(""), a[1].as_object())
                            }
                            _ => ("", None),
                        };
                        for piece in crate::intrinsic::sub_pieces(text).unwrap_or_default() {
                            if let crate::intrinsic::SubPiece::Var(name) = piece
                                && !vars.is_some_and(|m| m.contains_key(&name))
                                && !name.starts_with("AWS::")
                                && let Some((r, at)) = name.split_once('.')
                            {
                                out.push((r.to_string(), at.to_string()));
                            }
                        }
                        if let Some(m) = vars {
                            for v in m.values() {
                                getatt_pairs(v, out);
                            }
                        }
                    }
                    _ => getatt_pairs(arg, out),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                getatt_pairs(v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<&'static [&'static str]> {
        None
    }

    fn plan_of(text: &str) -> Result<Plan, Invalid> {
        let t = Template::parse(text).expect("template");
        let p = crate::template::resolve_parameters(&t, &[], None).expect("params");
        let c = crate::intrinsic::conditions(&t, &p, &crate::intrinsic::Pseudo::default())
            .expect("conditions");
        plan(&t, &c, &none)
    }

    #[test]
    fn orders_by_dependencies_then_template_order() {
        let p = plan_of(
            r#"
Resources:
  Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, SubnetIds: [!Ref Subnet]}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !GetAtt Vpc.VpcId}
  Log:
    Type: AWS::Logs::LogGroup
  Vpc:
    Type: AWS::EC2::VPC
    DependsOn: Log
"#,
        )
        .expect("plan");
        assert_eq!(p.order, ["Log", "Vpc", "Subnet", "Endpoint"]);
        assert_eq!(p.deletion_order(), ["Endpoint", "Subnet", "Vpc", "Log"]);
    }

    #[test]
    fn conditions_drop_resources() {
        let p = plan_of(
            r#"
Parameters:
  Make: {Type: String, Default: "no"}
Conditions:
  Yes: !Equals [!Ref Make, "yes"]
Resources:
  A: {Type: AWS::S3::Bucket, Condition: Yes}
  B:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !If [Yes, !Ref A, plain]
"#,
        )
        .expect("plan");
        assert_eq!(p.order, ["B"]);
    }

    #[test]
    fn cycles_and_unknown_references_are_errors() {
        let e = plan_of(
            "Resources:\n  A: {Type: AWS::S3::Bucket, DependsOn: B}\n  B: {Type: AWS::S3::Bucket, Properties: {X: !Ref A}}\n  C: {Type: AWS::S3::Bucket}\n",
        )
        .expect_err("cycle");
        assert_eq!(e.0, "Circular dependency between resources: [A, B]");
        let e = plan_of("Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {X: !Ref Nope}}\n")
            .expect_err("unresolved");
        assert_eq!(
            e.0,
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        );
        let e = plan_of(
            "Resources:\n  A: {Type: AWS::S3::Bucket}\nOutputs:\n  O: {Value: !GetAtt Gone.Arn}\n",
        )
        .expect_err("outputs");
        assert!(e.0.contains("undefined resource Gone"), "{e}");
        let e = plan_of(
            "Resources:\n  A: {Type: AWS::S3::Bucket}\nOutputs:\n  O: {Value: !Ref Gone}\n",
        )
        .expect_err("outputs");
        assert!(e.0.contains("in the Outputs block"), "{e}");
    }

    #[test]
    fn getatt_attributes_are_checked_for_known_types() {
        let t = Template::parse(
            "Resources:\n  R: {Type: AWS::IAM::Role}\n  B: {Type: AWS::S3::Bucket, Properties: {X: !GetAtt R.Nope}}\n",
        )
        .expect("template");
        let attrs = |k: &str| -> Option<&'static [&'static str]> {
            (k == "AWS::IAM::Role").then_some(&["Arn", "RoleId"][..])
        };
        let e = plan(&t, &BTreeMap::new(), &attrs).expect_err("attribute");
        assert_eq!(
            e.0,
            "Template error: resource R does not support attribute type Nope in Fn::GetAtt"
        );
    }
}
