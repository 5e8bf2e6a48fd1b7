//! Templates are untrusted input: whatever the bytes, parsing and checking them returns an error
//! or a template, never panics. Mutations of the reference templates replay as a normal test.

use cloudformation::intrinsic::{self, Pseudo};
use cloudformation::template::{Template, resolve_parameters};

const REFERENCE: &[&str] = &[
    include_str!("../../../templates/iam-roles.yaml"),
    include_str!("../../../templates/network-vpc.yaml"),
    include_str!("../../../templates/kms-keys.yaml"),
    include_str!("../../../templates/data-buckets.yaml"),
    include_str!("../../../templates/sagemaker-domain.yaml"),
];

/// Everything CreateStack does with a body before any resource call.
fn check(body: &str) {
    let Ok(t) = Template::parse(body) else { return };
    let Ok(params) = resolve_parameters(&t, &[], None) else {
        return;
    };
    let pseudo = Pseudo {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        stack_name: "s".into(),
        stack_id: "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1".into(),
        notification_arns: Vec::new(),
    };
    let Ok(conditions) = intrinsic::conditions(&t, &params, &pseudo) else {
        return;
    };
    let _ = cloudformation::graph::plan(&t, &conditions, &cloudformation::resources::attributes);
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn reference_templates_parse_and_plan() {
    for body in REFERENCE {
        let t = Template::parse(body).expect("reference template parses");
        let params = resolve_parameters(&t, &[], None).expect("defaults satisfy the constraints");
        let c = intrinsic::conditions(&t, &params, &Pseudo::default()).expect("conditions");
        cloudformation::graph::plan(&t, &c, &cloudformation::resources::attributes)
            .expect("references resolve, no cycles");
        for r in &t.resources {
            assert!(
                cloudformation::resources::info(&r.kind).is_some(),
                "{} is a type Perimeter creates",
                r.kind
            );
        }
    }
}

#[test]
fn mutated_templates_never_panic() {
    let alphabet: &[u8] = b"!&*{}[]:,-'\"|>#%@`\n\t ${}.0aZ";
    let mut rng = Lcg(0x5eed);
    for body in REFERENCE {
        for _ in 0..150 {
            let mut bytes = body.as_bytes().to_vec();
            for _ in 0..(1 + rng.next() % 8) {
                let at = (rng.next() as usize) % bytes.len();
                match rng.next() % 3 {
                    0 => bytes[at] = alphabet[(rng.next() as usize) % alphabet.len()],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[(rng.next() as usize) % alphabet.len()]),
                }
            }
            check(&String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn pathological_inputs_fail_cleanly() {
    let deep_yaml = format!("Resources: {}{}", "[".repeat(20_000), "]".repeat(20_000));
    assert!(Template::parse(&deep_yaml).is_err());
    let deep_json = format!(
        "{{\"Resources\": {}{}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    assert!(Template::parse(&deep_json).is_err());
    // An alias bomb: 10 levels of 10 copies would be 10^10 nodes.
    let mut bomb = String::from("Metadata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*l{}", i - 1);
        bomb.push_str(&format!(
            "  l{i}: &l{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    bomb.push_str("Resources:\n  A: {Type: AWS::S3::Bucket}\n");
    let e = Template::parse(&bomb).expect_err("bomb");
    assert!(e.0.contains("expands to more than"), "{e}");
    for body in [
        "",
        "null",
        "[]",
        "Resources: 5",
        "Resources:\n  A: {Type: [1]}\n",
        "Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {X: !Sub '${'}}\n",
        "Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {X: !Select [99999999999999999999, []]}}\n",
        "Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {X: !Cidr ['10.0.0.0/8', 256, 32]}}\n",
        "Conditions:\n  C: !Equals [!Ref AWS::NoValue]\nResources:\n  A: {Type: AWS::S3::Bucket, Condition: C}\n",
        "Resources:\n  A: {Type: AWS::S3::Bucket, Properties: {X: !GetAtt [A]}}\n",
        "\u{feff}Resources:\n  A: {Type: AWS::S3::Bucket}\n",
    ] {
        check(body);
    }
}
