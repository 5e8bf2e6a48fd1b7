//! KMS's working state: every key and alias in memory, with compiled policies and unwrapped material.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::AwsError;
use policy::{Policy, PolicyType};

use crate::crypto::{self, Material};
use crate::errors;
use crate::keypolicy;
use crate::records::{AliasRecord, KeyRecord, KeyState, MaterialRecord};

/// The `aad` the instance keyring binds to a key's material.
pub fn material_aad(key_id: &str, version: u32) -> Vec<u8> {
    format!("kms:key-material:{key_id}:{version}").into_bytes()
}

/// A policy that allows nothing to anyone, for a stored key policy that no longer compiles.
fn deny_all() -> Arc<Policy> {
    static DENY: std::sync::OnceLock<Arc<Policy>> = std::sync::OnceLock::new();
    DENY.get_or_init(|| {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"StoredPolicyInvalid","Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#;
        Arc::new(Policy::parse(text, PolicyType::Key).expect("a literal policy parses"))
    })
    .clone()
}

/// A key in memory.
pub struct Key {
    pub rec: KeyRecord,
    /// The key policy alone.
    pub policy: Arc<Policy>,
    /// The key policy with every grant compiled in; `None` when that document is too large to
    /// compile, in which case the grants that can apply to a caller are compiled per request.
    pub effective: Option<Arc<Policy>>,
    /// Unwrapped material by version.
    pub materials: HashMap<u32, Arc<Material>>,
}

impl Key {
    /// Builds the in-memory key from its record: compiles its policy and unwraps its material.
    pub fn load(rec: KeyRecord, keyring: &storage::Keyring) -> Result<Key, String> {
        let mut materials = HashMap::new();
        for m in &rec.materials {
            let wrapped = STANDARD
                .decode(&m.wrapped)
                .map_err(|e| format!("material {} of key {}: {e}", m.version, rec.id))?;
            let plain = keyring
                .unwrap(&wrapped, &material_aad(&rec.id, m.version))
                .map_err(|e| format!("material {} of key {}: {e}", m.version, rec.id))?;
            let material = Material::from_bytes(&plain[..])
                .map_err(|_| format!("material {} of key {} is malformed", m.version, rec.id))?;
            materials.insert(m.version, Arc::new(material));
        }
        let policy = match Policy::parse(&rec.policy, PolicyType::Key) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                tracing::warn!(key = %rec.id, error = %e, "stored key policy no longer parses; the key denies everything");
                deny_all()
            }
        };
        let mut key = Key {
            rec,
            policy,
            effective: None,
            materials,
        };
        key.recompile();
        Ok(key)
    }

    /// Recompiles the effective policy after the key policy or the grants change.
    pub fn recompile(&mut self) {
        self.effective = if self.rec.grants.is_empty() {
            Some(self.policy.clone())
        } else {
            keypolicy::compile_with_grants(&self.rec.policy, &self.rec.grants).map(Arc::new)
        };
    }

    /// Replaces the key policy (already validated).
    pub fn set_policy(&mut self, text: String, policy: Arc<Policy>) {
        self.rec.policy = text;
        self.policy = policy;
        self.recompile();
    }

    /// The key ARN.
    pub fn arn(&self) -> String {
        self.rec.arn()
    }

    /// The policy that decides a request of `principals` (the caller's ARN, role ARN, account...).
    pub fn policy_for(&self, principals: &[String]) -> Arc<Policy> {
        if let Some(p) = &self.effective {
            return p.clone();
        }
        let relevant = self
            .rec
            .grants
            .iter()
            .filter(|g| principals.iter().any(|p| p == &g.grantee));
        keypolicy::compile_with_grants(&self.rec.policy, relevant)
            .map(Arc::new)
            .unwrap_or_else(|| {
                tracing::warn!(key = %self.rec.id, "grants for this caller do not fit in a key policy; they are not applied");
                self.policy.clone()
            })
    }

    /// Whether the key can be used in cryptographic operations: `DisabledException` or
    /// `KMSInvalidStateException` otherwise.
    pub fn usable(&self) -> Result<(), AwsError> {
        match self.rec.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(errors::disabled(&self.arn())),
            KeyState::PendingDeletion => Err(errors::pending_deletion(&self.arn())),
        }
    }

    /// Fails with `KMSInvalidStateException` when the key is pending deletion.
    pub fn not_pending_deletion(&self) -> Result<(), AwsError> {
        if self.rec.state == KeyState::PendingDeletion {
            return Err(errors::pending_deletion(&self.arn()));
        }
        Ok(())
    }

    /// The current material and its version.
    pub fn current(&self) -> Result<(u32, Arc<Material>, String), AwsError> {
        let m = self
            .rec
            .current_material()
            .ok_or_else(|| AwsError::internal(format!("key {} has no material", self.rec.id)))?;
        let material =
            self.materials.get(&m.version).cloned().ok_or_else(|| {
                AwsError::internal(format!("key {} lost its material", self.rec.id))
            })?;
        Ok((m.version, material, m.material_id.clone()))
    }

    /// Adds a new material version (rotation); returns it for the caller to persist.
    pub fn add_material(
        &mut self,
        keyring: &storage::Keyring,
        now: f64,
        rotation_type: Option<&str>,
    ) -> Result<(), AwsError> {
        let version = self
            .rec
            .materials
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
            + 1;
        let (record, material) = new_material(keyring, &self.rec.id, version, now, rotation_type)?;
        self.rec.materials.push(record);
        self.materials.insert(version, Arc::new(material));
        Ok(())
    }

    /// Whether the deletion date has passed.
    pub fn expired(&self, now: f64) -> bool {
        self.rec.state == KeyState::PendingDeletion
            && self.rec.deletion_date.is_some_and(|d| d <= now)
    }
}

/// Fresh random material for `key_id` version `version`, wrapped for the record.
pub fn new_material(
    keyring: &storage::Keyring,
    key_id: &str,
    version: u32,
    now: f64,
    rotation_type: Option<&str>,
) -> Result<(MaterialRecord, Material), AwsError> {
    let bytes = crypto::random_bytes(crypto::MATERIAL_LEN)
        .map_err(|_| AwsError::internal("random source failed"))?;
    let wrapped = keyring
        .wrap(&bytes[..], &material_aad(key_id, version))
        .map_err(AwsError::internal)?;
    let material =
        Material::from_bytes(&bytes[..]).map_err(|_| AwsError::internal("cipher setup failed"))?;
    let material_id =
        crypto::random_hex64().map_err(|_| AwsError::internal("random source failed"))?;
    Ok((
        MaterialRecord {
            version,
            material_id,
            wrapped: STANDARD.encode(wrapped),
            created: now,
            rotation_type: rotation_type.map(str::to_string),
        },
        material,
    ))
}

/// Every key and alias.
#[derive(Default)]
pub struct State {
    pub keys: BTreeMap<String, Key>,
    /// By `account/alias/name`.
    pub aliases: BTreeMap<String, AliasRecord>,
    /// Alias names by key id.
    pub alias_index: HashMap<String, BTreeSet<String>>,
}

impl State {
    /// Adds or replaces an alias.
    pub fn put_alias(&mut self, alias: AliasRecord) {
        let key = storage::Record::key(&alias);
        if let Some(old) = self.aliases.get(&key)
            && let Some(set) = self.alias_index.get_mut(&old.target)
        {
            set.remove(&old.name);
        }
        self.alias_index
            .entry(alias.target.clone())
            .or_default()
            .insert(alias.name.clone());
        self.aliases.insert(key, alias);
    }

    /// Removes an alias.
    pub fn remove_alias(&mut self, record_key: &str) -> Option<AliasRecord> {
        let old = self.aliases.remove(record_key)?;
        if let Some(set) = self.alias_index.get_mut(&old.target) {
            set.remove(&old.name);
        }
        Some(old)
    }

    /// The alias names of a key.
    pub fn aliases_of(&self, key_id: &str) -> Vec<String> {
        self.alias_index
            .get(key_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A key that exists (not past its deletion date).
    pub fn live(&self, id: &str, now: f64) -> Option<&Key> {
        self.keys.get(id).filter(|k| !k.expired(now))
    }

    /// Removes keys whose deletion date has passed, with their aliases; adds the deletes to `batch`.
    pub fn purge_expired(&mut self, now: f64, batch: &mut storage::Batch) {
        let expired: Vec<String> = self
            .keys
            .values()
            .filter(|k| k.expired(now))
            .map(|k| k.rec.id.clone())
            .collect();
        for id in expired {
            self.keys.remove(&id);
            batch.delete::<KeyRecord>(&id);
            for name in self.alias_index.remove(&id).unwrap_or_default() {
                let account = self
                    .aliases
                    .values()
                    .find(|a| a.name == name && a.target == id)
                    .map(|a| a.account.clone());
                if let Some(account) = account {
                    let rk = crate::records::alias_record_key(&account, &name);
                    self.aliases.remove(&rk);
                    batch.delete::<AliasRecord>(&rk);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::EncryptionContext;
    use crate::records::KeyState;

    fn record(keyring: &storage::Keyring) -> KeyRecord {
        let id = crypto::new_key_id().expect("id");
        let (m, _) = new_material(keyring, &id, 1, 0.0, None).expect("material");
        KeyRecord {
            id,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            created: 0.0,
            description: String::new(),
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: keypolicy::default_policy("111122223333"),
            tags: Vec::new(),
            manager: "CUSTOMER".into(),
            rotation: None,
            on_demand_started: None,
            materials: vec![m],
            grants: Vec::new(),
        }
    }

    fn seal(key: &Key, text: &[u8]) -> Vec<u8> {
        let (version, material, _) = key.current().expect("current");
        material
            .seal(
                crypto::uuid_bytes(&key.rec.id).expect("uuid"),
                version,
                &EncryptionContext::new(),
                text,
            )
            .expect("seal")
    }

    fn open(key: &Key, blob: &[u8]) -> Vec<u8> {
        let h = crypto::parse_header(blob).expect("header");
        key.materials[&h.version]
            .open(blob, &EncryptionContext::new())
            .expect("open")
            .to_vec()
    }

    #[test]
    fn material_is_stored_wrapped_and_reloads() {
        let keyring = storage::Keyring::ephemeral().expect("keyring");
        let rec = record(&keyring);
        let wrapped = STANDARD.decode(&rec.materials[0].wrapped).expect("b64");
        assert_eq!(wrapped.len(), crypto::MATERIAL_LEN + 1 + 12 + 16);
        let key = Key::load(rec.clone(), &keyring).expect("load");
        let blob = seal(&key, b"hello");
        // The record as stored (JSON) reloads into a key that opens the same blob.
        let json = serde_json::to_string(&rec).expect("json");
        let again: KeyRecord = serde_json::from_str(&json).expect("parse");
        let reloaded = Key::load(again, &keyring).expect("reload");
        assert_eq!(open(&reloaded, &blob), b"hello");
        // Another instance root key cannot unwrap it.
        let other = storage::Keyring::ephemeral().expect("keyring");
        assert!(Key::load(rec, &other).is_err());
    }

    #[test]
    fn rotation_keeps_old_material() {
        let keyring = storage::Keyring::ephemeral().expect("keyring");
        let mut key = Key::load(record(&keyring), &keyring).expect("load");
        let old = seal(&key, b"old");
        let first = key.current().expect("current").2;
        key.add_material(&keyring, 1.0, Some("ON_DEMAND"))
            .expect("rotate");
        let (version, _, second) = key.current().expect("current");
        assert_eq!(version, 2);
        assert_ne!(first, second);
        let new = seal(&key, b"new");
        assert_eq!(crypto::parse_header(&new).expect("header").version, 2);
        let reloaded = Key::load(key.rec.clone(), &keyring).expect("reload");
        assert_eq!(open(&reloaded, &old), b"old");
        assert_eq!(open(&reloaded, &new), b"new");
    }

    #[test]
    fn states_gate_use() {
        let keyring = storage::Keyring::ephemeral().expect("keyring");
        let mut key = Key::load(record(&keyring), &keyring).expect("load");
        assert!(key.usable().is_ok());
        key.rec.state = KeyState::Disabled;
        assert_eq!(
            key.usable().map_err(|e| e.code),
            Err("DisabledException".into())
        );
        key.rec.state = KeyState::PendingDeletion;
        key.rec.deletion_date = Some(100.0);
        let err = key.usable().expect_err("pending");
        assert_eq!(err.code, "KMSInvalidStateException");
        assert!(err.message.ends_with("is pending deletion."));
        assert!(!key.expired(99.0));
        assert!(key.expired(100.0));
    }

    #[test]
    fn grants_beyond_the_policy_size_limit_apply_per_caller() {
        use crate::records::GrantRecord;
        use policy::{Context, PolicySet, Principal, Request};

        let keyring = storage::Keyring::ephemeral().expect("keyring");
        let mut rec = record(&keyring);
        let filler = "x".repeat(31_000);
        rec.policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:role/admin"}},"Action":"kms:*","Resource":"*","Condition":{{"StringNotEquals":{{"aws:PrincipalTag/filler":"{filler}"}}}}}}]}}"#
        );
        rec.grants = (0..10)
            .map(|i| GrantRecord {
                id: format!("{i:064}"),
                name: None,
                grantee: format!("arn:aws:iam::111122223333:role/r{i}"),
                retiring: None,
                operations: vec!["Decrypt".into()],
                constraints: None,
                created: 0.0,
                issuing_account: "111122223333".into(),
            })
            .collect();
        let key = Key::load(rec, &keyring).expect("load");
        assert!(
            key.effective.is_none(),
            "every grant does not fit in one policy"
        );
        let allowed = |role: &str, policy: &Policy| {
            let session = format!("arn:aws:sts::111122223333:assumed-role/{role}/s");
            let role_arn = format!("arn:aws:iam::111122223333:role/{role}");
            let p = Principal::assumed_role(&session, &role_arn, "AROAX", "s");
            let cx = Context::new();
            let req = Request {
                principal: &p,
                action: "kms:Decrypt",
                resource: "arn:aws:kms:us-east-1:111122223333:key/k",
                resource_account: Some("111122223333"),
                context: &cx,
            };
            let set = PolicySet {
                key: Some(policy),
                ..Default::default()
            };
            policy::evaluate(&req, &set).is_allowed()
        };
        let for_r3 = key.policy_for(&[
            "arn:aws:sts::111122223333:assumed-role/r3/s".into(),
            "arn:aws:iam::111122223333:role/r3".into(),
        ]);
        assert!(allowed("r3", &for_r3));
        assert!(!allowed("r4", &for_r3));
        assert!(!allowed("r3", &key.policy));
    }

    #[test]
    fn expired_keys_are_purged_with_their_aliases() {
        let keyring = storage::Keyring::ephemeral().expect("keyring");
        let mut key = Key::load(record(&keyring), &keyring).expect("load");
        key.rec.state = KeyState::PendingDeletion;
        key.rec.deletion_date = Some(10.0);
        let id = key.rec.id.clone();
        let mut st = State::default();
        st.keys.insert(id.clone(), key);
        st.put_alias(AliasRecord {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            name: "alias/x".into(),
            target: id.clone(),
            created: 0.0,
            updated: 0.0,
        });
        assert!(st.live(&id, 5.0).is_some());
        assert!(st.live(&id, 11.0).is_none());
        let mut batch = storage::Batch::new();
        st.purge_expired(11.0, &mut batch);
        assert_eq!(batch.len(), 2);
        assert!(st.keys.is_empty() && st.aliases.is_empty());
        assert!(st.aliases_of(&id).is_empty());
    }
}
