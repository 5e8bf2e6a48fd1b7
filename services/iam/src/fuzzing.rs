//! The entry point shared by the fuzz target `next_tokens` (under `fuzz/`) and the test that
//! replays its saved corpus. Input never panics; only a broken invariant does.

use std::cell::RefCell;

use gateway::fuzzing::Harness;
use serde_json::{Value, json};

use crate::Iam;

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 512;

struct Env {
    harness: Harness,
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let iam = match Iam::open(&store, &config).and_then(|iam| {
            iam.ensure_account(
                &config.account_id,
                "AKIAFUZZROOT00000001",
                "fuzz-root-secret",
            )?;
            Ok(iam)
        }) {
            Ok(i) => i,
            Err(e) => panic!("iam: {e}"),
        };
        let harness = Harness::new(config, store, iam.service_defs());
        let ok = |op: &str, input: Value| match harness.run("iam", op, input) {
            Some(Ok(_)) => {}
            other => panic!("fixture {op}: {other:?}"),
        };
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]});
        for i in 1..=3 {
            ok("CreateUser", json!({"UserName": format!("u{i}")}));
            ok("CreateGroup", json!({"GroupName": format!("g{i}")}));
            ok(
                "CreateRole",
                json!({"RoleName": format!("r{i}"), "AssumeRolePolicyDocument": trust.to_string()}),
            );
            ok(
                "PutUserPolicy",
                json!({"UserName": "u1", "PolicyName": format!("p{i}"),
                       "PolicyDocument": policy.to_string()}),
            );
        }
        Env { harness }
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

/// Byte 0 is a page size (`MaxItems`), the rest a `Marker` given to IAM's list operations and
/// to `SimulatePrincipalPolicy`, and an `EncodedMessage` given to STS
/// `DecodeAuthorizationMessage`: AWS errors, never a panic. An empty marker starts from the
/// first page and follows the markers returned, which must be accepted.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        let page = |op: &str, mut input: Value| {
            input["MaxItems"] = json!(limit);
            env.harness
                .page("iam", op, input, ("Marker", "Marker"), &token, 20);
        };
        page("ListUsers", json!({}));
        page("ListRoles", json!({}));
        page("ListGroups", json!({}));
        page("ListPolicies", json!({"Scope": "All"}));
        page("ListUserPolicies", json!({"UserName": "u1"}));
        page(
            "SimulatePrincipalPolicy",
            json!({"PolicySourceArn": "arn:aws:iam::000000000000:user/u1",
                   "ActionNames": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]}),
        );
        let _ = env.harness.run(
            "sts",
            "DecodeAuthorizationMessage",
            json!({"EncodedMessage": token}),
        );
    });
}

/// Byte 0 picks IAM (even) or STS (odd), byte 1 an operation of it (in name order), the rest is
/// its JSON input over the fixture of [`next_token`] (users, groups and roles `u1`..`u3`,
/// `g1`..`g3`, `r1`..`r3`). It is validated, declared and handled (policy documents, names,
/// ARNs, sessions, MFA devices, access keys): AWS errors, never a panic.
pub fn request(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let service = if which % 2 == 0 { "iam" } else { "sts" };
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        env.harness.request(service, rest, str::to_string);
    });
}
