//! Why a decision came out as it did, and AWS's AccessDenied wording.

use crate::eval::{Decision, Outcome, Request};
use crate::policy::PolicyType;

/// The statement-by-statement record of an evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub policies: Vec<PolicyTrace>,
    /// How the policy types were combined, step by step.
    pub notes: Vec<String>,
}

/// One policy and what each of its statements did.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTrace {
    pub kind: PolicyType,
    /// Where the policy sits in the set, e.g. `identity[0]`, `scps[1][0]`.
    pub label: String,
    pub statements: Vec<StatementTrace>,
}

/// One statement: whether each element matched.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementTrace {
    /// The Sid, or the statement's index when it has none.
    pub statement: String,
    pub effect: &'static str,
    pub line: u32,
    pub column: u32,
    /// `None` when the statement has no Principal/NotPrincipal.
    pub principal: Option<bool>,
    pub action: bool,
    /// `None` when the statement has no Resource/NotResource (trust policies).
    pub resource: Option<bool>,
    pub conditions: Vec<ConditionTrace>,
    /// Whether the statement applies to the request.
    pub applies: bool,
}

/// One condition key under one operator.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionTrace {
    pub operator: String,
    pub key: String,
    /// The request's values; `None` when the key is absent.
    pub request_values: Option<Vec<String>>,
    pub policy_values: Vec<String>,
    pub result: bool,
}

impl PolicyType {
    /// Lower-case name as used on the command line and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity",
            PolicyType::Resource => "resource",
            PolicyType::Boundary => "boundary",
            PolicyType::Session => "session",
            PolicyType::Scp => "scp",
            PolicyType::Rcp => "rcp",
            PolicyType::Vpce => "vpce",
            PolicyType::Key => "key",
            PolicyType::Trust => "trust",
        }
    }

    /// The phrase AWS uses in AccessDenied messages, with its article.
    pub fn phrase(self) -> (&'static str, &'static str) {
        match self {
            PolicyType::Identity => ("an", "identity-based policy"),
            PolicyType::Resource | PolicyType::Key | PolicyType::Trust => {
                ("a", "resource-based policy")
            }
            PolicyType::Boundary => ("a", "permissions boundary"),
            PolicyType::Session => ("a", "session policy"),
            PolicyType::Scp => ("a", "service control policy"),
            PolicyType::Rcp => ("a", "resource control policy"),
            PolicyType::Vpce => ("a", "VPC endpoint policy"),
        }
    }
}

impl std::str::FromStr for PolicyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "identity" => PolicyType::Identity,
            "resource" => PolicyType::Resource,
            "boundary" => PolicyType::Boundary,
            "session" => PolicyType::Session,
            "scp" => PolicyType::Scp,
            "rcp" => PolicyType::Rcp,
            "vpce" => PolicyType::Vpce,
            "key" => PolicyType::Key,
            "trust" => PolicyType::Trust,
            _ => return Err(format!("unknown policy type `{s}`")),
        })
    }
}

impl std::fmt::Display for PolicyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn message(d: &Decision, req: &Request) -> String {
    let mut m = format!(
        "User: {} is not authorized to perform: {}",
        req.principal.arn(),
        req.action
    );
    if !req.resource.is_empty() {
        m.push_str(" on resource: ");
        m.push_str(req.resource);
    }
    let first = d
        .blocked_by()
        .first()
        .copied()
        .unwrap_or(PolicyType::Identity);
    let (article, phrase) = first.phrase();
    match d.outcome() {
        Outcome::Allowed => {
            return format!(
                "User: {} is authorized to perform: {}{}{}",
                req.principal.arn(),
                req.action,
                if req.resource.is_empty() {
                    ""
                } else {
                    " on resource: "
                },
                req.resource
            );
        }
        Outcome::ExplicitlyDenied => {
            m.push_str(" with an explicit deny in ");
            m.push_str(article);
            m.push(' ');
            m.push_str(phrase);
        }
        Outcome::ImplicitlyDenied => {
            m.push_str(" because no ");
            m.push_str(phrase);
            m.push_str(" allows the ");
            m.push_str(req.action);
            m.push_str(" action");
        }
    }
    m
}

impl std::fmt::Display for Trace {
    /// One line per policy, one per statement, one per condition key, then the notes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = |b: bool| if b { "matched" } else { "no match" };
        for p in &self.policies {
            writeln!(f, "{} ({})", p.label, p.kind.phrase().1)?;
            if p.statements.is_empty() {
                writeln!(f, "  (no statements)")?;
            }
            for s in &p.statements {
                write!(
                    f,
                    "  {} {} (line {}, column {}):",
                    s.effect, s.statement, s.line, s.column
                )?;
                if let Some(pm) = s.principal {
                    write!(f, " principal {},", mark(pm))?;
                }
                write!(f, " action {}", mark(s.action))?;
                if let Some(r) = s.resource {
                    write!(f, ", resource {}", mark(r))?;
                }
                if !s.conditions.is_empty() {
                    let ok = s.conditions.iter().all(|c| c.result);
                    write!(f, ", conditions {}", if ok { "true" } else { "false" })?;
                }
                writeln!(
                    f,
                    " => {}",
                    if s.applies {
                        "applies"
                    } else {
                        "does not apply"
                    }
                )?;
                for c in &s.conditions {
                    let req = match &c.request_values {
                        None => "absent".to_owned(),
                        Some(v) => format!("{v:?}"),
                    };
                    writeln!(
                        f,
                        "      {} {}: request {} vs policy {:?} => {}",
                        c.operator, c.key, req, c.policy_values, c.result
                    )?;
                }
            }
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}
