//! Validation as SageMaker makes it before creating anything: names, the execution role
//! (it exists and trusts `sagemaker.amazonaws.com`), KMS keys (they exist), and networks
//! (subnets and security groups exist and share one VPC).

use std::sync::Arc;

use gateway::{AwsError, Call, Caller, Check};

use crate::errors::{pattern, validation};
use crate::{SERVICE_PRINCIPAL, SageMaker};

/// SageMaker's usual name pattern.
pub(crate) const NAME_PATTERN: &str = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";
/// The model name pattern.
pub(crate) const MODEL_PATTERN: &str = "^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?";

/// Checks `value` against SageMaker's name pattern (letters, digits and inner hyphens).
pub(crate) fn name(value: &str, member: &str, pat: &str) -> Result<(), AwsError> {
    let ok = value.len() <= 63
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(pattern(value, member, pat))
    }
}

/// The execution role `arn`: it must exist and trust `sagemaker.amazonaws.com`, which is
/// what SageMaker finds out when it assumes it.
pub(crate) fn role(svc: &SageMaker, call: &Call, arn: &str) -> Result<iam::RoleInfo, AwsError> {
    let cannot = || {
        validation(format!(
            "Could not assume role {arn}. Please ensure that the role exists and allows principal \
             '{SERVICE_PRINCIPAL}' to assume the role."
        ))
    };
    let info = svc.iam().role_info(arn).ok_or_else(cannot)?;
    let trust = info.trust_policy.clone().ok_or_else(cannot)?;
    let service = Arc::new(Caller::service(SERVICE_PRINCIPAL, &info.account));
    let as_service = call.gateway().internal_call(service, "sts");
    let check = Check::new("sts:AssumeRole", info.arn.clone())
        .owned_by(info.account.clone())
        .trust_policy(trust);
    if as_service.would_allow(&check) {
        Ok(info)
    } else {
        Err(cannot())
    }
}

/// The ARN of the KMS key `key` (id, ARN, alias name or alias ARN) in the caller's account.
pub(crate) fn kms_key(svc: &SageMaker, call: &Call, key: &str) -> Result<String, AwsError> {
    svc.kms()
        .resolve_key_arn(call.account(), key)
        .ok_or_else(|| {
            validation(format!(
                "Invalid KmsKeyId: {key}. The KMS key does not exist, is disabled or is pending deletion."
            ))
        })
}

/// Checks that every subnet and security group exists and that they share one VPC (`vpc`
/// when given); returns that VPC.
pub(crate) fn network(
    svc: &SageMaker,
    account: &str,
    subnets: &[String],
    groups: &[String],
    vpc: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let ec2 = svc.ec2();
    let mut found: Option<String> = vpc.map(str::to_string);
    if let Some(v) = vpc
        && !ec2.vpc_exists(account, v)
    {
        return Err(validation(format!("The VPC ID '{v}' does not exist")));
    }
    for s in subnets {
        let of = ec2
            .subnet_vpc(account, s)
            .ok_or_else(|| validation(format!("The subnet ID '{s}' does not exist")))?;
        match &found {
            Some(v) if *v != of => {
                return Err(validation(format!(
                    "Subnet {s} is not in VPC {v}. All subnets must belong to the same VPC."
                )));
            }
            Some(_) => {}
            None => found = Some(of),
        }
    }
    for g in groups {
        let of = ec2
            .security_group_vpc(account, g)
            .ok_or_else(|| validation(format!("The security group '{g}' does not exist")))?;
        match &found {
            Some(v) if *v != of => {
                return Err(validation(format!(
                    "Security group {g} is not in VPC {v}. Security groups must belong to the VPC of the subnets."
                )));
            }
            Some(_) => {}
            None => found = Some(of),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_sagemakers_pattern() {
        for ok in ["a", "job-1", "A--b", "x9"] {
            assert!(name(ok, "trainingJobName", NAME_PATTERN).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a_b", "a b", "é", &"a".repeat(64)] {
            let e = name(bad, "trainingJobName", NAME_PATTERN).unwrap_err();
            assert_eq!(e.code, "ValidationException");
            assert!(e.message.contains("at 'trainingJobName'"), "{}", e.message);
        }
    }
}
