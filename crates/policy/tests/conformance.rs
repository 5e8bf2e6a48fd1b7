//! The table-driven conformance suite: every file under `tests/conformance/` is data.
//!
//! * `seeds.json` lists every JSON policy found in the seed documents (`seeds/*.json`, copied
//!   verbatim) with the type it is meant as and what must happen to it: it parses (with the
//!   warnings listed), or it is rejected with the stated reason at the stated line and column.
//!   Statement fragments are also checked wrapped into a policy.
//! * `validation/*.json` are further validation cases: a document and the findings expected.
//! * `cases/*.json` are evaluation cases: a request, the policies that apply, and the expected
//!   outcome, blocking policy types and AccessDenied message.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use policy::json::{self, Node, Value as J};
use policy::{
    Context, Outcome, Policy, PolicySet, PolicyType, Principal, Request, Severity, Value,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir().join(sub))
        .unwrap_or_else(|e| panic!("{sub}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v
}

fn s<'a>(n: &'a Node, k: &str) -> Option<&'a str> {
    n.get(k).and_then(|v| v.as_str())
}

fn kind(name: &str) -> PolicyType {
    name.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Wraps a statement fragment (an object, or a bare `"Name": value` list) into a policy.
fn wrap(text: &str) -> String {
    let t = text.trim();
    let body = if t.starts_with('{') {
        t.to_owned()
    } else {
        format!("{{{t}}}")
    };
    format!("{{\"Version\": \"2012-10-17\", \"Statement\": [{body}]}}")
}

/// Loads a policy reference: an inline document, or {"seed": FILE, "wrap": bool,
/// "replace": {FROM: TO}} naming a seed file.
fn policy_text(src: &str, n: &Node) -> String {
    match &n.value {
        J::String(s) => s.to_string(),
        J::Object(_) if n.get("seed").is_some() || n.get("seeds").is_some() => {
            let replace = |mut t: String| {
                if let Some(r) = n.get("replace").and_then(|r| r.as_object()) {
                    for (k, v) in r {
                        t = t.replace(k.name.as_ref(), v.as_str().unwrap());
                    }
                }
                t
            };
            if let Some(list) = n.get("seeds") {
                // several statement fragments combined into one policy
                let parts: Vec<String> = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        replace(read(&dir().join("seeds").join(f.as_str().unwrap())))
                            .trim()
                            .to_owned()
                    })
                    .collect();
                return wrap(&parts.join(",\n"));
            }
            let mut t = replace(read(&dir().join("seeds").join(s(n, "seed").unwrap())));
            match n.get("wrap") {
                Some(w) if w.as_bool() == Some(true) => t = wrap(&t),
                Some(w) if w.as_str() == Some("object") => t = format!("{{{}}}", t.trim()),
                _ => {}
            }
            t
        }
        _ => n.raw(src).to_owned(),
    }
}

struct Expect {
    severity: Severity,
    line: Option<u32>,
    column: Option<u32>,
    contains: String,
}

fn expectations(n: Option<&Node>, severity: Severity) -> Vec<Expect> {
    let Some(n) = n else { return Vec::new() };
    n.as_array()
        .unwrap()
        .iter()
        .map(|e| match &e.value {
            J::String(c) => Expect {
                severity,
                line: None,
                column: None,
                contains: c.to_string(),
            },
            _ => Expect {
                severity,
                line: e.get("line").map(|l| json_u32(l)),
                column: e.get("column").map(|l| json_u32(l)),
                contains: s(e, "contains").unwrap_or("").to_owned(),
            },
        })
        .collect()
}

fn json_u32(n: &Node) -> u32 {
    match &n.value {
        J::Number(x) => x.parse().unwrap(),
        _ => panic!("expected a number"),
    }
}

/// Checks findings: every expected finding is present, and no unexpected error (or warning,
/// when `exact`) is.
fn check_findings(text: &str, k: PolicyType, spec: &Node, what: &str, fails: &mut String) -> usize {
    let findings = policy::validate(text, k);
    let mut expected = expectations(spec.get("errors"), Severity::Error);
    expected.extend(expectations(spec.get("warnings"), Severity::Warning));
    let exact_warnings = spec.get("warnings").is_some();
    let mut used = vec![false; findings.len()];
    for e in &expected {
        let hit = findings.iter().enumerate().find(|(i, f)| {
            !used[*i]
                && f.severity == e.severity
                && e.line.is_none_or(|l| l == f.line)
                && e.column.is_none_or(|c| c == f.column)
                && f.message.contains(&e.contains)
        });
        match hit {
            Some((i, _)) => used[i] = true,
            None => {
                let _ = writeln!(
                    fails,
                    "{what}: expected {} at {:?}:{:?} containing {:?}; got {:#?}",
                    e.severity.as_str(),
                    e.line,
                    e.column,
                    e.contains,
                    findings
                );
            }
        }
    }
    for (i, f) in findings.iter().enumerate() {
        if used[i] {
            continue;
        }
        if f.severity == Severity::Error || exact_warnings {
            let _ = writeln!(
                fails,
                "{what}: unexpected {} {}:{}: {}",
                f.severity.as_str(),
                f.line,
                f.column,
                f.message
            );
        }
    }
    // Policy::parse agrees with validate
    let first_error = findings.iter().find(|f| f.severity == Severity::Error);
    match (Policy::parse(text, k), first_error) {
        (Ok(_), None) => {}
        (Err(e), Some(f))
            if e.line() == f.line && e.column() == f.column && e.message() == f.message => {}
        (r, f) => {
            let _ = writeln!(
                fails,
                "{what}: Policy::parse {:?} disagrees with validate {:?}",
                r.err(),
                f
            );
        }
    }
    expected.len().max(1)
}

#[test]
fn seeds() {
    let path = dir().join("seeds.json");
    let src = read(&path);
    let root = json::parse(&src).unwrap();
    let mut fails = String::new();
    let mut covered = Vec::new();
    let mut n = 0;
    for e in root.as_array().unwrap() {
        let file = s(e, "file").unwrap();
        covered.push(file.to_owned());
        let text = read(&dir().join("seeds").join(file));
        let k = kind(s(e, "type").unwrap());
        check_findings(&text, k, e, file, &mut fails);
        n += 1;
        if let Some(w) = e.get("wrapped") {
            let wrapped = if s(w, "as") == Some("object") {
                format!("{{{}}}", text.trim())
            } else {
                wrap(&text)
            };
            check_findings(&wrapped, k, w, &format!("{file} (wrapped)"), &mut fails);
            n += 1;
        }
    }
    // every seed file is listed
    for f in files("seeds") {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !covered.contains(&name) {
            let _ = writeln!(fails, "seed {name} is not listed in seeds.json");
        }
    }
    assert!(fails.is_empty(), "{fails}");
    eprintln!("{n} seed cases");
}

#[test]
fn validation() {
    let mut fails = String::new();
    let mut n = 0;
    for path in files("validation") {
        let src = read(&path);
        let root = json::parse(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for c in root.get("cases").unwrap().as_array().unwrap() {
            let name = format!(
                "{}: {}",
                path.file_name().unwrap().to_string_lossy(),
                s(c, "name").unwrap_or("?")
            );
            let text = policy_text(&src, c.get("policy").unwrap());
            n += check_findings(
                &text,
                kind(s(c, "type").unwrap_or("identity")),
                c,
                &name,
                &mut fails,
            );
        }
    }
    assert!(fails.is_empty(), "{fails}");
    eprintln!("{n} validation cases");
}

fn principal(n: &Node) -> Principal {
    let mut p = match &n.value {
        J::String(a) => Principal::from_arn(a).unwrap_or_else(|| panic!("bad principal {a}")),
        _ => {
            let arn = s(n, "arn").unwrap_or("");
            match s(n, "kind").unwrap() {
                "root" => Principal::root(s(n, "account").unwrap()),
                "user" => Principal::user(
                    arn,
                    s(n, "id").unwrap_or("AIDAEXAMPLE"),
                    s(n, "name").unwrap(),
                ),
                "assumed-role" => Principal::assumed_role(
                    arn,
                    s(n, "roleArn").unwrap(),
                    s(n, "roleId").unwrap_or("AROAEXAMPLE"),
                    s(n, "session").unwrap(),
                ),
                "federated-user" => Principal::federated_user(arn, s(n, "userArn").unwrap()),
                "service" => Principal::service(s(n, "name").unwrap()),
                "web-identity" => Principal::web_identity(s(n, "provider").unwrap()),
                "anonymous" => Principal::anonymous(),
                k => panic!("unknown principal kind {k}"),
            }
        }
    };
    if let Some(c) = s(n, "canonicalUser") {
        p = p.with_canonical_user(c);
    }
    p
}

fn scalar(n: &Node) -> String {
    match &n.value {
        J::String(s) => s.to_string(),
        J::Number(s) => (*s).to_owned(),
        J::Bool(b) => b.to_string(),
        _ => panic!("bad context value"),
    }
}

fn context(n: Option<&Node>, p: &Principal, tags: Option<&Node>) -> Context {
    let mut c = Context::new();
    if let Some(n) = n {
        for (k, v) in n.as_object().unwrap() {
            let val = match &v.value {
                J::Array(items) => Value::Multi(items.iter().map(scalar).collect()),
                _ => Value::Single(scalar(v)),
            };
            c.insert(k.name.to_string(), val);
        }
    }
    let mut p = p.clone();
    if let Some(t) = tags {
        for (k, v) in t.as_object().unwrap() {
            p = p.with_tag(&k.name, v.as_str().unwrap());
        }
    }
    c.add_principal_keys(&p);
    c
}

/// The effective value of field `k` for a case: the case's own, else the file default.
fn field<'a>(case: &'a Node<'a>, file: &'a Node<'a>, k: &str) -> Option<&'a Node<'a>> {
    case.get(k).or_else(|| file.get(k))
}

fn load_many(src: &str, n: &Node, k: PolicyType) -> Vec<Policy> {
    let items: Vec<&Node> = match &n.value {
        J::Array(a) => a.iter().collect(),
        _ => vec![n],
    };
    items
        .into_iter()
        .map(|d| {
            let t = policy_text(src, d);
            Policy::parse(&t, k).unwrap_or_else(|e| panic!("{k} policy does not parse: {e}\n{t}"))
        })
        .collect()
}

#[test]
fn evaluation() {
    let mut fails = String::new();
    let mut n = 0;
    for path in files("cases") {
        let src = read(&path);
        let fname = path.file_name().unwrap().to_string_lossy().to_string();
        let file = json::parse(&src).unwrap_or_else(|e| panic!("{fname}: {e}"));
        let empty = json::parse("{}").unwrap();
        let defaults = file.get("policies").unwrap_or(&empty);
        for case in file.get("cases").unwrap().as_array().unwrap() {
            n += 1;
            let name = format!("{fname}: {}", s(case, "name").unwrap_or("?"));
            // policies: the file's, with the case's replacing per type; `null` removes one
            let mut pols: Vec<(String, &Node)> = Vec::new();
            for (k, v) in defaults.as_object().unwrap() {
                pols.push((k.name.to_string(), v));
            }
            if let Some(cp) = case.get("policies") {
                for (k, v) in cp.as_object().unwrap() {
                    pols.retain(|(x, _)| x != k.name.as_ref());
                    pols.push((k.name.to_string(), v));
                }
            }
            let mut identity = Vec::new();
            let mut resource = None;
            let mut boundary = None;
            let mut session = None;
            let mut scps: Vec<Vec<Policy>> = Vec::new();
            let mut rcps: Vec<Vec<Policy>> = Vec::new();
            let mut vpce = Vec::new();
            let mut key = None;
            let mut trust = None;
            for (k, v) in &pols {
                if matches!(v.value, J::Null) {
                    continue;
                }
                let single = |t: PolicyType| load_many(&src, v, t).into_iter().next();
                match k.as_str() {
                    "identity" => identity = load_many(&src, v, PolicyType::Identity),
                    "resource" => resource = single(PolicyType::Resource),
                    "boundary" => boundary = Some(load_many(&src, v, PolicyType::Boundary)),
                    "session" => session = Some(load_many(&src, v, PolicyType::Session)),
                    "scps" | "rcps" => {
                        let t = if k == "scps" {
                            PolicyType::Scp
                        } else {
                            PolicyType::Rcp
                        };
                        let levels = v
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|l| load_many(&src, l, t))
                            .collect();
                        if k == "scps" {
                            scps = levels
                        } else {
                            rcps = levels
                        }
                    }
                    "vpce" => vpce = load_many(&src, v, PolicyType::Vpce),
                    "key" => key = single(PolicyType::Key),
                    "trust" => trust = single(PolicyType::Trust),
                    other => panic!("{name}: unknown policy type {other}"),
                }
            }
            let p = principal(
                field(case, &file, "principal").unwrap_or_else(|| panic!("{name}: no principal")),
            );
            let ctx = context(
                field(case, &file, "context"),
                &p,
                field(case, &file, "principalTags"),
            );
            let action = s(case, "action")
                .or_else(|| s(&file, "action"))
                .unwrap_or_else(|| panic!("{name}: no action"));
            let res = s(case, "resource")
                .or_else(|| s(&file, "resource"))
                .unwrap_or("*");
            let racct = s(case, "resourceAccount").or_else(|| s(&file, "resourceAccount"));
            let id_refs: Vec<&Policy> = identity.iter().collect();
            let b_refs: Option<Vec<&Policy>> =
                boundary.as_ref().map(|b: &Vec<Policy>| b.iter().collect());
            let s_refs: Option<Vec<&Policy>> =
                session.as_ref().map(|b: &Vec<Policy>| b.iter().collect());
            let scp_refs: Vec<Vec<&Policy>> = scps.iter().map(|l| l.iter().collect()).collect();
            let rcp_refs: Vec<Vec<&Policy>> = rcps.iter().map(|l| l.iter().collect()).collect();
            let v_refs: Vec<&Policy> = vpce.iter().collect();
            let set = PolicySet {
                identity: &id_refs,
                resource: resource.as_ref(),
                boundary: b_refs.as_deref(),
                session: s_refs.as_deref(),
                scps: &scp_refs,
                rcps: &rcp_refs,
                vpce: &v_refs,
                key: key.as_ref(),
                trust: trust.as_ref(),
            };
            let req = Request {
                principal: &p,
                action,
                resource: res,
                resource_account: racct,
                context: &ctx,
            };
            let fast = policy::evaluate(&req, &set);
            let (d, trace) = policy::explain(&req, &set);
            if fast != d {
                let _ = writeln!(fails, "{name}: evaluate {fast:?} != explain {d:?}");
            }
            let want = s(case, "expect").unwrap_or_else(|| panic!("{name}: no expect"));
            let got = match d.outcome() {
                Outcome::Allowed => "Allowed",
                Outcome::ImplicitlyDenied => "ImplicitlyDenied",
                Outcome::ExplicitlyDenied => "ExplicitlyDenied",
            };
            let blocked: Vec<&str> = d.blocked_by().iter().map(|k| k.as_str()).collect();
            if got != want {
                let _ = writeln!(
                    fails,
                    "{name}: expected {want}, got {got} {blocked:?}\n{trace}"
                );
                continue;
            }
            if let Some(b) = case.get("blockedBy") {
                let want: Vec<&str> = b
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect();
                if want != blocked {
                    let _ = writeln!(
                        fails,
                        "{name}: expected blocked by {want:?}, got {blocked:?}\n{trace}"
                    );
                }
            }
            let msg = d.message(&req);
            if let Some(m) = s(case, "message")
                && m != msg
            {
                let _ = writeln!(fails, "{name}: expected message\n  {m}\ngot\n  {msg}");
            }
            if let Some(m) = s(case, "messageContains")
                && !msg.contains(m)
            {
                let _ = writeln!(fails, "{name}: message {msg:?} does not contain {m:?}");
            }
        }
    }
    assert!(fails.is_empty(), "{fails}");
    eprintln!("{n} evaluation cases");
}
