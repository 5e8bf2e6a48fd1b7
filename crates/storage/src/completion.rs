//! The acknowledgement of one submitted batch: resolved by the writer thread once the batch is durable
//! (or failed). Awaitable from async code and waitable from blocking code.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};

#[derive(Default)]
struct Slot {
    result: Option<Result<()>>,
    waker: Option<Waker>,
    /// A thread is blocked in [`Pending::wait`] (async waiters need no condvar wake-up syscall).
    blocked: bool,
}

#[derive(Default)]
struct State {
    slot: Mutex<Slot>,
    ready: Condvar,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer's side. Dropping it unresolved resolves the batch with [`Error::Closed`], so a caller never
/// waits forever.
pub(crate) struct Notifier {
    state: Option<Arc<State>>,
    /// The store's count of submitted, unresolved batches.
    in_flight: Arc<AtomicUsize>,
}

impl Notifier {
    pub(crate) fn complete(mut self, result: Result<()>) {
        if let Some(state) = self.state.take() {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            resolve(&state, result);
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            resolve(&state, Err(Error::Closed));
        }
    }
}

fn resolve(state: &State, result: Result<()>) {
    let (waker, blocked) = {
        let mut slot = state.lock();
        slot.result = Some(result);
        (slot.waker.take(), slot.blocked)
    };
    if blocked {
        state.ready.notify_all();
    }
    if let Some(w) = waker {
        w.wake();
    }
}

/// A submitted batch. Resolves to `Ok(())` once the batch is durable, or to the error that failed its
/// transaction. `.await` it from async code or call [`Pending::wait`] from blocking code.
#[must_use = "a batch is acknowledged only once its Pending resolves"]
pub struct Pending {
    inner: PendingInner,
}

enum PendingInner {
    Waiting(Arc<State>),
    Ready(Option<Result<()>>),
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

pub(crate) fn pair(in_flight: &Arc<AtomicUsize>) -> (Notifier, Pending) {
    let state = Arc::new(State::default());
    in_flight.fetch_add(1, Ordering::Relaxed);
    (
        Notifier {
            state: Some(state.clone()),
            in_flight: in_flight.clone(),
        },
        Pending {
            inner: PendingInner::Waiting(state),
        },
    )
}

impl Pending {
    pub(crate) fn ready(result: Result<()>) -> Pending {
        Pending {
            inner: PendingInner::Ready(Some(result)),
        }
    }

    /// Blocks the current thread until the batch is durable or failed. Do not call it on an async
    /// executor thread; `.await` instead.
    pub fn wait(self) -> Result<()> {
        match self.inner {
            PendingInner::Ready(r) => r.unwrap_or(Err(Error::Closed)),
            PendingInner::Waiting(state) => {
                let mut slot = state.lock();
                loop {
                    if let Some(r) = slot.result.take() {
                        return r;
                    }
                    slot.blocked = true;
                    slot = state.ready.wait(slot).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }
}

impl Future for Pending {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        match &mut this.inner {
            PendingInner::Ready(r) => Poll::Ready(r.take().unwrap_or(Err(Error::Closed))),
            PendingInner::Waiting(state) => {
                let mut slot = state.lock();
                if let Some(r) = slot.result.take() {
                    return Poll::Ready(r);
                }
                match &slot.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => slot.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}
