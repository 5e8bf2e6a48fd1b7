//! Who is calling.

use crate::context::{Context, Value};

/// The kind of caller. The engine uses it to decide which policy types apply (identity policies,
/// boundaries and session policies apply to IAM principals; SCPs to principals of member accounts)
/// and how a resource-based policy's grant combines with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::ACCOUNT:root`). In its own account it is allowed
    /// whatever its identity policies say (it has none) unless something denies it; SCPs, RCPs,
    /// resource-policy denies, VPC endpoint policies and KMS key policies still apply.
    Root,
    /// An IAM user (`arn:aws:iam::ACCOUNT:user/path/name`).
    User,
    /// A role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    AssumedRole,
    /// A federated user session from `GetFederationToken` (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    FederatedUser,
    /// An AWS service principal such as `s3.amazonaws.com`.
    Service,
    /// A web-identity or SAML caller, matched by `"Principal": {"Federated": ...}` in trust policies.
    WebIdentity,
    /// An unauthenticated caller.
    Anonymous,
}

/// The caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    kind: PrincipalKind,
    arn: String,
    partition: String,
    account: String,
    name: String,
    unique_id: String,
    role_arn: String,
    role_id: String,
    user_arn: String,
    canonical_user: Option<String>,
    source_identity: Option<String>,
    tags: Vec<(String, String)>,
}

/// Splits an ARN into partition, service, region, account and resource.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    Some((it.next()?, it.next()?, it.next()?, it.next()?, it.next()?))
}

impl Principal {
    fn blank(kind: PrincipalKind) -> Self {
        Principal {
            kind,
            arn: String::new(),
            partition: "aws".to_owned(),
            account: String::new(),
            name: String::new(),
            unique_id: String::new(),
            role_arn: String::new(),
            role_id: String::new(),
            user_arn: String::new(),
            canonical_user: None,
            source_identity: None,
            tags: Vec::new(),
        }
    }

    /// The root user of `account` (a 12-digit account id).
    pub fn root(account: &str) -> Self {
        let mut p = Self::blank(PrincipalKind::Root);
        p.arn = format!("arn:aws:iam::{account}:root");
        p.account = account.to_owned();
        p.unique_id = account.to_owned();
        p
    }

    /// An IAM user: its ARN, unique id (`AIDA...`) and name.
    pub fn user(arn: &str, unique_id: &str, name: &str) -> Self {
        let mut p = Self::blank(PrincipalKind::User);
        p.set_arn(arn);
        p.unique_id = unique_id.to_owned();
        p.name = name.to_owned();
        p
    }

    /// A role session: the session ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`), the
    /// role's ARN (with its path), the role's unique id (`AROA...`) and the session name.
    pub fn assumed_role(
        session_arn: &str,
        role_arn: &str,
        role_id: &str,
        session_name: &str,
    ) -> Self {
        let mut p = Self::blank(PrincipalKind::AssumedRole);
        p.set_arn(session_arn);
        p.role_arn = role_arn.to_owned();
        p.role_id = role_id.to_owned();
        p.name = session_name.to_owned();
        p.unique_id = format!("{role_id}:{session_name}");
        p
    }

    /// A federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`) and the ARN of the
    /// IAM user who called `GetFederationToken`.
    pub fn federated_user(arn: &str, user_arn: &str) -> Self {
        let mut p = Self::blank(PrincipalKind::FederatedUser);
        p.set_arn(arn);
        p.name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        p.unique_id = format!("{}:{}", p.account, p.name);
        p.user_arn = user_arn.to_owned();
        p
    }

    /// An AWS service principal such as `s3.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        let mut p = Self::blank(PrincipalKind::Service);
        p.arn = name.to_owned();
        p.name = name.to_owned();
        p
    }

    /// A web-identity or SAML caller authenticated by `provider` (for example
    /// `cognito-identity.amazonaws.com` or `arn:aws:iam::ACCOUNT:saml-provider/NAME`).
    pub fn web_identity(provider: &str) -> Self {
        let mut p = Self::blank(PrincipalKind::WebIdentity);
        p.arn = provider.to_owned();
        p.name = provider.to_owned();
        if let Some((part, _, _, acct, _)) = arn_parts(provider) {
            p.partition = part.to_owned();
            p.account = acct.to_owned();
        }
        p
    }

    /// An unauthenticated caller.
    pub fn anonymous() -> Self {
        let mut p = Self::blank(PrincipalKind::Anonymous);
        p.arn = "anonymous".to_owned();
        p.unique_id = "anonymous".to_owned();
        p
    }

    /// Reads a principal from its ARN (or `anonymous`, `*`, a bare account id, or a service name
    /// such as `s3.amazonaws.com`). Unique ids that an ARN does not carry are derived from it
    /// (`AIDA`/`AROA` followed by the name in upper case); a role session's role ARN is taken to
    /// have no path.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let arn = arn.trim();
        if arn.is_empty() {
            return None;
        }
        if arn == "anonymous" || arn == "*" {
            return Some(Self::anonymous());
        }
        if arn.len() == 12 && arn.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::root(arn));
        }
        let Some((partition, service, _, account, resource)) = arn_parts(arn) else {
            if arn.ends_with(".amazonaws.com") || arn.ends_with(".amazonaws.com.cn") {
                return Some(Self::service(arn));
            }
            return None;
        };
        let mut p = match (service, resource) {
            ("iam", "root") => Self::root(account),
            ("iam", r) if r.starts_with("user/") => {
                let name = r.rsplit('/').next().unwrap_or_default();
                Self::user(arn, &format!("AIDA{}", name.to_ascii_uppercase()), name)
            }
            ("iam", r) if r.starts_with("saml-provider/") || r.starts_with("oidc-provider/") => {
                Self::web_identity(arn)
            }
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut it = r["assumed-role/".len()..].splitn(2, '/');
                let role = it.next().unwrap_or_default();
                let session = it.next()?;
                let role_arn = format!("arn:{partition}:iam::{account}:role/{role}");
                let role_id = format!("AROA{}", role.to_ascii_uppercase());
                Self::assumed_role(arn, &role_arn, &role_id, session)
            }
            ("sts", r) if r.starts_with("federated-user/") => {
                let name = &r["federated-user/".len()..];
                Self::federated_user(arn, &format!("arn:{partition}:iam::{account}:user/{name}"))
            }
            _ => return None,
        };
        p.partition = partition.to_owned();
        Some(p)
    }

    fn set_arn(&mut self, arn: &str) {
        self.arn = arn.to_owned();
        if let Some((part, _, _, acct, _)) = arn_parts(arn) {
            self.partition = part.to_owned();
            self.account = acct.to_owned();
        }
    }

    /// Adds a principal tag (`aws:PrincipalTag/KEY`).
    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        self.tags.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Sets the source identity (`aws:SourceIdentity`).
    pub fn with_source_identity(mut self, id: &str) -> Self {
        self.source_identity = Some(id.to_owned());
        self
    }

    /// Sets the S3 canonical user id, matched by `"Principal": {"CanonicalUser": ...}`.
    pub fn with_canonical_user(mut self, id: &str) -> Self {
        self.canonical_user = Some(id.to_owned());
        self
    }

    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }
    /// The principal's ARN; `anonymous` for anonymous callers; the service name for services.
    pub fn arn(&self) -> &str {
        &self.arn
    }
    /// The 12-digit account id; empty for services and anonymous callers.
    pub fn account(&self) -> &str {
        &self.account
    }
    pub fn partition(&self) -> &str {
        &self.partition
    }
    /// User name, role session name or federated user name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The `aws:userid` value: `AIDA...` for users, `AROA...:session` for role sessions,
    /// `ACCOUNT:name` for federated users, the account id for the root user.
    pub fn unique_id(&self) -> &str {
        &self.unique_id
    }
    /// For a role session, the role's ARN.
    pub fn role_arn(&self) -> &str {
        &self.role_arn
    }
    /// For a role session, the role's unique id (`AROA...`).
    pub fn role_id(&self) -> &str {
        &self.role_id
    }
    /// For a federated user, the IAM user who federated.
    pub fn user_arn(&self) -> &str {
        &self.user_arn
    }
    pub fn canonical_user(&self) -> Option<&str> {
        self.canonical_user.as_deref()
    }
    pub fn source_identity(&self) -> Option<&str> {
        self.source_identity.as_deref()
    }
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// Whether this is an IAM principal of an account (root, user, role session, federated user).
    pub fn is_iam(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::AssumedRole
                | PrincipalKind::FederatedUser
        )
    }

    /// The `aws:PrincipalArn` value: the role's ARN for a role session, else the principal's ARN.
    pub fn principal_arn(&self) -> &str {
        match self.kind {
            PrincipalKind::AssumedRole => &self.role_arn,
            _ => &self.arn,
        }
    }

    /// The global condition keys AWS derives from the caller: `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`, `aws:username` (users only),
    /// `aws:PrincipalTag/*`, `aws:SourceIdentity`, `aws:PrincipalServiceName`,
    /// `aws:PrincipalIsAWSService`.
    pub fn context_keys(&self) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        let mut put = |k: &str, v: &str| out.push((k.to_owned(), Value::Single(v.to_owned())));
        match self.kind {
            PrincipalKind::Service => {
                put("aws:PrincipalServiceName", &self.name);
                put("aws:PrincipalIsAWSService", "true");
            }
            PrincipalKind::Anonymous => {
                put("aws:PrincipalType", "Anonymous");
                put("aws:userid", "anonymous");
                put("aws:PrincipalIsAWSService", "false");
            }
            PrincipalKind::WebIdentity => {
                put("aws:PrincipalIsAWSService", "false");
            }
            _ => {
                put("aws:PrincipalArn", self.principal_arn());
                put("aws:PrincipalAccount", &self.account);
                let t = match self.kind {
                    PrincipalKind::Root => "Account",
                    PrincipalKind::User => "User",
                    PrincipalKind::AssumedRole => "AssumedRole",
                    _ => "FederatedUser",
                };
                put("aws:PrincipalType", t);
                put("aws:userid", &self.unique_id);
                if self.kind == PrincipalKind::User {
                    put("aws:username", &self.name);
                }
                put("aws:PrincipalIsAWSService", "false");
            }
        }
        if let Some(s) = &self.source_identity {
            put("aws:SourceIdentity", s);
        }
        for (k, v) in &self.tags {
            out.push((format!("aws:PrincipalTag/{k}"), Value::Single(v.clone())));
        }
        out
    }
}

impl Context {
    /// Adds the keys [`Principal::context_keys`] derives from `principal`, leaving keys already
    /// present untouched.
    pub fn add_principal_keys(&mut self, principal: &Principal) {
        for (k, v) in principal.context_keys() {
            if !self.contains(&k) {
                self.insert(k, v);
            }
        }
    }
}
