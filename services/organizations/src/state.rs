//! What an organization is made of, as kept in the store and in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use gateway::AwsError;
use policy::Policy;
use serde::{Deserialize, Serialize};

use crate::errors;

/// A policy type this implementation enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `SERVICE_CONTROL_POLICY`.
    #[serde(rename = "SERVICE_CONTROL_POLICY")]
    Scp,
    /// `RESOURCE_CONTROL_POLICY`.
    #[serde(rename = "RESOURCE_CONTROL_POLICY")]
    Rcp,
}

impl Kind {
    /// Parses the API name; other Organizations policy types are not modelled.
    pub fn parse(text: &str) -> Result<Kind, AwsError> {
        match text {
            "SERVICE_CONTROL_POLICY" => Ok(Kind::Scp),
            "RESOURCE_CONTROL_POLICY" => Ok(Kind::Rcp),
            _ => Err(errors::type_not_available()),
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scp => "SERVICE_CONTROL_POLICY",
            Kind::Rcp => "RESOURCE_CONTROL_POLICY",
        }
    }

    /// The ARN segment (`service_control_policy`).
    pub fn arn_segment(self) -> &'static str {
        match self {
            Kind::Scp => "service_control_policy",
            Kind::Rcp => "resource_control_policy",
        }
    }

    /// The policy language's type.
    pub fn policy_type(self) -> policy::PolicyType {
        match self {
            Kind::Scp => policy::PolicyType::Scp,
            Kind::Rcp => policy::PolicyType::Rcp,
        }
    }

    /// The AWS managed policy attached everywhere when the type is enabled.
    pub fn full_access_id(self) -> &'static str {
        match self {
            Kind::Scp => "p-FullAWSAccess",
            Kind::Rcp => "p-RCPFullAWSAccess",
        }
    }

    /// Both types.
    pub const ALL: [Kind; 2] = [Kind::Scp, Kind::Rcp];
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// An organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgRec {
    pub id: String,
    pub management_account: String,
    pub management_email: String,
    pub feature_set: String,
    pub root_id: String,
    pub created: f64,
    /// Enabled policy types (at the root).
    pub enabled: BTreeSet<Kind>,
    #[serde(default)]
    pub root_tags: Vec<Tag>,
}

impl storage::Record for OrgRec {
    const TABLE: &'static str = "organizations.organization";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A member (or the management) account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRec {
    pub org_id: String,
    pub id: String,
    pub name: String,
    pub email: String,
    /// `INVITED` or `CREATED`.
    pub joined_method: String,
    pub joined: f64,
    /// A root or OU id.
    pub parent_id: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl storage::Record for AccountRec {
    const TABLE: &'static str = "organizations.account";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// An organizational unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OuRec {
    pub org_id: String,
    pub id: String,
    pub name: String,
    pub parent_id: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl storage::Record for OuRec {
    const TABLE: &'static str = "organizations.ou";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A customer managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRec {
    pub org_id: String,
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub content: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl storage::Record for PolicyRec {
    const TABLE: &'static str = "organizations.policy";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A policy attached to a root, OU or account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachmentRec {
    pub org_id: String,
    pub policy_id: String,
    pub target_id: String,
}

impl AttachmentRec {
    pub fn key_of(org_id: &str, policy_id: &str, target_id: &str) -> String {
        format!("{org_id}/{policy_id}/{target_id}")
    }
}

impl storage::Record for AttachmentRec {
    const TABLE: &'static str = "organizations.attachment";
    fn key(&self) -> String {
        AttachmentRec::key_of(&self.org_id, &self.policy_id, &self.target_id)
    }
}

/// One `CreateAccount` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateStatusRec {
    pub org_id: String,
    pub id: String,
    pub account_name: String,
    pub state: String,
    pub requested: f64,
    pub completed: Option<f64>,
    pub account_id: Option<String>,
    pub failure_reason: Option<String>,
}

impl storage::Record for CreateStatusRec {
    const TABLE: &'static str = "organizations.create_account_status";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// The root credentials Organizations generated for an account it created, wrapped with
/// the instance keyring; `perimeter account credentials` prints them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialsRec {
    pub account_id: String,
    pub access_key_id: String,
    /// Base64 of the keyring-wrapped secret access key.
    pub wrapped_secret: String,
}

impl CredentialsRec {
    /// The additional authenticated data binding a wrapped secret to its account.
    pub fn aad(account_id: &str) -> Vec<u8> {
        format!("organizations:root-credentials:{account_id}").into_bytes()
    }
}

impl storage::Record for CredentialsRec {
    const TABLE: &'static str = "organizations.account_credentials";
    fn key(&self) -> String {
        self.account_id.clone()
    }
}

/// A policy as the API shows it: customer managed or AWS managed.
#[derive(Debug, Clone)]
pub struct PolicyEntry {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub content: String,
    pub aws_managed: bool,
    pub compiled: Arc<Policy>,
    pub tags: Vec<Tag>,
}

/// One organization in memory.
#[derive(Debug, Clone)]
pub struct Org {
    pub rec: OrgRec,
    pub accounts: BTreeMap<String, AccountRec>,
    pub ous: BTreeMap<String, OuRec>,
    pub policies: BTreeMap<String, PolicyEntry>,
    /// (policy id, target id).
    pub attachments: BTreeSet<(String, String)>,
    pub statuses: BTreeMap<String, CreateStatusRec>,
}

/// What a target id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Root,
    Ou,
    Account,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Root => "ROOT",
            TargetKind::Ou => "ORGANIZATIONAL_UNIT",
            TargetKind::Account => "ACCOUNT",
        }
    }
}

impl Org {
    pub fn new(rec: OrgRec) -> Org {
        Org {
            rec,
            accounts: BTreeMap::new(),
            ous: BTreeMap::new(),
            policies: BTreeMap::new(),
            attachments: BTreeSet::new(),
            statuses: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.rec.id
    }

    pub fn management(&self) -> &str {
        &self.rec.management_account
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.rec.management_account, self.rec.id
        )
    }

    pub fn root_arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:root/{}/{}",
            self.rec.management_account, self.rec.id, self.rec.root_id
        )
    }

    pub fn account_arn(&self, account: &str) -> String {
        format!(
            "arn:aws:organizations::{}:account/{}/{account}",
            self.rec.management_account, self.rec.id
        )
    }

    pub fn ou_arn(&self, ou: &str) -> String {
        format!(
            "arn:aws:organizations::{}:ou/{}/{ou}",
            self.rec.management_account, self.rec.id
        )
    }

    pub fn policy_arn(&self, p: &PolicyEntry) -> String {
        if p.aws_managed {
            format!(
                "arn:aws:organizations::aws:policy/{}/{}",
                p.kind.arn_segment(),
                p.id
            )
        } else {
            format!(
                "arn:aws:organizations::{}:policy/{}/{}/{}",
                self.rec.management_account,
                self.rec.id,
                p.kind.arn_segment(),
                p.id
            )
        }
    }

    /// What `id` names in this organization, if anything.
    pub fn target_kind(&self, id: &str) -> Option<TargetKind> {
        if id == self.rec.root_id {
            Some(TargetKind::Root)
        } else if self.ous.contains_key(id) {
            Some(TargetKind::Ou)
        } else if self.accounts.contains_key(id) {
            Some(TargetKind::Account)
        } else {
            None
        }
    }

    /// The ARN of a root, OU or account id (or `None` when it names nothing here).
    pub fn target_arn(&self, id: &str) -> Option<String> {
        Some(match self.target_kind(id)? {
            TargetKind::Root => self.root_arn(),
            TargetKind::Ou => self.ou_arn(id),
            TargetKind::Account => self.account_arn(id),
        })
    }

    /// A target's display name.
    pub fn target_name(&self, id: &str) -> String {
        match self.target_kind(id) {
            Some(TargetKind::Root) => "Root".into(),
            Some(TargetKind::Ou) => self.ous.get(id).map(|o| o.name.clone()).unwrap_or_default(),
            Some(TargetKind::Account) => self
                .accounts
                .get(id)
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// Whether `id` is the root or one of the OUs.
    pub fn is_parent(&self, id: &str) -> bool {
        id == self.rec.root_id || self.ous.contains_key(id)
    }

    /// The chain from the root down to `parent` (inclusive): root, OU, OU...
    pub fn chain(&self, parent: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = parent.to_string();
        // Bounded by the number of OUs: a cycle is impossible, but never loop forever.
        for _ in 0..=self.ous.len() + 1 {
            out.push(cur.clone());
            match self.ous.get(&cur) {
                Some(ou) => cur = ou.parent_id.clone(),
                None => break,
            }
        }
        out.reverse();
        out
    }

    /// The `aws:PrincipalOrgPaths` entry for something under `parent`.
    pub fn path(&self, parent: &str) -> String {
        let mut p = format!("{}/", self.rec.id);
        for id in self.chain(parent) {
            p.push_str(&id);
            p.push('/');
        }
        p
    }

    /// The policies of `kind` attached to `target`.
    pub fn attached(&self, target: &str, kind: Kind) -> Vec<&PolicyEntry> {
        self.attachments
            .iter()
            .filter(|(_, t)| t == target)
            .filter_map(|(p, _)| self.policies.get(p))
            .filter(|p| p.kind == kind)
            .collect()
    }

    /// How many OUs deep `parent` is (root = 0).
    pub fn depth(&self, parent: &str) -> usize {
        self.chain(parent).len().saturating_sub(1)
    }
}

/// Every organization, and which account belongs to which.
#[derive(Debug, Default)]
pub struct State {
    pub orgs: BTreeMap<String, Org>,
    pub by_account: HashMap<String, String>,
}

impl State {
    /// The organization `account` belongs to.
    pub fn org_of(&self, account: &str) -> Result<&Org, AwsError> {
        self.by_account
            .get(account)
            .and_then(|id| self.orgs.get(id))
            .ok_or_else(errors::not_in_use)
    }

    /// The organization `account` manages: members get `AccessDeniedException`.
    pub fn managed_by(&self, account: &str) -> Result<&Org, AwsError> {
        let org = self.org_of(account)?;
        if org.management() != account {
            return Err(errors::management_only());
        }
        Ok(org)
    }

    /// The organization `account` manages, for changes.
    pub fn managed_by_mut(&mut self, account: &str) -> Result<&mut Org, AwsError> {
        self.managed_by(account)?;
        let id = self
            .by_account
            .get(account)
            .cloned()
            .ok_or_else(errors::not_in_use)?;
        self.orgs.get_mut(&id).ok_or_else(errors::not_in_use)
    }
}
