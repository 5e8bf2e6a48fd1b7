//! Intrinsic functions, pseudo parameters, conditions and the references between resources.
//!
//! [`Scope::resolve`] turns a template fragment into plain JSON: `Ref`, `Fn::GetAtt`,
//! `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::ImportValue`,
//! `Fn::GetAZs`, `Fn::Base64`, `Fn::Cidr`, `Fn::If` (with `AWS::NoValue` removing the
//! property or list item), and the condition functions. [`conditions`] evaluates the
//! `Conditions` section; [`references`] finds the resources a fragment depends on.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde_json::{Map, Value};

use crate::template::{Invalid, ParamValue, Template, scalar_text};

/// The pseudo parameters of one stack.
#[derive(Debug, Clone, Default)]
pub struct Pseudo {
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::StackName`.
    pub stack_name: String,
    /// `AWS::StackId`.
    pub stack_id: String,
    /// `AWS::NotificationARNs`.
    pub notification_arns: Vec<String>,
}

impl Pseudo {
    /// `AWS::Partition`.
    pub fn partition(&self) -> &'static str {
        partition(&self.region)
    }

    /// `AWS::URLSuffix`.
    pub fn url_suffix(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }

    fn value(&self, name: &str) -> Option<Value> {
        Some(match name {
            "AWS::AccountId" => Value::String(self.account.clone()),
            "AWS::Region" => Value::String(self.region.clone()),
            "AWS::StackName" => Value::String(self.stack_name.clone()),
            "AWS::StackId" => Value::String(self.stack_id.clone()),
            "AWS::Partition" => Value::String(self.partition().into()),
            "AWS::URLSuffix" => Value::String(self.url_suffix().into()),
            "AWS::NotificationARNs" => Value::Array(
                self.notification_arns
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
            _ => return None,
        })
    }
}

/// The partition of `region`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The pseudo parameters there are (`AWS::NoValue` included).
pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::Region",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::NotificationARNs",
    "AWS::NoValue",
];

/// The Availability Zones `Fn::GetAZs` returns: six in `us-east-1`, three elsewhere (as the
/// EC2 service serves them).
pub fn zones(region: &str) -> Vec<String> {
    let letters: &[char] = if region == "us-east-1" {
        &['a', 'b', 'c', 'd', 'e', 'f']
    } else {
        &['a', 'b', 'c']
    };
    letters.iter().map(|l| format!("{region}{l}")).collect()
}

/// What the deployment knows about the stack's resources.
pub trait Resources {
    /// What `Ref` returns for resource `logical_id`.
    fn reference(&self, logical_id: &str) -> Result<Value, String>;
    /// What `Fn::GetAtt` returns for `attribute` of resource `logical_id`.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Value, String>;
}

/// Resources that are never available (conditions, outputs checks).
pub struct NoResources;

impl Resources for NoResources {
    fn reference(&self, logical_id: &str) -> Result<Value, String> {
        Err(format!(
            "Template format error: Unresolved dependencies [{logical_id}]. Cannot reference resources in the Conditions block of the template"
        ))
    }
    fn attribute(&self, logical_id: &str, _: &str) -> Result<Value, String> {
        self.reference(logical_id)
    }
}

/// Everything a fragment can refer to.
pub struct Scope<'a> {
    /// The template.
    pub template: &'a Template,
    /// Parameter values.
    pub params: &'a BTreeMap<String, ParamValue>,
    /// Pseudo parameters.
    pub pseudo: &'a Pseudo,
    /// Condition values.
    pub conditions: &'a BTreeMap<String, bool>,
    /// The resources.
    pub resources: &'a dyn Resources,
    /// Exported values of the account (`Fn::ImportValue`).
    pub exports: &'a dyn Fn(&str) -> Option<String>,
}

fn text(v: &Value, function: &str) -> Result<String, String> {
    scalar_text(v).ok_or_else(|| {
        format!("Template error: every {function} object requires string parameters, not {v}")
    })
}

/// The value of a parameter as `Ref` returns it.
pub fn param_value(template: &Template, name: &str, p: &ParamValue) -> Value {
    let text = p.resolved.clone().unwrap_or_else(|| p.text.clone());
    let list = template
        .parameter(name)
        .is_some_and(|d| d.is_list() || d.kind.starts_with("AWS::SSM::Parameter::Value<List<"));
    if list {
        if text.is_empty() {
            return Value::Array(Vec::new());
        }
        Value::Array(
            text.split(',')
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        )
    } else {
        Value::String(text)
    }
}

impl Scope<'_> {
    /// Resolves `v` into plain JSON; `None` is `AWS::NoValue`.
    pub fn resolve(&self, v: &Value) -> Result<Option<Value>, String> {
        match v {
            Value::Object(m) if m.len() == 1 => {
                let Some((k, arg)) = m.iter().next() else {
                    return Ok(Some(v.clone()));
                };
                if k == "Ref" || k.starts_with("Fn::") {
                    return self.function(k, arg);
                }
                self.object(m).map(Some)
            }
            Value::Object(m) => self.object(m).map(Some),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Some(r) = self.resolve(i)? {
                        out.push(r);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// Resolves `v`, which must not be `AWS::NoValue`.
    pub fn value(&self, v: &Value) -> Result<Value, String> {
        self.resolve(v)?
            .ok_or_else(|| "Template error: AWS::NoValue cannot be used here".to_string())
    }

    fn object(&self, m: &Map<String, Value>) -> Result<Value, String> {
        let mut out = Map::new();
        for (k, v) in m {
            if let Some(r) = self.resolve(v)? {
                out.insert(k.clone(), r);
            }
        }
        Ok(Value::Object(out))
    }

    fn reference(&self, name: &str) -> Result<Option<Value>, String> {
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(v) = self.pseudo.value(name) {
            return Ok(Some(v));
        }
        if let Some(p) = self.params.get(name) {
            return Ok(Some(param_value(self.template, name, p)));
        }
        if self.template.resource(name).is_some() {
            return self.resources.reference(name).map(Some);
        }
        Err(format!(
            "Template format error: Unresolved resource dependencies [{name}] in the Resources block of the template"
        ))
    }

    fn list(&self, v: &Value, function: &str) -> Result<Vec<Value>, String> {
        match self.value(v)? {
            Value::Array(items) => Ok(items),
            other => Err(format!(
                "Template error: {function} requires a list, not {other}"
            )),
        }
    }

    fn args<'v>(&self, arg: &'v Value, function: &str, n: usize) -> Result<&'v [Value], String> {
        match arg {
            Value::Array(items) if items.len() == n => Ok(items),
            _ => Err(format!(
                "Template error: {function} requires a list of {n} arguments"
            )),
        }
    }

    fn function(&self, name: &str, arg: &Value) -> Result<Option<Value>, String> {
        match name {
            "Ref" => {
                let target = text(arg, "Ref")?;
                self.reference(&target)
            }
            "Fn::GetAtt" => {
                let (res, attr) = getatt_target(arg)?;
                let attr = match &attr {
                    Value::String(s) => s.clone(),
                    other => text(&self.value(other)?, "Fn::GetAtt")?,
                };
                if self.template.resource(&res).is_none() {
                    return Err(format!(
                        "Template error: instance of Fn::GetAtt references undefined resource {res}"
                    ));
                }
                self.resources.attribute(&res, &attr).map(Some)
            }
            "Fn::Join" => {
                let a = self.args(arg, "Fn::Join", 2)?;
                let delim = text(&self.value(&a[0])?, "Fn::Join")?;
                let items = self.list(&a[1], "Fn::Join")?;
                let parts: Result<Vec<String>, String> =
                    items.iter().map(|i| text(i, "Fn::Join")).collect();
                Ok(Some(Value::String(parts?.join(&delim))))
            }
            "Fn::Sub" => self.sub(arg).map(|s| Some(Value::String(s))),
            "Fn::Select" => {
                let a = self.args(arg, "Fn::Select", 2)?;
                let index = text(&self.value(&a[0])?, "Fn::Select")?;
                let index: usize = index.trim().parse().map_err(|_| {
                    format!(
                        "Template error: Fn::Select index `{index}` is not a non-negative integer"
                    )
                })?;
                let items = self.list(&a[1], "Fn::Select")?;
                items.get(index).cloned().map(Some).ok_or_else(|| {
                    format!("Template error: Fn::Select cannot select nonexistent value at index {index}")
                })
            }
            "Fn::Split" => {
                let a = self.args(arg, "Fn::Split", 2)?;
                let delim = text(&self.value(&a[0])?, "Fn::Split")?;
                let source = text(&self.value(&a[1])?, "Fn::Split")?;
                if delim.is_empty() {
                    return Err("Template error: Fn::Split delimiter must not be empty".into());
                }
                Ok(Some(Value::Array(
                    source
                        .split(delim.as_str())
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                )))
            }
            "Fn::FindInMap" => {
                let a = self.args(arg, "Fn::FindInMap", 3)?;
                let map = text(&self.value(&a[0])?, "Fn::FindInMap")?;
                let top = text(&self.value(&a[1])?, "Fn::FindInMap")?;
                let second = text(&self.value(&a[2])?, "Fn::FindInMap")?;
                self.template
                    .mappings
                    .get(&map)
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| {
                        format!("Template error: Unable to get mapping for {map}::{top}::{second}")
                    })
            }
            "Fn::ImportValue" => {
                let export = text(&self.value(arg)?, "Fn::ImportValue")?;
                (self.exports)(&export)
                    .map(|v| Some(Value::String(v)))
                    .ok_or_else(|| format!("No export named {export} found"))
            }
            "Fn::GetAZs" => {
                let region = text(&self.value(arg)?, "Fn::GetAZs")?;
                let region = if region.is_empty() {
                    self.pseudo.region.clone()
                } else {
                    region
                };
                Ok(Some(Value::Array(
                    zones(&region).into_iter().map(Value::String).collect(),
                )))
            }
            "Fn::Base64" => {
                let s = text(&self.value(arg)?, "Fn::Base64")?;
                Ok(Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
                )))
            }
            "Fn::Cidr" => {
                let a = self.args(arg, "Fn::Cidr", 3)?;
                let block = text(&self.value(&a[0])?, "Fn::Cidr")?;
                let count = text(&self.value(&a[1])?, "Fn::Cidr")?;
                let bits = text(&self.value(&a[2])?, "Fn::Cidr")?;
                cidr(&block, &count, &bits)
                    .map(|list| Some(Value::Array(list.into_iter().map(Value::String).collect())))
            }
            "Fn::If" => {
                let a = self.args(arg, "Fn::If", 3)?;
                let cond = text(&a[0], "Fn::If")?;
                let chosen = match self.conditions.get(&cond) {
                    Some(true) => &a[1],
                    Some(false) => &a[2],
                    None => {
                        return Err(format!(
                            "Template error: unresolved condition dependency {cond} in Fn::If"
                        ));
                    }
                };
                self.resolve(chosen)
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let mut obj = Map::new();
                obj.insert(name.to_string(), arg.clone());
                let b = condition(&Value::Object(obj), self, &mut |c| {
                    self.conditions.get(c).copied().ok_or_else(|| {
                        format!("Template error: unresolved condition dependency {c}")
                    })
                })?;
                Ok(Some(Value::String(b.to_string())))
            }
            other => Err(format!("Template error: function {other} is not supported")),
        }
    }

    fn sub(&self, arg: &Value) -> Result<String, String> {
        let (template, vars) = match arg {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(items) if items.len() == 2 => {
                let t = match &items[0] {
                    Value::String(s) => s.clone(),
                    _ => return Err("Template error: Fn::Sub requires a string template".into()),
                };
                let vars = match &items[1] {
                    Value::Object(m) => m.clone(),
                    _ => {
                        return Err(
                            "Template error: Fn::Sub variables must be a map of names to values"
                                .into(),
                        );
                    }
                };
                (t, vars)
            }
            _ => {
                return Err(
                    "Template error: Fn::Sub requires a string or a list of a string and a map"
                        .into(),
                );
            }
        };
        let mut out = String::new();
        for piece in sub_pieces(&template)? {
            match piece {
                SubPiece::Text(t) => out.push_str(&t),
                SubPiece::Var(name) => {
                    let v = if let Some(v) = vars.get(&name) {
                        self.value(v)?
                    } else if let Some((res, attr)) = name.split_once('.')
                        && self.template.resource(res).is_some()
                    {
                        self.resources.attribute(res, attr)?
                    } else {
                        self.reference(&name)?.ok_or_else(|| {
                            "Template error: AWS::NoValue cannot be used in Fn::Sub".to_string()
                        })?
                    };
                    out.push_str(&text(&v, "Fn::Sub")?);
                }
            }
        }
        Ok(out)
    }
}

/// A piece of an `Fn::Sub` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubPiece {
    /// Literal text.
    Text(String),
    /// `${Name}` or `${Resource.Attribute}`.
    Var(String),
}

/// Splits an `Fn::Sub` template into text and variables (`${!x}` is the literal `${x}`).
pub fn sub_pieces(template: &str) -> Result<Vec<SubPiece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        text.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(close) = after.find('}') else {
            return Err(format!(
                "Template error: Fn::Sub template `{template}` has an unterminated variable"
            ));
        };
        let name = &after[..close];
        if let Some(literal) = name.strip_prefix('!') {
            text.push_str("${");
            text.push_str(literal);
            text.push('}');
        } else {
            let name = name.trim();
            if name.is_empty() {
                return Err(format!(
                    "Template error: Fn::Sub template `{template}` has an empty variable"
                ));
            }
            if !text.is_empty() {
                out.push(SubPiece::Text(std::mem::take(&mut text)));
            }
            out.push(SubPiece::Var(name.to_string()));
        }
        rest = &after[close + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(SubPiece::Text(text));
    }
    Ok(out)
}

fn getatt_target(arg: &Value) -> Result<(String, Value), String> {
    match arg {
        Value::Array(items) if items.len() == 2 => {
            let res = scalar_text(&items[0])
                .ok_or_else(|| "Template error: Fn::GetAtt requires a resource name".to_string())?;
            Ok((res, items[1].clone()))
        }
        Value::String(s) => match s.split_once('.') {
            Some((r, a)) => Ok((r.to_string(), Value::String(a.to_string()))),
            None => Err(format!(
                "Template error: Fn::GetAtt `{s}` must name a resource and an attribute"
            )),
        },
        _ => {
            Err("Template error: Fn::GetAtt requires a list of a resource and an attribute".into())
        }
    }
}

/// Evaluates a condition expression. `named` gives the value of a named condition.
pub fn condition(
    expr: &Value,
    scope: &Scope<'_>,
    named: &mut dyn FnMut(&str) -> Result<bool, String>,
) -> Result<bool, String> {
    let bad = || format!("Template error: invalid condition {expr}");
    match expr {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        Value::Object(m) if m.len() == 1 => {
            let Some((k, arg)) = m.iter().next() else {
                return Err(bad());
            };
            match k.as_str() {
                "Condition" => {
                    let name = text(arg, "Condition")?;
                    named(&name)
                }
                "Fn::Equals" => {
                    let Value::Array(a) = arg else {
                        return Err(bad());
                    };
                    if a.len() != 2 {
                        return Err(
                            "Template error: Fn::Equals requires a list of two values".into()
                        );
                    }
                    let l = scope.value(&a[0])?;
                    let r = scope.value(&a[1])?;
                    Ok(match (scalar_text(&l), scalar_text(&r)) {
                        (Some(x), Some(y)) => x == y,
                        _ => l == r,
                    })
                }
                "Fn::Not" => {
                    let Value::Array(a) = arg else {
                        return Err(bad());
                    };
                    if a.len() != 1 {
                        return Err(
                            "Template error: Fn::Not requires a list of one condition".into()
                        );
                    }
                    Ok(!condition(&a[0], scope, named)?)
                }
                "Fn::And" | "Fn::Or" => {
                    let Value::Array(a) = arg else {
                        return Err(bad());
                    };
                    if !(2..=10).contains(&a.len()) {
                        return Err(format!(
                            "Template error: {k} requires a list of 2 to 10 conditions"
                        ));
                    }
                    let mut values = Vec::new();
                    for c in a {
                        values.push(condition(c, scope, named)?);
                    }
                    Ok(if k == "Fn::And" {
                        values.iter().all(|b| *b)
                    } else {
                        values.iter().any(|b| *b)
                    })
                }
                _ => {
                    let v = scope.value(expr)?;
                    match scalar_text(&v).as_deref() {
                        Some("true") => Ok(true),
                        Some("false") => Ok(false),
                        _ => Err(bad()),
                    }
                }
            }
        }
        _ => Err(bad()),
    }
}

/// Evaluates every condition of the template.
pub fn conditions(
    template: &Template,
    params: &BTreeMap<String, ParamValue>,
    pseudo: &Pseudo,
) -> Result<BTreeMap<String, bool>, Invalid> {
    fn eval(
        name: &str,
        template: &Template,
        scope: &Scope<'_>,
        done: &mut BTreeMap<String, bool>,
        visiting: &mut Vec<String>,
    ) -> Result<bool, String> {
        if let Some(b) = done.get(name) {
            return Ok(*b);
        }
        if visiting.iter().any(|v| v == name) {
            visiting.push(name.to_string());
            return Err(format!(
                "Template format error: Circular dependency between conditions: [{}]",
                visiting.join(", ")
            ));
        }
        let expr = template.conditions.get(name).ok_or_else(|| {
            format!("Template format error: Unresolved condition dependency {name}")
        })?;
        visiting.push(name.to_string());
        let b = {
            let mut named =
                |n: &str| -> Result<bool, String> { eval(n, template, scope, done, visiting) };
            condition(expr, scope, &mut named)?
        };
        visiting.pop();
        done.insert(name.to_string(), b);
        Ok(b)
    }
    let empty = BTreeMap::new();
    let no_exports = |_: &str| None;
    let scope = Scope {
        template,
        params,
        pseudo,
        conditions: &empty,
        resources: &NoResources,
        exports: &no_exports,
    };
    let mut done = BTreeMap::new();
    for name in template.conditions.keys() {
        let mut visiting = Vec::new();
        eval(name, template, &scope, &mut done, &mut visiting).map_err(Invalid)?;
    }
    Ok(done)
}

/// Adds to `out` the names a fragment refers to with `Ref`, `Fn::GetAtt` and `Fn::Sub`
/// (parameters and pseudo parameters included), following only the branch of each `Fn::If`
/// its condition selects (both when the condition is unknown).
pub fn references(v: &Value, conditions: &BTreeMap<String, bool>, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let Some((k, arg)) = m.iter().next() else {
                return;
            };
            match k.as_str() {
                "Ref" => {
                    if let Some(s) = scalar_text(arg) {
                        out.insert(s);
                    }
                }
                "Fn::GetAtt" => {
                    if let Ok((res, attr)) = getatt_target(arg) {
                        out.insert(res);
                        references(&attr, conditions, out);
                    }
                }
                "Fn::Sub" => {
                    let (template, vars) = match arg {
                        Value::String(s) => (s.as_str(), None),
                        Value::Array(items) if items.len() == 2 => {
                            (items[0].as_str().unwrap_or(""), items[1].as_object())
                        }
                        _ => ("", None),
                    };
                    if let Some(vars) = vars {
                        for v in vars.values() {
                            references(v, conditions, out);
                        }
                    }
                    for piece in sub_pieces(template).unwrap_or_default() {
                        if let SubPiece::Var(name) = piece {
                            if vars.is_some_and(|m| m.contains_key(&name)) {
                                continue;
                            }
                            let target = match name.split_once('.') {
                                Some((r, _)) if !name.starts_with("AWS::") => r.to_string(),
                                _ => name,
                            };
                            out.insert(target);
                        }
                    }
                }
                "Fn::If" => {
                    if let Value::Array(a) = arg
                        && a.len() == 3
                    {
                        match a[0].as_str().and_then(|c| conditions.get(c)) {
                            Some(true) => references(&a[1], conditions, out),
                            Some(false) => references(&a[2], conditions, out),
                            None => {
                                references(&a[1], conditions, out);
                                references(&a[2], conditions, out);
                            }
                        }
                    }
                }
                _ => references(arg, conditions, out),
            }
        }
        Value::Object(m) => {
            for v in m.values() {
                references(v, conditions, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                references(v, conditions, out);
            }
        }
        _ => {}
    }
}

/// The condition names a fragment uses in `Fn::If`.
pub fn condition_uses(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, arg) in m {
                if k == "Fn::If"
                    && let Some(c) = arg
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(Value::as_str)
                {
                    out.insert(c.to_string());
                }
                condition_uses(arg, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                condition_uses(v, out);
            }
        }
        _ => {}
    }
}

/// The export names a fragment imports with `Fn::ImportValue` (literal names only).
pub fn imports(v: &Value, scope: Option<&Scope<'_>>, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, arg) in m {
                if k == "Fn::ImportValue" {
                    let name = match scope {
                        Some(s) => s.value(arg).ok().and_then(|v| scalar_text(&v)),
                        None => scalar_text(arg),
                    };
                    if let Some(n) = name {
                        out.insert(n);
                    }
                } else {
                    imports(arg, scope, out);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                imports(v, scope, out);
            }
        }
        _ => {}
    }
}

/// `Fn::Cidr`: `count` blocks of `bits` host bits carved from `block` in order.
pub fn cidr(block: &str, count: &str, bits: &str) -> Result<Vec<String>, String> {
    let bad = || {
        format!(
            "Template error: Fn::Cidr cannot carve {count} blocks of {bits} host bits from {block}"
        )
    };
    let (addr, len) = block.split_once('/').ok_or_else(bad)?;
    let octets: Vec<u32> = addr
        .split('.')
        .map(|o| o.parse::<u8>().map(u32::from))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    if octets.len() != 4 {
        return Err(bad());
    }
    let len: u32 = len.parse().map_err(|_| bad())?;
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    let bits: u32 = bits.trim().parse().map_err(|_| bad())?;
    if len > 32 || !(1..=256).contains(&count) || bits > 32 || 32 - bits < len {
        return Err(bad());
    }
    let base = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3];
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let start = base & mask;
    let size: u64 = 1u64 << bits;
    let room: u64 = 1u64 << (32 - len);
    if u64::from(count) * size > room {
        return Err(bad());
    }
    Ok((0..u64::from(count))
        .map(|i| {
            let a = (u64::from(start) + i * size) as u32;
            format!(
                "{}.{}.{}.{}/{}",
                a >> 24,
                (a >> 16) & 0xff,
                (a >> 8) & 0xff,
                a & 0xff,
                32 - bits
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{GivenParameter, resolve_parameters};
    use serde_json::json;

    struct Fixed;
    impl Resources for Fixed {
        fn reference(&self, id: &str) -> Result<Value, String> {
            Ok(json!(format!("phys-{id}")))
        }
        fn attribute(&self, id: &str, attr: &str) -> Result<Value, String> {
            if attr == "List" {
                return Ok(json!(["x", "y"]));
            }
            Ok(json!(format!("{id}.{attr}")))
        }
    }

    const T: &str = r#"
Parameters:
  Env: {Type: String, Default: prod}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Sizes:
    prod: {Instance: ml.m5.large}
    dev: {Instance: ml.t3.medium}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition IsDev, !Equals [a, a]]]
Resources:
  Vpc: {Type: AWS::EC2::VPC}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      Name: !Sub '${AWS::StackName}-${Env}-${Vpc.CidrBlock}-${!Literal}'
      Size: !FindInMap [Sizes, !Ref Env, Instance]
      Maybe: !If [IsDev, dev-only, !Ref AWS::NoValue]
      List: [a, !If [IsDev, b, !Ref "AWS::NoValue"], c]
"#;

    fn setup() -> (Template, BTreeMap<String, ParamValue>, Pseudo) {
        let t = Template::parse(T).expect("template");
        let p = resolve_parameters(&t, &[], None).expect("params");
        let pseudo = Pseudo {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            stack_name: "s".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1".into(),
            notification_arns: vec![],
        };
        (t, p, pseudo)
    }

    #[test]
    fn conditions_evaluate() {
        let (t, p, pseudo) = setup();
        let c = conditions(&t, &p, &pseudo).expect("conditions");
        assert!(c["IsProd"]);
        assert!(!c["IsDev"]);
        assert!(c["Both"]);
        let dev = resolve_parameters(
            &t,
            &[GivenParameter {
                key: "Env".into(),
                value: Some("dev".into()),
                use_previous: false,
            }],
            None,
        )
        .expect("params");
        let c = conditions(&t, &dev, &pseudo).expect("conditions");
        assert!(!c["IsProd"]);
        assert!(!c["Both"]);
    }

    #[test]
    fn circular_conditions_are_rejected() {
        let t = Template::parse(
            "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\nResources:\n  X: {Type: AWS::S3::Bucket}\n",
        )
        .expect("template");
        let e = conditions(&t, &BTreeMap::new(), &Pseudo::default()).expect_err("cycle");
        assert!(e.0.contains("Circular"), "{e}");
    }

    #[test]
    fn functions_resolve() {
        let (t, p, pseudo) = setup();
        let c = conditions(&t, &p, &pseudo).expect("conditions");
        let exports = |n: &str| (n == "Shared-VpcId").then(|| "vpc-123".to_string());
        let scope = Scope {
            template: &t,
            params: &p,
            pseudo: &pseudo,
            conditions: &c,
            resources: &Fixed,
            exports: &exports,
        };
        let props = scope.value(&t.resources[1].properties).expect("properties");
        assert_eq!(
            props,
            json!({
                "VpcId": "phys-Vpc",
                "Name": "s-prod-Vpc.CidrBlock-${Literal}",
                "Size": "ml.m5.large",
                "List": ["a", "c"]
            })
        );
        let r = |v: Value| scope.value(&v).expect("resolves");
        assert_eq!(
            r(json!({"Fn::Join": ["-", {"Ref": "Zones"}]})),
            json!("a-b-c")
        );
        assert_eq!(
            r(json!({"Fn::Select": ["1", {"Ref": "Zones"}]})),
            json!("b")
        );
        assert_eq!(
            r(json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})),
            json!("us-east-1a")
        );
        assert_eq!(r(json!({"Fn::Split": [",", "x,y"]})), json!(["x", "y"]));
        assert_eq!(
            r(json!({"Fn::ImportValue": "Shared-VpcId"})),
            json!("vpc-123")
        );
        assert_eq!(r(json!({"Fn::Base64": "hi"})), json!("aGk="));
        assert_eq!(r(json!({"Ref": "AWS::Partition"})), json!("aws"));
        assert_eq!(r(json!({"Ref": "AWS::URLSuffix"})), json!("amazonaws.com"));
        assert_eq!(r(json!({"Fn::GetAtt": ["Vpc", "List"]})), json!(["x", "y"]));
        assert_eq!(
            r(json!({"Fn::Sub": ["${A}/${AWS::AccountId}", {"A": {"Ref": "Env"}}]})),
            json!("prod/111122223333")
        );
        assert_eq!(
            r(json!({"Fn::Cidr": ["10.0.0.0/16", 2, 12]})),
            json!(["10.0.0.0/20", "10.0.16.0/20"])
        );
        assert!(scope.value(&json!({"Fn::ImportValue": "Nope"})).is_err());
        assert!(scope.value(&json!({"Fn::Select": [5, ["a"]]})).is_err());
        assert!(scope.value(&json!({"Ref": "Missing"})).is_err());
        assert!(
            scope
                .value(&json!({"Fn::GetAtt": ["Missing", "Arn"]}))
                .is_err()
        );
        assert!(
            scope
                .value(&json!({"Fn::FindInMap": ["Sizes", "qa", "Instance"]}))
                .is_err()
        );
    }

    #[test]
    fn references_follow_the_chosen_branch() {
        let mut c = BTreeMap::new();
        c.insert("C".to_string(), false);
        let v = json!({
            "A": {"Ref": "Vpc"},
            "B": {"Fn::GetAtt": "Role.Arn"},
            "S": {"Fn::Sub": ["${Bucket.Arn}/${X}/${AWS::Region}/${!No}", {"X": {"Ref": "Key"}}]},
            "I": {"Fn::If": ["C", {"Ref": "Yes"}, {"Ref": "No"}]}
        });
        let mut out = BTreeSet::new();
        references(&v, &c, &mut out);
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(got, ["AWS::Region", "Bucket", "Key", "No", "Role", "Vpc"]);
    }

    #[test]
    fn sub_pieces_parse() {
        assert_eq!(
            sub_pieces("a${B}c${!D}").expect("ok"),
            vec![
                SubPiece::Text("a".into()),
                SubPiece::Var("B".into()),
                SubPiece::Text("c${D}".into())
            ]
        );
        assert!(sub_pieces("${open").is_err());
    }
}
