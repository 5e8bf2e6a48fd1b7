//! Who is calling: the authenticated caller and the directories the gateway
//! asks for credentials (IAM/STS) and organization policies (Organizations).

use std::sync::Arc;
use std::time::SystemTime;

use policy::{Policy, Principal};

use crate::error::AwsError;

/// The kind of identity, as CloudTrail's `userIdentity.type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityType {
    /// The account root user.
    Root,
    /// An IAM user.
    IamUser,
    /// A role session.
    AssumedRole,
    /// A federated user (`GetFederationToken`).
    FederatedUser,
    /// An AWS service principal acting on its own.
    AwsService,
    /// An unsigned request.
    Anonymous,
}

impl IdentityType {
    /// The CloudTrail `userIdentity.type` string.
    pub fn cloudtrail_name(self) -> &'static str {
        match self {
            IdentityType::Root => "Root",
            IdentityType::IamUser => "IAMUser",
            IdentityType::AssumedRole => "AssumedRole",
            IdentityType::FederatedUser => "FederatedUser",
            IdentityType::AwsService => "AWSService",
            IdentityType::Anonymous => "AnonymousUser",
        }
    }

    /// The `aws:PrincipalType` value.
    pub fn principal_type(self) -> &'static str {
        match self {
            IdentityType::Root => "Account",
            IdentityType::IamUser => "User",
            IdentityType::AssumedRole => "AssumedRole",
            IdentityType::FederatedUser => "FederatedUser",
            IdentityType::AwsService => "Service",
            IdentityType::Anonymous => "Anonymous",
        }
    }
}

/// The temporary-credential session behind a caller.
#[derive(Debug, Clone)]
pub struct Session {
    /// When the credentials were issued (`aws:TokenIssueTime`).
    pub issued_at: SystemTime,
    /// When they expire.
    pub expires_at: SystemTime,
    /// Whether MFA authenticated the session.
    pub mfa_authenticated: bool,
    /// When MFA authenticated, for `aws:MultiFactorAuthAge`.
    pub mfa_auth_time: Option<SystemTime>,
    /// `sts:SourceIdentity` carried by the session.
    pub source_identity: Option<String>,
    /// Session policies (inline `Policy` and `PolicyArns`); `None` when none were passed.
    pub policies: Option<Vec<Arc<Policy>>>,
    /// The role behind a role session: (ARN, name, unique id).
    pub role: Option<(String, String, String)>,
    /// Session tags (also part of the caller's principal tags).
    pub tags: Vec<(String, String)>,
    /// Transitive session tag keys.
    pub transitive_tag_keys: Vec<String>,
    /// The principal that created the session (for role chaining and audit).
    pub issuer_arn: Option<String>,
}

/// An authenticated caller with everything authorization needs.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The identity type.
    pub kind: IdentityType,
    /// The principal ARN (session ARN for role sessions).
    pub arn: String,
    /// The account the principal belongs to.
    pub account: String,
    /// `aws:userid`: AIDA… for users, `AROA…:session` for role sessions, the account id for root.
    pub principal_id: String,
    /// `aws:username`, for IAM users.
    pub user_name: Option<String>,
    /// The access key id that signed the request.
    pub access_key_id: Option<String>,
    /// The principal as the policy engine sees it.
    pub principal: Principal,
    /// Principal tags (`aws:PrincipalTag/*`): the user's or role's tags, then session tags.
    pub tags: Vec<(String, String)>,
    /// Identity-based policies (inline and attached, including groups').
    pub identity_policies: Vec<Arc<Policy>>,
    /// The permissions boundary, if any.
    pub boundary: Option<Arc<Policy>>,
    /// The session, for temporary credentials.
    pub session: Option<Arc<Session>>,
}

impl Caller {
    /// The anonymous caller of an unsigned request.
    pub fn anonymous() -> Caller {
        Caller {
            kind: IdentityType::Anonymous,
            arn: "anonymous".into(),
            account: String::new(),
            principal_id: "anonymous".into(),
            user_name: None,
            access_key_id: None,
            principal: Principal::anonymous(),
            tags: Vec::new(),
            identity_policies: Vec::new(),
            boundary: None,
            session: None,
        }
    }

    /// An AWS service principal (`sagemaker.amazonaws.com`) acting on its own in `account`.
    pub fn service(principal: &str, account: &str) -> Caller {
        Caller {
            kind: IdentityType::AwsService,
            arn: principal.to_string(),
            account: account.to_string(),
            principal_id: principal.to_string(),
            user_name: None,
            access_key_id: None,
            principal: Principal::service(principal),
            tags: Vec::new(),
            identity_policies: Vec::new(),
            boundary: None,
            session: None,
        }
    }

    /// Whether this is the root user of `account`.
    pub fn is_root_of(&self, account: &str) -> bool {
        self.kind == IdentityType::Root && self.account == account
    }
}

/// What a credential lookup returns: the secret to verify the signature with and the caller.
pub struct Credential {
    /// The secret access key.
    pub secret: Arc<str>,
    /// The caller the key authenticates; policies are current as of the lookup.
    pub caller: Arc<Caller>,
}

/// The credential directory (IAM and STS implement it).
pub trait Identities: Send + Sync {
    /// Looks up an access key. Unknown keys fail with `InvalidClientTokenId`; session
    /// credentials without (or with a wrong) token with `InvalidClientTokenId` or
    /// `UnrecognizedClientException`; expired ones with `ExpiredToken`.
    fn lookup(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: SystemTime,
    ) -> Result<Credential, AwsError>;
}

/// An account's place in an organization and the policies that reach it.
#[derive(Debug, Default, Clone)]
pub struct OrgAccount {
    /// `o-...`, for `aws:PrincipalOrgID` / `aws:ResourceOrgID`.
    pub org_id: String,
    /// `o-x/r-y/ou-z/` paths, for `aws:PrincipalOrgPaths`.
    pub paths: Vec<String>,
    /// The management account: SCPs and RCPs do not apply to it.
    pub management: bool,
    /// Service control policies by level, root → OUs → account.
    pub scps: Vec<Vec<Arc<Policy>>>,
    /// Resource control policies by level.
    pub rcps: Vec<Vec<Arc<Policy>>>,
}

/// The organization directory (Organizations implements it).
pub trait Organizations: Send + Sync {
    /// The account's organization facts; `None` outside any organization.
    fn account(&self, account: &str) -> Option<Arc<OrgAccount>>;
}
