//! Route tables, routes and subnet associations. Routes are objects (a check can find a
//! `0.0.0.0/0` route to an internet gateway); nothing forwards packets on one machine, and a
//! gateway endpoint's prefix-list route is recorded as AWS records it.

use gateway::{Authorization, AwsError, Call, Check};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cidr::{Cidr4, Cidr6};
use crate::filter::{self, Filter};
use crate::model::{Route, RouteAssociation, RouteTable};
use crate::{
    Account, Ec2, TagSpecification, dependency, expect_kind, invalid_value, missing, new_id,
    not_found, operation, spec_tags,
};

/// `CreateRouteTable`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRouteTable {
    pub vpc_id: String,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateRouteTable {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_id, "vpc")?;
        let tags = spec_tags(&self.tag_specifications, "route-table")?;
        let mut checks = svc.creating("ec2:CreateRouteTable", call.account(), "route-table", &tags);
        checks.push(svc.on("ec2:CreateRouteTable", call.account(), &self.vpc_id));
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let tags = spec_tags(&self.tag_specifications, "route-table")?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let vpc = a
                .vpcs
                .get(&self.vpc_id)
                .ok_or_else(|| not_found(&self.vpc_id))?;
            let rt = RouteTable {
                account: account.clone(),
                id: new_id("rtb"),
                vpc_id: vpc.id.clone(),
                routes: vec![Route {
                    destination_cidr: Some(vpc.cidr.clone()),
                    gateway_id: Some("local".into()),
                    origin: "CreateRouteTable".into(),
                    ..Route::default()
                }],
                associations: Vec::new(),
                tags,
            };
            batch.put(&rt);
            let mut out = json!({ "RouteTable": rt.to_json() });
            if let Some(t) = &self.client_token {
                out["ClientToken"] = json!(t);
            }
            a.route_tables.insert(rt.id.clone(), rt);
            Ok(out)
        })
        .await
    }
}
operation!(CreateRouteTable);

/// `DescribeRouteTables`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRouteTables {
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeRouteTables {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeRouteTables",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.route_table_ids {
                if !a.route_tables.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            let items = a.route_tables.iter().filter(|(id, _)| {
                self.route_table_ids.is_empty() || self.route_table_ids.contains(id)
            });
            let (page, next) = filter::page(
                items,
                &self.filters,
                self.max_results,
                self.next_token.as_deref(),
            )?;
            let mut out =
                json!({ "RouteTables": page.iter().map(|r| r.to_json()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeRouteTables);

/// `DeleteRouteTable`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRouteTable {
    pub route_table_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteRouteTable {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.route_table_id, "route-table")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteRouteTable",
            call.account(),
            &self.route_table_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let id = self.route_table_id;
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let rt = a.route_tables.get(&id).ok_or_else(|| not_found(&id))?;
            let used = !rt.associations.is_empty()
                || a.endpoints
                    .values()
                    .any(|e| e.route_table_ids.contains(&id));
            if used {
                return Err(dependency(format!(
                    "The routeTable '{id}' has dependencies and cannot be deleted."
                )));
            }
            if let Some(rt) = a.route_tables.remove(&id) {
                batch.delete::<RouteTable>(&storage::Record::key(&rt));
            }
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteRouteTable);

// ---------------------------------------------------------------- routes

/// The destination and target members shared by `CreateRoute` and `ReplaceRoute`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteSpec {
    #[serde(default)]
    pub destination_cidr_block: Option<String>,
    #[serde(default)]
    pub destination_ipv6_cidr_block: Option<String>,
    #[serde(default)]
    pub destination_prefix_list_id: Option<String>,
    #[serde(default)]
    pub gateway_id: Option<String>,
    #[serde(default)]
    pub nat_gateway_id: Option<String>,
    #[serde(default)]
    pub network_interface_id: Option<String>,
    #[serde(default)]
    pub vpc_endpoint_id: Option<String>,
    #[serde(default)]
    pub transit_gateway_id: Option<String>,
    #[serde(default)]
    pub vpc_peering_connection_id: Option<String>,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub egress_only_internet_gateway_id: Option<String>,
}

impl RouteSpec {
    /// The destination text and which member carries it.
    fn destination(&self) -> Result<(String, &'static str), AwsError> {
        match (
            &self.destination_cidr_block,
            &self.destination_ipv6_cidr_block,
            &self.destination_prefix_list_id,
        ) {
            (Some(c), None, None) => {
                let parsed = Cidr4::parse(c, false).ok_or_else(|| {
                    invalid_value(format!(
                        "Value ({c}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
                    ))
                })?;
                Ok((parsed.to_string(), "destination-cidr-block"))
            }
            (None, Some(c), None) => {
                Cidr6::parse(c).ok_or_else(|| {
                    invalid_value(format!(
                        "Value ({c}) for parameter destinationIpv6CidrBlock is invalid. This is not a valid CIDR block."
                    ))
                })?;
                Ok((c.clone(), "destination-ipv6-cidr-block"))
            }
            (None, None, Some(p)) => Ok((p.clone(), "destination-prefix-list-id")),
            (None, None, None) => Err(missing("destinationCidrBlock")),
            _ => Err(AwsError::bad_request(
                "InvalidParameterCombination",
                "Only one of destinationCidrBlock, destinationIpv6CidrBlock or destinationPrefixListId may be given",
            )),
        }
    }

    /// Builds the route after checking that its one target exists in the table's VPC.
    fn route(&self, a: &Account, rt: &RouteTable) -> Result<Route, AwsError> {
        let (dest, kind) = self.destination()?;
        let mut route = Route {
            origin: "CreateRoute".into(),
            ..Route::default()
        };
        match kind {
            "destination-cidr-block" => route.destination_cidr = Some(dest),
            "destination-ipv6-cidr-block" => route.destination_ipv6 = Some(dest),
            _ => route.destination_prefix_list = Some(dest),
        }
        let unsupported = [
            (&self.transit_gateway_id, "transit gateways"),
            (&self.vpc_peering_connection_id, "VPC peering connections"),
            (&self.instance_id, "instances"),
            (
                &self.egress_only_internet_gateway_id,
                "egress-only internet gateways",
            ),
        ];
        for (v, what) in unsupported {
            if v.is_some() {
                return Err(invalid_value(format!(
                    "Routes to {what} are not supported by this server"
                )));
            }
        }
        let targets = [
            &self.gateway_id,
            &self.nat_gateway_id,
            &self.network_interface_id,
            &self.vpc_endpoint_id,
        ]
        .iter()
        .filter(|t| t.is_some())
        .count();
        if targets != 1 {
            return Err(AwsError::bad_request(
                "InvalidParameterCombination",
                "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId or vpcEndpointId",
            ));
        }
        let other_network = |target: &str| {
            invalid_value(format!(
                "route table {} and network gateway {target} belong to different networks",
                rt.id
            ))
        };
        if let Some(g) = &self.gateway_id {
            if g.starts_with("igw-") {
                let igw = a.igws.get(g).ok_or_else(|| not_found(g))?;
                if igw.vpc_id.as_deref() != Some(rt.vpc_id.as_str()) {
                    return Err(other_network(g));
                }
            } else if g.starts_with("vpce-") {
                let e = a.endpoints.get(g).ok_or_else(|| not_found(g))?;
                if e.vpc_id != rt.vpc_id {
                    return Err(other_network(g));
                }
            } else {
                return Err(invalid_value(format!(
                    "The gateway ID '{g}' does not exist"
                )));
            }
            route.gateway_id = Some(g.clone());
        }
        if let Some(n) = &self.nat_gateway_id {
            let nat = a
                .nats
                .get(n)
                .filter(|n| n.state != "deleted")
                .ok_or_else(|| not_found(n))?;
            if nat.vpc_id != rt.vpc_id {
                return Err(other_network(n));
            }
            route.nat_gateway_id = Some(n.clone());
        }
        if let Some(e) = &self.network_interface_id {
            let found = a
                .endpoints
                .values()
                .any(|ep| ep.vpc_id == rt.vpc_id && ep.enis.iter().any(|x| &x.id == e))
                || a.nats
                    .values()
                    .any(|nat| &nat.eni_id == e && nat.vpc_id == rt.vpc_id);
            if !found {
                return Err(not_found(e));
            }
            route.network_interface_id = Some(e.clone());
        }
        if let Some(e) = &self.vpc_endpoint_id {
            let ep = a.endpoints.get(e).ok_or_else(|| not_found(e))?;
            if ep.vpc_id != rt.vpc_id {
                return Err(other_network(e));
            }
            route.gateway_id = Some(e.clone());
        }
        Ok(route)
    }
}

fn no_route(kind: &str, dest: &str, rt: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidRoute.NotFound",
        format!("no route with {kind} {dest} in route table {rt}"),
    )
}

/// `CreateRoute`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoute {
    pub route_table_id: String,
    #[serde(flatten)]
    pub spec: RouteSpec,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateRoute {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.route_table_id, "route-table")?;
        Ok(Authorization::check(svc.on(
            "ec2:CreateRoute",
            call.account(),
            &self.route_table_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let rt = a
                .route_tables
                .get(&self.route_table_id)
                .ok_or_else(|| not_found(&self.route_table_id))?;
            let route = self.spec.route(a, rt)?;
            let dest = route.destination();
            if rt.routes.iter().any(|r| r.destination() == dest) {
                return Err(AwsError::bad_request(
                    "RouteAlreadyExists",
                    format!("The route identified by {dest} already exists."),
                ));
            }
            let rt = a
                .route_tables
                .get_mut(&self.route_table_id)
                .ok_or_else(|| not_found(&self.route_table_id))?;
            rt.routes.push(route);
            batch.put(&*rt);
            Ok(json!({ "Return": true }))
        })
        .await
    }
}
operation!(CreateRoute);

/// `ReplaceRoute`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplaceRoute {
    pub route_table_id: String,
    #[serde(flatten)]
    pub spec: RouteSpec,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl ReplaceRoute {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.route_table_id, "route-table")?;
        Ok(Authorization::check(svc.on(
            "ec2:ReplaceRoute",
            call.account(),
            &self.route_table_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let rt = a
                .route_tables
                .get(&self.route_table_id)
                .ok_or_else(|| not_found(&self.route_table_id))?;
            let (dest, kind) = self.spec.destination()?;
            let at = rt
                .routes
                .iter()
                .position(|r| r.destination() == dest && r.gateway_id.as_deref() != Some("local"))
                .ok_or_else(|| no_route(kind, &dest, &rt.id))?;
            let route = self.spec.route(a, rt)?;
            let rt = a
                .route_tables
                .get_mut(&self.route_table_id)
                .ok_or_else(|| not_found(&self.route_table_id))?;
            rt.routes[at] = route;
            batch.put(&*rt);
            Ok(json!({}))
        })
        .await
    }
}
operation!(ReplaceRoute);

/// `DeleteRoute`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRoute {
    pub route_table_id: String,
    #[serde(default)]
    pub destination_cidr_block: Option<String>,
    #[serde(default)]
    pub destination_ipv6_cidr_block: Option<String>,
    #[serde(default)]
    pub destination_prefix_list_id: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteRoute {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.route_table_id, "route-table")?;
        Ok(Authorization::check(svc.on(
            "ec2:DeleteRoute",
            call.account(),
            &self.route_table_id,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let spec = RouteSpec {
            destination_cidr_block: self.destination_cidr_block.clone(),
            destination_ipv6_cidr_block: self.destination_ipv6_cidr_block.clone(),
            destination_prefix_list_id: self.destination_prefix_list_id.clone(),
            ..RouteSpec::default()
        };
        let (dest, kind) = spec.destination()?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let rt = a
                .route_tables
                .get_mut(&self.route_table_id)
                .ok_or_else(|| not_found(&self.route_table_id))?;
            let at = rt
                .routes
                .iter()
                .position(|r| r.destination() == dest)
                .ok_or_else(|| no_route(kind, &dest, &self.route_table_id))?;
            if rt.routes[at].gateway_id.as_deref() == Some("local") {
                return Err(invalid_value(format!(
                    "cannot remove local route {dest} in route table {}",
                    self.route_table_id
                )));
            }
            if rt.routes[at].destination_prefix_list.is_some()
                && rt.routes[at]
                    .gateway_id
                    .as_deref()
                    .is_some_and(|g| g.starts_with("vpce-"))
            {
                return Err(invalid_value(format!(
                    "cannot remove the route to {dest}: it is managed by a VPC endpoint"
                )));
            }
            rt.routes.remove(at);
            batch.put(&*rt);
            Ok(json!({}))
        })
        .await
    }
}
operation!(DeleteRoute);

// ---------------------------------------------------------------- associations

/// `AssociateRouteTable` (subnets; edge associations with gateways are not modelled).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateRouteTable {
    pub route_table_id: String,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub gateway_id: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl AssociateRouteTable {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.route_table_id, "route-table")?;
        let mut checks = vec![svc.on(
            "ec2:AssociateRouteTable",
            call.account(),
            &self.route_table_id,
        )];
        if let Some(s) = &self.subnet_id {
            expect_kind(s, "subnet")?;
            checks.push(svc.on("ec2:AssociateRouteTable", call.account(), s));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        if self.gateway_id.is_some() {
            return Err(invalid_value(
                "Gateway route table associations are not supported by this server",
            ));
        }
        let subnet = self.subnet_id.clone().ok_or_else(|| missing("SubnetId"))?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let s = a.subnets.get(&subnet).ok_or_else(|| not_found(&subnet))?;
            let rt = a.route_tables.get(&self.route_table_id).ok_or_else(|| not_found(&self.route_table_id))?;
            if s.vpc_id != rt.vpc_id {
                return Err(invalid_value(format!(
                    "Route table {} and subnet {subnet} belong to different networks",
                    rt.id
                )));
            }
            let taken = a
                .route_tables
                .values()
                .any(|t| t.associations.iter().any(|x| x.subnet_id.as_deref() == Some(subnet.as_str())));
            if taken {
                return Err(AwsError::bad_request(
                    "Resource.AlreadyAssociated",
                    format!(
                        "the specified association for route table {} conflicts with an existing association",
                        self.route_table_id
                    ),
                ));
            }
            let id = new_id("rtbassoc");
            let rt = a
                .route_tables
                .get_mut(&self.route_table_id)
                .ok_or_else(|| not_found(&self.route_table_id))?;
            rt.associations.push(RouteAssociation {
                id: id.clone(),
                main: false,
                subnet_id: Some(subnet.clone()),
            });
            batch.put(&*rt);
            Ok(json!({ "AssociationId": id, "AssociationState": {"State": "associated"} }))
        })
        .await
    }
}
operation!(AssociateRouteTable);

/// `DisassociateRouteTable`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisassociateRouteTable {
    pub association_id: String,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

fn association_not_found(id: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidAssociationID.NotFound",
        format!("The association ID '{id}' does not exist"),
    )
}

impl DisassociateRouteTable {
    fn table(&self, svc: &Ec2, call: &Call) -> Result<String, AwsError> {
        svc.read(|st| {
            st.acct(call.account())
                .route_tables
                .values()
                .find(|t| t.associations.iter().any(|x| x.id == self.association_id))
                .map(|t| t.id.clone())
                .ok_or_else(|| association_not_found(&self.association_id))
        })
    }

    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let rt = self.table(svc, call)?;
        Ok(Authorization::check(svc.on(
            "ec2:DisassociateRouteTable",
            call.account(),
            &rt,
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let rt_id = self.table(svc, call)?;
        let account = call.account().to_string();
        svc.write(call, |st, batch| {
            let rt = st
                .acct_mut(&account)
                .route_tables
                .get_mut(&rt_id)
                .ok_or_else(|| association_not_found(&self.association_id))?;
            let at = rt
                .associations
                .iter()
                .position(|x| x.id == self.association_id)
                .ok_or_else(|| association_not_found(&self.association_id))?;
            if rt.associations[at].main {
                return Err(invalid_value(format!(
                    "cannot disassociate the main route table association {}",
                    self.association_id
                )));
            }
            rt.associations.remove(at);
            batch.put(&*rt);
            Ok(json!({}))
        })
        .await
    }
}
operation!(DisassociateRouteTable);
