//! The entry point shared by the fuzz target `next_tokens` (under `fuzz/`) and the test that
//! replays its saved corpus. Input never panics; only a broken invariant does.

use std::cell::RefCell;

use gateway::fuzzing::Harness;
use serde_json::{Value, json};

use crate::Organizations;

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 512;

struct Env {
    harness: Harness,
    root: String,
    /// The last OU and account created.
    ou: String,
    account: String,
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let opened = (|| -> Result<_, storage::Error> {
            let iam = iam::Iam::open(&store, &config)?;
            iam.ensure_account(
                &config.account_id,
                "AKIAFUZZROOT00000001",
                "fuzz-root-secret",
            )?;
            let orgs = Organizations::open(&store, &config, iam.clone())?;
            Ok((iam, orgs))
        })();
        let (iam, orgs) = match opened {
            Ok(o) => o,
            Err(e) => panic!("organizations: {e}"),
        };
        let mut defs = iam.service_defs();
        defs.push(orgs.service_def());
        let harness = Harness::new(config, store, defs);
        let ok = |op: &str, input: Value| match harness.run("organizations", op, input) {
            Some(Ok(v)) => v,
            other => panic!("fixture {op}: {other:?}"),
        };
        ok("CreateOrganization", json!({"FeatureSet": "ALL"}));
        let roots = ok("ListRoots", json!({}));
        let root = roots["Roots"][0]["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut ou = String::new();
        for name in ["ou1", "ou2", "ou3"] {
            let made = ok(
                "CreateOrganizationalUnit",
                json!({"ParentId": root, "Name": name, "Tags": [{"Key": "k", "Value": name}]}),
            );
            ou = made["OrganizationalUnit"]["Id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        for (i, name) in ["a", "b"].iter().enumerate() {
            ok(
                "CreateAccount",
                json!({"AccountName": name, "Email": format!("{name}{i}@example.com")}),
            );
        }
        let accounts = ok("ListAccounts", json!({}));
        let account = accounts["Accounts"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|a| a["Id"].as_str())
            .unwrap_or_default()
            .to_string();
        Env {
            harness,
            root,
            ou,
            account,
        }
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

/// Byte 0 is a page size (`MaxResults`, 1 to 20), the rest a `NextToken` given to the list
/// operations of an organization with three OUs and three accounts: AWS errors, never a panic.
/// An empty token starts from the first page and follows the tokens returned, which must be
/// accepted.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    let max = 1 + (limit - 1) % 20;
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        let page = |op: &str, mut input: Value| {
            input["MaxResults"] = json!(max);
            env.harness.page(
                "organizations",
                op,
                input,
                ("NextToken", "NextToken"),
                &token,
                20,
            );
        };
        page("ListAccounts", json!({}));
        page("ListRoots", json!({}));
        page("ListCreateAccountStatus", json!({}));
        page("ListAccountsForParent", json!({"ParentId": env.root}));
        page(
            "ListOrganizationalUnitsForParent",
            json!({"ParentId": env.root}),
        );
        for child in ["ACCOUNT", "ORGANIZATIONAL_UNIT"] {
            page(
                "ListChildren",
                json!({"ParentId": env.root, "ChildType": child}),
            );
        }
        page("ListPolicies", json!({"Filter": "SERVICE_CONTROL_POLICY"}));
        page(
            "ListPoliciesForTarget",
            json!({"TargetId": env.root, "Filter": "SERVICE_CONTROL_POLICY"}),
        );
        page(
            "ListTargetsForPolicy",
            json!({"PolicyId": "p-FullAWSAccess"}),
        );
        env.harness.page(
            "organizations",
            "ListTagsForResource",
            json!({"ResourceId": env.root}),
            ("NextToken", "NextToken"),
            &token,
            20,
        );
    });
}

/// Placeholders a fuzzed Organizations request may use for the fixture's root, an OU and an
/// account.
pub const PLACEHOLDERS: [&str; 3] = ["ROOT-ID", "OU-ID", "ACCOUNT-ID"];

/// Byte 0 picks an Organizations operation (in name order), the rest is its JSON input, in
/// which [`PLACEHOLDERS`] stand for the fixture's identifiers. It is validated, declared and
/// handled (policy content of every type, moves, tags): AWS errors, never a panic.
pub fn request(data: &[u8]) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        let values = [&env.root, &env.ou, &env.account];
        env.harness.request("organizations", data, |text| {
            let mut out = text.to_string();
            for (p, v) in PLACEHOLDERS.iter().zip(values) {
                out = out.replace(p, v);
            }
            out
        });
    });
}
