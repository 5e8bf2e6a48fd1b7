//! The entry points shared by the fuzz targets `ec2_filters` and `next_tokens` (under `fuzz/`)
//! and the tests that replay their saved corpora. Input never panics; only a broken invariant does.

use crate::cidr::{Cidr4, Cidr6};
use crate::filter::wildcard;

/// Line 1 is a filter value (with `*`, `?`, `\`), line 2 a text, line 3 a CIDR block: wildcard
/// matching never panics and a pattern without special characters matches only itself; a CIDR
/// that parses prints back to a form that parses to the same block and contains its network.
pub fn filters(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let pattern = lines.next().unwrap_or("");
    let subject = lines.next().unwrap_or("");
    let cidr = lines.next().unwrap_or("");
    let hit = wildcard(pattern, subject);
    if !pattern.contains(['*', '?', '\\']) {
        assert_eq!(
            hit,
            pattern == subject,
            "plain pattern {pattern:?} vs {subject:?}"
        );
    }
    assert!(wildcard("*", subject));
    for lenient in [false, true] {
        if let Some(c) = Cidr4::parse(cidr, lenient) {
            let again = Cidr4::parse(&c.to_string(), false);
            assert_eq!(again, Some(c), "{cidr:?} does not round-trip");
            assert!(c.contains_ip(c.addr) && c.contains_ip(c.last()) && c.contains(&c));
        }
    }
    if let Some(c) = Cidr6::parse(cidr) {
        assert!(c.contains_ip(c.addr));
    }
}

/// EC2 over `store` with the CloudWatch Logs it delivers flow logs to, and the service
/// definitions of both: for other crates' fuzzing environments that need EC2 (VPCs, subnets,
/// endpoints) without depending on Logs themselves.
pub fn open(
    store: &storage::Store,
    config: &gateway::Config,
) -> Result<(std::sync::Arc<crate::Ec2>, Vec<gateway::ServiceDef>), storage::Error> {
    let logs = logs::Logs::open(store, config)?;
    let ec2 = crate::Ec2::open(store, config, logs.clone())?;
    let defs = vec![ec2.service_def(), logs.service_def()];
    Ok((ec2, defs))
}

/// Inputs served by one environment of [`next_token`] before it is rebuilt.
const REBUILD: usize = 512;

struct Env {
    harness: gateway::fuzzing::Harness,
    /// A VPC, one of its subnets and one of its security groups.
    ids: [String; 3],
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let defs = match open(&store, &config) {
            Ok((_, defs)) => defs,
            Err(e) => panic!("ec2: {e}"),
        };
        let harness = gateway::fuzzing::Harness::new(config, store, defs);
        let ok = |op: &str, input: serde_json::Value| match harness.run("ec2", op, input) {
            Some(Ok(v)) => v,
            other => panic!("fixture {op}: {other:?}"),
        };
        let mut vpc = String::new();
        for i in 0..3 {
            let v = ok(
                "CreateVpc",
                serde_json::json!({"CidrBlock": format!("10.{i}.0.0/16")}),
            );
            vpc = v["Vpc"]["VpcId"].as_str().unwrap_or_default().to_string();
        }
        let (mut subnet, mut sg) = (String::new(), String::new());
        for i in 0..7 {
            let s = ok(
                "CreateSubnet",
                serde_json::json!({"VpcId": vpc, "CidrBlock": format!("10.2.{i}.0/24")}),
            );
            subnet = s["Subnet"]["SubnetId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let g = ok(
                "CreateSecurityGroup",
                serde_json::json!({"VpcId": vpc, "GroupName": format!("sg{i}"),
                                   "Description": "fuzzing"}),
            );
            sg = g["GroupId"].as_str().unwrap_or_default().to_string();
        }
        Env {
            harness,
            ids: [vpc, subnet, sg],
        }
    }
}

thread_local! {
    static ENV: std::cell::RefCell<Option<(Env, usize)>> =
        const { std::cell::RefCell::new(None) };
}

/// Byte 0 is a page size (at least EC2's minimum of 5), the rest a `NextToken` given to the
/// `Describe*` operations over three VPCs, seven subnets and their security groups: AWS errors,
/// never a panic. An empty token starts from the first page and follows the tokens returned,
/// which must be accepted.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    let max = limit.max(5);
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        for op in [
            "DescribeVpcs",
            "DescribeSubnets",
            "DescribeSecurityGroups",
            "DescribeSecurityGroupRules",
            "DescribeRouteTables",
            "DescribeNetworkAcls",
            "DescribeInternetGateways",
            "DescribeNetworkInterfaces",
            "DescribeVpcEndpoints",
            "DescribeFlowLogs",
            "DescribeTags",
        ] {
            env.harness.page(
                "ec2",
                op,
                serde_json::json!({"MaxResults": max}),
                ("NextToken", "NextToken"),
                &token,
                20,
            );
        }
    });
}

/// Placeholders a fuzzed EC2 request may use for the fixture's VPC, subnet and security group.
pub const PLACEHOLDERS: [&str; 3] = ["VPC-ID", "SUBNET-ID", "SG-ID"];

/// Byte 0 picks an EC2 operation (in name order), the rest is its input as JSON (the form the
/// EC2 protocol decodes to), in which [`PLACEHOLDERS`] stand for the fixture's identifiers. It
/// is validated against the model as the gateway does, then declared and handled (rules,
/// ports, protocols, CIDR blocks, endpoints, flow logs): AWS errors, never a panic.
pub fn request(data: &[u8]) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        env.harness.request("ec2", data, |text| {
            let mut out = text.to_string();
            for (p, v) in PLACEHOLDERS.iter().zip(&env.ids) {
                out = out.replace(p, v);
            }
            out
        });
    });
}
