//! CloudWatch Logs filter patterns: the syntax `FilterLogEvents` (and so `aws logs tail`)
//! accepts.
//!
//! - empty: every event;
//! - terms: `ERROR "bad thing" -DEBUG ?WARN ?FATAL`: every plain or quoted term must occur,
//!   no `-` term may occur, and when `?` terms are present at least one must occur. Terms are
//!   case-sensitive substrings, as AWS matches them;
//! - space-delimited: `[version, account, eni, source, destination, srcport, destport="443",
//!   ..., action="REJECT", status]`: the event is split on spaces (`"..."` and `[...]` group
//!   one field), each named field binds one value, `...` binds any number, and conditions
//!   (`=`, `!=`, `<`, `<=`, `>`, `>=`, joined with `&&` and `||`) compare numbers numerically
//!   and text with `*` wildcards;
//! - JSON: `{ $.user.id = 2 && $.level != "DEBUG" }` with `=`, `!=`, numeric comparisons,
//!   `IS NULL`, `NOT EXISTS`, `IS TRUE`/`IS FALSE`, `&&`, `||` and parentheses.

use serde_json::Value;

/// A compiled filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// The empty pattern.
    All,
    /// Unstructured terms.
    Terms(Terms),
    /// A space-delimited pattern.
    Fields(Fields),
    /// A JSON pattern.
    Json(JsonExpr),
}

/// Term groups of an unstructured pattern.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Terms {
    required: Vec<String>,
    any: Vec<String>,
    excluded: Vec<String>,
}

/// One slot of a space-delimited pattern.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    /// A named field, with the condition written in its place when that condition is on the
    /// field itself (checked as the field binds).
    Field {
        name: String,
        local: Option<CondExpr>,
    },
    /// `...`: any number of fields.
    Ellipsis,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A condition on one named field.
#[derive(Debug, Clone, PartialEq)]
struct Cond {
    field: String,
    op: Op,
    value: String,
}

/// A disjunction of conjunctions of conditions.
#[derive(Debug, Clone, PartialEq, Default)]
struct CondExpr {
    any_of: Vec<Vec<Cond>>,
}

/// A space-delimited pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    slots: Vec<Slot>,
    /// Conditions that refer to fields other than their own slot's, checked once all bind.
    cross: Vec<CondExpr>,
}

/// A JSON pattern expression.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpr {
    /// Both sides.
    And(Box<JsonExpr>, Box<JsonExpr>),
    /// Either side.
    Or(Box<JsonExpr>, Box<JsonExpr>),
    /// `$.path op value`.
    Compare(Vec<PathPart>, JsonOp, JsonLit),
    /// `$.path IS NULL`.
    IsNull(Vec<PathPart>),
    /// `$.path NOT EXISTS`.
    NotExists(Vec<PathPart>),
    /// `$.path IS TRUE` / `IS FALSE`.
    IsBool(Vec<PathPart>, bool),
}

/// One step of a JSON selector.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    /// `.name`.
    Key(String),
    /// `[n]`.
    Index(usize),
    /// `.*` or `[*]`.
    Any,
}

/// A JSON comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonOp {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// A literal on the right of a JSON comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonLit {
    /// A quoted or bare string (may contain `*`).
    Text(String),
    /// A number.
    Number(f64),
}

/// Parses `text`; the error is the message of AWS's `InvalidParameterException`.
pub fn parse(text: &str) -> Result<Pattern, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Pattern::All);
    }
    if t.starts_with('[') {
        return parse_fields(t).map(Pattern::Fields);
    }
    if t.starts_with('{') {
        return parse_json(t).map(Pattern::Json);
    }
    parse_terms(t).map(Pattern::Terms)
}

fn invalid() -> String {
    "Invalid filter pattern".to_string()
}

impl Pattern {
    /// Whether the event `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms(t) => t.matches(message),
            Pattern::Fields(f) => f.matches(message),
            Pattern::Json(j) => match serde_json::from_str::<Value>(message) {
                Ok(v) => j.eval(&v),
                Err(_) => false,
            },
        }
    }
}

// ---------------------------------------------------------------- terms

fn parse_terms(t: &str) -> Result<Terms, String> {
    let mut out = Terms::default();
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut kind = ' ';
        if chars[i] == '?' || chars[i] == '-' {
            kind = chars[i];
            i += 1;
        }
        let term = if i < chars.len() && chars[i] == '"' {
            let (s, next) = quoted(&chars, i)?;
            i = next;
            s
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            chars[start..i].iter().collect()
        };
        if term.is_empty() {
            return Err(invalid());
        }
        match kind {
            '?' => out.any.push(term),
            '-' => out.excluded.push(term),
            _ => out.required.push(term),
        }
    }
    Ok(out)
}

/// Reads a `"..."` string starting at `chars[i] == '"'` (`\"` escapes a quote).
fn quoted(chars: &[char], i: usize) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' if j + 1 < chars.len() => {
                s.push(chars[j + 1]);
                j += 2;
            }
            '"' => return Ok((s, j + 1)),
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
    Err(invalid())
}

impl Terms {
    fn matches(&self, m: &str) -> bool {
        self.required.iter().all(|t| m.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| m.contains(t.as_str())))
            && !self.excluded.iter().any(|t| m.contains(t.as_str()))
    }
}

// ---------------------------------------------------------------- space-delimited

fn parse_fields(t: &str) -> Result<Fields, String> {
    let inner = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(invalid)?;
    let mut slots = Vec::new();
    let mut cross = Vec::new();
    for part in split_top(inner, ',')? {
        let part = part.trim();
        if part.is_empty() {
            return Err(invalid());
        }
        if part == "..." {
            // Consecutive ellipses mean the same as one.
            if slots.last() != Some(&Slot::Ellipsis) {
                slots.push(Slot::Ellipsis);
            }
            continue;
        }
        match parse_cond_expr(part)? {
            Either::Name(name) => slots.push(Slot::Field { name, local: None }),
            Either::Expr(name, e) => {
                let own = e.any_of.iter().flatten().all(|c| c.field == name);
                if own {
                    slots.push(Slot::Field {
                        name,
                        local: Some(e),
                    });
                } else {
                    slots.push(Slot::Field { name, local: None });
                    cross.push(e);
                }
            }
        }
    }
    if slots.is_empty() || slots.len() > MAX_SLOTS {
        return Err(invalid());
    }
    Ok(Fields { slots, cross })
}

/// At most this many fields in a space-delimited pattern.
const MAX_SLOTS: usize = 100;
/// A bound on the work of matching one event against patterns with cross-field conditions.
const MAX_STEPS: usize = 100_000;

enum Either {
    Name(String),
    Expr(String, CondExpr),
}

/// Splits on `sep` outside quotes.
fn split_top(s: &str, sep: char) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            c if c == sep && !in_quote => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if in_quote {
        return Err(invalid());
    }
    out.push(cur);
    Ok(out)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '$')
}

/// `name` or `name op value [&& | || name op value]...`.
fn parse_cond_expr(part: &str) -> Result<Either, String> {
    if is_name(part) {
        return Ok(Either::Name(part.to_string()));
    }
    let mut any_of = Vec::new();
    let mut first_name = None;
    for alt in split_op(part, "||")? {
        let mut all = Vec::new();
        for c in split_op(&alt, "&&")? {
            let cond = parse_cond(c.trim())?;
            first_name.get_or_insert_with(|| cond.field.clone());
            all.push(cond);
        }
        any_of.push(all);
    }
    let name = first_name.ok_or_else(invalid)?;
    Ok(Either::Expr(name, CondExpr { any_of }))
}

/// Splits on a two-character operator outside quotes.
fn split_op(s: &str, op: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let chars: Vec<char> = s.chars().collect();
    let opc: Vec<char> = op.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            in_quote = !in_quote;
        }
        if !in_quote && i + 1 < chars.len() && chars[i] == opc[0] && chars[i + 1] == opc[1] {
            out.push(std::mem::take(&mut cur));
            i += 2;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if in_quote {
        return Err(invalid());
    }
    out.push(cur);
    Ok(out)
}

fn parse_cond(c: &str) -> Result<Cond, String> {
    let ops = [
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    for (text, op) in ops {
        if let Some(at) = c.find(text) {
            let name = c[..at].trim();
            let raw = c[at + text.len()..].trim();
            if !is_name(name) || raw.is_empty() {
                return Err(invalid());
            }
            let value = if raw.starts_with('"') {
                let chars: Vec<char> = raw.chars().collect();
                let (s, next) = quoted(&chars, 0)?;
                if next != chars.len() {
                    return Err(invalid());
                }
                s
            } else {
                raw.to_string()
            };
            if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && value.parse::<f64>().is_err() {
                return Err(invalid());
            }
            return Ok(Cond {
                field: name.to_string(),
                op,
                value,
            });
        }
    }
    Err(invalid())
}

/// Splits an event into space-delimited fields: `"..."` and `[...]` are one field each.
pub fn split_event(m: &str) -> Vec<String> {
    let chars: Vec<char> = m.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let close = match chars[i] {
            '"' => Some('"'),
            '[' => Some(']'),
            _ => None,
        };
        if let Some(close) = close
            && let Some(end) = chars[i + 1..].iter().position(|&c| c == close)
        {
            out.push(chars[i + 1..i + 1 + end].iter().collect());
            i = i + 2 + end;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

impl CondExpr {
    fn holds<'v>(&self, value: impl Fn(&str) -> Option<&'v str>) -> bool {
        self.any_of.iter().any(|all| {
            all.iter()
                .all(|c| value(&c.field).is_some_and(|v| compare(v, c.op, &c.value)))
        })
    }
}

impl Fields {
    fn matches(&self, m: &str) -> bool {
        let values = split_event(m);
        let mut search = Search {
            fields: self,
            values: &values,
            bound: Vec::new(),
            failed: std::collections::HashSet::new(),
            steps: 0,
        };
        search.go(0, 0)
    }
}

/// The binding of slots to event fields: each named field takes one, `...` any number.
/// Without cross-field conditions a (slot, field) state that failed once fails again, so it is
/// remembered and matching is polynomial; otherwise the search is bounded.
struct Search<'a> {
    fields: &'a Fields,
    values: &'a [String],
    bound: Vec<(&'a str, &'a str)>,
    failed: std::collections::HashSet<(usize, usize)>,
    steps: usize,
}

impl<'a> Search<'a> {
    fn go(&mut self, si: usize, vi: usize) -> bool {
        self.steps += 1;
        let memo = self.fields.cross.is_empty();
        if self.steps > MAX_STEPS || (memo && self.failed.contains(&(si, vi))) {
            return false;
        }
        let fields: &'a Fields = self.fields;
        let ok = match fields.slots.get(si) {
            None => {
                vi == self.values.len()
                    && fields.cross.iter().all(|e| {
                        e.holds(|f| self.bound.iter().find(|(n, _)| *n == f).map(|(_, v)| *v))
                    })
            }
            Some(Slot::Field { name, local }) => match self.values.get(vi) {
                None => false,
                Some(v) => {
                    let here = local
                        .as_ref()
                        .is_none_or(|e| e.holds(|f| (f == name.as_str()).then_some(v.as_str())));
                    if here {
                        self.bound.push((name.as_str(), v.as_str()));
                        let ok = self.go(si + 1, vi + 1);
                        if !ok {
                            self.bound.pop();
                        }
                        ok
                    } else {
                        false
                    }
                }
            },
            Some(Slot::Ellipsis) => (vi..=self.values.len()).any(|k| self.go(si + 1, k)),
        };
        if !ok && memo {
            self.failed.insert((si, vi));
        }
        ok
    }
}

fn compare(actual: &str, op: Op, expected: &str) -> bool {
    let nums = (actual.parse::<f64>(), expected.parse::<f64>());
    match op {
        Op::Eq | Op::Ne => {
            let eq = match nums {
                (Ok(a), Ok(b)) if !expected.contains('*') => a == b,
                _ => wildcard(expected, actual),
            };
            (op == Op::Eq) == eq
        }
        _ => match nums {
            (Ok(a), Ok(b)) => match op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                _ => a >= b,
            },
            _ => false,
        },
    }
}

/// `*` matches any run of characters.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

// ---------------------------------------------------------------- JSON

struct JsonParser {
    chars: Vec<char>,
    i: usize,
    depth: usize,
}

/// The deepest nesting of parentheses a JSON pattern may use.
const MAX_DEPTH: usize = 32;

fn parse_json(t: &str) -> Result<JsonExpr, String> {
    let inner = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(invalid)?;
    let mut p = JsonParser {
        chars: inner.chars().collect(),
        i: 0,
        depth: 0,
    };
    let e = p.or()?;
    p.ws();
    if p.i != p.chars.len() {
        return Err(invalid());
    }
    Ok(e)
}

impl JsonParser {
    fn ws(&mut self) {
        while self.i < self.chars.len() && self.chars[self.i].is_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        self.ws();
        let n = s.chars().count();
        if self.chars.len() >= self.i + n
            && self.chars[self.i..self.i + n].iter().copied().eq(s.chars())
        {
            self.i += n;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<JsonExpr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = JsonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<JsonExpr, String> {
        let mut left = self.atom()?;
        while self.eat("&&") {
            let right = self.atom()?;
            left = JsonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<JsonExpr, String> {
        if self.eat("(") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(invalid());
            }
            let e = self.or()?;
            self.depth -= 1;
            if !self.eat(")") {
                return Err(invalid());
            }
            return Ok(e);
        }
        if !self.eat("$") {
            return Err(invalid());
        }
        let path = self.path()?;
        if self.eat("IS NULL") {
            return Ok(JsonExpr::IsNull(path));
        }
        if self.eat("NOT EXISTS") {
            return Ok(JsonExpr::NotExists(path));
        }
        if self.eat("IS TRUE") {
            return Ok(JsonExpr::IsBool(path, true));
        }
        if self.eat("IS FALSE") {
            return Ok(JsonExpr::IsBool(path, false));
        }
        let op = if self.eat("!=") {
            JsonOp::Ne
        } else if self.eat("<=") {
            JsonOp::Le
        } else if self.eat(">=") {
            JsonOp::Ge
        } else if self.eat("=") {
            JsonOp::Eq
        } else if self.eat("<") {
            JsonOp::Lt
        } else if self.eat(">") {
            JsonOp::Gt
        } else {
            return Err(invalid());
        };
        self.ws();
        let lit = if self.i < self.chars.len() && self.chars[self.i] == '"' {
            let (s, next) = quoted(&self.chars, self.i)?;
            self.i = next;
            JsonLit::Text(s)
        } else {
            let start = self.i;
            while self.i < self.chars.len()
                && !self.chars[self.i].is_whitespace()
                && !matches!(self.chars[self.i], ')' | '&' | '|')
            {
                self.i += 1;
            }
            let raw: String = self.chars[start..self.i].iter().collect();
            if raw.is_empty() {
                return Err(invalid());
            }
            match raw.parse::<f64>() {
                Ok(n) => JsonLit::Number(n),
                Err(_) => JsonLit::Text(raw),
            }
        };
        if matches!(op, JsonOp::Lt | JsonOp::Le | JsonOp::Gt | JsonOp::Ge)
            && !matches!(lit, JsonLit::Number(_))
        {
            return Err(invalid());
        }
        Ok(JsonExpr::Compare(path, op, lit))
    }

    fn path(&mut self) -> Result<Vec<PathPart>, String> {
        let mut out = Vec::new();
        loop {
            if self.i < self.chars.len() && self.chars[self.i] == '.' {
                self.i += 1;
                if self.i < self.chars.len() && self.chars[self.i] == '*' {
                    self.i += 1;
                    out.push(PathPart::Any);
                    continue;
                }
                let start = self.i;
                while self.i < self.chars.len()
                    && (self.chars[self.i].is_alphanumeric()
                        || matches!(self.chars[self.i], '_' | '-' | '@' | '$'))
                {
                    self.i += 1;
                }
                if start == self.i {
                    return Err(invalid());
                }
                out.push(PathPart::Key(self.chars[start..self.i].iter().collect()));
            } else if self.i < self.chars.len() && self.chars[self.i] == '[' {
                let end = self.chars[self.i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or_else(invalid)?;
                let inner: String = self.chars[self.i + 1..self.i + end].iter().collect();
                self.i += end + 1;
                if inner == "*" {
                    out.push(PathPart::Any);
                } else {
                    out.push(PathPart::Index(
                        inner.trim().parse().map_err(|_| invalid())?,
                    ));
                }
            } else {
                break;
            }
        }
        if out.is_empty() {
            return Err(invalid());
        }
        Ok(out)
    }
}

fn select<'a>(v: &'a Value, path: &[PathPart], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    match (first, v) {
        (PathPart::Key(k), Value::Object(m)) => {
            if let Some(c) = m.get(k) {
                select(c, rest, out);
            }
        }
        (PathPart::Index(i), Value::Array(a)) => {
            if let Some(c) = a.get(*i) {
                select(c, rest, out);
            }
        }
        (PathPart::Any, Value::Array(a)) => a.iter().for_each(|c| select(c, rest, out)),
        (PathPart::Any, Value::Object(m)) => m.values().for_each(|c| select(c, rest, out)),
        _ => {}
    }
}

impl JsonExpr {
    fn eval(&self, v: &Value) -> bool {
        match self {
            JsonExpr::And(a, b) => a.eval(v) && b.eval(v),
            JsonExpr::Or(a, b) => a.eval(v) || b.eval(v),
            JsonExpr::IsNull(p) => {
                let mut found = Vec::new();
                select(v, p, &mut found);
                found.iter().any(|x| x.is_null())
            }
            JsonExpr::NotExists(p) => {
                let mut found = Vec::new();
                select(v, p, &mut found);
                found.is_empty()
            }
            JsonExpr::IsBool(p, b) => {
                let mut found = Vec::new();
                select(v, p, &mut found);
                found.iter().any(|x| x.as_bool() == Some(*b))
            }
            JsonExpr::Compare(p, op, lit) => {
                let mut found = Vec::new();
                select(v, p, &mut found);
                found.iter().any(|x| json_compare(x, *op, lit))
            }
        }
    }
}

fn json_compare(x: &Value, op: JsonOp, lit: &JsonLit) -> bool {
    match lit {
        JsonLit::Number(n) => {
            let a = match x {
                Value::Number(a) => a.as_f64(),
                Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            let Some(a) = a else {
                return op == JsonOp::Ne;
            };
            match op {
                JsonOp::Eq => a == *n,
                JsonOp::Ne => a != *n,
                JsonOp::Lt => a < *n,
                JsonOp::Le => a <= *n,
                JsonOp::Gt => a > *n,
                JsonOp::Ge => a >= *n,
            }
        }
        JsonLit::Text(t) => {
            let text = match x {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return op == JsonOp::Ne,
            };
            let eq = wildcard(t, &text);
            match op {
                JsonOp::Eq => eq,
                JsonOp::Ne => !eq,
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, e: &str) -> bool {
        parse(p)
            .map(|p| p.matches(e))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    const FLOW: &str = "2 000000000000 eni-0a1b 127.0.0.1 127.0.0.1 51234 8443 6 3 1200 1700000000 1700000001 REJECT OK";

    #[test]
    fn empty_matches_everything() {
        assert!(m("", "anything"));
        assert!(m("   ", ""));
    }

    #[test]
    fn terms() {
        assert!(m("ERROR", "an ERROR happened"));
        assert!(!m("ERROR", "an error happened"));
        assert!(m("ERROR disk", "ERROR: disk full"));
        assert!(!m("ERROR disk", "ERROR: memory"));
        assert!(m("\"disk full\"", "ERROR: disk full"));
        assert!(!m("\"disk full\"", "full disk"));
        assert!(m("?WARN ?ERROR", "WARN: x"));
        assert!(!m("?WARN ?ERROR", "INFO: x"));
        assert!(m("ERROR -DEBUG", "ERROR x"));
        assert!(!m("ERROR -DEBUG", "ERROR DEBUG x"));
        assert!(parse("\"unterminated").is_err());
    }

    #[test]
    fn space_delimited_flow_log() {
        let p = "[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, windowstart, windowend, action=\"REJECT\", flowlogstatus]";
        assert!(m(p, FLOW));
        assert!(!m(p, &FLOW.replace("REJECT", "ACCEPT")));
        assert!(m("[..., action=REJECT, status]", FLOW));
        assert!(m("[v, a, e, s, d, sp, dp=8443, ...]", FLOW));
        assert!(m("[v, a, e, s, d, sp, dp>8000 && dp<9000, ...]", FLOW));
        assert!(!m("[v, a, e, s, d, sp, dp>9000 || dp<8000, ...]", FLOW));
        assert!(m("[v, a, e=eni-*, ...]", FLOW));
        assert!(!m("[v, a, e=vpc-*, ...]", FLOW));
        assert!(m("[v, a, e, s, d, sp, dp!=443, ...]", FLOW));
        // Field count must match without an ellipsis.
        assert!(!m("[a, b]", FLOW));
        assert!(parse("[a, b=]").is_err());
        assert!(parse("[a, b<x]").is_err());
    }

    #[test]
    fn conditions_apply_while_binding_and_across_fields() {
        // The field matching the condition may be anywhere between the ellipses.
        assert!(m("[..., x=8443, ...]", FLOW));
        assert!(m("[..., x=REJECT, y]", FLOW));
        assert!(!m("[..., x=nothing, ...]", FLOW));
        // A condition on another field is checked once every field is bound.
        assert!(m("[v, a, e, s, d, sp, dp>8000 && v=2, ...]", FLOW));
        assert!(!m("[v, a, e, s, d, sp, dp>8000 && v=3, ...]", FLOW));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let event = "a ".repeat(2000);
        let many = format!("[{}b=zzz]", "..., x=a, ".repeat(40));
        let started = std::time::Instant::now();
        assert!(!m(&many, &event));
        let cross = format!("[{}z=b && y=a]", "..., y, ".repeat(30));
        assert!(!m(&cross, &event));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(parse(&format!("[{}]", vec!["f"; 101].join(", "))).is_err());
    }

    #[test]
    fn event_splitting_groups_quotes_and_brackets() {
        let v = split_event(
            "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 2326",
        );
        assert_eq!(v.len(), 7);
        assert_eq!(v[3], "10/Oct/2000:13:55:36 -0700");
        assert_eq!(v[4], "GET /a HTTP/1.0");
        assert!(m(
            "[ip, id, user, ts, request=*GET*, status=2*, size>1000]",
            "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 2326"
        ));
    }

    #[test]
    fn json_patterns() {
        let e = r#"{"user":{"id":2,"name":"ana"},"level":"ERROR","tags":["a","b"],"ok":true,"gone":null}"#;
        assert!(m("{ $.user.id = 2 }", e));
        assert!(m("{ $.user.id >= 2 && $.level = \"ERROR\" }", e));
        assert!(!m("{ $.user.id > 2 }", e));
        assert!(m("{ $.level = ERR* }", e));
        assert!(m("{ $.tags[1] = \"b\" }", e));
        assert!(m("{ $.tags[*] = \"a\" }", e));
        assert!(m("{ $.ok IS TRUE }", e));
        assert!(m("{ $.gone IS NULL }", e));
        assert!(m("{ $.missing NOT EXISTS }", e));
        assert!(m("{ ($.level = \"INFO\") || ($.user.name = \"ana\") }", e));
        assert!(!m("{ $.level != \"ERROR\" }", e));
        assert!(!m("{ $.a = 1 }", "not json"));
        assert!(parse("{ $.a = }").is_err());
        assert!(parse("{ a = 1 }").is_err());
        let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).is_err());
        let ok = format!("{{ {}$.a = 1{} }}", "(".repeat(10), ")".repeat(10));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", ""));
        assert!(wildcard("a*c", "abbbc"));
        assert!(!wildcard("a*c", "abbb"));
        assert!(wildcard("*REJECT*", "x REJECT y"));
    }
}
