//! CloudTrail: `LookupEvents` over Perimeter's own audit trail, with AWS's
//! filters and pagination. Every event the gateway records is here, denied
//! calls and failed authentications included.

#[doc(hidden)]
pub mod fuzzing;

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, Operation, ServiceDef};
use serde::{Deserialize, Serialize};

/// The CloudTrail service.
pub struct CloudTrail;

impl CloudTrail {
    /// The service.
    pub fn new() -> Arc<CloudTrail> {
        Arc::new(CloudTrail)
    }

    /// The gateway registration.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        match ServiceDef::new("cloudtrail", include_str!("../cloudtrail.json")) {
            Ok(def) => def.operation::<LookupEvents>(self),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("cloudtrail model: {e}"),
        }
    }
}

/// One lookup attribute.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttribute {
    /// The attribute.
    pub attribute_key: String,
    /// Its value.
    pub attribute_value: String,
}

/// `LookupEvents`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEvents {
    /// At most one attribute, as AWS allows.
    #[serde(default)]
    pub lookup_attributes: Vec<LookupAttribute>,
    /// Epoch seconds, inclusive.
    #[serde(default)]
    pub start_time: Option<f64>,
    /// Epoch seconds, inclusive.
    #[serde(default)]
    pub end_time: Option<f64>,
    /// Only `insight` is defined; Perimeter records no Insights events.
    #[serde(default)]
    pub event_category: Option<String>,
    /// 1..=50.
    #[serde(default)]
    pub max_results: Option<i64>,
    /// From a previous page.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// A resource of an event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_type: Option<String>,
    resource_name: String,
}

/// One event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    event_id: String,
    event_name: String,
    read_only: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    event_time: f64,
    event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    resources: Vec<Resource>,
    cloud_trail_event: String,
}

/// `LookupEvents` output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsOutput {
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> AwsError {
    AwsError::bad_request(code, message)
}

impl LookupEvents {
    fn query(&self) -> Result<storage::audit::LookupQuery, AwsError> {
        use storage::audit::LookupAttribute as A;
        if self.lookup_attributes.len() > 1 {
            return Err(invalid(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute per request.",
            ));
        }
        let mut attributes = Vec::new();
        for a in &self.lookup_attributes {
            let v = a.attribute_value.clone();
            attributes.push(match a.attribute_key.as_str() {
                "EventId" => A::EventId(v),
                "EventName" => A::EventName(v),
                "Username" => A::Username(v),
                "ResourceName" => A::ResourceName(v),
                "ResourceType" => A::ResourceType(v),
                "EventSource" => A::EventSource(v),
                "AccessKeyId" => A::AccessKeyId(v),
                "ReadOnly" => match v.as_str() {
                    "true" => A::ReadOnly(true),
                    "false" => A::ReadOnly(false),
                    _ => {
                        return Err(invalid(
                            "InvalidLookupAttributesException",
                            "ReadOnly lookup attribute value must be true or false.",
                        ));
                    }
                },
                other => {
                    return Err(invalid(
                        "InvalidLookupAttributesException",
                        format!("Invalid attribute key: {other}"),
                    ));
                }
            });
        }
        if let (Some(s), Some(e)) = (self.start_time, self.end_time)
            && s > e
        {
            return Err(invalid(
                "InvalidTimeRangeException",
                "Start time must be before end time.",
            ));
        }
        let max = self.max_results.unwrap_or(50);
        if !(1..=50).contains(&max) {
            return Err(invalid(
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.",
            ));
        }
        Ok(storage::audit::LookupQuery {
            start_time: self.start_time.map(|t| (t * 1000.0) as i64),
            end_time: self.end_time.map(|t| (t * 1000.0) as i64),
            attributes,
            max_results: max as usize,
            next_token: self.next_token.clone(),
        })
    }
}

impl Operation for LookupEvents {
    type Service = CloudTrail;
    type Output = LookupEventsOutput;
    const NAME: &'static str = "LookupEvents";

    fn authorize(&self, _svc: &CloudTrail, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "cloudtrail:LookupEvents",
            "*",
        )))
    }

    async fn handle(
        self,
        _svc: Arc<CloudTrail>,
        call: Call,
    ) -> Result<LookupEventsOutput, AwsError> {
        if self.event_category.is_some() {
            // Only Insights events are selectable this way; Perimeter records none.
            return Ok(LookupEventsOutput {
                events: Vec::new(),
                next_token: None,
            });
        }
        let query = self.query()?;
        let page = call.store().audit().lookup(&query).map_err(|e| match e {
            storage::Error::InvalidToken => {
                invalid("InvalidNextTokenException", "Invalid NextToken.")
            }
            other => AwsError::internal(other),
        })?;
        let account = call.account().to_string();
        let events = page
            .events
            .into_iter()
            .filter(|stored| belongs_to(&stored.event.body, &account))
            .map(|stored| {
                let e = stored.event;
                Event {
                    event_id: e.event_id,
                    event_name: e.event_name,
                    read_only: e.read_only.to_string(),
                    access_key_id: e.access_key_id,
                    event_time: e.event_time as f64 / 1000.0,
                    event_source: e.event_source,
                    username: e.username,
                    resources: e
                        .resources
                        .into_iter()
                        .map(|r| Resource {
                            resource_type: r.resource_type,
                            resource_name: r.resource_name,
                        })
                        .collect(),
                    cloud_trail_event: String::from_utf8_lossy(&e.body).into_owned(),
                }
            })
            .collect();
        Ok(LookupEventsOutput {
            events,
            next_token: page.next_token,
        })
    }
}

/// Each account sees the events recorded for it (its `recipientAccountId`).
fn belongs_to(body: &[u8], account: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("recipientAccountId")
                .and_then(|a| a.as_str())
                .map(|a| a == account)
        })
        .unwrap_or(false)
}
