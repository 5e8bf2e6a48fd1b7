//! Tags (`AddTags`, `DeleteTags`, `ListTags` on any resource by ARN) and `Search`.
//!
//! `Search` is authorized as `sagemaker:Search` on `*`, as in AWS: it shows what Describe
//! would, to anyone allowed to search (AWS documents this; deny Search too when Describe is
//! restricted).

use std::cmp::Ordering;

use gateway::{Authorization, AwsError, Call, Check};
use serde_json::{Map, Value, json};

use super::{base, modify, opt, page, required, shown};
use crate::errors::{limit_exceeded, not_found, validation};
use crate::kinds::{Kind, parse_arn};
use crate::state::Tag;
use crate::tags::{self, MAX_TAGS};
use crate::{SageMaker, time};

fn resource_of(call: &Call, input: &Value) -> Result<(String, Kind, String), AwsError> {
    let arn = required(input, "ResourceArn")?;
    let (account, kind, _) = parse_arn(arn).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value '{arn}' at 'resourceArn' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{{12}}:.+"
        ))
    })?;
    let _ = call;
    Ok((arn.to_string(), kind, account))
}

pub(super) fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let (arn, _, account) = resource_of(call, input)?;
    let existing_tags = svc
        .read(|st| Ok(st.by_arn(&arn).map(|r| r.tags.clone())))?
        .unwrap_or_default();
    let mut check: Check =
        tags::with_resource_tags(base(svc, call, op, arn), &existing_tags).owned_by(account);
    match op {
        "AddTags" => {
            let requested = tags::from_input(input, "Tags")?;
            check = tags::with_request_tags(check, &requested);
        }
        "DeleteTags" => {
            let keys: Vec<String> = super::strings(input, &["TagKeys"]);
            if !keys.is_empty() {
                check = check.with("aws:TagKeys", keys);
            }
        }
        _ => {}
    }
    Ok(Authorization::check(check))
}

fn gone(arn: &str) -> AwsError {
    not_found(format!("Resource {arn} does not exist."))
}

/// The resource an ARN names, as `modify` wants it.
fn slot(svc: &SageMaker, arn: &str) -> Result<(Kind, String), AwsError> {
    svc.read(|st| {
        st.by_arn(arn)
            .map(|r| (r.kind, r.id.clone()))
            .ok_or_else(|| gone(arn))
    })
}

pub(super) async fn add_tags(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (arn, _, account) = resource_of(call, &input)?;
    if account != call.account() {
        return Err(gone(&arn));
    }
    let requested = tags::from_input(&input, "Tags")?;
    let (kind, id) = slot(svc, &arn)?;
    let added = requested.clone();
    modify(svc, call, kind, &id, gone(&arn), move |r, _| {
        let merged = tags::merged(&r.tags, &requested);
        if merged.len() > MAX_TAGS {
            return Err(limit_exceeded(format!(
                "The resource {} would have {} tags; the limit is {MAX_TAGS}.",
                r.arn,
                merged.len()
            )));
        }
        r.tags = merged;
        Ok(())
    })
    .await?;
    Ok(json!({"Tags": added}))
}

pub(super) async fn delete_tags(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (arn, _, account) = resource_of(call, &input)?;
    if account != call.account() {
        return Err(gone(&arn));
    }
    let keys = super::strings(&input, &["TagKeys"]);
    let (kind, id) = slot(svc, &arn)?;
    modify(svc, call, kind, &id, gone(&arn), move |r, _| {
        r.tags.retain(|t| !keys.contains(&t.key));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub(super) fn list_tags(svc: &SageMaker, call: &Call, input: &Value) -> Result<Value, AwsError> {
    let (arn, _, account) = resource_of(call, input)?;
    if account != call.account() {
        return Err(gone(&arn));
    }
    let all: Vec<Tag> = svc
        .read(|st| Ok(st.by_arn(&arn).map(|r| r.tags.clone())))?
        .ok_or_else(|| gone(&arn))?;
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map(|n| n.clamp(1, 100) as usize)
        .unwrap_or(50);
    let (tags, next) = page(all, opt(input, "NextToken"), max)?;
    let mut out = json!({ "Tags": tags });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Search

/// The value at a dotted property name (`ResourceConfig.InstanceType`, `Tags.team`): every
/// value reached, list items included.
fn property<'a>(record: &'a Value, name: &str) -> Vec<&'a Value> {
    let mut cur: Vec<&Value> = vec![record];
    let parts: Vec<&str> = name.split('.').collect();
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i];
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Array(items) if p == "Tags" || items.iter().all(Value::is_object) => {
                    next.extend(items.iter().filter_map(|x| x.get(p)));
                }
                Value::Object(m) => {
                    if p == "Tags"
                        && let Some(Value::Array(tags)) = m.get("Tags")
                        && let Some(key) = parts.get(i + 1)
                    {
                        next.extend(
                            tags.iter()
                                .filter(|t| t.get("Key").and_then(Value::as_str) == Some(*key))
                                .filter_map(|t| t.get("Value")),
                        );
                        i += 1;
                        continue;
                    }
                    if let Some(x) = m.get(p) {
                        next.push(x);
                    }
                }
                _ => {}
            }
        }
        // A property that names list items reaches through the list.
        cur = next
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) if items.iter().all(|x| !x.is_object()) => {
                    items.iter().collect()
                }
                other => vec![other],
            })
            .collect();
        i += 1;
    }
    cur
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn compare(a: &Value, b: &str) -> Option<Ordering> {
    match (as_number(a), b.parse::<f64>().ok()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(text(a).as_str().cmp(b)),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn filter_matches(record: &Value, f: &Value) -> Result<bool, AwsError> {
    let name = f
        .get("Name")
        .and_then(Value::as_str)
        .ok_or_else(|| validation("A search filter must have a Name."))?;
    let op = f
        .get("Operator")
        .and_then(Value::as_str)
        .unwrap_or("Equals");
    let want = f.get("Value").and_then(Value::as_str);
    let values = property(record, name);
    let need = || {
        want.ok_or_else(|| validation(format!("The {op} operator of filter {name} needs a Value.")))
    };
    Ok(match op {
        "Exists" => !values.is_empty(),
        "NotExists" => values.is_empty(),
        "Equals" => {
            let w = need()?;
            values
                .iter()
                .any(|v| compare(v, w) == Some(Ordering::Equal))
        }
        "NotEquals" => {
            let w = need()?;
            !values
                .iter()
                .any(|v| compare(v, w) == Some(Ordering::Equal))
        }
        "GreaterThan" => {
            let w = need()?;
            values
                .iter()
                .any(|v| compare(v, w) == Some(Ordering::Greater))
        }
        "GreaterThanOrEqualTo" => {
            let w = need()?;
            values
                .iter()
                .any(|v| compare(v, w).is_some_and(|o| o != Ordering::Less))
        }
        "LessThan" => {
            let w = need()?;
            values.iter().any(|v| compare(v, w) == Some(Ordering::Less))
        }
        "LessThanOrEqualTo" => {
            let w = need()?;
            values
                .iter()
                .any(|v| compare(v, w).is_some_and(|o| o != Ordering::Greater))
        }
        "Contains" => {
            let w = need()?;
            values.iter().any(|v| text(v).contains(w))
        }
        "In" => {
            let w = need()?;
            let set: Vec<&str> = w.split(',').map(str::trim).collect();
            values.iter().any(|v| set.contains(&text(v).as_str()))
        }
        other => return Err(validation(format!("Unsupported search operator {other}."))),
    })
}

fn expression_matches(record: &Value, e: &Value) -> Result<bool, AwsError> {
    let or = e.get("Operator").and_then(Value::as_str) == Some("Or");
    let mut results = Vec::new();
    if let Some(Value::Array(fs)) = e.get("Filters") {
        for f in fs {
            results.push(filter_matches(record, f)?);
        }
    }
    if let Some(Value::Array(nested)) = e.get("NestedFilters") {
        for n in nested {
            let prop = n
                .get("NestedPropertyName")
                .and_then(Value::as_str)
                .unwrap_or("");
            let items = property(record, prop);
            let mut any = false;
            for item in items {
                let elems: Vec<&Value> = match item {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for el in elems {
                    let wrapped = json!({ prop.rsplit('.').next().unwrap_or(prop): el });
                    let mut all = true;
                    if let Some(Value::Array(fs)) = n.get("Filters") {
                        for f in fs {
                            all &= filter_matches(&wrapped, f)?;
                        }
                    }
                    any |= all;
                }
            }
            results.push(any);
        }
    }
    if let Some(Value::Array(subs)) = e.get("SubExpressions") {
        for s in subs {
            results.push(expression_matches(record, s)?);
        }
    }
    Ok(if results.is_empty() {
        true
    } else if or {
        results.iter().any(|r| *r)
    } else {
        results.iter().all(|r| *r)
    })
}

pub(super) fn search(svc: &SageMaker, call: &Call, input: &Value) -> Result<Value, AwsError> {
    let resource = required(input, "Resource")?;
    let (kind, member) = match resource {
        "TrainingJob" => (Some(Kind::TrainingJob), "TrainingJob"),
        "HyperParameterTuningJob" => (
            Some(Kind::HyperParameterTuningJob),
            "HyperParameterTuningJob",
        ),
        "Endpoint" => (Some(Kind::Endpoint), "Endpoint"),
        "Model" => (Some(Kind::Model), "Model"),
        _ => (None, ""),
    };
    let now = time::of_call(call);
    let mut records: Vec<Value> = match kind {
        Some(k) => svc.read(|st| {
            Ok(st
                .of_kind(call.account(), k)
                .map(|r| {
                    let mut doc = shown(k, r.view(now));
                    doc["Tags"] = json!(r.tags);
                    doc
                })
                .collect())
        })?,
        None => Vec::new(),
    };
    if let Some(e) = input.get("SearchExpression").filter(|e| e.is_object()) {
        let mut kept = Vec::new();
        for r in records {
            if expression_matches(&r, e)? {
                kept.push(r);
            }
        }
        records = kept;
    }
    let sort_by = opt(input, "SortBy").unwrap_or("CreationTime").to_string();
    records.sort_by(|a, b| {
        let x = property(a, &sort_by).first().cloned().cloned();
        let y = property(b, &sort_by).first().cloned().cloned();
        match (x, y) {
            (Some(x), Some(y)) => compare(&x, &text(&y)).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        }
    });
    if opt(input, "SortOrder") != Some("Ascending") {
        records.reverse();
    }
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map(|n| n.clamp(1, 100) as usize)
        .unwrap_or(10);
    let (records, next) = page(records, opt(input, "NextToken"), max)?;
    let results: Vec<Value> = records
        .into_iter()
        .map(|r| {
            let mut m = Map::new();
            let item = if kind == Some(Kind::Model) {
                json!({ "Model": r })
            } else {
                r
            };
            m.insert(member.to_string(), item);
            Value::Object(m)
        })
        .collect();
    let mut out = json!({ "Results": results });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Value {
        json!({
            "TrainingJobName": "a", "CreationTime": 100.0,
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2},
            "InputDataConfig": [{"ChannelName": "train"}, {"ChannelName": "validation"}],
            "Tags": [{"Key": "team", "Value": "a"}]
        })
    }

    fn f(name: &str, op: &str, value: Option<&str>) -> Value {
        let mut x = json!({"Name": name, "Operator": op});
        if let Some(v) = value {
            x["Value"] = json!(v);
        }
        x
    }

    #[test]
    fn search_filters_reach_nested_members_lists_and_tags() {
        let j = job();
        let cases = [
            (
                f("ResourceConfig.InstanceType", "Equals", Some("ml.m5.large")),
                true,
            ),
            (
                f("ResourceConfig.InstanceCount", "GreaterThan", Some("1")),
                true,
            ),
            (
                f("ResourceConfig.InstanceCount", "LessThan", Some("2")),
                false,
            ),
            (f("Tags.team", "Equals", Some("a")), true),
            (f("Tags.team", "Equals", Some("b")), false),
            (f("Tags.owner", "NotExists", None), true),
            (
                f("InputDataConfig.ChannelName", "Equals", Some("validation")),
                true,
            ),
            (f("TrainingJobName", "In", Some("x, a")), true),
            (f("TrainingJobName", "Contains", Some("z")), false),
            (f("CreationTime", "GreaterThanOrEqualTo", Some("100")), true),
        ];
        for (i, (filter, want)) in cases.iter().enumerate() {
            assert_eq!(filter_matches(&j, filter).unwrap(), *want, "case {i}");
        }
        let or = json!({"Operator": "Or", "Filters": [f("TrainingJobName", "Equals", Some("x")), f("Tags.team", "Equals", Some("a"))]});
        assert!(expression_matches(&j, &or).unwrap());
        let and = json!({"Filters": [f("TrainingJobName", "Equals", Some("x")), f("Tags.team", "Equals", Some("a"))]});
        assert!(!expression_matches(&j, &and).unwrap());
        let nested = json!({"NestedFilters": [{"NestedPropertyName": "InputDataConfig",
            "Filters": [f("InputDataConfig.ChannelName", "Equals", Some("train"))]}]});
        assert!(expression_matches(&j, &nested).unwrap());
        assert!(filter_matches(&j, &f("X", "Bogus", Some("1"))).is_err());
    }

    #[test]
    fn malformed_search_expressions_never_panic() {
        let j = job();
        let names = [
            "",
            ".",
            "..",
            "Tags",
            "Tags.",
            "Tags.team.x",
            "ResourceConfig..InstanceType",
            "InputDataConfig.0",
        ];
        let ops = [
            "Equals",
            "NotEquals",
            "GreaterThan",
            "LessThanOrEqualTo",
            "Contains",
            "Exists",
            "NotExists",
            "In",
            "X",
        ];
        let values = [
            None,
            Some(""),
            Some("1e400"),
            Some("NaN"),
            Some(",,,"),
            Some("-0"),
        ];
        for n in names {
            for o in ops {
                for v in values {
                    let _ = filter_matches(&j, &f(n, o, v));
                    let _ = expression_matches(
                        &j,
                        &json!({"Filters": [f(n, o, v)], "Operator": o,
                        "NestedFilters": [{"NestedPropertyName": n, "Filters": [f(n, o, v)]}],
                        "SubExpressions": [{"Filters": "x"}, {"SubExpressions": [{}]}]}),
                    );
                }
            }
        }
        for garbage in [
            json!(null),
            json!([]),
            json!({"Filters": [1, "x", null]}),
            json!({"NestedFilters": [{"Filters": [{}]}]}),
        ] {
            let _ = expression_matches(&j, &garbage);
            let _ = expression_matches(
                &garbage,
                &json!({"Filters": [f("Tags.team", "Equals", Some("a"))]}),
            );
        }
    }
}
