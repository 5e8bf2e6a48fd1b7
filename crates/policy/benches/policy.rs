//! One S3 GetObject decision through a VPC endpoint against the reference environment's
//! identity, bucket, endpoint, boundary and SCP policies (61 statements), and validation of every
//! seed policy.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use policy::{Context, Policy, PolicySet, PolicyType, Principal, Request};

fn load(name: &str, kind: PolicyType) -> Policy {
    let path = format!("{}/benches/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("bench data");
    Policy::parse(&text, kind).expect("bench policy parses")
}

fn evaluation(c: &mut Criterion) {
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

    c.bench_function("evaluate/s3_getobject_via_vpce_61_statements", |b| {
        b.iter(|| policy::evaluate(black_box(&req), black_box(&set)))
    });
    c.bench_function("explain/s3_getobject_via_vpce_61_statements", |b| {
        b.iter(|| policy::explain(black_box(&req), black_box(&set)))
    });
    let denied = Request {
        action: "s3:DeleteObject",
        ..req
    };
    c.bench_function("evaluate/s3_deleteobject_denied_61_statements", |b| {
        b.iter(|| policy::evaluate(black_box(&denied), black_box(&set)))
    });
}

/// The type each seed policy is meant as (as listed in the conformance suite).
fn seed_kind(name: &str) -> PolicyType {
    match name {
        "000-01.json" | "000-02.json" | "000-03.json" => PolicyType::Key,
        "002-01.json" => PolicyType::Trust,
        "002-04.json" | "004-25.json" => PolicyType::Scp,
        "000-05.json" | "000-06.json" | "002-07.json" | "002-08.json" | "002-09.json"
        | "004-05.json" | "004-07.json" => PolicyType::Vpce,
        "000-04.json" | "001-02.json" | "004-02.json" | "004-03.json" | "004-06.json"
        | "004-08.json" | "004-09.json" | "004-12.json" | "004-13.json" | "004-14.json" => {
            PolicyType::Resource
        }
        _ => PolicyType::Identity,
    }
}

fn validation(c: &mut Criterion) {
    let dir = format!("{}/tests/conformance/seeds", env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("seeds")
        .filter_map(|e| e.ok())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).expect("seed"),
            )
        })
        .collect();
    seeds.sort();
    let mut group = c.benchmark_group("validate");
    for (name, text) in &seeds {
        let kind = seed_kind(name);
        group.bench_function(format!("seed/{name}"), |b| {
            b.iter(|| policy::validate(black_box(text), kind))
        });
    }
    group.finish();
    let bucket = std::fs::read_to_string(format!(
        "{}/benches/data/bucket.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("data");
    c.bench_function("parse/bucket_policy_10_statements", |b| {
        b.iter(|| Policy::parse(black_box(&bucket), PolicyType::Resource))
    });
}

criterion_group!(benches, evaluation, validation);
criterion_main!(benches);
