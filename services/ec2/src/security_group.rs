//! Security groups and their rules. A rule admits a protocol and port range from (ingress) or
//! to (egress) an IPv4 or IPv6 block, a prefix list, or the members of a security group
//! (self-references included). New groups allow all egress; the default group of a VPC also
//! admits all traffic from itself.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cidr::{Cidr4, Cidr6};
use crate::filter::{self, Filter};
use crate::model::{Peer, RuleView, SecurityGroup, SgRule, Tag};
use crate::{
    Account, Ec2, TagSpecification, dependency, expect_kind, invalid_value, missing, new_id,
    not_found, operation, spec_tags,
};

/// A `UserIdGroupPair`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserIdGroupPair {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
}

/// An `IpRange`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpRange {
    #[serde(default)]
    pub cidr_ip: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An `Ipv6Range`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv6Range {
    #[serde(default)]
    pub cidr_ipv6: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A `PrefixListId`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListId {
    #[serde(default)]
    pub prefix_list_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An `IpPermission`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpPermission {
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub user_id_group_pairs: Vec<UserIdGroupPair>,
    #[serde(default)]
    pub ip_ranges: Vec<IpRange>,
    #[serde(default)]
    pub ipv6_ranges: Vec<Ipv6Range>,
    #[serde(default)]
    pub prefix_list_ids: Vec<PrefixListId>,
}

/// AWS's protocol names: `tcp`, `udp`, `icmp`, `icmpv6`, `-1`, or a number.
pub(crate) fn normalize_protocol(p: &str) -> Result<String, AwsError> {
    let lower = p.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        "-1" | "all" => "-1".into(),
        n => match n.parse::<u8>() {
            Ok(v) => v.to_string(),
            Err(_) => {
                return Err(invalid_value(format!(
                    "Invalid value '{p}' for IP protocol. Unknown protocol."
                )));
            }
        },
    })
}

/// The group a `GroupId`/`GroupName` pair names in `a`.
pub(crate) fn resolve_group(
    a: &Account,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<String, AwsError> {
    if let Some(id) = id {
        return if a.groups.contains_key(id) {
            Ok(id.to_string())
        } else {
            Err(not_found(id))
        };
    }
    let Some(name) = name else {
        return Err(missing("GroupId"));
    };
    let found: Vec<&SecurityGroup> = a.groups.values().filter(|g| g.name == name).collect();
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(AwsError::bad_request(
            "InvalidGroup.NotFound",
            format!("The security group '{name}' does not exist in default VPC 'none'"),
        )),
        _ => Err(invalid_value(format!(
            "The security group name '{name}' is used in more than one VPC; use GroupId"
        ))),
    }
}

/// Expands permissions into rules of `group`.
fn expand(
    a: &Account,
    group: &SecurityGroup,
    perms: &[IpPermission],
    egress: bool,
) -> Result<Vec<SgRule>, AwsError> {
    let mut out = Vec::new();
    for p in perms {
        let protocol = normalize_protocol(
            p.ip_protocol
                .as_deref()
                .ok_or_else(|| missing("IpProtocol"))?,
        )?;
        let (from, to) = match protocol.as_str() {
            "-1" => (-1, -1),
            "tcp" | "udp" => {
                let (Some(f), Some(t)) = (p.from_port, p.to_port) else {
                    return Err(invalid_value(
                        "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange",
                    ));
                };
                if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                    return Err(invalid_value(format!(
                        "Invalid value '{f}-{t}' for portRange. Must be a valid port range."
                    )));
                }
                (f, t)
            }
            "icmp" | "icmpv6" => (p.from_port.unwrap_or(-1), p.to_port.unwrap_or(-1)),
            _ => (-1, -1),
        };
        let mut peers: Vec<(Peer, Option<String>)> = Vec::new();
        for r in &p.ip_ranges {
            let text = r.cidr_ip.as_deref().ok_or_else(|| missing("CidrIp"))?;
            let c = Cidr4::parse(text, false)
                .ok_or_else(|| invalid_value(format!("CIDR block {text} is malformed")))?;
            peers.push((Peer::Cidr4(c.to_string()), r.description.clone()));
        }
        for r in &p.ipv6_ranges {
            let text = r.cidr_ipv6.as_deref().ok_or_else(|| missing("CidrIpv6"))?;
            if Cidr6::parse(text).is_none() {
                return Err(invalid_value(format!("CIDR block {text} is malformed")));
            }
            peers.push((Peer::Cidr6(text.to_string()), r.description.clone()));
        }
        for r in &p.prefix_list_ids {
            let id = r
                .prefix_list_id
                .as_deref()
                .ok_or_else(|| missing("PrefixListId"))?;
            peers.push((Peer::PrefixList(id.to_string()), r.description.clone()));
        }
        for pair in &p.user_id_group_pairs {
            let gid = resolve_group(a, pair.group_id.as_deref(), pair.group_name.as_deref())?;
            let referenced = a.groups.get(&gid).ok_or_else(|| not_found(&gid))?;
            if referenced.vpc_id != group.vpc_id {
                return Err(invalid_value(format!(
                    "You have specified two resources that belong to different networks: {} and {}",
                    referenced.id, group.id
                )));
            }
            peers.push((
                Peer::Group {
                    group_id: gid,
                    user_id: pair
                        .user_id
                        .clone()
                        .unwrap_or_else(|| group.account.clone()),
                },
                pair.description.clone(),
            ));
        }
        if peers.is_empty() {
            return Err(missing(
                "IpPermissions.IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs",
            ));
        }
        for (peer, description) in peers {
            out.push(SgRule {
                id: new_id("sgr"),
                egress,
                protocol: protocol.clone(),
                from,
                to,
                peer,
                description,
                tags: Vec::new(),
            });
        }
    }
    Ok(out)
}

fn describe_rule(r: &SgRule) -> String {
    let peer = match &r.peer {
        Peer::Cidr4(c) | Peer::Cidr6(c) | Peer::PrefixList(c) => c.clone(),
        Peer::Group { group_id, .. } => group_id.clone(),
    };
    let proto = if r.protocol == "-1" {
        "ALL".to_string()
    } else {
        r.protocol.to_uppercase()
    };
    format!(
        "peer: {peer}, {proto}, from port: {}, to port: {}, ALLOW",
        r.from, r.to
    )
}

/// The legacy single-rule parameters, as one permission.
fn legacy(
    protocol: &Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    cidr: &Option<String>,
    source_group: &Option<String>,
    source_owner: &Option<String>,
) -> Option<IpPermission> {
    if protocol.is_none() && cidr.is_none() && source_group.is_none() {
        return None;
    }
    let mut p = IpPermission {
        ip_protocol: Some(protocol.clone().unwrap_or_else(|| "-1".into())),
        from_port: from,
        to_port: to,
        ..IpPermission::default()
    };
    if let Some(c) = cidr {
        p.ip_ranges.push(IpRange {
            cidr_ip: Some(c.clone()),
            description: None,
        });
    }
    if let Some(g) = source_group {
        let pair = if g.starts_with("sg-") {
            UserIdGroupPair {
                group_id: Some(g.clone()),
                user_id: source_owner.clone(),
                ..UserIdGroupPair::default()
            }
        } else {
            UserIdGroupPair {
                group_name: Some(g.clone()),
                user_id: source_owner.clone(),
                ..UserIdGroupPair::default()
            }
        };
        p.user_id_group_pairs.push(pair);
    }
    Some(p)
}

// ---------------------------------------------------------------- create / delete / describe

/// `CreateSecurityGroup`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecurityGroup {
    pub description: String,
    pub group_name: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateSecurityGroup {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "security-group")?;
        let mut checks = svc.creating(
            "ec2:CreateSecurityGroup",
            call.account(),
            "security-group",
            &tags,
        );
        if let Some(vpc) = &self.vpc_id {
            expect_kind(vpc, "vpc")?;
            if let Some(first) = checks.first_mut() {
                *first = first
                    .clone()
                    .with("ec2:Vpc", svc.arn(call.account(), "vpc", vpc));
            }
            checks.push(svc.on("ec2:CreateSecurityGroup", call.account(), vpc));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let Some(vpc_id) = self.vpc_id.clone() else {
            return Err(AwsError::bad_request(
                "VPCIdNotSpecified",
                "No default VPC for this user",
            ));
        };
        if self.group_name.is_empty() || self.group_name.chars().count() > 255 {
            return Err(invalid_value("Group name must be 1 to 255 characters"));
        }
        if self.group_name.starts_with("sg-") {
            return Err(invalid_value("Group names may not be in the format sg-*"));
        }
        if self.group_name == "default" {
            return Err(invalid_value(
                "Cannot use reserved security group name: default",
            ));
        }
        if self.description.chars().count() > 255 {
            return Err(invalid_value(
                "Group description must be at most 255 characters",
            ));
        }
        let tags = spec_tags(&self.tag_specifications, "security-group")?;
        let account = call.account().to_string();
        let region = svc.region().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            if !a.vpcs.contains_key(&vpc_id) {
                return Err(not_found(&vpc_id));
            }
            if a.groups
                .values()
                .any(|g| g.vpc_id == vpc_id && g.name == self.group_name)
            {
                return Err(AwsError::bad_request(
                    "InvalidGroup.Duplicate",
                    format!(
                        "The security group '{}' already exists for VPC '{vpc_id}'",
                        self.group_name
                    ),
                ));
            }
            let g = SecurityGroup {
                account: account.clone(),
                id: new_id("sg"),
                name: self.group_name,
                description: self.description,
                vpc_id,
                rules: vec![SgRule {
                    id: new_id("sgr"),
                    egress: true,
                    protocol: "-1".into(),
                    from: -1,
                    to: -1,
                    peer: Peer::Cidr4("0.0.0.0/0".into()),
                    description: None,
                    tags: Vec::new(),
                }],
                tags,
            };
            batch.put(&g);
            let out = json!({
                "GroupId": g.id,
                "SecurityGroupArn": g.arn(&region),
                "Tags": g.tags,
            });
            a.groups.insert(g.id.clone(), g);
            Ok(out)
        })
        .await
    }
}
operation!(CreateSecurityGroup);

/// `DeleteSecurityGroup`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecurityGroup {
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteSecurityGroup {
    fn target(&self, svc: &Ec2, call: &Call) -> Result<String, AwsError> {
        if let Some(id) = &self.group_id {
            expect_kind(id, "security-group")?;
            return Ok(id.clone());
        }
        svc.read(|st| resolve_group(st.acct(call.account()), None, self.group_name.as_deref()))
    }

    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let id = self.target(svc, call)?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteSecurityGroup",
            call.account(),
            &id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let id = self.target(svc, call)?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let g = a.groups.get(&id).ok_or_else(|| not_found(&id))?;
            if g.name == "default" {
                return Err(AwsError::bad_request(
                    "CannotDelete",
                    format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
                ));
            }
            let in_use = a.endpoints.values().any(|e| e.group_ids.contains(&id));
            let referenced = a.groups.values().any(|o| {
                o.id != id
                    && o.rules
                        .iter()
                        .any(|r| matches!(&r.peer, Peer::Group { group_id, .. } if *group_id == id))
            });
            if in_use || referenced {
                return Err(dependency(format!("resource {id} has a dependent object")));
            }
            let group_id = g.id.clone();
            let out = json!({ "Return": true, "GroupId": group_id });
            if let Some(g) = a.groups.remove(&id) {
                batch.delete::<SecurityGroup>(&storage::Record::key(&g));
            }
            Ok(out)
        })
        .await
    }
}
operation!(DeleteSecurityGroup);

/// `DescribeSecurityGroups`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecurityGroups {
    #[serde(default)]
    pub group_ids: Vec<String>,
    #[serde(default)]
    pub group_names: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeSecurityGroups {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeSecurityGroups",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let region = svc.region().to_string();
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.group_ids {
                if !a.groups.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            for name in &self.group_names {
                resolve_group(a, None, Some(name))?;
            }
            let items = a.groups.iter().filter(|(id, g)| {
                (self.group_ids.is_empty() || self.group_ids.contains(id))
                    && (self.group_names.is_empty() || self.group_names.contains(&g.name))
            });
            let (page, next) = filter::page(items, &self.filters, self.max_results, self.next_token.as_deref())?;
            let mut out = json!({ "SecurityGroups": page.iter().map(|g| g.to_json(&region)).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeSecurityGroups);

/// `DescribeSecurityGroupRules`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecurityGroupRules {
    #[serde(default)]
    pub security_group_rule_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeSecurityGroupRules {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeSecurityGroupRules",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let region = svc.region().to_string();
        svc.read(|st| {
            let a = st.acct(call.account());
            let mut views: Vec<(String, RuleView<'_>)> = a
                .groups
                .values()
                .flat_map(|g| g.rules.iter().map(move |r| (r.id.clone(), RuleView { group: g, rule: r })))
                .collect();
            views.sort_by(|x, y| x.0.cmp(&y.0));
            for id in &self.security_group_rule_ids {
                if !views.iter().any(|(rid, _)| rid == id) {
                    return Err(not_found(id));
                }
            }
            let items = views.iter().filter(|(id, _)| {
                self.security_group_rule_ids.is_empty() || self.security_group_rule_ids.contains(id)
            });
            let items = items.map(|(id, v)| (id, v));
            let (page, next) = filter::page(items, &self.filters, self.max_results, self.next_token.as_deref())?;
            let mut out = json!({
                "SecurityGroupRules": page.iter().map(|v| v.rule.to_json(v.group, &region)).collect::<Vec<_>>()
            });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeSecurityGroupRules);

// ---------------------------------------------------------------- authorize / revoke

async fn authorize_rules(
    svc: &Ec2,
    call: &Call,
    group_id: String,
    perms: Vec<IpPermission>,
    egress: bool,
    tags: Vec<Tag>,
) -> Result<Value, AwsError> {
    let account = call.account().to_string();
    let region = svc.region().to_string();
    svc.write(call, |st, batch| {
        let a = st.acct_mut(&account);
        let g = a
            .groups
            .get(&group_id)
            .ok_or_else(|| not_found(&group_id))?;
        let mut fresh = expand(a, g, &perms, egress)?;
        for r in &mut fresh {
            r.tags = tags.clone();
        }
        for (i, r) in fresh.iter().enumerate() {
            if g.rules.iter().any(|x| x.same_permission(r))
                || fresh[..i].iter().any(|x| x.same_permission(r))
            {
                return Err(AwsError::bad_request(
                    "InvalidPermission.Duplicate",
                    format!("the specified rule \"{}\" already exists", describe_rule(r)),
                ));
            }
        }
        let count = g.rules.iter().filter(|r| r.egress == egress).count() + fresh.len();
        if count > 60 {
            return Err(AwsError::bad_request(
                "RulesPerSecurityGroupLimitExceeded",
                "The maximum number of rules per security group has been reached.",
            ));
        }
        let g = a
            .groups
            .get_mut(&group_id)
            .ok_or_else(|| not_found(&group_id))?;
        g.rules.extend(fresh.iter().cloned());
        batch.put(&*g);
        let rules: Vec<Value> = fresh.iter().map(|r| r.to_json(g, &region)).collect();
        Ok(json!({ "Return": true, "SecurityGroupRules": rules }))
    })
    .await
}

async fn revoke_rules(
    svc: &Ec2,
    call: &Call,
    group_id: String,
    perms: Vec<IpPermission>,
    rule_ids: Vec<String>,
    egress: bool,
) -> Result<Value, AwsError> {
    let account = call.account().to_string();
    svc.write(call, |st, batch| {
        let a = st.acct_mut(&account);
        let g = a
            .groups
            .get(&group_id)
            .ok_or_else(|| not_found(&group_id))?;
        let wanted = expand(a, g, &perms, egress)?;
        let mut remove: Vec<String> = Vec::new();
        let mut unknown: Vec<&SgRule> = Vec::new();
        for w in &wanted {
            match g.rules.iter().find(|r| r.same_permission(w)) {
                Some(r) => remove.push(r.id.clone()),
                None => unknown.push(w),
            }
        }
        for id in &rule_ids {
            match g.rules.iter().find(|r| &r.id == id && r.egress == egress) {
                Some(r) => remove.push(r.id.clone()),
                None => return Err(not_found(id)),
            }
        }
        if remove.is_empty() {
            return Err(AwsError::bad_request(
                "InvalidPermission.NotFound",
                "The specified rule does not exist in this security group.",
            ));
        }
        let unknown_json = crate::model::permissions(&unknown);
        let g = a
            .groups
            .get_mut(&group_id)
            .ok_or_else(|| not_found(&group_id))?;
        let mut revoked = Vec::new();
        g.rules.retain(|r| {
            if remove.contains(&r.id) {
                let mut v = json!({
                    "SecurityGroupRuleId": r.id,
                    "GroupId": group_id,
                    "IsEgress": r.egress,
                    "IpProtocol": r.protocol,
                    "FromPort": r.from,
                    "ToPort": r.to,
                });
                match &r.peer {
                    Peer::Cidr4(c) => v["CidrIpv4"] = json!(c),
                    Peer::Cidr6(c) => v["CidrIpv6"] = json!(c),
                    Peer::PrefixList(p) => v["PrefixListId"] = json!(p),
                    Peer::Group { group_id, .. } => v["ReferencedGroupId"] = json!(group_id),
                }
                if let Some(d) = &r.description {
                    v["Description"] = json!(d);
                }
                revoked.push(v);
                false
            } else {
                true
            }
        });
        batch.put(&*g);
        let mut out = json!({ "Return": true, "RevokedSecurityGroupRules": revoked });
        if unknown_json.as_array().is_some_and(|u| !u.is_empty()) {
            out["UnknownIpPermissions"] = unknown_json;
        }
        Ok(out)
    })
    .await
}

/// `AuthorizeSecurityGroupIngress`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeSecurityGroupIngress {
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    #[serde(default)]
    pub cidr_ip: Option<String>,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub source_security_group_name: Option<String>,
    #[serde(default)]
    pub source_security_group_owner_id: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl AuthorizeSecurityGroupIngress {
    fn target(&self, svc: &Ec2, call: &Call) -> Result<String, AwsError> {
        if let Some(id) = &self.group_id {
            expect_kind(id, "security-group")?;
            return Ok(id.clone());
        }
        svc.read(|st| resolve_group(st.acct(call.account()), None, self.group_name.as_deref()))
    }

    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let id = self.target(svc, call)?;
        let tags = spec_tags(&self.tag_specifications, "security-group-rule")?;
        let pairs: Vec<(String, String)> = tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        Ok(Authorization::check(
            svc.on("ec2:AuthorizeSecurityGroupIngress", call.account(), &id)
                .request_tags(&pairs, None),
        ))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let id = self.target(svc, call)?;
        let tags = spec_tags(&self.tag_specifications, "security-group-rule")?;
        let mut perms = self.ip_permissions.clone();
        perms.extend(legacy(
            &self.ip_protocol,
            self.from_port,
            self.to_port,
            &self.cidr_ip,
            &self.source_security_group_name,
            &self.source_security_group_owner_id,
        ));
        if perms.is_empty() {
            return Err(missing("IpPermissions"));
        }
        authorize_rules(svc, call, id, perms, false, tags).await
    }
}
operation!(AuthorizeSecurityGroupIngress);

/// `AuthorizeSecurityGroupEgress`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeSecurityGroupEgress {
    pub group_id: String,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    #[serde(default)]
    pub cidr_ip: Option<String>,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub source_security_group_name: Option<String>,
    #[serde(default)]
    pub source_security_group_owner_id: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl AuthorizeSecurityGroupEgress {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.group_id, "security-group")?;
        let tags = spec_tags(&self.tag_specifications, "security-group-rule")?;
        let pairs: Vec<(String, String)> = tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        Ok(Authorization::check(
            svc.on(
                "ec2:AuthorizeSecurityGroupEgress",
                call.account(),
                &self.group_id,
            )
            .request_tags(&pairs, None),
        ))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "security-group-rule")?;
        let mut perms = self.ip_permissions.clone();
        perms.extend(legacy(
            &self.ip_protocol,
            self.from_port,
            self.to_port,
            &self.cidr_ip,
            &self.source_security_group_name,
            &self.source_security_group_owner_id,
        ));
        if perms.is_empty() {
            return Err(missing("IpPermissions"));
        }
        authorize_rules(svc, call, self.group_id, perms, true, tags).await
    }
}
operation!(AuthorizeSecurityGroupEgress);

/// `RevokeSecurityGroupIngress`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeSecurityGroupIngress {
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    #[serde(default)]
    pub security_group_rule_ids: Vec<String>,
    #[serde(default)]
    pub cidr_ip: Option<String>,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub source_security_group_name: Option<String>,
    #[serde(default)]
    pub source_security_group_owner_id: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl RevokeSecurityGroupIngress {
    fn target(&self, svc: &Ec2, call: &Call) -> Result<String, AwsError> {
        if let Some(id) = &self.group_id {
            expect_kind(id, "security-group")?;
            return Ok(id.clone());
        }
        svc.read(|st| resolve_group(st.acct(call.account()), None, self.group_name.as_deref()))
    }

    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let id = self.target(svc, call)?;
        Ok(Authorization::check(svc.on(
            "ec2:RevokeSecurityGroupIngress",
            call.account(),
            &id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let id = self.target(svc, call)?;
        let mut perms = self.ip_permissions.clone();
        perms.extend(legacy(
            &self.ip_protocol,
            self.from_port,
            self.to_port,
            &self.cidr_ip,
            &self.source_security_group_name,
            &self.source_security_group_owner_id,
        ));
        if perms.is_empty() && self.security_group_rule_ids.is_empty() {
            return Err(missing("IpPermissions"));
        }
        revoke_rules(svc, call, id, perms, self.security_group_rule_ids, false).await
    }
}
operation!(RevokeSecurityGroupIngress);

/// `RevokeSecurityGroupEgress`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeSecurityGroupEgress {
    pub group_id: String,
    #[serde(default)]
    pub ip_permissions: Vec<IpPermission>,
    #[serde(default)]
    pub security_group_rule_ids: Vec<String>,
    #[serde(default)]
    pub cidr_ip: Option<String>,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub source_security_group_name: Option<String>,
    #[serde(default)]
    pub source_security_group_owner_id: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl RevokeSecurityGroupEgress {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.group_id, "security-group")?;
        Ok(Authorization::check(svc.on(
            "ec2:RevokeSecurityGroupEgress",
            call.account(),
            &self.group_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let mut perms = self.ip_permissions.clone();
        perms.extend(legacy(
            &self.ip_protocol,
            self.from_port,
            self.to_port,
            &self.cidr_ip,
            &self.source_security_group_name,
            &self.source_security_group_owner_id,
        ));
        if perms.is_empty() && self.security_group_rule_ids.is_empty() {
            return Err(missing("IpPermissions"));
        }
        revoke_rules(
            svc,
            call,
            self.group_id,
            perms,
            self.security_group_rule_ids,
            true,
        )
        .await
    }
}
operation!(RevokeSecurityGroupEgress);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols() {
        assert_eq!(normalize_protocol("TCP").ok().as_deref(), Some("tcp"));
        assert_eq!(normalize_protocol("6").ok().as_deref(), Some("tcp"));
        assert_eq!(normalize_protocol("-1").ok().as_deref(), Some("-1"));
        assert_eq!(normalize_protocol("all").ok().as_deref(), Some("-1"));
        assert_eq!(normalize_protocol("47").ok().as_deref(), Some("47"));
        assert!(normalize_protocol("bogus").is_err());
    }

    #[test]
    fn expansion_and_duplicates() {
        let mut a = Account::default();
        let g = SecurityGroup {
            account: "1".into(),
            id: "sg-1".into(),
            name: "g".into(),
            description: "d".into(),
            vpc_id: "vpc-1".into(),
            rules: Vec::new(),
            tags: Vec::new(),
        };
        a.groups.insert(g.id.clone(), g.clone());
        let perm = IpPermission {
            ip_protocol: Some("tcp".into()),
            from_port: Some(443),
            to_port: Some(443),
            ip_ranges: vec![
                IpRange {
                    cidr_ip: Some("127.0.0.1/32".into()),
                    description: None,
                },
                IpRange {
                    cidr_ip: Some("10.0.0.0/16".into()),
                    description: Some("vpc".into()),
                },
            ],
            user_id_group_pairs: vec![UserIdGroupPair {
                group_id: Some("sg-1".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let rules = expand(&a, &g, &[perm], false).expect("expand");
        assert_eq!(rules.len(), 3);
        assert!(rules.iter().all(|r| r.covers_tcp(443) && !r.covers_tcp(80)));
        assert!(
            matches!(&rules[2].peer, Peer::Group { group_id, user_id } if group_id == "sg-1" && user_id == "1")
        );
        assert!(rules[0].same_permission(&rules[0].clone()));
        assert!(!rules[0].same_permission(&rules[1]));
        let bad = IpPermission {
            ip_protocol: Some("tcp".into()),
            from_port: Some(10),
            to_port: Some(5),
            ip_ranges: vec![IpRange {
                cidr_ip: Some("0.0.0.0/0".into()),
                description: None,
            }],
            ..Default::default()
        };
        assert!(expand(&a, &g, &[bad], false).is_err());
        let missing_group = IpPermission {
            ip_protocol: Some("-1".into()),
            user_id_group_pairs: vec![UserIdGroupPair {
                group_id: Some("sg-404".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            expand(&a, &g, &[missing_group], false)
                .err()
                .map(|e| e.code.to_string())
                .as_deref(),
            Some("InvalidGroup.NotFound")
        );
    }
}
