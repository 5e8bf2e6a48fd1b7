//! Where each operation's located members travel, worked out once from the model: the input
//! members read from the URI, query string and headers, and the output members written as headers.
//! Routing and rendering then walk a short list with parsed header names instead of every member of
//! the shape with a lookup each.

use gateway::fasthash::FastMap;
use gateway::model::Model;
use http::HeaderName;

/// Where one located input member comes from.
pub(crate) enum Source {
    /// The bucket or key in the address (the URI label `Bucket` or `Key`).
    Uri,
    /// A query string parameter.
    Query,
    /// A header, possibly repeated.
    Header(HeaderName),
    /// Every header with this (lowercase) prefix, as a map.
    Prefixed(String),
}

/// A located input member.
pub(crate) struct Input {
    pub(crate) member: String,
    /// The wire name: the URI label, query parameter or header as the model spells it.
    pub(crate) wire: String,
    /// The member's shape kind (`string`, `integer`, `list`, ...).
    pub(crate) kind: String,
    pub(crate) source: Source,
}

/// Where one output member goes.
pub(crate) enum Target {
    /// One header.
    Header(HeaderName),
    /// One header per map entry, named prefix + key.
    Prefixed(String),
}

/// An output member sent as header(s).
pub(crate) struct Output {
    pub(crate) kind: String,
    pub(crate) target: Target,
}

/// One operation's bindings, in the order of the shape's members.
#[derive(Default)]
pub(crate) struct Plan {
    /// Whether the operation has an input shape at all.
    pub(crate) has_input: bool,
    pub(crate) input: Vec<Input>,
    /// Index into `input` by query parameter name, and by header: a request carries a few of the
    /// parameters and headers an operation could read, so routing looks up what is there.
    pub(crate) query_index: FastMap<String, usize>,
    pub(crate) header_index: FastMap<HeaderName, usize>,
    pub(crate) output: Vec<Output>,
    /// Index into `output` by member name: an output carries a few of its shape's (often dozens
    /// of) header members, so rendering looks up what is there rather than all that could be.
    pub(crate) output_index: FastMap<String, usize>,
}

/// The plans of every operation of a model.
pub(crate) struct Plans {
    by_operation: FastMap<String, Plan>,
    empty: Plan,
}

impl Plans {
    pub(crate) fn new(model: &Model) -> Plans {
        let kind = |shape: &str, default: &str| {
            model
                .shape(shape)
                .map_or_else(|| default.to_string(), |s| s.kind.clone())
        };
        let mut by_operation = FastMap::default();
        for (name, op) in &model.operations {
            let mut plan = Plan::default();
            let input = op.input.as_ref().and_then(|r| model.shape(&r.shape));
            plan.has_input = input.is_some();
            for (member, r) in input.iter().flat_map(|s| &s.members) {
                let Some(location) = r.location.as_deref() else {
                    continue;
                };
                let wire = r.location_name.clone().unwrap_or_else(|| member.clone());
                let source = match location {
                    "uri" => Source::Uri,
                    "querystring" => Source::Query,
                    // A name that is no header name matches no header.
                    "header" => match HeaderName::from_bytes(wire.as_bytes()) {
                        Ok(h) => Source::Header(h),
                        Err(_) => continue,
                    },
                    "headers" => Source::Prefixed(wire.to_ascii_lowercase()),
                    _ => continue,
                };
                match &source {
                    Source::Query => {
                        plan.query_index
                            .entry(wire.clone())
                            .or_insert(plan.input.len());
                    }
                    Source::Header(h) => {
                        plan.header_index
                            .entry(h.clone())
                            .or_insert(plan.input.len());
                    }
                    Source::Uri | Source::Prefixed(_) => {}
                }
                plan.input.push(Input {
                    member: member.clone(),
                    kind: kind(&r.shape, "string"),
                    wire,
                    source,
                });
            }
            let output = op.output.as_ref().and_then(|r| model.shape(&r.shape));
            for (member, r) in output.iter().flat_map(|s| &s.members) {
                let wire = r.location_name.as_deref().unwrap_or(member);
                let target = match r.location.as_deref() {
                    Some("header") => match HeaderName::from_bytes(wire.as_bytes()) {
                        Ok(h) => Target::Header(h),
                        Err(_) => continue,
                    },
                    Some("headers") => Target::Prefixed(wire.to_string()),
                    _ => continue,
                };
                plan.output_index.insert(member.clone(), plan.output.len());
                plan.output.push(Output {
                    kind: kind(&r.shape, "string"),
                    target,
                });
            }
            by_operation.insert(name.clone(), plan);
        }
        Plans {
            by_operation,
            empty: Plan::default(),
        }
    }

    /// The plan of `operation`; an empty one for an operation the model does not have.
    pub(crate) fn get(&self, operation: &str) -> &Plan {
        self.by_operation.get(operation).unwrap_or(&self.empty)
    }
}
