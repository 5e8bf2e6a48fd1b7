//! VPC endpoints as real listeners.
//!
//! Each endpoint (interface or gateway) is a listener of the gateway on a loopback port,
//! reported as its one `DnsEntries[].DnsName` (`127.0.0.1:PORT`): a client reaches the
//! service through it with `--endpoint-url http://<DnsName>`. The listener serves only the
//! endpoint's service (other requests are refused at the connection), every request through
//! it carries `aws:SourceVpce`, `aws:SourceVpc` and `aws:VpcSourceIp`, and the endpoint
//! policy is one more gate in every decision. Security groups and the subnet's network ACL
//! admit or refuse each connection ([`crate::guard`]).
//!
//! An interface endpoint gets one network interface per subnet (`NetworkInterfaceIds`, an
//! address in each subnet). There is no DNS or route-table redirection on one machine: private
//! DNS is recorded but does not capture the service's public hostname, and a gateway endpoint
//! adds its prefix-list route to the route tables as AWS does but is reached, like an
//! interface endpoint, through its own listener.
//!
//! Listeners come back at startup ([`Ec2::restore_endpoints`]) on the same port when it is
//! free, otherwise on a new one, which DescribeVpcEndpoints then reports.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use gateway::{Authorization, AwsError, Call, Check, Location, VpcEndpoint};
use policy::{Policy, PolicyType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::filter::{self, Filter, Filterable};
use crate::model::{Endpoint, Eni, Route, Tag};
use crate::subnet::allocate_ip;
use crate::{
    Account, Ec2, TagSpecification, expect_kind, invalid_parameter, missing, new_id, not_found,
    now_secs, operation, spec_tags,
};

// ---------------------------------------------------------------- the service catalogue

/// An AWS service reachable through an endpoint.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// `com.amazonaws.us-east-1.sts`.
    pub name: String,
    /// The signing name of the requests it carries.
    pub signing_name: &'static str,
    /// `Interface` and/or `Gateway`.
    pub types: &'static [&'static str],
    /// The service's regular DNS name.
    pub dns: String,
}

/// The endpoint services of `region`.
pub fn endpoint_services(region: &str) -> Vec<ServiceInfo> {
    let r = region;
    let s = |name: String,
             signing_name: &'static str,
             types: &'static [&'static str],
             dns: String| ServiceInfo {
        name,
        signing_name,
        types,
        dns,
    };
    let interface: &'static [&'static str] = &["Interface"];
    vec![
        s(
            format!("aws.sagemaker.{r}.studio"),
            "studio",
            interface,
            format!("studio.{r}.sagemaker.aws"),
        ),
        s(
            format!("aws.sagemaker.{r}.notebook"),
            "notebook",
            interface,
            format!("notebook.{r}.sagemaker.aws"),
        ),
        s(
            "com.amazonaws.iam".into(),
            "iam",
            interface,
            "iam.amazonaws.com".into(),
        ),
        s(
            format!("com.amazonaws.{r}.cloudtrail"),
            "cloudtrail",
            interface,
            format!("cloudtrail.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.ec2"),
            "ec2",
            interface,
            format!("ec2.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.kms"),
            "kms",
            interface,
            format!("kms.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.logs"),
            "logs",
            interface,
            format!("logs.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.s3"),
            "s3",
            &["Gateway", "Interface"],
            format!("s3.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.sagemaker.api"),
            "sagemaker",
            interface,
            format!("api.sagemaker.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.sagemaker.runtime"),
            "sagemaker",
            interface,
            format!("runtime.sagemaker.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.ssm"),
            "ssm",
            interface,
            format!("ssm.{r}.amazonaws.com"),
        ),
        s(
            format!("com.amazonaws.{r}.sts"),
            "sts",
            interface,
            format!("sts.{r}.amazonaws.com"),
        ),
    ]
}

/// The service named `name` in `region`.
pub fn endpoint_service(region: &str, name: &str) -> Option<ServiceInfo> {
    endpoint_services(region)
        .into_iter()
        .find(|s| s.name == name)
}

fn invalid_service(name: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidServiceName",
        format!("The Vpc Endpoint Service '{name}' does not exist"),
    )
}

/// A stable identifier derived from a name (FNV-1a), for service and prefix-list ids.
fn stable_hex(name: &str, digits: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let text = format!("{h:016x}{:016x}", h.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15);
    text[..digits.min(text.len())].to_string()
}

/// The prefix list a gateway endpoint's routes point at.
fn prefix_list(service: &str) -> String {
    format!("pl-{}", stable_hex(service, 8))
}

/// The largest endpoint policy AWS accepts.
const MAX_POLICY: usize = 20_480;

/// Parses an endpoint policy as the engine will use it.
pub(crate) fn parse_policy(text: &str) -> Result<Arc<Policy>, AwsError> {
    if text.chars().count() > MAX_POLICY {
        return Err(AwsError::bad_request(
            "InvalidPolicyDocument",
            format!(
                "The Policy Document is not valid. It exceeds the maximum size of {MAX_POLICY} characters"
            ),
        ));
    }
    Policy::parse(text, PolicyType::Vpce)
        .map(Arc::new)
        .map_err(|e| {
            AwsError::bad_request(
                "InvalidPolicyDocument",
                format!("The Policy Document is not valid. {e}"),
            )
        })
}

// ---------------------------------------------------------------- listeners

impl Ec2 {
    /// Binds the listener of endpoint `e` on `127.0.0.1:port` (0: any) and registers it.
    pub(crate) async fn open_listener(
        &self,
        gateway: &gateway::Gateway,
        e: &Endpoint,
        signing_name: &'static str,
        policy: Option<Arc<Policy>>,
        port: u16,
    ) -> std::io::Result<u16> {
        let live = Arc::new(VpcEndpoint {
            id: e.id.clone(),
            vpc_id: e.vpc_id.clone(),
            service: signing_name.to_string(),
            policy: RwLock::new(policy),
            guard: Some(Arc::new(crate::guard::Guard::new(
                self.weak(),
                &e.account,
                &e.id,
            ))),
        });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let bound = gateway
            .listen(e.id.clone(), addr, Location::Endpoint(live.clone()))
            .await?;
        if let Ok(mut l) = self.live.lock() {
            l.insert(e.id.clone(), live);
        }
        Ok(bound.port())
    }

    /// Stops the listener of endpoint `id`.
    pub(crate) fn close_listener(&self, gateway: &gateway::Gateway, id: &str) {
        gateway.close(id);
        if let Ok(mut l) = self.live.lock() {
            l.remove(id);
        }
    }

    /// Brings every stored endpoint's listener back, on its port when free, otherwise on a
    /// new one (recorded, so DescribeVpcEndpoints reports it). The binary calls this once at
    /// startup, after the gateway is built.
    pub async fn restore_endpoints(&self, gateway: &gateway::Gateway) {
        let endpoints: Vec<Endpoint> = match self.state.read() {
            Ok(st) => st
                .accounts
                .values()
                .flat_map(|a| a.endpoints.values().cloned())
                .collect(),
            Err(_) => return,
        };
        for e in endpoints {
            let Some(service) = endpoint_service(self.region(), &e.service_name) else {
                tracing::error!(endpoint = %e.id, service = %e.service_name, "endpoint service unknown; not listening");
                continue;
            };
            let policy = match e.policy.as_deref().map(parse_policy).transpose() {
                Ok(p) => p,
                Err(err) => {
                    // Fail closed: an endpoint whose policy no longer parses does not serve.
                    tracing::error!(endpoint = %e.id, error = %err, "endpoint policy does not parse; not listening");
                    continue;
                }
            };
            let mut port = self
                .open_listener(gateway, &e, service.signing_name, policy.clone(), e.port)
                .await;
            if port.is_err() && e.port != 0 {
                tracing::warn!(endpoint = %e.id, port = e.port, "endpoint port is taken; listening on a new one");
                port = self
                    .open_listener(gateway, &e, service.signing_name, policy, 0)
                    .await;
            }
            let port = match port {
                Ok(p) => p,
                Err(err) => {
                    tracing::error!(endpoint = %e.id, error = %err, "cannot listen for endpoint");
                    0
                }
            };
            if port != e.port {
                let pending = {
                    let Ok(mut st) = self.state.write() else {
                        return;
                    };
                    let Some(stored) = st.acct_mut(&e.account).endpoints.get_mut(&e.id) else {
                        continue;
                    };
                    stored.port = port;
                    let mut batch = storage::Batch::new();
                    batch.put(&*stored);
                    self.store().submit(batch)
                };
                if let Err(err) = pending.await {
                    tracing::error!(endpoint = %e.id, error = %err, "cannot record the endpoint's new port");
                }
            }
            tracing::info!(endpoint = %e.id, service = %e.service_name, port, "endpoint listening");
        }
    }
}

// ---------------------------------------------------------------- helpers

fn group_names(a: &Account) -> BTreeMap<String, String> {
    a.groups
        .values()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect()
}

/// Checks subnets for an interface endpoint and makes one interface in each.
fn make_enis(
    a: &Account,
    vpc: &str,
    subnets: &[String],
    existing: &[Eni],
) -> Result<Vec<Eni>, AwsError> {
    let mut zones: Vec<String> = existing
        .iter()
        .filter_map(|n| a.subnets.get(&n.subnet_id).map(|s| s.az.clone()))
        .collect();
    let mut out = Vec::new();
    for id in subnets {
        let s = a.subnets.get(id).ok_or_else(|| not_found(id))?;
        if s.vpc_id != vpc {
            return Err(invalid_parameter(format!(
                "The subnet ID '{id}' does not belong to the VPC '{vpc}'"
            )));
        }
        if zones.contains(&s.az) {
            return Err(AwsError::bad_request(
                "DuplicateSubnetsInSameZone",
                format!(
                    "Found another VPC endpoint subnet in the availability zone of {id}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."
                ),
            ));
        }
        zones.push(s.az.clone());
        let ip = allocate_ip(a, s).ok_or_else(|| {
            AwsError::bad_request(
                "InsufficientFreeAddressesInSubnet",
                format!("Subnet {id} has no free addresses for the endpoint's network interface"),
            )
        })?;
        out.push(Eni {
            id: new_id("eni"),
            subnet_id: id.clone(),
            ip,
        });
    }
    Ok(out)
}

fn check_groups(a: &Account, vpc: &str, groups: &[String]) -> Result<(), AwsError> {
    for g in groups {
        let sg = a.groups.get(g).ok_or_else(|| not_found(g))?;
        if sg.vpc_id != vpc {
            return Err(invalid_parameter(format!(
                "The security group '{g}' does not belong to the VPC '{vpc}'"
            )));
        }
    }
    Ok(())
}

fn check_tables(a: &Account, vpc: &str, tables: &[String]) -> Result<(), AwsError> {
    for t in tables {
        let rt = a.route_tables.get(t).ok_or_else(|| not_found(t))?;
        if rt.vpc_id != vpc {
            return Err(invalid_parameter(format!(
                "The route table '{t}' does not belong to the VPC '{vpc}'"
            )));
        }
    }
    Ok(())
}

fn check_private_dns(a: &Account, vpc: &str) -> Result<(), AwsError> {
    let v = a.vpcs.get(vpc).ok_or_else(|| not_found(vpc))?;
    if !(v.dns_support && v.dns_hostnames) {
        return Err(invalid_parameter(format!(
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {vpc}"
        )));
    }
    Ok(())
}

/// Adds or removes the gateway endpoint's prefix-list route in `tables`.
fn set_routes(
    a: &mut Account,
    batch: &mut storage::Batch,
    e: &Endpoint,
    tables: &[String],
    add: bool,
) {
    let pl = prefix_list(&e.service_name);
    for t in tables {
        if let Some(rt) = a.route_tables.get_mut(t) {
            rt.routes.retain(|r| {
                !(r.gateway_id.as_deref() == Some(e.id.as_str())
                    && r.destination_prefix_list.is_some())
            });
            if add {
                rt.routes.push(Route {
                    destination_prefix_list: Some(pl.clone()),
                    gateway_id: Some(e.id.clone()),
                    origin: "CreateRoute".into(),
                    ..Route::default()
                });
            }
            batch.put(&*rt);
        }
    }
}

// ---------------------------------------------------------------- CreateVpcEndpoint

/// `CreateVpcEndpoint`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateVpcEndpoint {
    pub vpc_id: String,
    #[serde(default)]
    pub service_name: Option<String>,
    #[serde(default)]
    pub vpc_endpoint_type: Option<String>,
    #[serde(default)]
    pub policy_document: Option<String>,
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub private_dns_enabled: Option<bool>,
    #[serde(default)]
    pub ip_address_type: Option<String>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tag_specifications: Vec<TagSpecification>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl CreateVpcEndpoint {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_id, "vpc")?;
        let tags = spec_tags(&self.tag_specifications, "vpc-endpoint")?;
        let account = call.account();
        let mut checks = svc.creating("ec2:CreateVpcEndpoint", account, "vpc-endpoint", &tags);
        if let Some(first) = checks.first_mut() {
            *first = first
                .clone()
                .with_opt("ec2:VpceServiceName", self.service_name.clone())
                .with("ec2:VpceServiceOwner", "amazon")
                .with("ec2:Vpc", svc.arn(account, "vpc", &self.vpc_id));
        }
        checks.push(svc.on("ec2:CreateVpcEndpoint", account, &self.vpc_id));
        for id in &self.subnet_ids {
            expect_kind(id, "subnet")?;
            checks.push(svc.on("ec2:CreateVpcEndpoint", account, id));
        }
        for id in &self.security_group_ids {
            expect_kind(id, "security-group")?;
            checks.push(svc.on("ec2:CreateVpcEndpoint", account, id));
        }
        for id in &self.route_table_ids {
            expect_kind(id, "route-table")?;
            checks.push(svc.on("ec2:CreateVpcEndpoint", account, id));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let name = self
            .service_name
            .clone()
            .ok_or_else(|| missing("ServiceName"))?;
        let service =
            endpoint_service(svc.region(), &name).ok_or_else(|| invalid_service(&name))?;
        let kind = self
            .vpc_endpoint_type
            .clone()
            .unwrap_or_else(|| "Gateway".into());
        if !service.types.contains(&kind.as_str()) {
            return Err(invalid_parameter(format!(
                "The Vpc Endpoint Service '{name}' does not support endpoint type '{kind}'."
            )));
        }
        if self.ip_address_type.as_deref().is_some_and(|t| t != "ipv4") {
            return Err(invalid_parameter(
                "Only the ipv4 IP address type is supported by this server",
            ));
        }
        let interface = kind == "Interface";
        if interface && !self.route_table_ids.is_empty() {
            return Err(invalid_parameter(
                "Route tables can only be specified for Gateway endpoints",
            ));
        }
        if !interface && (!self.subnet_ids.is_empty() || !self.security_group_ids.is_empty()) {
            return Err(invalid_parameter(
                "Subnets and security groups can only be specified for Interface endpoints",
            ));
        }
        if !interface && self.private_dns_enabled == Some(true) {
            return Err(invalid_parameter(
                "Private DNS can only be enabled for Interface endpoints",
            ));
        }
        let policy = self
            .policy_document
            .as_deref()
            .map(parse_policy)
            .transpose()?;
        let tags = spec_tags(&self.tag_specifications, "vpc-endpoint")?;
        let private_dns = interface && self.private_dns_enabled.unwrap_or(true);
        let account = call.account().to_string();

        // Validate and build under the read lock, then listen (no lock across the await),
        // then record under the write lock; a failure after listening closes the listener.
        let mut endpoint = svc.read(|st| {
            let a = st.acct(&account);
            if !a.vpcs.contains_key(&self.vpc_id) {
                return Err(not_found(&self.vpc_id));
            }
            let mut groups = self.security_group_ids.clone();
            if interface && groups.is_empty() {
                let default = a
                    .groups
                    .values()
                    .find(|g| g.vpc_id == self.vpc_id && g.name == "default")
                    .map(|g| g.id.clone());
                groups.extend(default);
            }
            check_groups(a, &self.vpc_id, &groups)?;
            check_tables(a, &self.vpc_id, &self.route_table_ids)?;
            if private_dns {
                check_private_dns(a, &self.vpc_id)?;
            }
            let enis = make_enis(a, &self.vpc_id, &self.subnet_ids, &[])?;
            Ok(Endpoint {
                account: account.clone(),
                id: new_id("vpce"),
                vpc_id: self.vpc_id.clone(),
                service_name: name.clone(),
                kind: kind.clone(),
                policy: self.policy_document.clone(),
                subnet_ids: self.subnet_ids.clone(),
                group_ids: groups,
                route_table_ids: self.route_table_ids.clone(),
                private_dns,
                enis,
                port: 0,
                created: now_secs(call),
                tags,
            })
        })?;
        let gateway = call.gateway();
        endpoint.port = svc
            .open_listener(&gateway, &endpoint, service.signing_name, policy, 0)
            .await
            .map_err(|e| AwsError::internal(format!("cannot listen for endpoint: {e}")))?;
        let id = endpoint.id.clone();
        let result = svc
            .write(call, move |st, batch| {
                let a = st.acct_mut(&account);
                if !a.vpcs.contains_key(&endpoint.vpc_id) {
                    return Err(not_found(&endpoint.vpc_id));
                }
                // Another call may have taken an address since it was chosen.
                for eni in &mut endpoint.enis {
                    if crate::subnet::used_ips(a, &eni.subnet_id).contains(&eni.ip) {
                        let subnet = a
                            .subnets
                            .get(&eni.subnet_id)
                            .ok_or_else(|| not_found(&eni.subnet_id))?;
                        eni.ip = allocate_ip(a, subnet).ok_or_else(|| {
                            AwsError::bad_request(
                                "InsufficientFreeAddressesInSubnet",
                                format!("Subnet {} has no free addresses", eni.subnet_id),
                            )
                        })?;
                    }
                }
                set_routes(a, batch, &endpoint, &endpoint.route_table_ids, true);
                batch.put(&endpoint);
                let mut out = json!({ "VpcEndpoint": endpoint.to_json(&group_names(a)) });
                if let Some(t) = &self.client_token {
                    out["ClientToken"] = json!(t);
                }
                a.endpoints.insert(endpoint.id.clone(), endpoint);
                Ok(out)
            })
            .await;
        if result.is_err() {
            svc.close_listener(&gateway, &id);
        }
        result
    }
}
operation!(CreateVpcEndpoint);

// ---------------------------------------------------------------- ModifyVpcEndpoint

/// `ModifyVpcEndpoint`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyVpcEndpoint {
    pub vpc_endpoint_id: String,
    #[serde(default)]
    pub reset_policy: Option<bool>,
    #[serde(default)]
    pub policy_document: Option<String>,
    #[serde(default)]
    pub add_route_table_ids: Vec<String>,
    #[serde(default)]
    pub remove_route_table_ids: Vec<String>,
    #[serde(default)]
    pub add_subnet_ids: Vec<String>,
    #[serde(default)]
    pub remove_subnet_ids: Vec<String>,
    #[serde(default)]
    pub add_security_group_ids: Vec<String>,
    #[serde(default)]
    pub remove_security_group_ids: Vec<String>,
    #[serde(default)]
    pub private_dns_enabled: Option<bool>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl ModifyVpcEndpoint {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        expect_kind(&self.vpc_endpoint_id, "vpc-endpoint")?;
        let account = call.account();
        let service = svc.read(|st| {
            Ok(st
                .acct(account)
                .endpoints
                .get(&self.vpc_endpoint_id)
                .map(|e| e.service_name.clone()))
        })?;
        let mut checks = vec![
            svc.on("ec2:ModifyVpcEndpoint", account, &self.vpc_endpoint_id)
                .with_opt("ec2:VpceServiceName", service),
        ];
        for id in self
            .add_subnet_ids
            .iter()
            .chain(&self.remove_subnet_ids)
            .chain(&self.add_security_group_ids)
            .chain(&self.remove_security_group_ids)
            .chain(&self.add_route_table_ids)
            .chain(&self.remove_route_table_ids)
        {
            checks.push(svc.on("ec2:ModifyVpcEndpoint", account, id));
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let reset = self.reset_policy.unwrap_or(false);
        if reset && self.policy_document.is_some() {
            return Err(AwsError::bad_request(
                "InvalidParameterCombination",
                "PolicyDocument and ResetPolicy cannot both be specified",
            ));
        }
        let new_policy = self
            .policy_document
            .as_deref()
            .map(parse_policy)
            .transpose()?;
        let account = call.account().to_string();
        let id = self.vpc_endpoint_id.clone();
        let changed_policy = reset || new_policy.is_some();
        svc.write(call, |st, batch| {
            let a = st.acct_mut(&account);
            let mut e = a
                .endpoints
                .get(&id)
                .cloned()
                .ok_or_else(|| not_found(&id))?;
            let interface = e.kind == "Interface";
            if !interface
                && (!self.add_subnet_ids.is_empty()
                    || !self.add_security_group_ids.is_empty()
                    || self.private_dns_enabled == Some(true))
            {
                return Err(invalid_parameter(
                    "Subnets, security groups and private DNS apply to Interface endpoints only",
                ));
            }
            if interface && !self.add_route_table_ids.is_empty() {
                return Err(invalid_parameter(
                    "Route tables can only be specified for Gateway endpoints",
                ));
            }
            // Subnets and their interfaces.
            for s in &self.remove_subnet_ids {
                if !e.subnet_ids.contains(s) {
                    return Err(invalid_parameter(format!(
                        "The subnet '{s}' is not associated with {id}"
                    )));
                }
            }
            e.subnet_ids.retain(|s| !self.remove_subnet_ids.contains(s));
            e.enis
                .retain(|n| !self.remove_subnet_ids.contains(&n.subnet_id));
            let adding: Vec<String> = self
                .add_subnet_ids
                .iter()
                .filter(|s| !e.subnet_ids.contains(s))
                .cloned()
                .collect();
            let fresh = make_enis(a, &e.vpc_id, &adding, &e.enis)?;
            e.subnet_ids.extend(adding);
            e.enis.extend(fresh);
            // Security groups.
            check_groups(a, &e.vpc_id, &self.add_security_group_ids)?;
            e.group_ids
                .retain(|g| !self.remove_security_group_ids.contains(g));
            for g in &self.add_security_group_ids {
                if !e.group_ids.contains(g) {
                    e.group_ids.push(g.clone());
                }
            }
            if interface && e.group_ids.is_empty() {
                return Err(invalid_parameter(
                    "An Interface endpoint must have at least one security group",
                ));
            }
            // Route tables.
            check_tables(a, &e.vpc_id, &self.add_route_table_ids)?;
            set_routes(a, batch, &e, &self.remove_route_table_ids, false);
            e.route_table_ids
                .retain(|t| !self.remove_route_table_ids.contains(t));
            for t in &self.add_route_table_ids {
                if !e.route_table_ids.contains(t) {
                    e.route_table_ids.push(t.clone());
                }
            }
            set_routes(a, batch, &e, &self.add_route_table_ids, true);
            // Private DNS.
            if let Some(p) = self.private_dns_enabled {
                if p {
                    check_private_dns(a, &e.vpc_id)?;
                }
                e.private_dns = p;
            }
            // Policy.
            if reset {
                e.policy = None;
            } else if let Some(text) = &self.policy_document {
                e.policy = Some(text.clone());
            }
            batch.put(&e);
            a.endpoints.insert(id.clone(), e);
            if changed_policy
                && let Ok(live) = svc.live.lock()
                && let Some(l) = live.get(&id)
            {
                l.set_policy(new_policy.clone());
            }
            Ok(json!({ "Return": true }))
        })
        .await
    }
}
operation!(ModifyVpcEndpoint);

// ---------------------------------------------------------------- Describe / Delete

/// `DescribeVpcEndpoints`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcEndpoints {
    #[serde(default)]
    pub vpc_endpoint_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeVpcEndpoints {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeVpcEndpoints",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            for id in &self.vpc_endpoint_ids {
                if !a.endpoints.contains_key(id) {
                    return Err(not_found(id));
                }
            }
            let names = group_names(a);
            let items = a
                .endpoints
                .iter()
                .filter(|(id, _)| self.vpc_endpoint_ids.is_empty() || self.vpc_endpoint_ids.contains(id));
            let (page, next) = filter::page(items, &self.filters, self.max_results, self.next_token.as_deref())?;
            let mut out = json!({ "VpcEndpoints": page.iter().map(|e| e.to_json(&names)).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeVpcEndpoints);

/// `DeleteVpcEndpoints`: closes each listener.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteVpcEndpoints {
    pub vpc_endpoint_ids: Vec<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DeleteVpcEndpoints {
    fn checks(&self, svc: &Ec2, call: &Call) -> Result<Authorization, AwsError> {
        let checks = self
            .vpc_endpoint_ids
            .iter()
            .map(|id| svc.on("ec2:DeleteVpcEndpoints", call.account(), id))
            .collect();
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        let account = call.account().to_string();
        let gateway = call.gateway();
        let (out, closed) = svc
            .write(call, |st, batch| {
                let a = st.acct_mut(&account);
                let mut unsuccessful = Vec::new();
                let mut closed = Vec::new();
                for id in &self.vpc_endpoint_ids {
                    let Some(e) = a.endpoints.remove(id) else {
                        let err = not_found(id);
                        unsuccessful.push(json!({
                            "Error": {"Code": err.code, "Message": err.message},
                            "ResourceId": id,
                        }));
                        continue;
                    };
                    set_routes(a, batch, &e, &e.route_table_ids, false);
                    batch.delete::<Endpoint>(&storage::Record::key(&e));
                    closed.push(e.id);
                }
                Ok((json!({ "Unsuccessful": unsuccessful }), closed))
            })
            .await?;
        for id in closed {
            svc.close_listener(&gateway, &id);
        }
        Ok(out)
    }
}
operation!(DeleteVpcEndpoints);

/// One endpoint service, for filters.
struct ServiceView {
    info: ServiceInfo,
    kind: &'static str,
}

impl Filterable for ServiceView {
    const FILTERS: &'static [&'static str] = &[
        "owner",
        "service-name",
        "service-region",
        "service-type",
        "supported-ip-address-types",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "owner" => vec!["amazon".into()],
            "service-name" => vec![self.info.name.clone()],
            "service-region" => Vec::new(),
            "service-type" => vec![self.kind.into()],
            "supported-ip-address-types" => vec!["ipv4".into()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

/// `DescribeVpcEndpointServices`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeVpcEndpointServices {
    #[serde(default)]
    pub service_names: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeVpcEndpointServices {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeVpcEndpointServices",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, _call: &Call) -> Result<Value, AwsError> {
        let region = svc.region().to_string();
        let all = endpoint_services(&region);
        for n in &self.service_names {
            if !all.iter().any(|s| &s.name == n) {
                return Err(invalid_service(n));
            }
        }
        let views: Vec<(String, ServiceView)> = all
            .into_iter()
            .filter(|s| self.service_names.is_empty() || self.service_names.contains(&s.name))
            .flat_map(|s| {
                s.types
                    .iter()
                    .map(|k| {
                        (
                            format!("{}/{k}", s.name),
                            ServiceView {
                                info: s.clone(),
                                kind: k,
                            },
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let items = views.iter().map(|(k, v)| (k, v));
        let (page, next) = filter::page(
            items,
            &self.filters,
            self.max_results,
            self.next_token.as_deref(),
        )?;
        let zones: Vec<String> = crate::vpc::zones(&region)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let zone_ids: Vec<String> = crate::vpc::zones(&region)
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        let mut names: Vec<String> = page.iter().map(|v| v.info.name.clone()).collect();
        names.dedup();
        let details: Vec<Value> = page
            .iter()
            .map(|v| {
                let base = v.info.dns.clone();
                let mut d = json!({
                    "ServiceName": v.info.name,
                    "ServiceId": format!("vpce-svc-{}", stable_hex(&format!("{}/{}", v.info.name, v.kind), 17)),
                    "ServiceType": [{"ServiceType": v.kind}],
                    "AvailabilityZoneIds": zone_ids,
                    "AvailabilityZones": zones,
                    "Owner": "amazon",
                    "BaseEndpointDnsNames": [base],
                    "VpcEndpointPolicySupported": true,
                    "AcceptanceRequired": false,
                    "ManagesVpcEndpoints": false,
                    "SupportedIpAddressTypes": ["ipv4"],
                    "Tags": [],
                });
                if v.kind == "Interface" {
                    d["PrivateDnsName"] = json!(v.info.dns);
                    d["PrivateDnsNames"] = json!([{"PrivateDnsName": v.info.dns}]);
                    d["PrivateDnsNameVerificationState"] = json!("verified");
                }
                d
            })
            .collect();
        let mut out = json!({ "ServiceNames": names, "ServiceDetails": details });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }
}
operation!(DescribeVpcEndpointServices);

// ---------------------------------------------------------------- network interfaces

/// A network interface AWS manages: an endpoint's or a NAT gateway's.
struct EniView {
    json: Value,
    id: String,
    subnet: String,
    vpc: String,
    az: String,
    ip: String,
    groups: Vec<String>,
    kind: &'static str,
    description: String,
}

impl Filterable for EniView {
    const FILTERS: &'static [&'static str] = &[
        "availability-zone",
        "description",
        "group-id",
        "interface-type",
        "network-interface-id",
        "private-ip-address",
        "addresses.private-ip-address",
        "requester-managed",
        "status",
        "subnet-id",
        "vpc-id",
    ];
    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "availability-zone" => vec![self.az.clone()],
            "description" => vec![self.description.clone()],
            "group-id" => self.groups.clone(),
            "interface-type" => vec![self.kind.into()],
            "network-interface-id" => vec![self.id.clone()],
            "private-ip-address" | "addresses.private-ip-address" => vec![self.ip.clone()],
            "requester-managed" => vec!["true".into()],
            "status" => vec!["in-use".into()],
            "subnet-id" => vec![self.subnet.clone()],
            "vpc-id" => vec![self.vpc.clone()],
            _ => Vec::new(),
        }
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

fn eni_views(a: &Account, account: &str) -> Vec<(String, EniView)> {
    let names = group_names(a);
    let mut out = Vec::new();
    let mut push = |id: &str,
                    subnet: &str,
                    vpc: &str,
                    ip: &str,
                    groups: Vec<String>,
                    kind: &'static str,
                    description: String| {
        let (az, az_id) = a
            .subnets
            .get(subnet)
            .map(|s| (s.az.clone(), s.az_id.clone()))
            .unwrap_or_default();
        let json = json!({
            "AvailabilityZone": az,
            "AvailabilityZoneId": az_id,
            "Description": description,
            "Groups": groups.iter().map(|g| json!({"GroupId": g, "GroupName": names.get(g).cloned().unwrap_or_default()})).collect::<Vec<_>>(),
            "InterfaceType": kind,
            "Ipv6Addresses": [],
            "NetworkInterfaceId": id,
            "OwnerId": account,
            "PrivateIpAddress": ip,
            "PrivateIpAddresses": [{"Primary": true, "PrivateIpAddress": ip}],
            "RequesterManaged": true,
            "SourceDestCheck": true,
            "Status": "in-use",
            "SubnetId": subnet,
            "TagSet": [],
            "VpcId": vpc,
        });
        out.push((
            id.to_string(),
            EniView {
                json,
                id: id.to_string(),
                subnet: subnet.to_string(),
                vpc: vpc.to_string(),
                az,
                ip: ip.to_string(),
                groups,
                kind,
                description,
            },
        ));
    };
    for e in a.endpoints.values() {
        for n in &e.enis {
            push(
                &n.id,
                &n.subnet_id,
                &e.vpc_id,
                &n.ip,
                e.group_ids.clone(),
                "vpc_endpoint",
                format!("VPC Endpoint Interface {}", e.id),
            );
        }
    }
    for n in a.nats.values().filter(|n| n.state != "deleted") {
        push(
            &n.eni_id,
            &n.subnet_id,
            &n.vpc_id,
            &n.private_ip,
            Vec::new(),
            "nat_gateway",
            format!("Interface for NAT Gateway {}", n.id),
        );
    }
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// Whether `id` is a network interface of the account (an endpoint's or a NAT gateway's).
pub(crate) fn eni_exists(a: &Account, id: &str) -> bool {
    a.endpoints
        .values()
        .any(|e| e.enis.iter().any(|n| n.id == id))
        || a.nats
            .values()
            .any(|n| n.eni_id == id && n.state != "deleted")
}

/// `DescribeNetworkInterfaces`: the interfaces of endpoints and NAT gateways.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeNetworkInterfaces {
    #[serde(default)]
    pub network_interface_ids: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl DescribeNetworkInterfaces {
    fn checks(&self, _svc: &Ec2, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "ec2:DescribeNetworkInterfaces",
            "*",
        )))
    }

    async fn run(self, svc: &Ec2, call: &Call) -> Result<Value, AwsError> {
        svc.read(|st| {
            let a = st.acct(call.account());
            let views = eni_views(a, call.account());
            for id in &self.network_interface_ids {
                if !views.iter().any(|(v, _)| v == id) {
                    return Err(not_found(id));
                }
            }
            let items = views
                .iter()
                .filter(|(id, _)| self.network_interface_ids.is_empty() || self.network_interface_ids.contains(id))
                .map(|(k, v)| (k, v));
            let (page, next) = filter::page(items, &self.filters, self.max_results, self.next_token.as_deref())?;
            let mut out = json!({ "NetworkInterfaces": page.iter().map(|v| v.json.clone()).collect::<Vec<_>>() });
            if let Some(n) = next {
                out["NextToken"] = json!(n);
            }
            Ok(out)
        })
    }
}
operation!(DescribeNetworkInterfaces);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue() {
        let s =
            endpoint_service("us-east-1", "com.amazonaws.us-east-1.sts").map(|s| s.signing_name);
        assert_eq!(s, Some("sts"));
        assert_eq!(
            endpoint_service("us-east-1", "com.amazonaws.us-east-1.sagemaker.api")
                .map(|s| s.signing_name),
            Some("sagemaker")
        );
        assert_eq!(
            endpoint_service("us-east-1", "aws.sagemaker.us-east-1.studio").map(|s| s.signing_name),
            Some("studio")
        );
        assert_eq!(
            endpoint_service("us-east-1", "com.amazonaws.iam").map(|s| s.signing_name),
            Some("iam")
        );
        assert!(endpoint_service("us-east-1", "com.amazonaws.us-east-1.dynamodb").is_none());
        let s3 =
            endpoint_service("eu-west-1", "com.amazonaws.eu-west-1.s3").map(|s| s.types.to_vec());
        assert_eq!(s3, Some(vec!["Gateway", "Interface"]));
        assert_eq!(prefix_list("x"), prefix_list("x"));
        assert_eq!(prefix_list("x").len(), 11);
    }

    #[test]
    fn policies_are_validated_as_endpoint_policies() {
        let ok = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"ssm:*","Resource":"*","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/MLOps"}}}]}"#;
        assert!(parse_policy(ok).is_ok());
        let bad = parse_policy("{\"Statement\": [")
            .err()
            .map(|e| e.code.to_string());
        assert_eq!(bad.as_deref(), Some("InvalidPolicyDocument"));
    }
}
