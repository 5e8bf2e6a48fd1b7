//! The credential directory: access key → secret and caller, with every policy that
//! applies. Built callers are cached per access key until the next IAM change.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use gateway::{AwsError, Caller, Credential, Identities, IdentityType};
use policy::{Policy, Principal};

use crate::state::{Account, SessionKind, State, User};
use crate::{Iam, crypto, from_epoch, names};

/// A built credential, valid while `generation` is current.
pub(crate) struct Cached {
    generation: u64,
    secret: Arc<str>,
    caller: Arc<Caller>,
    /// For temporary credentials: the session token and expiry.
    token: Option<Arc<str>>,
    expires: Option<SystemTime>,
}

/// `InvalidClientTokenId`: unknown or inactive key, missing or wrong session token.
pub(crate) fn invalid_token() -> AwsError {
    AwsError::new(
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    )
}

/// `ExpiredToken`: temporary credentials past their expiry.
pub(crate) fn expired_token() -> AwsError {
    AwsError::new(
        "ExpiredToken",
        403,
        "The security token included in the request is expired",
    )
}

impl Cached {
    fn credential(&self, token: Option<&str>, now: SystemTime) -> Result<Credential, AwsError> {
        match (&self.token, token) {
            (None, None) => {}
            (Some(expected), Some(given)) => {
                if !crypto::secrets_equal(expected.as_bytes(), given.as_bytes()) {
                    return Err(invalid_token());
                }
            }
            _ => return Err(invalid_token()),
        }
        if let Some(exp) = self.expires
            && now >= exp
        {
            return Err(expired_token());
        }
        Ok(Credential {
            secret: self.secret.clone(),
            caller: self.caller.clone(),
        })
    }
}

/// The identity policies and boundary of a user: inline, attached, then each group's.
pub(crate) fn user_policies(
    iam: &Iam,
    st: &State,
    acct: &Account,
    user: &User,
) -> (Vec<Arc<Policy>>, Option<Arc<Policy>>) {
    let mut policies: Vec<Arc<Policy>> = Vec::new();
    policies.extend(user.inline.values().filter_map(|d| d.policy.clone()));
    for arn in &user.attached {
        if let Some(p) = iam
            .managed(st, acct.id(), arn)
            .and_then(|m| m.default_policy())
        {
            policies.push(p);
        }
    }
    for g in &user.groups {
        if let Ok(group) = acct.group(g) {
            policies.extend(group.inline.values().filter_map(|d| d.policy.clone()));
            for arn in &group.attached {
                if let Some(p) = iam
                    .managed(st, acct.id(), arn)
                    .and_then(|m| m.default_policy())
                {
                    policies.push(p);
                }
            }
        }
    }
    let boundary = user
        .boundary
        .as_ref()
        .and_then(|arn| iam.managed(st, acct.id(), arn))
        .and_then(|m| m.default_policy());
    (policies, boundary)
}

/// The identity policies and boundary of a role.
pub(crate) fn role_policies(
    iam: &Iam,
    st: &State,
    acct: &Account,
    role: &crate::state::Role,
) -> (Vec<Arc<Policy>>, Option<Arc<Policy>>) {
    let mut policies: Vec<Arc<Policy>> = role
        .inline
        .values()
        .filter_map(|d| d.policy.clone())
        .collect();
    for arn in &role.attached {
        if let Some(p) = iam
            .managed(st, acct.id(), arn)
            .and_then(|m| m.default_policy())
        {
            policies.push(p);
        }
    }
    let boundary = role
        .boundary
        .as_ref()
        .and_then(|arn| iam.managed(st, acct.id(), arn))
        .and_then(|m| m.default_policy());
    (policies, boundary)
}

/// The caller of the account root user.
pub(crate) fn root_caller(account: &str, access_key_id: Option<&str>) -> Caller {
    Caller {
        kind: IdentityType::Root,
        arn: format!("arn:aws:iam::{account}:root"),
        account: account.to_string(),
        principal_id: account.to_string(),
        user_name: None,
        access_key_id: access_key_id.map(str::to_string),
        principal: Principal::root(account),
        tags: Vec::new(),
        identity_policies: Vec::new(),
        boundary: None,
        session: None,
    }
}

/// The caller of an IAM user.
pub(crate) fn user_caller(
    iam: &Iam,
    st: &State,
    acct: &Account,
    user: &User,
    access_key_id: Option<&str>,
) -> Caller {
    let arn = user.arn();
    let mut principal = Principal::user(&arn, &user.id, &user.name);
    for t in &user.tags {
        principal = principal.with_tag(&t.key, &t.value);
    }
    let (identity_policies, boundary) = user_policies(iam, st, acct, user);
    Caller {
        kind: IdentityType::IamUser,
        arn,
        account: acct.id().to_string(),
        principal_id: user.id.clone(),
        user_name: Some(user.name.clone()),
        access_key_id: access_key_id.map(str::to_string),
        principal,
        tags: names::tag_pairs(&user.tags),
        identity_policies,
        boundary,
        session: None,
    }
}

/// Merges session tags over principal tags (a session tag replaces a tag with the same key).
fn merge_tags(base: &[(String, String)], session: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| !session.iter().any(|(s, _)| s.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    out.extend(session.iter().cloned());
    out
}

impl Iam {
    fn build(&self, st: &State, access_key_id: &str, generation: u64) -> Result<Cached, AwsError> {
        if let Some(account) = st.root_keys.get(access_key_id) {
            let acct = st.account(account).map_err(|_| invalid_token())?;
            return Ok(Cached {
                generation,
                secret: acct.rec.root_secret.plain.clone(),
                caller: Arc::new(root_caller(account, Some(access_key_id))),
                token: None,
                expires: None,
            });
        }
        if let Some(key) = st.keys.get(access_key_id) {
            if key.status != crate::state::KeyStatus::Active {
                return Err(invalid_token());
            }
            let acct = st.account(&key.account).map_err(|_| invalid_token())?;
            let user = acct.user(&key.user).map_err(|_| invalid_token())?;
            return Ok(Cached {
                generation,
                secret: key.secret.plain.clone(),
                caller: Arc::new(user_caller(self, st, acct, user, Some(access_key_id))),
                token: None,
                expires: None,
            });
        }
        let Some(s) = st.sessions.get(access_key_id) else {
            return Err(invalid_token());
        };
        let acct = st.account(&s.account).map_err(|_| invalid_token())?;
        let session_tags = names::tag_pairs(&s.tags);
        let mut session_policies: Vec<Arc<Policy>> = Vec::new();
        if let Some(p) = s.policy.as_ref().and_then(|d| d.policy.clone()) {
            session_policies.push(p);
        }
        for arn in &s.policy_arns {
            if let Some(p) = self
                .managed(st, &s.account, arn)
                .and_then(|m| m.default_policy())
            {
                session_policies.push(p);
            }
        }
        let has_session_policies = s.policy.is_some() || !s.policy_arns.is_empty();
        let mut session = gateway::Session {
            issued_at: from_epoch(s.issued),
            expires_at: from_epoch(s.expires),
            mfa_authenticated: s.mfa_at.is_some(),
            mfa_auth_time: s.mfa_at.map(from_epoch),
            source_identity: s.source_identity.clone(),
            policies: has_session_policies.then_some(session_policies),
            role: None,
            tags: session_tags.clone(),
            transitive_tag_keys: s.transitive_tag_keys.clone(),
            issuer_arn: Some(s.issuer.clone()),
        };
        let caller = match &s.kind {
            SessionKind::Role {
                role_name,
                role_id,
                role_arn,
                session_name,
            } => {
                let session_arn = s.arn();
                let role = acct
                    .roles
                    .get(&role_name.to_lowercase())
                    .filter(|r| r.id == *role_id);
                let (identity_policies, boundary) = match role {
                    Some(r) => role_policies(self, st, acct, r),
                    None => (Vec::new(), None),
                };
                let role_tags = role.map(|r| names::tag_pairs(&r.tags)).unwrap_or_default();
                let tags = merge_tags(&role_tags, &session_tags);
                let mut principal =
                    Principal::assumed_role(&session_arn, role_arn, role_id, session_name);
                for (k, v) in &tags {
                    principal = principal.with_tag(k, v);
                }
                if let Some(si) = &s.source_identity {
                    principal = principal.with_source_identity(si);
                }
                session.role = Some((role_arn.clone(), role_name.clone(), role_id.clone()));
                Caller {
                    kind: IdentityType::AssumedRole,
                    arn: session_arn,
                    account: s.account.clone(),
                    principal_id: format!("{role_id}:{session_name}"),
                    user_name: None,
                    access_key_id: Some(access_key_id.to_string()),
                    principal,
                    tags,
                    identity_policies,
                    boundary,
                    session: None,
                }
            }
            SessionKind::User { user_name } => {
                let user = acct.user(user_name).map_err(|_| invalid_token())?;
                user_caller(self, st, acct, user, Some(access_key_id))
            }
            SessionKind::Root => root_caller(&s.account, Some(access_key_id)),
            SessionKind::Federated { name, user_name } => {
                let arn = s.arn();
                let (identity_policies, boundary, user_arn) = match acct.user(user_name) {
                    Ok(u) => {
                        let (p, b) = user_policies(self, st, acct, u);
                        (p, b, u.arn())
                    }
                    Err(_) => (
                        Vec::new(),
                        None,
                        names::iam_arn(&s.account, "user", "/", user_name),
                    ),
                };
                let mut principal = Principal::federated_user(&arn, &user_arn);
                for (k, v) in &session_tags {
                    principal = principal.with_tag(k, v);
                }
                // A federated user with no session policy has no permissions.
                session.policies = Some(session.policies.take().unwrap_or_default());
                Caller {
                    kind: IdentityType::FederatedUser,
                    arn,
                    account: s.account.clone(),
                    principal_id: format!("{}:{name}", s.account),
                    user_name: None,
                    access_key_id: Some(access_key_id.to_string()),
                    principal,
                    tags: session_tags.clone(),
                    identity_policies,
                    boundary,
                    session: None,
                }
            }
        };
        let caller = Caller {
            session: Some(Arc::new(session)),
            ..caller
        };
        Ok(Cached {
            generation,
            secret: s.secret.plain.clone(),
            caller: Arc::new(caller),
            token: Some(s.token.plain.clone()),
            expires: Some(from_epoch(s.expires)),
        })
    }

    /// Forgets a cached credential (deleted keys and sessions).
    pub(crate) fn forget(&self, access_key_id: &str) {
        if let Ok(mut c) = self.cache.write() {
            c.remove(access_key_id);
        }
    }
}

impl Identities for Iam {
    fn lookup(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: SystemTime,
    ) -> Result<Credential, AwsError> {
        let token = session_token.filter(|t| !t.is_empty());
        let generation = self.generation.load(Ordering::Acquire);
        if let Ok(cache) = self.cache.read()
            && let Some(c) = cache.get(access_key_id)
            && c.generation == generation
        {
            return c.credential(token, now);
        }
        let built = {
            let st = self
                .state
                .read()
                .map_err(|_| gateway::state::poisoned("iam"))?;
            self.build(&st, access_key_id, generation)?
        };
        let credential = built.credential(token, now);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= 100_000 {
                cache.clear();
            }
            cache.insert(access_key_id.to_string(), built);
        }
        credential
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tags_replace_principal_tags_case_insensitively() {
        let base = vec![
            ("Team".to_string(), "a".to_string()),
            ("Cost".to_string(), "1".to_string()),
        ];
        let session = vec![("team".to_string(), "b".to_string())];
        assert_eq!(
            merge_tags(&base, &session),
            vec![
                ("Cost".to_string(), "1".to_string()),
                ("team".to_string(), "b".to_string())
            ]
        );
    }
}
