//! A small JSON parser that keeps positions and explains the mistakes people make when they paste
//! policies: single quotes (Python dicts), typographic quotes, trailing commas, unquoted values,
//! line breaks inside strings, comments, several documents in one.
//!
//! Every node records its byte range in the source, so a caller can slice a sub-document out of a
//! larger file ([`Node::raw`]) and map positions back with [`position`].

use std::borrow::Cow;
use std::fmt;

/// Deepest nesting accepted; deeper input is rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

/// A JSON value and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub value: Value<'a>,
    /// Byte offset of the first character of the value.
    pub start: usize,
    /// Byte offset just past the value.
    pub end: usize,
}

/// An object member's key and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Key<'a> {
    pub name: Cow<'a, str>,
    pub start: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    /// Members in document order; duplicates are kept.
    Object(Vec<(Key<'a>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// The source text of this value.
    pub fn raw<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.start..self.end).unwrap_or("")
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node<'a>]> {
        match &self.value {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(Key<'a>, Node<'a>)]> {
        match &self.value {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The first member named `key` (exact match).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// A short name of the value's JSON type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A syntax error and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Byte offset of the offending character.
    pub offset: usize,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Error {}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn position(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line as u32, column as u32)
}

/// Parses one JSON document.
pub fn parse(text: &str) -> Result<Node<'_>, Error> {
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    if text.starts_with('\u{feff}') {
        p.i = 3;
    }
    p.ws()?;
    if p.i >= p.b.len() {
        return Err(p.err_at(p.i, "empty document: expected a JSON object".to_owned()));
    }
    let node = p.value(0)?;
    p.ws()?;
    if p.i < p.b.len() {
        let c = p.ch();
        let msg = match c {
            ',' => "unexpected `,` after the end of the document (a fragment of a larger document, or a trailing comma?)".to_owned(),
            ':' if matches!(node.value, Value::String(_)) => {
                // a `"Name": value, ...` fragment: report a more specific mistake inside it, if any
                let wrapped = format!("{{{}}}", &text[node.start..]);
                if let Err(mut e) = parse(&wrapped)
                    && e.offset > 0
                    && e.offset < wrapped.len() - 1
                {
                    e.offset = e.offset - 1 + node.start;
                    let (l, c) = position(text, e.offset);
                    e.line = l;
                    e.column = c;
                    return Err(e);
                }
                "unexpected `:` after the first value: this is a fragment (`\"Name\": value`), not a JSON document; a policy is an object `{ ... }`".to_owned()
            }
            '{' | '[' => format!("unexpected `{c}` after the end of the document: only one JSON document is allowed (several documents pasted together?)"),
            _ => format!("unexpected {} after the end of the document", describe(c)),
        };
        return Err(p.err_at(p.i, msg));
    }
    Ok(node)
}

fn describe(c: char) -> String {
    match c {
        '\n' => "line break".to_owned(),
        '\t' => "tab".to_owned(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

fn smart_quote_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{201C}' => "left double quotation mark `“` (U+201C)",
        '\u{201D}' => "right double quotation mark `”` (U+201D)",
        '\u{2018}' => "left single quotation mark `‘` (U+2018)",
        '\u{2019}' => "right single quotation mark `’` (U+2019)",
        '\u{201E}' => "double low-9 quotation mark `„` (U+201E)",
        '\u{00AB}' | '\u{00BB}' => "guillemet",
        '\u{FF02}' => "fullwidth quotation mark `＂` (U+FF02)",
        _ => return None,
    })
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn err_at(&self, offset: usize, message: String) -> Error {
        let (line, column) = position(self.s, offset);
        Error {
            offset,
            line,
            column,
            message,
        }
    }

    fn ch(&self) -> char {
        self.s
            .get(self.i..)
            .and_then(|r| r.chars().next())
            .unwrap_or('\0')
    }

    fn ws(&mut self) -> Result<(), Error> {
        while self.i < self.b.len() {
            match self.b[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                b'/' if matches!(self.b.get(self.i + 1), Some(b'/') | Some(b'*')) => {
                    return Err(self.err_at(self.i, "comments are not allowed in JSON".to_owned()));
                }
                0xC2 if self.b.get(self.i + 1) == Some(&0xA0) => {
                    return Err(self.err_at(
                        self.i,
                        "non-breaking space (U+00A0) is not JSON whitespace: replace it with a plain space"
                            .to_owned(),
                    ));
                }
                0xE3 if self.s[self.i..].starts_with('\u{3000}') => {
                    return Err(self.err_at(
                        self.i,
                        "ideographic space (U+3000) is not JSON whitespace: replace it with a plain space"
                            .to_owned(),
                    ));
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn unexpected_value(&self, what: &str) -> Error {
        if self.i >= self.b.len() {
            return self.err_at(self.i, format!("unexpected end of input: expected {what}"));
        }
        let c = self.ch();
        if c == '\'' {
            return self.err_at(
                self.i,
                "single quote `'`: JSON strings must be in double quotes (`\"`); this looks like a Python dict, not JSON".to_owned(),
            );
        }
        if let Some(name) = smart_quote_name(c) {
            return self.err_at(
                self.i,
                format!("typographic {name} is not valid JSON: use a straight double quote `\"`"),
            );
        }
        let mut word: String = self.s[self.i..]
            .chars()
            .take_while(|c| {
                c.is_alphanumeric()
                    || matches!(c, '_' | '-' | '.' | ':' | '<' | '>' | '/' | '*' | '$' | '@')
            })
            .take(60)
            .collect();
        let line_rest = self.s[self.i..].split('\n').next().unwrap_or("");
        if word.chars().count() >= 60 {
            word.push('…');
        }
        match word.as_str() {
            "True" | "False" => {
                return self.err_at(
                    self.i,
                    format!(
                        "`{word}` is not valid JSON (a Python literal?): use `{}`",
                        word.to_ascii_lowercase()
                    ),
                );
            }
            "None" => {
                return self.err_at(
                    self.i,
                    "`None` is not valid JSON (a Python literal?): use `null`".to_owned(),
                );
            }
            "undefined" | "NaN" | "Infinity" => {
                return self.err_at(self.i, format!("`{word}` is not valid JSON"));
            }
            _ => {}
        }
        match c {
            ',' => self.err_at(self.i, format!("unexpected `,`: expected {what} (an extra comma?)")),
            '}' | ']' => self.err_at(self.i, format!("unexpected `{c}`: expected {what}")),
            _ if !word.is_empty() && line_rest.trim_end().trim_end_matches(',').ends_with('"') => self.err_at(
                self.i,
                format!("unexpected `{word}`: expected {what}; the opening double quote `\"` of this string is missing"),
            ),
            _ if !word.is_empty() => self.err_at(
                self.i,
                format!("unexpected `{word}`: expected {what}; strings must be in double quotes"),
            ),
            _ => self.err_at(self.i, format!("unexpected {}: expected {what}", describe(c))),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, Error> {
        if depth >= MAX_DEPTH {
            return Err(self.err_at(self.i, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let start = self.i;
        let value = match self.b.get(self.i) {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b't') if self.s[self.i..].starts_with("true") => {
                self.i += 4;
                Value::Bool(true)
            }
            Some(b'f') if self.s[self.i..].starts_with("false") => {
                self.i += 5;
                Value::Bool(false)
            }
            Some(b'n') if self.s[self.i..].starts_with("null") => {
                self.i += 4;
                Value::Null
            }
            _ => return Err(self.unexpected_value("a value")),
        };
        Ok(Node {
            value,
            start,
            end: self.i,
        })
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, Error> {
        let open = self.i;
        self.i += 1;
        let mut members = Vec::new();
        self.ws()?;
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.ws()?;
            if self.i >= self.b.len() {
                return Err(self.unclosed(open, '{'));
            }
            if self.b[self.i] != b'"' {
                return Err(self.unexpected_value("a member name in double quotes"));
            }
            let kstart = self.i;
            let name = self.string()?;
            self.ws()?;
            match self.b.get(self.i) {
                Some(b':') => self.i += 1,
                None => return Err(self.unclosed(open, '{')),
                _ => {
                    return Err(self.err_at(
                        self.i,
                        format!(
                            "expected `:` after member name `{name}`, found {}",
                            describe(self.ch())
                        ),
                    ));
                }
            }
            self.ws()?;
            if self.i >= self.b.len() {
                return Err(self.unclosed(open, '{'));
            }
            let v = self.value(depth + 1)?;
            members.push((
                Key {
                    name,
                    start: kstart,
                },
                v,
            ));
            self.ws()?;
            match self.b.get(self.i) {
                Some(b',') => {
                    let comma = self.i;
                    self.i += 1;
                    self.ws()?;
                    if self.b.get(self.i) == Some(&b'}') {
                        return Err(self.err_at(
                            comma,
                            "trailing comma before `}`: JSON does not allow a comma after the last member".to_owned(),
                        ));
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(members));
                }
                None => return Err(self.unclosed(open, '{')),
                Some(b'"') => {
                    return Err(self.err_at(
                        self.i,
                        "expected `,` or `}` after a member, found `\"`: a comma is missing between members".to_owned(),
                    ));
                }
                _ => {
                    let c = self.ch();
                    if c == '\'' || smart_quote_name(c).is_some() {
                        return Err(self.unexpected_value("`,` or `}`"));
                    }
                    return Err(self.err_at(
                        self.i,
                        format!("expected `,` or `}}` after a member, found {}", describe(c)),
                    ));
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, Error> {
        let open = self.i;
        self.i += 1;
        let mut items = Vec::new();
        self.ws()?;
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws()?;
            if self.i >= self.b.len() {
                return Err(self.unclosed(open, '['));
            }
            items.push(self.value(depth + 1)?);
            self.ws()?;
            match self.b.get(self.i) {
                Some(b',') => {
                    let comma = self.i;
                    self.i += 1;
                    self.ws()?;
                    if self.b.get(self.i) == Some(&b']') {
                        return Err(self.err_at(
                            comma,
                            "trailing comma before `]`: JSON does not allow a comma after the last element".to_owned(),
                        ));
                    }
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.unclosed(open, '[')),
                _ => {
                    let c = self.ch();
                    if c == '\'' || smart_quote_name(c).is_some() {
                        return Err(self.unexpected_value("`,` or `]`"));
                    }
                    let hint = if c == '"' {
                        ": a comma is missing between elements"
                    } else {
                        ""
                    };
                    return Err(self.err_at(
                        self.i,
                        format!(
                            "expected `,` or `]` after an element, found {}{hint}",
                            describe(c)
                        ),
                    ));
                }
            }
        }
    }

    fn unclosed(&self, open: usize, c: char) -> Error {
        let (l, col) = position(self.s, open);
        self.err_at(
            self.i,
            format!(
                "unexpected end of input: `{c}` opened at line {l}, column {col} is not closed"
            ),
        )
    }

    fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        let open = self.i;
        self.i += 1;
        let start = self.i;
        let mut owned: Option<String> = None;
        let mut smart: Option<(usize, char)> = None;
        loop {
            let Some(&b) = self.b.get(self.i) else {
                if let Some((at, c)) = smart {
                    return Err(self.smart_in_string(at, c));
                }
                let (l, col) = position(self.s, open);
                return Err(self.err_at(
                    self.i,
                    format!("unexpected end of input: string opened at line {l}, column {col} is not closed"),
                ));
            };
            match b {
                b'"' => {
                    let out = match owned {
                        Some(s) => Cow::Owned(s),
                        None => Cow::Borrowed(&self.s[start..self.i]),
                    };
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let buf = owned.get_or_insert_with(|| self.s[start..self.i].to_owned());
                    let esc_at = self.i;
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        continue;
                    };
                    self.i += 1;
                    match e {
                        b'"' => buf.push('"'),
                        b'\\' => buf.push('\\'),
                        b'/' => buf.push('/'),
                        b'b' => buf.push('\u{8}'),
                        b'f' => buf.push('\u{c}'),
                        b'n' => buf.push('\n'),
                        b'r' => buf.push('\r'),
                        b't' => buf.push('\t'),
                        b'u' => {
                            let hi = self.hex4(esc_at)?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i) == Some(&b'\\')
                                    && self.b.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let lo = self.hex4(esc_at)?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.err_at(
                                            esc_at,
                                            "invalid UTF-16 surrogate pair in `\\u` escape"
                                                .to_owned(),
                                        ));
                                    }
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            match c {
                                Some(c) => buf.push(c),
                                None => {
                                    return Err(self.err_at(
                                        esc_at,
                                        "invalid `\\u` escape: unpaired surrogate".to_owned(),
                                    ));
                                }
                            }
                        }
                        _ => {
                            let c = self.s[self.i - 1..].chars().next().unwrap_or('?');
                            return Err(self.err_at(
                                esc_at,
                                format!("invalid escape `\\{c}` in string (a literal backslash is written `\\\\`)"),
                            ));
                        }
                    }
                }
                b'\n' | b'\r' => {
                    if let Some((at, c)) = smart {
                        return Err(self.smart_in_string(at, c));
                    }
                    return Err(self.err_at(
                        self.i,
                        "line break inside a string: JSON strings cannot span lines (write `\\n`, or join the lines)".to_owned(),
                    ));
                }
                0..=0x1f => {
                    return Err(self.err_at(
                        self.i,
                        format!("{} inside a string must be escaped", describe(b as char)),
                    ));
                }
                _ => {
                    let c = self.ch();
                    if smart.is_none() && smart_quote_name(c).is_some() {
                        smart = Some((self.i, c));
                    }
                    let n = c.len_utf8();
                    if let Some(buf) = owned.as_mut() {
                        buf.push(c);
                    }
                    self.i += n;
                }
            }
        }
    }

    fn smart_in_string(&self, at: usize, c: char) -> Error {
        let name = smart_quote_name(c).unwrap_or("typographic quote");
        self.err_at(
            at,
            format!("string is not closed: it seems to end with the typographic {name}, which is not valid JSON; use a straight double quote `\"`"),
        )
    }

    fn hex4(&mut self, esc_at: usize) -> Result<u32, Error> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match h {
            Some(h) => {
                self.i += 4;
                u32::from_str_radix(h, 16)
                    .map_err(|_| self.err_at(esc_at, "invalid `\\u` escape".to_owned()))
            }
            None => Err(self.err_at(
                esc_at,
                "invalid `\\u` escape: expected four hex digits".to_owned(),
            )),
        }
    }

    fn number(&mut self) -> Result<&'a str, Error> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                    return Err(self.err_at(
                        start,
                        "numbers cannot have leading zeros (quote the value if it is an id)"
                            .to_owned(),
                    ));
                }
            }
            Some(b'1'..=b'9') => {
                while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return Err(self.err_at(start, "invalid number".to_owned())),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err_at(
                    self.i,
                    "invalid number: expected a digit after `.`".to_owned(),
                ));
            }
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err_at(
                    self.i,
                    "invalid number: expected a digit in the exponent".to_owned(),
                ));
            }
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        // a number glued to letters, e.g. 123abc or 949335012047:role
        if let Some(&b) = self.b.get(self.i)
            && (b.is_ascii_alphabetic() || b == b':' || b == b'_')
        {
            return Err(self.unexpected_value_from(start));
        }
        Ok(&self.s[start..self.i])
    }

    fn unexpected_value_from(&mut self, start: usize) -> Error {
        self.i = start;
        self.unexpected_value("a value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> Error {
        parse(s).unwrap_err()
    }

    #[test]
    fn parses_values_with_positions() {
        let src = "{\n  \"a\": [1, -2.5e3, true, null],\n  \"b\": \"x\\n\\u00e9\"\n}";
        let n = parse(src).unwrap();
        let a = n.get("a").unwrap();
        assert_eq!(position(src, a.start), (2, 8));
        assert_eq!(a.raw(src), "[1, -2.5e3, true, null]");
        assert_eq!(n.get("b").unwrap().as_str(), Some("x\né"));
    }

    #[test]
    fn explains_single_quotes() {
        let e = err("{\n    'Version': '2012-10-17'\n}");
        assert_eq!((e.line, e.column), (2, 5));
        assert!(e.message.contains("Python dict"), "{}", e.message);
    }

    #[test]
    fn explains_smart_quotes() {
        let e = err("{\"Sid\": ”X\"}");
        assert_eq!((e.line, e.column), (1, 9));
        assert!(e.message.contains("U+201D"), "{}", e.message);
        let e = err("{\"Action\": [\"a:B”\n]}");
        assert_eq!((e.line, e.column), (1, 17));
        assert!(e.message.contains("typographic"), "{}", e.message);
    }

    #[test]
    fn explains_trailing_comma_and_missing_comma() {
        let e = err("{\"a\": [1,\n 2,\n ]}");
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.contains("trailing comma"));
        let e = err("{\"a\": 1\n \"b\": 2}");
        assert_eq!((e.line, e.column), (2, 2));
        assert!(e.message.contains("comma is missing"));
    }

    #[test]
    fn explains_unquoted_and_line_breaks() {
        let e = err("{\"a\": <vpc_id>}");
        assert!(e.message.contains("`<vpc_id>`"), "{}", e.message);
        let e = err("{\"a\": \"x\ny\"}");
        assert!(e.message.contains("line break"));
        let e = err("{\"a\": 1} {\"b\": 2}");
        assert!(e.message.contains("only one JSON document"));
        let e = err("\"Condition\": {}");
        assert!(e.message.contains("fragment"));
    }

    #[test]
    fn columns_count_characters() {
        let src = "{\"é中\": x}";
        let e = err(src);
        assert_eq!((e.line, e.column), (1, 8));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "[".repeat(10_000);
        assert!(err(&s).message.contains("nesting"));
    }
}
