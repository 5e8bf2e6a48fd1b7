//! EC2 VPC (the EC2 query dialect): VPCs, subnets, security groups, route tables, internet and
//! NAT gateways, network ACLs, tags and filters, VPC endpoints that are real listeners, and
//! flow logs delivered to CloudWatch Logs or to an S3 bucket.
//!
//! State lives in memory, per account, behind one lock, and is written through to the store
//! (one table per resource type, keyed `ACCOUNT/ID`): a handler changes memory and queues its
//! batch (carrying the call's audit record) under the lock, then waits for durability after
//! releasing it.
//!
//! Every operation declares `ec2:<Action>` on the resources the Service Authorization
//! Reference lists (`arn:aws:ec2:REGION:ACCOUNT:vpc/ID`, `subnet/ID`, ...; `TYPE/*` for a
//! resource being created), with `aws:ResourceTag/*` and `ec2:ResourceTag/*`, `ec2:Vpc`,
//! `ec2:Region`, `aws:RequestTag/*` and `aws:TagKeys`, `ec2:CreateAction` on the implied
//! `ec2:CreateTags` of tag-on-create, and `ec2:VpceServiceName` for endpoints.
//!
//! A VPC endpoint is a listener on a loopback port ([`endpoint`]): it serves only its
//! service, the gateway stamps `aws:SourceVpce`/`aws:SourceVpc`/`aws:VpcSourceIp` and applies
//! its policy, and its security groups and the subnet's network ACL decide each connection
//! ([`guard`]), which is recorded by the flow logs that cover it.

#![forbid(unsafe_code)]

pub mod cidr;
mod endpoint;
pub mod filter;
mod flowlog;
mod flowlog_s3;
pub mod fuzzing;
mod gateways;
mod guard;
mod lookup;
pub mod model;
mod network_acl;
mod route_table;
mod security_group;
mod subnet;
mod tags;
mod vpc;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::UNIX_EPOCH;

use gateway::{AwsError, Call, Check, ServiceDef};
use serde::{Deserialize, Serialize};
use storage::Batch;

pub use endpoint::*;
pub use flowlog::*;
pub use flowlog_s3::{DELIVERY_PRINCIPAL, FLUSH_INTERVAL};
pub use gateways::*;
pub use lookup::EndpointView;
pub use network_acl::*;
pub use route_table::*;
pub use security_group::*;
pub use subnet::*;
pub use tags::*;
pub use vpc::*;

use crate::model::{
    Endpoint, FlowLog, InternetGateway, NatGateway, NetworkAcl, RouteTable, SecurityGroup, Subnet,
    Tag, Vpc,
};

/// The trimmed botocore model (`tools/trim-model.py ec2 ...`).
const MODEL: &str = include_str!("../ec2.json");

/// Implements `gateway::Operation` for an input struct with `checks` and `run` methods and a
/// `dry_run` member: a dry run is authorized, then answered with `DryRunOperation`.
macro_rules! operation {
    ($op:ident) => {
        impl gateway::Operation for $op {
            type Service = crate::Ec2;
            type Output = serde_json::Value;
            const NAME: &'static str = stringify!($op);

            fn authorize(
                &self,
                svc: &crate::Ec2,
                call: &gateway::Call,
            ) -> Result<gateway::Authorization, gateway::AwsError> {
                self.checks(svc, call)
            }

            fn handle(
                self,
                svc: std::sync::Arc<crate::Ec2>,
                call: gateway::Call,
            ) -> impl std::future::Future<Output = Result<serde_json::Value, gateway::AwsError>> + Send {
                async move {
                    if self.dry_run.unwrap_or(false) {
                        return Err(crate::dry_run());
                    }
                    self.run(&svc, &call).await
                }
            }
        }
    };
}
pub(crate) use operation;

/// One account's resources.
#[derive(Default)]
pub(crate) struct Account {
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub groups: BTreeMap<String, SecurityGroup>,
    pub route_tables: BTreeMap<String, RouteTable>,
    pub igws: BTreeMap<String, InternetGateway>,
    pub nats: BTreeMap<String, NatGateway>,
    pub acls: BTreeMap<String, NetworkAcl>,
    pub endpoints: BTreeMap<String, Endpoint>,
    pub flow_logs: BTreeMap<String, FlowLog>,
}

#[derive(Default)]
pub(crate) struct State {
    pub accounts: BTreeMap<String, Account>,
}

static EMPTY: std::sync::LazyLock<Account> = std::sync::LazyLock::new(Account::default);

impl State {
    pub fn acct(&self, account: &str) -> &Account {
        self.accounts.get(account).unwrap_or(&EMPTY)
    }

    pub fn acct_mut(&mut self, account: &str) -> &mut Account {
        self.accounts.entry(account.to_string()).or_default()
    }
}

/// EC2 VPC for every account.
pub struct Ec2 {
    me: Weak<Ec2>,
    store: storage::Store,
    config: gateway::Config,
    logs: Arc<logs::Logs>,
    pub(crate) state: RwLock<State>,
    /// The listening endpoints, by id.
    pub(crate) live: Mutex<HashMap<String, Arc<gateway::VpcEndpoint>>>,
    /// Where flow logs to S3 are written, once [`Ec2::deliver_to_s3`] has run.
    pub(crate) s3_sink: OnceLock<flowlog_s3::S3Sink>,
    /// Flow-log records waiting to be written to S3.
    pub(crate) s3_buffers: Arc<flowlog_s3::Buffers>,
}

impl Ec2 {
    /// Loads every account's VPC resources from `store`; flow logs deliver to `logs`.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
        logs: Arc<logs::Logs>,
    ) -> Result<Arc<Ec2>, storage::Error> {
        let mut st = State::default();
        for v in store.table::<Vpc>().load_all()? {
            st.acct_mut(&v.account.clone()).vpcs.insert(v.id.clone(), v);
        }
        for v in store.table::<Subnet>().load_all()? {
            st.acct_mut(&v.account.clone())
                .subnets
                .insert(v.id.clone(), v);
        }
        for v in store.table::<SecurityGroup>().load_all()? {
            st.acct_mut(&v.account.clone())
                .groups
                .insert(v.id.clone(), v);
        }
        for v in store.table::<RouteTable>().load_all()? {
            st.acct_mut(&v.account.clone())
                .route_tables
                .insert(v.id.clone(), v);
        }
        for v in store.table::<InternetGateway>().load_all()? {
            st.acct_mut(&v.account.clone()).igws.insert(v.id.clone(), v);
        }
        for v in store.table::<NatGateway>().load_all()? {
            st.acct_mut(&v.account.clone()).nats.insert(v.id.clone(), v);
        }
        for v in store.table::<NetworkAcl>().load_all()? {
            st.acct_mut(&v.account.clone()).acls.insert(v.id.clone(), v);
        }
        for v in store.table::<Endpoint>().load_all()? {
            st.acct_mut(&v.account.clone())
                .endpoints
                .insert(v.id.clone(), v);
        }
        for v in store.table::<FlowLog>().load_all()? {
            st.acct_mut(&v.account.clone())
                .flow_logs
                .insert(v.id.clone(), v);
        }
        Ok(Arc::new_cyclic(|me| Ec2 {
            me: me.clone(),
            store: store.clone(),
            config: config.clone(),
            logs,
            state: RwLock::new(st),
            live: Mutex::new(HashMap::new()),
            s3_sink: OnceLock::new(),
            s3_buffers: Arc::default(),
        }))
    }

    /// The gateway registration.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        macro_rules! ops {
            ($def:expr, $($op:ident),* $(,)?) => { $def$(.operation::<$op>(self))* };
        }
        match ServiceDef::new("ec2", MODEL) {
            Ok(def) => ops!(
                def,
                CreateVpc,
                DescribeVpcs,
                DeleteVpc,
                ModifyVpcAttribute,
                DescribeVpcAttribute,
                DescribeAvailabilityZones,
                CreateSubnet,
                DescribeSubnets,
                DeleteSubnet,
                ModifySubnetAttribute,
                CreateSecurityGroup,
                DescribeSecurityGroups,
                DeleteSecurityGroup,
                AuthorizeSecurityGroupIngress,
                AuthorizeSecurityGroupEgress,
                RevokeSecurityGroupIngress,
                RevokeSecurityGroupEgress,
                DescribeSecurityGroupRules,
                CreateRouteTable,
                DescribeRouteTables,
                DeleteRouteTable,
                CreateRoute,
                ReplaceRoute,
                DeleteRoute,
                AssociateRouteTable,
                DisassociateRouteTable,
                CreateInternetGateway,
                AttachInternetGateway,
                DetachInternetGateway,
                DeleteInternetGateway,
                DescribeInternetGateways,
                CreateNatGateway,
                DescribeNatGateways,
                DeleteNatGateway,
                CreateNetworkAcl,
                DescribeNetworkAcls,
                DeleteNetworkAcl,
                CreateNetworkAclEntry,
                ReplaceNetworkAclEntry,
                DeleteNetworkAclEntry,
                ReplaceNetworkAclAssociation,
                CreateTags,
                DeleteTags,
                DescribeTags,
                CreateVpcEndpoint,
                ModifyVpcEndpoint,
                DescribeVpcEndpoints,
                DeleteVpcEndpoints,
                DescribeVpcEndpointServices,
                DescribeNetworkInterfaces,
                CreateFlowLogs,
                DescribeFlowLogs,
                DeleteFlowLogs,
            ),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("ec2 model: {e}"),
        }
    }

    /// The served region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// Reads the state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "ec2", f)
    }

    /// Runs `f` on the state with a batch; queues the batch (with the call's audit record)
    /// under the lock and waits for durability after releasing it.
    pub(crate) async fn write<T, F>(&self, call: &Call, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&mut State, &mut Batch) -> Result<T, AwsError>,
    {
        gateway::state::commit(&self.state, "ec2", call, f).await
    }

    /// The ARN of resource `kind/id` in `account`.
    pub(crate) fn arn(&self, account: &str, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{}:{account}:{kind}/{id}", self.config.region)
    }

    /// The tags and VPC of an existing resource, for authorization (empty when unknown: the
    /// handler then reports it missing).
    pub(crate) fn facts(&self, account: &str, id: &str) -> (Vec<Tag>, Option<String>) {
        let Ok(st) = self.state.read() else {
            return (Vec::new(), None);
        };
        let a = st.acct(account);
        let found = match kind_of(id) {
            Some("vpc") => a.vpcs.get(id).map(|v| (v.tags.clone(), Some(v.id.clone()))),
            Some("subnet") => a
                .subnets
                .get(id)
                .map(|v| (v.tags.clone(), Some(v.vpc_id.clone()))),
            Some("security-group") => a
                .groups
                .get(id)
                .map(|v| (v.tags.clone(), Some(v.vpc_id.clone()))),
            Some("route-table") => a
                .route_tables
                .get(id)
                .map(|v| (v.tags.clone(), Some(v.vpc_id.clone()))),
            Some("internet-gateway") => a.igws.get(id).map(|v| (v.tags.clone(), v.vpc_id.clone())),
            Some("natgateway") => a
                .nats
                .get(id)
                .map(|v| (v.tags.clone(), Some(v.vpc_id.clone()))),
            Some("network-acl") => a
                .acls
                .get(id)
                .map(|v| (v.tags.clone(), Some(v.vpc_id.clone()))),
            Some("vpc-endpoint") => a
                .endpoints
                .get(id)
                .map(|v| (v.tags.clone(), Some(v.vpc_id.clone()))),
            Some("vpc-flow-log") => a.flow_logs.get(id).map(|v| (v.tags.clone(), None)),
            Some("network-interface") => a
                .endpoints
                .values()
                .find(|e| e.enis.iter().any(|n| n.id == id))
                .map(|e| (Vec::new(), Some(e.vpc_id.clone()))),
            _ => None,
        };
        found.unwrap_or_default()
    }

    /// A check of `action` on the existing resource `id`, with its tags and VPC.
    pub(crate) fn on(&self, action: &'static str, account: &str, id: &str) -> Check {
        let kind = kind_of(id).unwrap_or("resource");
        let (tags, vpc) = self.facts(account, id);
        self.check_on(action, account, kind, id, &tags, vpc.as_deref())
    }

    /// A check of `action` on `kind/id` with the given tags and VPC.
    pub(crate) fn check_on(
        &self,
        action: &'static str,
        account: &str,
        kind: &str,
        id: &str,
        tags: &[Tag],
        vpc: Option<&str>,
    ) -> Check {
        let mut c = Check::new(action, self.arn(account, kind, id))
            .with("ec2:Region", self.config.region.clone());
        for t in tags {
            c = c.with(format!("ec2:ResourceTag/{}", t.key), t.value.clone());
        }
        c = c.resource_tags(tags.iter().map(|t| (t.key.clone(), t.value.clone())));
        if let Some(v) = vpc {
            c = c.with("ec2:Vpc", self.arn(account, "vpc", v));
        }
        c
    }

    /// The checks for creating a `kind` resource with `tags`: `action` on `kind/*` with the
    /// request tags, and, when tags are given, `ec2:CreateTags` with `ec2:CreateAction`.
    pub(crate) fn creating(
        &self,
        action: &'static str,
        account: &str,
        kind: &str,
        tags: &[Tag],
    ) -> Vec<Check> {
        let pairs: Vec<(String, String)> = tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        let arn = self.arn(account, kind, "*");
        let mut out = vec![
            Check::new(action, arn.clone())
                .with("ec2:Region", self.config.region.clone())
                .request_tags(&pairs, None),
        ];
        if !tags.is_empty() {
            let verb = action.strip_prefix("ec2:").unwrap_or(action).to_string();
            out.push(
                Check::new("ec2:CreateTags", arn)
                    .with("ec2:Region", self.config.region.clone())
                    .with("ec2:CreateAction", verb)
                    .request_tags(&pairs, None),
            );
        }
        out
    }

    /// The CloudWatch Logs service flow logs deliver to.
    pub(crate) fn logs(&self) -> &Arc<logs::Logs> {
        &self.logs
    }

    /// The store.
    pub(crate) fn store(&self) -> &storage::Store {
        &self.store
    }

    /// A weak handle on this service, for listeners' connection guards.
    pub(crate) fn weak(&self) -> Weak<Ec2> {
        self.me.clone()
    }
}

// ---------------------------------------------------------------- common input pieces

/// A tag specification of a Create call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagSpecification {
    /// The resource type the tags are for.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The tags of `specs` for resource type `kind`, validated.
pub(crate) fn spec_tags(specs: &[TagSpecification], kind: &str) -> Result<Vec<Tag>, AwsError> {
    let mut out = Vec::new();
    for s in specs {
        match s.resource_type.as_deref() {
            Some(t) if t == kind => out.extend(s.tags.iter().cloned()),
            Some(t) => {
                return Err(invalid_value(format!(
                    "'{t}' is not a valid taggable resource type for this operation."
                )));
            }
            None => {
                return Err(AwsError::bad_request(
                    "InvalidParameterValue",
                    "Tag specification resource type must have a value",
                ));
            }
        }
    }
    check_tags(&out)?;
    Ok(out)
}

/// AWS's tag rules: at most 50, keys 1..=128 characters not starting with `aws:`, values up
/// to 256 characters, no duplicate keys.
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(AwsError::bad_request(
            "TagLimitExceeded",
            "The maximum number of tags for a resource has been reached.",
        ));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(invalid_value(format!(
                "Tag key '{}' must be 1 to 128 characters",
                t.key
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_value(
                "Tag keys starting with 'aws:' are reserved for internal use",
            ));
        }
        if t.value.chars().count() > 256 {
            return Err(invalid_value(format!(
                "Tag value for key '{}' must be at most 256 characters",
                t.key
            )));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(invalid_value(format!(
                "Duplicate tag key '{}' specified.",
                t.key
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- ids and errors

/// A new resource id: `prefix-` and 17 hex digits, as AWS makes them.
pub(crate) fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 9];
    let _ = aws_lc_rs::rand::fill(&mut b);
    let hex = hex::encode(b);
    format!("{prefix}-{}", &hex[..17])
}

/// The ARN resource type of an id, by its prefix.
pub(crate) fn kind_of(id: &str) -> Option<&'static str> {
    let prefix = id.split('-').next()?;
    Some(match prefix {
        "vpc" => "vpc",
        "subnet" => "subnet",
        "sg" => "security-group",
        "sgr" => "security-group-rule",
        "rtb" => "route-table",
        "igw" => "internet-gateway",
        "nat" => "natgateway",
        "acl" => "network-acl",
        "vpce" => "vpc-endpoint",
        "fl" => "vpc-flow-log",
        "eni" => "network-interface",
        _ => return None,
    })
}

pub(crate) fn invalid_value(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameterValue", message)
}

pub(crate) fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidParameter", message)
}

pub(crate) fn missing(name: &str) -> AwsError {
    AwsError::bad_request(
        "MissingParameter",
        format!("The request must contain the parameter {name}"),
    )
}

pub(crate) fn dependency(message: impl Into<String>) -> AwsError {
    AwsError::bad_request("DependencyViolation", message)
}

pub(crate) fn dry_run() -> AwsError {
    AwsError::new(
        "DryRunOperation",
        412,
        "Request would have succeeded, but DryRun flag is set.",
    )
}

/// AWS's error for an id that names nothing.
pub(crate) fn not_found(id: &str) -> AwsError {
    let (code, message) = match kind_of(id) {
        Some("vpc") => (
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        ),
        Some("subnet") => (
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        ),
        Some("security-group") => (
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        ),
        Some("security-group-rule") => (
            "InvalidSecurityGroupRuleId.NotFound",
            format!("The security group rule ID '{id}' does not exist"),
        ),
        Some("route-table") => (
            "InvalidRouteTableID.NotFound",
            format!("The routeTable ID '{id}' does not exist"),
        ),
        Some("internet-gateway") => (
            "InvalidInternetGatewayID.NotFound",
            format!("The internetGateway ID '{id}' does not exist"),
        ),
        Some("natgateway") => (
            "NatGatewayNotFound",
            format!("The Nat Gateway {id} was not found"),
        ),
        Some("network-acl") => (
            "InvalidNetworkAclID.NotFound",
            format!("The networkAcl ID '{id}' does not exist"),
        ),
        Some("vpc-endpoint") => (
            "InvalidVpcEndpointId.NotFound",
            format!("The Vpc Endpoint Id '{id}' does not exist"),
        ),
        Some("vpc-flow-log") => (
            "InvalidFlowLogId.NotFound",
            format!("Flow log '{id}' does not exist"),
        ),
        Some("network-interface") => (
            "InvalidNetworkInterfaceID.NotFound",
            format!("The networkInterface ID '{id}' does not exist"),
        ),
        _ => ("InvalidID", format!("The ID '{id}' is not valid")),
    };
    AwsError::bad_request(code, message)
}

/// Checks that `id` looks like an id of `kind` (`vpc`, `subnet`...): AWS's `.Malformed` error.
pub(crate) fn expect_kind(id: &str, kind: &str) -> Result<(), AwsError> {
    if kind_of(id) == Some(kind) && id.len() > id.find('-').map_or(0, |i| i + 1) {
        return Ok(());
    }
    let code = match kind {
        "vpc" => "InvalidVpcID.Malformed",
        "subnet" => "InvalidSubnetID.Malformed",
        "security-group" => "InvalidGroupId.Malformed",
        "route-table" => "InvalidRouteTableId.Malformed",
        "internet-gateway" => "InvalidInternetGatewayId.Malformed",
        "network-acl" => "InvalidNetworkAclId.Malformed",
        "vpc-endpoint" => "InvalidVpcEndpointId.Malformed",
        "network-interface" => "InvalidNetworkInterfaceId.Malformed",
        "vpc-flow-log" => "InvalidFlowLogId.Malformed",
        _ => "InvalidParameterValue",
    };
    Err(AwsError::bad_request(code, format!("Invalid id: \"{id}\"")))
}

/// Epoch seconds of the request.
pub(crate) fn now_secs(call: &Call) -> f64 {
    call.now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_kinds() {
        let id = new_id("vpc");
        assert_eq!(id.len(), "vpc-".len() + 17);
        assert_eq!(kind_of(&id), Some("vpc"));
        assert_eq!(kind_of("sg-0123"), Some("security-group"));
        assert_eq!(kind_of("i-123"), None);
        assert!(expect_kind("vpc-1", "vpc").is_ok());
        assert_eq!(
            expect_kind("subnet-1", "vpc")
                .err()
                .map(|e| e.code.to_string())
                .as_deref(),
            Some("InvalidVpcID.Malformed")
        );
        assert!(expect_kind("vpc-", "vpc").is_err());
        assert_eq!(not_found("vpc-9").code, "InvalidVpcID.NotFound");
    }

    #[test]
    fn tag_rules() {
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(check_tags(&[t("Name", "x"), t("env", "")]).is_ok());
        assert!(check_tags(&[t("aws:x", "y")]).is_err());
        assert!(check_tags(&[t("", "y")]).is_err());
        assert!(check_tags(&[t("a", "1"), t("a", "2")]).is_err());
        let specs = vec![TagSpecification {
            resource_type: Some("vpc".into()),
            tags: vec![t("Name", "n")],
        }];
        assert_eq!(spec_tags(&specs, "vpc").map(|v| v.len()).ok(), Some(1));
        assert!(spec_tags(&specs, "subnet").is_err());
    }

    #[test]
    fn model_loads_and_every_operation_is_in_it() {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let logs = logs::Logs::open(&store, &config).expect("logs");
        let ec2 = Ec2::open(&store, &config, logs).expect("ec2");
        let def = ec2.service_def();
        assert_eq!(def.signing_name, "ec2");
        for op in [
            "CreateVpc",
            "CreateVpcEndpoint",
            "CreateFlowLogs",
            "DescribeSecurityGroupRules",
        ] {
            assert!(def.implements(op), "{op}");
        }
    }
}
