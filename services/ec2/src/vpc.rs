//! VPCs, their DNS attributes, and the region's Availability Zones. Creating a VPC creates
//! what AWS creates with it: the main route table (with the `local` route), the default
//! network ACL (allow all, then deny all) and the default security group (all traffic from
//! itself in, all traffic out). No default VPC exists: every VPC is created explicitly.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cidr::Cidr4;
use crate::filter::{self, Filter, Filterable};
use crate::model::{
    NetworkAcl, Peer, Route, RouteAssociation, RouteTable, SecurityGroup, SgRule, Tag, Vpc,
};
use crate::{
    Ec2, TagSpecification, dependency, expect_kind, invalid_value, missing, new_id, not_found,
    operation, spec_tags,
};

/// The Availability Zones of `region`: (name, zone id). `us-east-1` has six, others three.
pub(crate) fn zones(region: &str) -> Vec<(String, String)> {
    let letters: &[char] = if region == "us-east-1" {
        &['a', 'b', 'c', 'd', 'e', 'f']
    } else {
        &['a', 'b', 'c']
    };
    let short = zone_prefix(region);
    letters
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("{region}{l}"), format!("{short}-az{}", i + 1)))
        .collect()
}

/// `us-east-1` → `use1`, `eu-central-1` → `euc1`, `ap-southeast-2` → `apse2`.
fn zone_prefix(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    if parts.len() < 3 {
        return region.replace('-', "");
    }
    let dir: String = match parts[1] {
        "northeast" => "ne".into(),
        "northwest" => "nw".into(),
        "southeast" => "se".into(),
        "southwest" => "sw".into(),
        other => other.chars().next().map(String::from).unwrap_or_default(),
    };
    format!("{}{dir}{}", parts[0], parts[2])
}

// ---------------------------------------------------------------- CreateVpc

/// `CreateVpc`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateVpc {
    #[serde(default)]
    pub cidr_block: Option<String>,
    #[serde(default)]
    pub ipv4_ipam_pool_id: Option<String>,
    #[serde(default)]
    pub amazon_provided_ipv6_cidr_block: Option<bool>,
    #[serde(default)]
    pub instance_tenancy: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateVpc {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "vpc")?;
        let mut checks = svc.creating("ec2:CreateVpc", call.account(), "vpc", &tags);
        if let Some(first) = checks.first_mut() {
            let tenancy = self
                .instance_tenancy
                .clone()
                .unwrap_or_else(|| "default".into());
            *first = first.clone().with("ec2:Tenancy", tenancy);
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let Some(text) = self.cidr_block.as_deref() else {
            return Err(missing("CidrBlock"));
        };
        let cidr = Cidr4::parse(text, false)
            .filter(|c| (16..=28).contains(&c.len))
            .ok_or_else(|| {
                AwsError::bad_request("InvalidVpc.Range", format!("The CIDR '{text}' is invalid."))
            })?;
        if self.amazon_provided_ipv6_cidr_block.unwrap_or(false) {
            return Err(invalid_value(
                "IPv6 CIDR blocks are not supported by this server",
            ));
        }
        let tenancy = self
            .instance_tenancy
            .clone()
            .unwrap_or_else(|| "default".into());
        if tenancy == "host" {
            return Err(invalid_value("The tenancy value host is not supported."));
        }
        let tags = spec_tags(&self.tag_specifications, "vpc")?;
        let account = call.account().to_string();
        let vpc = Vpc {
            account: account.clone(),
            id: new_id("vpc"),
            cidr: cidr.to_string(),
            cidr_association_id: new_id("vpc-cidr-assoc"),
            dhcp_options_id: new_id("dopt"),
            tenancy,
            dns_support: true,
            dns_hostnames: false,
            address_usage_metrics: false,
            tags,
        };
        let main = RouteTable {
            account: account.clone(),
            id: new_id("rtb"),
            vpc_id: vpc.id.clone(),
            routes: vec![Route {
                destination_cidr: Some(vpc.cidr.clone()),
                gateway_id: Some("local".into()),
                origin: "CreateRouteTable".into(),
                ..Route::default()
            }],
            associations: vec![RouteAssociation {
                id: new_id("rtbassoc"),
                main: true,
                subnet_id: None,
            }],
            tags: Vec::new(),
        };
        let acl = NetworkAcl {
            account: account.clone(),
            id: new_id("acl"),
            vpc_id: vpc.id.clone(),
            default: true,
            entries: NetworkAcl::initial_entries(true),
            associations: Vec::new(),
            tags: Vec::new(),
        };
        let sg_id = new_id("sg");
        let sg = SecurityGroup {
            account: account.clone(),
            id: sg_id.clone(),
            name: "default".into(),
            description: "default VPC security group".into(),
            vpc_id: vpc.id.clone(),
            rules: vec![
                SgRule {
                    id: new_id("sgr"),
                    egress: false,
                    protocol: "-1".into(),
                    from: -1,
                    to: -1,
                    peer: Peer::Group {
                        group_id: sg_id,
                        user_id: account.clone(),
                    },
                    description: None,
                    tags: Vec::new(),
                },
                SgRule {
                    id: new_id("sgr"),
                    egress: true,
                    protocol: "-1".into(),
                    from: -1,
                    to: -1,
                    peer: Peer::Cidr4("0.0.0.0/0".into()),
                    description: None,
                    tags: Vec::new(),
                },
            ],
            tags: Vec::new(),
        };
        svc.write(call, move |st, batch| {
            let a = st.acct_mut(&account);
            batch.put(&vpc).put(&main).put(&acl).put(&sg);
            let out = json!({ "Vpc": vpc.to_json() });
            a.route_tables.insert(main.id.clone(), main);
            a.acls.insert(acl.id.clone(), acl);
            a.groups.insert(sg.id.clone(), sg);
            a.vpcs.insert(vpc.id.clone(), vpc);
            Ok(out)
        })
        .await
    }
}
operation!(CreateVpc);

// ---------------------------------------------------------------- DescribeVpcs

/// `DescribeVpcs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcs {
    #[serde(default)]
    pub vpc_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeVpcs {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new("ec2:DescribeVpcs", "*")))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.vpc_ids {
                if !a.vpcs.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            let items = a
                .vpcs
                .iter()
                .filter(|(id, _)| self.vpc_ids.is_empty() || self.vpc_ids.contains(id));
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let mut out = json!({ "Vpcs": page.iter().map(|v| v.to_json()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeVpcs);

// ---------------------------------------------------------------- DeleteVpc

/// `DeleteVpc`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteVpc {
    pub vpc_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteVpc {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_id, "vpc")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteVpc",
            call.account(),
            &self.vpc_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            if !a.vpcs.contains_key(&self.vpc_id) {
                return Err(not_found(&self.vpc_id));
            }
            let id = self.vpc_id.as_str();
            let busy = a.subnets.values().any(|s| s.vpc_id == id)
                || a.groups
                    .values()
                    .any(|g| g.vpc_id == id && g.name != "default")
                || a.route_tables
                    .values()
                    .any(|r| r.vpc_id == id && !r.is_main())
                || a.acls.values().any(|n| n.vpc_id == id && !n.default)
                || a.igws.values().any(|g| g.vpc_id.as_deref() == Some(id))
                || a.nats
                    .values()
                    .any(|n| n.vpc_id == id && n.state != "deleted")
                || a.endpoints.values().any(|e| e.vpc_id == id);
            if busy {
                return Err(dependency(format!(
                    "The vpc '{id}' has dependencies and cannot be deleted."
                )));
            }
            let tables: Vec<String> = a
                .route_tables
                .values()
                .filter(|r| r.vpc_id == id)
                .map(|r| r.id.clone())
                .collect();
            for t in tables {
                if let Some(r) = a.route_tables.remove(&t) {
                    batch.delete::<RouteTable>(&storage::Record::key(&r));
                }
            }
            let acls: Vec<String> = a
                .acls
                .values()
                .filter(|n| n.vpc_id == id)
                .map(|n| n.id.clone())
                .collect();
            for n in acls {
                if let Some(r) = a.acls.remove(&n) {
                    batch.delete::<NetworkAcl>(&storage::Record::key(&r));
                }
            }
            let groups: Vec<String> = a
                .groups
                .values()
                .filter(|g| g.vpc_id == id)
                .map(|g| g.id.clone())
                .collect();
            for g in groups {
                if let Some(r) = a.groups.remove(&g) {
                    batch.delete::<SecurityGroup>(&storage::Record::key(&r));
                }
            }
            let nats: Vec<String> = a
                .nats
                .values()
                .filter(|n| n.vpc_id == id)
                .map(|n| n.id.clone())
                .collect();
            for n in nats {
                if let Some(r) = a.nats.remove(&n) {
                    batch.delete::<crate::model::NatGateway>(&storage::Record::key(&r));
                }
            }
            let flows: Vec<String> = a
                .flow_logs
                .values()
                .filter(|f| f.resource_id == id)
                .map(|f| f.id.clone())
                .collect();
            for f in flows {
                if let Some(r) = a.flow_logs.remove(&f) {
                    batch.delete::<crate::model::FlowLog>(&storage::Record::key(&r));
                }
            }
            if let Some(v) = a.vpcs.remove(id) {
                batch.delete::<Vpc>(&storage::Record::key(&v));
            }
            Ok(json!({ "Return": true }))
        })
        .await
    }
}
operation!(DeleteVpc);

// ---------------------------------------------------------------- attributes

/// `{ "Value": bool }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeBooleanValue {
    #[serde(default)]
    pub value: Option<bool>,
}

/// `ModifyVpcAttribute`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyVpcAttribute {
    pub vpc_id: String,
    #[serde(default)]
    pub enable_dns_hostnames: Option<AttributeBooleanValue>,
    #[serde(default)]
    pub enable_dns_support: Option<AttributeBooleanValue>,
    #[serde(default)]
    pub enable_network_address_usage_metrics: Option<AttributeBooleanValue>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl ModifyVpcAttribute {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_id, "vpc")?;
        Ok(Authorization::check(svc.on(
            "ec2:ModifyVpcAttribute",
            call.account(),
            &self.vpc_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let given: Vec<(&str, bool)> = [
            ("enableDnsHostnames", &self.enable_dns_hostnames),
            ("enableDnsSupport", &self.enable_dns_support),
            (
                "enableNetworkAddressUsageMetrics",
                &self.enable_network_address_usage_metrics,
            ),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.as_ref().and_then(|v| v.value).map(|b| (n, b)))
        .collect();
        if given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
            return Err(AwsError::bad_request(
                "InvalidParameterCombination",
                format!(
                    "Fields for multiple attribute types specified: {}",
                    names.join(", ")
                ),
            ));
        }
        let Some((name, value)) = given.first().copied() else {
            return Err(missing("an attribute to modify"));
        };
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let v = st
                .acct_mut(&account)
                .vpcs
                .get_mut(&self.vpc_id)
                .ok_or_else(|| not_found(&self.vpc_id))?;
            match name {
                "enableDnsHostnames" => {
                    if value && !v.dns_support {
                        return Err(invalid_value(
                            "DNS hostnames cannot be enabled while DNS support is disabled for the VPC.",
                        ));
                    }
                    v.dns_hostnames = value;
                }
                "enableDnsSupport" => v.dns_support = value,
                _ => v.address_usage_metrics = value,
            }
            batch.put(&*v);
            Ok(json!({}))
        })
        .await
    }
}
operation!(ModifyVpcAttribute);

/// `DescribeVpcAttribute`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcAttribute {
    pub attribute: String,
    pub vpc_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeVpcAttribute {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeVpcAttribute",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let v = st
                .acct(call.account())
                .vpcs
                .get(&self.vpc_id)
                .ok_or_else(|| not_found(&self.vpc_id))?;
            let (member, value) = match self.attribute.as_str() {
                "enableDnsSupport" => ("EnableDnsSupport", v.dns_support),
                "enableDnsHostnames" => ("EnableDnsHostnames", v.dns_hostnames),
                "enableNetworkAddressUsageMetrics" => {
                    ("EnableNetworkAddressUsageMetrics", v.address_usage_metrics)
                }
                other => {
                    return Err(invalid_value(format!(
                        "Value ({other}) for parameter attribute is invalid."
                    )));
                }
            };
            let mut out = json!({ "VpcId": v.id });
            out[member] = json!({ "Value": value });
            Ok(out)
        })
    }
}
operation!(DescribeVpcAttribute);

// ---------------------------------------------------------------- Availability Zones

struct Zone {
    region: String,
    name: String,
    id: String,
}

impl Filterable for Zone {
    const FILTERS: &'static [&'static str] = &[
        "group-name",
        "opt-in-status",
        "region-name",
        "state",
        "zone-id",
        "zone-name",
        "zone-type",
        "network-border-group",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "group-name" | "region-name" | "network-border-group" => vec![self.region.clone()],
            "opt-in-status" => vec!["opt-in-not-required".into()],
            "state" => vec!["available".into()],
            "zone-id" => vec![self.id.clone()],
            "zone-name" => vec![self.name.clone()],
            "zone-type" => vec!["availability-zone".into()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

/// `DescribeAvailabilityZones`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAvailabilityZones {
    #[serde(default)]
    pub zone_names: Vec<String>,
    #[serde(default)]
    pub zone_ids: Vec<String>,
    #[serde(default)]
    pub all_availability_zones: Option<bool>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeAvailabilityZones {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeAvailabilityZones",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, _call: &Call) -> Result<Value, AwsError> {
        filter::validate::<Zone>(&self.filters)?;
        let region = svc.region().to_string();
        let all: Vec<Zone> = zones(&region)
            .into_iter()
            .map(|(name, id)| Zone {
                region: region.clone(),
                name,
                id,
            })
            .collect();
        for n in &self.zone_names {
            if !all.iter().any(|z| &z.name == n) {
                return Err(invalid_value(format!("Invalid availability zone: [{n}]")));
            }
        }
        for n in &self.zone_ids {
            if !all.iter().any(|z| &z.id == n) {
                return Err(invalid_value(format!("Invalid availability zone: [{n}]")));
            }
        }
        let zones: Vec<Value> = all
            .iter()
            .filter(|z| self.zone_names.is_empty() || self.zone_names.contains(&z.name))
            .filter(|z| self.zone_ids.is_empty() || self.zone_ids.contains(&z.id))
            .filter(|z| filter::matches(*z, &self.filters))
            .map(|z| {
                json!({
                    "OptInStatus": "opt-in-not-required",
                    "Messages": [],
                    "RegionName": z.region,
                    "ZoneName": z.name,
                    "ZoneId": z.id,
                    "GroupName": z.region,
                    "NetworkBorderGroup": z.region,
                    "ZoneType": "availability-zone",
                    "State": "available",
                })
            })
            .collect();
        Ok(json!({ "AvailabilityZones": zones }))
    }
}
operation!(DescribeAvailabilityZones);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_and_ids() {
        let z = zones("us-east-1");
        assert_eq!(z.len(), 6);
        assert_eq!(z[0], ("us-east-1a".to_string(), "use1-az1".to_string()));
        assert_eq!(zone_prefix("eu-central-1"), "euc1");
        assert_eq!(zone_prefix("ap-southeast-2"), "apse2");
        assert_eq!(zones("eu-west-2")[2].0, "eu-west-2c");
    }
}
