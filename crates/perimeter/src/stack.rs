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
    /// S3: buckets and encrypted objects.
    pub s3: Arc<s3::S3>,
}

impl Stack {
    /// Opens every service over the store.
    pub fn open(store: &storage::Store, config: &gateway::Config) -> Result<Stack, storage::Error> {
        let iam = iam::Iam::open(store, config)?;
        let kms = kms::Kms::open(store, config)?;
        let s3 = s3::S3::open(store, config, kms.clone())?;
        Ok(Stack { iam, cloudtrail: cloudtrail::CloudTrail::new(), kms, s3 })
    }

    /// The gateway serving every service.
    pub fn gateway(&self, store: storage::Store, config: gateway::Config) -> gateway::Gateway {
        let mut builder = gateway::GatewayBuilder::new(config, store, self.iam.clone());
        for def in self.iam.service_defs() {
            builder = builder.service(def);
        }
        builder = builder.service(self.cloudtrail.service_def());
        builder = builder.service(self.kms.service_def());
        builder = builder.service(self.s3.service_def());
        builder.build()
    }

    /// Starts what runs beside the listeners (endpoints restored, background work).
    pub async fn start(&self, _gateway: &gateway::Gateway) -> Result<(), String> {
        Ok(())
    }
}
