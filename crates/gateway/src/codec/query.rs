//! Decodes `awsQuery` and `ec2` form parameters into the JSON value of the
//! operation's input shape, so handlers see one representation whatever the
//! protocol (timestamps as epoch seconds, blobs as base64 strings).

use std::borrow::Cow;
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

    /// EC2 reports malformed parameters as `InvalidParameterValue`, not `ValidationError`.
    fn dialect_error(&self, e: AwsError) -> AwsError {
        match self.dialect {
            Dialect::Ec2 => AwsError::bad_request("InvalidParameterValue", e.message),
            Dialect::Query => e,
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
                Some(text) => scalar(prefix, &shape.kind, text)
                    .map(Some)
                    .map_err(|e| self.dialect_error(e)),
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

/// [`parse_form`], borrowing each name and value that needs no decoding (a REST request's query
/// string is parsed for every request, and most of its components are plain).
pub fn parse_form_borrowed(body: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    if body.is_empty() {
        return Vec::new();
    }
    // Sized once rather than grown: a presigned URL has a dozen pairs.
    let mut pairs = Vec::with_capacity(body.bytes().filter(|&b| b == b'&').count() + 1);
    for part in body.split('&').filter(|part| !part.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((form_decode_borrowed(k), form_decode_borrowed(v)));
    }
    pairs
}

fn form_decode_borrowed(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b == b'+' || b == b'%') {
        Cow::Owned(form_decode(text.as_bytes()))
    } else {
        Cow::Borrowed(text)
    }
}

fn form_decode(bytes: &[u8]) -> String {
    let decoded = sigv4::decode_query_component(bytes);
    match String::from_utf8(decoded) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few shapes in the EC2 model's style: `locationName`s in lower camel case, a
    /// `queryName`, lists of structures and lists of lists.
    const EC2_MODEL: &str = r#"{
      "metadata": {"protocol": "ec2", "apiVersion": "2016-11-15", "endpointPrefix": "ec2",
                   "xmlNamespace": "http://ec2.amazonaws.com/doc/2016-11-15"},
      "operations": {},
      "shapes": {
        "Input": {"type": "structure", "required": ["GroupId"], "members": {
          "GroupId": {"shape": "String", "locationName": "groupId"},
          "Filters": {"shape": "FilterList", "locationName": "Filter"},
          "VpcIds": {"shape": "IdList", "locationName": "VpcId"},
          "IpPermissions": {"shape": "IpPermissionList", "locationName": "ipPermissions"},
          "DryRun": {"shape": "Boolean", "locationName": "dryRun"},
          "MaxResults": {"shape": "Integer"},
          "Icmp": {"shape": "IcmpTypeCode", "locationName": "Icmp"},
          "Named": {"shape": "String", "locationName": "lowerName", "queryName": "QueryName"}
        }},
        "FilterList": {"type": "list", "member": {"shape": "Filter", "locationName": "Filter"}},
        "Filter": {"type": "structure", "members": {
          "Name": {"shape": "String"},
          "Values": {"shape": "ValueList", "locationName": "Value"}
        }},
        "ValueList": {"type": "list", "member": {"shape": "String", "locationName": "item"}},
        "IdList": {"type": "list", "member": {"shape": "String", "locationName": "VpcId"}},
        "IpPermissionList": {"type": "list", "member": {"shape": "IpPermission", "locationName": "item"}},
        "IpPermission": {"type": "structure", "members": {
          "IpProtocol": {"shape": "String", "locationName": "ipProtocol"},
          "FromPort": {"shape": "Integer", "locationName": "fromPort"},
          "UserIdGroupPairs": {"shape": "PairList", "locationName": "groups"},
          "IpRanges": {"shape": "RangeList", "locationName": "ipRanges"}
        }},
        "PairList": {"type": "list", "member": {"shape": "Pair", "locationName": "item"}},
        "Pair": {"type": "structure", "members": {"GroupId": {"shape": "String", "locationName": "groupId"}}},
        "RangeList": {"type": "list", "member": {"shape": "Range", "locationName": "item"}},
        "Range": {"type": "structure", "members": {"CidrIp": {"shape": "String", "locationName": "cidrIp"}}},
        "IcmpTypeCode": {"type": "structure", "members": {
          "Code": {"shape": "Integer", "locationName": "code"},
          "Type": {"shape": "Integer", "locationName": "type"}
        }},
        "String": {"type": "string"},
        "Integer": {"type": "integer"},
        "Boolean": {"type": "boolean"}
      }
    }"#;

    fn pairs(form: &str) -> Vec<(String, String)> {
        parse_form(form.as_bytes())
    }

    #[test]
    fn the_borrowing_parser_decodes_as_parse_form_and_borrows_plain_components() {
        for form in [
            "",
            "a=1&b=2",
            "&&x&y=&=z&",
            "k%20ey=v+a%2Flue&p=%ZZ&q=%4",
            "X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&uploads",
            "t=%E2%9C%93&bad=%FF%FE",
        ] {
            let owned: Vec<(String, String)> = parse_form_borrowed(form)
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(owned, pairs(form), "{form}");
        }
        let parsed = parse_form_borrowed("plain=value&enc=a%2Fb");
        assert!(matches!(
            parsed[0],
            (Cow::Borrowed("plain"), Cow::Borrowed("value"))
        ));
        assert!(matches!(&parsed[1].1, Cow::Owned(v) if v == "a/b"));
    }

    fn decode_ec2(form: &str) -> Result<Value, AwsError> {
        let model = Model::from_json(EC2_MODEL).map_err(AwsError::internal)?;
        let p = pairs(form);
        decode(&model, "Input", &Params::new(&p), Dialect::Ec2)
    }

    #[test]
    fn ec2_lists_are_name_dot_n_with_capitalized_location_names() {
        let v = decode_ec2(
            "Action=DescribeVpcs&GroupId=sg-1&VpcId.1=vpc-a&VpcId.2=vpc-b\
             &Filter.1.Name=tag%3AName&Filter.1.Value.1=blue&Filter.1.Value.2=gr*en\
             &Filter.2.Name=state&Filter.2.Value.1=available&DryRun=true&MaxResults=5",
        )
        .expect("decodes");
        assert_eq!(v["GroupId"], "sg-1");
        assert_eq!(v["VpcIds"], serde_json::json!(["vpc-a", "vpc-b"]));
        assert_eq!(v["Filters"][0]["Name"], "tag:Name");
        assert_eq!(
            v["Filters"][0]["Values"],
            serde_json::json!(["blue", "gr*en"])
        );
        assert_eq!(v["Filters"][1]["Values"], serde_json::json!(["available"]));
        assert_eq!(v["DryRun"], true);
        assert_eq!(v["MaxResults"], 5);
    }

    #[test]
    fn ec2_nested_permissions_and_query_names() {
        let v = decode_ec2(
            "GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=443\
             &IpPermissions.1.Groups.1.GroupId=sg-1&IpPermissions.1.IpRanges.1.CidrIp=127.0.0.1%2F32\
             &IpPermissions.1.IpRanges.2.CidrIp=10.0.0.0%2F16&IpPermissions.2.IpProtocol=-1\
             &Icmp.Type=8&Icmp.Code=-1&QueryName=q",
        )
        .expect("decodes");
        let p = &v["IpPermissions"];
        assert_eq!(p[0]["IpProtocol"], "tcp");
        assert_eq!(p[0]["FromPort"], 443);
        assert_eq!(p[0]["UserIdGroupPairs"][0]["GroupId"], "sg-1");
        assert_eq!(p[0]["IpRanges"][1]["CidrIp"], "10.0.0.0/16");
        assert_eq!(p[1]["IpProtocol"], "-1");
        assert!(p[1].get("IpRanges").is_none());
        assert_eq!(v["Icmp"]["Type"], 8);
        assert_eq!(v["Icmp"]["Code"], -1);
        assert_eq!(v["Named"], "q");
    }

    #[test]
    fn ec2_lists_stop_at_the_first_gap_and_reject_bad_scalars() {
        let v = decode_ec2("GroupId=sg-1&VpcId.1=a&VpcId.3=c").expect("decodes");
        assert_eq!(v["VpcIds"], serde_json::json!(["a"]));
        let e = decode_ec2("GroupId=sg-1&MaxResults=five")
            .err()
            .map(|e| e.code.to_string());
        assert_eq!(e.as_deref(), Some("InvalidParameterValue"));
        let e = decode_ec2("GroupId=sg-1&DryRun=maybe")
            .err()
            .map(|e| e.code.to_string());
        assert_eq!(e.as_deref(), Some("InvalidParameterValue"));
        // The Query dialect keeps its own code.
        let model = Model::from_json(EC2_MODEL).expect("model");
        let p = pairs("GroupId=sg-1&MaxResults=five");
        let e = decode(&model, "Input", &Params::new(&p), Dialect::Query)
            .err()
            .map(|e| e.code.to_string());
        assert_eq!(e.as_deref(), Some("ValidationError"));
    }

    #[test]
    fn ec2_results_render_items_by_location_name() {
        let model = Model::from_json(
            r#"{
              "metadata": {"protocol": "ec2", "apiVersion": "2016-11-15", "endpointPrefix": "ec2",
                           "xmlNamespace": "http://ec2.amazonaws.com/doc/2016-11-15"},
              "operations": {"DescribeThings": {"name": "DescribeThings",
                 "http": {"method": "POST", "requestUri": "/"},
                 "output": {"shape": "Out"}}},
              "shapes": {
                "Out": {"type": "structure", "members": {
                  "Things": {"shape": "ThingList", "locationName": "thingSet"},
                  "NextToken": {"shape": "String", "locationName": "nextToken"}}},
                "ThingList": {"type": "list", "member": {"shape": "Thing", "locationName": "item"}},
                "Thing": {"type": "structure", "members": {
                  "ThingId": {"shape": "String", "locationName": "thingId"},
                  "IsDefault": {"shape": "Boolean", "locationName": "isDefault"},
                  "Tags": {"shape": "TagList", "locationName": "tagSet"}}},
                "TagList": {"type": "list", "member": {"shape": "Tag", "locationName": "item"}},
                "Tag": {"type": "structure", "members": {
                  "Key": {"shape": "String", "locationName": "key"},
                  "Value": {"shape": "String", "locationName": "value"}}},
                "String": {"type": "string"},
                "Boolean": {"type": "boolean"}
              }
            }"#,
        )
        .expect("model");
        let out = serde_json::json!({
            "Things": [{"ThingId": "t-1", "IsDefault": false, "Tags": [{"Key": "Name", "Value": "a<b"}]}]
        });
        let mut w = crate::codec::xml::XmlWriter::new(&model);
        w.members("Out", &out);
        assert_eq!(
            w.out,
            "<thingSet><item><thingId>t-1</thingId><isDefault>false</isDefault>\
             <tagSet><item><key>Name</key><value>a&lt;b</value></item></tagSet></item></thingSet>"
        );
    }
}
