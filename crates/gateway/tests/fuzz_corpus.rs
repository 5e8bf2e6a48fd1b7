//! Replays the saved fuzz corpora of the gateway codecs through the same entry points
//! the fuzz targets use: no input may panic.

use std::path::PathBuf;

use gateway::model::Model;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        out.push(std::fs::read(&path).expect("read"));
    }
    assert!(!out.is_empty(), "empty corpus for {target}");
    out
}

fn model(path: &str) -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../services")
        .join(path);
    Model::from_json(&std::fs::read_to_string(&dir).expect("model")).expect("model parses")
}

#[test]
fn form_corpus() {
    let models = [model("iam/iam.json"), model("ec2/ec2.json")];
    for input in corpus("gateway_form") {
        for m in &models {
            gateway::fuzzing::form_input(m, &input);
        }
        gateway::fuzzing::timestamp(&input);
    }
}

#[test]
fn json_corpus() {
    let models = [model("kms/kms.json"), model("ssm/ssm.json")];
    for input in corpus("gateway_json") {
        for m in &models {
            gateway::fuzzing::json_input(m, &input);
        }
    }
}
