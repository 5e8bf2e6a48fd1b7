//! The entry point shared by the fuzz target `cloudformation_template` (under `fuzz/`) and the
//! test that replays its saved corpus. Input never panics; only a broken invariant does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::intrinsic::{self, Pseudo, Resources, Scope};
use crate::resources::{self, Props};
use crate::template::{GivenParameter, Template, resolve_parameters};

/// Resources as a deployment in progress sees them: every `Ref` and `Fn::GetAtt` resolves.
struct Deployed;

impl Resources for Deployed {
    fn reference(&self, logical_id: &str) -> Result<Value, String> {
        Ok(Value::String(format!("phys-{logical_id}")))
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Value, String> {
        match attribute {
            "List" | "Ipv6CidrBlocks" | "SecurityGroupIds" => Ok(json!(["a", "b"])),
            _ => Ok(Value::String(format!("{logical_id}.{attribute}"))),
        }
    }
}

fn pseudo() -> Pseudo {
    Pseudo {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        stack_name: "fuzz".into(),
        stack_id: "arn:aws:cloudformation:us-east-1:111122223333:stack/fuzz/1".into(),
        notification_arns: vec!["arn:aws:sns:us-east-1:111122223333:t".into()],
    }
}

/// Any bytes as a template body (JSON when it starts with `{`, YAML otherwise), then
/// everything CloudFormation does with one before calling a service: the document is checked,
/// parameters resolved (defaults, then every parameter given the value `1`), conditions
/// evaluated, the resources ordered, every resource's properties, `DependsOn` and every output
/// resolved with the intrinsic functions, and the resolved properties read the way the resource
/// handlers read them. The same bytes are also read as a `Fn::Sub` string, as `Fn::Cidr`
/// arguments and as a `NextToken`. Errors, never a panic; a plan orders every resource it keeps.
pub fn template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = intrinsic::sub_pieces(&text);
    let mut args = text.splitn(3, ',');
    let (a, b, c) = (
        args.next().unwrap_or(""),
        args.next().unwrap_or(""),
        args.next().unwrap_or(""),
    );
    if let Ok(blocks) = intrinsic::cidr(a, b, c) {
        assert!(blocks.len() <= 256, "Fn::Cidr made {} blocks", blocks.len());
    }
    let items: Vec<u32> = (0..250).collect();
    if let Ok((page, next)) = crate::ops::page(&items, Some(text.trim()), 100) {
        assert!(page.len() <= 100);
        if let Some(n) = next {
            assert!(
                crate::ops::page(&items, Some(&n), 100).is_ok(),
                "next token {n}"
            );
        }
    }
    let _ = crate::yaml::parse(&text);
    let Ok(t) = Template::parse(&text) else {
        return;
    };
    let _ = t.required_capabilities();
    let _ = t.resource_types();
    let given: Vec<GivenParameter> = t
        .parameters
        .iter()
        .map(|p| GivenParameter {
            key: p.name.clone(),
            value: Some("1".into()),
            use_previous: false,
        })
        .collect();
    let mut previous = None;
    for given in [&[][..], &given[..]] {
        if let Ok(params) = resolve_parameters(&t, given, previous.as_ref()) {
            deploy(&t, &params);
            previous = Some(params);
        }
    }
}

fn deploy(t: &Template, params: &BTreeMap<String, crate::template::ParamValue>) {
    for (name, p) in params {
        let _ = intrinsic::param_value(t, name, p);
    }
    let pseudo = pseudo();
    let Ok(conditions) = intrinsic::conditions(t, params, &pseudo) else {
        return;
    };
    let Ok(plan) = crate::graph::plan(t, &conditions, &resources::attributes) else {
        return;
    };
    let _ = plan.deletion_order();
    let exports = |name: &str| (name == "shared").then(|| "exported".to_string());
    let scope = Scope {
        template: t,
        params,
        pseudo: &pseudo,
        conditions: &conditions,
        resources: &Deployed,
        exports: &exports,
    };
    for r in &t.resources {
        let mut refs = BTreeSet::new();
        intrinsic::references(&r.properties, &conditions, &mut refs);
        let mut uses = BTreeSet::new();
        intrinsic::condition_uses(&r.properties, &mut uses);
        let mut imports = BTreeSet::new();
        intrinsic::imports(&r.properties, Some(&scope), &mut imports);
        let Ok(resolved) = scope.resolve(&r.properties) else {
            continue;
        };
        let resolved = resolved.unwrap_or_else(|| json!({}));
        read_properties(&r.logical_id, &r.kind, &resolved);
        let _ = resources::needs_replacement(&r.kind, &r.properties, &resolved);
        let _ = resources::changed_properties(&r.properties, &resolved);
    }
    for o in &t.outputs {
        let _ = scope.resolve(&o.value);
        if let Some(e) = &o.export_name {
            let _ = scope.resolve(e);
        }
    }
}

/// Every property read every way a resource handler reads one.
fn read_properties(logical_id: &str, kind: &str, resolved: &Value) {
    let props = Props::new(logical_id, kind, resolved);
    let _ = props.allow(&["Tags", "Name"]);
    let Some(map) = resolved.as_object() else {
        return;
    };
    for key in map.keys() {
        let _ = props.get(key);
        let _ = props.str(key);
        let _ = props.required(key);
        let _ = props.int(key);
        let _ = props.bool(key);
        let _ = props.strings(key);
        let _ = props.objects(key);
        let _ = props.object(key);
        let _ = props.document(key);
        let _ = props.tag_list(key);
    }
    let _ = resources::info(kind);
    let _ = resources::generated_name("fuzz", logical_id, 63, true);
    let _ = resources::generated_name("fuzz", logical_id, 64, false);
}

/// Byte 0 is a page size, the rest a `NextToken` as CloudFormation's list operations read it (an
/// offset): a page within the items, and a next token that reads back. Errors, never a panic.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    let items: Vec<u32> = (0..7).collect();
    let size = limit as usize;
    if let Ok((page, next)) = crate::ops::page(&items, Some(&token), size) {
        assert!(page.len() <= size);
        if let Some(n) = next {
            assert!(
                crate::ops::page(&items, Some(&n), size).is_ok(),
                "next token {n}"
            );
        }
    }
}
