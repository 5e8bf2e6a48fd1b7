//! A template: parsed (JSON or YAML), its sections checked as CloudFormation checks them, and
//! its parameters resolved against the values a request passes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::yaml;

/// The sections a template may have.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Hooks",
];

/// Attributes a resource may have beside `Type` and `Properties`.
const RESOURCE_ATTRIBUTES: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "Version",
];

/// The parameter types CloudFormation knows.
const PARAMETER_TYPES: &[&str] = &[
    "String",
    "Number",
    "List<Number>",
    "CommaDelimitedList",
    "AWS::EC2::AvailabilityZone::Name",
    "AWS::EC2::Image::Id",
    "AWS::EC2::Instance::Id",
    "AWS::EC2::KeyPair::KeyName",
    "AWS::EC2::SecurityGroup::GroupName",
    "AWS::EC2::SecurityGroup::Id",
    "AWS::EC2::Subnet::Id",
    "AWS::EC2::Volume::Id",
    "AWS::EC2::VPC::Id",
    "AWS::Route53::HostedZone::Id",
    "List<AWS::EC2::AvailabilityZone::Name>",
    "List<AWS::EC2::Image::Id>",
    "List<AWS::EC2::Instance::Id>",
    "List<AWS::EC2::SecurityGroup::GroupName>",
    "List<AWS::EC2::SecurityGroup::Id>",
    "List<AWS::EC2::Subnet::Id>",
    "List<AWS::EC2::Volume::Id>",
    "List<AWS::EC2::VPC::Id>",
    "List<AWS::Route53::HostedZone::Id>",
];

/// The largest template body CloudFormation accepts inline.
pub const MAX_BODY: usize = 51_200;

/// A template or request that CloudFormation rejects (`ValidationError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn format_error(message: impl std::fmt::Display) -> Invalid {
    Invalid(format!("Template format error: {message}"))
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    /// The logical name.
    pub name: String,
    /// `Type`.
    pub kind: String,
    /// `Default`, as text.
    pub default: Option<String>,
    /// `NoEcho`.
    pub no_echo: bool,
    /// `Description`.
    pub description: Option<String>,
    /// `AllowedValues`.
    pub allowed_values: Vec<String>,
    /// `AllowedPattern`.
    pub allowed_pattern: Option<String>,
    /// `MinLength` / `MaxLength`.
    pub min_length: Option<u64>,
    /// `MaxLength`.
    pub max_length: Option<u64>,
    /// `MinValue` / `MaxValue`.
    pub min_value: Option<f64>,
    /// `MaxValue`.
    pub max_value: Option<f64>,
    /// `ConstraintDescription`.
    pub constraint_description: Option<String>,
}

impl ParamDecl {
    /// Whether the parameter's value is a list.
    pub fn is_list(&self) -> bool {
        self.kind.starts_with("List<") || self.kind == "CommaDelimitedList"
    }

    /// Whether the value comes from Parameter Store (`AWS::SSM::Parameter::Value<...>`).
    pub fn is_ssm(&self) -> bool {
        self.kind.starts_with("AWS::SSM::Parameter::Value<")
    }
}

/// A declared resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDecl {
    /// The logical id.
    pub logical_id: String,
    /// `Type`.
    pub kind: String,
    /// `Properties` (an object; empty when absent).
    pub properties: Value,
    /// `DependsOn`.
    pub depends_on: Vec<String>,
    /// `Condition`.
    pub condition: Option<String>,
    /// `DeletionPolicy` (`Delete`, `Retain`, `RetainExceptOnCreate`, `Snapshot`).
    pub deletion_policy: Option<String>,
    /// `UpdateReplacePolicy`.
    pub update_replace_policy: Option<String>,
    /// `Metadata`.
    pub metadata: Option<Value>,
}

/// A declared output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputDecl {
    /// The logical name.
    pub key: String,
    /// `Value`.
    pub value: Value,
    /// `Description`.
    pub description: Option<Value>,
    /// `Export.Name`.
    pub export_name: Option<Value>,
    /// `Condition`.
    pub condition: Option<String>,
}

/// A parsed, checked template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The whole document.
    pub body: Value,
    /// `Description`.
    pub description: Option<String>,
    /// `Parameters`, in order.
    pub parameters: Vec<ParamDecl>,
    /// `Mappings`.
    pub mappings: Map<String, Value>,
    /// `Conditions`.
    pub conditions: Map<String, Value>,
    /// `Resources`, in order.
    pub resources: Vec<ResourceDecl>,
    /// `Outputs`, in order.
    pub outputs: Vec<OutputDecl>,
    /// `Transform`.
    pub transforms: Vec<String>,
    /// `Metadata`.
    pub metadata: Option<Value>,
}

/// Text of a scalar as CloudFormation reads it (numbers and booleans as their text).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a template body: JSON when it starts with `{`, YAML otherwise.
pub fn parse_body(text: &str) -> Result<Value, Invalid> {
    if text.trim().is_empty() {
        return Err(format_error("template body is empty"));
    }
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            format_error(format!(
                "JSON not well-formed. (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    } else {
        yaml::parse(text).map_err(|e| {
            format_error(format!(
                "YAML not well-formed. {} (line {}, column {})",
                e.message, e.line, e.column
            ))
        })
    }
}

impl Template {
    /// Parses and checks `text`.
    pub fn parse(text: &str) -> Result<Template, Invalid> {
        let body = parse_body(text)?;
        Template::from_value(body)
    }

    /// Checks a parsed document.
    pub fn from_value(body: Value) -> Result<Template, Invalid> {
        let Value::Object(top) = &body else {
            return Err(format_error(
                "template is not a JSON object or a YAML mapping",
            ));
        };
        let unknown: Vec<&str> = top
            .keys()
            .map(String::as_str)
            .filter(|k| !SECTIONS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(format_error(format!(
                "Invalid template property or properties [{}]",
                unknown.join(", ")
            )));
        }
        if let Some(v) = top.get("AWSTemplateFormatVersion") {
            let text = scalar_text(v).unwrap_or_default();
            if text != "2010-09-09" {
                return Err(format_error(format!(
                    "Unsupported template format version `{text}`"
                )));
            }
        }
        let description = match top.get("Description") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(format_error("Every Description member must be a string.")),
        };
        if description.as_ref().is_some_and(|d| d.len() > 1024) {
            return Err(format_error("Description must be at most 1024 bytes"));
        }
        let transforms = match top.get("Transform") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            Some(_) => {
                return Err(format_error(
                    "Transform must be a string or a list of strings",
                ));
            }
        };
        let parameters = parse_parameters(top.get("Parameters"))?;
        let mappings = section_object(top, "Mappings")?;
        for (name, m) in &mappings {
            let Value::Object(levels) = m else {
                return Err(format_error(format!(
                    "Mappings attribute `{name}` must be a JSON object"
                )));
            };
            for (k, second) in levels {
                if !second.is_object() {
                    return Err(format_error(format!(
                        "Mapping `{name}` key `{k}` must be a map of values"
                    )));
                }
            }
        }
        let conditions = section_object(top, "Conditions")?;
        let resources = parse_resources(top.get("Resources"))?;
        let outputs = parse_outputs(top.get("Outputs"))?;
        let names: BTreeSet<&str> = parameters
            .iter()
            .map(|p| p.name.as_str())
            .chain(resources.iter().map(|r| r.logical_id.as_str()))
            .collect();
        if names.len() != parameters.len() + resources.len() {
            let mut seen = BTreeSet::new();
            for n in parameters
                .iter()
                .map(|p| &p.name)
                .chain(resources.iter().map(|r| &r.logical_id))
            {
                if !seen.insert(n) {
                    return Err(format_error(format!(
                        "Parameter and Resource names must be unique; `{n}` is used twice"
                    )));
                }
            }
        }
        for r in &resources {
            if let Some(c) = &r.condition
                && !conditions.contains_key(c)
            {
                return Err(format_error(format!(
                    "Unresolved dependencies [{c}]. Cannot reference resources in the Conditions block of the template"
                )));
            }
        }
        Ok(Template {
            description,
            parameters,
            mappings,
            conditions,
            resources,
            outputs,
            transforms,
            metadata: top.get("Metadata").cloned(),
            body,
        })
    }

    /// The resource declared as `logical_id`.
    pub fn resource(&self, logical_id: &str) -> Option<&ResourceDecl> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }

    /// The parameter declared as `name`.
    pub fn parameter(&self, name: &str) -> Option<&ParamDecl> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The resource types, sorted and unique.
    pub fn resource_types(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.resources.iter().map(|r| r.kind.as_str()).collect();
        set.into_iter().map(String::from).collect()
    }

    /// The capabilities the template needs (`CAPABILITY_IAM` or `CAPABILITY_NAMED_IAM`), and why.
    pub fn required_capabilities(&self) -> Option<(&'static str, String)> {
        let mut iam = Vec::new();
        let mut named = false;
        for r in &self.resources {
            if !r.kind.starts_with("AWS::IAM::") {
                continue;
            }
            iam.push(r.logical_id.clone());
            let name_property = match r.kind.as_str() {
                "AWS::IAM::Role" => Some("RoleName"),
                "AWS::IAM::User" => Some("UserName"),
                "AWS::IAM::Group" => Some("GroupName"),
                "AWS::IAM::ManagedPolicy" => Some("ManagedPolicyName"),
                "AWS::IAM::InstanceProfile" => Some("InstanceProfileName"),
                _ => None,
            };
            if let Some(p) = name_property
                && r.properties.get(p).is_some_and(|v| !v.is_null())
            {
                named = true;
            }
        }
        if iam.is_empty() {
            return None;
        }
        let reason = format!(
            "The following resource(s) require capabilities: [{}]",
            self.resources
                .iter()
                .filter(|r| r.kind.starts_with("AWS::IAM::"))
                .map(|r| r.kind.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        );
        Some((
            if named {
                "CAPABILITY_NAMED_IAM"
            } else {
                "CAPABILITY_IAM"
            },
            reason,
        ))
    }
}

fn section_object(top: &Map<String, Value>, name: &str) -> Result<Map<String, Value>, Invalid> {
    match top.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(format_error(format!(
            "{name} must be a JSON object or a YAML mapping"
        ))),
    }
}

fn valid_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn parse_parameters(section: Option<&Value>) -> Result<Vec<ParamDecl>, Invalid> {
    let params = match section {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(format_error(
                "Parameters must be a JSON object or a YAML mapping",
            ));
        }
    };
    if params.len() > 200 {
        return Err(format_error(
            "Parameter count 201 is greater than max allowed 200",
        ));
    }
    let mut out = Vec::new();
    for (name, decl) in params {
        if !valid_logical_id(name) {
            return Err(format_error(format!(
                "Parameter name {name} is non alphanumeric."
            )));
        }
        let Value::Object(d) = decl else {
            return Err(format_error(format!(
                "[/Parameters/{name}] Every Parameters object must contain a Type member."
            )));
        };
        let kind = d.get("Type").and_then(scalar_text).ok_or_else(|| {
            format_error(format!(
                "[/Parameters/{name}] Every Parameters object must contain a Type member."
            ))
        })?;
        let known = PARAMETER_TYPES.contains(&kind.as_str())
            || (kind.starts_with("AWS::SSM::Parameter::Value<") && kind.ends_with('>'))
            || kind == "AWS::SSM::Parameter::Name";
        if !known {
            return Err(format_error(format!("Unrecognized parameter type: {kind}")));
        }
        let text_of = |key: &str| -> Result<Option<String>, Invalid> {
            match d.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v {
                    Value::Array(items) => Ok(Some(
                        items
                            .iter()
                            .filter_map(scalar_text)
                            .collect::<Vec<_>>()
                            .join(","),
                    )),
                    _ => scalar_text(v).map(Some).ok_or_else(|| {
                        format_error(format!("[/Parameters/{name}/{key}] must be a string"))
                    }),
                },
            }
        };
        let allowed_values = match d.get("AllowedValues") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    scalar_text(v).ok_or_else(|| {
                        format_error(format!(
                            "[/Parameters/{name}/AllowedValues] must be a list of strings"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(format_error(format!(
                    "[/Parameters/{name}/AllowedValues] must be a list of strings"
                )));
            }
        };
        let no_echo = match d.get("NoEcho") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => scalar_text(v).is_some_and(|t| t.eq_ignore_ascii_case("true")),
        };
        let allowed_pattern = text_of("AllowedPattern")?;
        if let Some(p) = &allowed_pattern
            && regex::Regex::new(&format!("^(?:{p})$")).is_err()
        {
            return Err(format_error(format!(
                "[/Parameters/{name}/AllowedPattern] `{p}` is not a valid pattern"
            )));
        }
        out.push(ParamDecl {
            name: name.clone(),
            default: text_of("Default")?,
            no_echo,
            description: text_of("Description")?,
            allowed_values,
            allowed_pattern,
            min_length: d.get("MinLength").and_then(as_u64),
            max_length: d.get("MaxLength").and_then(as_u64),
            min_value: d.get("MinValue").and_then(as_f64),
            max_value: d.get("MaxValue").and_then(as_f64),
            constraint_description: text_of("ConstraintDescription")?,
            kind,
        });
    }
    Ok(out)
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        _ => None,
    }
}

fn parse_resources(section: Option<&Value>) -> Result<Vec<ResourceDecl>, Invalid> {
    let resources = match section {
        Some(Value::Object(m)) if !m.is_empty() => m,
        _ => {
            return Err(format_error(
                "At least one Resources member must be defined.",
            ));
        }
    };
    if resources.len() > 500 {
        return Err(format_error(format!(
            "Number of resources, {}, is greater than maximum allowed, 500",
            resources.len()
        )));
    }
    let mut out = Vec::new();
    for (id, decl) in resources {
        if !valid_logical_id(id) {
            return Err(format_error(format!(
                "Resource name {id} is non alphanumeric."
            )));
        }
        let Value::Object(d) = decl else {
            return Err(format_error(format!(
                "[/Resources/{id}] Every Resources object must contain a Type member."
            )));
        };
        let kind = match d.get("Type") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(format_error(format!(
                    "[/Resources/{id}] Every Resources object must contain a Type member."
                )));
            }
        };
        for k in d.keys() {
            if !RESOURCE_ATTRIBUTES.contains(&k.as_str()) {
                return Err(format_error(format!(
                    "[/Resources/{id}] Invalid template resource property '{k}'"
                )));
            }
        }
        let properties = match d.get("Properties") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                return Err(format_error(format!(
                    "[/Resources/{id}/Properties] Properties must be a JSON object"
                )));
            }
        };
        let depends_on = match d.get("DependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => string_list(v).ok_or_else(|| {
                format_error(format!(
                    "[/Resources/{id}/DependsOn] DependsOn must be a string or list of strings"
                ))
            })?,
        };
        let condition = match d.get("Condition") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(format_error(format!(
                    "[/Resources/{id}/Condition] Condition must be a string"
                )));
            }
        };
        let policy = |key: &str| -> Result<Option<String>, Invalid> {
            match d.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s))
                    if ["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"]
                        .contains(&s.as_str()) =>
                {
                    Ok(Some(s.clone()))
                }
                Some(v) => Err(format_error(format!(
                    "[/Resources/{id}/{key}] {key} must be one of Delete, Retain, RetainExceptOnCreate or Snapshot, not {v}"
                ))),
            }
        };
        out.push(ResourceDecl {
            logical_id: id.clone(),
            kind,
            properties,
            depends_on,
            condition,
            deletion_policy: policy("DeletionPolicy")?,
            update_replace_policy: policy("UpdateReplacePolicy")?,
            metadata: d.get("Metadata").cloned(),
        });
    }
    Ok(out)
}

fn parse_outputs(section: Option<&Value>) -> Result<Vec<OutputDecl>, Invalid> {
    let outputs = match section {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(format_error(
                "Outputs must be a JSON object or a YAML mapping",
            ));
        }
    };
    if outputs.len() > 200 {
        return Err(format_error("Output count is greater than max allowed 200"));
    }
    let mut out = Vec::new();
    for (key, decl) in outputs {
        if !valid_logical_id(key) {
            return Err(format_error(format!(
                "Output name {key} is non alphanumeric."
            )));
        }
        let Value::Object(d) = decl else {
            return Err(format_error(format!(
                "[/Outputs/{key}] Every Outputs member must contain a Value object"
            )));
        };
        let value = d.get("Value").cloned().ok_or_else(|| {
            format_error(format!(
                "[/Outputs/{key}] Every Outputs member must contain a Value object"
            ))
        })?;
        let export_name = match d.get("Export") {
            None | Some(Value::Null) => None,
            Some(Value::Object(e)) => Some(e.get("Name").cloned().ok_or_else(|| {
                format_error(format!(
                    "[/Outputs/{key}/Export] Export must contain a Name"
                ))
            })?),
            Some(_) => {
                return Err(format_error(format!(
                    "[/Outputs/{key}/Export] Export must be an object with a Name"
                )));
            }
        };
        let condition = match d.get("Condition") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(format_error(format!(
                    "[/Outputs/{key}/Condition] Condition must be a string"
                )));
            }
        };
        out.push(OutputDecl {
            key: key.clone(),
            value,
            description: d.get("Description").cloned(),
            export_name,
            condition,
        });
    }
    Ok(out)
}

/// A parameter value as a request passes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GivenParameter {
    /// `ParameterKey`.
    pub key: String,
    /// `ParameterValue`.
    pub value: Option<String>,
    /// `UsePreviousValue`.
    pub use_previous: bool,
}

/// The value of every parameter of a stack: text as given (or defaulted), and whether hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamValue {
    /// The value as text (lists comma-separated).
    pub text: String,
    /// `NoEcho`.
    pub no_echo: bool,
    /// For `AWS::SSM::Parameter::Value<...>`: the value read from Parameter Store.
    pub resolved: Option<String>,
}

/// Checks the given values against the declarations and fills in defaults and previous values.
pub fn resolve_parameters(
    template: &Template,
    given: &[GivenParameter],
    previous: Option<&BTreeMap<String, ParamValue>>,
) -> Result<BTreeMap<String, ParamValue>, Invalid> {
    let unknown: Vec<&str> = given
        .iter()
        .map(|g| g.key.as_str())
        .filter(|k| template.parameter(k).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(Invalid(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for decl in &template.parameters {
        let g = given.iter().find(|g| g.key == decl.name);
        let text = match g {
            Some(g) if g.use_previous => match previous.and_then(|p| p.get(&decl.name)) {
                Some(p) => Some(p.text.clone()),
                None => {
                    return Err(Invalid(format!(
                        "Invalid input for parameter key {}. Cannot specify usePreviousValue as true for a parameter key not in the previous template",
                        decl.name
                    )));
                }
            },
            Some(g) => g.value.clone(),
            None => decl.default.clone(),
        };
        let Some(text) = text else {
            missing.push(decl.name.clone());
            continue;
        };
        check_value(decl, &text)?;
        out.insert(
            decl.name.clone(),
            ParamValue {
                text,
                no_echo: decl.no_echo,
                resolved: None,
            },
        );
    }
    if !missing.is_empty() {
        return Err(Invalid(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    Ok(out)
}

fn check_value(decl: &ParamDecl, text: &str) -> Result<(), Invalid> {
    let name = &decl.name;
    let constraint = |fallback: String| -> Invalid {
        Invalid(
            decl.constraint_description
                .clone()
                .map(|c| format!("Parameter '{name}' failed to satisfy constraint: {c}"))
                .unwrap_or(fallback),
        )
    };
    let items: Vec<&str> = if decl.is_list() {
        if text.is_empty() {
            Vec::new()
        } else {
            text.split(',').map(str::trim).collect()
        }
    } else {
        vec![text]
    };
    for item in &items {
        if !decl.allowed_values.is_empty() && !decl.allowed_values.iter().any(|a| a == item) {
            return Err(constraint(format!(
                "Parameter '{name}' must be one of AllowedValues"
            )));
        }
        let numeric = decl.kind == "Number" || decl.kind == "List<Number>";
        if numeric {
            let Ok(n) = item.trim().parse::<f64>() else {
                return Err(Invalid(format!("Parameter '{name}' must be a number.")));
            };
            if let Some(min) = decl.min_value
                && n < min
            {
                return Err(constraint(format!(
                    "Parameter '{name}' must be a number not less than {min}"
                )));
            }
            if let Some(max) = decl.max_value
                && n > max
            {
                return Err(constraint(format!(
                    "Parameter '{name}' must be a number not greater than {max}"
                )));
            }
        }
    }
    if decl.kind == "String" || decl.is_ssm() {
        let len = text.chars().count() as u64;
        if let Some(min) = decl.min_length
            && len < min
        {
            return Err(constraint(format!(
                "Parameter '{name}' must contain at least {min} characters"
            )));
        }
        if let Some(max) = decl.max_length
            && len > max
        {
            return Err(constraint(format!(
                "Parameter '{name}' must contain at most {max} characters"
            )));
        }
        if let Some(p) = &decl.allowed_pattern
            && let Ok(re) = regex::Regex::new(&format!("^(?:{p})$"))
            && !re.is_match(text)
        {
            return Err(constraint(format!(
                "Parameter '{name}' must match pattern {p}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Description: test
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Cidr:
    Type: String
    AllowedPattern: '\d+\.\d+\.\d+\.\d+/\d+'
    ConstraintDescription: must be a CIDR
  Count:
    Type: Number
    MinValue: 1
    MaxValue: 3
    Default: 2
  Zones:
    Type: CommaDelimitedList
    Default: "a,b"
  Secret:
    Type: String
    NoEcho: true
    Default: s3cr3t
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: x
  Bucket:
    Type: AWS::S3::Bucket
    DependsOn: Role
    DeletionPolicy: Retain
"#;

    #[test]
    fn parses_sections() {
        let t = Template::parse(T).expect("parses");
        assert_eq!(t.description.as_deref(), Some("test"));
        assert_eq!(t.parameters.len(), 5);
        assert_eq!(t.resources[1].depends_on, vec!["Role"]);
        assert_eq!(t.resources[1].deletion_policy.as_deref(), Some("Retain"));
        assert!(t.parameter("Secret").is_some_and(|p| p.no_echo));
        assert_eq!(
            t.required_capabilities().map(|c| c.0),
            Some("CAPABILITY_NAMED_IAM")
        );
    }

    #[test]
    fn parameters_check_constraints() {
        let t = Template::parse(T).expect("parses");
        let give = |k: &str, v: &str| GivenParameter {
            key: k.into(),
            value: Some(v.into()),
            use_previous: false,
        };
        let e = resolve_parameters(&t, &[], None).expect_err("Cidr missing");
        assert_eq!(e.0, "Parameters: [Cidr] must have values");
        let ok = resolve_parameters(&t, &[give("Cidr", "10.0.0.0/16")], None).expect("ok");
        assert_eq!(ok["Env"].text, "dev");
        assert_eq!(ok["Zones"].text, "a,b");
        let e = resolve_parameters(&t, &[give("Cidr", "nope")], None).expect_err("pattern");
        assert_eq!(
            e.0,
            "Parameter 'Cidr' failed to satisfy constraint: must be a CIDR"
        );
        let e = resolve_parameters(&t, &[give("Cidr", "1.1.1.1/1"), give("Env", "qa")], None)
            .expect_err("allowed");
        assert_eq!(e.0, "Parameter 'Env' must be one of AllowedValues");
        let e = resolve_parameters(&t, &[give("Cidr", "1.1.1.1/1"), give("Count", "9")], None)
            .expect_err("max");
        assert!(e.0.contains("not greater than 3"), "{e}");
        let e = resolve_parameters(&t, &[give("Cidr", "1.1.1.1/1"), give("Nope", "9")], None)
            .expect_err("unknown");
        assert_eq!(e.0, "Parameters: [Nope] do not exist in the template");
        let prev = ok.clone();
        let again = resolve_parameters(
            &t,
            &[GivenParameter {
                key: "Cidr".into(),
                value: None,
                use_previous: true,
            }],
            Some(&prev),
        )
        .expect("previous");
        assert_eq!(again["Cidr"].text, "10.0.0.0/16");
    }

    #[test]
    fn rejects_malformed_templates() {
        assert!(
            Template::parse("{")
                .expect_err("json")
                .0
                .contains("JSON not well-formed")
        );
        assert!(
            Template::parse("Resources: [")
                .expect_err("yaml")
                .0
                .contains("YAML not well-formed")
        );
        assert_eq!(
            Template::parse("Description: x\n")
                .expect_err("no resources")
                .0,
            "Template format error: At least one Resources member must be defined."
        );
        assert!(
            Template::parse("Resources:\n  A:\n    Properties: {}\n")
                .expect_err("no type")
                .0
                .contains("must contain a Type member")
        );
        assert!(
            Template::parse("Foo: 1\nResources:\n  A:\n    Type: AWS::S3::Bucket\n")
                .expect_err("section")
                .0
                .contains("Invalid template property or properties [Foo]")
        );
        assert!(
            Template::parse(
                "Parameters:\n  P:\n    Type: Strin\nResources:\n  A:\n    Type: AWS::S3::Bucket\n"
            )
            .expect_err("type")
            .0
            .contains("Unrecognized parameter type: Strin")
        );
    }
}
