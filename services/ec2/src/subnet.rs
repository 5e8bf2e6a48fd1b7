//! Subnets: an IPv4 block inside the VPC's, not overlapping another subnet, in one of the
//! region's Availability Zones; associated with the VPC's default network ACL on creation.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cidr::Cidr4;
use crate::filter::{self, Filter};
use crate::model::{AclAssociation, NetworkAcl, RouteTable, Subnet};
use crate::vpc::{AttributeBooleanValue, zones};
use crate::{
    Account, Ec2, TagSpecification, dependency, expect_kind, invalid_value, missing, new_id,
    not_found, operation, spec_tags,
};

/// The addresses taken in `subnet` (endpoint interfaces and NAT gateways).
pub(crate) fn used_ips(a: &Account, subnet: &str) -> Vec<String> {
    let mut out: Vec<String> = a
        .endpoints
        .values()
        .flat_map(|e| e.enis.iter())
        .filter(|n| n.subnet_id == subnet)
        .map(|n| n.ip.clone())
        .collect();
    out.extend(
        a.nats
            .values()
            .filter(|n| n.subnet_id == subnet && n.state != "deleted")
            .map(|n| n.private_ip.clone()),
    );
    out
}

/// The first free address of `subnet` (AWS reserves the first four and the last).
pub(crate) fn allocate_ip(a: &Account, subnet: &Subnet) -> Option<String> {
    let cidr = Cidr4::parse(&subnet.cidr, false)?;
    let used = used_ips(a, &subnet.id);
    let size = u32::try_from(cidr.size()).ok()?;
    (4..size.saturating_sub(1))
        .map(|n| cidr.nth(n).to_string())
        .find(|ip| !used.contains(ip))
}

/// Free addresses in `subnet`.
pub(crate) fn available_ips(a: &Account, subnet: &Subnet) -> u64 {
    let size = Cidr4::parse(&subnet.cidr, false)
        .map(|c| c.size())
        .unwrap_or(0);
    size.saturating_sub(5)
        .saturating_sub(used_ips(a, &subnet.id).len() as u64)
}

/// `CreateSubnet`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSubnet {
    pub vpc_id: String,
    #[serde(default)]
    pub cidr_block: Option<String>,
    #[serde(default)]
    pub ipv6_cidr_block: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub availability_zone_id: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateSubnet {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_id, "vpc")?;
        let tags = spec_tags(&self.tag_specifications, "subnet")?;
        let mut checks = svc.creating("ec2:CreateSubnet", call.account(), "subnet", &tags);
        if let Some(first) = checks.first_mut() {
            *first = first
                .clone()
                .with("ec2:Vpc", svc.arn(call.account(), "vpc", &self.vpc_id))
                .with_opt("ec2:AvailabilityZone", self.availability_zone.clone());
        }
        checks.push(svc.on("ec2:CreateSubnet", call.account(), &self.vpc_id));
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        if self.ipv6_cidr_block.is_some() {
            return Err(invalid_value(
                "IPv6 subnets are not supported by this server",
            ));
        }
        let text = self
            .cidr_block
            .clone()
            .ok_or_else(|| missing("CidrBlock"))?;
        let tags = spec_tags(&self.tag_specifications, "subnet")?;
        let all = zones(svc.region());
        let (az, az_id) = match (&self.availability_zone, &self.availability_zone_id) {
            (Some(n), _) => all.iter().find(|(name, _)| name == n),
            (None, Some(i)) => all.iter().find(|(_, id)| id == i),
            (None, None) => all.first(),
        }
        .cloned()
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
            invalid_value(format!(
                "Value ({}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                self.availability_zone.clone().or_else(|| self.availability_zone_id.clone()).unwrap_or_default(),
                names.join(", ")
            ))
        })?;
        let account = call.account().to_string();
        let region = svc.region().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let vpc = a
                .vpcs
                .get(&self.vpc_id)
                .ok_or_else(|| not_found(&self.vpc_id))?;
            let range = || {
                AwsError::bad_request(
                    "InvalidSubnet.Range",
                    format!("The CIDR '{text}' is invalid."),
                )
            };
            let cidr = Cidr4::parse(&text, false)
                .filter(|c| (16..=28).contains(&c.len))
                .ok_or_else(range)?;
            let vpc_cidr = Cidr4::parse(&vpc.cidr, false).ok_or_else(range)?;
            if !vpc_cidr.contains(&cidr) {
                return Err(range());
            }
            let conflict = a
                .subnets
                .values()
                .filter(|s| s.vpc_id == self.vpc_id)
                .filter_map(|s| Cidr4::parse(&s.cidr, false))
                .any(|other| other.overlaps(&cidr));
            if conflict {
                return Err(AwsError::bad_request(
                    "InvalidSubnet.Conflict",
                    format!("The CIDR '{text}' conflicts with another subnet"),
                ));
            }
            let subnet = Subnet {
                account: account.clone(),
                id: new_id("subnet"),
                vpc_id: self.vpc_id.clone(),
                cidr: cidr.to_string(),
                az,
                az_id,
                map_public_ip: false,
                tags,
            };
            if let Some(acl) = a
                .acls
                .values_mut()
                .find(|n| n.vpc_id == self.vpc_id && n.default)
            {
                acl.associations.push(AclAssociation {
                    id: new_id("aclassoc"),
                    subnet_id: subnet.id.clone(),
                });
                batch.put(&*acl);
            }
            batch.put(&subnet);
            let out = json!({ "Subnet": subnet.to_json(&region, available_ips(a, &subnet)) });
            a.subnets.insert(subnet.id.clone(), subnet);
            Ok(out)
        })
        .await
    }
}
operation!(CreateSubnet);

/// `DescribeSubnets`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSubnets {
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeSubnets {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new("ec2:DescribeSubnets", "*")))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let region = svc.region().to_string();
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.subnet_ids {
                if !a.subnets.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            let items = a
                .subnets
                .iter()
                .filter(|(id, _)| self.subnet_ids.is_empty() || self.subnet_ids.contains(id));
            let (page, next) = filter::page(items, &self.filters, self.max_results, self.next_token.as_deref())?;
            let mut out = json!({
                "Subnets": page.iter().map(|s| s.to_json(&region, available_ips(a, s))).collect::<Vec<_>>()
            });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeSubnets);

/// `DeleteSubnet`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSubnet {
    pub subnet_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteSubnet {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.subnet_id, "subnet")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteSubnet",
            call.account(),
            &self.subnet_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let id = self.subnet_id;
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            if !a.subnets.contains_key(&id) {
                return Err(not_found(&id));
            }
            if !used_ips(a, &id).is_empty() {
                return Err(dependency(format!(
                    "The subnet '{id}' has dependencies and cannot be deleted."
                )));
            }
            for rt in a.route_tables.values_mut() {
                let before = rt.associations.len();
                rt.associations
                    .retain(|x| x.subnet_id.as_deref() != Some(id.as_str()));
                if rt.associations.len() != before {
                    batch.put::<RouteTable>(&*rt);
                }
            }
            for acl in a.acls.values_mut() {
                let before = acl.associations.len();
                acl.associations.retain(|x| x.subnet_id != id);
                if acl.associations.len() != before {
                    batch.put::<NetworkAcl>(&*acl);
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
            if let Some(s) = a.subnets.remove(&id) {
                batch.delete::<Subnet>(&storage::Record::key(&s));
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteSubnet);

/// `ModifySubnetAttribute` (`MapPublicIpOnLaunch`; the other attributes are accepted and have
/// no effect here, as there are no instances).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifySubnetAttribute {
    pub subnet_id: String,
    #[serde(default)]
    pub map_public_ip_on_launch: Option<AttributeBooleanValue>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl ModifySubnetAttribute {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.subnet_id, "subnet")?;
        Ok(Authorization::check(svc.on(
            "ec2:ModifySubnetAttribute",
            call.account(),
            &self.subnet_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let s = st
                .acct_mut(&account)
                .subnets
                .get_mut(&self.subnet_id)
                .ok_or_else(|| not_found(&self.subnet_id))?;
            if let Some(v) = self.map_public_ip_on_launch.as_ref().and_then(|v| v.value) {
                s.map_public_ip = v;
                batch.put(&*s);
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(ModifySubnetAttribute);
