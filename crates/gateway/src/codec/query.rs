//! Decodes `awsQuery` and `ec2` form parameters into the JSON value of the
//! operation's input shape, so handlers see one representation whatever the
//! protocol (timestamps as epoch seconds, blobs as base64 strings).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::error::AwsError;
use crate::model::{Model, Shape, ShapeRef};

/// Which form dialect: `awsQuery` (IAM, STS) or `ec2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `Name.member.N`, `Name.entry.N.key`.
    Query,
    /// `Name.N`, capitalized `locationName`s.
    Ec2,
}

/// Form parameters indexed for prefix lookups.
pub struct Params<'a> {
    map: BTreeMap<&'a str, &'a str>,
}

impl<'a> Params<'a> {
    /// Indexes decoded form pairs; a repeated name keeps its first value.
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            map.entry(k.as_str()).or_insert(v.as_str());
        }
        Params { map }
    }

    /// The value of one parameter.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.map.get(name).copied()
    }

    fn has_prefix(&self, prefix: &str) -> bool {
        // Any `prefix.` child (or the exact name) counts as present.
        let dotted = format!("{prefix}.");
        self.map.contains_key(prefix)
            || self
                .map
                .range(dotted.as_str()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&dotted))
    }
}

/// Decodes the input structure `shape_name` from `params`.
pub fn decode(
    model: &Model,
    shape_name: &str,
    params: &Params<'_>,
    dialect: Dialect,
) -> Result<Value, AwsError> {
    let shape = model
        .shape(shape_name)
        .ok_or_else(|| AwsError::internal(format!("model has no shape `{shape_name}`")))?;
    let mut d = Decoder {
        model,
        params,
        dialect,
    };
    Ok(d.structure("", shape)?
        .unwrap_or_else(|| Value::Object(Map::new())))
}

struct Decoder<'m, 'p> {
    model: &'m Model,
    params: &'p Params<'p>,
    dialect: Dialect,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Decoder<'_, '_> {
    fn wire_name(&self, member: &str, r: &ShapeRef) -> String {
        match self.dialect {
            Dialect::Query => r
                .location_name
                .clone()
                .unwrap_or_else(|| member.to_string()),
            Dialect::Ec2 => r
                .query_name
                .clone()
                .or_else(|| r.location_name.as_deref().map(capitalize))
                .unwrap_or_else(|| member.to_string()),
        }
    }

    fn value(&mut self, prefix: &str, r: &ShapeRef) -> Result<Option<Value>, AwsError> {
        let shape = self
            .model
            .shape(&r.shape)
            .ok_or_else(|| AwsError::internal(format!("model has no shape `{}`", r.shape)))?;
        match shape.kind.as_str() {
            "structure" => self.structure(prefix, shape),
            "list" => self.list(prefix, r, shape),
            "map" => self.map(prefix, r, shape),
            _ => match self.params.get(prefix) {
                Some(text) => scalar(prefix, &shape.kind, text).map(Some),
                None => Ok(None),
            },
        }
    }

    fn structure(&mut self, prefix: &str, shape: &Shape) -> Result<Option<Value>, AwsError> {
        if !prefix.is_empty() && !self.params.has_prefix(prefix) {
            return Ok(None);
        }
        let mut out = Map::new();
        for (name, r) in &shape.members {
            let wire = join(prefix, &self.wire_name(name, r));
            if let Some(v) = self.value(&wire, r)? {
                out.insert(name.clone(), v);
            }
        }
        if prefix.is_empty() || !out.is_empty() {
            Ok(Some(Value::Object(out)))
        } else {
            Ok(None)
        }
    }

    fn list(
        &mut self,
        prefix: &str,
        r: &ShapeRef,
        shape: &Shape,
    ) -> Result<Option<Value>, AwsError> {
        let Some(member) = shape.member.as_ref() else {
            return Ok(None);
        };
        let list_prefix = match self.dialect {
            Dialect::Ec2 => prefix.to_string(),
            Dialect::Query if r.flattened || shape.flattened => match &member.location_name {
                Some(name) => match prefix.rsplit_once('.') {
                    Some((head, _)) => format!("{head}.{name}"),
                    None => name.clone(),
                },
                None => prefix.to_string(),
            },
            Dialect::Query => join(prefix, member.location_name.as_deref().unwrap_or("member")),
        };
        let mut items = Vec::new();
        for i in 1.. {
            match self.value(&format!("{list_prefix}.{i}"), member)? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        if items.is_empty() && self.params.get(prefix).is_none() {
            return Ok(None);
        }
        Ok(Some(Value::Array(items)))
    }

    fn map(
        &mut self,
        prefix: &str,
        r: &ShapeRef,
        shape: &Shape,
    ) -> Result<Option<Value>, AwsError> {
        let (Some(key), Some(val)) = (shape.key.as_ref(), shape.value.as_ref()) else {
            return Ok(None);
        };
        let base = if r.flattened || shape.flattened || self.dialect == Dialect::Ec2 {
            prefix.to_string()
        } else {
            join(prefix, "entry")
        };
        let key_name = key.location_name.as_deref().unwrap_or("key");
        let val_name = val.location_name.as_deref().unwrap_or("value");
        let mut out = Map::new();
        for i in 1.. {
            let Some(k) = self.params.get(&format!("{base}.{i}.{key_name}")) else {
                break;
            };
            let v = self
                .value(&format!("{base}.{i}.{val_name}"), val)?
                .unwrap_or(Value::Null);
            out.insert(k.to_string(), v);
        }
        if out.is_empty() && self.params.get(prefix).is_none() {
            return Ok(None);
        }
        Ok(Some(Value::Object(out)))
    }
}

fn invalid(name: &str, text: &str, what: &str) -> AwsError {
    AwsError::bad_request(
        "ValidationError",
        format!(
            "1 validation error detected: Value '{text}' at '{name}' failed to satisfy constraint: Member must be {what}"
        ),
    )
}

fn scalar(name: &str, kind: &str, text: &str) -> Result<Value, AwsError> {
    Ok(match kind {
        "integer" | "long" => Value::Number(
            text.trim()
                .parse::<i64>()
                .map_err(|_| invalid(name, text, "an integer"))?
                .into(),
        ),
        "double" | "float" => {
            let n: f64 = text
                .trim()
                .parse()
                .map_err(|_| invalid(name, text, "a number"))?;
            Value::Number(Number::from_f64(n).ok_or_else(|| invalid(name, text, "a number"))?)
        }
        "boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(invalid(name, text, "a boolean")),
        },
        "timestamp" => {
            let t = crate::time::parse_timestamp(text)
                .ok_or_else(|| invalid(name, text, "a timestamp"))?;
            Value::Number(Number::from_f64(t).ok_or_else(|| invalid(name, text, "a timestamp"))?)
        }
        _ => Value::String(text.to_string()),
    })
}

/// Parses an `application/x-www-form-urlencoded` body or query string into pairs.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &part[part.len()..]),
            };
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(bytes: &[u8]) -> String {
    let plus_as_space: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}
