//! Any bytes as a JSON 1.1 body, validated against the KMS and SSM models.
#![no_main]

use std::sync::OnceLock;

use gateway::model::Model;

fn models() -> &'static [Model] {
    static MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    MODELS.get_or_init(|| {
        [include_str!("../../services/kms/kms.json"), include_str!("../../services/ssm/ssm.json")]
            .iter()
            .filter_map(|m| Model::from_json(m).ok())
            .collect()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for m in models() {
        gateway::fuzzing::json_input(m, data);
    }
});
