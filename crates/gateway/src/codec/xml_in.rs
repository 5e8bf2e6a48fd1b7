//! Decodes an XML request payload (REST-XML: S3, S3 Control) into a JSON value of
//! its input shape, the way botocore's `rest-xml` serializer writes it: members by
//! their `locationName`, wrapped or flattened lists, maps as `entry`/`key`/`value`,
//! scalars typed by their shape.
//!
//! The document is first read into a small element tree (bounded by the caller's
//! body limit), then walked with the shapes. Elements the shape does not name are
//! ignored, as AWS ignores them; text that does not fit a scalar's type is an error.

use serde_json::{Map, Number, Value};

use crate::model::{Model, Shape, ShapeRef};

/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// What was wrong, and where.
    pub message: String,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for XmlError {}

fn err(message: impl Into<String>) -> XmlError {
    XmlError {
        message: message.into(),
    }
}

/// One element of a parsed document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The local name (namespace prefix removed).
    pub name: String,
    /// Attributes by local name.
    pub attributes: Vec<(String, String)>,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The concatenated text content directly inside this element.
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Element, XmlError> {
        let mut el = Element {
            name: local(e.name().as_ref()).to_string(),
            ..Element::default()
        };
        for a in e.attributes() {
            let a = a.map_err(|e| err(format!("bad attribute: {e}")))?;
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| err(format!("bad attribute value: {e}")))?;
            el.attributes
                .push((local(a.key.as_ref()).to_string(), value.into_owned()));
        }
        Ok(el)
    };
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| err(format!("not well-formed at byte {pos}: {e}")))?;
        match event {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(err("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err("elements nested too deeply"));
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                if root.is_some() {
                    return Err(err("content after the root element"));
                }
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(e) => {
                let Some(el) = stack.pop() else {
                    return Err(err("unexpected closing tag"));
                };
                if local(e.name().as_ref()) != el.name {
                    return Err(err(format!(
                        "closing tag `{}` does not match `{}`",
                        local(e.name().as_ref()),
                        el.name
                    )));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let raw = t.into_inner();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&raw),
                    None if raw.trim().is_empty() => {}
                    None => return Err(err("text outside the root element")),
                }
            }
            Event::CData(t) => {
                let raw = t.into_inner();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&raw),
                    None => return Err(err("text outside the root element")),
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| err(format!("bad character reference: {e}")))?
                        .map(String::from)
                } else {
                    match r.as_ref() {
                        "amp" => Some("&".into()),
                        "lt" => Some("<".into()),
                        "gt" => Some(">".into()),
                        "quot" => Some("\"".into()),
                        "apos" => Some("'".into()),
                        _ => None,
                    }
                };
                let Some(text) = resolved else {
                    return Err(err(format!("unknown entity `&{};`", r.as_ref())));
                };
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None => return Err(err("text outside the root element")),
                }
            }
            Event::DocType(_) => return Err(err("document type declarations are not allowed")),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(err("the document ended inside an element"));
    }
    root.ok_or_else(|| err("the document has no root element"))
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Decodes `root` as a value of the shape `r` points to.
pub fn decode(model: &Model, r: &ShapeRef, root: &Element) -> Result<Value, XmlError> {
    value(model, r, root, 0)
}

fn value(model: &Model, r: &ShapeRef, el: &Element, depth: usize) -> Result<Value, XmlError> {
    if depth > MAX_DEPTH {
        return Err(err("shapes nested too deeply"));
    }
    let shape = model
        .shape(&r.shape)
        .ok_or_else(|| err(format!("unknown shape `{}`", r.shape)))?;
    match shape.kind.as_str() {
        "structure" => structure(model, shape, el, depth),
        "list" => {
            let member = shape
                .member
                .as_ref()
                .ok_or_else(|| err("list shape without a member"))?;
            let name = member.location_name.as_deref().unwrap_or("member");
            let mut items = Vec::new();
            for child in el.children_named(name) {
                items.push(value(model, member, child, depth + 1)?);
            }
            Ok(Value::Array(items))
        }
        "map" => {
            let (Some(k), Some(v)) = (shape.key.as_ref(), shape.value.as_ref()) else {
                return Err(err("map shape without key and value"));
            };
            let key_name = k.location_name.as_deref().unwrap_or("key");
            let val_name = v.location_name.as_deref().unwrap_or("value");
            let mut out = Map::new();
            for entry in el.children_named("entry") {
                let key = entry
                    .child(key_name)
                    .map(|e| e.text.clone())
                    .unwrap_or_default();
                let val = match entry.child(val_name) {
                    Some(e) => value(model, v, e, depth + 1)?,
                    None => Value::Null,
                };
                out.insert(key, val);
            }
            Ok(Value::Object(out))
        }
        kind => scalar(kind, &el.text, &el.name),
    }
}

fn structure(model: &Model, shape: &Shape, el: &Element, depth: usize) -> Result<Value, XmlError> {
    let mut out = Map::new();
    for (name, mr) in &shape.members {
        if mr.location.is_some() {
            continue;
        }
        let wire = mr.location_name.as_deref().unwrap_or(name);
        if mr.xml_attribute {
            if let Some((_, v)) = el.attributes.iter().find(|(k, _)| k == wire) {
                out.insert(name.clone(), Value::String(v.clone()));
            }
            continue;
        }
        let member_shape = model.shape(&mr.shape);
        let flattened = mr.flattened || member_shape.is_some_and(|s| s.flattened);
        if flattened && member_shape.is_some_and(|s| s.kind == "list") {
            let Some(item) = member_shape.and_then(|s| s.member.as_ref()) else {
                continue;
            };
            let item_name = mr.location_name.as_deref().unwrap_or(name);
            let items: Vec<&Element> = el.children_named(item_name).collect();
            if items.is_empty() {
                continue;
            }
            let mut values = Vec::with_capacity(items.len());
            for child in items {
                values.push(value(model, item, child, depth + 1)?);
            }
            out.insert(name.clone(), Value::Array(values));
            continue;
        }
        if let Some(child) = el.child(wire) {
            out.insert(name.clone(), value(model, mr, child, depth + 1)?);
        }
    }
    Ok(Value::Object(out))
}

/// Converts text to the JSON form of a scalar of shape kind `kind`; `element` names it in errors.
pub fn scalar(kind: &str, text: &str, element: &str) -> Result<Value, XmlError> {
    let t = text.trim();
    let bad = || err(format!("`{t}` is not a valid {kind} for `{element}`"));
    match kind {
        "boolean" => match t {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        "integer" | "long" => t
            .parse::<i64>()
            .map(|n| Value::Number(n.into()))
            .map_err(|_| bad()),
        "float" | "double" => t
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(bad),
        "timestamp" => crate::time::parse_timestamp(t)
            .or_else(|| sigv4::Timestamp::parse_http_date(t).map(|ts| ts.unix() as f64))
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(bad),
        _ => Ok(Value::String(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{
      "metadata": {"protocol": "rest-xml", "apiVersion": "2006-03-01", "endpointPrefix": "s3"},
      "operations": {},
      "shapes": {
        "Delete": {"type": "structure", "members": {
          "Objects": {"shape": "ObjectIdentifierList", "locationName": "Object"},
          "Quiet": {"shape": "Quiet"}}},
        "ObjectIdentifierList": {"type": "list", "member": {"shape": "ObjectIdentifier"}, "flattened": true},
        "ObjectIdentifier": {"type": "structure", "members": {
          "Key": {"shape": "Key"}, "VersionId": {"shape": "Key"}}},
        "Key": {"type": "string"},
        "Quiet": {"type": "boolean"},
        "Tagging": {"type": "structure", "members": {"TagSet": {"shape": "TagSet"}}},
        "TagSet": {"type": "list", "member": {"shape": "Tag", "locationName": "Tag"}},
        "Tag": {"type": "structure", "members": {"Key": {"shape": "Key"}, "Value": {"shape": "Key"}}}
      }
    }"#;

    fn model() -> Model {
        Model::from_json(MODEL).unwrap()
    }

    fn shape_ref(name: &str) -> ShapeRef {
        ShapeRef {
            shape: name.into(),
            ..ShapeRef::default()
        }
    }

    #[test]
    fn decodes_flattened_lists_and_booleans() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Object><Key>a &amp; b</Key></Object>
              <Object><Key>c</Key><VersionId>v1</VersionId></Object>
              <Quiet>true</Quiet>
            </Delete>"#;
        let root = parse(doc).unwrap();
        let v = decode(&model(), &shape_ref("Delete"), &root).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Objects": [{"Key": "a & b"}, {"Key": "c", "VersionId": "v1"}], "Quiet": true})
        );
    }

    #[test]
    fn decodes_wrapped_lists() {
        let doc = "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>";
        let v = decode(&model(), &shape_ref("Tagging"), &parse(doc).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"TagSet": [{"Key": "k", "Value": "v"}]})
        );
    }

    #[test]
    fn rejects_malformed_documents() {
        for doc in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text",
            "<a>&unknown;</a>",
            "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
        ] {
            assert!(parse(doc).is_err(), "{doc:?} should not parse");
        }
        let doc = "<Delete><Quiet>maybe</Quiet></Delete>";
        assert!(decode(&model(), &shape_ref("Delete"), &parse(doc).unwrap()).is_err());
    }

    #[test]
    fn bounds_nesting() {
        let doc = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&doc).is_err());
    }
}
