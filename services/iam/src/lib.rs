//! IAM and STS: one crate, two services (`iam` and `sts`).
//!
//! State lives in memory, per account ([`state::Account`]), behind one lock, and is written
//! through to the store: a handler changes memory and queues its batch (which carries the
//! call's audit record) under the lock, then waits for durability after releasing it, so
//! commits happen in the same order as the changes.
//!
//! [`Iam`] is also the gateway's credential directory ([`gateway::Identities`]): it turns an
//! access key into the caller with every policy that applies to it. The built caller is
//! cached per access key and invalidated by a generation counter that every IAM change bumps.

#![forbid(unsafe_code)]

mod caller;
pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
mod iam;
mod managed;
pub mod names;
mod simulate;
pub mod state;
mod sts;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway::{AwsError, Call, ServiceDef};
use storage::Batch;

pub use iam::*;
pub use sts::*;

use crate::state::{
    AccessKey, Account, AccountRecord, Group, InstanceProfile, ManagedPolicy, MfaDevice, Role,
    Secret, Session, State, User,
};

/// The IAM trimmed model (`tools/trim-model.py iam`).
const IAM_MODEL: &str = include_str!("../iam.json");
/// The STS trimmed model (`tools/trim-model.py sts`).
const STS_MODEL: &str = include_str!("../sts.json");

/// IAM and STS for every account.
pub struct Iam {
    store: storage::Store,
    config: gateway::Config,
    state: RwLock<State>,
    /// AWS managed policies by ARN (account `aws`).
    aws_policies: BTreeMap<String, ManagedPolicy>,
    /// Bumped by every change that can alter what a credential's caller looks like.
    generation: AtomicU64,
    cache: RwLock<HashMap<String, caller::Cached>>,
}

/// Seconds since the epoch.
pub(crate) fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn from_epoch(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl Iam {
    /// Loads every account's IAM and STS state from `store`.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
    ) -> Result<Arc<Iam>, storage::Error> {
        let keyring = store.keyring();
        let mut st = State::default();
        for mut rec in store.table::<AccountRecord>().load_all()? {
            rec.root_secret =
                Secret::unwrap(keyring, &rec.root_secret.wrapped, &root_aad(&rec.id))?;
            st.root_keys
                .insert(rec.root_access_key_id.clone(), rec.id.clone());
            st.accounts.insert(rec.id.clone(), Account::new(rec));
        }
        fn account<'a>(st: &'a mut State, id: &str) -> &'a mut Account {
            st.accounts.entry(id.to_string()).or_insert_with(|| {
                Account::new(AccountRecord {
                    id: id.to_string(),
                    root_access_key_id: String::new(),
                    root_secret: Secret {
                        plain: Arc::from(""),
                        wrapped: String::new(),
                    },
                    alias: None,
                    created: 0,
                })
            })
        }
        for u in store.table::<User>().load_all()? {
            account(&mut st, &u.account)
                .users
                .insert(u.name.to_lowercase(), u);
        }
        for g in store.table::<Group>().load_all()? {
            account(&mut st, &g.account)
                .groups
                .insert(g.name.to_lowercase(), g);
        }
        for r in store.table::<Role>().load_all()? {
            account(&mut st, &r.account)
                .roles
                .insert(r.name.to_lowercase(), r);
        }
        for p in store.table::<ManagedPolicy>().load_all()? {
            account(&mut st, &p.account)
                .policies
                .insert(p.name.to_lowercase(), p);
        }
        for p in store.table::<InstanceProfile>().load_all()? {
            account(&mut st, &p.account)
                .profiles
                .insert(p.name.to_lowercase(), p);
        }
        for mut d in store.table::<MfaDevice>().load_all()? {
            d.seed = Secret::unwrap(
                keyring,
                &d.seed.wrapped,
                &MfaDevice::aad(&d.account, &d.name),
            )?;
            account(&mut st, &d.account)
                .mfa
                .insert(d.name.to_lowercase(), d);
        }
        for mut k in store.table::<AccessKey>().load_all()? {
            k.secret = Secret::unwrap(keyring, &k.secret.wrapped, &AccessKey::aad(&k.id))?;
            st.keys.insert(k.id.clone(), k);
        }
        let now = epoch(SystemTime::now());
        let mut expired = Batch::new();
        for mut s in store.table::<Session>().load_all()? {
            if s.expires + state::EXPIRED_SESSION_RETENTION <= now {
                expired.delete::<Session>(&s.access_key_id);
                continue;
            }
            s.secret = Secret::unwrap(
                keyring,
                &s.secret.wrapped,
                &Session::secret_aad(&s.access_key_id),
            )?;
            s.token = Secret::unwrap(
                keyring,
                &s.token.wrapped,
                &Session::token_aad(&s.access_key_id),
            )?;
            st.sessions.insert(s.access_key_id.clone(), s);
        }
        if !expired.is_empty() && !store.is_read_only() {
            store.commit_blocking(expired)?;
        }
        Ok(Arc::new(Iam {
            store: store.clone(),
            config: config.clone(),
            state: RwLock::new(st),
            aws_policies: managed::load(),
            generation: AtomicU64::new(1),
            cache: RwLock::new(HashMap::new()),
        }))
    }

    /// The `iam` and `sts` services.
    pub fn service_defs(self: &Arc<Self>) -> Vec<ServiceDef> {
        let mut out = Vec::with_capacity(2);
        match ServiceDef::new("iam", IAM_MODEL) {
            Ok(def) => out.push(iam::register(def, self)),
            Err(e) => tracing::error!(error = %e, "iam model does not load"),
        }
        match ServiceDef::new("sts", STS_MODEL) {
            Ok(def) => out.push(sts::register(def, self)),
            Err(e) => tracing::error!(error = %e, "sts model does not load"),
        }
        out
    }

    /// Creates the account if it does not exist and sets its root credentials. Idempotent.
    pub fn ensure_account(
        &self,
        account_id: &str,
        root_access_key_id: &str,
        root_secret: &str,
    ) -> Result<(), storage::Error> {
        let pending = {
            let mut st = self.state.write().map_err(|_| storage::Error::Closed)?;
            if let Some(a) = st.accounts.get(account_id)
                && a.rec.root_access_key_id == root_access_key_id
                && &*a.rec.root_secret.plain == root_secret
            {
                return Ok(());
            }
            let secret = Secret::wrap(self.store.keyring(), root_secret, &root_aad(account_id))?;
            let created = st
                .accounts
                .get(account_id)
                .map(|a| a.rec.created)
                .filter(|c| *c > 0)
                .unwrap_or_else(|| epoch(SystemTime::now()));
            let alias = st
                .accounts
                .get(account_id)
                .and_then(|a| a.rec.alias.clone());
            let rec = AccountRecord {
                id: account_id.to_string(),
                root_access_key_id: root_access_key_id.to_string(),
                root_secret: secret,
                alias,
                created,
            };
            let mut batch = Batch::new();
            batch.put(&rec);
            if let Some(old) = st
                .accounts
                .get(account_id)
                .map(|a| a.rec.root_access_key_id.clone())
            {
                st.root_keys.remove(&old);
            }
            st.root_keys
                .insert(root_access_key_id.to_string(), account_id.to_string());
            match st.accounts.get_mut(account_id) {
                Some(a) => a.rec = rec,
                None => {
                    st.accounts
                        .insert(account_id.to_string(), Account::new(rec));
                }
            }
            self.bump();
            self.store.submit(batch)
        };
        pending.wait()
    }

    /// Whether `account_id` exists.
    pub fn account_exists(&self, account_id: &str) -> bool {
        self.state
            .read()
            .map(|st| st.accounts.contains_key(account_id))
            .unwrap_or(false)
    }

    /// Invalidates every cached caller.
    pub(crate) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Reads the state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "iam", f)
    }

    /// Changes the state: `f` must check everything before it changes anything. Its batch
    /// is queued (with the call's audit record) under the lock and awaited after; with `bump`,
    /// cached callers are invalidated under the lock.
    pub(crate) async fn write<T, F>(&self, call: &Call, bump: bool, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&mut State, &mut Batch) -> Result<T, AwsError> + Send,
        T: Send,
    {
        gateway::state::commit_then(&self.state, "iam", call, f, |_| {
            if bump {
                self.bump();
            }
        })
        .await
    }

    /// A managed policy by ARN: AWS managed, or customer managed in `account`.
    pub(crate) fn managed<'a>(
        &'a self,
        st: &'a State,
        account: &str,
        arn: &str,
    ) -> Option<&'a ManagedPolicy> {
        if arn.starts_with("arn:aws:iam::aws:policy/") {
            return self.aws_policies.get(arn);
        }
        st.accounts.get(account)?.local_policy(arn)
    }

    /// The store's keyring.
    pub(crate) fn keyring(&self) -> &storage::Keyring {
        self.store.keyring()
    }

    /// The served region.
    pub(crate) fn region(&self) -> &str {
        &self.config.region
    }

    /// Creates (or brings up to date) a role in `account_id` outside any request: used for
    /// roles AWS creates itself, such as Organizations' `OrganizationAccountAccessRole`.
    /// Idempotent: an existing role keeps its id and gets the given trust policy and
    /// managed policies attached.
    pub fn ensure_role(
        &self,
        account_id: &str,
        role_name: &str,
        trust_policy: &str,
        managed_policy_arns: &[&str],
    ) -> Result<(), AwsError> {
        names::check_name(role_name, "roleName", 64)?;
        let trust = state::Doc::parse(trust_policy)?;
        let pending = {
            let mut st = self
                .state
                .write()
                .map_err(|_| gateway::state::poisoned("iam"))?;
            for arn in managed_policy_arns {
                if self.managed(&st, account_id, arn).is_none() {
                    return Err(names::no_such_entity(format!(
                        "Policy {arn} does not exist or is not attachable."
                    )));
                }
            }
            let acct = st.account_mut(account_id)?;
            let now = epoch(SystemTime::now());
            let role = acct
                .roles
                .entry(role_name.to_lowercase())
                .or_insert_with(|| Role {
                    account: account_id.to_string(),
                    name: role_name.to_string(),
                    path: "/".into(),
                    id: crypto::unique_id("AROA"),
                    created: now,
                    trust: trust.clone(),
                    description: None,
                    max_session: 3600,
                    tags: Vec::new(),
                    inline: BTreeMap::new(),
                    attached: Vec::new(),
                    boundary: None,
                    last_used: None,
                });
            role.trust = trust;
            for arn in managed_policy_arns {
                if !role.attached.iter().any(|a| a == arn) {
                    role.attached.push((*arn).to_string());
                }
            }
            let mut batch = Batch::new();
            batch.put(&*role);
            self.bump();
            self.store.submit(batch)
        };
        pending.wait().map_err(AwsError::internal)
    }

    /// A role's ARN, unique id and trust policy, by ARN (any account).
    pub fn role_info(&self, role_arn: &str) -> Option<RoleInfo> {
        let p = names::parse_iam_arn(role_arn)?;
        if p.kind != "role" {
            return None;
        }
        let st = self.state.read().ok()?;
        let role = st
            .accounts
            .get(p.account)?
            .roles
            .get(&p.name.to_lowercase())?;
        if role.path != p.path {
            return None;
        }
        Some(RoleInfo {
            arn: role.arn(),
            name: role.name.clone(),
            id: role.id.clone(),
            account: role.account.clone(),
            trust_policy: role.trust.policy.clone(),
            tags: names::tag_pairs(&role.tags),
            max_session_duration: role.max_session,
        })
    }
}

/// What other services need to know about a role (e.g. for `iam:PassRole` and service sessions).
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub account: String,
    pub trust_policy: Option<Arc<policy::Policy>>,
    pub tags: Vec<(String, String)>,
    pub max_session_duration: u32,
}

fn root_aad(account: &str) -> String {
    format!("iam:root-secret:{account}")
}
