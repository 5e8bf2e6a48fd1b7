//! KMS (JSON 1.1, `TrentService`): customer managed symmetric keys whose key policies are the root of
//! trust, aliases, tags, grants, rotation and AES-256-GCM envelope encryption.
//!
//! Every operation declares its checks (`kms:<Action>` on the key ARN, the key policy with the key's
//! grants compiled in, the KMS condition keys); the gateway decides. Key material is random per key
//! and per rotation, kept in memory and stored only wrapped under the instance root key.
//!
//! Other services call KMS on a caller's behalf with [`gateway::Call::invoke`] and the public
//! operation types ([`GenerateDataKey`], [`Decrypt`], [`CreateGrant`], ...); `kms:ViaService` and
//! `kms:GrantIsForAWSResource` follow from the call's [`gateway::Via`].

#![forbid(unsafe_code)]

mod api;
pub mod crypto;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
pub mod keypolicy;
mod ops_aliases;
mod ops_crypto;
mod ops_grants;
mod ops_keys;
mod ops_rotation;
pub mod records;
mod state;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::{AwsError, Call, Check};
use policy::{Policy, PolicyType};

pub use api::*;
pub use crypto::EncryptionContext;

use crate::records::{AliasRecord, KeyRecord, KeyState, alias_arn, key_arn};
use crate::state::{Key, State};

/// The embedded, trimmed botocore model.
const MODEL: &str = include_str!("../kms.json");

/// The KMS service.
pub struct Kms {
    store: storage::Store,
    region: String,
    state: RwLock<State>,
}

/// How a request names a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyRef {
    /// A key id, or a key ARN.
    Id { account: String, id: String },
    /// An alias name (`alias/...`) or alias ARN.
    Alias { account: String, name: String },
}

/// What authorization needs to know about a key.
#[derive(Clone)]
pub(crate) struct KeyView {
    pub id: String,
    pub arn: String,
    pub account: String,
    pub policy: Arc<Policy>,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<String>,
    /// The alias the request named the key by, for `kms:RequestAlias`.
    pub request_alias: Option<String>,
    /// An AWS managed key (`alias/aws/<service>`) that does not exist yet: created on first use.
    pub managed: Option<&'static str>,
}

impl Kms {
    /// Opens KMS over the store: loads every key (unwrapping its material) and alias.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
    ) -> Result<Arc<Kms>, storage::Error> {
        let mut state = State::default();
        let keyring = store.keyring();
        for rec in store.table::<KeyRecord>().load_all()? {
            let id = rec.id.clone();
            match Key::load(rec, keyring) {
                Ok(key) => {
                    state.keys.insert(id, key);
                }
                Err(e) => {
                    tracing::error!(key = %id, error = %e, "cannot load KMS key; it is unavailable");
                }
            }
        }
        for alias in store.table::<AliasRecord>().load_all()? {
            state.put_alias(alias);
        }
        Ok(Arc::new(Kms {
            store: store.clone(),
            region: config.region.clone(),
            state: RwLock::new(state),
        }))
    }

    /// The service as the gateway routes to it.
    pub fn service_def(self: &Arc<Self>) -> gateway::ServiceDef {
        let def = gateway::ServiceDef::new("kms", MODEL).expect("the embedded KMS model parses");
        def.operation::<CreateKey>(self)
            .operation::<DescribeKey>(self)
            .operation::<ListKeys>(self)
            .operation::<EnableKey>(self)
            .operation::<DisableKey>(self)
            .operation::<UpdateKeyDescription>(self)
            .operation::<ScheduleKeyDeletion>(self)
            .operation::<CancelKeyDeletion>(self)
            .operation::<GetKeyPolicy>(self)
            .operation::<PutKeyPolicy>(self)
            .operation::<ListKeyPolicies>(self)
            .operation::<TagResource>(self)
            .operation::<UntagResource>(self)
            .operation::<ListResourceTags>(self)
            .operation::<EnableKeyRotation>(self)
            .operation::<DisableKeyRotation>(self)
            .operation::<GetKeyRotationStatus>(self)
            .operation::<RotateKeyOnDemand>(self)
            .operation::<ListKeyRotations>(self)
            .operation::<CreateAlias>(self)
            .operation::<UpdateAlias>(self)
            .operation::<DeleteAlias>(self)
            .operation::<ListAliases>(self)
            .operation::<Encrypt>(self)
            .operation::<Decrypt>(self)
            .operation::<ReEncrypt>(self)
            .operation::<GenerateDataKey>(self)
            .operation::<GenerateDataKeyWithoutPlaintext>(self)
            .operation::<GenerateRandom>(self)
            .operation::<CreateGrant>(self)
            .operation::<ListGrants>(self)
            .operation::<ListRetirableGrants>(self)
            .operation::<RetireGrant>(self)
            .operation::<RevokeGrant>(self)
    }

    /// The ARN of the key that `key_id_or_alias_or_arn` names in `account` (a key id, key ARN, alias
    /// name or alias ARN), if it exists and is not past its deletion date. An AWS managed alias
    /// (`alias/aws/s3`) always resolves: its key is created on first use. For other services'
    /// validation.
    pub fn resolve_key_arn(&self, account: &str, key_id_or_alias_or_arn: &str) -> Option<String> {
        let r = self.parse_ref(account, key_id_or_alias_or_arn, true).ok()?;
        let st = self.read();
        match self.lookup_id(&st, &r, now_epoch()).ok()? {
            Some(id) => st.keys.get(&id).map(Key::arn),
            None => match &r {
                KeyRef::Alias { account, name } => {
                    self.aws_managed_key_arn(account, managed_service(name)?)
                }
                KeyRef::Id { .. } => None,
            },
        }
    }

    /// The ARN of the AWS managed key for `service` (`s3`, `ebs`, `ssm`, `sagemaker`, ...) in
    /// `account`, whether or not it has been created yet (it is created on first use).
    pub fn aws_managed_key_arn(&self, account: &str, service: &str) -> Option<String> {
        keypolicy::AWS_MANAGED
            .iter()
            .find(|(s, _, _)| *s == service)
            .map(|(s, _, _)| key_arn(&self.region, account, &self.managed_key_id(account, s)))
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn keyring(&self) -> &storage::Keyring {
        self.store.keyring()
    }

    pub(crate) fn region(&self) -> &str {
        &self.region
    }

    fn managed_key_id(&self, account: &str, service: &str) -> String {
        crypto::derived_key_id(&format!(
            "perimeter/kms/aws-managed/{account}/{}/{service}",
            self.region
        ))
    }

    /// Reads how `input` names a key. `accept_alias` is false for operations that take only a key
    /// id or key ARN.
    pub(crate) fn parse_ref(
        &self,
        caller_account: &str,
        input: &str,
        accept_alias: bool,
    ) -> Result<KeyRef, AwsError> {
        if let Some(rest) = input.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if parts.len() != 5 || parts[1] != "kms" {
                return Err(errors::invalid_key_id(input));
            }
            let (region, account, resource) = (parts[2], parts[3], parts[4]);
            if let Some(id) = resource.strip_prefix("key/") {
                if region != self.region || crypto::uuid_bytes(id).is_none() {
                    return Err(errors::key_not_found(input));
                }
                return Ok(KeyRef::Id {
                    account: account.to_string(),
                    id: id.to_ascii_lowercase(),
                });
            }
            if resource.starts_with("alias/") && accept_alias {
                if region != self.region {
                    return Err(errors::alias_not_found(input));
                }
                return Ok(KeyRef::Alias {
                    account: account.to_string(),
                    name: resource.to_string(),
                });
            }
            return Err(errors::invalid_key_id(input));
        }
        if input.starts_with("alias/") {
            if !accept_alias {
                return Err(errors::invalid_key_id(input));
            }
            return Ok(KeyRef::Alias {
                account: caller_account.to_string(),
                name: input.to_string(),
            });
        }
        if crypto::uuid_bytes(input).is_none() {
            return Err(errors::invalid_key_id(input));
        }
        Ok(KeyRef::Id {
            account: caller_account.to_string(),
            id: input.to_ascii_lowercase(),
        })
    }

    /// The key id `r` names. `Ok(None)` for an AWS managed alias whose key does not exist yet.
    pub(crate) fn lookup_id(
        &self,
        st: &State,
        r: &KeyRef,
        now: f64,
    ) -> Result<Option<String>, AwsError> {
        match r {
            KeyRef::Id { account, id } => match st.live(id, now) {
                Some(k) if &k.rec.account == account => Ok(Some(id.clone())),
                _ => Err(errors::key_not_found(&key_arn(&self.region, account, id))),
            },
            KeyRef::Alias { account, name } => {
                let rk = records::alias_record_key(account, name);
                if let Some(a) = st.aliases.get(&rk)
                    && st.live(&a.target, now).is_some()
                {
                    return Ok(Some(a.target.clone()));
                }
                if let Some(service) = managed_service(name) {
                    let id = self.managed_key_id(account, service);
                    if st.live(&id, now).is_some() {
                        return Ok(Some(id));
                    }
                    return Ok(None);
                }
                Err(errors::alias_not_found(&alias_arn(
                    &self.region,
                    account,
                    name,
                )))
            }
        }
    }

    /// What authorization needs about the key `input` names, for `call`.
    pub(crate) fn view(
        &self,
        call: &Call,
        input: &str,
        accept_alias: bool,
    ) -> Result<KeyView, AwsError> {
        let r = self.parse_ref(call.account(), input, accept_alias)?;
        let request_alias = match &r {
            KeyRef::Alias { name, .. } => Some(name.clone()),
            KeyRef::Id { .. } => None,
        };
        let st = self.read();
        match self.lookup_id(&st, &r, now_of(call))? {
            Some(id) => {
                let mut v = self.view_of(&st, call, &id)?;
                v.request_alias = request_alias;
                Ok(v)
            }
            None => {
                let KeyRef::Alias { account, name } = &r else {
                    return Err(errors::invalid_key_id(input));
                };
                let service = managed_service(name).ok_or_else(|| errors::invalid_key_id(input))?;
                let (_, title, _) = keypolicy::AWS_MANAGED
                    .iter()
                    .find(|(s, _, _)| *s == service)
                    .copied()
                    .unwrap_or((service, service, ""));
                let text = keypolicy::aws_managed_policy(account, &self.region, service, title);
                let policy = Policy::parse(&text, PolicyType::Key).map_err(AwsError::internal)?;
                let id = self.managed_key_id(account, service);
                Ok(KeyView {
                    arn: key_arn(&self.region, account, &id),
                    id,
                    account: account.clone(),
                    policy: Arc::new(policy),
                    tags: Vec::new(),
                    aliases: vec![name.clone()],
                    request_alias,
                    managed: Some(service),
                })
            }
        }
    }

    /// The view of an existing key by id.
    pub(crate) fn view_of(&self, st: &State, call: &Call, id: &str) -> Result<KeyView, AwsError> {
        let key = st
            .live(id, now_of(call))
            .ok_or_else(|| errors::key_not_found(id))?;
        Ok(KeyView {
            id: key.rec.id.clone(),
            arn: key.arn(),
            account: key.rec.account.clone(),
            policy: match &key.effective {
                Some(p) => p.clone(),
                None => key.policy_for(&caller_principals(call)),
            },
            tags: key.rec.tags.clone(),
            aliases: st.aliases_of(id),
            request_alias: None,
            managed: None,
        })
    }

    /// A check of `action` on the key, with the key policy and the condition keys every key
    /// operation supplies.
    pub(crate) fn key_check(&self, call: &Call, action: &'static str, v: &KeyView) -> Check {
        self.key_check_from(call, action, v.clone())
    }

    /// [`Kms::key_check`] of a view that is not needed afterwards: its parts move into the check.
    pub(crate) fn key_check_from(&self, call: &Call, action: &'static str, v: KeyView) -> Check {
        let mut c = Check::new(action, v.arn)
            .owned_by(v.account)
            .key_policy(v.policy)
            .resource_tags(v.tags)
            .with("kms:CallerAccount", call.account().to_string())
            .with("kms:KeyOrigin", "AWS_KMS")
            .with("kms:KeySpec", "SYMMETRIC_DEFAULT")
            .with("kms:KeyUsage", "ENCRYPT_DECRYPT")
            .with("kms:MultiRegion", false)
            .with_opt("kms:RequestAlias", v.request_alias);
        if !v.aliases.is_empty() {
            c = c.with("kms:ResourceAliases", v.aliases);
        }
        self.with_via(call, c)
    }

    /// A check of an action without a key (`kms:CreateKey`, `kms:ListKeys`...): IAM policies decide.
    pub(crate) fn account_check(&self, call: &Call, action: &'static str) -> Check {
        let c = Check::new(action, "*").with("kms:CallerAccount", call.account().to_string());
        self.with_via(call, c)
    }

    fn with_via(&self, call: &Call, c: Check) -> Check {
        match &call.via {
            Some(via) => {
                let name = via
                    .service
                    .strip_suffix(".amazonaws.com")
                    .unwrap_or(via.service);
                c.with(
                    "kms:ViaService",
                    [name, ".", &self.region, ".amazonaws.com"].concat(),
                )
            }
            None => c,
        }
    }

    /// The id of the existing key `input` names.
    pub(crate) fn existing_id(
        &self,
        st: &State,
        call: &Call,
        input: &str,
        accept_alias: bool,
    ) -> Result<String, AwsError> {
        let r = self.parse_ref(call.account(), input, accept_alias)?;
        match self.lookup_id(st, &r, now_of(call))? {
            Some(id) => Ok(id),
            None => Err(errors::key_not_found(input)),
        }
    }

    /// Reads the key `input` names.
    pub(crate) fn with_key<R>(
        &self,
        call: &Call,
        input: &str,
        accept_alias: bool,
        f: impl FnOnce(&State, &Key) -> Result<R, AwsError>,
    ) -> Result<R, AwsError> {
        let st = self.read();
        let id = self.existing_id(&st, call, input, accept_alias)?;
        let key = st
            .keys
            .get(&id)
            .ok_or_else(|| errors::key_not_found(input))?;
        f(&st, key)
    }

    /// Changes the key `input` names with `f` (which validates before it changes anything) and
    /// writes it through, with the call's audit record, before returning `f`'s result.
    pub(crate) async fn update_key<R>(
        &self,
        call: &Call,
        input: &str,
        accept_alias: bool,
        f: impl FnOnce(&mut Key, &storage::Keyring, f64) -> Result<R, AwsError>,
    ) -> Result<R, AwsError> {
        let now = now_of(call);
        let (result, pending) = {
            let mut st = self.write();
            let id = self.existing_id(&st, call, input, accept_alias)?;
            let key = st
                .keys
                .get_mut(&id)
                .ok_or_else(|| errors::key_not_found(input))?;
            let result = f(key, self.store.keyring(), now)?;
            let mut batch = storage::Batch::new();
            batch.put(&key.rec);
            st.purge_expired(now, &mut batch);
            (result, call.submit(batch))
        };
        pending.await?;
        Ok(result)
    }

    /// Rotates the key's material if its automatic rotation is due.
    pub(crate) async fn rotate_if_due(&self, call: &Call, id: &str) -> Result<(), AwsError> {
        let now = now_of(call);
        let due = {
            let st = self.read();
            st.live(id, now)
                .and_then(|k| k.rec.rotation.as_ref())
                .is_some_and(|r| r.next <= now)
        };
        if !due {
            return Ok(());
        }
        let pending = {
            let mut st = self.write();
            let Some(key) = st.keys.get_mut(id) else {
                return Ok(());
            };
            let Some(rotation) = key.rec.rotation.clone() else {
                return Ok(());
            };
            if rotation.next > now {
                return Ok(());
            }
            key.add_material(self.store.keyring(), now, Some("AUTOMATIC"))?;
            let period = f64::from(rotation.period_days.max(1)) * 86400.0;
            let mut next = rotation.next;
            while next <= now {
                next += period;
            }
            key.rec.rotation = Some(records::Rotation {
                period_days: rotation.period_days,
                next,
            });
            let mut batch = storage::Batch::new();
            batch.put(&key.rec);
            call.submit(batch)
        };
        pending.await
    }

    /// Creates the AWS managed key `view` stands for, unless it exists.
    pub(crate) async fn ensure_managed(&self, call: &Call, v: &KeyView) -> Result<(), AwsError> {
        let Some(service) = v.managed else {
            return Ok(());
        };
        let now = now_of(call);
        let pending = {
            let mut st = self.write();
            if st.live(&v.id, now).is_some() {
                return Ok(());
            }
            let (_, title, description) = keypolicy::AWS_MANAGED
                .iter()
                .find(|(s, _, _)| *s == service)
                .copied()
                .unwrap_or((service, service, ""));
            let text = keypolicy::aws_managed_policy(&v.account, &self.region, service, title);
            let (material, _) = state::new_material(self.keyring(), &v.id, 1, now, None)?;
            let rec = KeyRecord {
                id: v.id.clone(),
                account: v.account.clone(),
                region: self.region.clone(),
                created: now,
                description: description.to_string(),
                state: KeyState::Enabled,
                deletion_date: None,
                pending_window_days: None,
                policy: text,
                tags: Vec::new(),
                manager: "AWS".into(),
                rotation: Some(records::Rotation {
                    period_days: 365,
                    next: now + 365.0 * 86400.0,
                }),
                on_demand_started: None,
                materials: vec![material],
                grants: Vec::new(),
            };
            let key = Key::load(rec, self.keyring()).map_err(AwsError::internal)?;
            let alias = AliasRecord {
                account: v.account.clone(),
                region: self.region.clone(),
                name: format!("alias/aws/{service}"),
                target: v.id.clone(),
                created: now,
                updated: now,
            };
            let mut batch = storage::Batch::new();
            batch.put(&key.rec);
            batch.put(&alias);
            st.keys.insert(v.id.clone(), key);
            st.put_alias(alias);
            call.submit(batch)
        };
        pending.await
    }
}

/// The service of an AWS managed alias (`alias/aws/s3` → `s3`).
pub(crate) fn managed_service(alias: &str) -> Option<&'static str> {
    let service = alias.strip_prefix("alias/aws/")?;
    keypolicy::AWS_MANAGED
        .iter()
        .find(|(s, _, _)| *s == service)
        .map(|(s, _, _)| *s)
}

/// The identities a grant may name for `call`'s caller: its ARN, its role, its account.
pub(crate) fn caller_principals(call: &Call) -> Vec<String> {
    let c = &call.caller;
    let mut out = vec![c.arn.clone()];
    if let Some((role, _, _)) = c.session.as_ref().and_then(|s| s.role.as_ref()) {
        out.push(role.clone());
    }
    if !c.account.is_empty() {
        out.push(c.account.clone());
        out.push(format!("arn:aws:iam::{}:root", c.account));
    }
    out
}

/// The request time in epoch seconds.
pub(crate) fn now_of(call: &Call) -> f64 {
    epoch(call.now)
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0)
}

pub(crate) fn now_epoch() -> f64 {
    epoch(SystemTime::now())
}

/// One page of `items` (sorted by their marker key) after `marker`.
pub(crate) fn paginate<T>(
    items: Vec<(String, T)>,
    marker: Option<&str>,
    limit: Option<i64>,
    default_limit: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let after = match marker {
        Some(m) => Some(
            URL_SAFE_NO_PAD
                .decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(errors::invalid_marker)?,
        ),
        None => None,
    };
    let limit = limit
        .and_then(|l| usize::try_from(l).ok())
        .filter(|l| *l > 0)
        .unwrap_or(default_limit);
    let mut page = Vec::new();
    let mut last = None;
    let mut more = false;
    for (k, item) in items {
        if after.as_ref().is_some_and(|a| k.as_str() <= a.as_str()) {
            continue;
        }
        if page.len() == limit {
            more = true;
            break;
        }
        last = Some(k);
        page.push(item);
    }
    let next = if more {
        last.map(|k| URL_SAFE_NO_PAD.encode(k.as_bytes()))
    } else {
        None
    };
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kms() -> Arc<Kms> {
        Kms::open(&storage::Store::ephemeral(), &gateway::Config::default()).expect("opens")
    }

    #[test]
    fn key_references() {
        let k = kms();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            k.parse_ref("111122223333", id, false),
            Ok(KeyRef::Id {
                account: "111122223333".into(),
                id: id.into()
            })
        );
        assert_eq!(
            k.parse_ref(
                "111122223333",
                &format!("arn:aws:kms:us-east-1:444455556666:key/{id}"),
                false
            ),
            Ok(KeyRef::Id {
                account: "444455556666".into(),
                id: id.into()
            })
        );
        assert_eq!(
            k.parse_ref("111122223333", "alias/x", true),
            Ok(KeyRef::Alias {
                account: "111122223333".into(),
                name: "alias/x".into()
            })
        );
        assert_eq!(
            k.parse_ref(
                "111122223333",
                "arn:aws:kms:us-east-1:444455556666:alias/x",
                true
            ),
            Ok(KeyRef::Alias {
                account: "444455556666".into(),
                name: "alias/x".into()
            })
        );
        for bad in [
            "alias/x",
            "nope",
            "arn:aws:s3:::b",
            "arn:aws:kms:us-east-1:1:alias/x",
        ] {
            let e = k.parse_ref("111122223333", bad, false).expect_err(bad);
            assert_eq!(e.code, "NotFoundException", "{bad}");
        }
        let e = k
            .parse_ref("1", &format!("arn:aws:kms:eu-west-1:1:key/{id}"), true)
            .expect_err("other region");
        assert_eq!(e.code, "NotFoundException");
    }

    #[test]
    fn resolving_keys_for_other_services() {
        let k = kms();
        assert_eq!(k.resolve_key_arn("111122223333", "alias/nothing"), None);
        assert_eq!(
            k.resolve_key_arn("111122223333", "1234abcd-12ab-34cd-56ef-1234567890ab"),
            None
        );
        let managed = k
            .resolve_key_arn("111122223333", "alias/aws/s3")
            .expect("AWS managed aliases resolve");
        assert!(managed.starts_with("arn:aws:kms:us-east-1:111122223333:key/"));
        assert_eq!(
            k.aws_managed_key_arn("111122223333", "s3"),
            Some(managed.clone())
        );
        assert_ne!(k.aws_managed_key_arn("444455556666", "s3"), Some(managed));
        assert_eq!(k.aws_managed_key_arn("111122223333", "nope"), None);
    }

    #[test]
    fn pagination() {
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let (page, next) = paginate(items.clone(), None, Some(2), 100).expect("page");
        assert_eq!(page, vec![0, 1]);
        let (page, next) = paginate(items.clone(), next.as_deref(), Some(2), 100).expect("page");
        assert_eq!(page, vec![2, 3]);
        let (page, next) = paginate(items.clone(), next.as_deref(), Some(2), 100).expect("page");
        assert_eq!((page, next), (vec![4], None));
        let (page, next) = paginate(items.clone(), None, None, 100).expect("page");
        assert_eq!((page.len(), next), (5, None));
        let e = paginate(items, Some("!!"), None, 100).expect_err("bad marker");
        assert_eq!(e.code, "InvalidMarkerException");
    }
}
