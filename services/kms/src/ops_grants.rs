//! Grants. A grant is compiled into its key's policy (see [`crate::keypolicy`]) and is effective as
//! soon as `CreateGrant` returns; grant tokens are accepted and need not be presented.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::{Authorization, AwsError, Call, Check, Operation};

use crate::api::*;
use crate::crypto;
use crate::errors;
use crate::keypolicy;
use crate::ops_crypto::with_context;
use crate::records::{GrantConstraints, GrantRecord};
use crate::state::Key;
use crate::{Kms, now_of, paginate};

/// The most grants a key may carry.
const MAX_GRANTS_PER_KEY: usize = 50_000;
const TOKEN_VERSION: u8 = 1;

/// A grant token: which key and grant it names, plus randomness so each `CreateGrant` returns a
/// distinct token. It locates the grant; authorization still comes from the grant itself.
fn grant_token(key_id: &str, grant_id: &str) -> Result<String, AwsError> {
    let key =
        crypto::uuid_bytes(key_id).ok_or_else(|| AwsError::internal("key id is not a UUID"))?;
    let grant = hex::decode(grant_id).map_err(AwsError::internal)?;
    let nonce = crypto::random_bytes(16).map_err(|_| AwsError::internal("random source failed"))?;
    let mut raw = Vec::with_capacity(1 + 16 + grant.len() + 16);
    raw.push(TOKEN_VERSION);
    raw.extend_from_slice(&key);
    raw.extend_from_slice(&grant);
    raw.extend_from_slice(&nonce);
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// The key id and grant id a token names.
fn parse_token(token: &str) -> Option<(String, String)> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if raw.len() != 1 + 16 + 32 + 16 || raw[0] != TOKEN_VERSION {
        return None;
    }
    let mut key = [0u8; 16];
    key.copy_from_slice(&raw[1..17]);
    Some((crypto::uuid_text(&key), hex::encode(&raw[17..49])))
}

fn constraints_of(shape: &Option<GrantConstraintsShape>) -> Option<GrantConstraints> {
    let s = shape.as_ref()?;
    let c = GrantConstraints {
        equals: s
            .encryption_context_equals
            .clone()
            .filter(|m| !m.is_empty()),
        subset: s
            .encryption_context_subset
            .clone()
            .filter(|m| !m.is_empty()),
    };
    (!c.is_empty()).then_some(c)
}

fn shape_of(c: &Option<GrantConstraints>) -> Option<GrantConstraintsShape> {
    let c = c.as_ref()?;
    Some(GrantConstraintsShape {
        encryption_context_equals: c.equals.clone(),
        encryption_context_subset: c.subset.clone(),
    })
}

fn entry(key: &Key, g: &GrantRecord) -> GrantListEntry {
    GrantListEntry {
        key_id: key.arn(),
        grant_id: g.id.clone(),
        name: g.name.clone(),
        creation_date: g.created,
        grantee_principal: g.grantee.clone(),
        retiring_principal: g.retiring.clone(),
        issuing_account: format!("arn:aws:iam::{}:root", g.issuing_account),
        operations: g.operations.clone(),
        constraints: shape_of(&g.constraints),
    }
}

fn sort_key(g: &GrantRecord) -> String {
    format!("{:020.3}/{}", g.created, g.id)
}

fn for_aws_resource(call: &Call, c: Check) -> Check {
    c.with("kms:GrantIsForAWSResource", call.via.is_some())
}

impl Operation for CreateGrant {
    type Service = Kms;
    type Output = CreateGrantOutput;
    const NAME: &'static str = "CreateGrant";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        if self.operations.is_empty() {
            return Err(errors::value_constraint(
                "[]",
                "operations",
                "Member must have length greater than or equal to 1",
            ));
        }
        for p in std::iter::once(&self.grantee_principal).chain(self.retiring_principal.as_ref()) {
            if keypolicy::principal_element(p).is_none() {
                return Err(errors::validation(format!("Invalid principal: {p}")));
            }
        }
        let v = svc.view(call, &self.key_id, false)?;
        let mut c = svc
            .key_check(call, "kms:CreateGrant", &v)
            .with("kms:GrantOperations", self.operations.clone())
            .with("kms:GranteePrincipal", self.grantee_principal.clone())
            .with_opt("kms:RetiringPrincipal", self.retiring_principal.clone());
        c = for_aws_resource(call, c);
        if let Some(cons) = constraints_of(&self.constraints) {
            let kind = if cons.equals.is_some() {
                "EncryptionContextEquals"
            } else {
                "EncryptionContextSubset"
            };
            let mut ctx = cons.subset.clone().unwrap_or_default();
            ctx.extend(cons.equals.clone().unwrap_or_default());
            c = with_context(c, &ctx).with("kms:GrantConstraintType", kind);
        }
        Ok(Authorization::check(c))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<CreateGrantOutput, AwsError> {
        let issuing = call.account().to_string();
        let constraints = constraints_of(&self.constraints);
        let mut operations = self.operations.clone();
        operations.sort();
        operations.dedup();
        let dry_run = self.dry_run == Some(true);
        let (key_id, grant_id) = svc
            .update_key(&call, &self.key_id, false, move |k, _, now| {
                k.usable()?;
                if dry_run {
                    return Err(errors::dry_run());
                }
                if let Some(name) = &self.name
                    && let Some(existing) = k.rec.grants.iter().find(|g| {
                        g.name.as_deref() == Some(name)
                            && g.grantee == self.grantee_principal
                            && g.retiring == self.retiring_principal
                            && g.operations == operations
                            && g.constraints == constraints
                    })
                {
                    return Ok((k.rec.id.clone(), existing.id.clone()));
                }
                if k.rec.grants.len() >= MAX_GRANTS_PER_KEY {
                    return Err(errors::limit(format!(
                        "The request was rejected because {} already has the maximum number of grants.",
                        k.arn()
                    )));
                }
                let grant = GrantRecord {
                    id: crypto::random_hex64()
                        .map_err(|_| AwsError::internal("random source failed"))?,
                    name: self.name.clone(),
                    grantee: self.grantee_principal.clone(),
                    retiring: self.retiring_principal.clone(),
                    operations,
                    constraints,
                    created: now,
                    issuing_account: issuing,
                };
                keypolicy::check_grant(&grant).map_err(errors::validation)?;
                let id = grant.id.clone();
                k.rec.grants.push(grant);
                k.recompile();
                Ok((k.rec.id.clone(), id))
            })
            .await?;
        Ok(CreateGrantOutput {
            grant_token: grant_token(&key_id, &grant_id)?,
            grant_id,
        })
    }
}

impl Operation for ListGrants {
    type Service = Kms;
    type Output = ListGrantsOutput;
    const NAME: &'static str = "ListGrants";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(for_aws_resource(
            call,
            svc.key_check(call, "kms:ListGrants", &v),
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListGrantsOutput, AwsError> {
        let items = svc.with_key(&call, &self.key_id, false, |_, k| {
            if let Some(id) = &self.grant_id
                && !k.rec.grants.iter().any(|g| &g.id == id)
            {
                return Err(errors::invalid_grant_id());
            }
            let mut items: Vec<(String, GrantListEntry)> = k
                .rec
                .grants
                .iter()
                .filter(|g| self.grant_id.as_ref().is_none_or(|id| &g.id == id))
                .filter(|g| {
                    self.grantee_principal
                        .as_ref()
                        .is_none_or(|p| &g.grantee == p)
                })
                .map(|g| (sort_key(g), entry(k, g)))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(items)
        })?;
        let (grants, next) = paginate(items, self.marker.as_deref(), self.limit, 50)?;
        Ok(ListGrantsOutput {
            grants,
            truncated: next.is_some(),
            next_marker: next,
        })
    }
}

impl Operation for ListRetirableGrants {
    type Service = Kms;
    type Output = ListGrantsOutput;
    const NAME: &'static str = "ListRetirableGrants";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::check(
            svc.account_check(call, "kms:ListRetirableGrants"),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListGrantsOutput, AwsError> {
        let now = now_of(&call);
        let mut items: Vec<(String, GrantListEntry)> = {
            let st = svc.read();
            st.keys
                .values()
                .filter(|k| k.rec.account == call.account() && !k.expired(now))
                .flat_map(|k| {
                    k.rec
                        .grants
                        .iter()
                        .filter(|g| g.retiring.as_deref() == Some(self.retiring_principal.as_str()))
                        .map(move |g| (sort_key(g), entry(k, g)))
                })
                .collect()
        };
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (grants, next) = paginate(items, self.marker.as_deref(), self.limit, 50)?;
        Ok(ListGrantsOutput {
            grants,
            truncated: next.is_some(),
            next_marker: next,
        })
    }
}

impl RetireGrant {
    /// The key id and grant id the request names.
    fn target(&self, svc: &Kms, call: &Call) -> Result<(String, String), AwsError> {
        let from_token = match &self.grant_token {
            Some(t) => Some(parse_token(t).ok_or_else(errors::invalid_grant_token)?),
            None => None,
        };
        let from_ids = match (&self.key_id, &self.grant_id) {
            (Some(k), Some(g)) => {
                let st = svc.read();
                Some((svc.existing_id(&st, call, k, false)?, g.clone()))
            }
            _ => None,
        };
        match (from_token, from_ids) {
            (Some(t), Some(i)) if t != i => Err(errors::invalid_grant_token()),
            (Some(t), _) => Ok(t),
            (None, Some(i)) => Ok(i),
            (None, None) => Err(errors::validation(
                "Grant token OR (grant ID, key ID) must be specified",
            )),
        }
    }
}

impl Operation for RetireGrant {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "RetireGrant";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let (key_id, grant_id) = self.target(svc, call)?;
        let st = svc.read();
        let key = st
            .live(&key_id, now_of(call))
            .ok_or_else(|| errors::key_not_found(&key_id))?;
        let grant = key
            .rec
            .grants
            .iter()
            .find(|g| g.id == grant_id)
            .ok_or_else(errors::invalid_grant_id)?;
        let retire = keypolicy::retire_policy(grant, &key.rec.account)
            .ok_or_else(|| AwsError::internal("retire policy does not compile"))?;
        let v = svc.view_of(&st, call, &key_id)?;
        let mut c = svc.key_check(call, "kms:RetireGrant", &v);
        c.key_policy = Some(retire);
        Ok(Authorization::check(c))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let (key_id, grant_id) = self.target(&svc, &call)?;
        if self.dry_run == Some(true) {
            return Err(errors::dry_run());
        }
        let arn = {
            let st = svc.read();
            st.keys
                .get(&key_id)
                .map(Key::arn)
                .ok_or_else(|| errors::key_not_found(&key_id))?
        };
        svc.update_key(&call, &arn, false, |k, _, _| {
            let before = k.rec.grants.len();
            k.rec.grants.retain(|g| g.id != grant_id);
            if k.rec.grants.len() == before {
                return Err(errors::invalid_grant_id());
            }
            k.recompile();
            Ok(Empty {})
        })
        .await
    }
}

impl Operation for RevokeGrant {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "RevokeGrant";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        let v = svc.view(call, &self.key_id, false)?;
        Ok(Authorization::check(for_aws_resource(
            call,
            svc.key_check(call, "kms:RevokeGrant", &v),
        )))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let dry_run = self.dry_run == Some(true);
        let grant_id = self.grant_id;
        svc.update_key(&call, &self.key_id, false, move |k, _, _| {
            if !k.rec.grants.iter().any(|g| g.id == grant_id) {
                return Err(errors::invalid_grant_id());
            }
            if dry_run {
                return Err(errors::dry_run());
            }
            k.rec.grants.retain(|g| g.id != grant_id);
            k.recompile();
            Ok(Empty {})
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_grant() {
        let key = crypto::new_key_id().expect("id");
        let grant = crypto::random_hex64().expect("hex");
        let a = grant_token(&key, &grant).expect("token");
        let b = grant_token(&key, &grant).expect("token");
        assert_ne!(a, b);
        assert_eq!(parse_token(&a), Some((key.clone(), grant.clone())));
        assert_eq!(parse_token("garbage"), None);
        assert_eq!(parse_token(&a[..a.len() - 2]), None);
    }
}
