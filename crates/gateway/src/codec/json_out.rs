//! A small JSON writer for documents the gateway writes on every request (the audit record), where
//! going through serde cost more than the rest of building them. Output is the same as
//! `serde_json`'s compact form.

use serde_json::Value;

/// Whether any byte of the word is below 0x20, `"` or `\`.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    below_space
        | has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\')))
        != 0
}

/// Appends `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Most text has nothing to escape: skip it eight bytes at a time.
        if i + 8 <= bytes.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[i..i + 8]);
            if !needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `v`.
pub fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, k);
                out.push(b':');
                value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// An object being written: members in the order they are added.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens an object.
    pub fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, empty: true }
    }

    /// The comma before every member but the first.
    fn separate(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    /// Starts member `name` and returns the buffer its value goes into. Names are the writer's
    /// own (plain ASCII): written as they are.
    pub fn member(&mut self, name: &str) -> &mut Vec<u8> {
        self.separate();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Starts a member whose name comes from elsewhere (escaped as a string).
    pub fn member_escaped(&mut self, name: &str) -> &mut Vec<u8> {
        self.separate();
        string(self.out, name);
        self.out.push(b':');
        self.out
    }

    /// A string member.
    pub fn str(&mut self, name: &str, v: &str) {
        string(self.member(name), v);
    }

    /// A string member, left out when `None`.
    pub fn opt_str(&mut self, name: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(name, v);
        }
    }

    /// A boolean member.
    pub fn bool(&mut self, name: &str, v: bool) {
        let text: &[u8] = if v { b"true" } else { b"false" };
        self.member(name).extend_from_slice(text);
    }

    /// A member whose value is `null`.
    pub fn null(&mut self, name: &str) {
        self.member(name).extend_from_slice(b"null");
    }

    /// Closes the object.
    pub fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut samples: Vec<String> = [
            "",
            "plain",
            "arn:aws:iam::000000000000:role/DataScience",
            "quote \" backslash \\ slash /",
            "tab\tnewline\ncr\rbell\u{7}nul\0del\u{7f}",
            "\u{8}\u{c}\u{1f} é 漢字 🦀",
            "exactly8",
            "\"\"\"\"\"\"\"\"\"",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every byte value at every offset within a word.
        for b in 0u8..0x80 {
            for at in 0..9 {
                let mut s = "abcdefghijklmnop".to_string();
                s.insert(at, char::from(b));
                samples.push(s);
            }
        }
        for s in samples {
            let mut out = Vec::new();
            string(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn values_and_objects_write_compact_json() {
        let v =
            serde_json::json!({"a": [1, 2.5, -3, null, true, false], "b": {"c": "d\n"}, "e": {}});
        let mut out = Vec::new();
        value(&mut out, &v);
        assert_eq!(out, serde_json::to_vec(&v).unwrap());

        let mut out = Vec::new();
        let mut o = Object::open(&mut out);
        o.str("k", "v\"");
        o.opt_str("skipped", None);
        o.bool("t", true);
        o.null("n");
        value(o.member("list"), &serde_json::json!(["x"]));
        o.close();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"k":"v\"","t":true,"n":null,"list":["x"]}"#
        );
    }

    #[test]
    fn members_named_elsewhere_are_escaped_like_serde() {
        let mut out = Vec::new();
        let mut o = Object::open(&mut out);
        o.str("plain", "a");
        value(
            o.member_escaped("we\"ird\nkey"),
            &serde_json::json!({"x": [1, true]}),
        );
        o.close();
        let expected = serde_json::to_string(&serde_json::json!({
            "plain": "a",
            "we\"ird\nkey": {"x": [1, true]}
        }))
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
