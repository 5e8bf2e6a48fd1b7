//! Service state kept in memory behind one `RwLock` and written through the store: how a
//! service reads it and how a call changes it, with the call's audit record in the same batch.

use std::sync::RwLock;

use storage::Batch;

use crate::{AwsError, Call};

/// The error for a state lock that a panicking thread poisoned: an internal failure.
pub fn poisoned(service: &str) -> AwsError {
    AwsError::internal(format!("{service} state lock poisoned"))
}

/// Runs `f` on the state of `service` under the read lock.
pub fn read<S, T>(
    lock: &RwLock<S>,
    service: &str,
    f: impl FnOnce(&S) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let st = lock.read().map_err(|_| poisoned(service))?;
    f(&st)
}

/// Changes the state of `service` for `call`: under the write lock, `f` checks everything
/// before it changes anything and puts what it changes in a batch, which is queued with the
/// call's audit record before the lock is released. Returns once the batch is durable.
pub async fn commit<S, T>(
    lock: &RwLock<S>,
    service: &str,
    call: &Call,
    f: impl FnOnce(&mut S, &mut Batch) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    commit_then(lock, service, call, f, |_| {}).await
}

/// [`commit`], then `after` on the changed state, still under the lock (for what the service
/// derives from its state and must not lag behind it).
pub async fn commit_then<S, T>(
    lock: &RwLock<S>,
    service: &str,
    call: &Call,
    f: impl FnOnce(&mut S, &mut Batch) -> Result<T, AwsError>,
    after: impl FnOnce(&S),
) -> Result<T, AwsError> {
    let (out, pending) = {
        let mut st = lock.write().map_err(|_| poisoned(service))?;
        let mut batch = Batch::new();
        let out = f(&mut st, &mut batch)?;
        let pending = call.submit(batch);
        after(&st);
        (out, pending)
    };
    pending.await?;
    Ok(out)
}
