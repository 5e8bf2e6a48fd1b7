//! Entry points for fuzzing the codecs that read untrusted input; the fuzz
//! targets under `fuzz/` and the corpus replay test call these.

use crate::codec::query::{self, Dialect, Params};
use crate::codec::validate;
use crate::model::Model;

/// A form body (Query or EC2 dialect) decoded and validated against every operation of `model`.
pub fn form_input(model: &Model, body: &[u8]) {
    let pairs = query::parse_form(body);
    let params = Params::new(&pairs);
    let dialect = if model.metadata.protocol == "ec2" {
        Dialect::Ec2
    } else {
        Dialect::Query
    };
    for op in model.operations.values() {
        if let Some(input) = &op.input
            && let Ok(v) = query::decode(model, &input.shape, &params, dialect)
        {
            let _ = validate::validate(model, &input.shape, &v);
        }
    }
}

/// A JSON body validated against every operation of `model`.
pub fn json_input(model: &Model, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    for op in model.operations.values() {
        if let Some(input) = &op.input {
            let _ = validate::validate(model, &input.shape, &v);
        }
    }
}

/// Any text as an ISO 8601 or epoch timestamp.
pub fn timestamp(text: &[u8]) {
    if let Ok(s) = std::str::from_utf8(text)
        && let Some(t) = crate::time::parse_timestamp(s)
    {
        let _ = crate::time::iso8601(t, true);
        let _ = crate::time::http_date(t);
    }
}
