//! Flow logs: one record per connection through an endpoint's listener, for the flow logs of
//! its network interface, its subnet or its VPC, filtered by traffic type (`ACCEPT`, `REJECT`,
//! `ALL`) and written to CloudWatch Logs (stream `<eni>-all`/`-accept`/`-reject` in the log
//! group) in the default version-2 format or a custom `${field}` format.
//!
//! Delivery is the service writing, as AWS's flow-logs service does with the delivery role:
//! `CreateFlowLogs` authorizes the caller's `iam:PassRole` of `DeliverLogsPermissionArn` (with
//! `iam:PassedToService = vpc-flow-logs.amazonaws.com`), and each record is then appended
//! through [`logs::Logs::deliver`], which creates the group and stream when missing. Delivery
//! to an Amazon S3 bucket batches records into gzip objects written as the log-delivery service
//! principal ([`crate::flowlog_s3`]).

use std::time::{SystemTime, UNIX_EPOCH};

use gateway::{Authorization, AwsError, Call, Check, Flow};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cidr::normalize;
use crate::endpoint::eni_exists;
use crate::filter::{self, Filter};
use crate::model::FlowLog;
use crate::{
    Ec2, TagSpecification, expect_kind, invalid_parameter, missing, new_id, not_found, now_secs,
    operation, spec_tags,
};

/// The default (version 2) record format.
pub const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// Every field of the record format, with the version that introduced it.
const FIELDS: &[(&str, u8)] = &[
    ("version", 2),
    ("account-id", 2),
    ("interface-id", 2),
    ("srcaddr", 2),
    ("dstaddr", 2),
    ("srcport", 2),
    ("dstport", 2),
    ("protocol", 2),
    ("packets", 2),
    ("bytes", 2),
    ("start", 2),
    ("end", 2),
    ("action", 2),
    ("log-status", 2),
    ("vpc-id", 3),
    ("subnet-id", 3),
    ("instance-id", 3),
    ("tcp-flags", 3),
    ("type", 3),
    ("pkt-srcaddr", 3),
    ("pkt-dstaddr", 3),
    ("region", 4),
    ("az-id", 4),
    ("sublocation-type", 4),
    ("sublocation-id", 4),
    ("pkt-src-aws-service", 5),
    ("pkt-dst-aws-service", 5),
    ("flow-direction", 5),
    ("traffic-path", 5),
    ("ecs-cluster-arn", 7),
    ("ecs-cluster-name", 7),
    ("ecs-container-instance-arn", 7),
    ("ecs-container-instance-id", 7),
    ("ecs-container-id", 7),
    ("ecs-second-container-id", 7),
    ("ecs-service-name", 7),
    ("ecs-task-definition-arn", 7),
    ("ecs-task-arn", 7),
    ("ecs-task-id", 7),
    ("reject-reason", 8),
];

/// The field names of a `${a} ${b}` format, or the first unknown one.
pub(crate) fn parse_format(format: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for token in format.split_whitespace() {
        let name = token
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| token.to_string())?;
        if !FIELDS.iter().any(|(f, _)| *f == name) {
            return Err(name.to_string());
        }
        out.push(name.to_string());
    }
    if out.is_empty() {
        return Err(String::new());
    }
    Ok(out)
}

/// What one record says.
pub(crate) struct FlowRecord<'a> {
    pub account: &'a str,
    pub eni: &'a str,
    pub subnet: &'a str,
    pub vpc: &'a str,
    pub region: &'a str,
    pub az_id: &'a str,
    pub flow: &'a Flow,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Renders a record in `format` (already validated).
pub(crate) fn render(format: &str, r: &FlowRecord<'_>) -> String {
    let fields = parse_format(format).unwrap_or_default();
    let version = fields
        .iter()
        .filter_map(|f| FIELDS.iter().find(|(n, _)| n == f).map(|(_, v)| *v))
        .max()
        .unwrap_or(2);
    let src = normalize(r.flow.peer.ip());
    let dst = normalize(r.flow.local.ip());
    let ipv6 = src.is_ipv6();
    let values: Vec<String> = fields
        .iter()
        .map(|f| match f.as_str() {
            "version" => version.to_string(),
            "account-id" => r.account.to_string(),
            "interface-id" => r.eni.to_string(),
            "srcaddr" | "pkt-srcaddr" => src.to_string(),
            "dstaddr" | "pkt-dstaddr" => dst.to_string(),
            "srcport" => r.flow.peer.port().to_string(),
            "dstport" => r.flow.local.port().to_string(),
            "protocol" => "6".into(),
            "packets" => r.flow.packets.to_string(),
            "bytes" => r.flow.bytes.to_string(),
            "start" => secs(r.flow.start).to_string(),
            "end" => secs(r.flow.end).to_string(),
            "action" => if r.flow.accepted { "ACCEPT" } else { "REJECT" }.into(),
            "log-status" => "OK".into(),
            "vpc-id" => r.vpc.to_string(),
            "subnet-id" => r.subnet.to_string(),
            "tcp-flags" => if r.flow.accepted { "3" } else { "2" }.into(),
            "type" => if ipv6 { "IPv6" } else { "IPv4" }.into(),
            "region" => r.region.to_string(),
            "az-id" => r.az_id.to_string(),
            "flow-direction" => "ingress".into(),
            _ => "-".into(),
        })
        .collect();
    values.join(" ")
}

impl Ec2 {
    /// Writes the flow-log records of one connection through endpoint `endpoint`.
    pub(crate) fn record_flow(&self, account: &str, endpoint: &str, flow: &Flow) {
        let mut to_s3: Vec<(String, String, String, String)> = Vec::new();
        let deliveries: Vec<(String, String, String, i64)> = {
            let Ok(st) = self.state.read() else { return };
            let a = st.acct(account);
            let Some(e) = a.endpoints.get(endpoint) else {
                return;
            };
            let Some(eni) = e.enis.first() else { return };
            let az_id = a
                .subnets
                .get(&eni.subnet_id)
                .map(|s| s.az_id.clone())
                .unwrap_or_default();
            let record = FlowRecord {
                account,
                eni: &eni.id,
                subnet: &eni.subnet_id,
                vpc: &e.vpc_id,
                region: self.region(),
                az_id: &az_id,
                flow,
            };
            let at = flow
                .start
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let covering = a.flow_logs.values().filter(|f| {
                (f.resource_id == eni.id
                    || f.resource_id == eni.subnet_id
                    || f.resource_id == e.vpc_id)
                    && f.captures(flow.accepted)
            });
            for f in covering.clone().filter(|f| f.destination_type == "s3") {
                if let Some(dest) = &f.destination {
                    to_s3.push((
                        f.id.clone(),
                        dest.clone(),
                        f.format.clone(),
                        render(&f.format, &record),
                    ));
                }
            }
            covering
                .filter(|f| f.destination_type == "cloud-watch-logs")
                .filter_map(|f| {
                    let group = f.log_group.clone()?;
                    let stream = format!("{}-{}", eni.id, f.traffic_type.to_ascii_lowercase());
                    Some((group, stream, render(&f.format, &record), at))
                })
                .collect()
        };
        for (id, dest, format, line) in to_s3 {
            self.queue_s3(&id, account, &dest, &format, line);
        }
        for (group, stream, line, at) in deliveries {
            if let Err(e) = self.logs().deliver(account, &group, &stream, &[(at, line)]) {
                tracing::warn!(error = %e, group, "flow log delivery failed");
            }
        }
    }
}

// ---------------------------------------------------------------- CreateFlowLogs

/// `CreateFlowLogs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFlowLogs {
    pub resource_ids: Vec<String>,
    pub resource_type: String,
    #[serde(default)]
    pub traffic_type: Option<String>,
    #[serde(default)]
    pub log_destination_type: Option<String>,
    #[serde(default)]
    pub log_group_name: Option<String>,
    #[serde(default)]
    pub log_destination: Option<String>,
    #[serde(default)]
    pub deliver_logs_permission_arn: Option<String>,
    #[serde(default)]
    pub log_format: Option<String>,
    #[serde(default)]
    pub max_aggregation_interval: Option<i64>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

fn expected_kind(resource_type: &str) -> Result<&'static str, AwsError> {
    match resource_type {
        "VPC" => Ok("vpc"),
        "Subnet" => Ok("subnet"),
        "NetworkInterface" => Ok("network-interface"),
        other => Err(invalid_parameter(format!(
            "Flow logs for resource type {other} are not supported by this server"
        ))),
    }
}

/// The log group a `LogDestination` ARN names (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]`).
fn group_from_arn(arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:aws:logs:")?;
    let (_, rest) = rest.split_once(':')?;
    let (_, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("log-group:")?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    logs::valid_group_name(name).then(|| name.to_string())
}

impl CreateFlowLogs {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let kind = expected_kind(&self.resource_type)?;
        let tags = spec_tags(&self.tag_specifications, "vpc-flow-log")?;
        let account = call.account();
        let mut checks = svc.creating("ec2:CreateFlowLogs", account, "vpc-flow-log", &tags);
        for id in &self.resource_ids {
            expect_kind(id, kind)?;
            checks.push(svc.on("ec2:CreateFlowLogs", account, id));
        }
        if let Some(role) = &self.deliver_logs_permission_arn {
            let owner = role.split(':').nth(4).unwrap_or(account).to_string();
            checks.push(
                Check::new("iam:PassRole", role.clone())
                    .owned_by(owner)
                    .with("iam:PassedToService", "vpc-flow-logs.amazonaws.com"),
            );
        }
        if self.log_destination_type.as_deref() == Some("s3") {
            checks.push(Check::new("logs:CreateLogDelivery", "*"));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let kind = expected_kind(&self.resource_type)?;
        let traffic = self
            .traffic_type
            .clone()
            .ok_or_else(|| missing("TrafficType"))?;
        let destination_type = self
            .log_destination_type
            .clone()
            .unwrap_or_else(|| "cloud-watch-logs".into());
        let (log_group, destination) = match destination_type.as_str() {
            "cloud-watch-logs" => {
                let group = match (&self.log_group_name, &self.log_destination) {
                    (Some(_), Some(_)) => {
                        return Err(invalid_parameter(
                            "Please only provide LogGroupName or only provide LogDestination.",
                        ));
                    }
                    (Some(g), None) => {
                        if !logs::valid_group_name(g) {
                            return Err(invalid_parameter(format!("Invalid log group name `{g}`")));
                        }
                        g.clone()
                    }
                    (None, Some(arn)) => group_from_arn(arn).ok_or_else(|| {
                        invalid_parameter(format!(
                            "LogDestination: {arn} is not a valid log group ARN"
                        ))
                    })?,
                    (None, None) => return Err(missing("LogGroupName")),
                };
                if self.deliver_logs_permission_arn.is_none() {
                    return Err(invalid_parameter(
                        "DeliverLogsPermissionArn is required when publishing to CloudWatch Logs",
                    ));
                }
                let arn = format!(
                    "arn:aws:logs:{}:{}:log-group:{group}",
                    svc.region(),
                    call.account()
                );
                (Some(group), Some(arn))
            }
            "s3" => {
                let dest = self
                    .log_destination
                    .clone()
                    .ok_or_else(|| missing("LogDestination"))?;
                if !dest.starts_with("arn:aws:s3:::") {
                    return Err(invalid_parameter(format!(
                        "LogDestination: {dest} is not a valid S3 ARN"
                    )));
                }
                (None, Some(dest))
            }
            other => {
                return Err(invalid_parameter(format!(
                    "LogDestinationType {other} is not supported by this server"
                )));
            }
        };
        let format = self
            .log_format
            .clone()
            .unwrap_or_else(|| DEFAULT_FORMAT.to_string());
        if let Err(field) = parse_format(&format) {
            return Err(invalid_parameter(format!(
                "The specified log format is invalid: unknown field `{field}`"
            )));
        }
        let interval = self.max_aggregation_interval.unwrap_or(600);
        if interval != 60 && interval != 600 {
            return Err(invalid_parameter(
                "MaxAggregationInterval must be 60 or 600",
            ));
        }
        let tags = spec_tags(&self.tag_specifications, "vpc-flow-log")?;
        let account = call.account().to_string();
        let created = now_secs(call);
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let mut ids = Vec::new();
            let mut unsuccessful = Vec::new();
            for id in &self.resource_ids {
                let exists = match kind {
                    "vpc" => a.vpcs.contains_key(id),
                    "subnet" => a.subnets.contains_key(id),
                    _ => eni_exists(a, id),
                };
                let failure = if !exists {
                    Some(not_found(id))
                } else if a.flow_logs.values().any(|f| {
                    f.resource_id == *id
                        && f.traffic_type == traffic
                        && f.log_group == log_group
                        && f.destination == destination
                }) {
                    Some(AwsError::bad_request(
                        "FlowLogAlreadyExists",
                        "Error. There is an existing Flow Log with the same configuration and log destination.",
                    ))
                } else {
                    None
                };
                if let Some(err) = failure {
                    unsuccessful.push(json!({
                        "Error": {"Code": err.code, "Message": err.message},
                        "ResourceId": id,
                    }));
                    continue;
                }
                let fl = FlowLog {
                    account: account.clone(),
                    id: new_id("fl"),
                    resource_id: id.clone(),
                    traffic_type: traffic.clone(),
                    destination_type: destination_type.clone(),
                    log_group: log_group.clone(),
                    destination: destination.clone(),
                    role: self.deliver_logs_permission_arn.clone(),
                    format: format.clone(),
                    max_interval: interval,
                    created,
                    tags: tags.clone(),
                    deliver_error: None,
                };
                batch.put(&fl);
                ids.push(fl.id.clone());
                a.flow_logs.insert(fl.id.clone(), fl);
            }
            let mut out = json!({ "FlowLogIds": ids, "Unsuccessful": unsuccessful });
            if let Some(t) = &self.client_token {
                out["ClientToken"] = json!(t);
            }
            Ok(out)
        })
        .await
    }
}
operation!(CreateFlowLogs);

/// `DescribeFlowLogs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeFlowLogs {
    #[serde(default)]
    pub flow_log_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeFlowLogs {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeFlowLogs",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            let items = a
                .flow_logs
                .iter()
                .filter(|(id, _)| self.flow_log_ids.is_empty() || self.flow_log_ids.contains(id));
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let mut out =
                json!({ "FlowLogs": page.iter().map(|f| f.to_json()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeFlowLogs);

/// `DeleteFlowLogs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteFlowLogs {
    pub flow_log_ids: Vec<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteFlowLogs {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let checks = self
            .flow_log_ids
            .iter()
            .map(|id| svc.on("ec2:DeleteFlowLogs", call.account(), id))
            .collect();
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let mut unsuccessful = Vec::new();
            for id in &self.flow_log_ids {
                match a.flow_logs.remove(id) {
                    Some(f) => {
                        batch.delete::<FlowLog>(&storage::Record::key(&f));
                    }
                    None => {
                        let err = not_found(id);
                        unsuccessful.push(json!({
                            "Error": {"Code": err.code, "Message": err.message},
                            "ResourceId": id,
                        }));
                    }
                }
            }
            Ok(json!({ "Unsuccessful": unsuccessful }))
        })
        .await
    }
}
operation!(DeleteFlowLogs);

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Duration;

    #[test]
    fn formats() {
        assert_eq!(parse_format(DEFAULT_FORMAT).map(|f| f.len()).ok(), Some(14));
        assert_eq!(
            parse_format("${version} ${bogus}").err().as_deref(),
            Some("bogus")
        );
        assert!(parse_format("version").is_err());
        assert!(parse_format("").is_err());
    }

    #[test]
    fn renders_version_2_and_custom_records() {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let flow = Flow {
            peer: SocketAddr::from(([127, 0, 0, 1], 51234)),
            local: SocketAddr::from(([127, 0, 0, 1], 40123)),
            start,
            end: start + Duration::from_secs(2),
            bytes: 1200,
            packets: 3,
            accepted: false,
        };
        let r = FlowRecord {
            account: "000000000000",
            eni: "eni-1",
            subnet: "subnet-1",
            vpc: "vpc-1",
            region: "us-east-1",
            az_id: "use1-az1",
            flow: &flow,
        };
        assert_eq!(
            render(DEFAULT_FORMAT, &r),
            "2 000000000000 eni-1 127.0.0.1 127.0.0.1 51234 40123 6 3 1200 1700000000 1700000002 REJECT OK"
        );
        assert_eq!(
            render(
                "${version} ${vpc-id} ${action} ${az-id} ${pkt-dst-aws-service}",
                &r
            ),
            "5 vpc-1 REJECT use1-az1 -"
        );
    }

    #[test]
    fn log_group_arns() {
        assert_eq!(
            group_from_arn("arn:aws:logs:us-east-1:000000000000:log-group:/vpc/flow:*").as_deref(),
            Some("/vpc/flow")
        );
        assert_eq!(group_from_arn("arn:aws:s3:::bucket"), None);
    }
}
