//! Ranged reads and conditional requests, as S3 applies them.

use gateway::AwsError;

use crate::error;

/// A requested byte range, resolved against the object size: `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// Parses a `Range` header against an object of `size` bytes. `Ok(None)` means serve the
/// whole object (no header, or one S3 ignores: malformed or several ranges).
pub fn parse_range(header: Option<&str>, size: u64) -> Result<Option<ByteRange>, AwsError> {
    let Some(h) = header else { return Ok(None) };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let unsatisfiable = || error::invalid_range(h, size);
    if a.is_empty() {
        // Suffix: the last n bytes.
        let Some(n) = num(b) else { return Ok(None) };
        if n == 0 || size == 0 {
            return Err(unsatisfiable());
        }
        let n = n.min(size);
        return Ok(Some(ByteRange {
            start: size - n,
            end: size,
        }));
    }
    let Some(start) = num(a) else { return Ok(None) };
    let end = if b.is_empty() {
        None
    } else {
        match num(b) {
            Some(e) if e >= start => Some(e),
            _ => return Ok(None),
        }
    };
    if start >= size {
        return Err(unsatisfiable());
    }
    let end = end.map(|e| (e + 1).min(size)).unwrap_or(size);
    Ok(Some(ByteRange { start, end }))
}

/// The conditional headers of a read.
#[derive(Debug, Default, Clone)]
pub struct Conditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<f64>,
    pub if_unmodified_since: Option<f64>,
}

/// What a conditional read comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Serve it.
    Proceed,
    /// 304 Not Modified.
    NotModified,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    list.split(',').any(|t| {
        let t = t.trim().trim_start_matches("W/");
        t == "*" || t.trim_matches('"') == bare
    })
}

/// Evaluates the conditions against an object's ETag and Last-Modified (epoch seconds):
/// `PreconditionFailed` (412) or [`Outcome::NotModified`] as S3 decides them.
pub fn evaluate(c: &Conditions<'_>, etag: &str, last_modified: f64) -> Result<Outcome, AwsError> {
    let lm = last_modified.floor();
    match c.if_match {
        Some(m) => {
            if !etag_matches(m, etag) {
                return Err(error::precondition_failed("If-Match"));
            }
        }
        None => {
            if let Some(t) = c.if_unmodified_since
                && lm > t
            {
                return Err(error::precondition_failed("If-Unmodified-Since"));
            }
        }
    }
    match c.if_none_match {
        Some(m) => {
            if etag_matches(m, etag) {
                return Ok(Outcome::NotModified);
            }
        }
        None => {
            if let Some(t) = c.if_modified_since
                && lm <= t
            {
                return Ok(Outcome::NotModified);
            }
        }
    }
    Ok(Outcome::Proceed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(h: &str, size: u64) -> Result<Option<(u64, u64)>, String> {
        parse_range(Some(h), size)
            .map(|o| o.map(|r| (r.start, r.end)))
            .map_err(|e| e.code.to_string())
    }

    #[test]
    fn ranges() {
        assert_eq!(r("bytes=0-9", 100), Ok(Some((0, 10))));
        assert_eq!(r("bytes=90-", 100), Ok(Some((90, 100))));
        assert_eq!(r("bytes=-10", 100), Ok(Some((90, 100))));
        assert_eq!(r("bytes=-200", 100), Ok(Some((0, 100))));
        assert_eq!(r("bytes=50-500", 100), Ok(Some((50, 100))));
        assert_eq!(r("bytes=100-", 100), Err("InvalidRange".into()));
        assert_eq!(r("bytes=0-", 0), Err("InvalidRange".into()));
        assert_eq!(r("bytes=-0", 100), Err("InvalidRange".into()));
        assert_eq!(r("bytes=5-1", 100), Ok(None));
        assert_eq!(r("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(r("items=0-1", 100), Ok(None));
        assert_eq!(r("bytes=x-1", 100), Ok(None));
        assert_eq!(parse_range(None, 10).unwrap(), None);
    }

    #[test]
    fn conditionals() {
        let etag = "\"abc\"";
        let t = 1_000.5;
        let c = |m: Option<&'static str>,
                 n: Option<&'static str>,
                 ms: Option<f64>,
                 us: Option<f64>| Conditions {
            if_match: m,
            if_none_match: n,
            if_modified_since: ms,
            if_unmodified_since: us,
        };
        let ev = |c: Conditions<'_>| evaluate(&c, etag, t).map_err(|e| e.status);
        assert_eq!(ev(c(None, None, None, None)), Ok(Outcome::Proceed));
        assert_eq!(
            ev(c(Some("\"abc\""), None, None, None)),
            Ok(Outcome::Proceed)
        );
        assert_eq!(ev(c(Some("*"), None, None, None)), Ok(Outcome::Proceed));
        assert_eq!(ev(c(Some("\"x\""), None, None, None)), Err(412));
        assert_eq!(
            ev(c(None, Some("\"abc\""), None, None)),
            Ok(Outcome::NotModified)
        );
        assert_eq!(ev(c(None, Some("\"x\""), None, None)), Ok(Outcome::Proceed));
        assert_eq!(
            ev(c(None, None, Some(1_000.0), None)),
            Ok(Outcome::NotModified)
        );
        assert_eq!(ev(c(None, None, Some(999.0), None)), Ok(Outcome::Proceed));
        assert_eq!(ev(c(None, None, None, Some(999.0))), Err(412));
        assert_eq!(ev(c(None, None, None, Some(1_000.0))), Ok(Outcome::Proceed));
        // If-Match true wins over If-Unmodified-Since false; If-None-Match false over If-Modified-Since.
        assert_eq!(
            ev(c(Some("\"abc\""), None, None, Some(1.0))),
            Ok(Outcome::Proceed)
        );
        assert_eq!(
            ev(c(None, Some("\"x\""), Some(2_000.0), None)),
            Ok(Outcome::Proceed)
        );
    }
}
