//! AWS Organizations: organizations, accounts (created with their own root credentials and
//! an `OrganizationAccountAccessRole`), organizational units, and the two authorization
//! policy types, service control policies and resource control policies.
//!
//! State lives in memory behind one lock and is written through to the store: a handler
//! checks everything, changes memory, queues its batch (carrying the call's audit record)
//! under the lock, and waits for durability after releasing it.
//!
//! [`Organizations`] is also the gateway's organization directory
//! ([`gateway::Organizations`]), asked on every request: what it answers is precomputed for
//! every account (org id, `aws:PrincipalOrgPaths`, compiled SCPs and RCPs per level, root →
//! OUs → account) and rebuilt whenever the organization changes.

#![forbid(unsafe_code)]

mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod ops;
pub mod state;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use gateway::{AwsError, Call, OrgAccount, ServiceDef};
use policy::Policy;
use storage::Batch;

pub use ops::*;

use crate::state::{
    AccountRec, AttachmentRec, CreateStatusRec, CredentialsRec, Kind, Org, OrgRec, OuRec,
    PolicyEntry, PolicyRec, State,
};

/// The trimmed botocore model (`tools/trim-model.py organizations`).
const MODEL: &str = include_str!("../organizations.json");

/// AWS's limit on the size of an SCP or RCP document, in characters.
pub const MAX_POLICY_SIZE: usize = 5120;

/// `FullAWSAccess`.
const FULL_AWS_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#;

/// `RCPFullAWSAccess`.
const RCP_FULL_AWS_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": "*",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#;

/// AWS Organizations for every organization of the instance.
pub struct Organizations {
    store: storage::Store,
    config: gateway::Config,
    iam: Arc<iam::Iam>,
    state: RwLock<State>,
    /// `FullAWSAccess` and `RCPFullAWSAccess`.
    managed: Vec<PolicyEntry>,
    /// What the gateway asks for on every request, per account.
    cache: RwLock<Arc<HashMap<String, Arc<OrgAccount>>>>,
    /// Whether `cache` lists any account. Most instances have no organization: their requests then
    /// skip the lock, whose shared counter every worker thread would otherwise write.
    any: AtomicBool,
}

fn managed_policies() -> Vec<PolicyEntry> {
    let mut out = Vec::new();
    for (kind, id, name, text) in [
        (
            Kind::Scp,
            "p-FullAWSAccess",
            "FullAWSAccess",
            FULL_AWS_ACCESS,
        ),
        (
            Kind::Rcp,
            "p-RCPFullAWSAccess",
            "RCPFullAWSAccess",
            RCP_FULL_AWS_ACCESS,
        ),
    ] {
        match Policy::parse(text, kind.policy_type()) {
            Ok(p) => out.push(PolicyEntry {
                id: id.into(),
                name: name.into(),
                description: "Allows access to every operation".into(),
                kind,
                content: text.into(),
                aws_managed: true,
                compiled: Arc::new(p),
                tags: Vec::new(),
            }),
            Err(e) => tracing::error!(error = %e, "{name} does not compile"),
        }
    }
    out
}

impl Organizations {
    /// Loads every organization from `store`.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
        iam: Arc<iam::Iam>,
    ) -> Result<Arc<Organizations>, storage::Error> {
        let managed = managed_policies();
        let mut st = State::default();
        for rec in store.table::<OrgRec>().load_all()? {
            let mut org = Org::new(rec);
            for p in &managed {
                org.policies.insert(p.id.clone(), p.clone());
            }
            st.orgs.insert(org.rec.id.clone(), org);
        }
        for a in store.table::<AccountRec>().load_all()? {
            if let Some(org) = st.orgs.get_mut(&a.org_id) {
                st.by_account.insert(a.id.clone(), a.org_id.clone());
                org.accounts.insert(a.id.clone(), a);
            }
        }
        for ou in store.table::<OuRec>().load_all()? {
            if let Some(org) = st.orgs.get_mut(&ou.org_id) {
                org.ous.insert(ou.id.clone(), ou);
            }
        }
        for p in store.table::<PolicyRec>().load_all()? {
            let Some(org) = st.orgs.get_mut(&p.org_id) else {
                continue;
            };
            match Policy::parse(&p.content, p.kind.policy_type()) {
                Ok(compiled) => {
                    org.policies.insert(p.id.clone(), entry_of(p, compiled));
                }
                Err(e) => {
                    tracing::error!(policy = %p.id, error = %e, "stored policy does not compile")
                }
            }
        }
        for a in store.table::<AttachmentRec>().load_all()? {
            if let Some(org) = st.orgs.get_mut(&a.org_id) {
                org.attachments.insert((a.policy_id, a.target_id));
            }
        }
        for s in store.table::<CreateStatusRec>().load_all()? {
            if let Some(org) = st.orgs.get_mut(&s.org_id) {
                org.statuses.insert(s.id.clone(), s);
            }
        }
        let cache = build_cache(&st);
        Ok(Arc::new(Organizations {
            store: store.clone(),
            config: config.clone(),
            iam,
            state: RwLock::new(st),
            managed,
            any: AtomicBool::new(!cache.is_empty()),
            cache: RwLock::new(Arc::new(cache)),
        }))
    }

    /// The `organizations` service.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        match ServiceDef::new("organizations", MODEL) {
            Ok(def) => ops::register(def, self),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("organizations model: {e}"),
        }
    }

    /// The served region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// Reads the state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "organizations", f)
    }

    /// Changes the state: `f` checks everything before it changes anything. The batch is
    /// queued (with the call's audit record) under the lock, the directory the gateway
    /// reads is rebuilt, and durability is awaited after the lock is released.
    pub(crate) async fn write<T, F>(&self, call: &Call, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&mut State, &mut Batch) -> Result<T, AwsError> + Send,
        T: Send,
    {
        gateway::state::commit_then(&self.state, "organizations", call, f, |st| {
            let cache = build_cache(st);
            if let Ok(mut c) = self.cache.write() {
                self.any.store(!cache.is_empty(), Ordering::Release);
                *c = Arc::new(cache);
            }
        })
        .await
    }

    /// The AWS managed policies, for a new organization.
    pub(crate) fn managed(&self) -> &[PolicyEntry] {
        &self.managed
    }

    /// IAM, for accounts and roles Organizations creates.
    pub(crate) fn iam(&self) -> &Arc<iam::Iam> {
        &self.iam
    }

    /// The store's keyring.
    pub(crate) fn keyring(&self) -> &storage::Keyring {
        self.store.keyring()
    }
}

pub(crate) fn entry_of(p: PolicyRec, compiled: Policy) -> PolicyEntry {
    PolicyEntry {
        id: p.id,
        name: p.name,
        description: p.description,
        kind: p.kind,
        content: p.content,
        aws_managed: false,
        compiled: Arc::new(compiled),
        tags: p.tags,
    }
}

/// Every account's organization facts: id, path, and the SCPs and RCPs of each level from
/// the root down to the account (a policy type that is not enabled contributes nothing).
fn build_cache(st: &State) -> HashMap<String, Arc<OrgAccount>> {
    let mut out = HashMap::new();
    for org in st.orgs.values() {
        for acct in org.accounts.values() {
            let mut levels = org.chain(&acct.parent_id);
            levels.push(acct.id.clone());
            let per_kind = |kind: Kind| -> Vec<Vec<Arc<Policy>>> {
                if !org.rec.enabled.contains(&kind) {
                    return Vec::new();
                }
                levels
                    .iter()
                    .map(|t| {
                        org.attached(t, kind)
                            .into_iter()
                            .map(|p| p.compiled.clone())
                            .collect()
                    })
                    .collect()
            };
            out.insert(
                acct.id.clone(),
                Arc::new(OrgAccount {
                    org_id: org.rec.id.clone(),
                    paths: vec![org.path(&acct.parent_id)],
                    management: acct.id == org.rec.management_account,
                    scps: per_kind(Kind::Scp),
                    rcps: per_kind(Kind::Rcp),
                }),
            );
        }
    }
    out
}

impl gateway::Organizations for Organizations {
    fn account(&self, account: &str) -> Option<Arc<OrgAccount>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.cache.read().ok()?.get(account).cloned()
    }
}

/// Random lowercase letters and digits.
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    random_from(len, ALPHABET)
}

pub(crate) fn random_from(len: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; len];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// Prints nothing; reads the root credentials Organizations generated for `account_id`
/// from a store (for `perimeter account credentials`). `Ok(None)` when it created no such
/// account.
pub fn stored_root_credentials(
    store: &storage::Store,
    account_id: &str,
) -> Result<Option<(String, String)>, String> {
    use base64::Engine;
    let Some(rec) = store
        .table::<CredentialsRec>()
        .get(account_id)
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let wrapped = base64::engine::general_purpose::STANDARD
        .decode(&rec.wrapped_secret)
        .map_err(|_| "stored account credentials are corrupt".to_string())?;
    let plain = store
        .keyring()
        .unwrap(&wrapped, &CredentialsRec::aad(account_id))
        .map_err(|e| e.to_string())?;
    let secret = String::from_utf8(plain.to_vec()).map_err(|e| e.to_string())?;
    Ok(Some((rec.access_key_id, secret)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AccountRec, OrgRec, OuRec};

    fn account(org: &str, id: &str, parent: &str) -> AccountRec {
        AccountRec {
            org_id: org.into(),
            id: id.into(),
            name: id.into(),
            email: format!("{id}@example.com"),
            joined_method: "CREATED".into(),
            joined: 0.0,
            parent_id: parent.into(),
            tags: Vec::new(),
        }
    }

    fn ou(org: &str, id: &str, parent: &str) -> OuRec {
        OuRec {
            org_id: org.into(),
            id: id.into(),
            name: id.into(),
            parent_id: parent.into(),
            tags: Vec::new(),
        }
    }

    /// Management account under the root; member 222222222222 under root → ou1 → ou2.
    fn sample(enabled: &[Kind]) -> State {
        let rec = OrgRec {
            id: "o-abcdefghij".into(),
            management_account: "111111111111".into(),
            management_email: "m@example.com".into(),
            feature_set: "ALL".into(),
            root_id: "r-abcd".into(),
            created: 0.0,
            enabled: enabled.iter().copied().collect(),
            root_tags: Vec::new(),
        };
        let mut org = Org::new(rec);
        for p in managed_policies() {
            org.policies.insert(p.id.clone(), p);
        }
        org.ous.insert(
            "ou-abcd-11111111".into(),
            ou("o-abcdefghij", "ou-abcd-11111111", "r-abcd"),
        );
        org.ous.insert(
            "ou-abcd-22222222".into(),
            ou("o-abcdefghij", "ou-abcd-22222222", "ou-abcd-11111111"),
        );
        org.accounts.insert(
            "111111111111".into(),
            account("o-abcdefghij", "111111111111", "r-abcd"),
        );
        org.accounts.insert(
            "222222222222".into(),
            account("o-abcdefghij", "222222222222", "ou-abcd-22222222"),
        );
        for t in [
            "r-abcd",
            "ou-abcd-11111111",
            "ou-abcd-22222222",
            "111111111111",
            "222222222222",
        ] {
            for k in enabled {
                org.attachments
                    .insert((k.full_access_id().into(), t.into()));
            }
        }
        let deny = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ssm:PutParameter","Resource":"*"}]}"#,
            policy::PolicyType::Scp,
        )
        .unwrap();
        let rec = PolicyRec {
            org_id: "o-abcdefghij".into(),
            id: "p-deny0001".into(),
            name: "deny".into(),
            description: String::new(),
            kind: Kind::Scp,
            content: deny.text().to_string(),
            tags: Vec::new(),
        };
        org.policies
            .insert("p-deny0001".into(), entry_of(rec, deny));
        org.attachments
            .insert(("p-deny0001".into(), "ou-abcd-11111111".into()));
        let mut st = State::default();
        st.by_account
            .insert("111111111111".into(), "o-abcdefghij".into());
        st.by_account
            .insert("222222222222".into(), "o-abcdefghij".into());
        st.orgs.insert("o-abcdefghij".into(), org);
        st
    }

    #[test]
    fn managed_policies_compile() {
        let m = managed_policies();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].id, "p-FullAWSAccess");
        assert_eq!(m[1].id, "p-RCPFullAWSAccess");
    }

    #[test]
    fn directory_levels_paths_and_management() {
        let cache = build_cache(&sample(&[Kind::Scp]));
        let member = &cache["222222222222"];
        assert_eq!(member.org_id, "o-abcdefghij");
        assert_eq!(
            member.paths,
            vec!["o-abcdefghij/r-abcd/ou-abcd-11111111/ou-abcd-22222222/".to_string()]
        );
        assert!(!member.management);
        // root, ou1, ou2, account; ou1 carries FullAWSAccess and the deny.
        assert_eq!(member.scps.len(), 4);
        assert_eq!(
            member.scps.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 2, 1, 1]
        );
        assert!(member.rcps.is_empty(), "RCPs are not enabled");
        let mgmt = &cache["111111111111"];
        assert!(mgmt.management);
        assert_eq!(mgmt.paths, vec!["o-abcdefghij/r-abcd/".to_string()]);
        assert!(!cache.contains_key("333333333333"));
    }

    #[test]
    fn scps_decide_for_members() {
        let cache = build_cache(&sample(&[Kind::Scp, Kind::Rcp]));
        let member = &cache["222222222222"];
        assert_eq!(member.rcps.len(), 4);
        let principal =
            policy::Principal::user("arn:aws:iam::222222222222:user/u", "AIDAEXAMPLE", "u");
        let admin = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            policy::PolicyType::Identity,
        )
        .unwrap();
        let identity = [&admin];
        let scps: Vec<Vec<&Policy>> = member
            .scps
            .iter()
            .map(|l| l.iter().map(Arc::as_ref).collect())
            .collect();
        let rcps: Vec<Vec<&Policy>> = member
            .rcps
            .iter()
            .map(|l| l.iter().map(Arc::as_ref).collect())
            .collect();
        let cx = policy::Context::new();
        let decide = |action: &str| {
            let req = policy::Request {
                principal: &principal,
                action,
                resource: "arn:aws:ssm:us-east-1:222222222222:parameter/x",
                resource_account: Some("222222222222"),
                context: &cx,
            };
            let set = policy::PolicySet {
                identity: &identity,
                resource: None,
                boundary: None,
                session: None,
                scps: &scps,
                rcps: &rcps,
                vpce: &[],
                key: None,
                trust: None,
            };
            policy::evaluate(&req, &set).outcome()
        };
        assert_eq!(decide("ssm:GetParameter"), policy::Outcome::Allowed);
        assert_eq!(
            decide("ssm:PutParameter"),
            policy::Outcome::ExplicitlyDenied
        );
    }

    #[test]
    fn chain_survives_a_missing_parent() {
        let st = sample(&[]);
        let org = &st.orgs["o-abcdefghij"];
        assert_eq!(org.chain("ou-abcd-22222222").len(), 3);
        assert_eq!(org.depth("ou-abcd-22222222"), 2);
        assert_eq!(
            org.chain("ou-missing-00000000"),
            vec!["ou-missing-00000000".to_string()]
        );
    }
}
