//! Jobs: training, processing, batch transform, hyperparameter tuning, AutoML (V1 and V2)
//! and compilation. Creating one checks its execution role (it exists and trusts
//! `sagemaker.amazonaws.com`; the caller must be allowed `iam:PassRole` on it), its KMS keys
//! (they exist) and its VPC configuration (subnets and security groups exist in one VPC).
//! A job then moves `InProgress` → `Completed` by itself; `Stop*` takes it through
//! `Stopping` → `Stopped`. No code runs: the records keep AWS's shapes for the runtime.

use gateway::{Authorization, AwsError, Call};
use serde_json::{Value, json};

use super::{
    arn_in, arn_output, at, creating, delay, document, insert_new, missing, modify, new_resource,
    pass_role, required, string, strings, target,
};
use crate::errors::{in_use, validation};
use crate::kinds::Kind;
use crate::state::{Pending, Resource};
use crate::validate::{self, NAME_PATTERN};
use crate::{SageMaker, tags, time};

/// The roles a job request passes to SageMaker.
pub(crate) fn passed_roles(op: &str, input: &Value) -> Vec<String> {
    let mut roles = Vec::new();
    match op {
        "CreateHyperParameterTuningJob" => {
            roles.extend(string(input, &["TrainingJobDefinition", "RoleArn"]));
            if let Some(Value::Array(defs)) = at(input, &["TrainingJobDefinitions"]) {
                roles.extend(defs.iter().filter_map(|d| string(d, &["RoleArn"])));
            }
        }
        "CreateTransformJob" => {}
        _ => roles.extend(string(input, &["RoleArn"])),
    }
    roles.sort();
    roles.dedup();
    roles
}

/// The KMS keys a job request names.
fn kms_keys(op: &str, input: &Value) -> Vec<String> {
    let paths: &[&[&str]] = match op {
        "CreateTrainingJob" => &[
            &["ResourceConfig", "VolumeKmsKeyId"],
            &["OutputDataConfig", "KmsKeyId"],
        ],
        "CreateProcessingJob" => &[
            &["ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"],
            &["ProcessingOutputConfig", "KmsKeyId"],
        ],
        "CreateTransformJob" => &[
            &["TransformResources", "VolumeKmsKeyId"],
            &["TransformOutput", "KmsKeyId"],
            &["DataCaptureConfig", "KmsKeyId"],
        ],
        "CreateAutoMLJob" => &[
            &["AutoMLJobConfig", "SecurityConfig", "VolumeKmsKeyId"],
            &["OutputDataConfig", "KmsKeyId"],
        ],
        "CreateAutoMLJobV2" => &[
            &["SecurityConfig", "VolumeKmsKeyId"],
            &["OutputDataConfig", "KmsKeyId"],
        ],
        "CreateCompilationJob" => &[&["OutputConfig", "KmsKeyId"]],
        _ => &[],
    };
    let mut keys: Vec<String> = paths.iter().filter_map(|p| string(input, p)).collect();
    if op == "CreateHyperParameterTuningJob" {
        let mut defs: Vec<&Value> = at(input, &["TrainingJobDefinition"]).into_iter().collect();
        if let Some(Value::Array(d)) = at(input, &["TrainingJobDefinitions"]) {
            defs.extend(d.iter());
        }
        for d in defs {
            keys.extend(string(d, &["ResourceConfig", "VolumeKmsKeyId"]));
            keys.extend(string(d, &["OutputDataConfig", "KmsKeyId"]));
        }
    }
    keys
}

/// The VPC configurations a job request names.
fn vpc_configs(op: &str, input: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let paths: &[&[&str]] = match op {
        "CreateTrainingJob" | "CreateCompilationJob" => &[&["VpcConfig"]],
        "CreateProcessingJob" => &[&["NetworkConfig", "VpcConfig"]],
        "CreateAutoMLJob" => &[&["AutoMLJobConfig", "SecurityConfig", "VpcConfig"]],
        "CreateAutoMLJobV2" => &[&["SecurityConfig", "VpcConfig"]],
        "CreateHyperParameterTuningJob" => &[&["TrainingJobDefinition", "VpcConfig"]],
        _ => &[],
    };
    out.extend(paths.iter().filter_map(|p| at(input, p).cloned()));
    if op == "CreateHyperParameterTuningJob"
        && let Some(Value::Array(d)) = at(input, &["TrainingJobDefinitions"])
    {
        out.extend(d.iter().filter_map(|x| at(x, &["VpcConfig"]).cloned()));
    }
    out
}

fn kind_of(op: &str) -> Kind {
    super::target_kind(op).unwrap_or(Kind::TrainingJob)
}

pub(super) fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let kind = kind_of(op);
    let (_, path) = target(kind, input)?;
    let job_arn = arn_in(svc, call, kind, &path);
    let mut auth = creating(svc, call, op, job_arn.clone(), input)?;
    for role in passed_roles(op, input) {
        auth = auth.and(pass_role(call, &role, &job_arn));
    }
    Ok(auth)
}

/// Everything a job creation checks before it stores anything.
fn check_job(svc: &SageMaker, call: &Call, op: &str, input: &Value) -> Result<(), AwsError> {
    let kind = kind_of(op);
    let name = required(input, kind.spec().name)?;
    validate::name(name, &super::lower_first(kind.spec().name), NAME_PATTERN)?;
    for role in passed_roles(op, input) {
        validate::role(svc, call, &role)?;
    }
    for key in kms_keys(op, input) {
        validate::kms_key(svc, call, &key)?;
    }
    for v in vpc_configs(op, input) {
        validate::network(
            svc,
            call.account(),
            &strings(&v, &["Subnets"]),
            &strings(&v, &["SecurityGroupIds"]),
            None,
        )?;
    }
    Ok(())
}

/// The `ResourceInUse` of a job name taken.
fn name_taken(kind: Kind) -> impl FnOnce(&Resource) -> Option<AwsError> + Send {
    move |old| {
        let noun = kind.spec().noun;
        Some(in_use(format!(
            "{noun} names must be unique within an AWS account and region, and a {} with this name already exists ({})",
            noun.to_lowercase(),
            old.arn
        )))
    }
}

/// Creates job `kind` from `input` with `extra` members and its completion `done`.
async fn create(
    svc: &SageMaker,
    call: &Call,
    op: &str,
    input: Value,
    extra: Value,
    done: Value,
) -> Result<Value, AwsError> {
    let kind = kind_of(op);
    check_job(svc, call, op, &input)?;
    let (id, path) = target(kind, &input)?;
    let job_arn = arn_in(svc, call, kind, &path);
    let now = time::of_call(call);
    let mut base = json!({
        kind.spec().arn: job_arn,
        "CreationTime": now,
        "LastModifiedTime": now,
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    let doc = document(&input, base);
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let mut r = new_resource(call, kind, id, job_arn.clone(), doc, tags);
    let mut done = done;
    if let Value::Object(m) = &mut done {
        m.insert("LastModifiedTime".into(), json!(now + delay::JOB));
    }
    r.pending = Some(Pending::at(now + delay::JOB, done));
    insert_new(svc, call, r, name_taken(kind)).await?;
    Ok(arn_output(kind.spec().arn, &job_arn))
}

fn transition(status: &str, start: f64, end: Option<f64>, message: &str) -> Value {
    let mut t = json!({"Status": status, "StartTime": start, "StatusMessage": message});
    if let Some(e) = end {
        t["EndTime"] = json!(e);
    }
    t
}

pub(super) async fn create_training_job(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let now = time::of_call(call);
    let end = now + delay::JOB;
    let name = required(&input, "TrainingJobName")?.to_string();
    let output = string(&input, &["OutputDataConfig", "S3OutputPath"]).unwrap_or_default();
    let artifacts = format!(
        "{}/{name}/output/model.tar.gz",
        output.trim_end_matches('/')
    );
    let step = (end - now) / 4.0;
    let extra = json!({
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "EnableNetworkIsolation": input.get("EnableNetworkIsolation").and_then(Value::as_bool).unwrap_or(false),
        "EnableInterContainerTrafficEncryption":
            input.get("EnableInterContainerTrafficEncryption").and_then(Value::as_bool).unwrap_or(false),
        "EnableManagedSpotTraining": input.get("EnableManagedSpotTraining").and_then(Value::as_bool).unwrap_or(false),
        "SecondaryStatusTransitions": [transition("Starting", now, None, "Preparing the instances for training")],
    });
    let done = json!({
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "TrainingStartTime": now + step,
        "TrainingEndTime": end,
        "TrainingTimeInSeconds": ((end - now - step).ceil()) as i64,
        "BillableTimeInSeconds": ((end - now - step).ceil()) as i64,
        "ModelArtifacts": {"S3ModelArtifacts": artifacts},
        "FinalMetricDataList": [],
        "SecondaryStatusTransitions": [
            transition("Starting", now, Some(now + step), "Preparing the instances for training"),
            transition("Downloading", now + step, Some(now + 2.0 * step), "Downloading input data"),
            transition("Training", now + 2.0 * step, Some(now + 3.0 * step), "Training image download completed. Training in progress."),
            transition("Uploading", now + 3.0 * step, Some(end), "Uploading generated training model"),
            transition("Completed", end, Some(end), "Training job completed"),
        ],
    });
    create(svc, call, "CreateTrainingJob", input, extra, done).await
}

pub(super) async fn create_processing_job(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let now = time::of_call(call);
    let extra = json!({"ProcessingJobStatus": "InProgress"});
    let done = json!({
        "ProcessingJobStatus": "Completed",
        "ProcessingStartTime": now + delay::JOB / 3.0,
        "ProcessingEndTime": now + delay::JOB,
    });
    create(svc, call, "CreateProcessingJob", input, extra, done).await
}

pub(super) async fn create_transform_job(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let model = required(&input, "ModelName")?.to_string();
    let exists = svc.read(|st| {
        Ok(st
            .get(call.account(), Kind::Model, &Kind::Model.id_of(&model))
            .is_some())
    })?;
    if !exists {
        return Err(missing(
            Kind::Model,
            &model,
            &arn_in(svc, call, Kind::Model, &model),
        ));
    }
    let now = time::of_call(call);
    let extra = json!({"TransformJobStatus": "InProgress"});
    let done = json!({
        "TransformJobStatus": "Completed",
        "TransformStartTime": now + delay::JOB / 3.0,
        "TransformEndTime": now + delay::JOB,
    });
    create(svc, call, "CreateTransformJob", input, extra, done).await
}

pub(super) async fn create_tuning_job(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    if at(&input, &["TrainingJobDefinition"]).is_none()
        && at(&input, &["TrainingJobDefinitions"]).is_none()
    {
        return Err(validation(
            "Either TrainingJobDefinition or TrainingJobDefinitions must be specified.",
        ));
    }
    let counters = json!({"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0});
    let extra = json!({
        "HyperParameterTuningJobStatus": "InProgress",
        "TrainingJobStatusCounters": counters,
        "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
    });
    let now = time::of_call(call);
    let done = json!({
        "HyperParameterTuningJobStatus": "Completed",
        "HyperParameterTuningEndTime": now + delay::JOB,
    });
    create(
        svc,
        call,
        "CreateHyperParameterTuningJob",
        input,
        extra,
        done,
    )
    .await
}

pub(super) async fn create_automl_job(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: Value,
) -> Result<Value, AwsError> {
    let now = time::of_call(call);
    let extra = json!({
        "AutoMLJobStatus": "InProgress",
        "AutoMLJobSecondaryStatus": "Starting",
    });
    let done = json!({
        "AutoMLJobStatus": "Completed",
        "AutoMLJobSecondaryStatus": "Completed",
        "EndTime": now + delay::JOB,
    });
    create(svc, call, op, input, extra, done).await
}

pub(super) async fn create_compilation_job(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let now = time::of_call(call);
    let name = required(&input, "CompilationJobName")?.to_string();
    let out = string(&input, &["OutputConfig", "S3OutputLocation"]).unwrap_or_default();
    let extra = json!({"CompilationJobStatus": "INPROGRESS"});
    let done = json!({
        "CompilationJobStatus": "COMPLETED",
        "CompilationStartTime": now + delay::JOB / 3.0,
        "CompilationEndTime": now + delay::JOB,
        "ModelArtifacts": {"S3ModelArtifacts": format!("{}/{name}.tar.gz", out.trim_end_matches('/'))},
    });
    create(svc, call, "CreateCompilationJob", input, extra, done).await
}

/// How a kind's job stops: its status member, the statuses it can stop from, and the
/// `Stopping`/`Stopped` values (with the secondary status member, if any).
fn stopping(
    kind: Kind,
) -> (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    Option<&'static str>,
) {
    match kind {
        Kind::CompilationJob => (
            "CompilationJobStatus",
            &["INPROGRESS", "STARTING"],
            "STOPPING",
            "STOPPED",
            None,
        ),
        Kind::TrainingJob => (
            "TrainingJobStatus",
            &["InProgress"],
            "Stopping",
            "Stopped",
            Some("SecondaryStatus"),
        ),
        Kind::AutoMlJob => (
            "AutoMLJobStatus",
            &["InProgress"],
            "Stopping",
            "Stopped",
            Some("AutoMLJobSecondaryStatus"),
        ),
        other => (
            other.spec().status.unwrap_or("Status"),
            &["InProgress"],
            "Stopping",
            "Stopped",
            None,
        ),
    }
}

pub(super) async fn stop(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: Value,
) -> Result<Value, AwsError> {
    let kind = kind_of(op);
    let (id, path) = target(kind, &input)?;
    let job_arn = arn_in(svc, call, kind, &path);
    let name = required(&input, kind.spec().name)?.to_string();
    let (member, from, stopping_value, stopped_value, secondary) = stopping(kind);
    let end_member = match kind {
        Kind::TrainingJob => Some("TrainingEndTime"),
        Kind::ProcessingJob => Some("ProcessingEndTime"),
        Kind::TransformJob => Some("TransformEndTime"),
        Kind::HyperParameterTuningJob => Some("HyperParameterTuningEndTime"),
        Kind::AutoMlJob => Some("EndTime"),
        Kind::CompilationJob => Some("CompilationEndTime"),
        _ => None,
    };
    let noun = kind.spec().noun.to_lowercase();
    modify(
        svc,
        call,
        kind,
        &id,
        missing(kind, &name, &job_arn),
        move |r, now| {
            let status = r
                .doc
                .get(member)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !from.contains(&status.as_str()) {
                return Err(validation(format!(
                    "The request was rejected because the {noun} is in status {status}."
                )));
            }
            r.doc[member] = json!(stopping_value);
            r.doc["LastModifiedTime"] = json!(now);
            if let Some(s) = secondary {
                r.doc[s] = json!("Stopping");
            }
            let mut done = json!({ member: stopped_value, "LastModifiedTime": now + delay::STOP });
            if let Some(s) = secondary {
                done[s] = json!("Stopped");
            }
            if let Some(e) = end_member {
                done[e] = json!(now + delay::STOP);
            }
            r.pending = Some(Pending::at(now + delay::STOP, done));
            Ok(())
        },
    )
    .await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_keys_and_networks_of_job_requests() {
        let hpt = json!({
            "TrainingJobDefinition": {"RoleArn": "arn:a", "ResourceConfig": {"VolumeKmsKeyId": "k1"},
                                      "VpcConfig": {"Subnets": ["s"], "SecurityGroupIds": ["g"]}},
            "TrainingJobDefinitions": [{"RoleArn": "arn:b", "OutputDataConfig": {"KmsKeyId": "k2"}}, {"RoleArn": "arn:a"}]
        });
        assert_eq!(
            passed_roles("CreateHyperParameterTuningJob", &hpt),
            vec!["arn:a", "arn:b"]
        );
        assert_eq!(
            kms_keys("CreateHyperParameterTuningJob", &hpt),
            vec!["k1", "k2"]
        );
        assert_eq!(vpc_configs("CreateHyperParameterTuningJob", &hpt).len(), 1);
        assert!(passed_roles("CreateTransformJob", &json!({"RoleArn": "x"})).is_empty());
        assert_eq!(
            passed_roles("CreateTrainingJob", &json!({"RoleArn": "x"})),
            vec!["x"]
        );
        let p = json!({"ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": "v"}},
                       "ProcessingOutputConfig": {"KmsKeyId": "o"},
                       "NetworkConfig": {"VpcConfig": {"Subnets": ["s"]}}});
        assert_eq!(kms_keys("CreateProcessingJob", &p), vec!["v", "o"]);
        assert_eq!(vpc_configs("CreateProcessingJob", &p).len(), 1);
    }
}
