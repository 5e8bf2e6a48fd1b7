//! `perimeter policy validate|simulate`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use policy::json::{self, Node, Value as JsonValue};
use policy::{Context, Policy, PolicySet, PolicyType, Principal, Request, Severity, Value};
use serde_json::json;

/// `println!` that ignores a closed standard output (e.g. piped into `head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check policy documents like IAM Access Analyzer: errors for what AWS rejects, warnings
    /// for what is legal but dangerous. Exits 1 when any file has an error.
    Validate {
        /// Policy documents (JSON).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Policy type; by default `trust` for statements that only allow sts:AssumeRole*,
        /// `resource` when statements name a Principal, otherwise `identity`.
        #[arg(long = "type", value_enum)]
        kind: Option<Kind>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Evaluate requests against policies and explain the decisions.
    Simulate {
        /// A JSON request or an array of them: {"principal": ARN, "principalTags": {...},
        /// "action": "s3:GetObject", "resource": ARN, "resourceAccount": "123456789012",
        /// "context": {...}, "policies": {"identity": [DOC...], "resource": DOC, "boundary": DOC,
        /// "session": DOC, "scps": [[DOC...]], "rcps": [[DOC...]], "vpce": [DOC...], "key": DOC,
        /// "trust": DOC}}.
        #[arg(long, value_name = "FILE")]
        request: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Identity,
    Resource,
    Scp,
    Rcp,
    Boundary,
    Session,
    Vpce,
    Key,
    Trust,
}

impl From<Kind> for PolicyType {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Identity => PolicyType::Identity,
            Kind::Resource => PolicyType::Resource,
            Kind::Scp => PolicyType::Scp,
            Kind::Rcp => PolicyType::Rcp,
            Kind::Boundary => PolicyType::Boundary,
            Kind::Session => PolicyType::Session,
            Kind::Vpce => PolicyType::Vpce,
            Kind::Key => PolicyType::Key,
            Kind::Trust => PolicyType::Trust,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Validate {
            files,
            kind,
            format,
        } => validate(&files, kind.map(Into::into), format),
        PolicyCommand::Simulate { request, format } => simulate(&request, format),
    }
}

/// Guesses the policy type of a document that parses.
fn infer_kind(text: &str) -> PolicyType {
    let Ok(root) = json::parse(text) else {
        return PolicyType::Identity;
    };
    let stmts: Vec<&Node> = match root.get("Statement") {
        Some(n) => match &n.value {
            JsonValue::Array(a) => a.iter().collect(),
            _ => vec![n],
        },
        None => vec![&root],
    };
    let has_principal = stmts
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some());
    if !has_principal {
        return PolicyType::Identity;
    }
    let assume_only = stmts.iter().all(|s| {
        s.get("Resource").is_none()
            && s.get("Action").is_some_and(|a| {
                let v: Vec<&str> = match &a.value {
                    JsonValue::Array(items) => items.iter().filter_map(|i| i.as_str()).collect(),
                    _ => a.as_str().into_iter().collect(),
                };
                !v.is_empty()
                    && v.iter().all(|x| {
                        x.to_ascii_lowercase().starts_with("sts:assumerole")
                            || x.eq_ignore_ascii_case("sts:TagSession")
                    })
            })
    });
    if assume_only {
        PolicyType::Trust
    } else {
        PolicyType::Resource
    }
}

fn validate(files: &[PathBuf], kind: Option<PolicyType>, format: Format) -> ExitCode {
    let mut errors = false;
    let mut out = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = match std::fs::read(f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                errors = true;
                match format {
                    Format::Text => eprintln!("{name}: error: cannot read the file: {e}"),
                    Format::Json => out.push(
                        json!({"file": name, "severity": "error", "line": 0, "column": 0,
                        "statement": null, "message": format!("cannot read the file: {e}")}),
                    ),
                }
                continue;
            }
        };
        let k = kind.unwrap_or_else(|| infer_kind(&text));
        let findings = policy::validate(&text, k);
        for fd in &findings {
            errors |= fd.severity == Severity::Error;
            match format {
                Format::Text => {
                    let stmt = fd.statement.as_deref().map(|s| format!(" (statement {s})")).unwrap_or_default();
                    out!("{name}:{}:{}: {}: {}{stmt}", fd.line, fd.column, fd.severity.as_str(), fd.message);
                }
                Format::Json => out.push(json!({
                    "file": name, "type": k.as_str(), "severity": fd.severity.as_str(), "line": fd.line,
                    "column": fd.column, "statement": fd.statement, "message": fd.message,
                })),
            }
        }
        if format == Format::Text && findings.is_empty() {
            eprintln!("{name}: ok ({} policy)", k.as_str());
        }
    }
    if format == Format::Json {
        out!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A policy document inside the request file: an object (sliced out of the file, so error
/// positions are file positions) or a string holding the document.
fn load_policy(src: &str, node: &Node, kind: PolicyType, label: &str) -> Result<Policy, String> {
    match &node.value {
        JsonValue::String(s) => Policy::parse(s, kind).map_err(|e| format!("{label}: {e}")),
        JsonValue::Object(_) => Policy::parse(node.raw(src), kind).map_err(|e| {
            let (l0, c0) = json::position(src, node.start);
            let (line, col) = if e.line() == 1 {
                (l0, c0 + e.column() - 1)
            } else {
                (l0 + e.line() - 1, e.column())
            };
            format!("{label}: line {line}, column {col}: {}", e.message())
        }),
        _ => Err(format!(
            "{label}: a policy must be a JSON object or a string, found {}",
            node.type_name()
        )),
    }
}

fn one_or_many<'n, 'a>(node: &'n Node<'a>) -> Vec<&'n Node<'a>> {
    match &node.value {
        JsonValue::Array(items) => items.iter().collect(),
        _ => vec![node],
    }
}

struct Loaded {
    /// Where each policy given as an object starts in the file, by trace label.
    positions: Vec<(String, (u32, u32))>,
    principal: Principal,
    action: String,
    resource: String,
    resource_account: Option<String>,
    context: Context,
    identity: Vec<Policy>,
    resource_policy: Option<Policy>,
    boundary: Option<Vec<Policy>>,
    session: Option<Vec<Policy>>,
    scps: Vec<Vec<Policy>>,
    rcps: Vec<Vec<Policy>>,
    vpce: Vec<Policy>,
    key: Option<Policy>,
    trust: Option<Policy>,
}

fn scalar(n: &Node) -> Option<String> {
    match &n.value {
        JsonValue::String(s) => Some(s.to_string()),
        JsonValue::Number(s) => Some((*s).to_owned()),
        JsonValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn load_request(src: &str, r: &Node) -> Result<Loaded, String> {
    if r.as_object().is_none() {
        return Err(format!(
            "a request must be an object, found {}",
            r.type_name()
        ));
    }
    let string = |k: &str| -> Result<Option<String>, String> {
        match r.get(k) {
            None
            | Some(Node {
                value: JsonValue::Null,
                ..
            }) => Ok(None),
            Some(n) => n
                .as_str()
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| format!("`{k}` must be a string")),
        }
    };
    let parn = string("principal")?.ok_or("missing `principal`")?;
    let mut principal = Principal::from_arn(&parn).ok_or_else(|| {
        format!("`principal` `{parn}` is not a principal ARN (root, user, assumed-role, federated-user), an account id, a service name or `anonymous`")
    })?;
    if let Some(tags) = r.get("principalTags") {
        let members = tags
            .as_object()
            .ok_or("`principalTags` must be an object")?;
        for (k, v) in members {
            let v =
                scalar(v).ok_or_else(|| format!("principal tag `{}` must be a string", k.name))?;
            principal = principal.with_tag(&k.name, &v);
        }
    }
    let action = string("action")?.ok_or("missing `action`")?;
    let resource = string("resource")?.unwrap_or_else(|| "*".to_owned());
    let resource_account = string("resourceAccount")?;
    let mut context = Context::new();
    if let Some(c) = r.get("context") {
        let members = c.as_object().ok_or("`context` must be an object")?;
        for (k, v) in members {
            let value = match &v.value {
                JsonValue::Array(items) => Value::Multi(
                    items
                        .iter()
                        .map(|i| {
                            scalar(i).ok_or_else(|| {
                                format!(
                                    "context key `{}`: values must be strings, numbers or booleans",
                                    k.name
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => Value::Single(scalar(v).ok_or_else(|| {
                    format!(
                        "context key `{}` must be a string, number, boolean or an array of them",
                        k.name
                    )
                })?),
            };
            context.insert(k.name.to_string(), value);
        }
    }
    context.add_principal_keys(&principal);
    let mut l = Loaded {
        positions: Vec::new(),
        principal,
        action,
        resource,
        resource_account,
        context,
        identity: Vec::new(),
        resource_policy: None,
        boundary: None,
        session: None,
        scps: Vec::new(),
        rcps: Vec::new(),
        vpce: Vec::new(),
        key: None,
        trust: None,
    };
    let Some(pols) = r.get("policies") else {
        return Ok(l);
    };
    let members = pols.as_object().ok_or("`policies` must be an object")?;
    let mut positions = Vec::new();
    for (k, v) in members {
        let name = k.name.as_ref();
        let mut note = |label: String, d: &Node| {
            if d.as_object().is_some() {
                positions.push((label, json::position(src, d.start)));
            }
        };
        match name {
            "identity" | "boundary" | "session" | "vpce" => {
                for (i, d) in one_or_many(v).iter().enumerate() {
                    note(format!("{name}[{i}]"), d);
                }
            }
            "scps" | "rcps" => {
                for (li, level) in v.as_array().unwrap_or_default().iter().enumerate() {
                    for (i, d) in one_or_many(level).iter().enumerate() {
                        note(format!("{name}[{li}][{i}]"), d);
                    }
                }
            }
            _ => note(name.to_owned(), v),
        }
        let many = |kind: PolicyType| -> Result<Vec<Policy>, String> {
            one_or_many(v)
                .iter()
                .enumerate()
                .map(|(i, d)| load_policy(src, d, kind, &format!("policies.{name}[{i}]")))
                .collect()
        };
        let levels = |kind: PolicyType| -> Result<Vec<Vec<Policy>>, String> {
            let outer = v.as_array().ok_or_else(|| {
                format!("`policies.{name}` must be an array of levels (arrays of policies)")
            })?;
            outer
                .iter()
                .enumerate()
                .map(|(li, level)| {
                    one_or_many(level)
                        .iter()
                        .enumerate()
                        .map(|(i, d)| {
                            load_policy(src, d, kind, &format!("policies.{name}[{li}][{i}]"))
                        })
                        .collect()
                })
                .collect()
        };
        let single = |kind: PolicyType| load_policy(src, v, kind, &format!("policies.{name}"));
        match name {
            "identity" => l.identity = many(PolicyType::Identity)?,
            "resource" => l.resource_policy = Some(single(PolicyType::Resource)?),
            "boundary" => l.boundary = Some(many(PolicyType::Boundary)?),
            "session" => l.session = Some(many(PolicyType::Session)?),
            "scps" => l.scps = levels(PolicyType::Scp)?,
            "rcps" => l.rcps = levels(PolicyType::Rcp)?,
            "vpce" => l.vpce = many(PolicyType::Vpce)?,
            "key" => l.key = Some(single(PolicyType::Key)?),
            "trust" => l.trust = Some(single(PolicyType::Trust)?),
            other => return Err(format!("unknown policy type `{other}` in `policies`")),
        }
    }
    l.positions = positions;
    Ok(l)
}

fn simulate(path: &PathBuf, format: Format) -> ExitCode {
    let src = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("{}: error: cannot read the file: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let root = match json::parse(&src) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "{}:{}:{}: error: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            );
            return ExitCode::from(1);
        }
    };
    let requests = one_or_many(&root);
    let mut failed = false;
    let mut out = Vec::new();
    for (n, r) in requests.iter().enumerate() {
        let loaded = match load_request(&src, r) {
            Ok(l) => l,
            Err(e) => {
                failed = true;
                match format {
                    Format::Json => out.push(json!({ "error": e })),
                    Format::Text => out!("request {}: error: {e}\n", n + 1),
                }
                continue;
            }
        };
        let identity: Vec<&Policy> = loaded.identity.iter().collect();
        let boundary: Option<Vec<&Policy>> = loaded.boundary.as_ref().map(|b| b.iter().collect());
        let session: Option<Vec<&Policy>> = loaded.session.as_ref().map(|b| b.iter().collect());
        let scps: Vec<Vec<&Policy>> = loaded.scps.iter().map(|l| l.iter().collect()).collect();
        let rcps: Vec<Vec<&Policy>> = loaded.rcps.iter().map(|l| l.iter().collect()).collect();
        let vpce: Vec<&Policy> = loaded.vpce.iter().collect();
        let set = PolicySet {
            identity: &identity,
            resource: loaded.resource_policy.as_ref(),
            boundary: boundary.as_deref(),
            session: session.as_deref(),
            scps: &scps,
            rcps: &rcps,
            vpce: &vpce,
            key: loaded.key.as_ref(),
            trust: loaded.trust.as_ref(),
        };
        let req = Request {
            principal: &loaded.principal,
            action: &loaded.action,
            resource: &loaded.resource,
            resource_account: loaded.resource_account.as_deref(),
            context: &loaded.context,
        };
        let (decision, mut trace) = policy::explain(&req, &set);
        // statement positions are relative to each policy document: make them file positions
        for p in &mut trace.policies {
            if let Some((_, (l0, c0))) =
                loaded.positions.iter().find(|(label, _)| *label == p.label)
            {
                for st in &mut p.statements {
                    if st.line == 1 {
                        st.column += c0 - 1;
                    }
                    st.line += l0 - 1;
                }
            }
        }
        let blocked: Vec<&str> = decision.blocked_by().iter().map(|k| k.as_str()).collect();
        match format {
            Format::Text => {
                out!(
                    "request {}: {} {} on {}",
                    n + 1,
                    loaded.principal.arn(),
                    loaded.action,
                    loaded.resource
                );
                out!("decision: {}", decision.outcome().as_str());
                if !blocked.is_empty() {
                    out!("blocked by: {}", blocked.join(", "));
                }
                out!("message: {}", decision.message(&req));
                out!("trace:");
                for line in trace.to_string().lines() {
                    out!("  {line}");
                }
                out!();
            }
            Format::Json => {
                let policies: Vec<_> = trace
                    .policies
                    .iter()
                    .map(|p| {
                        json!({
                            "policy": p.label,
                            "type": p.kind.as_str(),
                            "statements": p.statements.iter().map(|s| json!({
                                "statement": s.statement,
                                "effect": s.effect,
                                "line": s.line,
                                "column": s.column,
                                "principal": s.principal,
                                "action": s.action,
                                "resource": s.resource,
                                "conditions": s.conditions.iter().map(|c| json!({
                                    "operator": c.operator,
                                    "key": c.key,
                                    "requestValues": c.request_values,
                                    "policyValues": c.policy_values,
                                    "result": c.result,
                                })).collect::<Vec<_>>(),
                                "applies": s.applies,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                out.push(json!({
                    "decision": decision.outcome().as_str(),
                    "blockedBy": blocked,
                    "message": decision.message(&req),
                    "trace": policies,
                    "notes": trace.notes,
                }));
            }
        }
    }
    if format == Format::Json {
        out!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_the_policy_type() {
        let trust = r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
        assert_eq!(infer_kind(trust), PolicyType::Trust);
        let bucket = r#"{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}"#;
        assert_eq!(infer_kind(bucket), PolicyType::Resource);
        let identity = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
        assert_eq!(infer_kind(identity), PolicyType::Identity);
        assert_eq!(
            infer_kind("{'Version': '2012-10-17'}"),
            PolicyType::Identity
        );
    }

    #[test]
    fn loads_a_request_with_file_positions_for_errors() {
        let src = r#"{"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
 "context": {"aws:TagKeys": ["a", "b"], "aws:SecureTransport": true, "s3:max-keys": 10},
 "policies": {"identity": [{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
              "resource": {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resorce": "*"}}}}"#;
        let root = json::parse(src).expect("request parses");
        let err = load_request(src, &root)
            .err()
            .expect("the resource policy is invalid");
        assert!(
            err.starts_with("policies.resource: line 4, column"),
            "{err}"
        );
        assert!(err.contains("no `Resource`"), "{err}");

        let ok = src.replace("Resorce", "Resource");
        let root = json::parse(&ok).expect("request parses");
        let l = load_request(&ok, &root).expect("loads");
        assert_eq!(l.identity.len(), 1);
        assert!(l.resource_policy.is_some());
        assert_eq!(
            l.context.get("aws:tagkeys"),
            Some(&Value::Multi(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            l.context.get("aws:SecureTransport"),
            Some(&Value::Single("true".into()))
        );
        assert_eq!(
            l.context.get("aws:PrincipalArn"),
            Some(&Value::Single(
                "arn:aws:iam::111122223333:user/alice".into()
            ))
        );
        assert_eq!(l.positions.first().map(|p| p.1), Some((3, 28)));
    }

    #[test]
    fn rejects_unknown_principals_and_policy_types() {
        let src = r#"{"principal": "bob", "action": "s3:GetObject"}"#;
        let root = json::parse(src).expect("parses");
        assert!(
            load_request(src, &root)
                .err()
                .is_some_and(|e| e.contains("not a principal ARN"))
        );
        let src =
            r#"{"principal": "anonymous", "action": "s3:GetObject", "policies": {"acl": {}}}"#;
        let root = json::parse(src).expect("parses");
        assert!(
            load_request(src, &root)
                .err()
                .is_some_and(|e| e.contains("unknown policy type `acl`"))
        );
    }
}
