//! One S3 GetObject decision through a VPC endpoint against the reference environment's
//! identity, bucket, endpoint, boundary and SCP policies (61 statements), and validation of every
//! seed policy.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use policy::{Context, Policy, PolicySet, PolicyType, Principal, Request};

fn load(name: &str, kind: PolicyType) -> Policy {
    let path = format!("{}/benches/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("bench data");
    Policy::parse(&text, kind).expect("bench policy parses")
}

fn evaluation<M: Measurement + 'static>(c: &mut Criterion<M>, name: &str) {
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

    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("evaluate/s3_getobject_via_vpce_61_statements", |b| {
        b.iter(|| policy::evaluate(black_box(&req), black_box(&set)))
    });
    g.bench_function("explain/s3_getobject_via_vpce_61_statements", |b| {
        b.iter(|| policy::explain(black_box(&req), black_box(&set)))
    });
    let denied = Request {
        action: "s3:DeleteObject",
        ..req
    };
    assert_eq!(
        policy::evaluate(&denied, &set).blocked_by(),
        [PolicyType::Resource]
    );
    g.bench_function("evaluate/s3_deleteobject_denied_61_statements", |b| {
        b.iter(|| policy::evaluate(black_box(&denied), black_box(&set)))
    });
    g.finish();
}

fn wall_time(c: &mut Criterion) {
    evaluation(c, "wall");
}

fn cpu_time(c: &mut Criterion<ThreadCpu>) {
    evaluation(c, "cpu");
}

/// CPU time of the benchmarking thread, from `/proc/thread-self/schedstat` (nanoseconds; the
/// kernel updates it every scheduler tick, so samples are long). On a shared machine this measures
/// the work, not the waits for a core.
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (d, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e3, "µs cpu")
        } else {
            (1e6, "ms cpu")
        };
        for v in values {
            *v /= d;
        }
        unit
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        for v in values {
            *v = 0.0;
        }
        "n/a"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
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

criterion_group!(benches, wall_time, validation);
criterion_group! {
    name = cpu;
    config = Criterion::default()
        .with_measurement(ThreadCpu)
        .sample_size(20)
        .measurement_time(Duration::from_secs(20));
    targets = cpu_time
}
criterion_main!(benches, cpu);
