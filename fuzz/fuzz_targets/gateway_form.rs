//! Any bytes as a Query or EC2 form body, decoded and validated against the IAM and EC2 models.
#![no_main]

use std::sync::OnceLock;

use gateway::model::Model;

fn models() -> &'static [Model] {
    static MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    MODELS.get_or_init(|| {
        [include_str!("../../services/iam/iam.json"), include_str!("../../services/ec2/ec2.json")]
            .iter()
            .filter_map(|m| Model::from_json(m).ok())
            .collect()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for m in models() {
        gateway::fuzzing::form_input(m, data);
    }
    gateway::fuzzing::timestamp(data);
});
