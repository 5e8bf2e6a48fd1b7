//! EC2 resources as stored (one table each, keyed `ACCOUNT/ID`) and as rendered into the
//! output shapes, with the filters each Describe call supports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::Record;

use crate::filter::Filterable;

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// Tags as the output shapes carry them.
pub fn tags_json(tags: &[Tag]) -> Value {
    json!(tags)
}

macro_rules! record {
    ($t:ty, $table:literal) => {
        impl Record for $t {
            const TABLE: &'static str = $table;
            fn key(&self) -> String {
                format!("{}/{}", self.account, self.id)
            }
        }
    };
}

fn opt<T: Serialize>(out: &mut Value, name: &str, v: &Option<T>) {
    if let Some(v) = v {
        out[name] = json!(v);
    }
}

// ---------------------------------------------------------------- VPC

/// A VPC.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vpc {
    pub account: String,
    pub id: String,
    pub cidr: String,
    pub cidr_association_id: String,
    pub dhcp_options_id: String,
    pub tenancy: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    #[serde(default)]
    pub address_usage_metrics: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(Vpc, "ec2.vpc");

impl Vpc {
    pub fn to_json(&self) -> Value {
        json!({
            "OwnerId": self.account,
            "InstanceTenancy": self.tenancy,
            "CidrBlockAssociationSet": [{
                "AssociationId": self.cidr_association_id,
                "CidrBlock": self.cidr,
                "CidrBlockState": {"State": "associated"},
            }],
            "IsDefault": false,
            "Tags": tags_json(&self.tags),
            "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
            "VpcId": self.id,
            "State": "available",
            "CidrBlock": self.cidr,
            "DhcpOptionsId": self.dhcp_options_id,
        })
    }
}

impl Filterable for Vpc {
    const FILTERS: &'static [&'static str] = &[
        "cidr",
        "cidr-block-association.cidr-block",
        "cidr-block-association.association-id",
        "cidr-block-association.state",
        "dhcp-options-id",
        "is-default",
        "owner-id",
        "state",
        "vpc-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "cidr" | "cidr-block-association.cidr-block" => vec![self.cidr.clone()],
            "cidr-block-association.association-id" => vec![self.cidr_association_id.clone()],
            "cidr-block-association.state" => vec!["associated".into()],
            "dhcp-options-id" => vec![self.dhcp_options_id.clone()],
            "is-default" => vec!["false".into()],
            "owner-id" => vec![self.account.clone()],
            "state" => vec!["available".into()],
            "vpc-id" => vec![self.id.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

// ---------------------------------------------------------------- subnet

/// A subnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    pub account: String,
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub az: String,
    pub az_id: String,
    #[serde(default)]
    pub map_public_ip: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(Subnet, "ec2.subnet");

impl Subnet {
    pub fn arn(&self, region: &str) -> String {
        format!("arn:aws:ec2:{region}:{}:subnet/{}", self.account, self.id)
    }

    pub fn to_json(&self, region: &str, available: u64) -> Value {
        json!({
            "AvailabilityZoneId": self.az_id,
            "MapCustomerOwnedIpOnLaunch": false,
            "OwnerId": self.account,
            "AssignIpv6AddressOnCreation": false,
            "Ipv6CidrBlockAssociationSet": [],
            "Tags": tags_json(&self.tags),
            "SubnetArn": self.arn(region),
            "EnableDns64": false,
            "Ipv6Native": false,
            "PrivateDnsNameOptionsOnLaunch": {
                "HostnameType": "ip-name",
                "EnableResourceNameDnsARecord": false,
                "EnableResourceNameDnsAAAARecord": false,
            },
            "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
            "SubnetId": self.id,
            "State": "available",
            "VpcId": self.vpc_id,
            "CidrBlock": self.cidr,
            "AvailableIpAddressCount": available,
            "AvailabilityZone": self.az,
            "DefaultForAz": false,
            "MapPublicIpOnLaunch": self.map_public_ip,
        })
    }
}

impl Filterable for Subnet {
    const FILTERS: &'static [&'static str] = &[
        "availability-zone",
        "availability-zone-id",
        "availableIpAddressCount",
        "cidr",
        "cidr-block",
        "cidrBlock",
        "default-for-az",
        "map-public-ip-on-launch",
        "owner-id",
        "state",
        "subnet-arn",
        "subnet-id",
        "vpc-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "availability-zone" => vec![self.az.clone()],
            "availability-zone-id" => vec![self.az_id.clone()],
            "cidr" | "cidr-block" | "cidrBlock" => vec![self.cidr.clone()],
            "default-for-az" => vec!["false".into()],
            "map-public-ip-on-launch" => vec![self.map_public_ip.to_string()],
            "owner-id" => vec![self.account.clone()],
            "state" => vec!["available".into()],
            "subnet-arn" => vec![format!("subnet/{}", self.id)],
            "subnet-id" => vec![self.id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

// ---------------------------------------------------------------- security groups

/// Where a security group rule admits traffic from (or sends it to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// An IPv4 block.
    Cidr4(String),
    /// An IPv6 block.
    Cidr6(String),
    /// Members of a security group.
    Group { group_id: String, user_id: String },
    /// A managed prefix list.
    PrefixList(String),
}

/// One security group rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SgRule {
    pub id: String,
    pub egress: bool,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or a protocol number.
    pub protocol: String,
    pub from: i64,
    pub to: i64,
    pub peer: Peer,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl SgRule {
    /// Whether the rules allow the same traffic (AWS's duplicate test).
    pub fn same_permission(&self, other: &SgRule) -> bool {
        self.egress == other.egress
            && self.protocol == other.protocol
            && self.from == other.from
            && self.to == other.to
            && self.peer == other.peer
    }

    /// Whether the rule covers TCP port `port`.
    pub fn covers_tcp(&self, port: u16) -> bool {
        match self.protocol.as_str() {
            "-1" => true,
            "tcp" => self.from <= i64::from(port) && i64::from(port) <= self.to,
            _ => false,
        }
    }

    pub fn to_json(&self, group: &SecurityGroup, region: &str) -> Value {
        let mut out = json!({
            "SecurityGroupRuleId": self.id,
            "GroupId": group.id,
            "GroupOwnerId": group.account,
            "IsEgress": self.egress,
            "IpProtocol": self.protocol,
            "FromPort": self.from,
            "ToPort": self.to,
            "SecurityGroupRuleArn": format!("arn:aws:ec2:{region}:{}:security-group-rule/{}", group.account, self.id),
            "Tags": tags_json(&self.tags),
        });
        match &self.peer {
            Peer::Cidr4(c) => out["CidrIpv4"] = json!(c),
            Peer::Cidr6(c) => out["CidrIpv6"] = json!(c),
            Peer::PrefixList(p) => out["PrefixListId"] = json!(p),
            Peer::Group { group_id, user_id } => {
                out["ReferencedGroupInfo"] = json!({"GroupId": group_id, "UserId": user_id});
            }
        }
        opt(&mut out, "Description", &self.description);
        out
    }
}

/// A security group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub account: String,
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    #[serde(default)]
    pub rules: Vec<SgRule>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(SecurityGroup, "ec2.security_group");

/// Groups rules into `IpPermission`s the way DescribeSecurityGroups does: one permission per
/// (protocol, ports), with its ranges and group pairs.
pub fn permissions(rules: &[&SgRule]) -> Value {
    let mut order: Vec<(String, i64, i64)> = Vec::new();
    let mut by: BTreeMap<(String, i64, i64), Value> = BTreeMap::new();
    for r in rules {
        let key = (r.protocol.clone(), r.from, r.to);
        let entry = by.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            let mut p = json!({
                "IpProtocol": r.protocol,
                "UserIdGroupPairs": [],
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
            });
            if r.protocol != "-1" {
                p["FromPort"] = json!(r.from);
                p["ToPort"] = json!(r.to);
            }
            p
        });
        let (list, mut item) = match &r.peer {
            Peer::Cidr4(c) => ("IpRanges", json!({"CidrIp": c})),
            Peer::Cidr6(c) => ("Ipv6Ranges", json!({"CidrIpv6": c})),
            Peer::PrefixList(p) => ("PrefixListIds", json!({"PrefixListId": p})),
            Peer::Group { group_id, user_id } => (
                "UserIdGroupPairs",
                json!({"GroupId": group_id, "UserId": user_id}),
            ),
        };
        opt(&mut item, "Description", &r.description);
        if let Some(a) = entry[list].as_array_mut() {
            a.push(item);
        }
    }
    Value::Array(order.iter().filter_map(|k| by.remove(k)).collect())
}

impl SecurityGroup {
    pub fn arn(&self, region: &str) -> String {
        format!(
            "arn:aws:ec2:{region}:{}:security-group/{}",
            self.account, self.id
        )
    }

    pub fn to_json(&self, region: &str) -> Value {
        let ingress: Vec<&SgRule> = self.rules.iter().filter(|r| !r.egress).collect();
        let egress: Vec<&SgRule> = self.rules.iter().filter(|r| r.egress).collect();
        json!({
            "GroupId": self.id,
            "IpPermissionsEgress": permissions(&egress),
            "Tags": tags_json(&self.tags),
            "VpcId": self.vpc_id,
            "SecurityGroupArn": self.arn(region),
            "OwnerId": self.account,
            "GroupName": self.name,
            "Description": self.description,
            "IpPermissions": permissions(&ingress),
        })
    }
}

impl Filterable for SecurityGroup {
    const FILTERS: &'static [&'static str] = &[
        "description",
        "egress.ip-permission.cidr",
        "egress.ip-permission.from-port",
        "egress.ip-permission.group-id",
        "egress.ip-permission.ipv6-cidr",
        "egress.ip-permission.protocol",
        "egress.ip-permission.to-port",
        "group-id",
        "group-name",
        "ip-permission.cidr",
        "ip-permission.from-port",
        "ip-permission.group-id",
        "ip-permission.ipv6-cidr",
        "ip-permission.protocol",
        "ip-permission.to-port",
        "owner-id",
        "vpc-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        let (egress, what) = match name.strip_prefix("egress.ip-permission.") {
            Some(w) => (true, w),
            None => (false, name.strip_prefix("ip-permission.").unwrap_or("")),
        };
        let rules = self.rules.iter().filter(|r| r.egress == egress);
        match (name, what) {
            ("description", _) => vec![self.description.clone()],
            ("group-id", _) => vec![self.id.clone()],
            ("group-name", _) => vec![self.name.clone()],
            ("owner-id", _) => vec![self.account.clone()],
            ("vpc-id", _) => vec![self.vpc_id.clone()],
            (_, "cidr") => rules
                .filter_map(|r| match &r.peer {
                    Peer::Cidr4(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            (_, "ipv6-cidr") => rules
                .filter_map(|r| match &r.peer {
                    Peer::Cidr6(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            (_, "group-id") => rules
                .filter_map(|r| match &r.peer {
                    Peer::Group { group_id, .. } => Some(group_id.clone()),
                    _ => None,
                })
                .collect(),
            (_, "protocol") => rules.map(|r| r.protocol.clone()).collect(),
            (_, "from-port") => rules.map(|r| r.from.to_string()).collect(),
            (_, "to-port") => rules.map(|r| r.to.to_string()).collect(),
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// A rule with its group, for DescribeSecurityGroupRules filters.
pub struct RuleView<'a> {
    pub group: &'a SecurityGroup,
    pub rule: &'a SgRule,
}

impl Filterable for RuleView<'_> {
    const FILTERS: &'static [&'static str] = &["group-id", "security-group-rule-id", "is-egress"];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "group-id" => vec![self.group.id.clone()],
            "security-group-rule-id" => vec![self.rule.id.clone()],
            "is-egress" => vec![self.rule.egress.to_string()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.rule.tags
    }
}

// ---------------------------------------------------------------- route tables

/// A route.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Route {
    #[serde(default)]
    pub destination_cidr: Option<String>,
    #[serde(default)]
    pub destination_ipv6: Option<String>,
    #[serde(default)]
    pub destination_prefix_list: Option<String>,
    /// `local`, `igw-...` or `vpce-...` (gateway endpoints).
    #[serde(default)]
    pub gateway_id: Option<String>,
    #[serde(default)]
    pub nat_gateway_id: Option<String>,
    #[serde(default)]
    pub network_interface_id: Option<String>,
    /// `CreateRouteTable` (the local route) or `CreateRoute`.
    pub origin: String,
}

impl Route {
    pub fn destination(&self) -> String {
        self.destination_cidr
            .clone()
            .or_else(|| self.destination_ipv6.clone())
            .or_else(|| self.destination_prefix_list.clone())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> Value {
        let mut out = json!({"Origin": self.origin, "State": "active"});
        opt(&mut out, "DestinationCidrBlock", &self.destination_cidr);
        opt(&mut out, "DestinationIpv6CidrBlock", &self.destination_ipv6);
        opt(
            &mut out,
            "DestinationPrefixListId",
            &self.destination_prefix_list,
        );
        opt(&mut out, "GatewayId", &self.gateway_id);
        opt(&mut out, "NatGatewayId", &self.nat_gateway_id);
        opt(&mut out, "NetworkInterfaceId", &self.network_interface_id);
        out
    }
}

/// A route table association.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteAssociation {
    pub id: String,
    pub main: bool,
    #[serde(default)]
    pub subnet_id: Option<String>,
}

/// A route table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteTable {
    pub account: String,
    pub id: String,
    pub vpc_id: String,
    pub routes: Vec<Route>,
    pub associations: Vec<RouteAssociation>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(RouteTable, "ec2.route_table");

impl RouteTable {
    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.main)
    }

    pub fn to_json(&self) -> Value {
        let assocs: Vec<Value> = self
            .associations
            .iter()
            .map(|a| {
                let mut v = json!({
                    "Main": a.main,
                    "RouteTableAssociationId": a.id,
                    "RouteTableId": self.id,
                    "AssociationState": {"State": "associated"},
                });
                opt(&mut v, "SubnetId", &a.subnet_id);
                v
            })
            .collect();
        json!({
            "Associations": assocs,
            "PropagatingVgws": [],
            "RouteTableId": self.id,
            "Routes": self.routes.iter().map(Route::to_json).collect::<Vec<_>>(),
            "Tags": tags_json(&self.tags),
            "VpcId": self.vpc_id,
            "OwnerId": self.account,
        })
    }
}

impl Filterable for RouteTable {
    const FILTERS: &'static [&'static str] = &[
        "association.gateway-id",
        "association.route-table-association-id",
        "association.route-table-id",
        "association.subnet-id",
        "association.main",
        "owner-id",
        "route-table-id",
        "route.destination-cidr-block",
        "route.destination-ipv6-cidr-block",
        "route.destination-prefix-list-id",
        "route.gateway-id",
        "route.nat-gateway-id",
        "route.origin",
        "route.state",
        "vpc-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "association.route-table-association-id" => {
                self.associations.iter().map(|a| a.id.clone()).collect()
            }
            "association.route-table-id" => {
                if self.associations.is_empty() {
                    Vec::new()
                } else {
                    vec![self.id.clone()]
                }
            }
            "association.subnet-id" => self
                .associations
                .iter()
                .filter_map(|a| a.subnet_id.clone())
                .collect(),
            "association.main" => self
                .associations
                .iter()
                .map(|a| a.main.to_string())
                .collect(),
            "owner-id" => vec![self.account.clone()],
            "route-table-id" => vec![self.id.clone()],
            "route.destination-cidr-block" => self
                .routes
                .iter()
                .filter_map(|r| r.destination_cidr.clone())
                .collect(),
            "route.destination-ipv6-cidr-block" => self
                .routes
                .iter()
                .filter_map(|r| r.destination_ipv6.clone())
                .collect(),
            "route.destination-prefix-list-id" => self
                .routes
                .iter()
                .filter_map(|r| r.destination_prefix_list.clone())
                .collect(),
            "route.gateway-id" => self
                .routes
                .iter()
                .filter_map(|r| r.gateway_id.clone())
                .collect(),
            "route.nat-gateway-id" => self
                .routes
                .iter()
                .filter_map(|r| r.nat_gateway_id.clone())
                .collect(),
            "route.origin" => self.routes.iter().map(|r| r.origin.clone()).collect(),
            "route.state" => vec!["active".into()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

// ---------------------------------------------------------------- gateways

/// An internet gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InternetGateway {
    pub account: String,
    pub id: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(InternetGateway, "ec2.internet_gateway");

impl InternetGateway {
    pub fn to_json(&self) -> Value {
        let attachments: Vec<Value> = self
            .vpc_id
            .iter()
            .map(|v| json!({"State": "available", "VpcId": v}))
            .collect();
        json!({
            "Attachments": attachments,
            "InternetGatewayId": self.id,
            "OwnerId": self.account,
            "Tags": tags_json(&self.tags),
        })
    }
}

impl Filterable for InternetGateway {
    const FILTERS: &'static [&'static str] = &[
        "attachment.state",
        "attachment.vpc-id",
        "internet-gateway-id",
        "owner-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "attachment.state" => self
                .vpc_id
                .iter()
                .map(|_| "available".to_string())
                .collect(),
            "attachment.vpc-id" => self.vpc_id.iter().cloned().collect(),
            "internet-gateway-id" => vec![self.id.clone()],
            "owner-id" => vec![self.account.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// A NAT gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NatGateway {
    pub account: String,
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub connectivity: String,
    #[serde(default)]
    pub allocation_id: Option<String>,
    pub eni_id: String,
    pub private_ip: String,
    pub state: String,
    pub created: f64,
    #[serde(default)]
    pub deleted: Option<f64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(NatGateway, "ec2.nat_gateway");

impl NatGateway {
    pub fn to_json(&self) -> Value {
        let mut addr = json!({
            "NetworkInterfaceId": self.eni_id,
            "PrivateIp": self.private_ip,
            "IsPrimary": true,
            "Status": if self.state == "deleted" { "disassociating" } else { "succeeded" },
        });
        opt(&mut addr, "AllocationId", &self.allocation_id);
        let mut out = json!({
            "CreateTime": self.created,
            "NatGatewayAddresses": [addr],
            "NatGatewayId": self.id,
            "State": self.state,
            "SubnetId": self.subnet_id,
            "VpcId": self.vpc_id,
            "ConnectivityType": self.connectivity,
            "Tags": tags_json(&self.tags),
        });
        opt(&mut out, "DeleteTime", &self.deleted);
        out
    }
}

impl Filterable for NatGateway {
    const FILTERS: &'static [&'static str] = &["nat-gateway-id", "state", "subnet-id", "vpc-id"];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "nat-gateway-id" => vec![self.id.clone()],
            "state" => vec![self.state.clone()],
            "subnet-id" => vec![self.subnet_id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

// ---------------------------------------------------------------- network ACLs

/// A network ACL entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AclEntry {
    pub number: i64,
    pub egress: bool,
    /// `-1` or a protocol number as text (`6`, `17`, `1`).
    pub protocol: String,
    /// `allow` or `deny`.
    pub action: String,
    #[serde(default)]
    pub cidr: Option<String>,
    #[serde(default)]
    pub ipv6_cidr: Option<String>,
    #[serde(default)]
    pub ports: Option<(i64, i64)>,
    #[serde(default)]
    pub icmp: Option<(i64, i64)>,
}

impl AclEntry {
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "Egress": self.egress,
            "Protocol": self.protocol,
            "RuleAction": self.action,
            "RuleNumber": self.number,
        });
        opt(&mut out, "CidrBlock", &self.cidr);
        opt(&mut out, "Ipv6CidrBlock", &self.ipv6_cidr);
        if let Some((from, to)) = self.ports {
            out["PortRange"] = json!({"From": from, "To": to});
        }
        if let Some((t, c)) = self.icmp {
            out["IcmpTypeCode"] = json!({"Type": t, "Code": c});
        }
        out
    }
}

/// A network ACL association.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AclAssociation {
    pub id: String,
    pub subnet_id: String,
}

/// A network ACL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub account: String,
    pub id: String,
    pub vpc_id: String,
    pub default: bool,
    pub entries: Vec<AclEntry>,
    pub associations: Vec<AclAssociation>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(NetworkAcl, "ec2.network_acl");

impl NetworkAcl {
    pub fn to_json(&self) -> Value {
        let mut entries: Vec<&AclEntry> = self.entries.iter().collect();
        entries.sort_by_key(|e| (e.egress, e.number));
        json!({
            "Associations": self.associations.iter().map(|a| json!({
                "NetworkAclAssociationId": a.id,
                "NetworkAclId": self.id,
                "SubnetId": a.subnet_id,
            })).collect::<Vec<_>>(),
            "Entries": entries.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "IsDefault": self.default,
            "NetworkAclId": self.id,
            "Tags": tags_json(&self.tags),
            "VpcId": self.vpc_id,
            "OwnerId": self.account,
        })
    }

    /// The default entries: allow everything (default ACL) then the catch-all deny.
    pub fn initial_entries(allow_all: bool) -> Vec<AclEntry> {
        let mut out = Vec::new();
        for egress in [false, true] {
            if allow_all {
                out.push(AclEntry {
                    number: 100,
                    egress,
                    protocol: "-1".into(),
                    action: "allow".into(),
                    cidr: Some("0.0.0.0/0".into()),
                    ipv6_cidr: None,
                    ports: None,
                    icmp: None,
                });
            }
            out.push(AclEntry {
                number: 32767,
                egress,
                protocol: "-1".into(),
                action: "deny".into(),
                cidr: Some("0.0.0.0/0".into()),
                ipv6_cidr: None,
                ports: None,
                icmp: None,
            });
        }
        out
    }
}

impl Filterable for NetworkAcl {
    const FILTERS: &'static [&'static str] = &[
        "association.association-id",
        "association.network-acl-id",
        "association.subnet-id",
        "default",
        "entry.cidr",
        "entry.egress",
        "entry.protocol",
        "entry.rule-action",
        "entry.rule-number",
        "network-acl-id",
        "owner-id",
        "vpc-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "association.association-id" => {
                self.associations.iter().map(|a| a.id.clone()).collect()
            }
            "association.network-acl-id" => {
                if self.associations.is_empty() {
                    Vec::new()
                } else {
                    vec![self.id.clone()]
                }
            }
            "association.subnet-id" => self
                .associations
                .iter()
                .map(|a| a.subnet_id.clone())
                .collect(),
            "default" => vec![self.default.to_string()],
            "entry.cidr" => self.entries.iter().filter_map(|e| e.cidr.clone()).collect(),
            "entry.egress" => self.entries.iter().map(|e| e.egress.to_string()).collect(),
            "entry.protocol" => self.entries.iter().map(|e| e.protocol.clone()).collect(),
            "entry.rule-action" => self.entries.iter().map(|e| e.action.clone()).collect(),
            "entry.rule-number" => self.entries.iter().map(|e| e.number.to_string()).collect(),
            "network-acl-id" => vec![self.id.clone()],
            "owner-id" => vec![self.account.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

// ---------------------------------------------------------------- VPC endpoints

/// An endpoint network interface (one per subnet of an interface endpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eni {
    pub id: String,
    pub subnet_id: String,
    pub ip: String,
}

/// A VPC endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub account: String,
    pub id: String,
    pub vpc_id: String,
    pub service_name: String,
    /// `Interface` or `Gateway`.
    pub kind: String,
    /// `None`: the default full-access policy.
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    #[serde(default)]
    pub private_dns: bool,
    #[serde(default)]
    pub enis: Vec<Eni>,
    /// The loopback port of its listener (0 when not listening).
    pub port: u16,
    pub created: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}
record!(Endpoint, "ec2.vpc_endpoint");

/// AWS's default endpoint policy, as DescribeVpcEndpoints shows it.
pub const DEFAULT_ENDPOINT_POLICY: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

impl Endpoint {
    pub fn dns_name(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn to_json(&self, group_names: &BTreeMap<String, String>) -> Value {
        let groups: Vec<Value> = self
            .group_ids
            .iter()
            .map(|g| json!({"GroupId": g, "GroupName": group_names.get(g).cloned().unwrap_or_default()}))
            .collect();
        let state = if self.port == 0 {
            "failed"
        } else {
            "available"
        };
        let mut out = json!({
            "VpcEndpointId": self.id,
            "VpcEndpointType": self.kind,
            "VpcId": self.vpc_id,
            "ServiceName": self.service_name,
            "State": state,
            "PolicyDocument": self.policy.as_deref().unwrap_or(DEFAULT_ENDPOINT_POLICY),
            "RouteTableIds": self.route_table_ids,
            "SubnetIds": self.subnet_ids,
            "Groups": groups,
            "IpAddressType": "ipv4",
            "PrivateDnsEnabled": self.private_dns,
            "RequesterManaged": false,
            "NetworkInterfaceIds": self.enis.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            "DnsEntries": if self.port == 0 { json!([]) } else { json!([{"DnsName": self.dns_name(), "HostedZoneId": "ZPERIMETERLOCAL"}]) },
            "CreationTimestamp": self.created,
            "OwnerId": self.account,
            "Tags": tags_json(&self.tags),
        });
        if self.kind == "Interface" {
            out["DnsOptions"] = json!({"DnsRecordIpType": "ipv4"});
        }
        out
    }
}

impl Filterable for Endpoint {
    const FILTERS: &'static [&'static str] = &[
        "ip-address-type",
        "service-name",
        "vpc-id",
        "vpc-endpoint-id",
        "vpc-endpoint-state",
        "vpc-endpoint-type",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "ip-address-type" => vec!["ipv4".into()],
            "service-name" => vec![self.service_name.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            "vpc-endpoint-id" => vec![self.id.clone()],
            "vpc-endpoint-state" => vec![
                if self.port == 0 {
                    "failed"
                } else {
                    "available"
                }
                .into(),
            ],
            "vpc-endpoint-type" => vec![self.kind.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

// ---------------------------------------------------------------- flow logs

/// A flow log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowLog {
    pub account: String,
    pub id: String,
    pub resource_id: String,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: String,
    /// `cloud-watch-logs` or `s3`.
    pub destination_type: String,
    #[serde(default)]
    pub log_group: Option<String>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    pub format: String,
    pub max_interval: i64,
    pub created: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Why the last delivery failed (`DeliverLogsErrorMessage`); `None` while deliveries
    /// succeed. Not stored: a restart starts over.
    #[serde(skip)]
    pub deliver_error: Option<String>,
}
record!(FlowLog, "ec2.flow_log");

impl FlowLog {
    /// Whether a connection with this outcome is recorded.
    pub fn captures(&self, accepted: bool) -> bool {
        match self.traffic_type.as_str() {
            "ALL" => true,
            "ACCEPT" => accepted,
            _ => !accepted,
        }
    }

    /// `SUCCESS`, or `FAILED` when the last delivery failed.
    pub fn deliver_status(&self) -> &'static str {
        if self.deliver_error.is_some() {
            "FAILED"
        } else {
            "SUCCESS"
        }
    }

    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "CreationTime": self.created,
            "DeliverLogsStatus": self.deliver_status(),
            "FlowLogId": self.id,
            "FlowLogStatus": "ACTIVE",
            "ResourceId": self.resource_id,
            "TrafficType": self.traffic_type,
            "LogDestinationType": self.destination_type,
            "LogFormat": self.format,
            "Tags": tags_json(&self.tags),
            "MaxAggregationInterval": self.max_interval,
        });
        opt(&mut out, "DeliverLogsErrorMessage", &self.deliver_error);
        opt(&mut out, "LogGroupName", &self.log_group);
        opt(&mut out, "LogDestination", &self.destination);
        opt(&mut out, "DeliverLogsPermissionArn", &self.role);
        out
    }
}

impl Filterable for FlowLog {
    const FILTERS: &'static [&'static str] = &[
        "deliver-log-status",
        "log-destination-type",
        "flow-log-id",
        "log-group-name",
        "resource-id",
        "traffic-type",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "deliver-log-status" => vec![self.deliver_status().into()],
            "log-destination-type" => vec![self.destination_type.clone()],
            "flow-log-id" => vec![self.id.clone()],
            "log-group-name" => self.log_group.iter().cloned().collect(),
            "resource-id" => vec![self.resource_id.clone()],
            "traffic-type" => vec![self.traffic_type.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}
