//! Checks an input value against its shape the way AWS services do, with their
//! message: `1 validation error detected: Value null at 'roleName' failed to
//! satisfy constraint: Member must not be null`.

use serde_json::Value;

use crate::model::{Model, Shape};

/// Validates `value` against structure `shape_name`; returns the AWS message on failure.
pub fn validate(model: &Model, shape_name: &str, value: &Value) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Some(shape) = model.shape(shape_name) {
        check(model, shape, value, "", &mut errors);
    }
    if errors.is_empty() {
        return Ok(());
    }
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    Err(format!(
        "{n} validation {noun} detected: {}",
        errors.join("; ")
    ))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        lower_first(name)
    } else {
        format!("{prefix}.{}", lower_first(name))
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "null".into(),
        other => format!("'{other}'"),
    }
}

fn check(model: &Model, shape: &Shape, v: &Value, at: &str, errors: &mut Vec<String>) {
    match (shape.kind.as_str(), v) {
        ("structure", Value::Object(obj)) => {
            for name in &shape.required {
                if obj.get(name).is_none_or(Value::is_null) {
                    errors.push(format!(
                        "Value null at '{}' failed to satisfy constraint: Member must not be null",
                        path(at, name)
                    ));
                }
            }
            for (name, r) in &shape.members {
                if let (Some(child), Some(cs)) = (obj.get(name), model.shape(&r.shape))
                    && !child.is_null()
                {
                    check(model, cs, child, &path(at, name), errors);
                }
            }
        }
        ("list", Value::Array(items)) => {
            length(shape, items.len(), v, at, errors);
            if let Some(ms) = shape.member.as_ref().and_then(|m| model.shape(&m.shape)) {
                for (i, item) in items.iter().enumerate() {
                    check(model, ms, item, &format!("{at}.{}.member", i + 1), errors);
                }
            }
        }
        ("map", Value::Object(entries)) => {
            length(shape, entries.len(), v, at, errors);
            if let Some(vs) = shape.value.as_ref().and_then(|m| model.shape(&m.shape)) {
                for (k, item) in entries {
                    check(model, vs, item, &format!("{at}.{k}.member"), errors);
                }
            }
        }
        ("string", Value::String(s)) => {
            length(shape, s.chars().count(), v, at, errors);
            if let Some(allowed) = &shape.enum_values
                && !allowed.iter().any(|a| a == s)
            {
                errors.push(format!(
                        "Value {} at '{at}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                        shown(v),
                        allowed.join(", ")
                    ));
            }
        }
        ("blob", Value::String(_)) => {}
        ("integer" | "long" | "double" | "float", Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = shape.min
                && x < min
            {
                errors.push(format!(
                        "Value {} at '{at}' failed to satisfy constraint: Member must have value greater than or equal to {min}",
                        shown(v)
                    ));
            }
            if let Some(max) = shape.max
                && x > max
            {
                errors.push(format!(
                        "Value {} at '{at}' failed to satisfy constraint: Member must have value less than or equal to {max}",
                        shown(v)
                    ));
            }
        }
        ("boolean", Value::Bool(_)) | ("timestamp", Value::Number(_) | Value::String(_)) => {}
        (kind, other) => errors.push(format!(
            "Value {} at '{at}' failed to satisfy constraint: Member must be of type {kind}",
            shown(other)
        )),
    }
}

fn length(shape: &Shape, len: usize, v: &Value, at: &str, errors: &mut Vec<String>) {
    let len = len as f64;
    if let Some(min) = shape.min
        && len < min
    {
        errors.push(format!(
                "Value {} at '{at}' failed to satisfy constraint: Member must have length greater than or equal to {min}",
                shown(v)
            ));
    }
    if let Some(max) = shape.max
        && len > max
    {
        errors.push(format!(
                "Value {} at '{at}' failed to satisfy constraint: Member must have length less than or equal to {max}",
                shown(v)
            ));
    }
}
