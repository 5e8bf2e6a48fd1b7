//! SSM Parameter Store (JSON 1.1, `AmazonSSM.*`): String, StringList and SecureString
//! parameters, versions, labels, hierarchies and tags.
//!
//! State lives in memory behind one lock and is written through to the store: a handler
//! checks everything, changes memory, queues its batch (carrying the call's audit record)
//! under the lock and waits for durability after releasing it.
//!
//! SecureString values are encrypted and decrypted by KMS as the caller ([`secure`]): the
//! caller needs `kms:Encrypt` / `kms:Decrypt` on the key, KMS sees
//! `kms:ViaService = ssm.<region>.amazonaws.com` and the encryption context
//! `PARAMETER_ARN`, and only KMS's ciphertext is ever stored.

#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod fuzzing;
pub mod names;
mod ops;
mod secure;
pub mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use gateway::{AwsError, Call, ServiceDef};
use storage::Batch;

pub use ops::*;

use crate::state::{Param, State};

/// The trimmed botocore model (`tools/trim-model.py ssm`).
const MODEL: &str = include_str!("../ssm.json");

/// Parameter Store for every account.
pub struct Ssm {
    config: gateway::Config,
    kms: Arc<kms::Kms>,
    state: RwLock<State>,
}

impl Ssm {
    /// Loads every parameter from `store`.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
        kms: Arc<kms::Kms>,
    ) -> Result<Arc<Ssm>, storage::Error> {
        let mut st = State::default();
        for p in store.table::<Param>().load_all()? {
            st.accounts
                .entry(p.account.clone())
                .or_insert_with(BTreeMap::new)
                .insert(p.name.clone(), p);
        }
        Ok(Arc::new(Ssm {
            config: config.clone(),
            kms,
            state: RwLock::new(st),
        }))
    }

    /// The `ssm` service.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        match ServiceDef::new("ssm", MODEL) {
            Ok(def) => ops::register(def, self),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("ssm model: {e}"),
        }
    }

    /// The served region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// KMS, for SecureString values.
    pub(crate) fn kms(&self) -> &Arc<kms::Kms> {
        &self.kms
    }

    /// Reads the state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "ssm", f)
    }

    /// Changes the state: `f` checks everything before it changes anything. Its batch is
    /// queued (with the call's audit record) under the lock and awaited after.
    pub(crate) async fn write<T, F>(&self, call: &Call, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&mut State, &mut Batch) -> Result<T, AwsError> + Send,
        T: Send,
    {
        gateway::state::commit(&self.state, "ssm", call, f).await
    }
}
