//! Bearer tokens that survive a restart: presigned sign-in tokens not yet used and the
//! sessions they started (Studio and notebook instances).
//!
//! A token is a random 256-bit value the client holds; Perimeter keeps only its SHA-256
//! digest, in memory and in the store, so the database holds nothing that signs anyone in.
//! Records carry their expiry; expired ones are dropped when the service opens and whenever a
//! new token is issued.

use std::collections::HashMap;

use aws_lc_rs::digest::{SHA256, digest as sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::AwsError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storage::Batch;

use crate::notebook::{NotebookSession, NotebookSignIn};
use crate::studio::{Session, SignIn};

/// A record kept under the digest of a bearer token.
pub(crate) trait Bearer: Serialize + DeserializeOwned + Clone + Send + 'static {
    /// The store table.
    const TABLE: &'static str;
    /// Epoch seconds after which the token is no good.
    fn expires_at(&self) -> f64;
}

/// What the store holds: the token's digest and the record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Kept<T> {
    pub digest: String,
    #[serde(flatten)]
    pub item: T,
}

impl<T: Bearer> storage::Record for Kept<T> {
    const TABLE: &'static str = T::TABLE;
    fn key(&self) -> String {
        self.digest.clone()
    }
}

/// A fresh bearer token: 256 random bits, URL-safe.
pub(crate) fn random_token() -> Result<String, AwsError> {
    let k = storage::keyring::random_key().map_err(AwsError::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(&k[..]))
}

/// The digest a token is kept under (lowercase hex SHA-256).
pub(crate) fn digest(token: &str) -> String {
    let d = sha256(&SHA256, token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in d.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A token derived from another one for a second purpose (`purpose` names it): whoever
/// holds `token` can compute it, and it does not reveal `token`.
pub(crate) fn derived(token: &str, purpose: &str) -> String {
    let d = sha256(&SHA256, format!("perimeter {purpose}\0{token}").as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// Records of one kind by token digest, mirrored in the store.
pub(crate) struct Vault<T> {
    items: HashMap<String, T>,
}

impl<T> Default for Vault<T> {
    fn default() -> Self {
        Vault {
            items: HashMap::new(),
        }
    }
}

impl<T: Bearer> Vault<T> {
    /// Loads the records still good at `now`; expired ones are deleted in `batch`.
    pub(crate) fn load(
        store: &storage::Store,
        now: f64,
        batch: &mut Batch,
    ) -> Result<Vault<T>, storage::Error> {
        let mut v = Vault::default();
        for k in store.table::<Kept<T>>().load_all()? {
            if k.item.expires_at() > now {
                v.items.insert(k.digest, k.item);
            } else {
                batch.delete::<Kept<T>>(&k.digest);
            }
        }
        Ok(v)
    }

    pub(crate) fn get(&self, digest: &str) -> Option<&T> {
        self.items.get(digest)
    }

    pub(crate) fn get_mut(&mut self, digest: &str) -> Option<&mut T> {
        self.items.get_mut(digest)
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, digest: &str) -> bool {
        self.items.contains_key(digest)
    }

    /// The first record `f` accepts, with its digest.
    pub(crate) fn find(&self, f: impl Fn(&T) -> bool) -> Option<(&String, &T)> {
        self.items.iter().find(|(_, t)| f(t))
    }

    pub(crate) fn insert(&mut self, digest: String, item: T, batch: &mut Batch) {
        batch.put(&Kept {
            digest: digest.clone(),
            item: item.clone(),
        });
        self.items.insert(digest, item);
    }

    pub(crate) fn take(&mut self, digest: &str, batch: &mut Batch) -> Option<T> {
        let item = self.items.remove(digest)?;
        batch.delete::<Kept<T>>(digest);
        Some(item)
    }

    /// Drops the records expired at `now`.
    pub(crate) fn sweep(&mut self, now: f64, batch: &mut Batch) {
        let expired: Vec<String> = self
            .items
            .iter()
            .filter(|(_, t)| t.expires_at() <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            self.items.remove(&k);
            batch.delete::<Kept<T>>(&k);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// Every token SageMaker has issued and not yet seen expire.
#[derive(Default)]
pub(crate) struct Tokens {
    /// Studio sign-in tokens (presigned domain URLs).
    pub sign_ins: Vault<SignIn>,
    /// Studio sessions, by cookie.
    pub sessions: Vault<Session>,
    /// Notebook instance sign-in tokens (presigned notebook instance URLs).
    pub notebook_sign_ins: Vault<NotebookSignIn>,
    /// Notebook instance sessions, by cookie.
    pub notebook_sessions: Vault<NotebookSession>,
}

impl Tokens {
    /// Loads what is still good at `now`; expired records are deleted in `batch`.
    pub(crate) fn load(
        store: &storage::Store,
        now: f64,
        batch: &mut Batch,
    ) -> Result<Tokens, storage::Error> {
        Ok(Tokens {
            sign_ins: Vault::load(store, now, batch)?,
            sessions: Vault::load(store, now, batch)?,
            notebook_sign_ins: Vault::load(store, now, batch)?,
            notebook_sessions: Vault::load(store, now, batch)?,
        })
    }

    /// Drops everything expired at `now`.
    pub(crate) fn sweep(&mut self, now: f64, batch: &mut Batch) {
        self.sign_ins.sweep(now, batch);
        self.sessions.sweep(now, batch);
        self.notebook_sign_ins.sweep(now, batch);
        self.notebook_sessions.sweep(now, batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Ticket {
        expires_at: f64,
        who: String,
    }

    impl Bearer for Ticket {
        const TABLE: &'static str = "sagemaker.test_ticket";
        fn expires_at(&self) -> f64 {
            self.expires_at
        }
    }

    #[test]
    fn digests_and_derived_tokens_are_stable_and_distinct() {
        let t = random_token().unwrap();
        assert_eq!(t.len(), 43);
        assert_eq!(digest(&t), digest(&t));
        assert_eq!(digest(&t).len(), 64);
        assert_ne!(digest(&t), digest(&random_token().unwrap()));
        assert_eq!(derived(&t, "credentials"), derived(&t, "credentials"));
        assert_ne!(derived(&t, "credentials"), derived(&t, "other"));
        assert_ne!(derived(&t, "credentials"), t);
    }

    #[tokio::test]
    async fn records_survive_a_reopen_and_expired_ones_are_dropped() {
        let dir = std::env::temp_dir().join(format!("sagemaker-vault-{}", random_token().unwrap()));
        let store = storage::Store::open(&dir).unwrap();
        let mut batch = Batch::new();
        let mut v: Vault<Ticket> = Vault::default();
        let live = Ticket {
            expires_at: 2_000.0,
            who: "a".into(),
        };
        let old = Ticket {
            expires_at: 1_000.0,
            who: "b".into(),
        };
        v.insert(digest("live"), live.clone(), &mut batch);
        v.insert(digest("old"), old, &mut batch);
        v.insert(digest("used"), live.clone(), &mut batch);
        assert!(v.take(&digest("used"), &mut batch).is_some());
        store.submit(batch).await.unwrap();
        drop(store);

        let store = storage::Store::open(&dir).unwrap();
        let mut batch = Batch::new();
        let v: Vault<Ticket> = Vault::load(&store, 1_500.0, &mut batch).unwrap();
        store.submit(batch).await.unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v.get(&digest("live")), Some(&live));
        assert!(!v.contains(&digest("used")));
        assert_eq!(store.table::<Kept<Ticket>>().load_all().unwrap().len(), 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
