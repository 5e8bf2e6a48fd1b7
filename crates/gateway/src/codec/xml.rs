//! Renders a JSON value of an output shape as XML, the way botocore's
//! `query`, `ec2` and `rest-xml` parsers expect it.

use serde_json::Value;

use crate::model::{Model, Shape, ShapeRef};
use crate::time;

/// The bytes [`escape`] replaces: markup, quotes, and control characters but tab and newline. A
/// table, because every text of every response goes through it.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\n' as usize && b != b'\t' as usize;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        // Every byte that needs escaping is ASCII, so `i` is a char boundary.
        out.push_str(&text[start..i]);
        match b {
            b'&' => out.push_str("&amp;"),
            b'<' => out.push_str("&lt;"),
            b'>' => out.push_str("&gt;"),
            b'"' => out.push_str("&quot;"),
            b'\'' => out.push_str("&apos;"),
            b'\r' => out.push_str("&#13;"),
            other => {
                out.push_str("&#");
                out.push_str(&other.to_string());
                out.push(';');
            }
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// Writes shapes as XML into a string.
pub struct XmlWriter<'m> {
    model: &'m Model,
    /// The rendered document so far.
    pub out: String,
    /// S3 renders timestamps with milliseconds.
    pub millis: bool,
}

impl<'m> XmlWriter<'m> {
    /// A writer over `model`.
    pub fn new(model: &'m Model) -> Self {
        XmlWriter {
            model,
            out: String::with_capacity(512),
            millis: false,
        }
    }

    /// Opens an element, with an optional namespace.
    pub fn open(&mut self, name: &str, xmlns: Option<&str>) {
        self.out.push('<');
        self.out.push_str(name);
        if let Some(ns) = xmlns {
            self.out.push_str(" xmlns=\"");
            escape(ns, &mut self.out);
            self.out.push('"');
        }
        self.out.push('>');
    }

    /// Closes an element.
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>text</name>`.
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.open(name, None);
        escape(text, &mut self.out);
        self.close(name);
    }

    /// Writes the members of structure `shape_name` found in `value`, without a wrapper.
    pub fn members(&mut self, shape_name: &str, value: &Value) {
        let Some(shape) = self.model.shape(shape_name) else {
            return;
        };
        self.structure_body(shape, value, false);
    }

    /// Writes the members of a structure that travel in the body (REST skips located members).
    pub fn body_members(&mut self, shape_name: &str, value: &Value) {
        let Some(shape) = self.model.shape(shape_name) else {
            return;
        };
        self.structure_body(shape, value, true);
    }

    fn structure_body(&mut self, shape: &Shape, value: &Value, skip_located: bool) {
        let Value::Object(obj) = value else {
            return;
        };
        for (name, r) in &shape.members {
            if skip_located && r.location.is_some() || r.xml_attribute {
                continue;
            }
            if let Some(v) = obj.get(name) {
                if v.is_null() {
                    continue;
                }
                let elem = r.location_name.as_deref().unwrap_or(name);
                self.value(elem, r, v);
            }
        }
    }

    /// Writes one member value as element `elem`.
    pub fn value(&mut self, elem: &str, r: &ShapeRef, v: &Value) {
        let Some(shape) = self.model.shape(&r.shape) else {
            return;
        };
        match shape.kind.as_str() {
            "structure" => {
                self.out.push('<');
                self.out.push_str(elem);
                if let Some(ns) = r.xml_namespace.as_ref().or(shape.xml_namespace.as_ref()) {
                    match &ns.prefix {
                        Some(p) => self.out.push_str(&format!(" xmlns:{p}=\"")),
                        None => self.out.push_str(" xmlns=\""),
                    }
                    escape(&ns.uri, &mut self.out);
                    self.out.push('"');
                }
                if let Value::Object(obj) = v {
                    for (name, mr) in &shape.members {
                        if !mr.xml_attribute {
                            continue;
                        }
                        if let Some(Value::String(s)) = obj.get(name) {
                            let attr = mr.location_name.as_deref().unwrap_or(name);
                            self.out.push_str(&format!(" {attr}=\""));
                            escape(s, &mut self.out);
                            self.out.push('"');
                        }
                    }
                }
                self.out.push('>');
                self.structure_body(shape, v, false);
                self.close(elem);
            }
            "list" => {
                let Value::Array(items) = v else { return };
                let Some(member) = shape.member.as_ref() else {
                    return;
                };
                if r.flattened || shape.flattened {
                    let name = member.location_name.as_deref().unwrap_or(elem);
                    for item in items {
                        self.value(name, member, item);
                    }
                } else {
                    let name = member.location_name.as_deref().unwrap_or("member");
                    self.open(elem, None);
                    for item in items {
                        self.value(name, member, item);
                    }
                    self.close(elem);
                }
            }
            "map" => {
                let Value::Object(entries) = v else { return };
                let (Some(k), Some(val)) = (shape.key.as_ref(), shape.value.as_ref()) else {
                    return;
                };
                let key_name = k.location_name.as_deref().unwrap_or("key");
                let val_name = val.location_name.as_deref().unwrap_or("value");
                let flattened = r.flattened || shape.flattened;
                if !flattened {
                    self.open(elem, None);
                }
                for (key, value) in entries {
                    self.open(if flattened { elem } else { "entry" }, None);
                    self.text_element(key_name, key);
                    self.value(val_name, val, value);
                    self.close(if flattened { elem } else { "entry" });
                }
                if !flattened {
                    self.close(elem);
                }
            }
            kind => {
                self.open(elem, None);
                match v {
                    // Most scalars are strings: escaped straight into the document.
                    Value::String(s) => escape(s, &mut self.out),
                    _ => escape(&scalar_text(kind, shape, r, v, self.millis), &mut self.out),
                }
                self.close(elem);
            }
        }
    }
}

/// The text of a scalar value of shape kind `kind`.
pub fn scalar_text(kind: &str, shape: &Shape, r: &ShapeRef, v: &Value, millis: bool) -> String {
    match (kind, v) {
        ("timestamp", Value::Number(n)) => {
            let t = n.as_f64().unwrap_or(0.0);
            let format = r
                .timestamp_format
                .as_deref()
                .or(shape.timestamp_format.as_deref());
            match format {
                Some("rfc822") => time::http_date(t),
                Some("unixTimestamp") => n.to_string(),
                _ => time::iso8601(t, millis),
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        let mut out = String::new();
        escape("a<b>&\"c'\r\n\té\u{1}z", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&apos;&#13;\n\té&#1;z");
        let mut plain = String::new();
        escape("plain text", &mut plain);
        assert_eq!(plain, "plain text");
    }
}
