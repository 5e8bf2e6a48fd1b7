//! EC2 VPC resource types: `VPC`, `Subnet`, `SecurityGroup` (and its `Ingress`/`Egress`
//! rules), `RouteTable`, `Route`, `SubnetRouteTableAssociation`, `InternetGateway`,
//! `VPCGatewayAttachment`, `NatGateway`, `EIP`, `VPCEndpoint` and `FlowLog`.

use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish, key_value_tags, put};
use crate::state::ResourceRecord;
use crate::template::scalar_text;

pub const VPC: TypeInfo = TypeInfo {
    kind: "AWS::EC2::VPC",
    attributes: &[
        "CidrBlock",
        "CidrBlockAssociations",
        "DefaultNetworkAcl",
        "DefaultSecurityGroup",
        "Ipv6CidrBlocks",
        "VpcId",
    ],
    replace: &[
        "CidrBlock",
        "InstanceTenancy",
        "Ipv4IpamPoolId",
        "Ipv4NetmaskLength",
    ],
    updatable: true,
    name_property: None,
};

pub const SUBNET: TypeInfo = TypeInfo {
    kind: "AWS::EC2::Subnet",
    attributes: &[
        "AvailabilityZone",
        "AvailabilityZoneId",
        "CidrBlock",
        "Ipv6CidrBlocks",
        "NetworkAclAssociationId",
        "OutpostArn",
        "SubnetId",
        "VpcId",
    ],
    replace: &[
        "VpcId",
        "CidrBlock",
        "AvailabilityZone",
        "AvailabilityZoneId",
    ],
    updatable: true,
    name_property: None,
};

pub const SECURITY_GROUP: TypeInfo = TypeInfo {
    kind: "AWS::EC2::SecurityGroup",
    attributes: &["GroupId", "Id", "VpcId"],
    replace: &["GroupName", "GroupDescription", "VpcId"],
    updatable: true,
    name_property: Some("GroupName"),
};

pub const SECURITY_GROUP_INGRESS: TypeInfo = TypeInfo {
    kind: "AWS::EC2::SecurityGroupIngress",
    attributes: &["Id"],
    replace: &[],
    updatable: false,
    name_property: None,
};

pub const SECURITY_GROUP_EGRESS: TypeInfo = TypeInfo {
    kind: "AWS::EC2::SecurityGroupEgress",
    attributes: &["Id"],
    replace: &[],
    updatable: false,
    name_property: None,
};

pub const ROUTE_TABLE: TypeInfo = TypeInfo {
    kind: "AWS::EC2::RouteTable",
    attributes: &["RouteTableId"],
    replace: &["VpcId"],
    updatable: true,
    name_property: None,
};

pub const ROUTE: TypeInfo = TypeInfo {
    kind: "AWS::EC2::Route",
    attributes: &["CidrBlock"],
    replace: &[
        "RouteTableId",
        "DestinationCidrBlock",
        "DestinationIpv6CidrBlock",
        "DestinationPrefixListId",
    ],
    updatable: true,
    name_property: None,
};

pub const SUBNET_ROUTE_TABLE_ASSOCIATION: TypeInfo = TypeInfo {
    kind: "AWS::EC2::SubnetRouteTableAssociation",
    attributes: &["Id"],
    replace: &[],
    updatable: false,
    name_property: None,
};

pub const INTERNET_GATEWAY: TypeInfo = TypeInfo {
    kind: "AWS::EC2::InternetGateway",
    attributes: &["InternetGatewayId"],
    replace: &[],
    updatable: true,
    name_property: None,
};

pub const VPC_GATEWAY_ATTACHMENT: TypeInfo = TypeInfo {
    kind: "AWS::EC2::VPCGatewayAttachment",
    attributes: &["AttachmentType", "VpcId"],
    replace: &[],
    updatable: false,
    name_property: None,
};

pub const NAT_GATEWAY: TypeInfo = TypeInfo {
    kind: "AWS::EC2::NatGateway",
    attributes: &["NatGatewayId"],
    replace: &[
        "SubnetId",
        "AllocationId",
        "ConnectivityType",
        "PrivateIpAddress",
    ],
    updatable: true,
    name_property: None,
};

pub const EIP: TypeInfo = TypeInfo {
    kind: "AWS::EC2::EIP",
    attributes: &["AllocationId", "PublicIp"],
    replace: &["Domain", "PublicIpv4Pool", "NetworkBorderGroup"],
    updatable: true,
    name_property: None,
};

pub const VPC_ENDPOINT: TypeInfo = TypeInfo {
    kind: "AWS::EC2::VPCEndpoint",
    attributes: &[
        "CreationTimestamp",
        "DnsEntries",
        "Id",
        "NetworkInterfaceIds",
    ],
    replace: &["VpcId", "ServiceName", "VpcEndpointType", "IpAddressType"],
    updatable: true,
    name_property: None,
};

pub const FLOW_LOG: TypeInfo = TypeInfo {
    kind: "AWS::EC2::FlowLog",
    attributes: &["Id"],
    replace: &[
        "ResourceId",
        "ResourceType",
        "TrafficType",
        "LogDestinationType",
        "LogDestination",
        "LogGroupName",
        "DeliverLogsPermissionArn",
        "LogFormat",
        "MaxAggregationInterval",
        "DestinationOptions",
    ],
    updatable: true,
    name_property: None,
};

fn tag_spec(kind: &str, tags: &[(String, String)]) -> Value {
    if tags.is_empty() {
        return json!([]);
    }
    json!([{ "ResourceType": kind, "Tags": key_value_tags(tags) }])
}

/// Updates the tags of `id`, from `old` to `p`.
async fn retag(ctx: &Ctx<'_>, id: &str, old: &Props<'_>, p: &Props<'_>) -> Result<(), Failure> {
    super::retag::<::ec2::DeleteTags, ::ec2::CreateTags>(
        ctx,
        &ctx.svc.ec2,
        "ec2",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |removed| {
            let keys: Vec<Value> = removed.iter().map(|k| json!({"Key": k})).collect();
            json!({"Resources": [id], "Tags": keys})
        },
        |tags| json!({"Resources": [id], "Tags": key_value_tags(tags)}),
    )
    .await
}

/// A CloudFormation security group rule as an EC2 `IpPermission`.
fn permission(p: &Props<'_>, rule: &Map<String, Value>, ingress: bool) -> Result<Value, Failure> {
    let text = |k: &str| rule.get(k).and_then(scalar_text);
    let proto =
        text("IpProtocol").ok_or_else(|| p.fail("#: required key [IpProtocol] not found"))?;
    let description = text("Description");
    let mut perm = Map::new();
    perm.insert("IpProtocol".into(), json!(proto));
    if let Some(f) = rule.get("FromPort").and_then(super::int_of) {
        perm.insert("FromPort".into(), json!(f));
    }
    if let Some(t) = rule.get("ToPort").and_then(super::int_of) {
        perm.insert("ToPort".into(), json!(t));
    }
    let with_description = |mut m: Map<String, Value>| {
        if let Some(d) = &description {
            m.insert("Description".into(), json!(d));
        }
        Value::Object(m)
    };
    if let Some(c) = text("CidrIp") {
        let mut m = Map::new();
        m.insert("CidrIp".into(), json!(c));
        perm.insert("IpRanges".into(), json!([with_description(m)]));
    }
    if let Some(c) = text("CidrIpv6") {
        let mut m = Map::new();
        m.insert("CidrIpv6".into(), json!(c));
        perm.insert("Ipv6Ranges".into(), json!([with_description(m)]));
    }
    let (group_key, prefix_key) = if ingress {
        ("SourceSecurityGroupId", "SourcePrefixListId")
    } else {
        ("DestinationSecurityGroupId", "DestinationPrefixListId")
    };
    if let Some(g) = text(group_key) {
        let mut m = Map::new();
        m.insert("GroupId".into(), json!(g));
        if let Some(owner) = text("SourceSecurityGroupOwnerId") {
            m.insert("UserId".into(), json!(owner));
        }
        perm.insert("UserIdGroupPairs".into(), json!([with_description(m)]));
    }
    if let Some(pl) = text(prefix_key) {
        let mut m = Map::new();
        m.insert("PrefixListId".into(), json!(pl));
        perm.insert("PrefixListIds".into(), json!([with_description(m)]));
    }
    if ingress && text("SourceSecurityGroupName").is_some() {
        return Err(p.fail(
            "#: SourceSecurityGroupName names a group of the default VPC; use SourceSecurityGroupId",
        ));
    }
    Ok(Value::Object(perm))
}

fn permissions(p: &Props<'_>, key: &str, ingress: bool) -> Result<Vec<Value>, Failure> {
    p.objects(key)?
        .iter()
        .map(|r| permission(p, r, ingress))
        .collect()
}

/// The rule EC2 creates in every new group.
fn allow_all_egress() -> Value {
    json!({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
}

const RULE_PROPERTIES_INGRESS: &[&str] = &[
    "GroupId",
    "IpProtocol",
    "FromPort",
    "ToPort",
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "SourceSecurityGroupOwnerId",
    "SourcePrefixListId",
    "Description",
];

const RULE_PROPERTIES_EGRESS: &[&str] = &[
    "GroupId",
    "IpProtocol",
    "FromPort",
    "ToPort",
    "CidrIp",
    "CidrIpv6",
    "DestinationSecurityGroupId",
    "DestinationPrefixListId",
    "Description",
];

fn eip_address() -> (String, String) {
    let suffix = crate::random_hex(17);
    let octet = u8::from_str_radix(&suffix[..2], 16)
        .unwrap_or(1)
        .clamp(1, 254);
    (format!("eipalloc-{suffix}"), format!("203.0.113.{octet}"))
}

/// Route destination and target properties, as `CreateRoute` names them.
const ROUTE_FIELDS: &[&str] = &[
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
    "GatewayId",
    "NatGatewayId",
    "NetworkInterfaceId",
    "VpcEndpointId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "InstanceId",
    "EgressOnlyInternetGatewayId",
];

fn route_input(p: &Props<'_>) -> Result<(String, String, Map<String, Value>), Failure> {
    let table = p.required("RouteTableId")?;
    let mut input = Map::new();
    input.insert("RouteTableId".into(), json!(table));
    for f in ROUTE_FIELDS {
        put(&mut input, f, p.str(f)?);
    }
    let dest = p
        .str("DestinationCidrBlock")?
        .or(p.str("DestinationIpv6CidrBlock")?)
        .or(p.str("DestinationPrefixListId")?)
        .ok_or_else(|| {
            p.fail("#: one of [DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId] is required")
        })?;
    Ok((table, dest, input))
}

fn endpoint_created(out: &Value) -> Created {
    let e = &out["VpcEndpoint"];
    let id = e["VpcEndpointId"].as_str().unwrap_or_default().to_string();
    let dns: Vec<Value> = e["DnsEntries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    json!(format!(
                        "{}:{}",
                        d["HostedZoneId"].as_str().unwrap_or_default(),
                        d["DnsName"].as_str().unwrap_or_default()
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let created = e["CreationTimestamp"]
        .as_f64()
        .map(crate::iso8601)
        .unwrap_or_default();
    Created::new(id.clone())
        .attr("Id", id)
        .attr("DnsEntries", Value::Array(dns))
        .attr("NetworkInterfaceIds", e["NetworkInterfaceIds"].clone())
        .attr("CreationTimestamp", created)
}

pub async fn create(ctx: &Ctx<'_>, kind: &str, p: &Props<'_>) -> Result<Created, Partial> {
    let ec2 = &ctx.svc.ec2;
    match kind {
        "AWS::EC2::VPC" => {
            p.allow(&[
                "CidrBlock",
                "EnableDnsHostnames",
                "EnableDnsSupport",
                "InstanceTenancy",
                "Tags",
            ])?;
            let mut input = Map::new();
            input.insert("CidrBlock".into(), json!(p.required("CidrBlock")?));
            put(&mut input, "InstanceTenancy", p.str("InstanceTenancy")?);
            input.insert(
                "TagSpecifications".into(),
                tag_spec("vpc", &ctx.tags(p, "Tags")?),
            );
            let out = ctx
                .call::<::ec2::CreateVpc>(ec2, "ec2", Value::Object(input))
                .await?;
            let vpc = &out["Vpc"];
            let id = vpc["VpcId"].as_str().unwrap_or_default().to_string();
            let support = p.bool("EnableDnsSupport")?;
            let hostnames = p.bool("EnableDnsHostnames")?;
            let rest = async {
                if let Some(v) = support {
                    ctx.call::<::ec2::ModifyVpcAttribute>(
                        ec2,
                        "ec2",
                        json!({"VpcId": id, "EnableDnsSupport": {"Value": v}}),
                    )
                    .await?;
                }
                if let Some(v) = hostnames {
                    ctx.call::<::ec2::ModifyVpcAttribute>(
                        ec2,
                        "ec2",
                        json!({"VpcId": id, "EnableDnsHostnames": {"Value": v}}),
                    )
                    .await?;
                }
                Ok(())
            }
            .await;
            if let Err(failure) = rest {
                return Err(Partial {
                    created: Some(Created::new(id)),
                    failure,
                });
            }
            let assoc: Vec<Value> = vpc["CidrBlockAssociationSet"]
                .as_array()
                .map(|a| a.iter().map(|x| x["AssociationId"].clone()).collect())
                .unwrap_or_default();
            let default_sg = ctx
                .run::<::ec2::DescribeSecurityGroups>(
                    ec2,
                    "ec2",
                    json!({"Filters": [{"Name": "vpc-id", "Values": [id]}, {"Name": "group-name", "Values": ["default"]}]}),
                )
                .await
                .ok()
                .and_then(|o| o["SecurityGroups"][0]["GroupId"].as_str().map(String::from))
                .unwrap_or_default();
            let default_acl = ctx
                .run::<::ec2::DescribeNetworkAcls>(
                    ec2,
                    "ec2",
                    json!({"Filters": [{"Name": "vpc-id", "Values": [id]}, {"Name": "default", "Values": ["true"]}]}),
                )
                .await
                .ok()
                .and_then(|o| o["NetworkAcls"][0]["NetworkAclId"].as_str().map(String::from))
                .unwrap_or_default();
            Ok(Created::new(id.clone())
                .attr("VpcId", id)
                .attr("CidrBlock", vpc["CidrBlock"].clone())
                .attr("CidrBlockAssociations", Value::Array(assoc))
                .attr("DefaultSecurityGroup", default_sg)
                .attr("DefaultNetworkAcl", default_acl)
                .attr("Ipv6CidrBlocks", json!([])))
        }
        "AWS::EC2::Subnet" => {
            p.allow(&[
                "VpcId",
                "CidrBlock",
                "AvailabilityZone",
                "AvailabilityZoneId",
                "MapPublicIpOnLaunch",
                "Tags",
            ])?;
            let mut input = Map::new();
            input.insert("VpcId".into(), json!(p.required("VpcId")?));
            input.insert("CidrBlock".into(), json!(p.required("CidrBlock")?));
            put(&mut input, "AvailabilityZone", p.str("AvailabilityZone")?);
            put(
                &mut input,
                "AvailabilityZoneId",
                p.str("AvailabilityZoneId")?,
            );
            input.insert(
                "TagSpecifications".into(),
                tag_spec("subnet", &ctx.tags(p, "Tags")?),
            );
            let out = ctx
                .call::<::ec2::CreateSubnet>(ec2, "ec2", Value::Object(input))
                .await?;
            let s = &out["Subnet"];
            let id = s["SubnetId"].as_str().unwrap_or_default().to_string();
            if let Some(v) = p.bool("MapPublicIpOnLaunch")?
                && let Err(failure) = ctx
                    .call::<::ec2::ModifySubnetAttribute>(
                        ec2,
                        "ec2",
                        json!({"SubnetId": id, "MapPublicIpOnLaunch": {"Value": v}}),
                    )
                    .await
            {
                return Err(Partial {
                    created: Some(Created::new(id)),
                    failure,
                });
            }
            let acl_assoc = ctx
                .run::<::ec2::DescribeNetworkAcls>(
                    ec2,
                    "ec2",
                    json!({"Filters": [{"Name": "association.subnet-id", "Values": [id]}]}),
                )
                .await
                .ok()
                .and_then(|o| {
                    o["NetworkAcls"][0]["Associations"]
                        .as_array()
                        .and_then(|a| {
                            a.iter()
                                .find(|x| x["SubnetId"].as_str() == Some(id.as_str()))
                                .and_then(|x| x["NetworkAclAssociationId"].as_str())
                                .map(String::from)
                        })
                })
                .unwrap_or_default();
            Ok(Created::new(id.clone())
                .attr("SubnetId", id)
                .attr("VpcId", s["VpcId"].clone())
                .attr("CidrBlock", s["CidrBlock"].clone())
                .attr("AvailabilityZone", s["AvailabilityZone"].clone())
                .attr("AvailabilityZoneId", s["AvailabilityZoneId"].clone())
                .attr("NetworkAclAssociationId", acl_assoc)
                .attr("Ipv6CidrBlocks", json!([]))
                .attr("OutpostArn", ""))
        }
        "AWS::EC2::SecurityGroup" => {
            p.allow(&[
                "GroupDescription",
                "GroupName",
                "VpcId",
                "SecurityGroupIngress",
                "SecurityGroupEgress",
                "Tags",
            ])?;
            let ingress = permissions(p, "SecurityGroupIngress", true)?;
            let egress = permissions(p, "SecurityGroupEgress", false)?;
            let name = ctx.name_or_generated(p, "GroupName", 255)?;
            let mut input = Map::new();
            input.insert("GroupName".into(), json!(name));
            input.insert("Description".into(), json!(p.required("GroupDescription")?));
            put(&mut input, "VpcId", p.str("VpcId")?);
            input.insert(
                "TagSpecifications".into(),
                tag_spec("security-group", &ctx.tags(p, "Tags")?),
            );
            let out = ctx
                .call::<::ec2::CreateSecurityGroup>(ec2, "ec2", Value::Object(input))
                .await?;
            let id = out["GroupId"].as_str().unwrap_or_default().to_string();
            let created = Created::new(id.clone())
                .attr("GroupId", id.clone())
                .attr("Id", id.clone())
                .attr("VpcId", json!(p.str("VpcId")?.unwrap_or_default()));
            let rest = async {
                if !ingress.is_empty() {
                    ctx.call::<::ec2::AuthorizeSecurityGroupIngress>(
                        ec2,
                        "ec2",
                        json!({"GroupId": id, "IpPermissions": ingress}),
                    )
                    .await?;
                }
                if !egress.is_empty() {
                    ctx.call::<::ec2::RevokeSecurityGroupEgress>(
                        ec2,
                        "ec2",
                        json!({"GroupId": id, "IpPermissions": [allow_all_egress()]}),
                    )
                    .await?;
                    ctx.call::<::ec2::AuthorizeSecurityGroupEgress>(
                        ec2,
                        "ec2",
                        json!({"GroupId": id, "IpPermissions": egress}),
                    )
                    .await?;
                }
                Ok(())
            }
            .await;
            finish(created, rest)
        }
        "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => {
            let ingress = kind == "AWS::EC2::SecurityGroupIngress";
            p.allow(if ingress {
                RULE_PROPERTIES_INGRESS
            } else {
                RULE_PROPERTIES_EGRESS
            })?;
            let group = p.required("GroupId")?;
            let perm = permission(p, &p.map, ingress)?;
            let input = json!({"GroupId": group, "IpPermissions": [perm]});
            let out = if ingress {
                ctx.call::<::ec2::AuthorizeSecurityGroupIngress>(ec2, "ec2", input)
                    .await?
            } else {
                ctx.call::<::ec2::AuthorizeSecurityGroupEgress>(ec2, "ec2", input)
                    .await?
            };
            let id = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("sgr-{}", crate::random_hex(17)));
            Ok(Created::new(id.clone()).attr("Id", id))
        }
        "AWS::EC2::RouteTable" => {
            p.allow(&["VpcId", "Tags"])?;
            let out = ctx
                .call::<::ec2::CreateRouteTable>(
                    ec2,
                    "ec2",
                    json!({"VpcId": p.required("VpcId")?, "TagSpecifications": tag_spec("route-table", &ctx.tags(p, "Tags")?)}),
                )
                .await?;
            let id = out["RouteTable"]["RouteTableId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(Created::new(id.clone()).attr("RouteTableId", id))
        }
        "AWS::EC2::Route" => {
            let mut allowed = vec!["RouteTableId"];
            allowed.extend_from_slice(ROUTE_FIELDS);
            p.allow(&allowed)?;
            let (table, dest, input) = route_input(p)?;
            ctx.call::<::ec2::CreateRoute>(ec2, "ec2", Value::Object(input))
                .await?;
            Ok(Created::new(format!("{table}|{dest}")).attr("CidrBlock", dest))
        }
        "AWS::EC2::SubnetRouteTableAssociation" => {
            p.allow(&["SubnetId", "RouteTableId"])?;
            let out = ctx
                .call::<::ec2::AssociateRouteTable>(
                    ec2,
                    "ec2",
                    json!({"SubnetId": p.required("SubnetId")?, "RouteTableId": p.required("RouteTableId")?}),
                )
                .await?;
            let id = out["AssociationId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(Created::new(id.clone()).attr("Id", id))
        }
        "AWS::EC2::InternetGateway" => {
            p.allow(&["Tags"])?;
            let out = ctx
                .call::<::ec2::CreateInternetGateway>(
                    ec2,
                    "ec2",
                    json!({"TagSpecifications": tag_spec("internet-gateway", &ctx.tags(p, "Tags")?)}),
                )
                .await?;
            let id = out["InternetGateway"]["InternetGatewayId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(Created::new(id.clone()).attr("InternetGatewayId", id))
        }
        "AWS::EC2::VPCGatewayAttachment" => {
            p.allow(&["VpcId", "InternetGatewayId"])?;
            let vpc = p.required("VpcId")?;
            let igw = p.required("InternetGatewayId")?;
            ctx.call::<::ec2::AttachInternetGateway>(
                ec2,
                "ec2",
                json!({"VpcId": vpc, "InternetGatewayId": igw}),
            )
            .await?;
            Ok(Created::new(format!("IGW|{vpc}"))
                .attr("AttachmentType", "igw")
                .attr("VpcId", vpc))
        }
        "AWS::EC2::NatGateway" => {
            p.allow(&[
                "SubnetId",
                "AllocationId",
                "ConnectivityType",
                "PrivateIpAddress",
                "Tags",
            ])?;
            let mut input = Map::new();
            input.insert("SubnetId".into(), json!(p.required("SubnetId")?));
            put(&mut input, "AllocationId", p.str("AllocationId")?);
            put(&mut input, "ConnectivityType", p.str("ConnectivityType")?);
            put(&mut input, "PrivateIpAddress", p.str("PrivateIpAddress")?);
            input.insert(
                "TagSpecifications".into(),
                tag_spec("natgateway", &ctx.tags(p, "Tags")?),
            );
            let out = ctx
                .call::<::ec2::CreateNatGateway>(ec2, "ec2", Value::Object(input))
                .await?;
            let id = out["NatGateway"]["NatGatewayId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(Created::new(id.clone()).attr("NatGatewayId", id))
        }
        "AWS::EC2::EIP" => {
            p.allow(&["Domain", "Tags"])?;
            if let Some(d) = p.str("Domain")?
                && d != "vpc"
            {
                return Err(p
                    .fail(format!("#/Domain: `{d}` is not one of [vpc]"))
                    .into());
            }
            // The EC2 service here has no public addresses to allocate: the address is an
            // object of the stack (an allocation id and an address from 203.0.113.0/24).
            let (alloc, ip) = eip_address();
            Ok(Created::new(ip.clone())
                .attr("AllocationId", alloc)
                .attr("PublicIp", ip))
        }
        "AWS::EC2::VPCEndpoint" => {
            p.allow(&[
                "VpcId",
                "ServiceName",
                "VpcEndpointType",
                "PolicyDocument",
                "PrivateDnsEnabled",
                "RouteTableIds",
                "SecurityGroupIds",
                "SubnetIds",
                "IpAddressType",
                "Tags",
            ])?;
            let mut input = Map::new();
            input.insert("VpcId".into(), json!(p.required("VpcId")?));
            input.insert("ServiceName".into(), json!(p.required("ServiceName")?));
            put(&mut input, "VpcEndpointType", p.str("VpcEndpointType")?);
            put(&mut input, "PolicyDocument", p.document("PolicyDocument")?);
            put(
                &mut input,
                "PrivateDnsEnabled",
                p.bool("PrivateDnsEnabled")?,
            );
            put(&mut input, "IpAddressType", p.str("IpAddressType")?);
            input.insert("RouteTableIds".into(), json!(p.strings("RouteTableIds")?));
            input.insert("SubnetIds".into(), json!(p.strings("SubnetIds")?));
            input.insert(
                "SecurityGroupIds".into(),
                json!(p.strings("SecurityGroupIds")?),
            );
            input.insert(
                "TagSpecifications".into(),
                tag_spec("vpc-endpoint", &ctx.tags(p, "Tags")?),
            );
            let out = ctx
                .call::<::ec2::CreateVpcEndpoint>(ec2, "ec2", Value::Object(input))
                .await?;
            Ok(endpoint_created(&out))
        }
        "AWS::EC2::FlowLog" => {
            p.allow(&[
                "ResourceId",
                "ResourceType",
                "TrafficType",
                "LogDestinationType",
                "LogDestination",
                "LogGroupName",
                "DeliverLogsPermissionArn",
                "LogFormat",
                "MaxAggregationInterval",
                "Tags",
            ])?;
            let mut input = Map::new();
            input.insert("ResourceIds".into(), json!([p.required("ResourceId")?]));
            input.insert("ResourceType".into(), json!(p.required("ResourceType")?));
            put(&mut input, "TrafficType", p.str("TrafficType")?);
            put(
                &mut input,
                "LogDestinationType",
                p.str("LogDestinationType")?,
            );
            put(&mut input, "LogDestination", p.str("LogDestination")?);
            put(&mut input, "LogGroupName", p.str("LogGroupName")?);
            put(
                &mut input,
                "DeliverLogsPermissionArn",
                p.str("DeliverLogsPermissionArn")?,
            );
            put(&mut input, "LogFormat", p.str("LogFormat")?);
            put(
                &mut input,
                "MaxAggregationInterval",
                p.int("MaxAggregationInterval")?,
            );
            input.insert(
                "TagSpecifications".into(),
                tag_spec("vpc-flow-log", &ctx.tags(p, "Tags")?),
            );
            let out = ctx
                .call::<::ec2::CreateFlowLogs>(ec2, "ec2", Value::Object(input))
                .await?;
            if let Some(bad) = out["Unsuccessful"].as_array().and_then(|a| a.first()) {
                return Err(Failure(format!(
                    "Resource handler returned message: \"{}\" (Service: Ec2, Error Code: {}) (HandlerErrorCode: InvalidRequest)",
                    bad["Error"]["Message"].as_str().unwrap_or("flow log not created"),
                    bad["Error"]["Code"].as_str().unwrap_or("Unknown")
                ))
                .into());
            }
            let id = out["FlowLogIds"][0]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(Created::new(id.clone()).attr("Id", id))
        }
        other => Err(super::unsupported(other).into()),
    }
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let ec2 = &ctx.svc.ec2;
    let id = current.physical_id.clone().unwrap_or_default();
    let mut created = super::unchanged(current);
    match current.kind.as_str() {
        "AWS::EC2::VPC" => {
            for attr in ["EnableDnsSupport", "EnableDnsHostnames"] {
                let was = old.bool(attr)?;
                let now = p.bool(attr)?;
                if was != now {
                    let value = now.unwrap_or(attr == "EnableDnsSupport");
                    ctx.call::<::ec2::ModifyVpcAttribute>(
                        ec2,
                        "ec2",
                        json!({"VpcId": id, attr: {"Value": value}}),
                    )
                    .await?;
                }
            }
            retag(ctx, &id, old, p).await?;
        }
        "AWS::EC2::Subnet" => {
            if old.bool("MapPublicIpOnLaunch")? != p.bool("MapPublicIpOnLaunch")? {
                ctx.call::<::ec2::ModifySubnetAttribute>(
                    ec2,
                    "ec2",
                    json!({"SubnetId": id, "MapPublicIpOnLaunch": {"Value": p.bool("MapPublicIpOnLaunch")?.unwrap_or(false)}}),
                )
                .await?;
            }
            retag(ctx, &id, old, p).await?;
        }
        "AWS::EC2::SecurityGroup" => {
            let was = permissions(old, "SecurityGroupIngress", true)?;
            let now = permissions(p, "SecurityGroupIngress", true)?;
            let revoke: Vec<&Value> = was.iter().filter(|r| !now.contains(r)).collect();
            let add: Vec<&Value> = now.iter().filter(|r| !was.contains(r)).collect();
            if !revoke.is_empty() {
                ctx.call::<::ec2::RevokeSecurityGroupIngress>(
                    ec2,
                    "ec2",
                    json!({"GroupId": id, "IpPermissions": revoke}),
                )
                .await?;
            }
            if !add.is_empty() {
                ctx.call::<::ec2::AuthorizeSecurityGroupIngress>(
                    ec2,
                    "ec2",
                    json!({"GroupId": id, "IpPermissions": add}),
                )
                .await?;
            }
            let mut was = permissions(old, "SecurityGroupEgress", false)?;
            let mut now = permissions(p, "SecurityGroupEgress", false)?;
            if was.is_empty() {
                was.push(allow_all_egress());
            }
            if now.is_empty() {
                now.push(allow_all_egress());
            }
            let revoke: Vec<&Value> = was.iter().filter(|r| !now.contains(r)).collect();
            let add: Vec<&Value> = now.iter().filter(|r| !was.contains(r)).collect();
            if !revoke.is_empty() {
                ctx.call::<::ec2::RevokeSecurityGroupEgress>(
                    ec2,
                    "ec2",
                    json!({"GroupId": id, "IpPermissions": revoke}),
                )
                .await?;
            }
            if !add.is_empty() {
                ctx.call::<::ec2::AuthorizeSecurityGroupEgress>(
                    ec2,
                    "ec2",
                    json!({"GroupId": id, "IpPermissions": add}),
                )
                .await?;
            }
            retag(ctx, &id, old, p).await?;
        }
        "AWS::EC2::RouteTable" | "AWS::EC2::InternetGateway" | "AWS::EC2::NatGateway" => {
            retag(ctx, &id, old, p).await?;
        }
        "AWS::EC2::Route" => {
            let (_, _, input) = route_input(p)?;
            ctx.call::<::ec2::ReplaceRoute>(ec2, "ec2", Value::Object(input))
                .await?;
        }
        "AWS::EC2::EIP" => {}
        "AWS::EC2::VPCEndpoint" => {
            let mut input = Map::new();
            input.insert("VpcEndpointId".into(), json!(id));
            let mut changed = false;
            let was_doc = old.document("PolicyDocument")?;
            let doc = p.document("PolicyDocument")?;
            if was_doc != doc {
                changed = true;
                match doc {
                    Some(d) => {
                        input.insert("PolicyDocument".into(), json!(d));
                    }
                    None => {
                        input.insert("ResetPolicy".into(), json!(true));
                    }
                }
            }
            for (key, add, remove) in [
                ("SubnetIds", "AddSubnetIds", "RemoveSubnetIds"),
                (
                    "SecurityGroupIds",
                    "AddSecurityGroupIds",
                    "RemoveSecurityGroupIds",
                ),
                ("RouteTableIds", "AddRouteTableIds", "RemoveRouteTableIds"),
            ] {
                let was = old.strings(key)?;
                let now = p.strings(key)?;
                let added: Vec<&String> = now.iter().filter(|x| !was.contains(x)).collect();
                let removed: Vec<&String> = was.iter().filter(|x| !now.contains(x)).collect();
                if !added.is_empty() {
                    input.insert(add.into(), json!(added));
                    changed = true;
                }
                if !removed.is_empty() {
                    input.insert(remove.into(), json!(removed));
                    changed = true;
                }
            }
            if old.bool("PrivateDnsEnabled")? != p.bool("PrivateDnsEnabled")?
                && let Some(v) = p.bool("PrivateDnsEnabled")?
            {
                input.insert("PrivateDnsEnabled".into(), json!(v));
                changed = true;
            }
            if changed {
                ctx.call::<::ec2::ModifyVpcEndpoint>(ec2, "ec2", Value::Object(input))
                    .await?;
            }
            retag(ctx, &id, old, p).await?;
            if let Ok(out) = ctx
                .run::<::ec2::DescribeVpcEndpoints>(ec2, "ec2", json!({"VpcEndpointIds": [id]}))
                .await
            {
                let e = json!({"VpcEndpoint": out["VpcEndpoints"][0].clone()});
                created = endpoint_created(&e);
            }
        }
        "AWS::EC2::FlowLog" => {
            retag(ctx, &id, old, p).await?;
        }
        other => return Err(super::unsupported(other)),
    }
    Ok(created)
}

pub async fn delete(
    ctx: &Ctx<'_>,
    kind: &str,
    id: &str,
    p: &Props<'_>,
    current: &ResourceRecord,
) -> Result<(), Failure> {
    let ec2 = &ctx.svc.ec2;
    match kind {
        "AWS::EC2::VPC" => {
            ctx.call_gone_ok::<::ec2::DeleteVpc>(ec2, "ec2", json!({"VpcId": id}))
                .await
        }
        "AWS::EC2::Subnet" => {
            ctx.call_gone_ok::<::ec2::DeleteSubnet>(ec2, "ec2", json!({"SubnetId": id}))
                .await
        }
        "AWS::EC2::SecurityGroup" => {
            ctx.call_gone_ok::<::ec2::DeleteSecurityGroup>(ec2, "ec2", json!({"GroupId": id}))
                .await
        }
        "AWS::EC2::SecurityGroupIngress" => {
            let group = p.required("GroupId")?;
            ctx.call_gone_ok::<::ec2::RevokeSecurityGroupIngress>(
                ec2,
                "ec2",
                json!({"GroupId": group, "SecurityGroupRuleIds": [id]}),
            )
            .await
        }
        "AWS::EC2::SecurityGroupEgress" => {
            let group = p.required("GroupId")?;
            ctx.call_gone_ok::<::ec2::RevokeSecurityGroupEgress>(
                ec2,
                "ec2",
                json!({"GroupId": group, "SecurityGroupRuleIds": [id]}),
            )
            .await
        }
        "AWS::EC2::RouteTable" => {
            ctx.call_gone_ok::<::ec2::DeleteRouteTable>(ec2, "ec2", json!({"RouteTableId": id}))
                .await
        }
        "AWS::EC2::Route" => {
            let mut input = Map::new();
            input.insert("RouteTableId".into(), json!(p.required("RouteTableId")?));
            put(
                &mut input,
                "DestinationCidrBlock",
                p.str("DestinationCidrBlock")?,
            );
            put(
                &mut input,
                "DestinationIpv6CidrBlock",
                p.str("DestinationIpv6CidrBlock")?,
            );
            put(
                &mut input,
                "DestinationPrefixListId",
                p.str("DestinationPrefixListId")?,
            );
            ctx.call_gone_ok::<::ec2::DeleteRoute>(ec2, "ec2", Value::Object(input))
                .await
        }
        "AWS::EC2::SubnetRouteTableAssociation" => {
            ctx.call_gone_ok::<::ec2::DisassociateRouteTable>(
                ec2,
                "ec2",
                json!({"AssociationId": id}),
            )
            .await
        }
        "AWS::EC2::InternetGateway" => {
            ctx.call_gone_ok::<::ec2::DeleteInternetGateway>(
                ec2,
                "ec2",
                json!({"InternetGatewayId": id}),
            )
            .await
        }
        "AWS::EC2::VPCGatewayAttachment" => {
            let vpc = p.required("VpcId")?;
            let igw = p.required("InternetGatewayId")?;
            match ctx
                .run::<::ec2::DetachInternetGateway>(
                    ec2,
                    "ec2",
                    json!({"VpcId": vpc, "InternetGatewayId": igw}),
                )
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if super::is_not_found(&e) || e.code == "Gateway.NotAttached" => Ok(()),
                Err(e) => Err(super::handler_failure("ec2", &e)),
            }
        }
        "AWS::EC2::NatGateway" => {
            ctx.call_gone_ok::<::ec2::DeleteNatGateway>(ec2, "ec2", json!({"NatGatewayId": id}))
                .await
        }
        "AWS::EC2::EIP" => {
            let _ = current;
            Ok(())
        }
        "AWS::EC2::VPCEndpoint" => {
            let out = ctx
                .run::<::ec2::DeleteVpcEndpoints>(ec2, "ec2", json!({"VpcEndpointIds": [id]}))
                .await;
            match out {
                Ok(v) => match v["Unsuccessful"].as_array().and_then(|a| a.first()) {
                    Some(bad)
                        if !bad["Error"]["Code"]
                            .as_str()
                            .unwrap_or_default()
                            .contains("NotFound") =>
                    {
                        Err(Failure(format!(
                            "Resource handler returned message: \"{}\" (Service: Ec2, Error Code: {}) (HandlerErrorCode: InvalidRequest)",
                            bad["Error"]["Message"]
                                .as_str()
                                .unwrap_or("endpoint not deleted"),
                            bad["Error"]["Code"].as_str().unwrap_or("Unknown")
                        )))
                    }
                    _ => Ok(()),
                },
                Err(e) if super::is_not_found(&e) => Ok(()),
                Err(e) => Err(super::handler_failure("ec2", &e)),
            }
        }
        "AWS::EC2::FlowLog" => {
            ctx.call_gone_ok::<::ec2::DeleteFlowLogs>(ec2, "ec2", json!({"FlowLogIds": [id]}))
                .await
        }
        _ => Ok(()),
    }
}
