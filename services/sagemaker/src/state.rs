//! What SageMaker keeps: one record per resource (its Describe document, tags and pending
//! status change), the Studio app credentials it minted, and home directories (volumes
//! with their wrapped data keys, and files sealed in the blob store).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::kinds::Kind;

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A status change that happens by itself at a given time: a job completing, an endpoint
/// coming into service. The members in `set` replace the document's when `at` has passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// Epoch seconds.
    pub at: f64,
    pub set: Map<String, Value>,
    /// A further change after this one (e.g. `Stopping` → `Stopped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Box<Pending>>,
}

impl Pending {
    pub fn at(at: f64, set: Value) -> Pending {
        Pending {
            at,
            set: match set {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            then: None,
        }
    }
}

/// One SageMaker resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub account: String,
    pub kind: Kind,
    /// Unique within (account, kind): the lowercased name for kinds with lowercased ARNs,
    /// `DOMAIN/NAME` for user profiles and spaces, `DOMAIN/OWNER/TYPE/NAME` for apps, the
    /// domain id for domains.
    pub id: String,
    pub arn: String,
    /// The Describe document, as the Describe operation returns it (timestamps in epoch
    /// seconds), before pending changes apply.
    pub doc: Value,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

impl storage::Record for Resource {
    const TABLE: &'static str = "sagemaker.resource";
    fn key(&self) -> String {
        format!("{}/{:?}/{}", self.account, self.kind, self.id)
    }
}

impl Resource {
    /// Applies every pending change due at `now`; returns whether anything changed.
    pub fn settle(&mut self, now: f64) -> bool {
        let mut changed = false;
        while let Some(p) = self.pending.take() {
            if p.at > now {
                self.pending = Some(p);
                break;
            }
            if let Value::Object(doc) = &mut self.doc {
                for (k, v) in p.set {
                    if v.is_null() {
                        doc.remove(&k);
                    } else {
                        doc.insert(k, v);
                    }
                }
            }
            self.pending = p.then.map(|b| *b);
            changed = true;
        }
        changed
    }

    /// The document as of `now`.
    pub fn view(&self, now: f64) -> Value {
        if self.pending.as_ref().is_some_and(|p| p.at <= now) {
            let mut r = self.clone();
            r.settle(now);
            r.doc
        } else {
            self.doc.clone()
        }
    }

    /// A member of the document as of `now`, as text.
    pub fn text(&self, now: f64, member: &str) -> Option<String> {
        self.view(now)
            .get(member)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn tag_pairs(&self) -> Vec<(String, String)> {
        self.tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect()
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
}

/// Temporary credentials SageMaker minted for a Studio app (the execution role's session):
/// requests signed with them come from that domain, user profile or space.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppCredential {
    pub access_key_id: String,
    pub account: String,
    pub domain_id: String,
    pub domain_arn: String,
    pub user_profile_arn: Option<String>,
    pub space_arn: Option<String>,
    /// The tags SageMaker adds to every resource created with these credentials.
    pub auto_tags: Vec<Tag>,
    /// Epoch seconds.
    pub expires: f64,
}

impl storage::Record for AppCredential {
    const TABLE: &'static str = "sagemaker.app_credential";
    fn key(&self) -> String {
        self.access_key_id.clone()
    }
}

/// A home directory: one per user profile (and per space), in its domain's storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HomeVolume {
    pub account: String,
    pub domain_id: String,
    /// `user/<profile>` or `space/<space>`.
    pub owner: String,
    /// The domain's KMS key that encrypts the data key; `None`: a Perimeter-managed key.
    pub kms_key_arn: Option<String>,
    /// The data key: KMS's ciphertext blob, or wrapped by the instance keyring (base64).
    pub wrapped_key: String,
    /// The POSIX uid of the owner (`HomeEfsFileSystemUid`).
    pub uid: String,
}

impl HomeVolume {
    pub fn slot(&self) -> (String, String, String) {
        (
            self.account.clone(),
            self.domain_id.clone(),
            self.owner.clone(),
        )
    }
}

impl storage::Record for HomeVolume {
    const TABLE: &'static str = "sagemaker.home_volume";
    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.domain_id, self.owner)
    }
}

/// One file of a home directory; its content is a blob sealed under the volume's data key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HomeFile {
    pub account: String,
    pub domain_id: String,
    pub owner: String,
    pub path: String,
    pub blob: storage::BlobId,
    pub size: u64,
    pub modified: f64,
}

pub type FileSlot = (String, String, String, String);

impl HomeFile {
    pub fn slot(&self) -> FileSlot {
        (
            self.account.clone(),
            self.domain_id.clone(),
            self.owner.clone(),
            self.path.clone(),
        )
    }
}

impl storage::Record for HomeFile {
    const TABLE: &'static str = "sagemaker.home_file";
    fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.account, self.domain_id, self.owner, self.path
        )
    }
}

/// Where a resource lives in memory.
pub type Slot = (String, Kind, String);

/// Everything, in memory.
#[derive(Debug, Default)]
pub struct State {
    pub resources: BTreeMap<Slot, Resource>,
    pub by_arn: HashMap<String, Slot>,
    pub credentials: HashMap<String, AppCredential>,
    pub volumes: HashMap<(String, String, String), HomeVolume>,
    pub files: BTreeMap<FileSlot, HomeFile>,
}

impl State {
    pub fn insert(&mut self, r: Resource) {
        let slot = (r.account.clone(), r.kind, r.id.clone());
        self.by_arn.insert(r.arn.clone(), slot.clone());
        self.resources.insert(slot, r);
    }

    pub fn remove(&mut self, account: &str, kind: Kind, id: &str) -> Option<Resource> {
        let r = self
            .resources
            .remove(&(account.to_string(), kind, id.to_string()))?;
        self.by_arn.remove(&r.arn);
        Some(r)
    }

    pub fn get(&self, account: &str, kind: Kind, id: &str) -> Option<&Resource> {
        self.resources
            .get(&(account.to_string(), kind, id.to_string()))
    }

    pub fn get_mut(&mut self, account: &str, kind: Kind, id: &str) -> Option<&mut Resource> {
        self.resources
            .get_mut(&(account.to_string(), kind, id.to_string()))
    }

    pub fn by_arn(&self, arn: &str) -> Option<&Resource> {
        self.resources.get(self.by_arn.get(arn)?)
    }

    pub fn by_arn_mut(&mut self, arn: &str) -> Option<&mut Resource> {
        let slot = self.by_arn.get(arn)?.clone();
        self.resources.get_mut(&slot)
    }

    /// Every resource of `kind` in `account`, in key order.
    pub fn of_kind<'a>(
        &'a self,
        account: &'a str,
        kind: Kind,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        let start = (account.to_string(), kind, String::new());
        self.resources
            .range(start..)
            .take_while(move |((a, k, _), _)| a == account && *k == kind)
            .map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pending_changes_apply_in_order_when_due() {
        let mut r = Resource {
            account: "111122223333".into(),
            kind: Kind::TrainingJob,
            id: "j".into(),
            arn: "arn".into(),
            doc: json!({"TrainingJobStatus": "InProgress", "X": 1}),
            tags: vec![],
            created: 10.0,
            pending: Some(Pending {
                at: 12.0,
                set: json!({"TrainingJobStatus": "Stopping", "X": null})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                then: Some(Box::new(Pending::at(
                    13.0,
                    json!({"TrainingJobStatus": "Stopped"}),
                ))),
            }),
        };
        assert_eq!(r.view(11.0)["TrainingJobStatus"], "InProgress");
        assert_eq!(r.view(12.5)["TrainingJobStatus"], "Stopping");
        assert!(r.view(12.5).get("X").is_none());
        assert_eq!(r.view(20.0)["TrainingJobStatus"], "Stopped");
        assert!(r.settle(12.5));
        assert_eq!(r.doc["TrainingJobStatus"], "Stopping");
        assert!(r.pending.is_some());
        assert!(r.settle(13.0));
        assert!(r.pending.is_none());
        assert!(!r.settle(99.0));
    }
}
