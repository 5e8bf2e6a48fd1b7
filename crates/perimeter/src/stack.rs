//! Every service, wired to one gateway.

use std::sync::Arc;

/// The services of one Perimeter instance.
pub struct Stack {
    /// IAM and STS: the credential directory.
    pub iam: Arc<iam::Iam>,
    /// CloudTrail: lookups over the audit trail.
    pub cloudtrail: Arc<cloudtrail::CloudTrail>,
    /// KMS: keys, key policies, grants and envelope encryption.
    pub kms: Arc<kms::Kms>,
    /// SSM Parameter Store.
    pub ssm: Arc<ssm::Ssm>,
    /// S3: buckets and encrypted objects; S3 Control's access points.
    pub s3: Arc<s3::S3>,
    /// Organizations: accounts, OUs, SCPs and RCPs; the gateway's organization directory.
    pub organizations: Arc<organizations::Organizations>,
    /// CloudWatch Logs: log groups, streams and events (flow logs land here).
    pub logs: Arc<logs::Logs>,
    /// EC2 VPC: VPCs, security groups, VPC endpoints (listeners) and flow logs.
    pub ec2: Arc<ec2::Ec2>,
    /// SageMaker: Studio domains and sign-in, jobs, models, endpoints, notebook instances.
    pub sagemaker: Arc<sagemaker::SageMaker>,
    /// CloudFormation: stacks whose resources are made through the services above.
    pub cloudformation: Arc<cloudformation::CloudFormation>,
}

impl Stack {
    /// Opens every service over the store.
    pub fn open(store: &storage::Store, config: &gateway::Config) -> Result<Stack, storage::Error> {
        let iam = iam::Iam::open(store, config)?;
        let kms = kms::Kms::open(store, config)?;
        let ssm = ssm::Ssm::open(store, config, kms.clone())?;
        let s3 = s3::S3::open(store, config, kms.clone())?;
        let organizations = organizations::Organizations::open(store, config, iam.clone())?;
        let logs = logs::Logs::open(store, config)?;
        let ec2 = ec2::Ec2::open(store, config, logs.clone())?;
        s3.set_vpc_directory(ec2.clone());
        let sagemaker =
            sagemaker::SageMaker::open(store, config, iam.clone(), kms.clone(), ec2.clone())?;
        let cloudformation = cloudformation::CloudFormation::open(
            store,
            config,
            cloudformation::Services {
                iam: iam.clone(),
                kms: kms.clone(),
                s3: s3.clone(),
                ec2: ec2.clone(),
                logs: logs.clone(),
                ssm: ssm.clone(),
                sagemaker: sagemaker.clone(),
            },
        )?;
        Ok(Stack {
            iam,
            cloudtrail: cloudtrail::CloudTrail::new(),
            kms,
            ssm,
            s3,
            organizations,
            logs,
            ec2,
            sagemaker,
            cloudformation,
        })
    }

    /// The gateway serving every service.
    pub fn gateway(&self, store: storage::Store, config: gateway::Config) -> gateway::Gateway {
        let mut builder = gateway::GatewayBuilder::new(config, store, self.iam.clone());
        for def in self.iam.service_defs() {
            builder = builder.service(def);
        }
        builder = builder.service(self.cloudtrail.service_def());
        builder = builder.service(self.kms.service_def());
        builder = builder.service(self.ssm.service_def());
        builder = builder.service(self.s3.service_def());
        builder = builder.service(self.s3.control_service_def());
        builder = builder.service(self.organizations.service_def());
        builder = builder.service(self.logs.service_def());
        builder = builder.service(self.ec2.service_def());
        builder = builder.service(self.sagemaker.service_def());
        builder = builder.service(self.cloudformation.service_def());
        let gateway = builder.build();
        gateway.set_organizations(self.organizations.clone());
        gateway
    }

    /// Starts what runs beside the listeners (endpoints restored, background work).
    pub async fn start(&self, gateway: &gateway::Gateway) -> Result<(), String> {
        self.ec2.restore_endpoints(gateway).await;
        self.ec2.deliver_to_s3(gateway.clone(), self.s3.clone());
        self.sagemaker.install(gateway);
        Ok(())
    }

    /// Work to finish before the process exits: buffered flow-log records go out.
    pub async fn stop(&self) {
        self.ec2.flush_s3().await;
    }
}
