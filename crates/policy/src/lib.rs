//! The IAM policy language: parse (with positions), validate, evaluate, explain. No I/O.
//!
//! A [`Policy`] is parsed and compiled once ([`Policy::parse`]) and is `Send + Sync`; a request
//! ([`Request`]) is evaluated against every applicable policy ([`PolicySet`]) with [`evaluate`]
//! (fast path) or [`explain`] (with a statement-by-statement [`Trace`]).

mod condition;
mod context;
mod eval;
#[doc(hidden)]
pub mod fuzzing;
pub mod json;
mod pattern;
mod policy;
mod principal;
mod trace;
mod validate;

pub use context::{Context, Value};
pub use eval::{Decision, Outcome, PolicySet, Request, evaluate, explain};
pub use policy::{Policy, PolicyError, PolicyType};
pub use principal::{Principal, PrincipalKind};
pub use trace::Trace;
pub use validate::{Finding, Severity, validate};
