//! SageMaker (JSON 1.1, `SageMaker.*`): the control plane of a secure data-science
//! environment. Studio domains, user profiles, spaces and apps; Studio sign-in through
//! presigned domain URLs served by Perimeter; training, processing, transform,
//! hyperparameter tuning, AutoML and compilation jobs; models, endpoint configurations and
//! endpoints; notebook instances and their lifecycle configurations; tags and Search.
//!
//! Authorization is the point. Every operation declares `sagemaker:<Action>` on the
//! resource ARN with every SageMaker condition key the Service Authorization Reference lists
//! for it, computed from the request ([`keys`]): a key is absent when the request has no
//! value for it, so `Null` conditions work as in AWS. Every role a request passes is one more
//! check, `iam:PassRole` with `iam:PassedToService = sagemaker.amazonaws.com` and
//! `iam:AssociatedResourceArn`. The gateway decides; nothing here does.
//!
//! State lives in memory behind one lock and is written through to the store: a handler
//! checks everything, changes memory, queues its batch (carrying the call's audit record)
//! under the lock and waits for durability after releasing it.
//!
//! Jobs, apps, endpoints and notebook instances follow their status lifecycle
//! (`InProgress` → `Completed`, `Pending` → `InService`, ...) without running code; the
//! records keep AWS's shapes so that a runtime can drive them later ([`state::Pending`]).
//!
//! Studio sign-in ([`studio`]) is served on plain HTTP routes under `/studio/`, on the public
//! endpoint and on VPC endpoints of `aws.sagemaker.<region>.studio`; presigned notebook
//! instance URLs ([`notebook`]) under `/notebook/`, there and on VPC endpoints of
//! `aws.sagemaker.<region>.notebook`. Unused sign-in tokens and live sessions survive a
//! restart ([`signin`]).

#![forbid(unsafe_code)]

mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod home;
pub mod keys;
mod kinds;
mod notebook;
mod ops;
mod signin;
pub mod state;
mod studio;
mod tags;
mod time;
mod validate;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};

use gateway::{AwsError, Call, ServiceDef};
use storage::Batch;

pub use kinds::Kind;
pub use ops::*;

use crate::signin::Tokens;
use crate::state::{AppCredential, HomeFile, HomeVolume, Resource, State};

/// The trimmed botocore model (`tools/trim-model.py sagemaker ...`).
const MODEL: &str = include_str!("../sagemaker.json");

/// The service principal SageMaker acts as.
pub const SERVICE_PRINCIPAL: &str = "sagemaker.amazonaws.com";

/// SageMaker for every account.
pub struct SageMaker {
    me: Weak<SageMaker>,
    store: storage::Store,
    /// Home directories: files sealed under each volume's data key.
    home_blobs: storage::BlobStore,
    config: gateway::Config,
    iam: Arc<iam::Iam>,
    kms: Arc<kms::Kms>,
    ec2: Arc<ec2::Ec2>,
    state: RwLock<State>,
    /// Sign-in tokens and sessions of Studio and notebook instances, written through to
    /// the store under their digests.
    tokens: Mutex<Tokens>,
    /// The gateway, once installed: Studio pages run internal calls and name listeners.
    gateway: OnceLock<gateway::Gateway>,
}

impl SageMaker {
    /// Loads every SageMaker resource, Studio credential record and home directory from
    /// `store`. Roles are checked with `iam`, keys with `kms`, networks with `ec2`.
    pub fn open(
        store: &storage::Store,
        config: &gateway::Config,
        iam: Arc<iam::Iam>,
        kms: Arc<kms::Kms>,
        ec2: Arc<ec2::Ec2>,
    ) -> Result<Arc<SageMaker>, storage::Error> {
        let mut st = State::default();
        for r in store.table::<Resource>().load_all()? {
            st.insert(r);
        }
        for c in store.table::<AppCredential>().load_all()? {
            st.credentials.insert(c.access_key_id.clone(), c);
        }
        for v in store.table::<HomeVolume>().load_all()? {
            st.volumes.insert(v.slot(), v);
        }
        for f in store.table::<HomeFile>().load_all()? {
            st.files.insert(f.slot(), f);
        }
        // Home directories have their own blob store: the store's shared one is swept by S3
        // at startup with S3's ids only. Blobs whose metadata never committed are swept here.
        let home_blobs = match store.data_dir() {
            Some(dir) if !store.is_read_only() => {
                storage::BlobStore::open_dir(dir.join("sagemaker").join("home"))?
            }
            _ => storage::BlobStore::in_memory(),
        };
        let live: std::collections::HashSet<storage::BlobId> =
            st.files.values().map(|f| f.blob).collect();
        let removed = home_blobs.sweep(|id| live.contains(id))?;
        if removed > 0 {
            tracing::info!(removed, "removed unreferenced home-directory blobs");
        }
        // Sign-in tokens and sessions still good; expired ones are deleted.
        let mut expired = Batch::new();
        let tokens = Tokens::load(store, time::now(), &mut expired)?;
        if !store.is_read_only() {
            drop(store.submit(expired));
        }
        Ok(Arc::new_cyclic(|me| SageMaker {
            me: me.clone(),
            store: store.clone(),
            home_blobs,
            config: config.clone(),
            iam,
            kms,
            ec2,
            state: RwLock::new(st),
            tokens: Mutex::new(tokens),
            gateway: OnceLock::new(),
        }))
    }

    /// The `sagemaker` service.
    pub fn service_def(self: &Arc<Self>) -> ServiceDef {
        match ServiceDef::new("sagemaker", MODEL) {
            Ok(def) => ops::register(def, self),
            // The embedded model is part of the build; a broken one is caught by the tests.
            Err(e) => panic!("sagemaker model: {e}"),
        }
    }

    /// Serves Studio: sign-in with presigned domain URLs, the landing page, the app
    /// environment (container credentials) and home directories, under `/studio/`, on the
    /// public endpoint and on `aws.sagemaker.<region>.studio` VPC endpoints.
    pub fn install(&self, gateway: &gateway::Gateway) {
        let _ = self.gateway.set(gateway.clone());
        if let Some(me) = self.me.upgrade() {
            gateway.add_raw_route(
                studio::PREFIX,
                "studio",
                Arc::new(studio::StudioPages::new(me.clone())),
            );
            gateway.add_raw_route(
                notebook::PREFIX,
                "notebook",
                Arc::new(notebook::NotebookPages::new(me)),
            );
        }
    }

    /// The served region.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    pub(crate) fn iam(&self) -> &Arc<iam::Iam> {
        &self.iam
    }

    pub(crate) fn kms(&self) -> &Arc<kms::Kms> {
        &self.kms
    }

    pub(crate) fn ec2(&self) -> &Arc<ec2::Ec2> {
        &self.ec2
    }

    pub(crate) fn store(&self) -> &storage::Store {
        &self.store
    }

    pub(crate) fn home_blobs(&self) -> &storage::BlobStore {
        &self.home_blobs
    }

    pub(crate) fn installed_gateway(&self) -> Option<&gateway::Gateway> {
        self.gateway.get()
    }

    /// The sign-in tokens and sessions.
    pub(crate) fn tokens(&self) -> Result<MutexGuard<'_, Tokens>, AwsError> {
        self.tokens
            .lock()
            .map_err(|_| AwsError::internal("sign-in token lock poisoned"))
    }

    /// Reads the state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&State) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        gateway::state::read(&self.state, "sagemaker", f)
    }

    /// Changes the state: `f` checks everything before it changes anything. Its batch is
    /// queued (with the call's audit record) under the lock and awaited after.
    pub(crate) async fn write<T, F>(&self, call: &Call, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&mut State, &mut Batch) -> Result<T, AwsError> + Send,
        T: Send,
    {
        gateway::state::commit(&self.state, "sagemaker", call, f).await
    }

    /// Changes the state outside any request (Studio pages): no audit record rides along.
    pub(crate) async fn write_internal<T, F>(&self, f: F) -> Result<T, AwsError>
    where
        F: FnOnce(&mut State, &mut Batch) -> Result<T, AwsError> + Send,
        T: Send,
    {
        let (out, pending) = {
            let mut st = self
                .state
                .write()
                .map_err(|_| gateway::state::poisoned("sagemaker"))?;
            let mut batch = Batch::new();
            let out = f(&mut st, &mut batch)?;
            let pending = self.store.submit(batch);
            (out, pending)
        };
        pending.await.map_err(AwsError::internal)?;
        Ok(out)
    }

    /// The Studio context of a caller whose access key SageMaker minted for a Studio app.
    pub(crate) fn studio_context(&self, call: &Call) -> Option<AppCredential> {
        let key = call.caller.access_key_id.as_deref()?;
        self.read(|st| Ok(st.credentials.get(key).cloned()))
            .ok()
            .flatten()
    }
}
