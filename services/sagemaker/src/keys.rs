//! The SageMaker condition keys of each operation, computed from its request.
//!
//! The Service Authorization Reference ("Actions, resources, and condition keys for Amazon
//! SageMaker") lists, per action, which `sagemaker:*` keys a request supplies. This module
//! computes exactly those from the request, member by member, and leaves a key out when the
//! request has no value for it: a training job without `VpcConfig` has no
//! `sagemaker:VpcSubnets`, so `"Null": {"sagemaker:VpcSubnets": "true"}` matches it.
//!
//! Two rules go beyond "copy the member":
//! - the deprecated key names (`sagemaker:VolumeKmsKey`, `sagemaker:OutputKmsKey`,
//!   `sagemaker:HomeEfsFileSystemKmsKey`, `sagemaker:DomainSharingOutputKmsKey`) still carry
//!   their value beside their `...Arn` successors, so policies written with either work;
//! - settings with a service default are supplied with that default when the request leaves
//!   them out, because that is what the resource gets: `sagemaker:NetworkIsolation` and
//!   `sagemaker:InterContainerTrafficEncryption` are `false`, and a notebook instance's
//!   `sagemaker:RootAccess` and `sagemaker:DirectInternetAccess` are `Enabled`. A guardrail
//!   such as `"Bool": {"sagemaker:NetworkIsolation": "false"}` therefore denies a job that
//!   does not ask for isolation, as the seed's policies expect.
//!
//! Tag keys (`aws:RequestTag/*`, `aws:TagKeys`, `sagemaker:RequestTag/*`,
//! `sagemaker:TagKeys`) and resource tags are added by the operations, not here.

use serde_json::Value;

/// The condition keys of one request, in the order they were computed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Keys(pub Vec<(String, policy::Value)>);

impl Keys {
    fn single(&mut self, key: &str, value: Option<String>) {
        if let Some(v) = value {
            self.0
                .push((format!("sagemaker:{key}"), policy::Value::Single(v)));
        }
    }

    fn multi(&mut self, key: &str, mut values: Vec<String>) {
        values.dedup();
        if !values.is_empty() {
            self.0
                .push((format!("sagemaker:{key}"), policy::Value::Multi(values)));
        }
    }

    fn boolean(&mut self, key: &str, value: bool) {
        self.single(key, Some(value.to_string()));
    }

    fn number(&mut self, key: &str, value: Option<i64>) {
        self.single(key, value.map(|n| n.to_string()));
    }

    /// A KMS key under its current name and its deprecated one.
    fn kms(&mut self, deprecated: &str, current: &str, value: Option<String>) {
        self.single(deprecated, value.clone());
        self.single(current, value);
    }

    /// The value of `key`, for tests and callers that inspect the set.
    pub fn get(&self, key: &str) -> Option<&policy::Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// What key computation needs to know beyond the request.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub region: String,
    pub account: String,
    /// For operations on a space or a space's app: the space's owner (user profile ARN, for
    /// a private space) and sharing type (`Private` or `Shared`).
    pub space: Option<(Option<String>, String)>,
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(Value::as_str).map(str::to_string)
}

fn texts(v: &Value, path: &[&str]) -> Vec<String> {
    match at(v, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn boolean(v: &Value, path: &[&str]) -> Option<bool> {
    at(v, path).and_then(Value::as_bool)
}

fn number(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(Value::as_i64)
}

/// Every string value of member `name` anywhere under `v` (and every item of a list member
/// `name`), in document order.
fn collect(v: &Value, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk(v, name, &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk(v: &Value, name: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == name {
                    match child {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(items) => {
                            out.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
                        }
                        _ => {}
                    }
                } else {
                    walk(child, name, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, name, out);
            }
        }
        _ => {}
    }
}

fn items<'a>(v: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    match at(v, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// Studio settings (domain, user profile and space settings): instance types, images and
/// lifecycle configurations named anywhere in them.
fn studio_settings(k: &mut Keys, settings: &[Option<&Value>]) {
    let mut instance_types = Vec::new();
    let mut images = Vec::new();
    let mut versions = Vec::new();
    let mut lifecycle = Vec::new();
    for s in settings.iter().flatten() {
        instance_types.extend(collect(s, "InstanceType"));
        images.extend(collect(s, "SageMakerImageArn"));
        versions.extend(collect(s, "SageMakerImageVersionArn"));
        lifecycle.extend(collect(s, "LifecycleConfigArn"));
        lifecycle.extend(collect(s, "LifecycleConfigArns"));
    }
    for list in [
        &mut instance_types,
        &mut images,
        &mut versions,
        &mut lifecycle,
    ] {
        list.sort();
        list.dedup();
    }
    k.multi("InstanceTypes", instance_types);
    k.multi("ImageArns", images);
    k.multi("ImageVersionArns", versions);
    k.multi("StudioLifecycleConfigArns", lifecycle);
}

/// `VpcConfig` of a job or model.
fn vpc(k: &mut Keys, config: Option<&Value>) {
    if let Some(c) = config {
        k.multi("VpcSubnets", texts(c, &["Subnets"]));
        k.multi("VpcSecurityGroupIds", texts(c, &["SecurityGroupIds"]));
    }
}

/// The `FileSystemDataSource` of input channels.
fn file_systems(k: &mut Keys, channels: &[&Value]) {
    let mut ids = Vec::new();
    let mut types = Vec::new();
    let mut paths = Vec::new();
    let mut modes = Vec::new();
    for c in channels {
        if let Some(fs) = at(c, &["DataSource", "FileSystemDataSource"]) {
            ids.extend(text(fs, &["FileSystemId"]));
            types.extend(text(fs, &["FileSystemType"]));
            paths.extend(text(fs, &["DirectoryPath"]));
            modes.extend(text(fs, &["FileSystemAccessMode"]));
        }
    }
    let one = |mut v: Vec<String>| -> Option<String> {
        v.sort();
        v.dedup();
        (v.len() == 1).then(|| v.remove(0))
    };
    // Single-valued keys: supplied when every channel agrees (AWS documents one value).
    k.single("FileSystemId", one(ids));
    k.single("FileSystemType", one(types));
    k.single("FileSystemDirectoryPath", one(paths));
    k.single("FileSystemAccessMode", one(modes));
}

/// A training job definition (CreateTrainingJob, and each definition of a tuning job).
struct Training {
    instance_types: Vec<String>,
    subnets: Vec<String>,
    groups: Vec<String>,
    volume_keys: Vec<String>,
    output_keys: Vec<String>,
    isolation: bool,
    encryption: bool,
    max_runtime: Vec<i64>,
    channels: Vec<Value>,
}

fn training(def: &Value) -> Training {
    let mut instance_types: Vec<String> = text(def, &["ResourceConfig", "InstanceType"])
        .into_iter()
        .collect();
    for g in items(def, &["ResourceConfig", "InstanceGroups"]) {
        instance_types.extend(text(g, &["InstanceType"]));
    }
    for c in items(
        def,
        &["HyperParameterTuningResourceConfig", "InstanceConfigs"],
    ) {
        instance_types.extend(text(c, &["InstanceType"]));
    }
    instance_types.extend(text(
        def,
        &["HyperParameterTuningResourceConfig", "InstanceType"],
    ));
    Training {
        instance_types,
        subnets: texts(def, &["VpcConfig", "Subnets"]),
        groups: texts(def, &["VpcConfig", "SecurityGroupIds"]),
        volume_keys: text(def, &["ResourceConfig", "VolumeKmsKeyId"])
            .into_iter()
            .chain(text(
                def,
                &["HyperParameterTuningResourceConfig", "VolumeKmsKeyId"],
            ))
            .collect(),
        output_keys: text(def, &["OutputDataConfig", "KmsKeyId"])
            .into_iter()
            .collect(),
        isolation: boolean(def, &["EnableNetworkIsolation"]).unwrap_or(false),
        encryption: boolean(def, &["EnableInterContainerTrafficEncryption"]).unwrap_or(false),
        max_runtime: number(def, &["StoppingCondition", "MaxRuntimeInSeconds"])
            .into_iter()
            .collect(),
        channels: items(def, &["InputDataConfig"])
            .into_iter()
            .cloned()
            .collect(),
    }
}

/// Several definitions as one request's keys: lists are unions; a single-valued key is
/// supplied when every definition agrees.
fn training_keys(k: &mut Keys, defs: &[Training]) {
    let mut instance_types = Vec::new();
    let mut subnets = Vec::new();
    let mut groups = Vec::new();
    for d in defs {
        instance_types.extend(d.instance_types.iter().cloned());
        subnets.extend(d.subnets.iter().cloned());
        groups.extend(d.groups.iter().cloned());
    }
    k.multi("InstanceTypes", sorted(instance_types));
    k.multi("VpcSubnets", sorted(subnets));
    k.multi("VpcSecurityGroupIds", sorted(groups));
    let agree = |vals: Vec<String>| -> Option<String> {
        let n = defs.len();
        let mut v = vals;
        if v.len() != n {
            return None;
        }
        v.sort();
        v.dedup();
        (v.len() == 1).then(|| v.remove(0))
    };
    k.kms(
        "VolumeKmsKey",
        "VolumeKmsKeyArn",
        agree(defs.iter().flat_map(|d| d.volume_keys.clone()).collect()),
    );
    k.kms(
        "OutputKmsKey",
        "OutputKmsKeyArn",
        agree(defs.iter().flat_map(|d| d.output_keys.clone()).collect()),
    );
    // A request is isolated (encrypted) only if every definition is.
    k.boolean("NetworkIsolation", defs.iter().all(|d| d.isolation));
    k.boolean(
        "InterContainerTrafficEncryption",
        defs.iter().all(|d| d.encryption),
    );
    k.number(
        "MaxRuntimeInSeconds",
        defs.iter().flat_map(|d| d.max_runtime.clone()).max(),
    );
    let channels: Vec<&Value> = defs.iter().flat_map(|d| d.channels.iter()).collect();
    file_systems(k, &channels);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn model_arn(facts: &Facts, name: &str) -> String {
    crate::kinds::arn(
        &facts.region,
        &facts.account,
        crate::kinds::Kind::Model,
        name,
    )
}

fn space_facts(k: &mut Keys, facts: &Facts) {
    if let Some((owner, sharing)) = &facts.space {
        k.single("OwnerUserProfileArn", owner.clone());
        k.single("SpaceSharingType", Some(sharing.clone()));
    }
}

/// The `sagemaker:*` condition keys operation `op` supplies for request `input`.
pub fn for_operation(op: &str, input: &Value, facts: &Facts) -> Keys {
    let mut k = Keys::default();
    match op {
        "CreateDomain" | "UpdateDomain" => {
            k.single(
                "AppNetworkAccessType",
                text(input, &["AppNetworkAccessType"]),
            );
            k.multi("VpcSubnets", texts(input, &["SubnetIds"]));
            let mut groups = texts(input, &["DefaultUserSettings", "SecurityGroups"]);
            groups.extend(texts(input, &["DomainSettings", "SecurityGroupIds"]));
            groups.extend(texts(
                input,
                &["DomainSettingsForUpdate", "SecurityGroupIds"],
            ));
            groups.extend(texts(input, &["DefaultSpaceSettings", "SecurityGroups"]));
            k.multi("VpcSecurityGroupIds", sorted(groups));
            if op == "CreateDomain" {
                let home = text(input, &["KmsKeyId"])
                    .or_else(|| text(input, &["HomeEfsFileSystemKmsKeyId"]));
                k.single("HomeEfsFileSystemKmsKey", home.clone());
                k.single("VolumeKmsKeyArn", home);
            }
            k.kms(
                "DomainSharingOutputKmsKey",
                "DomainSharingOutputKmsKeyArn",
                text(
                    input,
                    &["DefaultUserSettings", "SharingSettings", "S3KmsKeyId"],
                ),
            );
            studio_settings(
                &mut k,
                &[
                    at(input, &["DefaultUserSettings"]),
                    at(input, &["DefaultSpaceSettings"]),
                ],
            );
        }
        "CreateUserProfile" | "UpdateUserProfile" => {
            k.multi(
                "VpcSecurityGroupIds",
                texts(input, &["UserSettings", "SecurityGroups"]),
            );
            k.kms(
                "DomainSharingOutputKmsKey",
                "DomainSharingOutputKmsKeyArn",
                text(input, &["UserSettings", "SharingSettings", "S3KmsKeyId"]),
            );
            studio_settings(&mut k, &[at(input, &["UserSettings"])]);
        }
        "CreateSpace" | "UpdateSpace" => {
            studio_settings(&mut k, &[at(input, &["SpaceSettings"])]);
            k.single(
                "RemoteAccess",
                text(input, &["SpaceSettings", "RemoteAccess"]),
            );
            if op == "CreateSpace" {
                let owner = text(input, &["OwnershipSettings", "OwnerUserProfileName"]).map(|p| {
                    let domain = text(input, &["DomainId"]).unwrap_or_default();
                    crate::kinds::arn(
                        &facts.region,
                        &facts.account,
                        crate::kinds::Kind::UserProfile,
                        &format!("{domain}/{p}"),
                    )
                });
                k.single("OwnerUserProfileArn", owner);
                k.single(
                    "SpaceSharingType",
                    text(input, &["SpaceSharingSettings", "SharingType"]),
                );
            } else {
                space_facts(&mut k, facts);
            }
        }
        "DeleteSpace" | "DeleteApp" => space_facts(&mut k, facts),
        "CreateApp" => {
            let spec = at(input, &["ResourceSpec"]);
            k.multi(
                "InstanceTypes",
                spec.and_then(|s| text(s, &["InstanceType"]))
                    .into_iter()
                    .collect(),
            );
            k.multi(
                "ImageArns",
                spec.and_then(|s| text(s, &["SageMakerImageArn"]))
                    .into_iter()
                    .collect(),
            );
            k.multi(
                "ImageVersionArns",
                spec.and_then(|s| text(s, &["SageMakerImageVersionArn"]))
                    .into_iter()
                    .collect(),
            );
            k.multi(
                "StudioLifecycleConfigArns",
                spec.and_then(|s| text(s, &["LifecycleConfigArn"]))
                    .into_iter()
                    .collect(),
            );
            space_facts(&mut k, facts);
        }
        "CreateTrainingJob" => {
            training_keys(&mut k, &[training(input)]);
            if let Some(debug) = boolean(input, &["RemoteDebugConfig", "EnableRemoteDebug"]) {
                k.boolean("EnableRemoteDebug", debug);
            }
            k.number(
                "KeepAlivePeriod",
                number(input, &["ResourceConfig", "KeepAlivePeriodInSeconds"]),
            );
        }
        "CreateHyperParameterTuningJob" => {
            let mut defs: Vec<Training> = at(input, &["TrainingJobDefinition"])
                .map(training)
                .into_iter()
                .collect();
            defs.extend(
                items(input, &["TrainingJobDefinitions"])
                    .into_iter()
                    .map(training),
            );
            if !defs.is_empty() {
                training_keys(&mut k, &defs);
            }
        }
        "CreateProcessingJob" => {
            let cluster = at(input, &["ProcessingResources", "ClusterConfig"]);
            k.multi(
                "InstanceTypes",
                cluster
                    .and_then(|c| text(c, &["InstanceType"]))
                    .into_iter()
                    .collect(),
            );
            k.kms(
                "VolumeKmsKey",
                "VolumeKmsKeyArn",
                cluster.and_then(|c| text(c, &["VolumeKmsKeyId"])),
            );
            k.kms(
                "OutputKmsKey",
                "OutputKmsKeyArn",
                text(input, &["ProcessingOutputConfig", "KmsKeyId"]),
            );
            vpc(&mut k, at(input, &["NetworkConfig", "VpcConfig"]));
            k.boolean(
                "NetworkIsolation",
                boolean(input, &["NetworkConfig", "EnableNetworkIsolation"]).unwrap_or(false),
            );
            k.boolean(
                "InterContainerTrafficEncryption",
                boolean(
                    input,
                    &["NetworkConfig", "EnableInterContainerTrafficEncryption"],
                )
                .unwrap_or(false),
            );
            k.number(
                "MaxRuntimeInSeconds",
                number(input, &["StoppingCondition", "MaxRuntimeInSeconds"]),
            );
        }
        "CreateTransformJob" => {
            k.multi(
                "InstanceTypes",
                text(input, &["TransformResources", "InstanceType"])
                    .into_iter()
                    .collect(),
            );
            k.kms(
                "VolumeKmsKey",
                "VolumeKmsKeyArn",
                text(input, &["TransformResources", "VolumeKmsKeyId"]),
            );
            k.kms(
                "OutputKmsKey",
                "OutputKmsKeyArn",
                text(input, &["TransformOutput", "KmsKeyId"]),
            );
            k.single(
                "ModelArn",
                text(input, &["ModelName"]).map(|m| model_arn(facts, &m)),
            );
        }
        "CreateAutoMLJob" | "CreateAutoMLJobV2" => {
            let security = if op == "CreateAutoMLJob" {
                at(input, &["AutoMLJobConfig", "SecurityConfig"])
            } else {
                at(input, &["SecurityConfig"])
            };
            k.kms(
                "VolumeKmsKey",
                "VolumeKmsKeyArn",
                security.and_then(|s| text(s, &["VolumeKmsKeyId"])),
            );
            k.kms(
                "OutputKmsKey",
                "OutputKmsKeyArn",
                text(input, &["OutputDataConfig", "KmsKeyId"]),
            );
            vpc(&mut k, security.and_then(|s| at(s, &["VpcConfig"])));
            k.boolean(
                "InterContainerTrafficEncryption",
                security
                    .and_then(|s| boolean(s, &["EnableInterContainerTrafficEncryption"]))
                    .unwrap_or(false),
            );
        }
        "CreateModel" => {
            vpc(&mut k, at(input, &["VpcConfig"]));
            k.boolean(
                "NetworkIsolation",
                boolean(input, &["EnableNetworkIsolation"]).unwrap_or(false),
            );
        }
        "CreateEndpointConfig" => {
            let variants: Vec<&Value> = items(input, &["ProductionVariants"])
                .into_iter()
                .chain(items(input, &["ShadowProductionVariants"]))
                .collect();
            k.multi(
                "InstanceTypes",
                sorted(
                    variants
                        .iter()
                        .filter_map(|v| text(v, &["InstanceType"]))
                        .collect(),
                ),
            );
            k.multi(
                "AcceleratorTypes",
                sorted(
                    variants
                        .iter()
                        .filter_map(|v| text(v, &["AcceleratorType"]))
                        .collect(),
                ),
            );
            k.multi(
                "ModelArn",
                sorted(
                    variants
                        .iter()
                        .filter_map(|v| text(v, &["ModelName"]))
                        .map(|m| model_arn(facts, &m))
                        .collect(),
                ),
            );
            k.kms(
                "VolumeKmsKey",
                "VolumeKmsKeyArn",
                text(input, &["KmsKeyId"]),
            );
            vpc(&mut k, at(input, &["VpcConfig"]));
            k.number(
                "ServerlessMaxConcurrency",
                variants
                    .iter()
                    .filter_map(|v| number(v, &["ServerlessConfig", "MaxConcurrency"]))
                    .max(),
            );
            k.number(
                "ServerlessMemorySize",
                variants
                    .iter()
                    .filter_map(|v| number(v, &["ServerlessConfig", "MemorySizeInMB"]))
                    .max(),
            );
        }
        "CreateNotebookInstance" | "UpdateNotebookInstance" => {
            let create = op == "CreateNotebookInstance";
            k.multi(
                "InstanceTypes",
                text(input, &["InstanceType"]).into_iter().collect(),
            );
            k.multi("AcceleratorTypes", texts(input, &["AcceleratorTypes"]));
            let root = text(input, &["RootAccess"]);
            k.single(
                "RootAccess",
                if create {
                    root.or_else(|| Some("Enabled".into()))
                } else {
                    root
                },
            );
            k.single(
                "MinimumInstanceMetadataServiceVersion",
                text(
                    input,
                    &[
                        "InstanceMetadataServiceConfiguration",
                        "MinimumInstanceMetadataServiceVersion",
                    ],
                ),
            );
            k.multi(
                "NotebookInstanceLifecycleConfigArns",
                text(input, &["LifecycleConfigName"])
                    .map(|n| {
                        crate::kinds::arn(
                            &facts.region,
                            &facts.account,
                            crate::kinds::Kind::NotebookInstanceLifecycleConfig,
                            &n,
                        )
                    })
                    .into_iter()
                    .collect(),
            );
            if create {
                k.single(
                    "DirectInternetAccess",
                    text(input, &["DirectInternetAccess"]).or_else(|| Some("Enabled".into())),
                );
                k.kms(
                    "VolumeKmsKey",
                    "VolumeKmsKeyArn",
                    text(input, &["KmsKeyId"]),
                );
                k.multi(
                    "VpcSubnets",
                    text(input, &["SubnetId"]).into_iter().collect(),
                );
                k.multi("VpcSecurityGroupIds", texts(input, &["SecurityGroupIds"]));
            }
        }
        _ => {}
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Facts {
        Facts {
            region: "us-east-1".into(),
            account: "111122223333".into(),
            space: None,
        }
    }

    fn multi(v: &[&str]) -> policy::Value {
        policy::Value::Multi(v.iter().map(|s| s.to_string()).collect())
    }

    fn single(v: &str) -> policy::Value {
        policy::Value::Single(v.to_string())
    }

    struct Case {
        op: &'static str,
        input: Value,
        present: Vec<(&'static str, policy::Value)>,
        absent: Vec<&'static str>,
    }

    fn cases() -> Vec<Case> {
        vec![
            // A training job without VpcConfig or keys: the seed's guardrails see nulls and
            // the service defaults.
            Case {
                op: "CreateTrainingJob",
                input: json!({
                    "TrainingJobName": "j", "RoleArn": "arn:aws:iam::111122223333:role/r",
                    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                    "OutputDataConfig": {"S3OutputPath": "s3://b/o"}
                }),
                present: vec![
                    ("sagemaker:InstanceTypes", multi(&["ml.m5.xlarge"])),
                    ("sagemaker:NetworkIsolation", single("false")),
                    ("sagemaker:InterContainerTrafficEncryption", single("false")),
                    ("sagemaker:MaxRuntimeInSeconds", single("3600")),
                ],
                absent: vec![
                    "sagemaker:VpcSubnets",
                    "sagemaker:VpcSecurityGroupIds",
                    "sagemaker:VolumeKmsKey",
                    "sagemaker:VolumeKmsKeyArn",
                    "sagemaker:OutputKmsKey",
                    "sagemaker:OutputKmsKeyArn",
                    "sagemaker:FileSystemId",
                    "sagemaker:EnableRemoteDebug",
                ],
            },
            Case {
                op: "CreateTrainingJob",
                input: json!({
                    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "VolumeKmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/v",
                                       "KeepAlivePeriodInSeconds": 60},
                    "VpcConfig": {"Subnets": ["subnet-2", "subnet-1"], "SecurityGroupIds": ["sg-1"]},
                    "OutputDataConfig": {"S3OutputPath": "s3://b/o", "KmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/o"},
                    "EnableNetworkIsolation": true, "EnableInterContainerTrafficEncryption": true,
                    "RemoteDebugConfig": {"EnableRemoteDebug": false},
                    "InputDataConfig": [{"ChannelName": "train", "DataSource": {"FileSystemDataSource": {
                        "FileSystemId": "fs-1", "FileSystemType": "EFS", "DirectoryPath": "/data", "FileSystemAccessMode": "ro"}}}]
                }),
                present: vec![
                    ("sagemaker:VpcSubnets", multi(&["subnet-1", "subnet-2"])),
                    ("sagemaker:VpcSecurityGroupIds", multi(&["sg-1"])),
                    (
                        "sagemaker:VolumeKmsKey",
                        single("arn:aws:kms:us-east-1:111122223333:key/v"),
                    ),
                    (
                        "sagemaker:VolumeKmsKeyArn",
                        single("arn:aws:kms:us-east-1:111122223333:key/v"),
                    ),
                    (
                        "sagemaker:OutputKmsKey",
                        single("arn:aws:kms:us-east-1:111122223333:key/o"),
                    ),
                    ("sagemaker:NetworkIsolation", single("true")),
                    ("sagemaker:InterContainerTrafficEncryption", single("true")),
                    ("sagemaker:FileSystemId", single("fs-1")),
                    ("sagemaker:FileSystemType", single("EFS")),
                    ("sagemaker:FileSystemDirectoryPath", single("/data")),
                    ("sagemaker:FileSystemAccessMode", single("ro")),
                    ("sagemaker:EnableRemoteDebug", single("false")),
                    ("sagemaker:KeepAlivePeriod", single("60")),
                ],
                absent: vec!["sagemaker:MaxRuntimeInSeconds"],
            },
            Case {
                op: "CreateProcessingJob",
                input: json!({
                    "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.t3.medium", "InstanceCount": 1,
                                                               "VolumeSizeInGB": 5, "VolumeKmsKeyId": "k1"}},
                    "ProcessingOutputConfig": {"Outputs": [], "KmsKeyId": "k2"},
                    "NetworkConfig": {"EnableNetworkIsolation": true, "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 60}
                }),
                present: vec![
                    ("sagemaker:InstanceTypes", multi(&["ml.t3.medium"])),
                    ("sagemaker:VolumeKmsKey", single("k1")),
                    ("sagemaker:OutputKmsKey", single("k2")),
                    ("sagemaker:VpcSubnets", multi(&["subnet-1"])),
                    ("sagemaker:NetworkIsolation", single("true")),
                    ("sagemaker:InterContainerTrafficEncryption", single("false")),
                    ("sagemaker:MaxRuntimeInSeconds", single("60")),
                ],
                absent: vec![],
            },
            Case {
                op: "CreateProcessingJob",
                input: json!({"ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.t3.medium"}}}),
                present: vec![("sagemaker:NetworkIsolation", single("false"))],
                absent: vec![
                    "sagemaker:VpcSubnets",
                    "sagemaker:VpcSecurityGroupIds",
                    "sagemaker:VolumeKmsKey",
                    "sagemaker:OutputKmsKey",
                ],
            },
            Case {
                op: "CreateTransformJob",
                input: json!({"ModelName": "My-Model", "TransformResources": {"InstanceType": "ml.c5.large", "VolumeKmsKeyId": "v"},
                              "TransformOutput": {"S3OutputPath": "s3://b", "KmsKeyId": "o"}}),
                present: vec![
                    (
                        "sagemaker:ModelArn",
                        single("arn:aws:sagemaker:us-east-1:111122223333:model/my-model"),
                    ),
                    ("sagemaker:InstanceTypes", multi(&["ml.c5.large"])),
                    ("sagemaker:VolumeKmsKeyArn", single("v")),
                    ("sagemaker:OutputKmsKeyArn", single("o")),
                ],
                absent: vec!["sagemaker:VpcSubnets", "sagemaker:NetworkIsolation"],
            },
            Case {
                op: "CreateHyperParameterTuningJob",
                input: json!({"TrainingJobDefinition": {
                    "ResourceConfig": {"InstanceType": "ml.m5.large", "VolumeKmsKeyId": "v"},
                    "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
                    "OutputDataConfig": {"S3OutputPath": "s3://b"},
                    "EnableInterContainerTrafficEncryption": true,
                    "StoppingCondition": {"MaxRuntimeInSeconds": 100}}}),
                present: vec![
                    ("sagemaker:InstanceTypes", multi(&["ml.m5.large"])),
                    ("sagemaker:VpcSubnets", multi(&["subnet-1"])),
                    ("sagemaker:VolumeKmsKey", single("v")),
                    ("sagemaker:InterContainerTrafficEncryption", single("true")),
                    ("sagemaker:NetworkIsolation", single("false")),
                    ("sagemaker:MaxRuntimeInSeconds", single("100")),
                ],
                absent: vec!["sagemaker:OutputKmsKey"],
            },
            Case {
                op: "CreateHyperParameterTuningJob",
                input: json!({"TrainingJobDefinitions": [
                    {"ResourceConfig": {"InstanceType": "ml.m5.large", "VolumeKmsKeyId": "v"}, "EnableNetworkIsolation": true},
                    {"ResourceConfig": {"InstanceType": "ml.c5.large"}, "EnableNetworkIsolation": false}]}),
                present: vec![
                    (
                        "sagemaker:InstanceTypes",
                        multi(&["ml.c5.large", "ml.m5.large"]),
                    ),
                    ("sagemaker:NetworkIsolation", single("false")),
                ],
                // One definition has no volume key: the request as a whole does not name one.
                absent: vec!["sagemaker:VolumeKmsKey"],
            },
            Case {
                op: "CreateAutoMLJob",
                input: json!({"AutoMLJobConfig": {"SecurityConfig": {"VolumeKmsKeyId": "v", "EnableInterContainerTrafficEncryption": true,
                              "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}}},
                              "OutputDataConfig": {"S3OutputPath": "s3://b", "KmsKeyId": "o"}}),
                present: vec![
                    ("sagemaker:VolumeKmsKey", single("v")),
                    ("sagemaker:OutputKmsKey", single("o")),
                    ("sagemaker:VpcSubnets", multi(&["subnet-1"])),
                    ("sagemaker:InterContainerTrafficEncryption", single("true")),
                ],
                absent: vec!["sagemaker:NetworkIsolation", "sagemaker:InstanceTypes"],
            },
            Case {
                op: "CreateAutoMLJobV2",
                input: json!({"SecurityConfig": {"VolumeKmsKeyId": "v"}, "OutputDataConfig": {"S3OutputPath": "s3://b"}}),
                present: vec![
                    ("sagemaker:VolumeKmsKeyArn", single("v")),
                    ("sagemaker:InterContainerTrafficEncryption", single("false")),
                ],
                absent: vec!["sagemaker:OutputKmsKey", "sagemaker:VpcSubnets"],
            },
            Case {
                op: "CreateModel",
                input: json!({"ModelName": "m", "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}}),
                present: vec![
                    ("sagemaker:VpcSubnets", multi(&["subnet-1"])),
                    ("sagemaker:VpcSecurityGroupIds", multi(&["sg-1"])),
                    ("sagemaker:NetworkIsolation", single("false")),
                ],
                absent: vec!["sagemaker:InstanceTypes"],
            },
            Case {
                op: "CreateModel",
                input: json!({"ModelName": "m", "EnableNetworkIsolation": true}),
                present: vec![("sagemaker:NetworkIsolation", single("true"))],
                absent: vec!["sagemaker:VpcSubnets", "sagemaker:VpcSecurityGroupIds"],
            },
            Case {
                op: "CreateEndpointConfig",
                input: json!({"EndpointConfigName": "c", "KmsKeyId": "k", "ProductionVariants": [
                    {"VariantName": "a", "ModelName": "M1", "InstanceType": "ml.p3.2xlarge", "AcceleratorType": "ml.eia2.medium"},
                    {"VariantName": "b", "ModelName": "m2", "InstanceType": "ml.c5.large"},
                    {"VariantName": "s", "ModelName": "m2", "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}]}),
                present: vec![
                    (
                        "sagemaker:InstanceTypes",
                        multi(&["ml.c5.large", "ml.p3.2xlarge"]),
                    ),
                    ("sagemaker:AcceleratorTypes", multi(&["ml.eia2.medium"])),
                    (
                        "sagemaker:ModelArn",
                        multi(&[
                            "arn:aws:sagemaker:us-east-1:111122223333:model/m1",
                            "arn:aws:sagemaker:us-east-1:111122223333:model/m2",
                        ]),
                    ),
                    ("sagemaker:VolumeKmsKey", single("k")),
                    ("sagemaker:ServerlessMaxConcurrency", single("5")),
                    ("sagemaker:ServerlessMemorySize", single("2048")),
                ],
                absent: vec!["sagemaker:VpcSubnets"],
            },
            Case {
                op: "CreateNotebookInstance",
                input: json!({"NotebookInstanceName": "n", "InstanceType": "ml.t3.medium", "RoleArn": "r"}),
                present: vec![
                    ("sagemaker:InstanceTypes", multi(&["ml.t3.medium"])),
                    ("sagemaker:RootAccess", single("Enabled")),
                    ("sagemaker:DirectInternetAccess", single("Enabled")),
                ],
                absent: vec![
                    "sagemaker:VolumeKmsKey",
                    "sagemaker:VpcSubnets",
                    "sagemaker:AcceleratorTypes",
                    "sagemaker:NotebookInstanceLifecycleConfigArns",
                ],
            },
            Case {
                op: "CreateNotebookInstance",
                input: json!({"NotebookInstanceName": "n", "InstanceType": "ml.t3.medium", "RoleArn": "r",
                              "RootAccess": "Disabled", "DirectInternetAccess": "Disabled", "KmsKeyId": "k",
                              "SubnetId": "subnet-1", "SecurityGroupIds": ["sg-1"], "LifecycleConfigName": "LC",
                              "AcceleratorTypes": ["ml.eia1.medium"],
                              "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"}}),
                present: vec![
                    ("sagemaker:RootAccess", single("Disabled")),
                    ("sagemaker:DirectInternetAccess", single("Disabled")),
                    ("sagemaker:VolumeKmsKey", single("k")),
                    ("sagemaker:VpcSubnets", multi(&["subnet-1"])),
                    ("sagemaker:VpcSecurityGroupIds", multi(&["sg-1"])),
                    ("sagemaker:AcceleratorTypes", multi(&["ml.eia1.medium"])),
                    (
                        "sagemaker:MinimumInstanceMetadataServiceVersion",
                        single("2"),
                    ),
                    (
                        "sagemaker:NotebookInstanceLifecycleConfigArns",
                        multi(&[
                            "arn:aws:sagemaker:us-east-1:111122223333:notebook-instance-lifecycle-config/lc",
                        ]),
                    ),
                ],
                absent: vec![],
            },
            // An update names only what it changes; volume keys and networks are not keys of
            // UpdateNotebookInstance at all.
            Case {
                op: "UpdateNotebookInstance",
                input: json!({"NotebookInstanceName": "n", "RootAccess": "Enabled"}),
                present: vec![("sagemaker:RootAccess", single("Enabled"))],
                absent: vec![
                    "sagemaker:VolumeKmsKey",
                    "sagemaker:DirectInternetAccess",
                    "sagemaker:InstanceTypes",
                ],
            },
            Case {
                op: "UpdateNotebookInstance",
                input: json!({"NotebookInstanceName": "n", "InstanceType": "ml.m5.large"}),
                present: vec![("sagemaker:InstanceTypes", multi(&["ml.m5.large"]))],
                absent: vec!["sagemaker:RootAccess"],
            },
            Case {
                op: "CreateDomain",
                input: json!({"DomainName": "d", "AuthMode": "IAM", "AppNetworkAccessType": "VpcOnly",
                              "SubnetIds": ["subnet-1"], "VpcId": "vpc-1", "KmsKeyId": "efs-key",
                              "DefaultUserSettings": {"ExecutionRole": "r", "SecurityGroups": ["sg-1"],
                                  "SharingSettings": {"NotebookOutputOption": "Allowed", "S3KmsKeyId": "share-key"},
                                  "KernelGatewayAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.medium",
                                      "SageMakerImageArn": "arn:aws:sagemaker:us-east-1:081325390199:image/datascience-1.0",
                                      "LifecycleConfigArn": "arn:lc"}, "LifecycleConfigArns": ["arn:lc", "arn:lc2"]}}}),
                present: vec![
                    ("sagemaker:AppNetworkAccessType", single("VpcOnly")),
                    ("sagemaker:VpcSubnets", multi(&["subnet-1"])),
                    ("sagemaker:VpcSecurityGroupIds", multi(&["sg-1"])),
                    ("sagemaker:HomeEfsFileSystemKmsKey", single("efs-key")),
                    ("sagemaker:VolumeKmsKeyArn", single("efs-key")),
                    ("sagemaker:DomainSharingOutputKmsKey", single("share-key")),
                    (
                        "sagemaker:DomainSharingOutputKmsKeyArn",
                        single("share-key"),
                    ),
                    ("sagemaker:InstanceTypes", multi(&["ml.t3.medium"])),
                    (
                        "sagemaker:ImageArns",
                        multi(&["arn:aws:sagemaker:us-east-1:081325390199:image/datascience-1.0"]),
                    ),
                    (
                        "sagemaker:StudioLifecycleConfigArns",
                        multi(&["arn:lc", "arn:lc2"]),
                    ),
                ],
                absent: vec!["sagemaker:ImageVersionArns"],
            },
            Case {
                op: "CreateDomain",
                input: json!({"DomainName": "d", "AuthMode": "IAM", "SubnetIds": ["subnet-1"], "VpcId": "vpc-1",
                              "DefaultUserSettings": {"ExecutionRole": "r"}}),
                present: vec![("sagemaker:VpcSubnets", multi(&["subnet-1"]))],
                absent: vec![
                    "sagemaker:AppNetworkAccessType",
                    "sagemaker:HomeEfsFileSystemKmsKey",
                    "sagemaker:VpcSecurityGroupIds",
                    "sagemaker:InstanceTypes",
                    "sagemaker:DomainSharingOutputKmsKey",
                ],
            },
            Case {
                op: "CreateUserProfile",
                input: json!({"DomainId": "d-1", "UserProfileName": "u", "UserSettings": {"SecurityGroups": ["sg-9"],
                              "JupyterServerAppSettings": {"DefaultResourceSpec": {"InstanceType": "system"}}}}),
                present: vec![
                    ("sagemaker:VpcSecurityGroupIds", multi(&["sg-9"])),
                    ("sagemaker:InstanceTypes", multi(&["system"])),
                ],
                absent: vec![
                    "sagemaker:VpcSubnets",
                    "sagemaker:DomainSharingOutputKmsKey",
                ],
            },
            Case {
                op: "CreateSpace",
                input: json!({"DomainId": "d-1", "SpaceName": "s", "OwnershipSettings": {"OwnerUserProfileName": "alice"},
                              "SpaceSharingSettings": {"SharingType": "Private"},
                              "SpaceSettings": {"AppType": "JupyterLab", "RemoteAccess": "DISABLED",
                                  "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.large"}}}}),
                present: vec![
                    (
                        "sagemaker:OwnerUserProfileArn",
                        single("arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-1/alice"),
                    ),
                    ("sagemaker:SpaceSharingType", single("Private")),
                    ("sagemaker:InstanceTypes", multi(&["ml.t3.large"])),
                    ("sagemaker:RemoteAccess", single("DISABLED")),
                ],
                absent: vec![],
            },
            Case {
                op: "CreateApp",
                input: json!({"DomainId": "d-1", "UserProfileName": "u", "AppType": "KernelGateway", "AppName": "a",
                              "ResourceSpec": {"InstanceType": "ml.p3.2xlarge", "SageMakerImageArn": "arn:img"}}),
                present: vec![
                    ("sagemaker:InstanceTypes", multi(&["ml.p3.2xlarge"])),
                    ("sagemaker:ImageArns", multi(&["arn:img"])),
                ],
                absent: vec![
                    "sagemaker:OwnerUserProfileArn",
                    "sagemaker:SpaceSharingType",
                    "sagemaker:ImageVersionArns",
                ],
            },
            Case {
                op: "CreateApp",
                input: json!({"DomainId": "d-1", "UserProfileName": "u", "AppType": "JupyterServer", "AppName": "default"}),
                present: vec![],
                absent: vec!["sagemaker:InstanceTypes"],
            },
            Case {
                op: "DescribeTrainingJob",
                input: json!({"TrainingJobName": "j"}),
                present: vec![],
                absent: vec!["sagemaker:VpcSubnets", "sagemaker:NetworkIsolation"],
            },
        ]
    }

    #[test]
    fn every_operation_supplies_its_keys_and_only_those_it_has() {
        for (i, c) in cases().into_iter().enumerate() {
            let keys = for_operation(c.op, &c.input, &facts());
            for (k, want) in &c.present {
                assert_eq!(keys.get(k), Some(want), "case {i} ({}): {k}", c.op);
            }
            for k in &c.absent {
                assert!(
                    keys.get(k).is_none(),
                    "case {i} ({}): {k} should be absent",
                    c.op
                );
            }
        }
    }

    #[test]
    fn space_operations_take_the_spaces_owner_and_sharing_type() {
        let mut f = facts();
        f.space = Some((
            Some("arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-1/alice".into()),
            "Private".into(),
        ));
        for op in ["CreateApp", "DeleteApp", "DeleteSpace", "UpdateSpace"] {
            let keys = for_operation(op, &json!({"DomainId": "d-1", "SpaceName": "s"}), &f);
            assert_eq!(
                keys.get("sagemaker:SpaceSharingType"),
                Some(&single("Private")),
                "{op}"
            );
            assert!(keys.get("sagemaker:OwnerUserProfileArn").is_some(), "{op}");
        }
    }
}

#[cfg(test)]
mod garbage {
    use super::*;
    use serde_json::{Map, json};

    /// A small deterministic generator of JSON values built from the members the key
    /// computation looks at, with every JSON type in every place.
    pub(crate) struct Gen(u64);

    const MEMBERS: &[&str] = &[
        "VpcConfig",
        "Subnets",
        "SecurityGroupIds",
        "ResourceConfig",
        "InstanceType",
        "InstanceGroups",
        "VolumeKmsKeyId",
        "OutputDataConfig",
        "KmsKeyId",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "StoppingCondition",
        "MaxRuntimeInSeconds",
        "InputDataConfig",
        "DataSource",
        "FileSystemDataSource",
        "FileSystemId",
        "TrainingJobDefinition",
        "TrainingJobDefinitions",
        "ProductionVariants",
        "ModelName",
        "ServerlessConfig",
        "MaxConcurrency",
        "DefaultUserSettings",
        "SecurityGroups",
        "SharingSettings",
        "S3KmsKeyId",
        "UserSettings",
        "SpaceSettings",
        "ResourceSpec",
        "SageMakerImageArn",
        "LifecycleConfigArns",
        "RootAccess",
        "AcceleratorTypes",
        "NetworkConfig",
        "ProcessingResources",
        "ClusterConfig",
        "SecurityConfig",
        "AutoMLJobConfig",
        "TransformResources",
        "OwnershipSettings",
        "OwnerUserProfileName",
        "DomainId",
    ];

    impl Gen {
        pub(crate) fn new(seed: u64) -> Gen {
            Gen(seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407))
        }

        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        pub(crate) fn value(&mut self, depth: u32) -> Value {
            match self.next() % if depth == 0 { 5 } else { 7 } {
                0 => Value::Null,
                1 => json!(self.next().is_multiple_of(3)),
                2 => json!((self.next() as i64) - (1 << 30)),
                3 => json!(
                    ["", "ml.m5.large", "subnet-1", "é\u{0}", "arn:aws:kms:x"]
                        [(self.next() % 5) as usize]
                ),
                4 => json!(f64::from(self.next() as u32) / 7.0),
                5 => Value::Array(
                    (0..self.next() % 4)
                        .map(|_| self.value(depth - 1))
                        .collect(),
                ),
                _ => self.object(depth - 1),
            }
        }

        pub(crate) fn object(&mut self, depth: u32) -> Value {
            let mut m = Map::new();
            for _ in 0..self.next() % 6 {
                let k = MEMBERS[(self.next() as usize) % MEMBERS.len()];
                m.insert(k.to_string(), self.value(depth));
            }
            Value::Object(m)
        }
    }

    #[test]
    fn malformed_requests_never_panic_key_computation() {
        let mut g = Gen::new(7);
        let f = Facts {
            space: Some((None, "Shared".into())),
            ..Facts::default()
        };
        for op in crate::ops::OPERATIONS {
            for _ in 0..300 {
                let input = g.object(4);
                let _ = for_operation(op, &input, &f);
            }
            let _ = for_operation(op, &json!([1, 2]), &f);
            let _ = for_operation(op, &Value::Null, &f);
        }
    }
}
