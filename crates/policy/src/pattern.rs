//! Compiled patterns: wildcards (`*`, `?`), policy variables (`${aws:username}`,
//! `${aws:PrincipalTag/team, 'none'}`, `${*}`, `${?}`, `${$}`) and ARN-aware resource matching.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(Box<str>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`; `key` is lower case.
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// Something that can look up a policy variable's value.
pub(crate) trait Resolve {
    /// The single value of `lower_key`, or `None` when absent or multi-valued.
    fn var(&self, lower_key: &str) -> Option<&str>;
}

/// A compiled pattern or template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub toks: Vec<Tok>,
    pub has_var: bool,
    pub has_wild: bool,
}

/// What went wrong reading a variable; reported as a warning, the text is then taken literally.
pub(crate) struct VarIssue {
    pub offset: usize,
    pub message: String,
}

impl Pattern {
    /// Compiles `s`. With `wildcards`, `*` and `?` are wildcards; with `variables`, `${...}` are
    /// policy variables (Version 2012-10-17), otherwise literal text.
    pub fn compile(
        s: &str,
        wildcards: bool,
        variables: bool,
        issues: &mut Vec<VarIssue>,
    ) -> Pattern {
        let mut toks: Vec<Tok> = Vec::new();
        let mut lit = String::new();
        let mut has_var = false;
        let mut has_wild = false;
        let flush = |lit: &mut String, toks: &mut Vec<Tok>| {
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(lit).into_boxed_str()));
            }
        };
        let mut i = 0;
        let b = s.as_bytes();
        while i < b.len() {
            if variables && b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
                match s[i + 2..].find('}') {
                    Some(rel) => {
                        let inner = &s[i + 2..i + 2 + rel];
                        match parse_var(inner) {
                            Ok(VarSpec::Literal(c)) => lit.push(c),
                            Ok(VarSpec::Key(key, default)) => {
                                flush(&mut lit, &mut toks);
                                toks.push(Tok::Var {
                                    key: key.to_ascii_lowercase().into_boxed_str(),
                                    default: default.map(|d| d.into()),
                                });
                                has_var = true;
                            }
                            Err(m) => {
                                issues.push(VarIssue {
                                    offset: i,
                                    message: m,
                                });
                                lit.push_str(&s[i..i + 3 + rel]);
                            }
                        }
                        i += 3 + rel;
                        continue;
                    }
                    None => {
                        issues.push(VarIssue {
                            offset: i,
                            message: "policy variable `${` is not closed with `}`; the text is taken literally".to_owned(),
                        });
                    }
                }
            }
            let c = s[i..].chars().next().unwrap_or('\0');
            match c {
                '*' if wildcards => {
                    flush(&mut lit, &mut toks);
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                    has_wild = true;
                }
                '?' if wildcards => {
                    flush(&mut lit, &mut toks);
                    toks.push(Tok::One);
                    has_wild = true;
                }
                _ => lit.push(c),
            }
            i += c.len_utf8();
        }
        flush(&mut lit, &mut toks);
        Pattern {
            toks,
            has_var,
            has_wild,
        }
    }

    pub fn is_star(&self) -> bool {
        self.toks.len() == 1 && self.toks[0] == Tok::Star
    }

    /// Whether `text` matches. `ci`: ASCII case-insensitive. A variable whose key is absent (and
    /// has no default) makes the pattern match nothing.
    pub fn matches<R: Resolve + ?Sized>(&self, text: &str, ci: bool, r: &R) -> bool {
        glob(&self.toks, text, ci, r)
    }

    /// The text with variables substituted (for templates without wildcards). `None` when a
    /// variable is absent.
    pub fn render<'s, R: Resolve + ?Sized>(&'s self, r: &'s R) -> Option<Cow<'s, str>> {
        match self.toks.as_slice() {
            [] => Some(Cow::Borrowed("")),
            [Tok::Lit(l)] => Some(Cow::Borrowed(l)),
            toks => {
                let mut out = String::new();
                for t in toks {
                    match t {
                        Tok::Lit(l) => out.push_str(l),
                        Tok::Star => out.push('*'),
                        Tok::One => out.push('?'),
                        Tok::Var { key, default } => out.push_str(resolve(key, default, r)?),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// Splits at the first five literal `:` into the six ARN parts. `None` when there are fewer.
    pub fn split_arn(&self) -> Option<[Pattern; 6]> {
        let mut parts: Vec<Pattern> = Vec::with_capacity(6);
        let mut cur: Vec<Tok> = Vec::new();
        for t in &self.toks {
            match t {
                Tok::Lit(l) if parts.len() < 5 && l.contains(':') => {
                    let mut rest: &str = l;
                    while parts.len() < 5 {
                        match rest.find(':') {
                            Some(p) => {
                                if p > 0 {
                                    cur.push(Tok::Lit(rest[..p].into()));
                                }
                                parts.push(Pattern::from_toks(std::mem::take(&mut cur)));
                                rest = &rest[p + 1..];
                            }
                            None => break,
                        }
                    }
                    if !rest.is_empty() {
                        cur.push(Tok::Lit(rest.into()));
                    }
                }
                t => cur.push(t.clone()),
            }
        }
        if parts.len() < 5 {
            return None;
        }
        parts.push(Pattern::from_toks(cur));
        parts.try_into().ok()
    }

    fn from_toks(toks: Vec<Tok>) -> Pattern {
        let has_var = toks.iter().any(|t| matches!(t, Tok::Var { .. }));
        let has_wild = toks.iter().any(|t| matches!(t, Tok::Star | Tok::One));
        Pattern {
            toks,
            has_var,
            has_wild,
        }
    }
}

fn resolve<'s, R: Resolve + ?Sized>(
    key: &str,
    default: &'s Option<Box<str>>,
    r: &'s R,
) -> Option<&'s str> {
    match r.var(key) {
        Some(v) => Some(v),
        None => default.as_deref(),
    }
}

enum VarSpec<'a> {
    Literal(char),
    Key(&'a str, Option<&'a str>),
}

fn parse_var(inner: &str) -> Result<VarSpec<'_>, String> {
    match inner {
        "*" => return Ok(VarSpec::Literal('*')),
        "?" => return Ok(VarSpec::Literal('?')),
        "$" => return Ok(VarSpec::Literal('$')),
        _ => {}
    }
    let (key, default) = match inner.find(',') {
        Some(p) => {
            let d = inner[p + 1..].trim();
            let d = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .ok_or_else(|| {
                    format!(
                        "default value of policy variable `${{{inner}}}` must be in single quotes"
                    )
                })?;
            (inner[..p].trim(), Some(d))
        }
        None => (inner.trim(), None),
    };
    if key.is_empty()
        || !key.contains(':')
        || key
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '$' | '{' | '}' | '\'' | '"'))
    {
        return Err(format!(
            "`${{{inner}}}` is not a valid policy variable; the text is taken literally"
        ));
    }
    Ok(VarSpec::Key(key, default))
}

#[inline(always)]
fn load8(s: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[..8]);
    u64::from_ne_bytes(w)
}

#[inline]
fn bytes_eq(a: &[u8], b: &[u8], ci: bool) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if ci {
        return a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y));
    }
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 <= n {
        if load8(&a[i..]) != load8(&b[i..]) {
            return false;
        }
        i += 8;
    }
    i == n || load8(&a[n - 8..]) == load8(&b[n - 8..])
}

#[inline]
fn starts_with_ci(text: &[u8], lit: &[u8], ci: bool) -> bool {
    text.len() >= lit.len() && bytes_eq(&text[..lit.len()], lit, ci)
}

#[inline]
fn char_len(text: &[u8], i: usize) -> usize {
    match text[i] {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    }
    .min(text.len() - i)
}

/// First position at or after `from` where `lit` occurs in `s` (on a character boundary).
#[inline]
fn find_from(s: &[u8], from: usize, lit: &[u8], ci: bool) -> Option<usize> {
    if lit.is_empty() {
        return Some(from);
    }
    if s.len() < lit.len() {
        return None;
    }
    let first = lit[0];
    let last = s.len() - lit.len();
    let mut i = from;
    while i <= last {
        let b = s[i];
        if (b == first || (ci && b.eq_ignore_ascii_case(&first)))
            && bytes_eq(&s[i..i + lit.len()], lit, ci)
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn lit_of<'a, R: Resolve + ?Sized>(t: &'a Tok, r: &'a R) -> Option<Option<&'a str>> {
    match t {
        Tok::Lit(l) => Some(Some(l)),
        Tok::Var { key, default } => Some(resolve(key, default, r)),
        _ => None,
    }
}

fn glob<R: Resolve + ?Sized>(toks: &[Tok], text: &str, ci: bool, r: &R) -> bool {
    let s = text.as_bytes();
    // fast paths for the common shapes
    match toks {
        [] => return s.is_empty(),
        [Tok::Star] => return true,
        [Tok::Lit(l)] => return bytes_eq(s, l.as_bytes(), ci),
        [Tok::Lit(l), Tok::Star] => return starts_with_ci(s, l.as_bytes(), ci),
        [Tok::Star, Tok::Lit(l)] => {
            let l = l.as_bytes();
            return s.len() >= l.len() && bytes_eq(&s[s.len() - l.len()..], l, ci);
        }
        [Tok::Star, Tok::Lit(l), Tok::Star] => return find_from(s, 0, l.as_bytes(), ci).is_some(),
        _ => {}
    }
    let mut ti = 0usize;
    let mut si = 0usize;
    // (token after the star, text position it was tried at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if ti < toks.len() {
            let ok = match &toks[ti] {
                Tok::Star => {
                    ti += 1;
                    // jump to the next occurrence of the literal that follows, if any
                    if let Some(next) = toks.get(ti).and_then(|t| lit_of(t, r)) {
                        let Some(l) = next else { return false };
                        match find_from(s, si, l.as_bytes(), ci) {
                            Some(p) => si = p,
                            None => return false,
                        }
                    }
                    star = Some((ti, si));
                    continue;
                }
                Tok::One => {
                    if si < s.len() {
                        si += char_len(s, si);
                        true
                    } else {
                        false
                    }
                }
                t => {
                    let Some(Some(l)) = lit_of(t, r) else {
                        return false;
                    };
                    if starts_with_ci(&s[si..], l.as_bytes(), ci) {
                        si += l.len();
                        true
                    } else {
                        false
                    }
                }
            };
            if ok {
                ti += 1;
                continue;
            }
        } else if si == s.len() {
            return true;
        }
        // backtrack: let the last star swallow one more character
        match star {
            Some((sti, ssi)) if ssi < s.len() => {
                let mut n = ssi + char_len(s, ssi);
                if let Some(Some(l)) = toks.get(sti).and_then(|t| lit_of(t, r)) {
                    match find_from(s, n, l.as_bytes(), ci) {
                        Some(p) => n = p,
                        None => return false,
                    }
                }
                star = Some((sti, n));
                ti = sti;
                si = n;
            }
            _ => return false,
        }
    }
}

/// Splits an ARN into its six parts (the last keeps any further `:`); `None` when it has fewer.
#[inline]
pub(crate) fn arn_split(s: &str) -> Option<[&str; 6]> {
    if !s.starts_with("arn:") {
        return None;
    }
    let mut out = [""; 6];
    let mut rest = s;
    for slot in out.iter_mut().take(5) {
        let c = rest.find(':')?;
        *slot = &rest[..c];
        rest = &rest[c + 1..];
    }
    out[5] = rest;
    Some(out)
}

/// One bit (of 64) chosen by the lower-cased service prefix: a statement keeps the union of its
/// actions' bits, so most statements for other services are skipped with one AND.
#[inline]
pub(crate) fn service_bit(service_hash: u64) -> u64 {
    1u64 << (service_hash % 64)
}

/// A compiled Action/NotAction entry: the service prefix compared on its own (case-insensitive)
/// when it has no wildcard, then the action name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionPattern {
    service: Option<Box<str>>,
    /// `key_hash` of the service prefix (case-insensitive), compared before the text.
    service_hash: u64,
    pat: Pattern,
}

impl ActionPattern {
    pub fn compile(s: &str) -> ActionPattern {
        let none = &mut Vec::new();
        match s.split_once(':') {
            Some((svc, name)) if !svc.contains(['*', '?']) => ActionPattern {
                service: Some(svc.to_ascii_lowercase().into()),
                service_hash: crate::context::key_hash(svc),
                pat: Pattern::compile(name, true, false, none),
            },
            _ => ActionPattern {
                service: None,
                service_hash: 0,
                pat: Pattern::compile(s, true, false, none),
            },
        }
    }

    /// Bit of this pattern's service in a statement's service filter; all bits when the service
    /// part has a wildcard.
    pub fn service_bits(&self) -> u64 {
        match &self.service {
            Some(_) => 1u64 << (self.service_hash % 64),
            None => u64::MAX,
        }
    }

    /// `service`/`name` are the request's action split at its first `:`; `service_hash` is
    /// `key_hash(service)`.
    #[inline]
    pub fn matches<R: Resolve + ?Sized>(
        &self,
        action: &str,
        service: &str,
        service_hash: u64,
        name: &str,
        r: &R,
    ) -> bool {
        match &self.service {
            Some(svc) => {
                self.service_hash == service_hash
                    && bytes_eq(svc.as_bytes(), service.as_bytes(), true)
                    && self.pat.matches(name, true, r)
            }
            None => self.pat.matches(action, true, r),
        }
    }
}

/// One ARN part (partition, service, region or account) of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Any,
    Lit(Box<str>),
    Glob(Pattern),
}

impl Part {
    fn new(p: Pattern) -> Part {
        match p.toks.as_slice() {
            [Tok::Star] => Part::Any,
            [] => Part::Lit("".into()),
            [Tok::Lit(l)] => Part::Lit(l.clone()),
            _ => Part::Glob(p),
        }
    }

    #[inline]
    fn matches<R: Resolve + ?Sized>(&self, v: &str, r: &R) -> bool {
        match self {
            Part::Any => true,
            Part::Lit(l) => bytes_eq(l.as_bytes(), v.as_bytes(), false),
            Part::Glob(p) => p.matches(v, false, r),
        }
    }
}

/// A compiled Resource/NotResource entry or an ARN condition value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    pub whole: Pattern,
    /// Partition, service, region, account (never crossing a `:`), then the resource part,
    /// when the pattern is ARN-shaped (starts with `arn:` and has five colons).
    parts: Option<Box<([Part; 4], Pattern)>>,
}

impl ArnPattern {
    pub fn compile(s: &str, variables: bool, issues: &mut Vec<VarIssue>) -> ArnPattern {
        let whole = Pattern::compile(s, true, variables, issues);
        let parts = if whole.is_star() {
            None
        } else {
            whole.split_arn().and_then(|[a, p, sv, rg, ac, res]| {
                (a.toks.as_slice() == [Tok::Lit("arn".into())]).then(|| {
                    Box::new((
                        [Part::new(p), Part::new(sv), Part::new(rg), Part::new(ac)],
                        res,
                    ))
                })
            })
        };
        ArnPattern { whole, parts }
    }

    /// Matches an ARN: wildcards in the partition, service, region and account parts never cross
    /// a `:`; in the resource part they match anything, `/` and `:` included. A value that is not
    /// ARN-shaped is compared as a whole.
    pub fn matches<R: Resolve + ?Sized>(&self, arn: &str, r: &R) -> bool {
        self.matches_split(arn, arn_split(arn).as_ref(), r)
    }

    /// As [`ArnPattern::matches`], with the value already split by [`arn_split`].
    #[inline]
    pub fn matches_split<R: Resolve + ?Sized>(
        &self,
        arn: &str,
        split: Option<&[&str; 6]>,
        r: &R,
    ) -> bool {
        if self.whole.is_star() {
            return true;
        }
        match (&self.parts, split) {
            (Some(pp), Some(v)) => {
                let (parts, res) = &**pp;
                // the resource part first: it differs most often
                res.matches(v[5], false, r)
                    && parts[1].matches(v[2], r)
                    && parts[3].matches(v[4], r)
                    && parts[2].matches(v[3], r)
                    && parts[0].matches(v[1], r)
            }
            _ => self.whole.matches(arn, false, r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vars(Vec<(&'static str, &'static str)>);
    impl Resolve for Vars {
        fn var(&self, k: &str) -> Option<&str> {
            self.0.iter().find(|(a, _)| *a == k).map(|(_, v)| *v)
        }
    }

    fn p(s: &str) -> Pattern {
        Pattern::compile(s, true, true, &mut Vec::new())
    }

    #[test]
    fn globs() {
        let none = Vars(vec![]);
        assert!(p("SageMaker:Create*").matches("sagemaker:CreateTrainingJob", true, &none));
        assert!(!p("SageMaker:Create*").matches("sagemaker:CreateTrainingJob", false, &none));
        assert!(p("s3:*Object").matches("s3:GetObject", true, &none));
        assert!(!p("s3:*Object").matches("s3:GetObjectAcl", true, &none));
        assert!(p("a?c").matches("abc", false, &none));
        assert!(p("a?c").matches("a中c", false, &none));
        assert!(!p("a?c").matches("ac", false, &none));
        assert!(p("*a*b*").matches("xxaxxbxx", false, &none));
        assert!(p("").matches("", false, &none));
        assert!(!p("").matches("x", false, &none));
    }

    #[test]
    fn variables() {
        let v = Vars(vec![
            ("aws:username", "bob"),
            ("aws:principaltag/team", "red"),
        ]);
        assert!(p("home/${aws:username}/*").matches("home/bob/x", false, &v));
        assert!(!p("home/${aws:username}/*").matches("home/alice/x", false, &v));
        assert!(!p("${aws:userid}").matches("", false, &v));
        assert!(p("${aws:PrincipalTag/dept, 'none'}").matches("none", false, &v));
        assert!(p("${aws:PrincipalTag/team,'none'}").matches("red", false, &v));
        // ${*} is a literal asterisk
        assert!(p("a${*}b").matches("a*b", false, &v));
        assert!(!p("a${*}b").matches("axb", false, &v));
        assert!(p("${$}{x}").matches("${x}", false, &v));
        // Version 2008-10-17: no variables
        let lit = Pattern::compile("${aws:username}", true, false, &mut Vec::new());
        assert!(lit.matches("${aws:username}", false, &v));
    }

    #[test]
    fn arns() {
        let none = Vars(vec![]);
        let a = ArnPattern::compile("arn:aws:s3:::*sagemaker*", true, &mut Vec::new());
        assert!(a.matches("arn:aws:s3:::my-sagemaker-bucket", &none));
        assert!(a.matches("arn:aws:s3:::my-sagemaker-bucket/a/b:c", &none));
        assert!(!a.matches("arn:aws:s3:::other", &none));
        let a = ArnPattern::compile("arn:aws:sagemaker:*:111122223333:*", true, &mut Vec::new());
        assert!(a.matches(
            "arn:aws:sagemaker:us-east-1:111122223333:training-job/x",
            &none
        ));
        assert!(!a.matches("arn:aws:sagemaker:us-east-1:999:111122223333:x", &none));
        // a wildcard in the region never spans a colon
        let a = ArnPattern::compile("arn:aws:s3:*::bucket", true, &mut Vec::new());
        assert!(a.matches("arn:aws:s3:eu::bucket", &none));
        assert!(!a.matches("arn:aws:s3:a:b::bucket", &none));
        let v = Vars(vec![("aws:userid", "AROA1:sess")]);
        let a = ArnPattern::compile("arn:aws:s3:::b/${aws:userid}/*", true, &mut Vec::new());
        assert!(a.matches("arn:aws:s3:::b/AROA1:sess/k", &v));
    }
}
