//! Botocore service models: the reference for operation names, shapes, wire
//! locations and error codes. Each service crate embeds a trimmed model
//! (`tools/trim-model.py`) and the codecs walk it.

use crate::fasthash::FastMap;

use serde::Deserialize;
use serde_json::Map;

/// A service model.
#[derive(Debug, Deserialize)]
pub struct Model {
    /// Service-wide facts: protocol, API version, namespaces.
    pub metadata: Metadata,
    /// Operations by name.
    pub operations: FastMap<String, OperationDef>,
    /// Shapes by name.
    pub shapes: FastMap<String, Shape>,
}

/// Service-wide facts.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `query`, `ec2`, `json`, `rest-json` or `rest-xml`.
    pub protocol: String,
    /// E.g. `2010-05-08`.
    pub api_version: String,
    /// The JSON `X-Amz-Target` prefix, e.g. `TrentService`.
    #[serde(default)]
    pub target_prefix: Option<String>,
    /// `1.0` or `1.1` for JSON services.
    #[serde(default)]
    pub json_version: Option<String>,
    /// The XML namespace of responses.
    #[serde(default)]
    pub xml_namespace: Option<String>,
    /// The SigV4 signing name when it differs from the endpoint prefix.
    #[serde(default)]
    pub signing_name: Option<String>,
    /// The endpoint prefix, e.g. `iam`.
    pub endpoint_prefix: String,
}

/// One operation.
#[derive(Debug, Deserialize)]
pub struct OperationDef {
    /// The operation name.
    pub name: String,
    /// HTTP binding.
    pub http: HttpBinding,
    /// The input shape.
    #[serde(default)]
    pub input: Option<ShapeRef>,
    /// The output shape.
    #[serde(default)]
    pub output: Option<ShapeRef>,
    /// Errors the operation may return.
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

/// HTTP method and URI template.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpBinding {
    /// HTTP method.
    pub method: String,
    /// URI template, e.g. `/{Bucket}/{Key+}?uploads`.
    pub request_uri: String,
    /// Success status code, when not 200.
    #[serde(default)]
    pub response_code: Option<u16>,
}

/// A reference to a shape, with its serialization traits at that place.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    /// The referenced shape's name.
    pub shape: String,
    /// Where a REST input or output member travels: `uri`, `querystring`, `header`, `headers`, `statusCode`.
    #[serde(default)]
    pub location: Option<String>,
    /// The wire name at that place.
    #[serde(default)]
    pub location_name: Option<String>,
    /// EC2 query input name.
    #[serde(default)]
    pub query_name: Option<String>,
    /// Query protocol result element (`GetRoleResult`).
    #[serde(default)]
    pub result_wrapper: Option<String>,
    /// Lists and maps serialized without a wrapper element.
    #[serde(default)]
    pub flattened: bool,
    /// An XML namespace declared on this element.
    #[serde(default)]
    pub xml_namespace: Option<XmlNamespace>,
    /// Rendered as an XML attribute.
    #[serde(default)]
    pub xml_attribute: bool,
    /// Timestamp format override at this place.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// Whether the member is the streaming payload.
    #[serde(default)]
    pub streaming: bool,
}

/// An XML namespace declaration.
#[derive(Debug, Deserialize)]
pub struct XmlNamespace {
    /// The namespace URI.
    pub uri: String,
    /// The prefix, if any.
    #[serde(default)]
    pub prefix: Option<String>,
}

/// A shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    /// `structure`, `list`, `map`, `string`, `integer`, `long`, `boolean`, `timestamp`, `blob`, `double`, `float`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Structure members in declaration order.
    #[serde(default, deserialize_with = "ordered_members")]
    pub members: Vec<(String, ShapeRef)>,
    /// Required structure members.
    #[serde(default)]
    pub required: Vec<String>,
    /// List member.
    #[serde(default)]
    pub member: Option<ShapeRef>,
    /// Map key.
    #[serde(default)]
    pub key: Option<ShapeRef>,
    /// Map value.
    #[serde(default)]
    pub value: Option<ShapeRef>,
    /// Lists and maps serialized without a wrapper.
    #[serde(default)]
    pub flattened: bool,
    /// Allowed string values.
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    /// Minimum length or value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Maximum length or value.
    #[serde(default)]
    pub max: Option<f64>,
    /// Timestamp format.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// The payload member of a REST structure.
    #[serde(default)]
    pub payload: Option<String>,
    /// Error facts for exception shapes.
    #[serde(default)]
    pub error: Option<ErrorTraits>,
    /// Whether the payload is streaming.
    #[serde(default)]
    pub streaming: bool,
    /// Root element name for XML payloads.
    #[serde(default)]
    pub location_name: Option<String>,
    /// XML namespace for XML payloads.
    #[serde(default)]
    pub xml_namespace: Option<XmlNamespace>,
    /// Whether the member is sensitive (redacted from the audit trail).
    #[serde(default)]
    pub sensitive: bool,
}

/// Error facts from an exception shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTraits {
    /// The wire code when it differs from the shape name.
    #[serde(default)]
    pub code: Option<String>,
    /// HTTP status.
    #[serde(default)]
    pub http_status_code: Option<u16>,
}

fn ordered_members<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, ShapeRef)>, D::Error> {
    // serde_json's `preserve_order` keeps the model's declaration order.
    let map = Map::<String, serde_json::Value>::deserialize(d)?;
    map.into_iter()
        .map(|(name, v)| {
            let target = ShapeRef::deserialize(v).map_err(serde::de::Error::custom)?;
            Ok((name, target))
        })
        .collect()
}

impl Model {
    /// Parses an embedded model; a broken model is a build defect, reported as an error.
    pub fn from_json(text: &str) -> Result<Model, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A shape by name.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The wire code and HTTP status for an error shape name, e.g. `NoSuchEntityException` → (`NoSuchEntity`, 404).
    pub fn error_code(&self, shape_name: &str) -> Option<(String, u16)> {
        let shape = self.shapes.get(shape_name)?;
        let traits = shape.error.as_ref();
        let code = traits
            .and_then(|t| t.code.clone())
            .unwrap_or_else(|| shape_name.to_string());
        Some((code, traits.and_then(|t| t.http_status_code).unwrap_or(400)))
    }
}
