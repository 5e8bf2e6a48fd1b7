//! STS: `GetCallerIdentity`, `AssumeRole` (trust policy, external id, session tags,
//! transitive tags, source identity, MFA, session policies), `GetSessionToken` (with real
//! TOTP checking), `GetFederationToken`, `GetAccessKeyInfo` and `DecodeAuthorizationMessage`.

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, IdentityType, ServiceDef};
use serde::{Deserialize, Serialize};

use crate::iam::{now, operation, tagged};
use crate::names::{self, Tag};
use crate::state::{Doc, Secret, Session, SessionDoc, SessionKind, State};
use crate::{Iam, crypto};

/// Registers the STS operations.
pub(crate) fn register(def: ServiceDef, svc: &Arc<Iam>) -> ServiceDef {
    def.operation::<GetCallerIdentity>(svc)
        .operation::<AssumeRole>(svc)
        .operation::<GetSessionToken>(svc)
        .operation::<GetFederationToken>(svc)
        .operation::<GetAccessKeyInfo>(svc)
        .operation::<DecodeAuthorizationMessage>(svc)
}

fn sts_validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", 400, message)
}

fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValue", 400, message)
}

fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new("AccessDenied", 403, message)
}

fn missing_authentication() -> AwsError {
    AwsError::new(
        "MissingAuthenticationToken",
        403,
        "Request is missing Authentication Token",
    )
}

/// `[\w+=,.@-]*` with a length range, as STS validates session names and source identities.
fn check_sts_name(value: &str, member: &str, min: usize, max: usize) -> Result<(), AwsError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(sts_validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
             Member must have length {}",
            if n < min {
                format!("greater than or equal to {min}")
            } else {
                format!("less than or equal to {max}")
            }
        )));
    }
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(sts_validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

/// `PolicyDescriptorType`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PolicyDescriptor {
    #[serde(rename = "arn")]
    pub arn: Option<String>,
}

/// `Credentials`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialsOut {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: u64,
}

/// Session policies and tags, checked and measured.
struct SessionInputs {
    policy: Option<Doc<SessionDoc>>,
    policy_arns: Vec<String>,
    packed_size: Option<u32>,
}

/// Checks session policies and tags as STS does and computes `PackedPolicySize` (percent of
/// the 2,048-character packed allowance).
fn session_inputs(
    iam: &Iam,
    st: &State,
    account: &str,
    policy: Option<&str>,
    arns: &[PolicyDescriptor],
    tags: &[Tag],
) -> Result<SessionInputs, AwsError> {
    if arns.len() > 10 {
        return Err(sts_validation(format!(
            "1 validation error detected: Value '{}' at 'policyArns' failed to satisfy constraint: \
             Member must have length less than or equal to 10",
            arns.len()
        )));
    }
    let mut policy_arns = Vec::with_capacity(arns.len());
    for d in arns {
        let arn = d.arn.clone().unwrap_or_default();
        if iam.managed(st, account, &arn).is_none() {
            return Err(invalid_parameter(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
        policy_arns.push(arn);
    }
    let doc = match policy {
        Some(text) => {
            if text.chars().count() > 2048 {
                return Err(sts_validation(
                    "1 validation error detected: Value at 'policy' failed to satisfy constraint: \
                     Member must have length less than or equal to 2048",
                ));
            }
            Some(Doc::<SessionDoc>::parse(text)?)
        }
        None => None,
    };
    let packed: usize = doc
        .as_ref()
        .map(|d| names::policy_size(&d.text))
        .unwrap_or(0)
        + policy_arns.iter().map(|a| a.len()).sum::<usize>()
        + tags
            .iter()
            .map(|t| t.key.len() + t.value.len() + 2)
            .sum::<usize>();
    let percent = (packed * 100).div_ceil(2048) as u32;
    if percent > 100 {
        return Err(AwsError::new(
            "PackedPolicyTooLarge",
            400,
            format!(
                "Packed policy consumes {percent}% of allotted space, please use smaller policy."
            ),
        ));
    }
    let given = doc.is_some() || !policy_arns.is_empty() || !tags.is_empty();
    Ok(SessionInputs {
        policy: doc,
        policy_arns,
        packed_size: given.then_some(percent),
    })
}

/// Session tags as STS validates them.
fn check_session_tags(tags: &[Tag], transitive: &[String]) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(sts_validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less \
             than or equal to 50",
        ));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.value.chars().count() > 256 {
            return Err(sts_validation(format!(
                "1 validation error detected: Value '{}' at 'tags.{}.member' failed to satisfy constraint: \
                 Tag keys must be 1 to 128 characters and values at most 256",
                t.key,
                i + 1
            )));
        }
        if tags[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            return Err(invalid_parameter(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    for k in transitive {
        if !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)) {
            return Err(invalid_parameter(format!(
                "The specified transitive tag key {k} must be included in the requested tags."
            )));
        }
    }
    Ok(())
}

/// New temporary credentials for `kind`, stored wrapped.
fn new_session(
    iam: &Iam,
    account: &str,
    kind: SessionKind,
    issued: u64,
    duration: u64,
    issuer: String,
) -> Result<Session, AwsError> {
    let id = crypto::access_key_id("ASIA");
    let keyring = iam.keyring();
    let secret = Secret::wrap(
        keyring,
        &crypto::secret_access_key(),
        &Session::secret_aad(&id),
    )
    .map_err(AwsError::internal)?;
    let token = Secret::wrap(keyring, &crypto::session_token(), &Session::token_aad(&id))
        .map_err(AwsError::internal)?;
    Ok(Session {
        access_key_id: id,
        account: account.to_string(),
        secret,
        token,
        kind,
        issued,
        expires: issued + duration,
        mfa_at: None,
        source_identity: None,
        policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        issuer,
    })
}

fn credentials(s: &Session) -> CredentialsOut {
    CredentialsOut {
        access_key_id: s.access_key_id.clone(),
        secret_access_key: s.secret.plain.to_string(),
        session_token: s.token.plain.to_string(),
        expiration: s.expires,
    }
}

/// Stores `session`, dropping sessions that expired more than
/// [`crate::state::EXPIRED_SESSION_RETENTION`] seconds ago.
fn store_session(st: &mut State, batch: &mut storage::Batch, session: Session, now: u64) {
    let expired: Vec<String> = st
        .sessions
        .values()
        .filter(|s| s.expires + crate::state::EXPIRED_SESSION_RETENTION <= now)
        .map(|s| s.access_key_id.clone())
        .collect();
    for id in expired {
        st.sessions.remove(&id);
        batch.delete::<Session>(&id);
    }
    batch.put(&session);
    st.sessions.insert(session.access_key_id.clone(), session);
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct GetCallerIdentity {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetCallerIdentityResponse {
    pub user_id: String,
    pub account: String,
    pub arn: String,
}

impl GetCallerIdentity {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        if call.caller.kind == IdentityType::Anonymous {
            return Err(missing_authentication());
        }
        Ok(Authorization::none_required())
    }

    async fn run(self, _: &Iam, call: &Call) -> Result<GetCallerIdentityResponse, AwsError> {
        let c = &call.caller;
        Ok(GetCallerIdentityResponse {
            user_id: c.principal_id.clone(),
            account: c.account.clone(),
            arn: c.arn.clone(),
        })
    }
}
operation!(GetCallerIdentity -> GetCallerIdentityResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRole {
    pub role_arn: String,
    pub role_session_name: String,
    #[serde(default)]
    pub policy_arns: Vec<PolicyDescriptor>,
    pub policy: Option<String>,
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    pub external_id: Option<String>,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
    pub source_identity: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumedRoleUserOut {
    pub assumed_role_id: String,
    pub arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleResponse {
    pub credentials: CredentialsOut,
    pub assumed_role_user: AssumedRoleUserOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

/// The caller's inherited transitive session tags (role chaining).
fn inherited_transitive(call: &Call) -> (Vec<Tag>, Vec<String>) {
    let Some(s) = &call.caller.session else {
        return (Vec::new(), Vec::new());
    };
    let tags = s
        .tags
        .iter()
        .filter(|(k, _)| {
            s.transitive_tag_keys
                .iter()
                .any(|t| t.eq_ignore_ascii_case(k))
        })
        .map(|(k, v)| Tag {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    (tags, s.transitive_tag_keys.clone())
}

impl AssumeRole {
    /// Verifies the MFA code when one is given; returns whether MFA authenticated the call.
    fn mfa(&self, svc: &Iam, call: &Call) -> Result<bool, AwsError> {
        match (&self.serial_number, &self.token_code) {
            (None, None) => Ok(false),
            (Some(serial), Some(code)) => {
                let user = match call.caller.kind {
                    IdentityType::IamUser => call.caller.user_name.as_deref(),
                    _ => None,
                };
                svc.verify_mfa(&call.caller.account, user, serial, code, now(call))?;
                Ok(true)
            }
            _ => Err(access_denied(
                "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
            )),
        }
    }

    fn checks(&self, svc: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        if call.caller.kind == IdentityType::Root {
            // AWS refuses this before evaluating any policy.
            return Err(access_denied("Roles may not be assumed by root accounts."));
        }
        check_sts_name(&self.role_session_name, "roleSessionName", 2, 64)?;
        if let Some(si) = &self.source_identity {
            check_sts_name(si, "sourceIdentity", 2, 64)?;
        }
        if let Some(e) = &self.external_id
            && (e.chars().count() < 2 || e.chars().count() > 1224)
        {
            return Err(sts_validation(format!(
                "1 validation error detected: Value '{e}' at 'externalId' failed to satisfy constraint: \
                 Member must have length between 2 and 1224"
            )));
        }
        check_session_tags(&self.tags, &self.transitive_tag_keys)?;
        let mfa = self.mfa(svc, call)?;
        let role = svc.role_info(&self.role_arn);
        let (inherited, _) = inherited_transitive(call);
        let role_account = names::parse_iam_arn(&self.role_arn).map(|p| p.account.to_string());
        let mut base = Check::new("sts:AssumeRole", self.role_arn.clone())
            .with("sts:RoleSessionName", self.role_session_name.clone())
            .with_opt("sts:ExternalId", self.external_id.clone())
            .with_opt("sts:SourceIdentity", self.source_identity.clone());
        if let Some(a) = role_account {
            base = base.owned_by(a);
        }
        if let Some(r) = &role {
            let tags: Vec<Tag> = r
                .tags
                .iter()
                .map(|(k, v)| Tag {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect();
            base = tagged(base, &tags);
            if let Some(t) = &r.trust_policy {
                base = base.trust_policy(t.clone());
            }
        }
        if mfa {
            base = base
                .with("aws:MultiFactorAuthPresent", true)
                .with("aws:MultiFactorAuthAge", 0i64);
        }
        // Inherited transitive tags are passed to the new session like requested ones.
        let mut pairs = names::tag_pairs(&inherited);
        pairs.extend(names::tag_pairs(&self.tags));
        base = base.request_tags(&pairs, None);
        if !self.transitive_tag_keys.is_empty() {
            base = base.with("sts:TransitiveTagKeys", self.transitive_tag_keys.clone());
        }
        let mut checks = vec![base.clone()];
        if !self.tags.is_empty() || !inherited.is_empty() {
            let mut c = base.clone();
            c.action = "sts:TagSession".into();
            checks.push(c);
        }
        if self.source_identity.is_some() {
            let mut c = base;
            c.action = "sts:SetSourceIdentity".into();
            checks.push(c);
        }
        Ok(Authorization::all(checks))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<AssumeRoleResponse, AwsError> {
        let issued = now(call);
        let mfa = self.mfa(svc, call)?;
        let caller = call.caller.clone();
        let chaining = caller.kind == IdentityType::AssumedRole;
        let (inherited, inherited_keys) = inherited_transitive(call);
        for t in &self.tags {
            if inherited.iter().any(|i| i.key.eq_ignore_ascii_case(&t.key)) {
                return Err(invalid_parameter(format!(
                    "Tag key {} conflicts with a transitive session tag of the calling session.",
                    t.key
                )));
            }
        }
        let inherited_source = caller
            .session
            .as_ref()
            .and_then(|s| s.source_identity.clone());
        if let (Some(old), Some(new)) = (&inherited_source, &self.source_identity)
            && old != new
        {
            return Err(access_denied(format!(
                "User: {} is not authorized to perform: sts:SetSourceIdentity on resource: {}: the source identity \
                 of a chained session cannot be changed",
                caller.arn, self.role_arn
            )));
        }
        let region = svc.region().to_string();
        svc.write(call, false, move |st, batch| {
            let denied = || {
                access_denied(format!(
                    "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                    caller.arn, self.role_arn
                ))
            };
            let parsed = names::parse_iam_arn(&self.role_arn).filter(|p| p.kind == "role").ok_or_else(denied)?;
            let account = parsed.account.to_string();
            let acct = st.accounts.get(&account).ok_or_else(denied)?;
            let role = acct.roles.get(&parsed.name.to_lowercase()).filter(|r| r.path == parsed.path).ok_or_else(denied)?;
            let limit = if chaining { 3600 } else { u64::from(role.max_session) };
            let duration = match self.duration_seconds {
                None => 3600.min(limit),
                Some(d) if chaining && d > 3600 => {
                    return Err(sts_validation(
                        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                    ));
                }
                Some(d) if d as u64 > limit => {
                    return Err(sts_validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role."));
                }
                Some(d) => d.max(900) as u64,
            };
            let mut tags = inherited.clone();
            tags.extend(self.tags.iter().cloned());
            let inputs = session_inputs(svc, st, &account, self.policy.as_deref(), &self.policy_arns, &self.tags)?;
            let role_name = role.name.clone();
            let role_id = role.id.clone();
            let role_arn = role.arn();
            let mut transitive = inherited_keys.clone();
            for k in &self.transitive_tag_keys {
                if !transitive.iter().any(|t| t.eq_ignore_ascii_case(k)) {
                    transitive.push(k.clone());
                }
            }
            let kind = SessionKind::Role {
                role_name: role_name.clone(),
                role_id: role_id.clone(),
                role_arn,
                session_name: self.role_session_name.clone(),
            };
            let mut session = new_session(svc, &account, kind, issued, duration, caller.arn.clone())?;
            session.mfa_at = mfa.then_some(issued);
            session.source_identity = self.source_identity.clone().or(inherited_source);
            session.policy = inputs.policy;
            session.policy_arns = inputs.policy_arns;
            session.tags = tags;
            session.transitive_tag_keys = transitive;
            let out = AssumeRoleResponse {
                credentials: credentials(&session),
                assumed_role_user: AssumedRoleUserOut {
                    assumed_role_id: format!("{role_id}:{}", self.role_session_name),
                    arn: session.arn(),
                },
                packed_policy_size: inputs.packed_size,
                source_identity: session.source_identity.clone(),
            };
            if let Some(role) = st.accounts.get_mut(&account).and_then(|a| a.roles.get_mut(&role_name.to_lowercase())) {
                role.last_used = Some((issued, region));
                batch.put(&*role);
            }
            store_session(st, batch, session, issued);
            Ok(out)
        })
        .await
    }
}
operation!(AssumeRole -> AssumeRoleResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSessionToken {
    pub duration_seconds: Option<i64>,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSessionTokenResponse {
    pub credentials: CredentialsOut,
}

/// Only long-term credentials of users and the root user may get session or federation tokens.
fn long_term_only(call: &Call, operation: &str) -> Result<(), AwsError> {
    let c = &call.caller;
    match c.kind {
        IdentityType::Anonymous => Err(missing_authentication()),
        IdentityType::IamUser | IdentityType::Root if c.session.is_none() => Ok(()),
        _ => Err(access_denied(format!(
            "Cannot call {operation} with session credentials"
        ))),
    }
}

impl GetSessionToken {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        long_term_only(call, "GetSessionToken")?;
        // AWS requires no permission to call GetSessionToken, but honours an explicit Deny.
        Ok(Authorization::deny_only(Check::new(
            "sts:GetSessionToken",
            "*",
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetSessionTokenResponse, AwsError> {
        let issued = now(call);
        let caller = call.caller.clone();
        let root = caller.kind == IdentityType::Root;
        let (default, max) = if root { (3600, 3600) } else { (43200, 129_600) };
        let duration = match self.duration_seconds {
            None => default,
            Some(d) if !(900..=max).contains(&d) => {
                return Err(sts_validation(format!(
                    "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: \
                     Member must have value {}",
                    if d < 900 {
                        "greater than or equal to 900".to_string()
                    } else {
                        format!("less than or equal to {max}")
                    }
                )));
            }
            Some(d) => d as u64,
        };
        let mfa = match (&self.serial_number, &self.token_code) {
            (None, None) => false,
            (Some(serial), Some(code)) => {
                svc.verify_mfa(
                    &caller.account,
                    caller.user_name.as_deref(),
                    serial,
                    code,
                    issued,
                )?;
                true
            }
            _ => {
                return Err(access_denied(
                    "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
                ));
            }
        };
        let kind = match &caller.user_name {
            Some(u) if !root => SessionKind::User {
                user_name: u.clone(),
            },
            _ => SessionKind::Root,
        };
        let mut session = new_session(
            svc,
            &caller.account,
            kind,
            issued,
            duration,
            caller.arn.clone(),
        )?;
        session.mfa_at = mfa.then_some(issued);
        svc.write(call, false, move |st, batch| {
            let out = GetSessionTokenResponse {
                credentials: credentials(&session),
            };
            store_session(st, batch, session, issued);
            Ok(out)
        })
        .await
    }
}
operation!(GetSessionToken -> GetSessionTokenResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFederationToken {
    pub name: String,
    pub policy: Option<String>,
    #[serde(default)]
    pub policy_arns: Vec<PolicyDescriptor>,
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FederatedUserOut {
    pub federated_user_id: String,
    pub arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFederationTokenResponse {
    pub credentials: CredentialsOut,
    pub federated_user: FederatedUserOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packed_policy_size: Option<u32>,
}

impl GetFederationToken {
    fn checks(&self, _: &Iam, call: &Call) -> Result<Authorization, AwsError> {
        long_term_only(call, "GetFederationToken")?;
        check_sts_name(&self.name, "name", 2, 32)?;
        check_session_tags(&self.tags, &[])?;
        let arn = format!(
            "arn:aws:sts::{}:federated-user/{}",
            call.account(),
            self.name
        );
        let check = Check::new("sts:GetFederationToken", arn)
            .request_tags(&names::tag_pairs(&self.tags), None);
        Ok(Authorization::check(check))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetFederationTokenResponse, AwsError> {
        let issued = now(call);
        let caller = call.caller.clone();
        let root = caller.kind == IdentityType::Root;
        let max = if root { 3600 } else { 129_600 };
        let duration = match self.duration_seconds {
            None => 43200.min(max) as u64,
            Some(d) if !(900..=max).contains(&d) => {
                return Err(sts_validation(format!(
                    "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: \
                     Member must have value between 900 and {max}"
                )));
            }
            Some(d) => d as u64,
        };
        svc.write(call, false, move |st, batch| {
            let inputs = session_inputs(
                svc,
                st,
                &caller.account,
                self.policy.as_deref(),
                &self.policy_arns,
                &self.tags,
            )?;
            let user_name = caller
                .user_name
                .clone()
                .unwrap_or_else(|| "root".to_string());
            let kind = SessionKind::Federated {
                name: self.name.clone(),
                user_name,
            };
            let mut session = new_session(
                svc,
                &caller.account,
                kind,
                issued,
                duration,
                caller.arn.clone(),
            )?;
            session.policy = inputs.policy;
            session.policy_arns = inputs.policy_arns;
            session.tags = self.tags;
            let out = GetFederationTokenResponse {
                credentials: credentials(&session),
                federated_user: FederatedUserOut {
                    federated_user_id: format!("{}:{}", caller.account, self.name),
                    arn: session.arn(),
                },
                packed_policy_size: inputs.packed_size,
            };
            store_session(st, batch, session, issued);
            Ok(out)
        })
        .await
    }
}
operation!(GetFederationToken -> GetFederationTokenResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyInfo {
    pub access_key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessKeyInfoResponse {
    pub account: String,
}

impl GetAccessKeyInfo {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "sts:GetAccessKeyInfo",
            "*",
        )))
    }

    async fn run(self, svc: &Iam, call: &Call) -> Result<GetAccessKeyInfoResponse, AwsError> {
        let id = self.access_key_id;
        let account = svc.read(|st| {
            Ok(st
                .root_keys
                .get(&id)
                .cloned()
                .or_else(|| st.keys.get(&id).map(|k| k.account.clone()))
                .or_else(|| st.sessions.get(&id).map(|s| s.account.clone())))
        })?;
        Ok(GetAccessKeyInfoResponse {
            account: account.unwrap_or_else(|| call.account().to_string()),
        })
    }
}
operation!(GetAccessKeyInfo -> GetAccessKeyInfoResponse);

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecodeAuthorizationMessage {
    pub encoded_message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecodeAuthorizationMessageResponse {
    pub decoded_message: String,
}

impl DecodeAuthorizationMessage {
    fn checks(&self, _: &Iam, _: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(Check::new(
            "sts:DecodeAuthorizationMessage",
            "*",
        )))
    }

    /// Decodes the message the gateway appends to EC2 denials (base64url of the decision's JSON).
    async fn run(self, _: &Iam, _: &Call) -> Result<DecodeAuthorizationMessageResponse, AwsError> {
        use base64::Engine;
        use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
        let invalid = || {
            AwsError::new(
                "InvalidAuthorizationMessageException",
                400,
                "The message is not valid.",
            )
        };
        let text = self.encoded_message.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| invalid())?;
        let decoded = String::from_utf8(bytes).map_err(|_| invalid())?;
        if !serde_json::from_str::<serde_json::Value>(&decoded).is_ok_and(|v| v.is_object()) {
            return Err(invalid());
        }
        Ok(DecodeAuthorizationMessageResponse {
            decoded_message: decoded,
        })
    }
}
operation!(DecodeAuthorizationMessage -> DecodeAuthorizationMessageResponse);
