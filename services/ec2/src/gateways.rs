//! Internet gateways and NAT gateways, as objects: they can be created, attached, described
//! and found by checks ("this VPC has no internet gateway"), but no traffic leaves through
//! them. Elastic IPs are not modelled: a public NAT gateway takes its `AllocationId` as given.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::filter::{self, Filter};
use crate::model::{InternetGateway, NatGateway};
use crate::subnet::allocate_ip;
use crate::{
    Ec2, TagSpecification, dependency, expect_kind, invalid_value, missing, new_id, not_found,
    now_secs, operation, spec_tags,
};

/// `CreateInternetGateway`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInternetGateway {
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateInternetGateway {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "internet-gateway")?;
        Ok(Authorization::all(svc.creating(
            "ec2:CreateInternetGateway",
            call.account(),
            "internet-gateway",
            &tags,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "internet-gateway")?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let g = InternetGateway {
                account: account.clone(),
                id: new_id("igw"),
                vpc_id: None,
                tags,
            };
            batch.put(&g);
            let out = json!({ "InternetGateway": g.to_json() });
            st.acct_mut(&account).igws.insert(g.id.clone(), g);
            Ok(out)
        })
        .await
    }
}
operation!(CreateInternetGateway);

/// `AttachInternetGateway`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachInternetGateway {
    pub internet_gateway_id: String,
    pub vpc_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl AttachInternetGateway {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.internet_gateway_id, "internet-gateway")?;
        expect_kind(&self.vpc_id, "vpc")?;
        Ok(Authorization::all(vec![
            svc.on(
                "ec2:AttachInternetGateway",
                call.account(),
                &self.internet_gateway_id,
            ),
            svc.on("ec2:AttachInternetGateway", call.account(), &self.vpc_id),
        ]))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            if !a.vpcs.contains_key(&self.vpc_id) {
                return Err(not_found(&self.vpc_id));
            }
            let g = a
                .igws
                .get(&self.internet_gateway_id)
                .ok_or_else(|| not_found(&self.internet_gateway_id))?;
            if let Some(v) = &g.vpc_id {
                return Err(AwsError::bad_request(
                    "Resource.AlreadyAssociated",
                    format!("resource {} is already attached to network {v}", g.id),
                ));
            }
            if a.igws
                .values()
                .any(|o| o.vpc_id.as_deref() == Some(self.vpc_id.as_str()))
            {
                return Err(invalid_value(format!(
                    "Network {} already has an internet gateway attached",
                    self.vpc_id
                )));
            }
            let g = a
                .igws
                .get_mut(&self.internet_gateway_id)
                .ok_or_else(|| not_found(&self.internet_gateway_id))?;
            g.vpc_id = Some(self.vpc_id.clone());
            batch.put(&*g);
            Ok(json!({}))
        })
        .await
    }
}
operation!(AttachInternetGateway);

/// `DetachInternetGateway`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetachInternetGateway {
    pub internet_gateway_id: String,
    pub vpc_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DetachInternetGateway {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.internet_gateway_id, "internet-gateway")?;
        expect_kind(&self.vpc_id, "vpc")?;
        Ok(Authorization::all(vec![
            svc.on(
                "ec2:DetachInternetGateway",
                call.account(),
                &self.internet_gateway_id,
            ),
            svc.on("ec2:DetachInternetGateway", call.account(), &self.vpc_id),
        ]))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let public_nat = a
                .nats
                .values()
                .any(|n| n.vpc_id == self.vpc_id && n.connectivity == "public" && n.state != "deleted");
            let g = a
                .igws
                .get_mut(&self.internet_gateway_id)
                .ok_or_else(|| not_found(&self.internet_gateway_id))?;
            if g.vpc_id.as_deref() != Some(self.vpc_id.as_str()) {
                return Err(AwsError::bad_request(
                    "Gateway.NotAttached",
                    format!("resource {} is not attached to network {}", g.id, self.vpc_id),
                ));
            }
            if public_nat {
                return Err(dependency(format!(
                    "Network {} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.",
                    self.vpc_id
                )));
            }
            g.vpc_id = None;
            batch.put(&*g);
            Ok(json!({}))
        })
        .await
    }
}
operation!(DetachInternetGateway);

/// `DeleteInternetGateway`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInternetGateway {
    pub internet_gateway_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteInternetGateway {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.internet_gateway_id, "internet-gateway")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteInternetGateway",
            call.account(),
            &self.internet_gateway_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let id = self.internet_gateway_id;
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let g = a.igws.get(&id).ok_or_else(|| not_found(&id))?;
            if g.vpc_id.is_some() {
                return Err(dependency(format!(
                    "The internetGateway '{id}' has dependencies and cannot be deleted."
                )));
            }
            if let Some(g) = a.igws.remove(&id) {
                batch.delete::<InternetGateway>(&storage::Record::key(&g));
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteInternetGateway);

/// `DescribeInternetGateways`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInternetGateways {
    #[serde(default)]
    pub internet_gateway_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeInternetGateways {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeInternetGateways",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.internet_gateway_ids {
                if !a.igws.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            let items = a.igws.iter().filter(|(id, _)| {
                self.internet_gateway_ids.is_empty() || self.internet_gateway_ids.contains(id)
            });
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let mut out =
                json!({ "InternetGateways": page.iter().map(|g| g.to_json()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeInternetGateways);

// ---------------------------------------------------------------- NAT gateways

/// `CreateNatGateway`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateNatGateway {
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub allocation_id: Option<String>,
    #[serde(default)]
    pub connectivity_type: Option<String>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateNatGateway {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "natgateway")?;
        let mut checks = svc.creating("ec2:CreateNatGateway", call.account(), "natgateway", &tags);
        if let Some(s) = &self.subnet_id {
            expect_kind(s, "subnet")?;
            checks.push(svc.on("ec2:CreateNatGateway", call.account(), s));
        }
        if let Some(alloc) = &self.allocation_id {
            checks.push(svc.check_on(
                "ec2:CreateNatGateway",
                call.account(),
                "elastic-ip",
                alloc,
                &[],
                None,
            ));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let subnet_id = self.subnet_id.clone().ok_or_else(|| missing("SubnetId"))?;
        let connectivity = self
            .connectivity_type
            .clone()
            .unwrap_or_else(|| "public".into());
        if connectivity != "public" && connectivity != "private" {
            return Err(invalid_value(format!(
                "Value ({connectivity}) for parameter connectivityType is invalid."
            )));
        }
        if connectivity == "public" && self.allocation_id.is_none() {
            return Err(missing("AllocationId"));
        }
        if connectivity == "private" && self.allocation_id.is_some() {
            return Err(invalid_value(
                "A private NAT gateway cannot have an AllocationId",
            ));
        }
        let tags = spec_tags(&self.tag_specifications, "natgateway")?;
        let account = call.account().to_string();
        let created = now_secs(call);
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let s = a.subnets.get(&subnet_id).ok_or_else(|| not_found(&subnet_id))?;
            if connectivity == "public" && !a.igws.values().any(|g| g.vpc_id.as_deref() == Some(s.vpc_id.as_str())) {
                return Err(AwsError::bad_request(
                    "Gateway.NotAttached",
                    format!("Network {} has no Internet gateway attached", s.vpc_id),
                ));
            }
            let ip = match &self.private_ip_address {
                Some(ip) => ip.clone(),
                None => allocate_ip(a, s).ok_or_else(|| {
                    AwsError::bad_request(
                        "InsufficientFreeAddressesInSubnet",
                        format!("Subnet {subnet_id} has insufficient free addresses to create this NAT gateway"),
                    )
                })?,
            };
            let nat = NatGateway {
                account: account.clone(),
                id: new_id("nat"),
                subnet_id: subnet_id.clone(),
                vpc_id: s.vpc_id.clone(),
                connectivity: connectivity.clone(),
                allocation_id: self.allocation_id.clone(),
                eni_id: new_id("eni"),
                private_ip: ip,
                state: "available".into(),
                created,
                deleted: None,
                tags,
            };
            batch.put(&nat);
            let mut out = json!({ "NatGateway": nat.to_json() });
            if let Some(t) = &self.client_token {
                out["ClientToken"] = json!(t);
            }
            a.nats.insert(nat.id.clone(), nat);
            Ok(out)
        })
        .await
    }
}
operation!(CreateNatGateway);

/// `DescribeNatGateways`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNatGateways {
    #[serde(default)]
    pub nat_gateway_ids: Vec<String>,
    #[serde(default, rename = "Filter")]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeNatGateways {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeNatGateways",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let now = now_secs(call);
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.nat_gateway_ids {
                if !a.nats.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            // Deleted NAT gateways stay visible for an hour, as in AWS.
            let items = a.nats.iter().filter(|(id, n)| {
                (self.nat_gateway_ids.is_empty() || self.nat_gateway_ids.contains(id))
                    && n.deleted.is_none_or(|d| now - d < 3600.0)
            });
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let mut out =
                json!({ "NatGateways": page.iter().map(|n| n.to_json()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeNatGateways);

/// `DeleteNatGateway`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteNatGateway {
    pub nat_gateway_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteNatGateway {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(svc.on(
            "ec2:DeleteNatGateway",
            call.account(),
            &self.nat_gateway_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let now = now_secs(call);
        svc.write(call, |st, batch| {
            let n = st
                .acct_mut(&account)
                .nats
                .get_mut(&self.nat_gateway_id)
                .filter(|n| n.state != "deleted")
                .ok_or_else(|| not_found(&self.nat_gateway_id))?;
            n.state = "deleted".into();
            n.deleted = Some(now);
            batch.put(&*n);
            Ok(json!({ "NatGatewayId": n.id }))
        })
        .await
    }
}
operation!(DeleteNatGateway);
