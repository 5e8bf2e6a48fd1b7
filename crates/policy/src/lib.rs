//! The IAM policy language: parse (with positions), validate, evaluate, explain. No I/O.
//!
//! A [`Policy`] is parsed and compiled once ([`Policy::parse`]) and is `Send + Sync`; a request
//! ([`Request`]) is evaluated against every applicable policy ([`PolicySet`]) with [`evaluate`]
//! (fast path) or [`explain`] (with a statement-by-statement [`Trace`]). [`validate`] reports
//! errors and warnings like IAM Access Analyzer.
//!
//! Condition keys come from the [`Context`] only: the caller fills in what the request carries
//! (`aws:SourceVpce`, `s3:x-amz-server-side-encryption`, ...) and can add the keys AWS derives
//! from the caller with [`Context::add_principal_keys`]. Principal/NotPrincipal elements are
//! matched against the [`Principal`], whose [`PrincipalKind`] also decides how policy types
//! combine: the account root user ([`Principal::root`]) is allowed in its own account unless
//! something denies it; AWS service principals and anonymous callers are allowed only by
//! resource-based policies.
//!
//! ```
//! use policy::{Context, Policy, PolicySet, PolicyType, Principal, Request};
//!
//! let identity = Policy::parse(
//!     r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#,
//!     PolicyType::Identity,
//! )?;
//! let bucket = Policy::parse(
//!     r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
//!         "Resource": "arn:aws:s3:::b/*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
//!     PolicyType::Resource,
//! )?;
//! let alice = Principal::user("arn:aws:iam::111122223333:user/alice", "AIDAEXAMPLE", "alice");
//! let mut context = Context::new();
//! context.insert("aws:SourceVpce", "vpce-2");
//! context.add_principal_keys(&alice);
//! let req = Request {
//!     principal: &alice,
//!     action: "s3:GetObject",
//!     resource: "arn:aws:s3:::b/k",
//!     resource_account: Some("111122223333"),
//!     context: &context,
//! };
//! let set = PolicySet { identity: &[&identity], resource: Some(&bucket), ..Default::default() };
//! let decision = policy::evaluate(&req, &set);
//! assert!(!decision.is_allowed());
//! assert_eq!(
//!     decision.message(&req),
//!     "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject \
//!      on resource: arn:aws:s3:::b/k with an explicit deny in a resource-based policy"
//! );
//! # Ok::<(), policy::PolicyError>(())
//! ```

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
