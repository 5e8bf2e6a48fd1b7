//! The entry point shared by the fuzz target `next_tokens` (under `fuzz/`) and the test that
//! replays its saved corpus. Input never panics; only a broken invariant does.

use std::cell::RefCell;

use gateway::fuzzing::Harness;
use serde_json::{Value, json};

use crate::Ssm;

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 512;

struct Env {
    harness: Harness,
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let (kms, ssm) = match kms::Kms::open(&store, &config)
            .and_then(|kms| Ok((kms.clone(), Ssm::open(&store, &config, kms)?)))
        {
            Ok(o) => o,
            Err(e) => panic!("ssm: {e}"),
        };
        let harness = Harness::new(config, store, vec![ssm.service_def(), kms.service_def()]);
        let ok = |input: Value| match harness.run("ssm", "PutParameter", input) {
            Some(Ok(_)) => {}
            other => panic!("fixture parameter: {other:?}"),
        };
        for name in ["/a/1", "/a/2", "/a/b/3", "/c", "plain"] {
            ok(json!({"Name": name, "Value": "v", "Type": "String"}));
        }
        for version in 2..5 {
            ok(
                json!({"Name": "/c", "Value": format!("v{version}"), "Type": "String",
                      "Overwrite": true}),
            );
        }
        ok(json!({"Name": "/a/secret", "Value": "s", "Type": "SecureString"}));
        Env { harness }
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

/// Byte 0 is a page size, the rest a `NextToken` given to `DescribeParameters`,
/// `GetParametersByPath` (recursive or not) and `GetParameterHistory`, and a parameter name
/// with a selector (`name:3`, `name:label`) given to `GetParameter`: AWS errors, never a panic.
/// An empty token starts from the first page and follows the tokens returned, which must be
/// accepted.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    if let Ok((name, selector)) = crate::names::split_selector(&token) {
        let _ = (name, selector.text());
    }
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        let page = |op: &str, input: Value| {
            env.harness
                .page("ssm", op, input, ("NextToken", "NextToken"), &token, 20);
        };
        page("DescribeParameters", json!({"MaxResults": limit}));
        for recursive in [false, true] {
            page(
                "GetParametersByPath",
                json!({"Path": "/a", "Recursive": recursive, "MaxResults": 1 + limit % 10}),
            );
        }
        page(
            "GetParameterHistory",
            json!({"Name": "/c", "MaxResults": limit}),
        );
        let _ = env.harness.run(
            "ssm",
            "GetParameter",
            json!({"Name": token, "WithDecryption": true}),
        );
    });
}

/// Byte 0 picks a SSM operation (in name order), the rest is its JSON input over the fixture
/// of [`next_token`]. It is validated, declared and handled (parameter names and selectors, tiers, policies, labels): AWS
/// errors, never a panic.
pub fn request(data: &[u8]) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        env.harness.request("ssm", data, str::to_string);
    });
}
