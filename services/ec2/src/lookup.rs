//! Read-only lookups for other services' validation (SageMaker checks that a domain's
//! subnets belong to its VPC, that its security groups exist, and finds the VPC's
//! endpoints). Nothing here authorizes or changes state.

use crate::Ec2;
use crate::endpoint::endpoint_service;

/// A VPC endpoint as other services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointView {
    /// `vpce-...`.
    pub id: String,
    /// `com.amazonaws.us-east-1.s3`, `aws.sagemaker.us-east-1.studio`...
    pub service_name: String,
    /// The signing name of the service it serves (`s3`, `sagemaker`, `studio`...).
    pub signing_name: String,
    /// Its listener, `127.0.0.1:PORT` (`DnsEntries[0].DnsName`); `None` when not listening.
    pub address: Option<String>,
}

impl Ec2 {
    /// Whether VPC `vpc_id` exists in `account`.
    pub fn vpc_exists(&self, account: &str, vpc_id: &str) -> bool {
        self.read(|st| Ok(st.acct(account).vpcs.contains_key(vpc_id)))
            .unwrap_or(false)
    }

    /// The VPC of subnet `subnet_id` in `account`, if the subnet exists.
    pub fn subnet_vpc(&self, account: &str, subnet_id: &str) -> Option<String> {
        self.read(|st| {
            Ok(st
                .acct(account)
                .subnets
                .get(subnet_id)
                .map(|s| s.vpc_id.clone()))
        })
        .ok()
        .flatten()
    }

    /// The VPC of security group `group_id` in `account`, if the group exists.
    pub fn security_group_vpc(&self, account: &str, group_id: &str) -> Option<String> {
        self.read(|st| {
            Ok(st
                .acct(account)
                .groups
                .get(group_id)
                .map(|g| g.vpc_id.clone()))
        })
        .ok()
        .flatten()
    }

    /// The endpoints of VPC `vpc_id` in `account`, by id.
    pub fn vpc_endpoints(&self, account: &str, vpc_id: &str) -> Vec<EndpointView> {
        let region = self.region().to_string();
        self.read(|st| {
            Ok(st
                .acct(account)
                .endpoints
                .values()
                .filter(|e| e.vpc_id == vpc_id)
                .map(|e| EndpointView {
                    id: e.id.clone(),
                    service_name: e.service_name.clone(),
                    signing_name: endpoint_service(&region, &e.service_name)
                        .map(|s| s.signing_name.to_string())
                        .unwrap_or_default(),
                    address: (e.port != 0).then(|| e.dns_name()),
                })
                .collect())
        })
        .unwrap_or_default()
    }
}

/// S3 validates an access point's `VpcConfiguration` against the VPCs here.
impl s3::VpcDirectory for Ec2 {
    fn vpc_exists(&self, account: &str, vpc_id: &str) -> bool {
        Ec2::vpc_exists(self, account, vpc_id)
    }
}
