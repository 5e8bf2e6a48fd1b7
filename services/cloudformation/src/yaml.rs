//! YAML templates into the JSON form of a template.
//!
//! CloudFormation's short-form intrinsic tags become their long forms (`!Ref X` is
//! `{"Ref": "X"}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` is
//! `{"Fn::Sub": "s"}`...), anchors and aliases are expanded, and plain scalars resolve as
//! YAML's core schema does, except that numbers keep their text when a JSON number would
//! not (leading zeros, as in account ids, stay strings). Errors carry the line and column.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

/// A YAML document that is not a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.line, self.column
        )
    }
}

/// The deepest nesting accepted (as serde_json's limit for JSON templates): evaluation walks
/// templates recursively.
const MAX_DEPTH: usize = 128;

/// The most nodes a document may expand to, aliases included: an alias bomb stops here.
const MAX_NODES: usize = 500_000;

/// The short-form tags CloudFormation accepts, with the function each stands for.
const SHORT_FORMS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Base64", "Fn::Base64"),
    ("Cidr", "Fn::Cidr"),
    ("FindInMap", "Fn::FindInMap"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Join", "Fn::Join"),
    ("Select", "Fn::Select"),
    ("Split", "Fn::Split"),
    ("Sub", "Fn::Sub"),
    ("Transform", "Fn::Transform"),
    ("And", "Fn::And"),
    ("Equals", "Fn::Equals"),
    ("If", "Fn::If"),
    ("Not", "Fn::Not"),
    ("Or", "Fn::Or"),
    ("Length", "Fn::Length"),
    ("ToJsonString", "Fn::ToJsonString"),
];

enum Frame {
    Seq {
        items: Vec<Value>,
        tag: Option<Tag>,
        anchor: usize,
        span: Span,
        /// `total` once the sequence itself was counted.
        start: usize,
    },
    Map {
        obj: Map<String, Value>,
        key: Option<String>,
        tag: Option<Tag>,
        anchor: usize,
        span: Span,
        /// `total` once the mapping itself was counted.
        start: usize,
    },
}

fn err(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.into(),
    }
}

/// Parses one YAML document into a JSON value.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // Anchored values with the number of nodes each expands to.
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    // Nodes materialized so far, every alias counted at its full size.
    let mut total = 0usize;
    let mut root: Option<Value> = None;
    let mut documents = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        if total > MAX_NODES {
            return Err(err(
                &span,
                format!("the document expands to more than {MAX_NODES} nodes"),
            ));
        }
        // (value, anchor, span, nodes)
        let finished: Option<(Value, usize, Span, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(err(&span, "a template is one YAML document"));
                }
                None
            }
            Event::Alias(id) => {
                let (v, size) = anchors
                    .get(&id)
                    .ok_or_else(|| err(&span, "alias to an unknown anchor"))?;
                if total + size > MAX_NODES {
                    return Err(err(
                        &span,
                        format!("the document expands to more than {MAX_NODES} nodes"),
                    ));
                }
                total += size;
                Some((v.clone(), 0, span, *size))
            }
            Event::Scalar(text, style, anchor, tag) => {
                total += 1;
                let tag = tag.map(|t| t.into_owned());
                let v = scalar(&text, style, tag.as_ref(), &span)?;
                Some((v, anchor, span, 1))
            }
            Event::SequenceStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        &span,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                total += 1;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    tag: tag.map(|t| t.into_owned()),
                    anchor,
                    span,
                    start: total,
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        &span,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                total += 1;
                stack.push(Frame::Map {
                    obj: Map::new(),
                    key: None,
                    tag: tag.map(|t| t.into_owned()),
                    anchor,
                    span,
                    start: total,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    tag,
                    anchor,
                    span,
                    start,
                }) => Some((
                    tagged(Value::Array(items), tag.as_ref(), &span)?,
                    anchor,
                    span,
                    total + 1 - start,
                )),
                _ => return Err(err(&span, "unbalanced sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    obj,
                    key,
                    tag,
                    anchor,
                    span,
                    start,
                }) => {
                    if key.is_some() {
                        return Err(err(&span, "mapping key without a value"));
                    }
                    Some((
                        tagged(Value::Object(obj), tag.as_ref(), &span)?,
                        anchor,
                        span,
                        total + 1 - start,
                    ))
                }
                _ => return Err(err(&span, "unbalanced mapping")),
            },
        };
        let Some((value, anchor, span, size)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, (value.clone(), size));
        }
        match stack.last_mut() {
            None => {
                if root.is_some() {
                    return Err(err(&span, "a template is one YAML document"));
                }
                root = Some(value);
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { obj, key, .. }) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        _ => return Err(err(&span, "a mapping key must be a scalar")),
                    };
                    if obj.contains_key(&k) {
                        return Err(err(&span, format!("duplicate mapping key `{k}`")));
                    }
                    *key = Some(k);
                }
                Some(k) => {
                    obj.insert(k, value);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

fn is_core(tag: &Tag) -> Option<&str> {
    if tag.handle == "!!" {
        return Some(tag.suffix.as_str());
    }
    if tag.handle == "tag:yaml.org,2002:" {
        return Some(tag.suffix.as_str());
    }
    tag.suffix.strip_prefix("tag:yaml.org,2002:")
}

/// Wraps `value` in the function its short-form tag stands for.
fn tagged(value: Value, tag: Option<&Tag>, span: &Span) -> Result<Value, YamlError> {
    let Some(tag) = tag else { return Ok(value) };
    if let Some(core) = is_core(tag) {
        return match (core, &value) {
            ("map", Value::Object(_)) | ("seq", Value::Array(_)) => Ok(value),
            _ => Err(err(span, format!("tag `!!{core}` does not fit this node"))),
        };
    }
    if tag.handle != "!" {
        return Err(err(
            span,
            format!("unknown tag `{}{}`", tag.handle, tag.suffix),
        ));
    }
    let Some((_, function)) = SHORT_FORMS.iter().find(|(short, _)| *short == tag.suffix) else {
        return Err(err(span, format!("unknown tag `!{}`", tag.suffix)));
    };
    let arg = match (tag.suffix.as_str(), value) {
        ("GetAtt", Value::String(s)) => match s.split_once('.') {
            Some((res, attr)) => {
                Value::Array(vec![Value::String(res.into()), Value::String(attr.into())])
            }
            None => {
                return Err(err(
                    span,
                    format!(
                        "`!GetAtt {s}` must name a resource and an attribute (`Resource.Attribute`)"
                    ),
                ));
            }
        },
        (_, v) => v,
    };
    let mut m = Map::new();
    m.insert((*function).to_string(), arg);
    Ok(Value::Object(m))
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<Value, YamlError> {
    if let Some(t) = tag
        && let Some(core) = is_core(t)
    {
        return match core {
            "str" | "binary" | "timestamp" => Ok(Value::String(text.to_string())),
            "null" => Ok(Value::Null),
            "bool" => match plain(text) {
                Value::Bool(b) => Ok(Value::Bool(b)),
                _ => Err(err(span, format!("`{text}` is not a boolean"))),
            },
            "int" | "float" => match plain(text) {
                v @ Value::Number(_) => Ok(v),
                _ => Err(err(span, format!("`{text}` is not a number"))),
            },
            other => Err(err(span, format!("tag `!!{other}` does not fit a scalar"))),
        };
    }
    let value = if matches!(style, ScalarStyle::Plain) && tag.is_none() {
        plain(text)
    } else {
        Value::String(text.to_string())
    };
    tagged(value, tag, span)
}

/// Resolves a plain scalar: null, booleans and numbers; everything else is a string.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if integer {
        let leading_zero = digits.len() > 1 && digits.starts_with('0');
        if !leading_zero && let Ok(n) = text.trim_start_matches('+').parse::<i64>() {
            return Value::Number(Number::from(n));
        }
        return Value::String(text.to_string());
    }
    let float = {
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && !frac.is_empty()
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !(int.len() > 1 && int.starts_with('0'))
    };
    if float
        && let Ok(f) = text.trim_start_matches('+').parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let v = parse(
            "A: !Ref X\nB: !GetAtt R.Arn\nC: !GetAtt [R, Endpoint.Address]\nD: !Sub '${AWS::Region}-x'\n\
             E: !Join ['', [a, !Ref B]]\nF: !If [C, !Equals [a, b], !Not [!Condition D]]\n\
             G: !Select [0, !GetAZs '']\nH: !Split [',', 'a,b']\nI: !FindInMap [M, K, V]\n\
             J: !ImportValue E\nK: !Base64 hi\nL: !And [!Or [!Equals [1, 1]], !Condition X]\n",
        )
        .expect("parses");
        assert_eq!(v["A"], json!({"Ref": "X"}));
        assert_eq!(v["B"], json!({"Fn::GetAtt": ["R", "Arn"]}));
        assert_eq!(v["C"], json!({"Fn::GetAtt": ["R", "Endpoint.Address"]}));
        assert_eq!(v["D"], json!({"Fn::Sub": "${AWS::Region}-x"}));
        assert_eq!(v["E"], json!({"Fn::Join": ["", ["a", {"Ref": "B"}]]}));
        assert_eq!(
            v["F"],
            json!({"Fn::If": ["C", {"Fn::Equals": ["a", "b"]}, {"Fn::Not": [{"Condition": "D"}]}]})
        );
        assert_eq!(v["G"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(v["H"], json!({"Fn::Split": [",", "a,b"]}));
        assert_eq!(v["I"], json!({"Fn::FindInMap": ["M", "K", "V"]}));
        assert_eq!(v["J"], json!({"Fn::ImportValue": "E"}));
        assert_eq!(v["K"], json!({"Fn::Base64": "hi"}));
        assert_eq!(
            v["L"],
            json!({"Fn::And": [{"Fn::Or": [{"Fn::Equals": [1, 1]}]}, {"Condition": "X"}]})
        );
    }

    #[test]
    fn tagged_mappings_and_block_scalars() {
        let v = parse(
            "P: !Sub\n  - '${A}-${B}'\n  - A: x\n    B: !Ref Y\nQ: !Base64 |\n  line1\n  line2\n",
        )
        .expect("parses");
        assert_eq!(
            v["P"],
            json!({"Fn::Sub": ["${A}-${B}", {"A": "x", "B": {"Ref": "Y"}}]})
        );
        assert_eq!(v["Q"], json!({"Fn::Base64": "line1\nline2\n"}));
    }

    #[test]
    fn scalars_resolve_like_the_core_schema_but_keep_leading_zeros() {
        let v = parse("a: 012345678901\nb: 443\nc: 'true'\nd: true\ne: ~\nf: 1.5\ng: -3\nh: 10.0.0.0/16\ni: !!str 5\n")
            .expect("parses");
        assert_eq!(v["a"], json!("012345678901"));
        assert_eq!(v["b"], json!(443));
        assert_eq!(v["c"], json!("true"));
        assert_eq!(v["d"], json!(true));
        assert_eq!(v["e"], json!(null));
        assert_eq!(v["f"], json!(1.5));
        assert_eq!(v["g"], json!(-3));
        assert_eq!(v["h"], json!("10.0.0.0/16"));
        assert_eq!(v["i"], json!("5"));
    }

    #[test]
    fn anchors_expand() {
        let v = parse("a: &x {k: v}\nb: *x\n").expect("parses");
        assert_eq!(v["b"], json!({"k": "v"}));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a: 1\nb: [1, 2\n").expect_err("unterminated");
        assert!(e.line >= 2, "{e}");
        let e = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse("a: !Bogus x\n").expect_err("unknown tag");
        assert!(e.message.contains("!Bogus"), "{e}");
        let e = parse("a: !GetAtt NoDot\n").expect_err("bad getatt");
        assert!(e.message.contains("NoDot"), "{e}");
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
