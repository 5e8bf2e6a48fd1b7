//! Timestamps as SageMaker's JSON carries them: epoch seconds with milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` in epoch seconds.
pub(crate) fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}

/// Now, in epoch seconds.
pub(crate) fn now() -> f64 {
    epoch(SystemTime::now())
}

/// The request's time, in epoch seconds.
pub(crate) fn of_call(call: &gateway::Call) -> f64 {
    epoch(call.now)
}
