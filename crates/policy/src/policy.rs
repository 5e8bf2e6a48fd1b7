//! Policy documents: parse, check and compile.

use std::fmt;

use crate::condition::{self, CondValue, Condition, OpParse, SetOp};
use crate::json::{self, Node, Value};
use crate::pattern::{ActionPattern, ArnPattern, VarIssue};
use crate::validate::{Finding, Severity};

/// Where a policy is attached, which decides which elements it may use and how it combines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Identity-based policy (inline or managed) of a user, group or role.
    Identity,
    /// Resource-based policy: bucket policy, access point policy, queue policy, ...
    Resource,
    /// Permissions boundary of a user or role.
    Boundary,
    /// Session policy passed to `AssumeRole*` or `GetFederationToken`.
    Session,
    /// Service control policy (AWS Organizations).
    Scp,
    /// Resource control policy (AWS Organizations).
    Rcp,
    /// VPC endpoint policy.
    Vpce,
    /// KMS key policy.
    Key,
    /// Role trust policy.
    Trust,
}

impl PolicyType {
    pub const ALL: [PolicyType; 9] = [
        PolicyType::Identity,
        PolicyType::Resource,
        PolicyType::Boundary,
        PolicyType::Session,
        PolicyType::Scp,
        PolicyType::Rcp,
        PolicyType::Vpce,
        PolicyType::Key,
        PolicyType::Trust,
    ];

    /// Whether statements carry a Principal (resource-side policy types).
    fn principal_rule(self) -> PrincipalRule {
        match self {
            PolicyType::Identity | PolicyType::Boundary | PolicyType::Session | PolicyType::Scp => {
                PrincipalRule::Forbidden
            }
            PolicyType::Rcp => PrincipalRule::StarOnly,
            PolicyType::Resource | PolicyType::Vpce | PolicyType::Key | PolicyType::Trust => {
                PrincipalRule::Required
            }
        }
    }

    /// Policies stored by IAM or Organizations, whose Sids must be alphanumeric.
    fn strict_sid(self) -> bool {
        matches!(
            self,
            PolicyType::Identity
                | PolicyType::Boundary
                | PolicyType::Session
                | PolicyType::Scp
                | PolicyType::Rcp
                | PolicyType::Trust
        )
    }

    /// Size limit in characters, and whether white space outside strings counts.
    fn size_limit(self) -> (usize, bool) {
        match self {
            PolicyType::Identity => (10_240, false),
            PolicyType::Boundary => (6_144, false),
            PolicyType::Session => (2_048, true),
            PolicyType::Scp | PolicyType::Rcp => (5_120, true),
            PolicyType::Resource => (20_480, true),
            PolicyType::Vpce => (20_480, true),
            PolicyType::Key => (32_768, true),
            PolicyType::Trust => (2_048, false),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity-based policy",
            PolicyType::Resource => "a resource-based policy",
            PolicyType::Boundary => "a permissions boundary",
            PolicyType::Session => "a session policy",
            PolicyType::Scp => "a service control policy",
            PolicyType::Rcp => "a resource control policy",
            PolicyType::Vpce => "a VPC endpoint policy",
            PolicyType::Key => "a KMS key policy",
            PolicyType::Trust => "a role trust policy",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PrincipalRule {
    Forbidden,
    StarOnly,
    Required,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// One `"AWS"` principal value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AwsPrincipal {
    Any,
    Account(String),
    User(String),
    Role(String),
    Session(String),
    FederatedUser(String),
    UniqueId(String),
}

/// A compiled Principal or NotPrincipal element.
#[derive(Clone, Debug, Default)]
pub(crate) struct PrincipalSpec {
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    pub any: bool,
    pub aws: Vec<AwsPrincipal>,
    pub service: Vec<String>,
    pub federated: Vec<String>,
    pub canonical: Vec<String>,
}

/// A compiled statement.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    /// The Sid, or `#index` when there is none.
    pub label: String,
    pub effect: Effect,
    /// Byte offset of the statement in the policy text (line and column are computed for traces).
    pub offset: usize,
    pub principal: Option<PrincipalSpec>,
    pub not_principal: bool,
    pub actions: Vec<ActionPattern>,
    /// Union of the actions' service bits (all bits for NotAction): a request whose service bit
    /// is not set cannot match `Action`.
    pub service_filter: u64,
    pub not_action: bool,
    /// `None` when the statement has no Resource/NotResource (trust policies).
    pub resources: Option<Vec<ArnPattern>>,
    pub not_resource: bool,
    pub conditions: Vec<Condition>,
}

/// A parsed, compiled policy document. Cheap to share between threads (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct Policy {
    text: String,
    kind: PolicyType,
    version: Option<String>,
    id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Parses and compiles `text` as a policy of type `kind`. Fails on the first error (in
    /// document order); warnings are ignored (see [`crate::validate`]).
    pub fn parse(text: &str, kind: PolicyType) -> Result<Policy, PolicyError> {
        let (policy, findings) = compile(text, kind);
        if let Some(f) = findings.iter().find(|f| f.severity == Severity::Error) {
            return Err(PolicyError {
                line: f.line,
                column: f.column,
                message: f.message.clone(),
            });
        }
        policy.ok_or_else(|| PolicyError {
            line: 1,
            column: 1,
            message: "invalid policy".to_owned(),
        })
    }

    /// The document as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The type the policy was parsed as.
    pub fn kind(&self) -> PolicyType {
        self.kind
    }

    /// The Version element, if any.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The Id element, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
}

/// A policy that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    line: u32,
    column: u32,
    message: String,
}

impl PolicyError {
    pub fn new(line: u32, column: u32, message: impl Into<String>) -> Self {
        PolicyError {
            line,
            column,
            message: message.into(),
        }
    }
    pub fn line(&self) -> u32 {
        self.line
    }
    pub fn column(&self) -> u32 {
        self.column
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for PolicyError {}

/// Global condition keys that hold at most one value: set operators on them are suspicious.
const SINGLE_VALUED: &[&str] = &[
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:currenttime",
    "aws:epochtime",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalservicename",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpcsourceip",
    "aws:ec2instancesourcevpc",
    "aws:ec2instancesourceprivateipv4",
    "aws:sourcevpcarn",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "kms:grantisforawsresource",
    "kms:viaservice",
    "kms:callerAccount",
    "iam:passedtoservice",
];

const SINGLE_VALUED_PREFIXES: &[&str] =
    &["aws:requesttag/", "aws:resourcetag/", "aws:principaltag/"];

fn is_single_valued(lower_key: &str) -> bool {
    SINGLE_VALUED
        .iter()
        .any(|k| k.eq_ignore_ascii_case(lower_key))
        || SINGLE_VALUED_PREFIXES
            .iter()
            .any(|p| lower_key.starts_with(p))
}

struct Checker<'t> {
    text: &'t str,
    kind: PolicyType,
    findings: Vec<Finding>,
    stmt: Option<String>,
}

impl Checker<'_> {
    fn push(&mut self, severity: Severity, offset: usize, message: String) {
        let (line, column) = json::position(self.text, offset);
        self.findings.push(Finding {
            severity,
            line,
            column,
            statement: self.stmt.clone(),
            message,
        });
    }
    fn error(&mut self, offset: usize, message: String) {
        self.push(Severity::Error, offset, message);
    }
    fn warn(&mut self, offset: usize, message: String) {
        self.push(Severity::Warning, offset, message);
    }

    /// A string or an array of strings; JSON numbers and booleans are accepted where IAM
    /// accepts them (condition values) when `scalars` is set.
    fn strings(&mut self, node: &Node, what: &str, scalars: bool) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut one = |c: &mut Self, n: &Node| match &n.value {
            Value::String(s) => out.push((s.to_string(), n.start)),
            Value::Number(s) if scalars => out.push((s.to_string(), n.start)),
            Value::Bool(b) if scalars => out.push((b.to_string(), n.start)),
            _ => c.error(
                n.start,
                format!("{what} must be a string, found {}", n.type_name()),
            ),
        };
        match &node.value {
            Value::Array(items) => {
                if items.is_empty() {
                    self.error(node.start, format!("{what} must not be an empty array"));
                }
                for it in items {
                    one(self, it);
                }
            }
            _ => one(self, node),
        }
        out
    }
}

/// Counts characters, leaving out white space outside strings unless `with_ws`.
fn policy_size(text: &str, with_ws: bool) -> usize {
    if with_ws {
        return text.chars().count();
    }
    let mut n = 0;
    let mut in_str = false;
    let mut esc = false;
    for c in text.chars() {
        if in_str {
            n += 1;
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if !c.is_whitespace() {
            n += 1;
            if c == '"' {
                in_str = true;
            }
        }
    }
    n
}

/// Parses, checks and compiles. Returns the policy when there is no error, and every finding
/// in document order.
pub(crate) fn compile(text: &str, kind: PolicyType) -> (Option<Policy>, Vec<Finding>) {
    let mut ck = Checker {
        text,
        kind,
        findings: Vec::new(),
        stmt: None,
    };
    let root = match json::parse(text) {
        Ok(r) => r,
        Err(e) => {
            ck.findings.push(Finding {
                severity: Severity::Error,
                line: e.line,
                column: e.column,
                statement: None,
                message: e.message,
            });
            return (None, ck.findings);
        }
    };
    let policy = compile_root(&mut ck, &root);
    let (limit, with_ws) = kind.size_limit();
    let size = policy_size(text, with_ws);
    if size > limit {
        ck.error(
            root.start,
            format!(
                "policy is too large: {size} characters{}, {} may have at most {limit}",
                if with_ws {
                    ""
                } else {
                    " not counting white space"
                },
                kind.noun()
            ),
        );
    }
    ck.findings.sort_by_key(|f| (f.line, f.column, f.severity));
    let ok = !ck.findings.iter().any(|f| f.severity == Severity::Error);
    (policy.filter(|_| ok), ck.findings)
}

fn compile_root(ck: &mut Checker, root: &Node) -> Option<Policy> {
    let Some(members) = root.as_object() else {
        let msg = match &root.value {
            Value::Array(_) => {
                "a policy must be a JSON object `{...}` with a `Statement` element, found an array"
                    .to_owned()
            }
            _ => format!(
                "a policy must be a JSON object `{{...}}` with a `Statement` element, found {}",
                root.type_name()
            ),
        };
        ck.error(root.start, msg);
        return None;
    };
    let has = |k: &str| members.iter().any(|(key, _)| key.name == k);
    if !has("Statement") && (has("Effect") || has("Action") || has("NotAction")) {
        ck.error(
            root.start,
            "this is a single statement, not a policy document: wrap it as {\"Version\": \"2012-10-17\", \"Statement\": [ ... ]}".to_owned(),
        );
        return None;
    }
    let mut version: Option<String> = None;
    let mut id = None;
    let mut statement_node = None;
    let mut seen: Vec<&str> = Vec::new();
    for (key, val) in members {
        if seen.contains(&key.name.as_ref()) {
            ck.error(
                key.start,
                format!("element `{}` appears more than once", key.name),
            );
            continue;
        }
        seen.push(&key.name);
        match key.name.as_ref() {
            "Version" => match val.as_str() {
                Some(v @ ("2012-10-17" | "2008-10-17")) => version = Some(v.to_owned()),
                Some(v) => ck.error(
                    val.start,
                    format!("unknown Version `{v}`: use `2012-10-17` (or the older `2008-10-17`)"),
                ),
                None => ck.error(
                    val.start,
                    format!("`Version` must be a string, found {}", val.type_name()),
                ),
            },
            "Id" => match val.as_str() {
                Some(v) => id = Some(v.to_owned()),
                None => ck.error(
                    val.start,
                    format!("`Id` must be a string, found {}", val.type_name()),
                ),
            },
            "Statement" => statement_node = Some(val),
            other => {
                let hint = ["Version", "Id", "Statement"]
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(other))
                    .map(|k| format!("; element names are case-sensitive: `{k}`"))
                    .unwrap_or_else(|| "; a policy has `Version`, `Id` and `Statement`".to_owned());
                ck.error(key.start, format!("unknown element `{other}`{hint}"));
            }
        }
    }
    let variables = version.as_deref() == Some("2012-10-17");
    let Some(stmts) = statement_node else {
        ck.error(root.start, "missing `Statement`".to_owned());
        return None;
    };
    let nodes: Vec<&Node> = match &stmts.value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![stmts],
        _ => {
            ck.error(
                stmts.start,
                format!(
                    "`Statement` must be an object or an array of objects, found {}",
                    stmts.type_name()
                ),
            );
            return None;
        }
    };
    if nodes.is_empty() {
        ck.error(stmts.start, "`Statement` must not be empty".to_owned());
    }
    let mut statements = Vec::new();
    let mut sids: Vec<String> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if let Some(s) = compile_statement(ck, n, i, variables, version.is_some(), &mut sids) {
            statements.push(s);
        }
    }
    ck.stmt = None;
    Some(Policy {
        text: ck.text.to_owned(),
        kind: ck.kind,
        version,
        id,
        statements,
    })
}

const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn compile_statement(
    ck: &mut Checker,
    node: &Node,
    index: usize,
    variables: bool,
    has_version: bool,
    sids: &mut Vec<String>,
) -> Option<Statement> {
    let Some(members) = node.as_object() else {
        ck.stmt = Some(format!("#{index}"));
        ck.error(
            node.start,
            format!("a statement must be an object, found {}", node.type_name()),
        );
        return None;
    };
    let sid = node.get("Sid").and_then(|s| s.as_str()).map(str::to_owned);
    let label = match &sid {
        Some(s) if !s.is_empty() => s.clone(),
        _ => format!("#{index}"),
    };
    ck.stmt = Some(label.clone());
    let mut seen: Vec<&str> = Vec::new();
    for (key, _) in members {
        if seen.contains(&key.name.as_ref()) {
            ck.error(
                key.start,
                format!(
                    "element `{}` appears more than once in the statement",
                    key.name
                ),
            );
        }
        seen.push(&key.name);
        if !STATEMENT_KEYS.contains(&key.name.as_ref()) {
            let hint = STATEMENT_KEYS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(&key.name))
                .map(|k| format!("; element names are case-sensitive: `{k}`"))
                .unwrap_or_default();
            ck.error(
                key.start,
                format!("unknown element `{}` in a statement{hint}", key.name),
            );
        }
    }
    let get = |k: &str| node.get(k);

    // Sid
    if let Some(s) = get("Sid") {
        match s.as_str() {
            None => ck.error(
                s.start,
                format!("`Sid` must be a string, found {}", s.type_name()),
            ),
            Some(v) => {
                if ck.kind.strict_sid() && !v.chars().all(|c| c.is_ascii_alphanumeric()) {
                    ck.error(
                        s.start,
                        format!(
                            "Sid `{v}` must contain only letters and digits in {}",
                            ck.kind.noun()
                        ),
                    );
                }
                if !v.is_empty() {
                    if sids.iter().any(|x| x == v) {
                        ck.error(
                            s.start,
                            format!("duplicate Sid `{v}`: statement ids must be unique"),
                        );
                    }
                    sids.push(v.to_owned());
                }
            }
        }
    }

    // Effect
    let effect = match get("Effect") {
        None => {
            ck.error(node.start, "statement has no `Effect`".to_owned());
            None
        }
        Some(e) => match e.as_str() {
            Some("Allow") => Some(Effect::Allow),
            Some("Deny") => Some(Effect::Deny),
            Some(v) => {
                let hint = if v.eq_ignore_ascii_case("allow") || v.eq_ignore_ascii_case("deny") {
                    " (the value is case-sensitive)"
                } else {
                    ""
                };
                ck.error(
                    e.start,
                    format!("`Effect` must be `Allow` or `Deny`, found `{v}`{hint}"),
                );
                None
            }
            None => {
                ck.error(
                    e.start,
                    format!("`Effect` must be a string, found {}", e.type_name()),
                );
                None
            }
        },
    };

    // Principal / NotPrincipal
    let (pnode, not_principal) = match (get("Principal"), get("NotPrincipal")) {
        (Some(_), Some(np)) => {
            ck.error(
                np.start,
                "a statement cannot have both `Principal` and `NotPrincipal`".to_owned(),
            );
            (get("Principal"), false)
        }
        (Some(p), None) => (Some(p), false),
        (None, Some(np)) => (Some(np), true),
        (None, None) => (None, false),
    };
    let elem = if not_principal {
        "NotPrincipal"
    } else {
        "Principal"
    };
    let principal = match (ck.kind.principal_rule(), pnode) {
        (PrincipalRule::Forbidden, Some(p)) => {
            ck.error(
                p.start,
                format!(
                    "`{elem}` is not allowed in {}: it applies to the identity it is attached to",
                    ck.kind.noun()
                ),
            );
            None
        }
        (PrincipalRule::Required | PrincipalRule::StarOnly, None) => {
            ck.error(
                node.start,
                format!(
                    "statement has no `Principal`: {} must name who it applies to",
                    ck.kind.noun()
                ),
            );
            None
        }
        (PrincipalRule::StarOnly, Some(p)) => {
            let spec = compile_principal(ck, p, elem);
            if not_principal
                || spec
                    .as_ref()
                    .is_some_and(|s| !s.any || !s.aws.is_empty() || !s.service.is_empty())
            {
                ck.error(
                    p.start,
                    "a resource control policy supports only `\"Principal\": \"*\"`".to_owned(),
                );
            }
            spec
        }
        (_, Some(p)) => compile_principal(ck, p, elem),
        (_, None) => None,
    };
    if not_principal
        && effect == Some(Effect::Allow)
        && let Some(p) = pnode
    {
        ck.warn(
            p.start,
            "`Allow` with `NotPrincipal` grants access to every principal not listed, anonymous users included"
                .to_owned(),
        );
    }

    // Action / NotAction
    let (anode, not_action) = match (get("Action"), get("NotAction")) {
        (Some(_), Some(na)) => {
            ck.error(
                na.start,
                "a statement cannot have both `Action` and `NotAction`".to_owned(),
            );
            (get("Action"), false)
        }
        (Some(a), None) => (Some(a), false),
        (None, Some(na)) => (Some(na), true),
        (None, None) => {
            ck.error(
                node.start,
                "statement has no `Action` or `NotAction`".to_owned(),
            );
            (None, false)
        }
    };
    let mut actions = Vec::new();
    if let Some(a) = anode {
        let what = if not_action {
            "`NotAction`"
        } else {
            "`Action`"
        };
        for (s, off) in ck.strings(a, what, false) {
            if s != "*" {
                let ok = match s.split_once(':') {
                    Some((svc, act)) => {
                        !svc.is_empty()
                            && svc.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || b == b'-' || b == b'*' || b == b'?'
                            })
                            && !act.is_empty()
                            && !act.contains(':')
                    }
                    None => false,
                };
                if !ok {
                    ck.error(
                        off,
                        format!("action `{s}` must be `service:action` (wildcards allowed) or `*`"),
                    );
                }
            }
            actions.push(ActionPattern::compile(&s));
        }
    }

    // Resource / NotResource
    let (rnode, not_resource) = match (get("Resource"), get("NotResource")) {
        (Some(_), Some(nr)) => {
            ck.error(
                nr.start,
                "a statement cannot have both `Resource` and `NotResource`".to_owned(),
            );
            (get("Resource"), false)
        }
        (Some(r), None) => (Some(r), false),
        (None, Some(nr)) => (Some(nr), true),
        (None, None) => (None, false),
    };
    let resources = match (ck.kind, rnode) {
        (PolicyType::Trust, Some(r)) => {
            ck.error(
                r.start,
                "a role trust policy cannot have `Resource` or `NotResource`: it applies to the role itself".to_owned(),
            );
            None
        }
        (PolicyType::Trust, None) => None,
        (_, None) => {
            ck.error(
                node.start,
                "statement has no `Resource` or `NotResource`".to_owned(),
            );
            None
        }
        (_, Some(r)) => {
            let what = if not_resource {
                "`NotResource`"
            } else {
                "`Resource`"
            };
            let mut out = Vec::new();
            for (s, off) in ck.strings(r, what, false) {
                if s != "*" && !condition::is_arn_shaped(&s) {
                    ck.error(
                        off,
                        format!("resource `{s}` must be an ARN (`arn:partition:service:region:account:resource`) or `*`"),
                    );
                }
                let mut issues = Vec::new();
                out.push(ArnPattern::compile(&s, variables, &mut issues));
                var_findings(ck, off, &s, issues, variables, has_version);
            }
            Some(out)
        }
    };

    // Condition
    let mut conditions = Vec::new();
    if let Some(c) = get("Condition") {
        compile_conditions(ck, c, variables, has_version, &mut conditions);
    }

    let effect = effect?;
    Some(Statement {
        label,
        effect,
        offset: node.start,
        principal,
        not_principal,
        service_filter: if not_action {
            u64::MAX
        } else {
            actions.iter().fold(0, |m, a| m | a.service_bits())
        },
        actions,
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

/// Warnings for variables: malformed ones, and ones that are not substituted under the policy's
/// Version.
fn var_findings(
    ck: &mut Checker,
    off: usize,
    s: &str,
    issues: Vec<VarIssue>,
    variables: bool,
    has_version: bool,
) {
    let off = off + 1; // inside the quotes
    for i in issues {
        ck.warn(off + i.offset, i.message);
    }
    if !variables && let Some(p) = s.find("${") {
        let end = s[p..].find('}').map(|e| p + e + 1).unwrap_or(s.len());
        let why = if has_version {
            "under Version 2008-10-17"
        } else {
            "without a Version (which means 2008-10-17)"
        };
        ck.warn(
            off + p,
            format!(
                "policy variable `{}` is not substituted {why}: it is matched as literal text; set \"Version\": \"2012-10-17\"",
                &s[p..end]
            ),
        );
    }
}

fn compile_principal(ck: &mut Checker, node: &Node, elem: &str) -> Option<PrincipalSpec> {
    let mut spec = PrincipalSpec::default();
    match &node.value {
        Value::String(s) if s == "*" => {
            spec.any = true;
            return Some(spec);
        }
        Value::String(s) => {
            ck.error(
                node.start,
                format!("`{elem}` must be `\"*\"` or an object such as {{\"AWS\": \"{s}\"}}, found the string `{s}`"),
            );
            return None;
        }
        Value::Object(members) => {
            if members.is_empty() {
                ck.error(node.start, format!("`{elem}` must not be empty"));
            }
            for (key, val) in members {
                let what = format!("`{elem}` `{}` value", key.name);
                match key.name.as_ref() {
                    "AWS" => {
                        for (s, off) in ck.strings(val, &what, false) {
                            match classify_aws(&s) {
                                Ok(AwsPrincipal::Any) => {
                                    spec.any = true;
                                    spec.aws.push(AwsPrincipal::Any);
                                }
                                Ok(p) => spec.aws.push(p),
                                Err(m) => ck.error(off, m),
                            }
                        }
                    }
                    "Service" => {
                        for (s, off) in ck.strings(val, &what, false) {
                            if s.is_empty() || s.contains('*') || s.contains(char::is_whitespace) {
                                ck.error(off, format!("invalid service principal `{s}`: use a service name such as `s3.amazonaws.com`"));
                            } else if !s.contains('.') {
                                ck.warn(off, format!("service principal `{s}` does not look like a service name such as `s3.amazonaws.com`"));
                            }
                            spec.service.push(s);
                        }
                    }
                    "Federated" => {
                        for (s, off) in ck.strings(val, &what, false) {
                            if s.is_empty() || s.contains('*') {
                                ck.error(off, format!("invalid federated principal `{s}`"));
                            }
                            spec.federated.push(s);
                        }
                    }
                    "CanonicalUser" => {
                        for (s, off) in ck.strings(val, &what, false) {
                            if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                                ck.error(off, format!("invalid canonical user id `{s}`: expected 64 hexadecimal digits"));
                            }
                            spec.canonical.push(s.to_ascii_lowercase());
                        }
                    }
                    other => {
                        let hint = ["AWS", "Service", "Federated", "CanonicalUser"]
                            .iter()
                            .find(|k| k.eq_ignore_ascii_case(other))
                            .map(|k| format!("; principal types are case-sensitive: `{k}`"))
                            .unwrap_or_else(|| {
                                "; use `AWS`, `Service`, `Federated` or `CanonicalUser`".to_owned()
                            });
                        ck.error(key.start, format!("unknown principal type `{other}`{hint}"));
                    }
                }
            }
        }
        _ => {
            ck.error(
                node.start,
                format!(
                    "`{elem}` must be `\"*\"` or an object, found {}",
                    node.type_name()
                ),
            );
            return None;
        }
    }
    Some(spec)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn classify_aws(s: &str) -> Result<AwsPrincipal, String> {
    if s == "*" {
        return Ok(AwsPrincipal::Any);
    }
    if is_account_id(s) {
        return Ok(AwsPrincipal::Account(s.to_owned()));
    }
    let invalid = |why: &str| Err(format!("invalid principal `{s}`: {why}"));
    if s.len() >= 16
        && (s.starts_with("AIDA") || s.starts_with("AROA") || s.starts_with("AIPA"))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Ok(AwsPrincipal::UniqueId(s.to_owned()));
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return invalid(
            "expected `*`, a 12-digit account id, or the ARN of an account, user, role, role session or federated user",
        );
    }
    let (svc, region, acct, res) = (parts[2], parts[3], parts[4], parts[5]);
    if s.contains('*') || s.contains('?') {
        return invalid(
            "wildcards are not allowed in principal ARNs (use `*` alone, or a condition on `aws:PrincipalArn`)",
        );
    }
    if !region.is_empty() {
        return invalid("IAM and STS principal ARNs have an empty region");
    }
    if !is_account_id(acct) {
        return invalid(&format!(
            "the account `{acct}` is not a 12-digit account id"
        ));
    }
    match svc {
        "iam" => {
            if res == "root" {
                Ok(AwsPrincipal::Account(acct.to_owned()))
            } else if res.starts_with("user/") && res.len() > 5 {
                Ok(AwsPrincipal::User(s.to_owned()))
            } else if res.starts_with("role/") && res.len() > 5 {
                Ok(AwsPrincipal::Role(s.to_owned()))
            } else if res.starts_with("group/") {
                invalid(
                    "IAM groups cannot be principals; name the users or roles, or use a condition",
                )
            } else {
                invalid("an IAM principal ARN names `root`, a `user/...` or a `role/...`")
            }
        }
        "sts" => {
            if let Some(r) = res.strip_prefix("assumed-role/") {
                if r.split('/').count() == 2 && !r.ends_with('/') && !r.starts_with('/') {
                    Ok(AwsPrincipal::Session(s.to_owned()))
                } else {
                    invalid(
                        "an assumed-role ARN is `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`",
                    )
                }
            } else if res.starts_with("federated-user/") && res.len() > 15 {
                Ok(AwsPrincipal::FederatedUser(s.to_owned()))
            } else {
                invalid(
                    "an STS principal ARN names an `assumed-role/...` or a `federated-user/...`",
                )
            }
        }
        _ => {
            invalid("principal ARNs are IAM (`arn:aws:iam::...`) or STS (`arn:aws:sts::...`) ARNs")
        }
    }
}

fn compile_conditions(
    ck: &mut Checker,
    node: &Node,
    variables: bool,
    has_version: bool,
    out: &mut Vec<Condition>,
) {
    let Some(ops) = node.as_object() else {
        ck.error(
            node.start,
            format!("`Condition` must be an object, found {}", node.type_name()),
        );
        return;
    };
    let mut seen_ops: Vec<String> = Vec::new();
    for (opkey, block) in ops {
        if seen_ops.contains(&opkey.name.to_string()) {
            ck.error(
                opkey.start,
                format!("condition operator `{}` appears more than once", opkey.name),
            );
        }
        seen_ops.push(opkey.name.to_string());
        let op = match condition::parse_operator(&opkey.name) {
            OpParse::Ok(op) => op,
            OpParse::WrongCase(op, canon) => {
                ck.warn(
                    opkey.start,
                    format!("condition operator `{}` is spelled `{canon}`", opkey.name),
                );
                op
            }
            OpParse::Err(m) => {
                ck.error(opkey.start, m);
                continue;
            }
        };
        let Some(keys) = block.as_object() else {
            ck.error(
                block.start,
                format!(
                    "the `{}` block must be an object of condition keys, found {}",
                    opkey.name,
                    block.type_name()
                ),
            );
            continue;
        };
        if keys.is_empty() {
            ck.error(
                block.start,
                format!("the `{}` block has no condition keys", opkey.name),
            );
        }
        let mut seen_keys: Vec<String> = Vec::new();
        for (k, vals) in keys {
            let lower = k.name.to_ascii_lowercase();
            if seen_keys.contains(&lower) {
                ck.error(
                    k.start,
                    format!(
                        "condition key `{}` appears more than once under `{}`",
                        k.name, opkey.name
                    ),
                );
            }
            seen_keys.push(lower.clone());
            if k.name.is_empty() || k.name.contains(char::is_whitespace) {
                ck.error(k.start, format!("invalid condition key `{}`", k.name));
            } else if !k.name.contains(':') {
                ck.warn(
                    k.start,
                    format!(
                        "condition key `{}` has no service prefix such as `aws:`",
                        k.name
                    ),
                );
            }
            if vals.as_array().is_some_and(|a| a.is_empty()) {
                ck.error(
                    vals.start,
                    format!("condition key `{}` has an empty list of values", k.name),
                );
                continue;
            }
            if matches!(vals.value, Value::Object(_) | Value::Null) {
                ck.error(
                    vals.start,
                    format!(
                        "condition values must be strings (or numbers or booleans), found {}",
                        vals.type_name()
                    ),
                );
                continue;
            }
            let strings = ck.strings(vals, "a condition value", true);
            let fam = op.base.family();
            if op.set != SetOp::None && is_single_valued(&lower) {
                let set = if op.set == SetOp::ForAllValues {
                    "ForAllValues"
                } else {
                    "ForAnyValue"
                };
                let risk = if op.set == SetOp::ForAllValues {
                    " ForAllValues is also true when the key is missing, so an Allow may grant more than intended."
                } else {
                    ""
                };
                ck.warn(
                    opkey.start,
                    format!("`{set}` is for multivalued keys, but `{}` is single-valued: use `{}` without the prefix.{risk}", k.name, op.base.name()),
                );
            }
            if op.set != SetOp::None && fam == condition::Family::Null {
                ck.warn(
                    opkey.start,
                    "set operators have no effect on `Null`".to_owned(),
                );
            }
            let mut values = Vec::new();
            for (s, off) in strings {
                let mut issues = Vec::new();
                let v = CondValue::compile(op.base, &s, variables, &mut issues);
                var_findings(ck, off, &s, issues, variables, has_version);
                if !v.tmpl.has_var {
                    match fam {
                        condition::Family::Null => {
                            if !s.eq_ignore_ascii_case("true") && !s.eq_ignore_ascii_case("false") {
                                ck.warn(off, format!("`Null` takes `true` (key absent) or `false` (key present), found `{s}`: this value never matches"));
                            }
                        }
                        condition::Family::Bool => {
                            if !s.eq_ignore_ascii_case("true") && !s.eq_ignore_ascii_case("false") {
                                ck.warn(off, format!("`Bool` takes `true` or `false`, found `{s}`: this value never matches"));
                            }
                        }
                        condition::Family::Like => {
                            if !v.tmpl.has_wild {
                                ck.warn(
                                    off,
                                    format!(
                                        "`{}` value `{s}` has no wildcard (`*` or `?`): use `{}`",
                                        op.base.name(),
                                        if op.base.negated() {
                                            "StringNotEquals"
                                        } else {
                                            "StringEquals"
                                        }
                                    ),
                                );
                            }
                        }
                        _ => {
                            if let Some(m) = condition::check_value(op.base, &s) {
                                ck.error(off, m);
                            }
                        }
                    }
                }
                values.push(v);
            }
            out.push(Condition {
                op_name: opkey.name.to_string(),
                op,
                key_hash: crate::context::key_hash(&lower),
                key: lower,
                key_name: k.name.to_string(),
                values,
            });
        }
    }
}
