use policy::{Context, Policy, PolicySet, PolicyType, Principal, Request};
use std::hint::black_box;
fn load(name: &str, kind: PolicyType) -> Policy {
    let path = format!("{}/benches/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("bench data");
    Policy::parse(&text, kind).expect("bench policy parses")
}
fn main() {
    let identity = [
        load("identity.json", PolicyType::Identity),
        load("identity-managed.json", PolicyType::Identity),
    ];
    let bucket = load("bucket.json", PolicyType::Resource);
    let vpce = load("vpce.json", PolicyType::Vpce);
    let boundary = load("boundary.json", PolicyType::Boundary);
    let scps = [
        load("scp-root.json", PolicyType::Scp),
        load("scp-ou.json", PolicyType::Scp),
        load("scp-account.json", PolicyType::Scp),
    ];
    let statements: usize = identity
        .iter()
        .chain([&bucket, &vpce, &boundary])
        .chain(scps.iter())
        .map(Policy::statement_count)
        .sum();
    assert_eq!(statements, 61);

    let principal = Principal::assumed_role(
        "arn:aws:sts::111122223333:assumed-role/DataScience/alice",
        "arn:aws:iam::111122223333:role/DataScience",
        "AROAEXAMPLEDATASCIENCE",
        "alice",
    )
    .with_tag("team", "ml");
    let mut context = Context::new();
    context.insert("aws:SourceVpce", "vpce-1");
    context.insert("aws:SourceVpc", "vpc-0a1b2c3d");
    context.insert("aws:VpcSourceIp", "10.0.3.7");
    context.insert("aws:SecureTransport", true);
    context.insert("aws:RequestedRegion", "us-east-1");
    context.insert("aws:CurrentTime", "2026-11-24T12:00:00Z");
    context.insert("aws:EpochTime", 1_795_521_600i64);
    context.insert("aws:PrincipalOrgID", "o-abc123");
    context.insert("aws:ResourceOrgID", "o-abc123");
    context.insert("s3:TlsVersion", "1.3");
    context.add_principal_keys(&principal);

    let id_refs: Vec<&Policy> = identity.iter().collect();
    let boundary_refs = [&boundary];
    let scp_levels: Vec<Vec<&Policy>> = scps.iter().map(|p| vec![p]).collect();
    let vpce_refs = [&vpce];
    let set = PolicySet {
        identity: &id_refs,
        resource: Some(&bucket),
        boundary: Some(&boundary_refs),
        session: None,
        scps: &scp_levels,
        rcps: &[],
        vpce: &vpce_refs,
        key: None,
        trust: None,
    };
    let req = Request {
        principal: &principal,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::sagemaker-data-111122223333/train/part-0001.csv",
        resource_account: Some("111122223333"),
        context: &context,
    };
    assert!(policy::evaluate(&req, &set).is_allowed());

    let n = 200_000;
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = std::time::Instant::now();
        for _ in 0..n {
            black_box(policy::evaluate(black_box(&req), black_box(&set)));
        }
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    println!("best batch mean: {best:.0} ns");
}
