//! The IAM domain model, kept in memory per account and written through to the store.
//!
//! Every entity is its own record (`Record`), keyed `ACCOUNT/lower-case name` so that a
//! prefix scan selects one account. Policy documents are kept as text and parsed once
//! ([`Doc`]); secrets (access keys, session credentials, MFA seeds) are stored wrapped
//! by the instance keyring and held in plaintext only in memory.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::AwsError;
use policy::{Policy, PolicyType};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::{self, Tag};

/// The policy type a [`Doc`] is parsed as.
pub trait DocKind {
    const TYPE: PolicyType;
}

/// Identity-based policy documents (inline, managed, boundaries).
#[derive(Debug, Clone, Copy)]
pub struct IdentityDoc;
impl DocKind for IdentityDoc {
    const TYPE: PolicyType = PolicyType::Identity;
}

/// Role trust policies.
#[derive(Debug, Clone, Copy)]
pub struct TrustDoc;
impl DocKind for TrustDoc {
    const TYPE: PolicyType = PolicyType::Trust;
}

/// Session policies.
#[derive(Debug, Clone, Copy)]
pub struct SessionDoc;
impl DocKind for SessionDoc {
    const TYPE: PolicyType = PolicyType::Session;
}

/// A policy document: the text as given and the compiled policy. Stored as its text; a
/// document that no longer parses when loaded (a stricter engine) grants nothing and is
/// logged, rather than failing startup.
pub struct Doc<K> {
    pub text: String,
    pub policy: Option<Arc<Policy>>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Doc<K> {
    fn clone(&self) -> Self {
        Doc {
            text: self.text.clone(),
            policy: self.policy.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Doc<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc").field("text", &self.text).finish()
    }
}

impl<K: DocKind> Doc<K> {
    /// Parses `text`, failing with `MalformedPolicyDocument` at the engine's position.
    pub fn parse(text: &str) -> Result<Doc<K>, AwsError> {
        let policy = Policy::parse(text, K::TYPE).map_err(|e| names::malformed_policy(&e))?;
        Ok(Doc {
            text: text.to_string(),
            policy: Some(Arc::new(policy)),
            _kind: PhantomData,
        })
    }

    fn load(text: String) -> Doc<K> {
        let policy = match Policy::parse(&text, K::TYPE) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                tracing::warn!(error = %e, "stored policy document no longer parses; it grants nothing");
                None
            }
        };
        Doc {
            text,
            policy,
            _kind: PhantomData,
        }
    }
}

impl<K> Serialize for Doc<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de, K: DocKind> Deserialize<'de> for Doc<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Doc::load(text))
    }
}

/// A secret held in memory in plaintext and stored wrapped by the keyring.
#[derive(Clone)]
pub struct Secret {
    pub plain: Arc<str>,
    /// Base64 of the keyring-wrapped value.
    pub wrapped: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Wraps `plain` under `aad`.
    pub fn wrap(
        keyring: &storage::Keyring,
        plain: &str,
        aad: &str,
    ) -> Result<Secret, storage::Error> {
        let wrapped = keyring.wrap(plain.as_bytes(), aad.as_bytes())?;
        Ok(Secret {
            plain: Arc::from(plain),
            wrapped: STANDARD.encode(wrapped),
        })
    }

    /// Unwraps a stored value.
    pub fn unwrap(
        keyring: &storage::Keyring,
        wrapped: &str,
        aad: &str,
    ) -> Result<Secret, storage::Error> {
        let bytes = STANDARD
            .decode(wrapped)
            .map_err(|_| storage::Error::Unwrap)?;
        let plain = keyring.unwrap(&bytes, aad.as_bytes())?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| storage::Error::Unwrap)?;
        Ok(Secret {
            plain: Arc::from(text.as_str()),
            wrapped: wrapped.to_string(),
        })
    }
}

/// Serializes only the wrapped form of a secret; loading fills in the plaintext later.
mod wrapped_secret {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Secret, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.wrapped)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let wrapped = String::deserialize(d)?;
        Ok(Secret {
            plain: Arc::from(""),
            wrapped,
        })
    }
}

/// The key of an entity record: `ACCOUNT/lower-case name`.
pub fn entity_key(account: &str, name: &str) -> String {
    let mut k = String::with_capacity(account.len() + 1 + name.len());
    k.push_str(account);
    k.push('/');
    k.push_str(&name.to_lowercase());
    k
}

/// An account: its root credentials and alias.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: String,
    pub root_access_key_id: String,
    #[serde(with = "wrapped_secret")]
    pub root_secret: Secret,
    #[serde(default)]
    pub alias: Option<String>,
    pub created: u64,
}

impl storage::Record for AccountRecord {
    const TABLE: &'static str = "iam.account";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// An IAM user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub inline: BTreeMap<String, Doc<IdentityDoc>>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub boundary: Option<String>,
    /// Names of the groups the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl User {
    pub fn arn(&self) -> String {
        names::iam_arn(&self.account, "user", &self.path, &self.name)
    }
}

impl storage::Record for User {
    const TABLE: &'static str = "iam.user";
    fn key(&self) -> String {
        entity_key(&self.account, &self.name)
    }
}

/// An IAM group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: u64,
    #[serde(default)]
    pub inline: BTreeMap<String, Doc<IdentityDoc>>,
    #[serde(default)]
    pub attached: Vec<String>,
}

impl Group {
    pub fn arn(&self) -> String {
        names::iam_arn(&self.account, "group", &self.path, &self.name)
    }
}

impl storage::Record for Group {
    const TABLE: &'static str = "iam.group";
    fn key(&self) -> String {
        entity_key(&self.account, &self.name)
    }
}

/// An IAM role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: u64,
    pub trust: Doc<TrustDoc>,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub inline: BTreeMap<String, Doc<IdentityDoc>>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub boundary: Option<String>,
    /// When the role was last assumed, and in which region.
    #[serde(default)]
    pub last_used: Option<(u64, String)>,
}

impl Role {
    pub fn arn(&self) -> String {
        names::iam_arn(&self.account, "role", &self.path, &self.name)
    }
}

impl storage::Record for Role {
    const TABLE: &'static str = "iam.role";
    fn key(&self) -> String {
        entity_key(&self.account, &self.name)
    }
}

/// One version of a managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: String,
    pub doc: Doc<IdentityDoc>,
    pub created: u64,
}

/// A managed policy: customer managed (account id) or AWS managed (account `aws`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created: u64,
    pub updated: u64,
    pub default_version: String,
    pub versions: Vec<PolicyVersion>,
    /// The number the next version gets (`v{n}`).
    pub next_version: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        names::iam_arn(&self.account, "policy", &self.path, &self.name)
    }

    pub fn is_aws_managed(&self) -> bool {
        self.account == "aws"
    }

    /// The default version.
    pub fn default(&self) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.id == self.default_version)
    }

    /// The default version's compiled policy.
    pub fn default_policy(&self) -> Option<Arc<Policy>> {
        self.default().and_then(|v| v.doc.policy.clone())
    }
}

impl storage::Record for ManagedPolicy {
    const TABLE: &'static str = "iam.policy";
    fn key(&self) -> String {
        entity_key(&self.account, &self.name)
    }
}

/// An instance profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub account: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: u64,
    /// Names of the roles in the profile (at most one).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl InstanceProfile {
    pub fn arn(&self) -> String {
        names::iam_arn(&self.account, "instance-profile", &self.path, &self.name)
    }
}

impl storage::Record for InstanceProfile {
    const TABLE: &'static str = "iam.instance_profile";
    fn key(&self) -> String {
        entity_key(&self.account, &self.name)
    }
}

/// Whether an access key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// A long-term access key of an IAM user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub account: String,
    pub user: String,
    #[serde(with = "wrapped_secret")]
    pub secret: Secret,
    pub status: KeyStatus,
    pub created: u64,
}

impl AccessKey {
    pub fn aad(id: &str) -> String {
        format!("iam:access-key:{id}")
    }
}

impl storage::Record for AccessKey {
    const TABLE: &'static str = "iam.access_key";
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A virtual MFA device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaDevice {
    pub account: String,
    pub name: String,
    pub path: String,
    /// The Base32 seed, wrapped.
    #[serde(with = "wrapped_secret")]
    pub seed: Secret,
    pub created: u64,
    /// The user the device is enabled for.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub enabled: Option<u64>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl MfaDevice {
    pub fn serial(&self) -> String {
        names::iam_arn(&self.account, "mfa", &self.path, &self.name)
    }

    pub fn aad(account: &str, name: &str) -> String {
        format!("iam:mfa-seed:{account}:{}", name.to_lowercase())
    }

    /// The raw seed bytes.
    pub fn seed_bytes(&self) -> Option<Vec<u8>> {
        crate::crypto::base32_decode(&self.seed.plain)
    }
}

impl storage::Record for MfaDevice {
    const TABLE: &'static str = "iam.mfa";
    fn key(&self) -> String {
        entity_key(&self.account, &self.name)
    }
}

/// Who a temporary credential belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SessionKind {
    /// `AssumeRole`.
    Role {
        role_name: String,
        role_id: String,
        role_arn: String,
        session_name: String,
    },
    /// `GetSessionToken` by an IAM user.
    User { user_name: String },
    /// `GetSessionToken` by the account root.
    Root,
    /// `GetFederationToken`.
    Federated { name: String, user_name: String },
}

/// How long an expired session is kept, so that its credentials are refused with
/// `ExpiredToken` (as AWS does) rather than `InvalidClientTokenId`.
pub const EXPIRED_SESSION_RETENTION: u64 = 12 * 3600;

/// Temporary credentials and the session they carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub account: String,
    #[serde(with = "wrapped_secret")]
    pub secret: Secret,
    #[serde(with = "wrapped_secret")]
    pub token: Secret,
    pub kind: SessionKind,
    pub issued: u64,
    pub expires: u64,
    #[serde(default)]
    pub mfa_at: Option<u64>,
    #[serde(default)]
    pub source_identity: Option<String>,
    #[serde(default)]
    pub policy: Option<Doc<SessionDoc>>,
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    pub issuer: String,
}

impl Session {
    pub fn secret_aad(id: &str) -> String {
        format!("sts:session-secret:{id}")
    }

    pub fn token_aad(id: &str) -> String {
        format!("sts:session-token:{id}")
    }

    /// The session's principal ARN.
    pub fn arn(&self) -> String {
        match &self.kind {
            SessionKind::Role {
                role_name,
                session_name,
                ..
            } => {
                format!(
                    "arn:aws:sts::{}:assumed-role/{role_name}/{session_name}",
                    self.account
                )
            }
            SessionKind::User { .. } => self.issuer.clone(),
            SessionKind::Root => format!("arn:aws:iam::{}:root", self.account),
            SessionKind::Federated { name, .. } => {
                format!("arn:aws:sts::{}:federated-user/{name}", self.account)
            }
        }
    }
}

impl storage::Record for Session {
    const TABLE: &'static str = "sts.session";
    fn key(&self) -> String {
        self.access_key_id.clone()
    }
}

/// One account's IAM entities, by lower-case name.
#[derive(Debug, Clone)]
pub struct Account {
    pub rec: AccountRecord,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub roles: BTreeMap<String, Role>,
    pub policies: BTreeMap<String, ManagedPolicy>,
    pub profiles: BTreeMap<String, InstanceProfile>,
    pub mfa: BTreeMap<String, MfaDevice>,
}

impl Account {
    pub fn new(rec: AccountRecord) -> Account {
        Account {
            rec,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            policies: BTreeMap::new(),
            profiles: BTreeMap::new(),
            mfa: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.rec.id
    }

    pub fn user(&self, name: &str) -> Result<&User, AwsError> {
        self.users.get(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("The user with name {name} cannot be found."))
        })
    }

    pub fn user_mut(&mut self, name: &str) -> Result<&mut User, AwsError> {
        self.users.get_mut(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("The user with name {name} cannot be found."))
        })
    }

    pub fn group(&self, name: &str) -> Result<&Group, AwsError> {
        self.groups.get(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("The group with name {name} cannot be found."))
        })
    }

    pub fn group_mut(&mut self, name: &str) -> Result<&mut Group, AwsError> {
        self.groups.get_mut(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("The group with name {name} cannot be found."))
        })
    }

    pub fn role(&self, name: &str) -> Result<&Role, AwsError> {
        self.roles.get(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("The role with name {name} cannot be found."))
        })
    }

    pub fn role_mut(&mut self, name: &str) -> Result<&mut Role, AwsError> {
        self.roles.get_mut(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("The role with name {name} cannot be found."))
        })
    }

    pub fn profile(&self, name: &str) -> Result<&InstanceProfile, AwsError> {
        self.profiles.get(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("Instance Profile {name} cannot be found."))
        })
    }

    pub fn profile_mut(&mut self, name: &str) -> Result<&mut InstanceProfile, AwsError> {
        self.profiles.get_mut(&name.to_lowercase()).ok_or_else(|| {
            names::no_such_entity(format!("Instance Profile {name} cannot be found."))
        })
    }

    /// The customer managed policy with ARN `arn` in this account.
    pub fn local_policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        let p = names::parse_iam_arn(arn)?;
        if p.kind != "policy" || p.account != self.rec.id {
            return None;
        }
        self.policies
            .get(&p.name.to_lowercase())
            .filter(|m| m.path == p.path)
    }

    pub fn local_policy_mut(&mut self, arn: &str) -> Option<&mut ManagedPolicy> {
        let p = names::parse_iam_arn(arn)?;
        if p.kind != "policy" || p.account != self.rec.id {
            return None;
        }
        let path = p.path.to_string();
        self.policies
            .get_mut(&p.name.to_lowercase())
            .filter(|m| m.path == path)
    }

    /// The virtual MFA device with serial number `serial` (its ARN).
    pub fn mfa_by_serial(&self, serial: &str) -> Option<&MfaDevice> {
        let p = names::parse_iam_arn(serial)?;
        if p.kind != "mfa" || p.account != self.rec.id {
            return None;
        }
        self.mfa.get(&p.name.to_lowercase())
    }

    pub fn mfa_by_serial_mut(&mut self, serial: &str) -> Option<&mut MfaDevice> {
        let p = names::parse_iam_arn(serial)?;
        if p.kind != "mfa" || p.account != self.rec.id {
            return None;
        }
        self.mfa.get_mut(&p.name.to_lowercase())
    }

    /// How many users, groups and roles have `arn` attached, and as a boundary.
    pub fn usage(&self, arn: &str) -> (usize, usize) {
        let attached = self
            .users
            .values()
            .filter(|u| u.attached.iter().any(|a| a == arn))
            .count()
            + self
                .groups
                .values()
                .filter(|g| g.attached.iter().any(|a| a == arn))
                .count()
            + self
                .roles
                .values()
                .filter(|r| r.attached.iter().any(|a| a == arn))
                .count();
        let boundary = self
            .users
            .values()
            .filter(|u| u.boundary.as_deref() == Some(arn))
            .count()
            + self
                .roles
                .values()
                .filter(|r| r.boundary.as_deref() == Some(arn))
                .count();
        (attached, boundary)
    }
}

/// Everything IAM and STS know.
#[derive(Debug, Default)]
pub struct State {
    pub accounts: HashMap<String, Account>,
    /// Long-term access keys of IAM users, by id.
    pub keys: HashMap<String, AccessKey>,
    /// Temporary credentials, by access key id.
    pub sessions: HashMap<String, Session>,
    /// Root access key id → account id.
    pub root_keys: HashMap<String, String>,
}

impl State {
    pub fn account(&self, id: &str) -> Result<&Account, AwsError> {
        self.accounts
            .get(id)
            .ok_or_else(|| names::no_such_entity(format!("The account {id} cannot be found.")))
    }

    pub fn account_mut(&mut self, id: &str) -> Result<&mut Account, AwsError> {
        self.accounts
            .get_mut(id)
            .ok_or_else(|| names::no_such_entity(format!("The account {id} cannot be found.")))
    }
}
