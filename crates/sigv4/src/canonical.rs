//! The parts of the canonical request: URI, query string, header values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`) is encoded.
pub(crate) const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `bytes` URI-encoded as SigV4 requires: unreserved characters as they are, every other
/// byte as `%XY` with upper-case hex; `/` kept when `keep_slash`.
pub(crate) fn encode_into(out: &mut Vec<u8>, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b);
        } else {
            push_percent(out, b);
        }
    }
}

/// Appends `bytes` as lower-case hex.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// `bytes` as lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Header bytes as text, trimmed (invalid UTF-8 replaced).
pub(crate) fn header_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => String::from_utf8_lossy(value).trim().to_owned(),
    }
}

/// `bytes` URI-encoded as SigV4 requires (`/` encoded too).
pub(crate) fn encode(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, AWS_ENCODE).to_string()
}

fn push_percent(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends the canonical URI of `path` (the request path as sent, without the query).
///
/// S3 signs the path as it is, without normalizing it, URI-encoded once: escapes are decoded and
/// the bytes encoded again, so `%7e` becomes `~` and `a+b` becomes `a%2Bb`; an escaped slash (`%2F`)
/// stays escaped, and `%` not followed by two hex digits is a literal `%`.
///
/// Other services normalize the path (dot segments removed, empty segments dropped) and encode
/// each segment of it as sent: the path on the wire is already encoded once, so the canonical
/// path is encoded twice (`%20` becomes `%2520`).
pub(crate) fn push_canonical_uri(out: &mut Vec<u8>, path: &str, s3: bool) {
    if path.is_empty() {
        out.push(b'/');
        return;
    }
    if s3 {
        let b = path.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'%'
                && i + 2 < b.len()
                && let (Some(h), Some(l)) = (hex_value(b[i + 1]), hex_value(b[i + 2]))
            {
                let decoded = h << 4 | l;
                if decoded == b'/' {
                    out.extend_from_slice(b"%2F");
                } else {
                    encode_into(out, &[decoded], true);
                }
                i += 3;
                continue;
            }
            encode_into(out, &[c], true);
            i += 1;
        }
        return;
    }
    let absolute = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    if absolute {
        out.push(b'/');
    }
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        encode_into(out, segment.as_bytes(), false);
    }
    if path.ends_with('/') && !segments.is_empty() {
        out.push(b'/');
    }
    if out.is_empty() {
        out.push(b'/');
    }
}

/// One `name=value` pair of a query string, as sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawParam<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// Whether the name has no `%` or `+`, so that it is its own decoded form (names are looked up
    /// many times per request).
    plain_name: bool,
}

impl<'a> RawParam<'a> {
    /// The decoded name (`+` is a space, escapes decoded; invalid escapes kept as they are).
    pub fn decoded_name(&self) -> Vec<u8> {
        decode_component(self.name)
    }

    /// Whether the decoded name is `name`, ignoring letter case.
    pub fn name_is(&self, name: &str) -> bool {
        if self.plain_name {
            return self.name.eq_ignore_ascii_case(name);
        }
        self.decoded_name().eq_ignore_ascii_case(name.as_bytes())
    }

    /// The decoded value.
    pub fn decoded_value(&self) -> Vec<u8> {
        decode_component(self.value)
    }

    /// The decoded value as text (invalid UTF-8 replaced).
    pub fn value_string(&self) -> String {
        match String::from_utf8(self.decoded_value()) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

/// The pairs of a query string, in order; empty pieces (`a&&b`) are skipped.
pub(crate) fn split_query(query: &str) -> Vec<RawParam<'_>> {
    if query.is_empty() {
        return Vec::new();
    }
    // Sized once rather than grown: a presigned URL has a dozen pairs, and this runs twice for
    // every request.
    let mut params = Vec::with_capacity(query.bytes().filter(|&b| b == b'&').count() + 1);
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        params.push(RawParam {
            name,
            value,
            plain_name: !name.bytes().any(|b| b == b'%' || b == b'+'),
        });
    }
    params
}

fn decode_component(s: &str) -> Vec<u8> {
    decode_query_component(s.as_bytes())
}

/// A query string name or value decoded: `+` is a space, `%XX` the byte it names, and a `%` not
/// followed by two hex digits stays as it is.
pub fn decode_query_component(raw: &[u8]) -> Vec<u8> {
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return raw.to_vec();
    }
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        match b {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(i).copied().and_then(hex),
                raw.get(i + 1).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
    }
    out
}

/// A query component (name or value) as the canonical query string has it: decoded and encoded
/// again; borrowed when it is already in that form.
fn canonical_component(raw: &str) -> std::borrow::Cow<'_, [u8]> {
    if raw.bytes().all(is_unreserved) {
        return std::borrow::Cow::Borrowed(raw.as_bytes());
    }
    let mut out = Vec::with_capacity(raw.len() + 8);
    encode_into(&mut out, &decode_component(raw), false);
    std::borrow::Cow::Owned(out)
}

/// Appends the canonical query string: every pair decoded and encoded again, sorted by name, then
/// value; pairs for which `skip` is true are left out.
pub(crate) fn push_canonical_query(
    out: &mut Vec<u8>,
    params: &[RawParam<'_>],
    skip: impl Fn(&RawParam<'_>) -> bool,
) {
    let mut pairs: Vec<_> = params
        .iter()
        .filter(|p| !skip(p))
        .map(|p| (canonical_component(p.name), canonical_component(p.value)))
        .collect();
    pairs.sort_unstable();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
    }
}

/// Appends a header value as the canonical request has it: leading and trailing white space
/// removed, each run of white space inside turned into one space.
pub(crate) fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let mut pending_space = false;
    let mut any = false;
    for &b in value {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c) {
            pending_space = any;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
            any = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_decode_as_percent_decoding_after_plus_to_space() {
        for raw in [
            "",
            "plain",
            "a+b",
            "%",
            "%4",
            "%4g",
            "%zz",
            "a+b%2Bc",
            "%41%42",
            "%e2%82%ac",
            "%%41",
            "100%",
            "x%2",
            "%2f%2F",
            "++%20+",
        ] {
            let reference: Vec<u8> =
                percent_encoding::percent_decode(raw.replace('+', " ").as_bytes()).collect();
            assert_eq!(decode_query_component(raw.as_bytes()), reference, "{raw}");
        }
    }

    fn uri(path: &str, s3: bool) -> String {
        let mut out = Vec::new();
        push_canonical_uri(&mut out, path, s3);
        String::from_utf8(out).unwrap()
    }

    fn query(q: &str) -> String {
        let mut out = Vec::new();
        push_canonical_query(&mut out, &split_query(q), |_| false);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn s3_paths_are_encoded_once_and_not_normalized() {
        assert_eq!(
            uri("/test-bucket/a%20b/a+b", true),
            "/test-bucket/a%20b/a%2Bb"
        );
        assert_eq!(
            uri("/test-bucket/%c3%bc/%E4%B8%AD", true),
            "/test-bucket/%C3%BC/%E4%B8%AD"
        );
        assert_eq!(
            uri("/test-bucket/!*'()~=&:@$,;", true),
            "/test-bucket/%21%2A%27%28%29~%3D%26%3A%40%24%2C%3B"
        );
        assert_eq!(
            uri("/test-bucket/%21%2A%27%28%29%7E%3D%26%3A", true),
            "/test-bucket/%21%2A%27%28%29~%3D%26%3A"
        );
        assert_eq!(
            uri("/test-bucket/100%25/100%", true),
            "/test-bucket/100%25/100%25"
        );
        assert_eq!(uri("/test-bucket//a//b/", true), "/test-bucket//a//b/");
        assert_eq!(uri("/b/./../c", true), "/b/./../c");
        assert_eq!(uri("/b/a%2Fb", true), "/b/a%2Fb");
        assert_eq!(uri("/b/a%2", true), "/b/a%252");
        assert_eq!(uri("", true), "/");
    }

    #[test]
    fn other_paths_are_normalized_and_encoded_again() {
        assert_eq!(uri("/", false), "/");
        assert_eq!(uri("", false), "/");
        assert_eq!(uri("//", false), "/");
        assert_eq!(uri("//example//", false), "/example/");
        assert_eq!(uri("/example1/example2/../..", false), "/");
        assert_eq!(uri("/./example", false), "/example");
        assert_eq!(uri("/example space/", false), "/example%20space/");
        assert_eq!(uri("/example%20space/", false), "/example%2520space/");
        assert_eq!(uri("/example/$delete", false), "/example/%24delete");
        assert_eq!(uri("/../..", false), "/");
    }

    #[test]
    fn queries_are_sorted_by_name_then_value() {
        assert_eq!(query("b=2&a=1"), "a=1&b=2");
        assert_eq!(query("a=2&a=1&a=&A=3"), "A=3&a=&a=1&a=2");
        assert_eq!(query("acl&b="), "acl=&b=");
        assert_eq!(query("a=b+c&d=e%2Bf&g=%20"), "a=b%20c&d=e%2Bf&g=%20");
        assert_eq!(query("k=1&k-x=2&k.y=3&k0=4"), "k=1&k-x=2&k.y=3&k0=4");
        assert_eq!(
            query("k=%c3%bc~!*'()&l=a=b&m=a:b/c"),
            "k=%C3%BC~%21%2A%27%28%29&l=a%3Db&m=a%3Ab%2Fc"
        );
        assert_eq!(query(""), "");
        assert_eq!(query("&&"), "");
    }

    #[test]
    fn header_values_are_trimmed() {
        let trim = |v: &str| {
            let mut out = Vec::new();
            push_trimmed(&mut out, v.as_bytes());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(trim("  a   b \t c  "), "a b c");
        assert_eq!(trim("\"a   b   c\""), "\"a b c\"");
        assert_eq!(
            trim("value1\n  value2\n     value3"),
            "value1 value2 value3"
        );
        assert_eq!(trim("   "), "");
        assert_eq!(trim(""), "");
    }
}
