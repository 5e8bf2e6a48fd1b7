//! Byte 0 is a page size, the rest a pagination token, given to every service that reads one
//! back from a client: the audit trail and CloudTrail's LookupEvents, Logs, SSM, Organizations,
//! IAM (and STS's encoded messages), EC2, SageMaker, KMS, CloudFormation and S3. AWS errors,
//! never a panic; from the first page every token a service returns is accepted back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cloudtrail::fuzzing::next_token(data);
    logs::fuzzing::next_token(data);
    ssm::fuzzing::next_token(data);
    organizations::fuzzing::next_token(data);
    iam::fuzzing::next_token(data);
    ec2::fuzzing::next_token(data);
    sagemaker::fuzzing::next_token(data);
    kms::fuzzing::next_token(data);
    cloudformation::fuzzing::next_token(data);
    s3::fuzzing::next_token(data);
});
