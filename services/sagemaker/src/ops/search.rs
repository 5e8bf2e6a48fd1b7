//! `Search`: SageMaker's query language over the resources it can search.
//!
//! Of the `ResourceType`s botocore lists, this service keeps `TrainingJob`,
//! `HyperParameterTuningJob`, `Endpoint` and `Model`; the others (experiments, pipelines,
//! feature groups, model packages, ...) have no resources here, so searching them finds
//! nothing. Each result is the record AWS returns: the Describe document with its `Tags`
//! (`TrainingJob`, `HyperParameterTuningJobSearchEntity`, `Endpoint`), or for a model the
//! Model Dashboard's `ModelDashboardModel` (the model, the endpoints that host it and its
//! last batch transform job).
//!
//! A `SearchExpression` is parsed and checked whole before anything is evaluated
//! ([`Expression::parse`]): at least one filter, nested filter or subexpression at every
//! level, at most 50 of them in all, at most one `Contains`, a `Value` for every operator but
//! `Exists`/`NotExists`, nested filters only on their nested property. Property names are
//! dotted paths into the record (`ResourceConfig.InstanceType`); a path through a list
//! reaches every item; `Tags.<key>`, `HyperParameters.<name>` and `Metrics.<name>` (a
//! training job's final metrics) name map entries. Numbers compare as numbers, timestamps as
//! instants (the value in ISO 8601, `YYYY-mm-ddTHH:MM:SS`), and text only with `Equals`,
//! `NotEquals`, `Contains`, `In`, `Exists` and `NotExists`, as AWS documents.
//!
//! Authorization is `sagemaker:Search` on `*`, as in AWS. Search shows what Describe would,
//! to anyone allowed to search (AWS documents that it "may provide access to otherwise
//! restricted data"); `VisibilityConditions` limit the results and are supplied as
//! `sagemaker:SearchVisibilityCondition/<Key>`, so a policy can require them.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use gateway::{AwsError, Call, Check};
use serde_json::{Map, Value, json};

use super::{base, opt, page, required, shown};
use crate::errors::validation;
use crate::kinds::Kind;
use crate::state::{Resource, State};
use crate::{SageMaker, time};

/// The most filters, nested filters and subexpressions an expression holds in all.
const MAX_ELEMENTS: usize = 50;

/// A filter's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEqualTo,
    LessThan,
    LessThanOrEqualTo,
    Contains,
    Exists,
    NotExists,
    In,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        Some(match name {
            "Equals" => Operator::Equals,
            "NotEquals" => Operator::NotEquals,
            "GreaterThan" => Operator::GreaterThan,
            "GreaterThanOrEqualTo" => Operator::GreaterThanOrEqualTo,
            "LessThan" => Operator::LessThan,
            "LessThanOrEqualTo" => Operator::LessThanOrEqualTo,
            "Contains" => Operator::Contains,
            "Exists" => Operator::Exists,
            "NotExists" => Operator::NotExists,
            "In" => Operator::In,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Operator::Equals => "Equals",
            Operator::NotEquals => "NotEquals",
            Operator::GreaterThan => "GreaterThan",
            Operator::GreaterThanOrEqualTo => "GreaterThanOrEqualTo",
            Operator::LessThan => "LessThan",
            Operator::LessThanOrEqualTo => "LessThanOrEqualTo",
            Operator::Contains => "Contains",
            Operator::Exists => "Exists",
            Operator::NotExists => "NotExists",
            Operator::In => "In",
        }
    }
}

/// One `Filter`.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub name: String,
    pub operator: Operator,
    pub value: Option<String>,
}

/// One `NestedFilters` entry: a list property and filters one item must all satisfy.
#[derive(Debug, Clone)]
pub(crate) struct Nested {
    pub property: String,
    pub filters: Vec<Filter>,
}

/// A parsed `SearchExpression`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expression {
    pub filters: Vec<Filter>,
    pub nested: Vec<Nested>,
    pub subexpressions: Vec<Expression>,
    pub or: bool,
}

fn list<'a>(v: &'a Value, member: &str, at: &str) -> Result<&'a [Value], AwsError> {
    match v.get(member) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(validation(format!("{at}.{member} must be a list."))),
    }
}

fn filter_of(v: &Value, at: &str) -> Result<Filter, AwsError> {
    if !v.is_object() {
        return Err(validation(format!("{at} must be a Filter object.")));
    }
    let name = v
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| validation(format!("{at}.Name must be specified.")))?
        .to_string();
    let value = match v.get("Value") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(validation(format!("{at}.Value must be a string."))),
    };
    let operator = match v.get("Operator").and_then(Value::as_str) {
        // "If you specify a Value, but not an Operator, SageMaker uses the equals operator."
        None => Operator::Equals,
        Some(o) => Operator::parse(o).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{o}' at '{}' failed to satisfy constraint: \
                 Member must satisfy enum value set: [Equals, NotEquals, GreaterThan, \
                 GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, Contains, Exists, NotExists, In]",
                lower_path(&format!("{at}.Operator"))
            ))
        })?,
    };
    if value.is_none() && !matches!(operator, Operator::Exists | Operator::NotExists) {
        return Err(validation(format!(
            "The {} operator requires a Value for property {name}.",
            operator.name()
        )));
    }
    Ok(Filter {
        name,
        operator,
        value,
    })
}

/// `searchExpression.filters.1.operator` as AWS names members in validation errors.
fn lower_path(at: &str) -> String {
    at.split('.')
        .map(super::lower_first)
        .collect::<Vec<_>>()
        .join(".")
}

impl Expression {
    /// Parses and checks a `SearchExpression`.
    pub(crate) fn parse(v: &Value) -> Result<Expression, AwsError> {
        let mut elements = 0usize;
        let mut contains = 0usize;
        let e = Self::parse_at(v, "SearchExpression", 0, &mut elements, &mut contains)?;
        if elements > MAX_ELEMENTS {
            return Err(validation(format!(
                "The SearchExpression has {elements} SubExpressions, NestedFilters and Filters; \
                 the maximum is {MAX_ELEMENTS}."
            )));
        }
        if contains > 1 {
            return Err(validation("'CONTAINS' operator usage limit of 1 exceeded."));
        }
        Ok(e)
    }

    fn parse_at(
        v: &Value,
        at: &str,
        depth: usize,
        elements: &mut usize,
        contains: &mut usize,
    ) -> Result<Expression, AwsError> {
        if !v.is_object() {
            return Err(validation(format!(
                "{at} must be a SearchExpression object."
            )));
        }
        // Every level counts at least one element, so this bounds the recursion too.
        if depth > MAX_ELEMENTS {
            return Err(validation(format!(
                "The SearchExpression nests deeper than {MAX_ELEMENTS} levels."
            )));
        }
        let or = match v.get("Operator").and_then(Value::as_str) {
            None | Some("And") => false,
            Some("Or") => true,
            Some(o) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{o}' at '{}' failed to satisfy constraint: \
                     Member must satisfy enum value set: [And, Or]",
                    lower_path(&format!("{at}.Operator"))
                )));
            }
        };
        let mut e = Expression {
            or,
            ..Expression::default()
        };
        for (i, f) in list(v, "Filters", at)?.iter().enumerate() {
            let f = filter_of(f, &format!("{at}.Filters.{}", i + 1))?;
            *contains += usize::from(f.operator == Operator::Contains);
            e.filters.push(f);
        }
        for (i, n) in list(v, "NestedFilters", at)?.iter().enumerate() {
            let here = format!("{at}.NestedFilters.{}", i + 1);
            let property = n
                .get("NestedPropertyName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .ok_or_else(|| validation(format!("{here}.NestedPropertyName must be specified.")))?
                .to_string();
            let mut filters = Vec::new();
            for (j, f) in list(n, "Filters", &here)?.iter().enumerate() {
                let f = filter_of(f, &format!("{here}.Filters.{}", j + 1))?;
                let inside = f
                    .name
                    .strip_prefix(property.as_str())
                    .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1);
                if !inside {
                    return Err(validation(format!(
                        "The nested filter property {} is not a property of {property}.",
                        f.name
                    )));
                }
                *contains += usize::from(f.operator == Operator::Contains);
                filters.push(f);
            }
            if filters.is_empty() {
                return Err(validation(format!(
                    "{here}.Filters must contain at least one filter."
                )));
            }
            e.nested.push(Nested { property, filters });
        }
        for (i, s) in list(v, "SubExpressions", at)?.iter().enumerate() {
            e.subexpressions.push(Self::parse_at(
                s,
                &format!("{at}.SubExpressions.{}", i + 1),
                depth + 1,
                elements,
                contains,
            )?);
        }
        let here = e.filters.len() + e.nested.len() + e.subexpressions.len();
        if here == 0 {
            return Err(validation(format!(
                "{at} must contain at least one of Filters, NestedFilters or SubExpressions."
            )));
        }
        *elements += here;
        Ok(e)
    }

    /// Whether `record` satisfies the expression.
    pub(crate) fn matches(&self, record: &Value) -> Result<bool, AwsError> {
        let mut results =
            Vec::with_capacity(self.filters.len() + self.nested.len() + self.subexpressions.len());
        for f in &self.filters {
            results.push(f.matches(record)?);
        }
        for n in &self.nested {
            results.push(n.matches(record)?);
        }
        for s in &self.subexpressions {
            results.push(s.matches(record)?);
        }
        Ok(if self.or {
            results.iter().any(|r| *r)
        } else {
            results.iter().all(|r| *r)
        })
    }
}

impl Nested {
    /// Satisfied when one item of the list satisfies every filter.
    fn matches(&self, record: &Value) -> Result<bool, AwsError> {
        let items = property(record, &self.property);
        let prefix_len = self.property.len() + 1;
        for item in items {
            let mut all = true;
            for f in &self.filters {
                let inner = Filter {
                    name: f.name.get(prefix_len..).unwrap_or("").to_string(),
                    operator: f.operator,
                    value: f.value.clone(),
                };
                if !inner.matches_as(item, &f.name)? {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Map-valued members whose keys follow the member name whole (`Tags.team:a.b`).
const MAPS: [&str; 3] = ["Tags", "HyperParameters", "Metrics"];

/// Every value reached by the dotted property `name` in `record`: a path through a list
/// reaches each item; `Tags.<key>` is a tag's value, `HyperParameters.<name>` a
/// hyperparameter, `Metrics.<name>` a final metric's value.
pub(crate) fn property<'a>(record: &'a Value, name: &str) -> Vec<&'a Value> {
    let mut cur: Vec<&'a Value> = vec![record];
    let mut rest = name;
    while !rest.is_empty() {
        let (segment, tail) = rest.split_once('.').unwrap_or((rest, ""));
        let mut next = Vec::new();
        if MAPS.contains(&segment) && !tail.is_empty() {
            for v in &cur {
                next.extend(map_entry(v, segment, tail));
            }
            return flatten(next);
        }
        for v in cur {
            if let Value::Object(m) = v
                && let Some(x) = m.get(segment)
            {
                next.push(x);
            }
        }
        cur = flatten(next);
        rest = tail;
    }
    cur
}

/// List values stand for their items.
fn flatten(values: Vec<&Value>) -> Vec<&Value> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Value::Array(items) => out.extend(items.iter().filter(|x| !x.is_null())),
            Value::Null => {}
            other => out.push(other),
        }
    }
    out
}

fn map_entry<'a>(v: &'a Value, map: &str, key: &str) -> Vec<&'a Value> {
    match map {
        "Tags" => match v.get("Tags") {
            Some(Value::Array(tags)) => tags
                .iter()
                .filter(|t| t.get("Key").and_then(Value::as_str) == Some(key))
                .filter_map(|t| t.get("Value"))
                .collect(),
            _ => Vec::new(),
        },
        "Metrics" => match v.get("FinalMetricDataList") {
            Some(Value::Array(metrics)) => metrics
                .iter()
                .filter(|m| m.get("MetricName").and_then(Value::as_str) == Some(key))
                .filter_map(|m| m.get("Value"))
                .collect(),
            _ => Vec::new(),
        },
        _ => v.get(map).and_then(|m| m.get(key)).into_iter().collect(),
    }
}

/// Whether the last segment of a property names a timestamp.
fn is_timestamp(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.ends_with("Time") || last.ends_with("Timestamp")
}

/// A property value as the filter compares it.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Number(f64),
    Bool(bool),
    Text(String),
}

fn typed(v: &Value) -> Option<Typed> {
    match v {
        Value::Number(n) => n.as_f64().map(Typed::Number),
        Value::Bool(b) => Some(Typed::Bool(*b)),
        Value::String(s) => Some(Typed::Text(s.clone())),
        _ => None,
    }
}

fn invalid_value(name: &str, value: &str, what: &str) -> AwsError {
    validation(format!(
        "The value '{value}' of the filter on {name} is not {what}."
    ))
}

impl Filter {
    pub(crate) fn matches(&self, record: &Value) -> Result<bool, AwsError> {
        self.matches_as(record, &self.name)
    }

    /// Evaluates on `record`; `shown` names the property in errors.
    fn matches_as(&self, record: &Value, shown: &str) -> Result<bool, AwsError> {
        let values = property(record, &self.name);
        let want = self.value.as_deref().unwrap_or("");
        match self.operator {
            Operator::Exists => return Ok(!values.is_empty()),
            Operator::NotExists => return Ok(values.is_empty()),
            _ => {}
        }
        let hyperparameter = self.name.starts_with("HyperParameters.");
        let (mut hits, mut seen) = (0usize, 0usize);
        for v in &values {
            let Some(t) = typed(v) else { continue };
            seen += 1;
            let hit = match t {
                Typed::Number(x) => self.number(shown, x, want)?,
                Typed::Bool(b) => self.boolean(shown, b, want)?,
                Typed::Text(s)
                    if hyperparameter
                        && !matches!(self.operator, Operator::Contains | Operator::In) =>
                {
                    match (s.trim().parse::<f64>(), want.trim().parse::<f64>()) {
                        (Ok(x), Ok(w)) if x.is_finite() && w.is_finite() => {
                            // "If the specified Value is an integer, the decimal
                            // hyperparameter values are treated as integers."
                            let x = if want.contains(['.', 'e', 'E']) {
                                x
                            } else {
                                x.trunc()
                            };
                            self.number_value(shown, x, w)?
                        }
                        _ => self.text(shown, &s, want)?,
                    }
                }
                Typed::Text(s) => self.text(shown, &s, want)?,
            };
            hits += usize::from(hit);
        }
        Ok(match self.operator {
            // Not equal: no value equals (a missing property is not equal).
            Operator::NotEquals => hits == seen,
            _ => hits > 0,
        })
    }

    /// For `NotEquals` the result says "differs"; for the rest "satisfies".
    fn number(&self, shown: &str, x: f64, want: &str) -> Result<bool, AwsError> {
        let w = if is_timestamp(&self.name) {
            gateway::time::parse_timestamp(want).ok_or_else(|| {
                invalid_value(shown, want, "an ISO 8601 timestamp (YYYY-mm-ddTHH:MM:SS)")
            })?
        } else {
            want.trim()
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite())
                .ok_or_else(|| invalid_value(shown, want, "a number"))?
        };
        self.number_value(shown, x, w)
    }

    fn number_value(&self, shown: &str, x: f64, w: f64) -> Result<bool, AwsError> {
        Ok(match self.operator {
            Operator::Equals => x == w,
            Operator::NotEquals => x != w,
            Operator::GreaterThan => x > w,
            Operator::GreaterThanOrEqualTo => x >= w,
            Operator::LessThan => x < w,
            Operator::LessThanOrEqualTo => x <= w,
            Operator::Contains | Operator::In => {
                return Err(text_only(self.operator, shown));
            }
            Operator::Exists | Operator::NotExists => true,
        })
    }

    fn boolean(&self, shown: &str, b: bool, want: &str) -> Result<bool, AwsError> {
        let w = match want.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(invalid_value(shown, want, "true or false")),
        };
        Ok(match self.operator {
            Operator::Equals => b == w,
            Operator::NotEquals => b != w,
            Operator::Exists | Operator::NotExists => true,
            other => {
                return Err(validation(format!(
                    "The {} operator is not supported for the Boolean property {shown}.",
                    other.name()
                )));
            }
        })
    }

    fn text(&self, shown: &str, s: &str, want: &str) -> Result<bool, AwsError> {
        Ok(match self.operator {
            Operator::Equals => s == want,
            Operator::NotEquals => s != want,
            Operator::Contains => s.contains(want),
            Operator::In => want.split(',').map(str::trim).any(|w| w == s),
            Operator::Exists | Operator::NotExists => true,
            other => {
                return Err(validation(format!(
                    "The {} operator is not supported for the text property {shown}.",
                    other.name()
                )));
            }
        })
    }
}

fn text_only(op: Operator, name: &str) -> AwsError {
    validation(format!(
        "The {} operator is supported only for text properties; {name} is not text.",
        op.name()
    ))
}

/// Orders two property values: numbers, then text, then Booleans; a record without the
/// property sorts last whatever the order.
fn order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(t: &Typed) -> u8 {
        match t {
            Typed::Number(_) => 0,
            Typed::Text(_) => 1,
            Typed::Bool(_) => 2,
        }
    }
    match (a.and_then(typed), b.and_then(typed)) {
        (Some(Typed::Number(x)), Some(Typed::Number(y))) => x.total_cmp(&y),
        (Some(Typed::Text(x)), Some(Typed::Text(y))) => x.cmp(&y),
        (Some(Typed::Bool(x)), Some(Typed::Bool(y))) => x.cmp(&y),
        (Some(x), Some(y)) => rank(&x).cmp(&rank(&y)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

// ---------------------------------------------------------------------------------------
// The operation

/// The kinds of `ResourceType` this service keeps, with the `SearchRecord` member.
fn searched(resource: &str) -> Option<(Kind, &'static str)> {
    Some(match resource {
        "TrainingJob" => (Kind::TrainingJob, "TrainingJob"),
        "HyperParameterTuningJob" => (Kind::HyperParameterTuningJob, "HyperParameterTuningJob"),
        "Endpoint" => (Kind::Endpoint, "Endpoint"),
        "Model" => (Kind::Model, "Model"),
        _ => return None,
    })
}

/// The members of a `ModelDashboardModel`; other property names of a model record are the
/// model's own (`ModelName` is `Model.ModelName`).
const DASHBOARD: [&str; 5] = [
    "Model",
    "Endpoints",
    "LastBatchTransformJob",
    "MonitoringSchedules",
    "ModelCard",
];

/// A property name as it applies to records of `kind`.
fn resolved(kind: Kind, name: &str) -> String {
    let first = name.split('.').next().unwrap_or(name);
    if kind == Kind::Model && !DASHBOARD.contains(&first) {
        format!("Model.{name}")
    } else {
        name.to_string()
    }
}

impl Filter {
    fn resolved(&self, kind: Kind) -> Filter {
        Filter {
            name: resolved(kind, &self.name),
            operator: self.operator,
            value: self.value.clone(),
        }
    }
}

impl Expression {
    /// The expression with its property names as they apply to records of `kind`.
    fn resolved(&self, kind: Kind) -> Expression {
        Expression {
            filters: self.filters.iter().map(|f| f.resolved(kind)).collect(),
            nested: self
                .nested
                .iter()
                .map(|n| Nested {
                    property: resolved(kind, &n.property),
                    filters: n.filters.iter().map(|f| f.resolved(kind)).collect(),
                })
                .collect(),
            subexpressions: self
                .subexpressions
                .iter()
                .map(|s| s.resolved(kind))
                .collect(),
            or: self.or,
        }
    }
}

/// The `VisibilityConditions` of a request: values by key.
fn visibility(input: &Value) -> Result<BTreeMap<String, Vec<String>>, AwsError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let conditions = match input.get("VisibilityConditions") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(c)) => c,
        Some(_) => return Err(validation("VisibilityConditions must be a list.")),
    };
    for (i, c) in conditions.iter().enumerate() {
        let key = c
            .get("Key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                validation(format!(
                    "VisibilityConditions.{}.Key must be specified.",
                    i + 1
                ))
            })?;
        let value = c.get("Value").and_then(Value::as_str).unwrap_or("");
        out.entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(out)
}

/// The check of a Search: `sagemaker:Search` on `*` with
/// `sagemaker:SearchVisibilityCondition/<Key>` for each visibility condition.
pub(super) fn check(svc: &SageMaker, call: &Call, input: &Value) -> Result<Check, AwsError> {
    let mut check = base(svc, call, "Search", "*".into());
    for (key, values) in visibility(input)? {
        check = check.with(format!("sagemaker:SearchVisibilityCondition/{key}"), values);
    }
    Ok(check)
}

/// A document with its tags, as a search record shows it.
fn with_tags(r: &Resource, now: f64) -> Value {
    let mut doc = shown(r.kind, r.view(now));
    if let Value::Object(m) = &mut doc {
        m.insert("Tags".into(), json!(r.tags));
    }
    doc
}

/// A model's `ModelDashboardModel`: the model, the endpoints whose configuration hosts it,
/// its latest batch transform job.
fn dashboard(st: &State, r: &Resource, now: f64) -> Value {
    let model = with_tags(r, now);
    let name = model
        .get("ModelName")
        .and_then(Value::as_str)
        .map(|n| Kind::Model.id_of(n))
        .unwrap_or_default();
    let hosts = |config_name: &str| {
        st.get(
            &r.account,
            Kind::EndpointConfig,
            &Kind::EndpointConfig.id_of(config_name),
        )
        .is_some_and(|c| {
            property(&c.doc, "ProductionVariants.ModelName")
                .iter()
                .any(|m| m.as_str().map(|m| Kind::Model.id_of(m)).as_deref() == Some(name.as_str()))
        })
    };
    let endpoints: Vec<Value> = st
        .of_kind(&r.account, Kind::Endpoint)
        .map(|e| e.view(now))
        .filter(|e| {
            e.get("EndpointConfigName")
                .and_then(Value::as_str)
                .is_some_and(hosts)
        })
        .map(|e| {
            let mut out = Map::new();
            for m in [
                "EndpointName",
                "EndpointArn",
                "CreationTime",
                "LastModifiedTime",
                "EndpointStatus",
            ] {
                if let Some(v) = e.get(m) {
                    out.insert(m.into(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    let last_transform = st
        .of_kind(&r.account, Kind::TransformJob)
        .filter(|t| {
            t.doc
                .get("ModelName")
                .and_then(Value::as_str)
                .map(|m| Kind::Model.id_of(m))
                .as_deref()
                == Some(name.as_str())
        })
        .max_by(|a, b| a.created.total_cmp(&b.created))
        .map(|t| with_tags(t, now));
    let mut out = json!({ "Model": model, "Endpoints": endpoints });
    if let Some(t) = last_transform {
        out["LastBatchTransformJob"] = t;
    }
    out
}

pub(super) fn search(svc: &SageMaker, call: &Call, input: &Value) -> Result<Value, AwsError> {
    let resource = required(input, "Resource")?;
    let expression = match input.get("SearchExpression") {
        None | Some(Value::Null) => None,
        Some(e) => Some(Expression::parse(e)?),
    };
    let visible = visibility(input)?;
    let cross_account = opt(input, "CrossAccountFilterOption") == Some("CrossAccount");
    let now = time::of_call(call);
    let kind = searched(resource).filter(|_| !cross_account);
    // Resources made discoverable from other accounts: none are, here.
    let records: Vec<(Value, f64, String)> = match kind {
        Some((k, _)) => svc.read(|st| {
            Ok(st
                .of_kind(call.account(), k)
                .map(|r| {
                    let record = if k == Kind::Model {
                        dashboard(st, r, now)
                    } else {
                        with_tags(r, now)
                    };
                    (record, r.created, r.arn.clone())
                })
                .collect())
        })?,
        None => Vec::new(),
    };
    let k = kind.map(|(k, _)| k).unwrap_or(Kind::TrainingJob);
    let expression = expression.map(|e| e.resolved(k));
    let mut kept = Vec::new();
    for (record, created, arn) in records {
        if let Some(e) = &expression
            && !e.matches(&record)?
        {
            continue;
        }
        let shown_to_caller = visible.iter().all(|(key, values)| {
            property(&record, &resolved(k, key))
                .iter()
                .any(|v| v.as_str().is_some_and(|s| values.iter().any(|w| w == s)))
        });
        if shown_to_caller {
            kept.push((record, created, arn));
        }
    }
    let sort_by = resolved(k, opt(input, "SortBy").unwrap_or("LastModifiedTime"));
    let ascending = opt(input, "SortOrder") == Some("Ascending");
    kept.sort_by(|(a, ca, aa), (b, cb, ab)| {
        let x = property(a, &sort_by).first().copied();
        let y = property(b, &sort_by).first().copied();
        let primary = match (x, y) {
            (Some(_), Some(_)) if !ascending => order(y, x),
            // A record without the property sorts last in either order.
            _ => order(x, y),
        };
        // Ties: newest first, then by ARN, so pages are stable.
        primary
            .then_with(|| cb.total_cmp(ca))
            .then_with(|| aa.cmp(ab))
    });
    let total = kept.len();
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map(|n| n.clamp(1, 100) as usize)
        .unwrap_or(10);
    let (records, next) = page(kept, opt(input, "NextToken"), max)?;
    let member = kind.map(|(_, m)| m).unwrap_or("TrainingJob");
    let results: Vec<Value> = records
        .into_iter()
        .map(|(r, _, _)| json!({ member: r }))
        .collect();
    let mut out = json!({
        "Results": results,
        "TotalHits": {"Value": total, "Relation": "EqualTo"},
    });
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
            "TrainingJobName": "churn-xgb", "CreationTime": 1_700_000_000.0,
            "TrainingJobStatus": "Completed",
            "EnableNetworkIsolation": true,
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2},
            "HyperParameters": {"eta": "0.25", "max_depth": "6", "objective": "binary:logistic"},
            "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.91}],
            "InputDataConfig": [
                {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "s3://data/churn/train"}}},
                {"ChannelName": "validation", "DataSource": {"S3DataSource": {"S3Uri": "s3://data/churn/val"}}}
            ],
            "VpcConfig": {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]},
            "Tags": [{"Key": "team", "Value": "a"}, {"Key": "sagemaker:domain-arn", "Value": "arn:d/1"}]
        })
    }

    fn f(name: &str, op: &str, value: Option<&str>) -> Value {
        let mut x = json!({"Name": name, "Operator": op});
        if let Some(v) = value {
            x["Value"] = json!(v);
        }
        x
    }

    fn eval(expression: Value) -> Result<bool, AwsError> {
        Expression::parse(&expression)?.matches(&job())
    }

    #[test]
    fn every_operator_on_every_kind_of_property() {
        // (filter, expected): a table over operators and property types.
        let cases: Vec<(Value, bool)> = vec![
            // Text.
            (f("TrainingJobName", "Equals", Some("churn-xgb")), true),
            (f("TrainingJobName", "Equals", Some("Churn-XGB")), false),
            (f("TrainingJobName", "NotEquals", Some("other")), true),
            (f("TrainingJobName", "NotEquals", Some("churn-xgb")), false),
            (f("TrainingJobName", "Contains", Some("xgb")), true),
            (f("TrainingJobName", "Contains", Some("lgbm")), false),
            (
                f("TrainingJobStatus", "In", Some("InProgress, Completed")),
                true,
            ),
            (f("TrainingJobStatus", "In", Some("Failed,Stopped")), false),
            (f("TrainingJobName", "Exists", None), true),
            (f("FailureReason", "Exists", None), false),
            (f("FailureReason", "NotExists", None), true),
            // A Value without an Operator is Equals.
            (
                json!({"Name": "TrainingJobName", "Value": "churn-xgb"}),
                true,
            ),
            // Numbers.
            (f("ResourceConfig.InstanceCount", "Equals", Some("2")), true),
            (
                f("ResourceConfig.InstanceCount", "NotEquals", Some("2")),
                false,
            ),
            (
                f("ResourceConfig.InstanceCount", "GreaterThan", Some("1")),
                true,
            ),
            (
                f("ResourceConfig.InstanceCount", "GreaterThan", Some("2")),
                false,
            ),
            (
                f(
                    "ResourceConfig.InstanceCount",
                    "GreaterThanOrEqualTo",
                    Some("2"),
                ),
                true,
            ),
            (
                f("ResourceConfig.InstanceCount", "LessThan", Some("2")),
                false,
            ),
            (
                f(
                    "ResourceConfig.InstanceCount",
                    "LessThanOrEqualTo",
                    Some("2.0"),
                ),
                true,
            ),
            // Timestamps, as ISO 8601.
            (
                f("CreationTime", "GreaterThan", Some("2023-11-14T00:00:00")),
                true,
            ),
            (
                f("CreationTime", "LessThan", Some("2023-11-14T00:00:00")),
                false,
            ),
            (
                f(
                    "CreationTime",
                    "GreaterThanOrEqualTo",
                    Some("2023-11-14T22:13:20Z"),
                ),
                true,
            ),
            (
                f("CreationTime", "GreaterThan", Some("2023-11-14T22:13:20Z")),
                false,
            ),
            // Booleans.
            (f("EnableNetworkIsolation", "Equals", Some("true")), true),
            (
                f("EnableNetworkIsolation", "NotEquals", Some("True")),
                false,
            ),
            // Tags, hyperparameters, metrics.
            (f("Tags.team", "Equals", Some("a")), true),
            (f("Tags.team", "Equals", Some("b")), false),
            (
                f("Tags.sagemaker:domain-arn", "Equals", Some("arn:d/1")),
                true,
            ),
            (f("Tags.owner", "NotExists", None), true),
            (f("Tags.owner", "NotEquals", Some("x")), true),
            (f("HyperParameters.eta", "LessThan", Some("0.5")), true),
            (f("HyperParameters.eta", "GreaterThan", Some("0.2")), true),
            // An integer Value compares decimal hyperparameters as integers: 0.25 is 0.
            (f("HyperParameters.eta", "Equals", Some("0")), true),
            (
                f(
                    "HyperParameters.max_depth",
                    "GreaterThanOrEqualTo",
                    Some("6"),
                ),
                true,
            ),
            (
                f(
                    "HyperParameters.objective",
                    "Equals",
                    Some("binary:logistic"),
                ),
                true,
            ),
            (
                f("Metrics.validation:auc", "GreaterThan", Some("0.9")),
                true,
            ),
            (
                f("Metrics.validation:auc", "GreaterThan", Some("0.95")),
                false,
            ),
            // Lists: any item.
            (
                f("InputDataConfig.ChannelName", "Equals", Some("validation")),
                true,
            ),
            (f("VpcConfig.Subnets", "Equals", Some("subnet-2")), true),
            (f("VpcConfig.Subnets", "NotEquals", Some("subnet-2")), false),
            (
                f(
                    "InputDataConfig.DataSource.S3DataSource.S3Uri",
                    "Contains",
                    Some("churn/val"),
                ),
                true,
            ),
        ];
        for (i, (filter, want)) in cases.into_iter().enumerate() {
            let got = eval(json!({ "Filters": [filter.clone()] }));
            assert_eq!(got.ok(), Some(want), "case {i}: {filter}");
        }
    }

    #[test]
    fn operators_refused_for_the_type_of_their_property() {
        let cases = [
            f("TrainingJobName", "GreaterThan", Some("a")),
            f("TrainingJobName", "LessThanOrEqualTo", Some("a")),
            f("ResourceConfig.InstanceCount", "Contains", Some("2")),
            f("ResourceConfig.InstanceCount", "In", Some("1,2")),
            f("ResourceConfig.InstanceCount", "Equals", Some("two")),
            f("CreationTime", "GreaterThan", Some("yesterday")),
            f("EnableNetworkIsolation", "Equals", Some("yes")),
            f("EnableNetworkIsolation", "GreaterThan", Some("true")),
            f("TrainingJobName", "Equals", None),
            json!({"Name": "TrainingJobName"}),
            json!({"Operator": "Exists"}),
            f("TrainingJobName", "Bogus", Some("x")),
        ];
        for (i, filter) in cases.into_iter().enumerate() {
            let e = eval(json!({ "Filters": [filter.clone()] }))
                .expect_err(&format!("case {i}: {filter}"));
            assert_eq!(e.code, "ValidationException", "case {i}");
        }
    }

    #[test]
    fn boolean_structure_nested_filters_and_subexpressions() {
        let yes = f("TrainingJobName", "Equals", Some("churn-xgb"));
        let no = f("TrainingJobName", "Equals", Some("other"));
        let cases: Vec<(Value, bool)> = vec![
            (json!({"Filters": [yes.clone(), no.clone()]}), false),
            (
                json!({"Filters": [yes.clone(), no.clone()], "Operator": "And"}),
                false,
            ),
            (
                json!({"Filters": [yes.clone(), no.clone()], "Operator": "Or"}),
                true,
            ),
            (
                json!({"Filters": [no.clone()], "SubExpressions": [{"Filters": [yes.clone()]}], "Operator": "Or"}),
                true,
            ),
            (
                json!({"SubExpressions": [{"Filters": [yes.clone()]}, {"Filters": [no.clone()]}]}),
                false,
            ),
            (
                json!({"SubExpressions": [
                {"Filters": [no.clone(), yes.clone()], "Operator": "Or"},
                {"Filters": [f("Tags.team", "Equals", Some("a"))]}]}),
                true,
            ),
            // One item must satisfy every nested filter.
            (
                json!({"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
                f("InputDataConfig.ChannelName", "Equals", Some("train")),
                f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", Some("train"))]}]}),
                true,
            ),
            (
                json!({"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
                f("InputDataConfig.ChannelName", "Equals", Some("train")),
                f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", Some("val"))]}]}),
                false,
            ),
            (
                json!({"NestedFilters": [{"NestedPropertyName": "Missing", "Filters": [
                f("Missing.X", "Exists", None)]}]}),
                false,
            ),
        ];
        for (i, (e, want)) in cases.into_iter().enumerate() {
            assert_eq!(eval(e.clone()).ok(), Some(want), "case {i}: {e}");
        }
    }

    #[test]
    fn malformed_expressions_are_validation_errors() {
        let any = f("TrainingJobName", "Exists", None);
        let many: Vec<Value> = (0..51).map(|_| any.clone()).collect();
        let mut deep = json!({"Filters": [any.clone()]});
        for _ in 0..60 {
            deep = json!({ "SubExpressions": [deep] });
        }
        let cases = [
            json!({}),
            json!({"Filters": []}),
            json!({"SubExpressions": [{}]}),
            json!({ "Filters": many }),
            deep,
            json!({"Filters": [f("TrainingJobName", "Contains", Some("a")), f("TrainingJobStatus", "Contains", Some("b"))]}),
            json!({"Filters": [f("TrainingJobName", "Contains", Some("a"))],
                   "SubExpressions": [{"Filters": [f("TrainingJobStatus", "Contains", Some("b"))]}]}),
            json!({"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
                f("OutputDataConfig.S3OutputPath", "Exists", None)]}]}),
            json!({"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": []}]}),
            json!({"NestedFilters": [{"Filters": [any.clone()]}]}),
            json!({"Filters": [any.clone()], "Operator": "Xor"}),
            json!({"Filters": "x"}),
            json!([]),
            json!(null),
        ];
        for (i, e) in cases.into_iter().enumerate() {
            let err = Expression::parse(&e).expect_err(&format!("case {i}"));
            assert_eq!(err.code, "ValidationException", "case {i}");
        }
        let contains = Expression::parse(&json!({"Filters": [
            f("TrainingJobName", "Contains", Some("a")), f("TrainingJobStatus", "Contains", Some("b"))]}))
        .unwrap_err();
        assert_eq!(
            contains.message,
            "'CONTAINS' operator usage limit of 1 exceeded."
        );
    }

    #[test]
    fn properties_reach_through_lists_and_maps() {
        let j = job();
        let strs = |name: &str| -> Vec<String> {
            property(&j, name)
                .into_iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect()
        };
        assert_eq!(strs("InputDataConfig.ChannelName"), ["train", "validation"]);
        assert_eq!(strs("VpcConfig.Subnets"), ["subnet-1", "subnet-2"]);
        assert_eq!(strs("Tags.sagemaker:domain-arn"), ["arn:d/1"]);
        assert_eq!(strs("Metrics.validation:auc"), ["0.91"]);
        assert!(strs("ResourceConfig..InstanceType").is_empty());
        assert!(strs("Tags").len() == 2);
        assert!(strs("").len() == 1);
        assert_eq!(resolved(Kind::Model, "ModelName"), "Model.ModelName");
        assert_eq!(
            resolved(Kind::Model, "Endpoints.EndpointName"),
            "Endpoints.EndpointName"
        );
        assert_eq!(resolved(Kind::TrainingJob, "ModelName"), "ModelName");
    }

    #[test]
    fn sorting_puts_missing_values_last_in_either_order() {
        let a = json!(1);
        let b = json!(2);
        assert_eq!(order(Some(&a), Some(&b)), Ordering::Less);
        assert_eq!(order(Some(&a), None), Ordering::Less);
        assert_eq!(order(None, Some(&a)), Ordering::Greater);
        assert_eq!(order(Some(&json!("x")), Some(&json!(1))), Ordering::Greater);
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
            "HyperParameters.",
            "Metrics..",
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
                    let e = json!({"Filters": [f(n, o, v)], "Operator": o,
                        "NestedFilters": [{"NestedPropertyName": n, "Filters": [f(n, o, v)]}],
                        "SubExpressions": [{"Filters": "x"}, {"SubExpressions": [{}]}]});
                    if let Ok(parsed) = Expression::parse(&e) {
                        let _ = parsed.matches(&j);
                    }
                    if let Ok(parsed) = Expression::parse(&json!({"Filters": [f(n, o, v)]})) {
                        let _ = parsed.matches(&j);
                        let _ = parsed.matches(&json!(null));
                    }
                }
            }
        }
    }
}
