//! Aliases. Creating, updating or deleting one needs permission on the alias (IAM policies) and on
//! each key involved (the key policy).

use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check, Operation};

use crate::api::*;
use crate::errors;
use crate::records::{AliasRecord, alias_arn, alias_record_key};
use crate::{KeyRef, Kms, now_of, paginate};

const ALIAS_PREFIX: &str = "alias/";

/// Validates an alias name as AWS does.
fn check_alias_name(name: &str) -> Result<(), AwsError> {
    let Some(rest) = name.strip_prefix(ALIAS_PREFIX) else {
        return Err(errors::validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    };
    if name.starts_with("alias/aws/") {
        return Err(AwsError::bad_request(
            "NotAuthorizedException",
            format!("{name}: the alias/aws/ prefix is reserved for AWS managed keys"),
        ));
    }
    if rest.contains(':') {
        return Err(errors::validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    if rest.is_empty()
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'_' || b == b'-')
    {
        return Err(errors::value_constraint(
            name,
            "aliasName",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
        ));
    }
    Ok(())
}

impl Kms {
    /// The check on the alias itself: IAM policies decide (an alias has no policy of its own).
    fn alias_check(&self, call: &Call, action: &'static str, name: &str) -> Check {
        let mut c = self.account_check(call, action);
        c.resource = alias_arn(self.region(), call.account(), name);
        c
    }

    /// The target of a `TargetKeyId`: a key id or key ARN in the caller's account.
    fn target_view(&self, call: &Call, target: &str) -> Result<crate::KeyView, AwsError> {
        if target.starts_with(ALIAS_PREFIX) || target.contains(":alias/") {
            return Err(errors::validation(
                "Aliases must refer to keys. Not aliases",
            ));
        }
        let v = self.view(call, target, false)?;
        if v.account != call.account() {
            return Err(errors::key_not_found(target));
        }
        Ok(v)
    }
}

impl Operation for CreateAlias {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "CreateAlias";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        check_alias_name(&self.alias_name)?;
        let v = svc.target_view(call, &self.target_key_id)?;
        Ok(Authorization::all(vec![
            svc.alias_check(call, "kms:CreateAlias", &self.alias_name),
            svc.key_check(call, "kms:CreateAlias", &v),
        ]))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let now = now_of(&call);
        let account = call.account().to_string();
        let pending = {
            let mut st = svc.write();
            let rk = alias_record_key(&account, &self.alias_name);
            if st.aliases.contains_key(&rk) {
                return Err(errors::alias_exists(&alias_arn(
                    svc.region(),
                    &account,
                    &self.alias_name,
                )));
            }
            let id = svc.existing_id(&st, &call, &self.target_key_id, false)?;
            if let Some(k) = st.keys.get(&id) {
                k.not_pending_deletion()?;
            }
            let alias = AliasRecord {
                account,
                region: svc.region().to_string(),
                name: self.alias_name.clone(),
                target: id,
                created: now,
                updated: now,
            };
            let mut batch = storage::Batch::new();
            batch.put(&alias);
            st.purge_expired(now, &mut batch);
            st.put_alias(alias);
            call.submit(batch)
        };
        pending.await?;
        Ok(Empty {})
    }
}

impl Operation for UpdateAlias {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "UpdateAlias";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        check_alias_name(&self.alias_name)?;
        let current = {
            let st = svc.read();
            let rk = alias_record_key(call.account(), &self.alias_name);
            let alias = st.aliases.get(&rk).ok_or_else(|| {
                errors::alias_not_found(&alias_arn(svc.region(), call.account(), &self.alias_name))
            })?;
            svc.view_of(&st, call, &alias.target).ok()
        };
        let new = svc.target_view(call, &self.target_key_id)?;
        let mut checks = vec![svc.alias_check(call, "kms:UpdateAlias", &self.alias_name)];
        if let Some(cur) = current {
            checks.push(svc.key_check(call, "kms:UpdateAlias", &cur));
        }
        checks.push(svc.key_check(call, "kms:UpdateAlias", &new));
        Ok(Authorization::all(checks))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let now = now_of(&call);
        let pending = {
            let mut st = svc.write();
            let rk = alias_record_key(call.account(), &self.alias_name);
            let Some(mut alias) = st.aliases.get(&rk).cloned() else {
                return Err(errors::alias_not_found(&alias_arn(
                    svc.region(),
                    call.account(),
                    &self.alias_name,
                )));
            };
            let id = svc.existing_id(&st, &call, &self.target_key_id, false)?;
            if let Some(k) = st.keys.get(&id) {
                k.not_pending_deletion()?;
            }
            alias.target = id;
            alias.updated = now;
            let mut batch = storage::Batch::new();
            batch.put(&alias);
            st.purge_expired(now, &mut batch);
            st.put_alias(alias);
            call.submit(batch)
        };
        pending.await?;
        Ok(Empty {})
    }
}

impl Operation for DeleteAlias {
    type Service = Kms;
    type Output = Empty;
    const NAME: &'static str = "DeleteAlias";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        if !self.alias_name.starts_with(ALIAS_PREFIX) {
            check_alias_name(&self.alias_name)?;
        }
        let target = {
            let st = svc.read();
            let rk = alias_record_key(call.account(), &self.alias_name);
            let alias = st.aliases.get(&rk).ok_or_else(|| {
                errors::alias_not_found(&alias_arn(svc.region(), call.account(), &self.alias_name))
            })?;
            svc.view_of(&st, call, &alias.target).ok()
        };
        let mut checks = vec![svc.alias_check(call, "kms:DeleteAlias", &self.alias_name)];
        if let Some(t) = target {
            checks.push(svc.key_check(call, "kms:DeleteAlias", &t));
        }
        Ok(Authorization::all(checks))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<Empty, AwsError> {
        let now = now_of(&call);
        let pending = {
            let mut st = svc.write();
            let rk = alias_record_key(call.account(), &self.alias_name);
            if st.remove_alias(&rk).is_none() {
                return Err(errors::alias_not_found(&alias_arn(
                    svc.region(),
                    call.account(),
                    &self.alias_name,
                )));
            }
            let mut batch = storage::Batch::new();
            batch.delete::<AliasRecord>(&rk);
            st.purge_expired(now, &mut batch);
            call.submit(batch)
        };
        pending.await?;
        Ok(Empty {})
    }
}

impl Operation for ListAliases {
    type Service = Kms;
    type Output = ListAliasesOutput;
    const NAME: &'static str = "ListAliases";

    fn authorize(&self, svc: &Kms, call: &Call) -> Result<Authorization, AwsError> {
        if let Some(k) = &self.key_id {
            let r = svc.parse_ref(call.account(), k, false)?;
            let st = svc.read();
            svc.lookup_id(&st, &r, now_of(call))?;
        }
        Ok(Authorization::check(
            svc.account_check(call, "kms:ListAliases"),
        ))
    }

    async fn handle(self, svc: Arc<Kms>, call: Call) -> Result<ListAliasesOutput, AwsError> {
        let now = now_of(&call);
        let items: Vec<(String, AliasListEntry)> = {
            let st = svc.read();
            let filter = match &self.key_id {
                Some(k) => {
                    let r = svc.parse_ref(call.account(), k, false)?;
                    match &r {
                        KeyRef::Id { .. } => svc.lookup_id(&st, &r, now)?,
                        KeyRef::Alias { .. } => None,
                    }
                }
                None => None,
            };
            st.aliases
                .values()
                .filter(|a| a.account == call.account())
                .filter(|a| st.live(&a.target, now).is_some())
                .filter(|a| filter.as_ref().is_none_or(|f| *f == a.target))
                .map(|a| {
                    (
                        a.name.clone(),
                        AliasListEntry {
                            alias_name: a.name.clone(),
                            alias_arn: a.arn(),
                            target_key_id: a.target.clone(),
                            creation_date: a.created,
                            last_updated_date: a.updated,
                        },
                    )
                })
                .collect()
        };
        let (aliases, next) = paginate(items, self.marker.as_deref(), self.limit, 50)?;
        Ok(ListAliasesOutput {
            aliases,
            truncated: next.is_some(),
            next_marker: next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names() {
        assert!(check_alias_name("alias/ok-name_1/x").is_ok());
        assert_eq!(
            check_alias_name("noprefix").map_err(|e| e.code),
            Err("ValidationException".into())
        );
        assert_eq!(
            check_alias_name("alias/aws/s3").map_err(|e| e.code),
            Err("NotAuthorizedException".into())
        );
        assert!(check_alias_name("alias/").is_err());
        assert!(check_alias_name("alias/a:b").is_err());
        assert!(check_alias_name("alias/sp ace").is_err());
    }
}
