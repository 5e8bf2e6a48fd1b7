//! Network ACLs: numbered, stateless allow/deny entries per direction, one ACL per subnet
//! (the VPC's default one until replaced). Connections to a VPC endpoint are checked against
//! the ACL of the subnet its listener stands for ([`admits`]).

use std::net::IpAddr;

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cidr::{self, Cidr4, Cidr6};
use crate::filter::{self, Filter};
use crate::model::{AclAssociation, AclEntry, NetworkAcl};
use crate::{
    Ec2, TagSpecification, dependency, expect_kind, invalid_value, missing, new_id, not_found,
    operation, spec_tags,
};

/// Whether `acl` lets TCP traffic with `ip` on `port` through in the given direction: the
/// lowest-numbered matching entry decides; no match denies.
pub(crate) fn admits(acl: &NetworkAcl, egress: bool, ip: IpAddr, port: u16) -> bool {
    let mut entries: Vec<&AclEntry> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    entries.sort_by_key(|e| e.number);
    let ip = cidr::normalize(ip);
    for e in entries {
        let proto = e.protocol == "-1" || e.protocol == "6";
        let ports = e
            .ports
            .is_none_or(|(from, to)| from <= i64::from(port) && i64::from(port) <= to);
        let block = match ip {
            IpAddr::V4(_) => e.cidr.as_deref(),
            IpAddr::V6(_) => e.ipv6_cidr.as_deref(),
        };
        let addr = block.is_some_and(|b| cidr::text_contains(b, ip));
        if proto && ports && addr {
            return e.action == "allow";
        }
    }
    false
}

fn acl_protocol(p: &str) -> Result<String, AwsError> {
    let lower = p.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "-1" | "all" => "-1".into(),
        "tcp" => "6".into(),
        "udp" => "17".into(),
        "icmp" => "1".into(),
        "icmpv6" => "58".into(),
        n => match n.parse::<u8>() {
            Ok(v) => v.to_string(),
            Err(_) => {
                return Err(invalid_value(format!(
                    "Invalid value '{p}' for protocol. Unknown protocol."
                )));
            }
        },
    })
}

/// A `PortRange`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortRange {
    #[serde(default)]
    pub from: Option<i64>,
    #[serde(default)]
    pub to: Option<i64>,
}

/// An `IcmpTypeCode`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IcmpTypeCode {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(rename = "Type", default)]
    pub kind: Option<i64>,
}

/// The members of an entry shared by create and replace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntrySpec {
    pub rule_number: i64,
    pub protocol: String,
    pub rule_action: String,
    pub egress: bool,
    #[serde(default)]
    pub cidr_block: Option<String>,
    #[serde(default)]
    pub ipv6_cidr_block: Option<String>,
    #[serde(default)]
    pub icmp_type_code: Option<IcmpTypeCode>,
    #[serde(default)]
    pub port_range: Option<PortRange>,
}

impl EntrySpec {
    fn entry(&self) -> Result<AclEntry, AwsError> {
        if !(1..=32766).contains(&self.rule_number) {
            return Err(invalid_value(format!(
                "Value ({}) for parameter ruleNumber is invalid. Rule number must be between 1 and 32766.",
                self.rule_number
            )));
        }
        let protocol = acl_protocol(&self.protocol)?;
        let action = self.rule_action.to_ascii_lowercase();
        if action != "allow" && action != "deny" {
            return Err(invalid_value(format!(
                "Value ({}) for parameter ruleAction is invalid.",
                self.rule_action
            )));
        }
        let cidr = match (&self.cidr_block, &self.ipv6_cidr_block) {
            (Some(c), None) => Some(
                Cidr4::parse(c, false)
                    .ok_or_else(|| {
                        invalid_value(format!("Value ({c}) for parameter cidrBlock is invalid."))
                    })?
                    .to_string(),
            ),
            (None, Some(c)) => {
                Cidr6::parse(c).ok_or_else(|| {
                    invalid_value(format!(
                        "Value ({c}) for parameter ipv6CidrBlock is invalid."
                    ))
                })?;
                None
            }
            (None, None) => return Err(missing("cidrBlock")),
            _ => {
                return Err(AwsError::bad_request(
                    "InvalidParameterCombination",
                    "Only one of cidrBlock or ipv6CidrBlock may be given",
                ));
            }
        };
        let ports = match protocol.as_str() {
            "6" | "17" => {
                let r = self
                    .port_range
                    .as_ref()
                    .ok_or_else(|| missing("portRange"))?;
                let (Some(from), Some(to)) = (r.from, r.to) else {
                    return Err(missing("portRange"));
                };
                if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                    return Err(invalid_value(format!(
                        "Invalid value '{from}-{to}' for portRange."
                    )));
                }
                Some((from, to))
            }
            _ => None,
        };
        let icmp = match protocol.as_str() {
            "1" | "58" => self
                .icmp_type_code
                .as_ref()
                .map(|i| (i.kind.unwrap_or(-1), i.code.unwrap_or(-1))),
            _ => None,
        };
        Ok(AclEntry {
            number: self.rule_number,
            egress: self.egress,
            protocol,
            action,
            cidr,
            ipv6_cidr: self.ipv6_cidr_block.clone(),
            ports,
            icmp,
        })
    }
}

/// `CreateNetworkAcl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateNetworkAcl {
    pub vpc_id: String,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateNetworkAcl {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_id, "vpc")?;
        let tags = spec_tags(&self.tag_specifications, "network-acl")?;
        let mut checks = svc.creating("ec2:CreateNetworkAcl", call.account(), "network-acl", &tags);
        checks.push(svc.on("ec2:CreateNetworkAcl", call.account(), &self.vpc_id));
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "network-acl")?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            if !a.vpcs.contains_key(&self.vpc_id) {
                return Err(not_found(&self.vpc_id));
            }
            let acl = NetworkAcl {
                account: account.clone(),
                id: new_id("acl"),
                vpc_id: self.vpc_id.clone(),
                default: false,
                entries: NetworkAcl::initial_entries(false),
                associations: Vec::new(),
                tags,
            };
            batch.put(&acl);
            let mut out = json!({ "NetworkAcl": acl.to_json() });
            if let Some(t) = &self.client_token {
                out["ClientToken"] = json!(t);
            }
            a.acls.insert(acl.id.clone(), acl);
            Ok(out)
        })
        .await
    }
}
operation!(CreateNetworkAcl);

/// `DescribeNetworkAcls`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNetworkAcls {
    #[serde(default)]
    pub network_acl_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeNetworkAcls {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeNetworkAcls",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.network_acl_ids {
                if !a.acls.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            let items = a.acls.iter().filter(|(id, _)| {
                self.network_acl_ids.is_empty() || self.network_acl_ids.contains(id)
            });
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let mut out =
                json!({ "NetworkAcls": page.iter().map(|n| n.to_json()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeNetworkAcls);

/// `DeleteNetworkAcl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteNetworkAcl {
    pub network_acl_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteNetworkAcl {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.network_acl_id, "network-acl")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteNetworkAcl",
            call.account(),
            &self.network_acl_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let id = self.network_acl_id;
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let acl = a.acls.get(&id).ok_or_else(|| not_found(&id))?;
            if acl.default {
                return Err(invalid_value(format!(
                    "cannot delete default network ACL {id}"
                )));
            }
            if !acl.associations.is_empty() {
                return Err(dependency(format!(
                    "The networkAcl '{id}' has dependencies and cannot be deleted."
                )));
            }
            if let Some(acl) = a.acls.remove(&id) {
                batch.delete::<NetworkAcl>(&storage::Record::key(&acl));
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteNetworkAcl);

/// `CreateNetworkAclEntry`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateNetworkAclEntry {
    pub network_acl_id: String,
    #[serde(flatten)]
    pub spec: EntrySpec,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateNetworkAclEntry {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.network_acl_id, "network-acl")?;
        Ok(Authorization::check(svc.on(
            "ec2:CreateNetworkAclEntry",
            call.account(),
            &self.network_acl_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let entry = self.spec.entry()?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let acl = st
                .acct_mut(&account)
                .acls
                .get_mut(&self.network_acl_id)
                .ok_or_else(|| not_found(&self.network_acl_id))?;
            if acl
                .entries
                .iter()
                .any(|e| e.egress == entry.egress && e.number == entry.number)
            {
                return Err(AwsError::bad_request(
                    "NetworkAclEntryAlreadyExists",
                    format!(
                        "The network acl entry identified by {} already exists.",
                        entry.number
                    ),
                ));
            }
            acl.entries.push(entry);
            batch.put(&*acl);
            Ok(json!({}))
        })
        .await
    }
}
operation!(CreateNetworkAclEntry);

/// `ReplaceNetworkAclEntry`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplaceNetworkAclEntry {
    pub network_acl_id: String,
    #[serde(flatten)]
    pub spec: EntrySpec,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

fn no_entry(number: i64, egress: bool, acl: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidNetworkAclEntry.NotFound",
        format!(
            "The network acl entry identified by {number} ({}) does not exist in {acl}.",
            if egress { "egress" } else { "ingress" }
        ),
    )
}

impl ReplaceNetworkAclEntry {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.network_acl_id, "network-acl")?;
        Ok(Authorization::check(svc.on(
            "ec2:ReplaceNetworkAclEntry",
            call.account(),
            &self.network_acl_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let entry = self.spec.entry()?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let acl = st
                .acct_mut(&account)
                .acls
                .get_mut(&self.network_acl_id)
                .ok_or_else(|| not_found(&self.network_acl_id))?;
            let at = acl
                .entries
                .iter()
                .position(|e| e.egress == entry.egress && e.number == entry.number)
                .ok_or_else(|| no_entry(entry.number, entry.egress, &self.network_acl_id))?;
            acl.entries[at] = entry;
            batch.put(&*acl);
            Ok(json!({}))
        })
        .await
    }
}
operation!(ReplaceNetworkAclEntry);

/// `DeleteNetworkAclEntry`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteNetworkAclEntry {
    pub network_acl_id: String,
    pub rule_number: i64,
    pub egress: bool,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteNetworkAclEntry {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.network_acl_id, "network-acl")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteNetworkAclEntry",
            call.account(),
            &self.network_acl_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let acl = st
                .acct_mut(&account)
                .acls
                .get_mut(&self.network_acl_id)
                .ok_or_else(|| not_found(&self.network_acl_id))?;
            if self.rule_number == 32767 {
                return Err(invalid_value(
                    "The default network ACL entry cannot be deleted.",
                ));
            }
            let at = acl
                .entries
                .iter()
                .position(|e| e.egress == self.egress && e.number == self.rule_number)
                .ok_or_else(|| no_entry(self.rule_number, self.egress, &self.network_acl_id))?;
            acl.entries.remove(at);
            batch.put(&*acl);
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteNetworkAclEntry);

/// `ReplaceNetworkAclAssociation`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplaceNetworkAclAssociation {
    pub association_id: String,
    pub network_acl_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

fn association_not_found(id: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidAssociationID.NotFound",
        format!("The association ID '{id}' does not exist"),
    )
}

impl ReplaceNetworkAclAssociation {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.network_acl_id, "network-acl")?;
        let mut checks = vec![svc.on(
            "ec2:ReplaceNetworkAclAssociation",
            call.account(),
            &self.network_acl_id,
        )];
        let current = svc.read(|st| {
            Ok(st
                .acct(call.account())
                .acls
                .values()
                .find(|n| n.associations.iter().any(|x| x.id == self.association_id))
                .map(|n| n.id.clone()))
        })?;
        if let Some(old) = current {
            checks.push(svc.on("ec2:ReplaceNetworkAclAssociation", call.account(), &old));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let target_vpc = a
                .acls
                .get(&self.network_acl_id)
                .map(|n| n.vpc_id.clone())
                .ok_or_else(|| not_found(&self.network_acl_id))?;
            let old_id = a
                .acls
                .values()
                .find(|n| n.associations.iter().any(|x| x.id == self.association_id))
                .map(|n| n.id.clone())
                .ok_or_else(|| association_not_found(&self.association_id))?;
            let old = a
                .acls
                .get_mut(&old_id)
                .ok_or_else(|| association_not_found(&self.association_id))?;
            if old.vpc_id != target_vpc {
                return Err(invalid_value(format!(
                    "Network ACL {} and association {} belong to different networks",
                    self.network_acl_id, self.association_id
                )));
            }
            let at = old
                .associations
                .iter()
                .position(|x| x.id == self.association_id)
                .ok_or_else(|| association_not_found(&self.association_id))?;
            let subnet = old.associations.remove(at).subnet_id;
            batch.put(&*old);
            let new_id = new_id("aclassoc");
            let acl = a
                .acls
                .get_mut(&self.network_acl_id)
                .ok_or_else(|| not_found(&self.network_acl_id))?;
            acl.associations.push(AclAssociation {
                id: new_id.clone(),
                subnet_id: subnet,
            });
            batch.put(&*acl);
            Ok(json!({ "NewAssociationId": new_id }))
        })
        .await
    }
}
operation!(ReplaceNetworkAclAssociation);

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: Vec<AclEntry>) -> NetworkAcl {
        NetworkAcl {
            account: "1".into(),
            id: "acl-1".into(),
            vpc_id: "vpc-1".into(),
            default: false,
            entries,
            associations: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn entry(number: i64, action: &str, cidr: &str, ports: Option<(i64, i64)>) -> AclEntry {
        AclEntry {
            number,
            egress: false,
            protocol: if ports.is_some() {
                "6".into()
            } else {
                "-1".into()
            },
            action: action.into(),
            cidr: Some(cidr.into()),
            ipv6_cidr: None,
            ports,
            icmp: None,
        }
    }

    #[test]
    fn lowest_matching_rule_decides() {
        let lo: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let default = acl(NetworkAcl::initial_entries(true));
        assert!(admits(&default, false, lo, 443));
        assert!(admits(&default, true, lo, 50000));
        let fresh = acl(NetworkAcl::initial_entries(false));
        assert!(!admits(&fresh, false, lo, 443));
        let mut entries = NetworkAcl::initial_entries(false);
        entries.push(entry(200, "allow", "0.0.0.0/0", None));
        entries.push(entry(100, "deny", "127.0.0.0/8", Some((443, 443))));
        let a = acl(entries);
        assert!(!admits(&a, false, lo, 443));
        assert!(admits(&a, false, lo, 8443));
    }

    #[test]
    fn entry_validation() {
        let spec = |n: i64, p: &str, ports: Option<(i64, i64)>| EntrySpec {
            rule_number: n,
            protocol: p.into(),
            rule_action: "allow".into(),
            egress: false,
            cidr_block: Some("10.0.0.0/16".into()),
            ipv6_cidr_block: None,
            icmp_type_code: None,
            port_range: ports.map(|(f, t)| PortRange {
                from: Some(f),
                to: Some(t),
            }),
        };
        assert_eq!(
            spec(100, "tcp", Some((443, 443)))
                .entry()
                .map(|e| e.protocol)
                .ok()
                .as_deref(),
            Some("6")
        );
        assert!(spec(100, "tcp", None).entry().is_err());
        assert!(spec(0, "-1", None).entry().is_err());
        assert!(spec(32767, "-1", None).entry().is_err());
        assert!(spec(10, "bogus", None).entry().is_err());
    }
}
