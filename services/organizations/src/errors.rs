//! Organizations' error codes, with AWS's messages.

use gateway::AwsError;

fn e(code: &'static str, message: impl Into<String>) -> AwsError {
    AwsError::bad_request(code, message)
}

pub fn not_in_use() -> AwsError {
    e(
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
    )
}

pub fn management_only() -> AwsError {
    e(
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

pub fn already_in_organization() -> AwsError {
    e(
        "AlreadyInOrganizationException",
        "The AWS account is already a member of an organization.",
    )
}

pub fn organization_not_empty() -> AwsError {
    e(
        "OrganizationNotEmptyException",
        "To delete an organization you must first remove all member accounts (except the master).",
    )
}

pub fn account_not_found() -> AwsError {
    e(
        "AccountNotFoundException",
        "You specified an account that doesn't exist.",
    )
}

pub fn ou_not_found() -> AwsError {
    e(
        "OrganizationalUnitNotFoundException",
        "You specified an organizational unit that doesn't exist.",
    )
}

pub fn parent_not_found() -> AwsError {
    e(
        "ParentNotFoundException",
        "We can't find a root or OU with the ParentId that you specified.",
    )
}

pub fn child_not_found() -> AwsError {
    e(
        "ChildNotFoundException",
        "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
    )
}

pub fn root_not_found() -> AwsError {
    e(
        "RootNotFoundException",
        "We can't find a root with the RootId that you specified.",
    )
}

pub fn source_parent_not_found() -> AwsError {
    e(
        "SourceParentNotFoundException",
        "We can't find a source root or OU with the ParentId that you specified.",
    )
}

pub fn destination_parent_not_found() -> AwsError {
    e(
        "DestinationParentNotFoundException",
        "We can't find the destination container (a root or OU) with the ParentId that you specified.",
    )
}

pub fn duplicate_account() -> AwsError {
    e(
        "DuplicateAccountException",
        "That account is already present in the specified destination.",
    )
}

pub fn duplicate_ou() -> AwsError {
    e(
        "DuplicateOrganizationalUnitException",
        "An OU with the same name already exists.",
    )
}

pub fn ou_not_empty() -> AwsError {
    e(
        "OrganizationalUnitNotEmptyException",
        "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.",
    )
}

pub fn policy_not_found() -> AwsError {
    e(
        "PolicyNotFoundException",
        "We can't find a policy with the PolicyId that you specified.",
    )
}

pub fn target_not_found() -> AwsError {
    e(
        "TargetNotFoundException",
        "We can't find a root, OU, or account with the TargetId that you specified.",
    )
}

pub fn duplicate_attachment() -> AwsError {
    e(
        "DuplicatePolicyAttachmentException",
        "The selected policy is already attached to the specified target.",
    )
}

pub fn not_attached() -> AwsError {
    e(
        "PolicyNotAttachedException",
        "The policy isn't attached to the specified target in the specified root.",
    )
}

pub fn duplicate_policy() -> AwsError {
    e(
        "DuplicatePolicyException",
        "A policy with the same name already exists.",
    )
}

pub fn policy_in_use() -> AwsError {
    e(
        "PolicyInUseException",
        "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.",
    )
}

pub fn type_not_enabled() -> AwsError {
    e(
        "PolicyTypeNotEnabledException",
        "This operation can be performed only for enabled policy types.",
    )
}

pub fn type_already_enabled() -> AwsError {
    e(
        "PolicyTypeAlreadyEnabledException",
        "The specified policy type is already enabled.",
    )
}

pub fn type_not_available() -> AwsError {
    e(
        "PolicyTypeNotAvailableForOrganizationException",
        "You can't use the specified policy type with the feature set currently enabled for this organization. Perimeter models only SERVICE_CONTROL_POLICY and RESOURCE_CONTROL_POLICY.",
    )
}

pub fn status_not_found() -> AwsError {
    e(
        "CreateAccountStatusNotFoundException",
        "We can't find an create account request with the CreateAccountRequestId that you specified.",
    )
}

pub fn constraint(message: impl Into<String>) -> AwsError {
    e("ConstraintViolationException", message)
}

pub fn invalid_input(message: impl Into<String>) -> AwsError {
    e("InvalidInputException", message)
}

pub fn invalid_pattern() -> AwsError {
    invalid_input("You provided a value that does not match the required pattern.")
}

pub fn malformed(message: impl Into<String>) -> AwsError {
    e("MalformedPolicyDocumentException", message)
}
