//! Condition operators: parsing their names and values, and evaluating them.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::context::{Context, Value};
use crate::pattern::{ArnPattern, Pattern, Resolve, VarIssue};

/// The operator without `IfExists` and set prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const BASES: &[(&str, Base)] = &[
    ("StringEquals", Base::StringEquals),
    ("StringNotEquals", Base::StringNotEquals),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Base::StringNotEqualsIgnoreCase),
    ("StringLike", Base::StringLike),
    ("StringNotLike", Base::StringNotLike),
    ("NumericEquals", Base::NumericEquals),
    ("NumericNotEquals", Base::NumericNotEquals),
    ("NumericLessThan", Base::NumericLessThan),
    ("NumericLessThanEquals", Base::NumericLessThanEquals),
    ("NumericGreaterThan", Base::NumericGreaterThan),
    ("NumericGreaterThanEquals", Base::NumericGreaterThanEquals),
    ("DateEquals", Base::DateEquals),
    ("DateNotEquals", Base::DateNotEquals),
    ("DateLessThan", Base::DateLessThan),
    ("DateLessThanEquals", Base::DateLessThanEquals),
    ("DateGreaterThan", Base::DateGreaterThan),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals),
    ("Bool", Base::Bool),
    ("BinaryEquals", Base::BinaryEquals),
    ("IpAddress", Base::IpAddress),
    ("NotIpAddress", Base::NotIpAddress),
    ("ArnEquals", Base::ArnEquals),
    ("ArnLike", Base::ArnLike),
    ("ArnNotEquals", Base::ArnNotEquals),
    ("ArnNotLike", Base::ArnNotLike),
    ("Null", Base::Null),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    Like,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

impl Base {
    pub fn name(self) -> &'static str {
        BASES
            .iter()
            .find(|(_, b)| *b == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Negated operators: true when no policy value matches (and when the key is absent).
    pub fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NumericNotEquals
                | Base::DateNotEquals
                | Base::NotIpAddress
                | Base::ArnNotEquals
                | Base::ArnNotLike
        )
    }

    pub fn family(self) -> Family {
        use Base::*;
        match self {
            StringEquals | StringNotEquals | StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                Family::String
            }
            StringLike | StringNotLike => Family::Like,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            BinaryEquals => Family::Binary,
            IpAddress | NotIpAddress => Family::Ip,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Family::Arn,
            Null => Family::Null,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOp {
    None,
    ForAllValues,
    ForAnyValue,
}

/// A parsed operator name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operator {
    pub base: Base,
    pub set: SetOp,
    pub if_exists: bool,
}

pub(crate) enum OpParse {
    Ok(Operator),
    /// Recognised only ignoring case; the canonical spelling.
    WrongCase(Operator, String),
    Err(String),
}

pub(crate) fn parse_operator(name: &str) -> OpParse {
    let mut rest = name;
    let mut set = SetOp::None;
    let mut canon = String::new();
    let mut case_ok = true;
    for (prefix, op) in [
        ("ForAllValues:", SetOp::ForAllValues),
        ("ForAnyValue:", SetOp::ForAnyValue),
    ] {
        if rest.len() >= prefix.len()
            && rest.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        {
            case_ok &= rest.starts_with(prefix);
            set = op;
            canon.push_str(prefix);
            rest = &rest[prefix.len()..];
            break;
        }
    }
    let mut if_exists = false;
    if rest.len() > 8 && rest.as_bytes()[rest.len() - 8..].eq_ignore_ascii_case(b"IfExists") {
        case_ok &= rest.ends_with("IfExists");
        if_exists = true;
        rest = &rest[..rest.len() - 8];
    }
    let Some((bname, base)) = BASES.iter().find(|(n, _)| n.eq_ignore_ascii_case(rest)) else {
        return OpParse::Err(format!("unknown condition operator `{name}`"));
    };
    case_ok &= *bname == rest;
    canon.push_str(bname);
    if if_exists {
        if *base == Base::Null {
            return OpParse::Err(format!(
                "unknown condition operator `{name}`: `Null` has no `IfExists` form"
            ));
        }
        canon.push_str("IfExists");
    }
    let op = Operator {
        base: *base,
        set,
        if_exists,
    };
    if case_ok {
        OpParse::Ok(op)
    } else {
        OpParse::WrongCase(op, canon)
    }
}

/// A number as IAM compares them: integers exactly, anything else as a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub fn parse(s: &str) -> Option<Num> {
        let t = s.trim();
        if t.is_empty() {
            return None;
        }
        if let Ok(i) = t.parse::<i128>() {
            return Some(Num::Int(i));
        }
        let ok = t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        if !ok {
            return None;
        }
        t.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float)
    }

    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &[u8], n: usize) -> Option<i64> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s[..n].iter().fold(0i64, |a, b| a * 10 + (b - b'0') as i64))
}

/// Parses an ISO 8601 date/time or epoch seconds into milliseconds since the epoch.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let t = s.trim();
    let b = t.as_bytes();
    if b.is_empty() {
        return None;
    }
    // epoch seconds (possibly fractional or negative)
    if b.iter()
        .all(|c| c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && !(b.len() >= 5 && b[4] == b'-')
    {
        let f: f64 = t.parse().ok()?;
        if !f.is_finite() || f.abs() > 1e14 {
            return None;
        }
        return Some((f * 1000.0).round() as i64);
    }
    let year = digits(b, 4)?;
    let mut i = 4;
    let (month, day) = if b.get(i) == Some(&b'-') {
        let m = digits(&b[i + 1..], 2)?;
        i += 3;
        let d = if b.get(i) == Some(&b'-') {
            let d = digits(&b[i + 1..], 2)?;
            i += 3;
            d
        } else {
            1
        };
        (m, d)
    } else if b.len() >= 8 && b[4..8].iter().all(u8::is_ascii_digit) {
        // basic format YYYYMMDD
        let m = digits(&b[4..], 2)?;
        let d = digits(&b[6..], 2)?;
        i = 8;
        (m, d)
    } else {
        (1, 1)
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mdays = [
        31,
        if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
            29
        } else {
            28
        },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day > mdays[(month - 1) as usize] {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if i == b.len() {
        return Some(ms);
    }
    if !matches!(b[i], b'T' | b't' | b' ') {
        return None;
    }
    i += 1;
    let hh = digits(&b[i..], 2)?;
    i += 2;
    let mut mm = 0;
    let mut ss = 0;
    let mut frac_ms = 0i64;
    if b.get(i) == Some(&b':') {
        mm = digits(&b[i + 1..], 2)?;
        i += 3;
        if b.get(i) == Some(&b':') {
            ss = digits(&b[i + 1..], 2)?;
            i += 3;
            if matches!(b.get(i), Some(b'.') | Some(b',')) {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                let f = &t[start..i.min(start + 3)];
                frac_ms = f.parse::<i64>().ok()? * 10i64.pow(3 - f.len() as u32);
            }
        }
    } else if b.len() >= i + 2 && b[i..i + 2].iter().all(u8::is_ascii_digit) {
        mm = digits(&b[i..], 2)?;
        i += 2;
        if b.len() >= i + 2 && b[i..i + 2].iter().all(u8::is_ascii_digit) {
            ss = digits(&b[i..], 2)?;
            i += 2;
        }
    }
    if hh > 24 || mm > 59 || ss > 60 {
        return None;
    }
    ms += ((hh * 60 + mm) * 60 + ss) * 1000 + frac_ms;
    match b.get(i) {
        None => Some(ms),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(&b[i + 1..], 2)?;
            let mut j = i + 3;
            if b.get(j) == Some(&b':') {
                j += 1;
            }
            let om = if j < b.len() { digits(&b[j..], 2)? } else { 0 };
            if j < b.len() {
                j += 2;
            }
            if j != b.len() || oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

/// An IPv4 or IPv6 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let t = s.trim();
        let (a, p) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        if prefix > max {
            return None;
        }
        Some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: &str) -> bool {
        let t = ip.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(t);
        let Ok(mut ip) = t.parse::<IpAddr>() else {
            return false;
        };
        if let (IpAddr::V6(v6), IpAddr::V4(_)) = (ip, self.addr)
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            ip = IpAddr::V4(v4);
        }
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix as u32)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix as u32)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Decodes standard or URL-safe base64, padding optional.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let t = s.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(t.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in t.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A policy value, pre-parsed when it has no variables.
#[derive(Debug, Clone)]
pub(crate) enum Pre {
    /// Could not be pre-parsed (has variables, or is invalid: then it matches nothing).
    None,
    Num(Num),
    Date(i64),
    Bool(bool),
    Bin(Vec<u8>),
    Ip(IpNet),
}

#[derive(Debug, Clone)]
pub(crate) struct CondValue {
    /// As written in the policy (JSON numbers and booleans as their text).
    pub raw: String,
    pub tmpl: Pattern,
    pub arn: Option<ArnPattern>,
    pub pre: Pre,
}

/// One condition key under one operator.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub op_name: String,
    pub op: Operator,
    /// Lower case.
    pub key: String,
    pub key_hash: u64,
    pub key_name: String,
    pub values: Vec<CondValue>,
}

/// Why a policy value is unusable with its operator; `None` when fine.
pub(crate) fn check_value(base: Base, raw: &str) -> Option<String> {
    match base.family() {
        Family::Numeric if Num::parse(raw).is_none() => {
            Some(format!("`{}` needs a number, found `{raw}`", base.name()))
        }
        Family::Date if parse_date(raw).is_none() => Some(format!(
            "`{}` needs a date (ISO 8601 such as 2024-01-31T12:00:00Z, or epoch seconds), found `{raw}`",
            base.name()
        )),
        Family::Ip if IpNet::parse(raw).is_none() => Some(format!(
            "`{}` needs an IPv4 or IPv6 address or CIDR block such as 203.0.113.0/24, found `{raw}`",
            base.name()
        )),
        Family::Binary if base64_decode(raw).is_none() => Some(format!(
            "`BinaryEquals` needs a base64 value, found `{raw}`"
        )),
        Family::Arn if raw != "*" && !is_arn_shaped(raw) => Some(format!(
            "`{}` needs an ARN (`arn:partition:service:region:account:resource`), found `{raw}`",
            base.name()
        )),
        _ => None,
    }
}

pub(crate) fn is_arn_shaped(s: &str) -> bool {
    s.starts_with("arn:") && s.matches(':').count() >= 5
}

impl CondValue {
    pub fn compile(
        base: Base,
        raw: &str,
        variables: bool,
        issues: &mut Vec<VarIssue>,
    ) -> CondValue {
        let fam = base.family();
        let wild = matches!(fam, Family::Like | Family::Arn);
        let vars = variables && fam != Family::Null;
        let tmpl = Pattern::compile(raw, wild, vars, issues);
        let arn = (fam == Family::Arn).then(|| ArnPattern::compile(raw, vars, &mut Vec::new()));
        let pre = if tmpl.has_var {
            Pre::None
        } else {
            pre_parse(fam, raw)
        };
        CondValue {
            raw: raw.to_owned(),
            tmpl,
            arn,
            pre,
        }
    }
}

fn pre_parse(fam: Family, raw: &str) -> Pre {
    let p = match fam {
        Family::Numeric => Num::parse(raw).map(Pre::Num),
        Family::Date => parse_date(raw).map(Pre::Date),
        Family::Bool | Family::Null => parse_bool(raw).map(Pre::Bool),
        Family::Binary => base64_decode(raw).map(Pre::Bin),
        Family::Ip => IpNet::parse(raw).map(Pre::Ip),
        _ => None,
    };
    p.unwrap_or(Pre::None)
}

/// Adapter so contexts can resolve policy variables.
pub(crate) struct Vars<'c>(pub &'c Context);

impl Resolve for Vars<'_> {
    fn var(&self, lower_key: &str) -> Option<&str> {
        match self.0.get_lower(lower_key)? {
            Value::Single(s) => Some(s),
            Value::Multi(_) => None,
        }
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Whether request value `v` matches policy value `p` under the positive form of `base`.
fn value_matches(base: Base, p: &CondValue, v: &str, r: &Vars) -> bool {
    use Base::*;
    let fam = base.family();
    match fam {
        Family::Like => return p.tmpl.matches(v, false, r),
        Family::Arn => {
            return match &p.arn {
                Some(a) => is_arn_shaped(v) && a.matches(v, r),
                None => false,
            };
        }
        _ => {}
    }
    // typed values: pre-parsed, or substituted and parsed now
    let rendered;
    let pre = match &p.pre {
        Pre::None if fam != Family::String => {
            if !p.tmpl.has_var {
                return false;
            }
            let Some(s) = p.tmpl.render(r) else {
                return false;
            };
            rendered = pre_parse(fam, &s);
            &rendered
        }
        pre => pre,
    };
    match fam {
        Family::String => {
            let Some(s) = p.tmpl.render(r) else {
                return false;
            };
            match base {
                StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => eq_ignore_case(v, &s),
                _ => v == s,
            }
        }
        Family::Numeric => {
            let (Pre::Num(pn), Some(vn)) = (pre, Num::parse(v)) else {
                return false;
            };
            let Some(o) = vn.cmp(*pn) else { return false };
            match base {
                NumericEquals | NumericNotEquals => o == Ordering::Equal,
                NumericLessThan => o == Ordering::Less,
                NumericLessThanEquals => o != Ordering::Greater,
                NumericGreaterThan => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }
        }
        Family::Date => {
            let (Pre::Date(pd), Some(vd)) = (pre, parse_date(v)) else {
                return false;
            };
            let o = vd.cmp(pd);
            match base {
                DateEquals | DateNotEquals => o == Ordering::Equal,
                DateLessThan => o == Ordering::Less,
                DateLessThanEquals => o != Ordering::Greater,
                DateGreaterThan => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }
        }
        Family::Bool => matches!((pre, parse_bool(v)), (Pre::Bool(a), Some(b)) if *a == b),
        Family::Binary => match pre {
            Pre::Bin(pb) => match base64_decode(v) {
                Some(vb) => vb == *pb,
                None => v.as_bytes() == pb.as_slice(),
            },
            _ => false,
        },
        Family::Ip => matches!(pre, Pre::Ip(net) if net.contains(v)),
        _ => false,
    }
}

impl Condition {
    /// Evaluates the condition against the request context.
    pub fn eval(&self, ctx: &Context) -> bool {
        let r = Vars(ctx);
        let value = ctx.get_hashed(self.key_hash, &self.key);
        let values: &[String] = value.map(Value::as_slice).unwrap_or(&[]);
        let base = self.op.base;
        if base == Base::Null {
            let present = !values.is_empty();
            return self.values.iter().any(|p| match p.pre {
                Pre::Bool(true) => !present,
                Pre::Bool(false) => present,
                _ => false,
            });
        }
        if values.is_empty() {
            if self.op.if_exists {
                return true;
            }
            return match self.op.set {
                SetOp::ForAllValues => true,
                SetOp::ForAnyValue => false,
                SetOp::None => base.negated(),
            };
        }
        let neg = base.negated();
        let any_policy = |v: &str| self.values.iter().any(|p| value_matches(base, p, v, &r));
        match self.op.set {
            SetOp::None => {
                let hit = values.iter().any(|v| any_policy(v));
                if neg { !hit } else { hit }
            }
            SetOp::ForAllValues => values.iter().all(|v| any_policy(v) != neg),
            SetOp::ForAnyValue => values.iter().any(|v| any_policy(v) != neg),
        }
    }

    /// The request's values (None when absent) and the policy values after substitution, for
    /// traces.
    pub fn describe(&self, ctx: &Context) -> (Option<Vec<String>>, Vec<String>) {
        let r = Vars(ctx);
        let req = ctx.get_lower(&self.key).map(|v| v.as_slice().to_vec());
        let pol = self
            .values
            .iter()
            .map(|p| match p.tmpl.has_var {
                false => p.raw.clone(),
                true => match p.tmpl.render(&r) {
                    Some(s) => s.into_owned(),
                    None => format!("{} (variable not in the request: matches nothing)", p.raw),
                },
            })
            .collect();
        (req, pol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_parse() {
        let OpParse::Ok(o) = parse_operator("ForAllValues:StringNotLikeIfExists") else {
            panic!()
        };
        assert_eq!(
            (o.base, o.set, o.if_exists),
            (Base::StringNotLike, SetOp::ForAllValues, true)
        );
        assert!(matches!(parse_operator("NullIfExists"), OpParse::Err(_)));
        assert!(matches!(parse_operator("StringEqual"), OpParse::Err(_)));
        assert!(matches!(
            parse_operator("NumericLes\u{fffd}sThan"),
            OpParse::Err(_)
        ));
        assert!(matches!(
            parse_operator("For\u{e9}AllValues:StringEquals\u{e9}IfExist"),
            OpParse::Err(_)
        ));
        assert!(
            matches!(parse_operator("stringequals"), OpParse::WrongCase(_, ref c) if c == "StringEquals")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date("86400"), Some(86_400_000));
        assert_eq!(
            parse_date("2020-02-29T01:00:00+01:00"),
            parse_date("2020-02-29T00:00:00Z")
        );
        assert_eq!(
            parse_date("2019-06-30T00:00:00.500Z").map(|m| m % 1000),
            Some(500)
        );
        assert_eq!(parse_date("2019-02-29"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn ips() {
        let n = IpNet::parse("203.0.113.0/24").unwrap();
        assert!(n.contains("203.0.113.7"));
        assert!(!n.contains("203.0.114.7"));
        assert!(n.contains("::ffff:203.0.113.9"));
        let n = IpNet::parse("2001:db8::/32").unwrap();
        assert!(n.contains("2001:db8:1::1"));
        assert!(!n.contains("10.0.0.1"));
        assert!(IpNet::parse("<AuthorizedPrivateSubnet>").is_none());
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("10.0.0.1").unwrap().contains("10.0.0.1"));
    }

    #[test]
    fn numbers_and_base64() {
        assert!(matches!(Num::parse("12"), Some(Num::Int(12))));
        assert!(matches!(Num::parse("1.5"), Some(Num::Float(_))));
        assert!(Num::parse("abc").is_none());
        assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(base64_decode("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(base64_decode("a"), None);
    }
}
