//! Notebook instances and their lifecycle configurations. A notebook instance passes its
//! role, may name a KMS key for its volume (SageMaker takes a grant on it as the caller),
//! a subnet and security groups, and moves `Pending` → `InService`; `Stop` takes it to
//! `Stopped`, from where it can be updated, started again or deleted.

use gateway::{Authorization, AwsError, Call, Via};
use serde_json::{Map, Value, json};

use super::{
    arn_in, arn_output, at, creating, delay, existing, insert_new, missing, modify, new_resource,
    opt, pass_role, required, string, strings, target,
};
use crate::errors::validation;
use crate::kinds::Kind;
use crate::notebook::{NotebookSignIn, PREFIX, URL_LIFETIME};
use crate::state::{Pending, Resource};
use crate::studio::{NetContext, host_for};
use crate::validate::{self, NAME_PATTERN};
use crate::{SERVICE_PRINCIPAL, SageMaker, tags, time};

pub(super) fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let kind = super::target_kind(op).unwrap_or(Kind::NotebookInstance);
    let (id, path) = target(kind, input)?;
    let resource_arn = arn_in(svc, call, kind, &path);
    let mut auth = if op == "UpdateNotebookInstance" {
        Authorization::check(existing(svc, call, op, kind, &id, &path, input))
    } else {
        creating(svc, call, op, resource_arn.clone(), input)?
    };
    if let Some(role) = string(input, &["RoleArn"]).filter(|_| kind == Kind::NotebookInstance) {
        auth = auth.and(pass_role(call, &role, &resource_arn));
    }
    Ok(auth)
}

/// The `ValidationException` of a notebook instance in the wrong status.
fn wrong_status(status: &str, allowed: &[&str], to: &str, arn: &str) -> AwsError {
    validation(format!(
        "Status ({status}) not in ([{}]). Unable to transition to ({to}) for Notebook Instance ({arn}).",
        allowed.join(", ")
    ))
}

fn status_of(r: &Resource) -> String {
    r.doc
        .get("NotebookInstanceStatus")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn lifecycle_exists(svc: &SageMaker, call: &Call, name: &str) -> Result<(), AwsError> {
    let kind = Kind::NotebookInstanceLifecycleConfig;
    let found = svc.read(|st| Ok(st.get(call.account(), kind, &kind.id_of(name)).is_some()))?;
    if found {
        Ok(())
    } else {
        Err(missing(kind, name, &arn_in(svc, call, kind, name)))
    }
}

pub(super) async fn create_notebook_instance(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let name = required(&input, "NotebookInstanceName")?.to_string();
    validate::name(&name, "notebookInstanceName", NAME_PATTERN)?;
    let role = required(&input, "RoleArn")?.to_string();
    validate::role(svc, call, &role)?;
    let subnet = opt(&input, "SubnetId").map(str::to_string);
    let groups = strings(&input, &["SecurityGroupIds"]);
    if subnet.is_none() && !groups.is_empty() {
        return Err(validation(
            "SecurityGroupIds can be specified only with SubnetId.",
        ));
    }
    if let Some(s) = &subnet {
        validate::network(svc, call.account(), std::slice::from_ref(s), &groups, None)?;
    } else if opt(&input, "DirectInternetAccess") == Some("Disabled") {
        return Err(validation(
            "DirectInternetAccess can be Disabled only for a notebook instance in a VPC: specify SubnetId.",
        ));
    }
    if let Some(lc) = opt(&input, "LifecycleConfigName") {
        lifecycle_exists(svc, call, lc)?;
    }
    let instance_arn = arn_in(svc, call, Kind::NotebookInstance, &name);
    if let Some(k) = opt(&input, "KmsKeyId") {
        let key_arn = validate::kms_key(svc, call, k)?;
        let grant = kms::CreateGrant {
            key_id: key_arn,
            grantee_principal: SERVICE_PRINCIPAL.to_string(),
            retiring_principal: Some(SERVICE_PRINCIPAL.to_string()),
            operations: [
                "Encrypt",
                "Decrypt",
                "GenerateDataKeyWithoutPlaintext",
                "ReEncryptFrom",
                "ReEncryptTo",
                "DescribeKey",
                "CreateGrant",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            name: Some(name.clone()),
            ..Default::default()
        };
        call.invoke(svc.kms(), grant, "kms", Via::service(SERVICE_PRINCIPAL))
            .await?;
    }
    let now = time::of_call(call);
    let mut doc = Map::new();
    doc.insert("NotebookInstanceArn".into(), json!(instance_arn));
    doc.insert("NotebookInstanceName".into(), json!(name));
    doc.insert("NotebookInstanceStatus".into(), json!("Pending"));
    doc.insert(
        "Url".into(),
        json!(format!("{name}.notebook.{}.sagemaker.aws", svc.region())),
    );
    for m in [
        "InstanceType",
        "RoleArn",
        "KmsKeyId",
        "AcceleratorTypes",
        "DefaultCodeRepository",
        "AdditionalCodeRepositories",
    ] {
        if let Some(v) = at(&input, &[m]) {
            doc.insert(m.into(), v.clone());
        }
    }
    if let Some(s) = &subnet {
        doc.insert("SubnetId".into(), json!(s));
        doc.insert("SecurityGroups".into(), json!(groups));
        doc.insert(
            "NetworkInterfaceId".into(),
            json!(format!("eni-{:017x}", (now * 1000.0) as u64)),
        );
    }
    if let Some(lc) = opt(&input, "LifecycleConfigName") {
        doc.insert("NotebookInstanceLifecycleConfigName".into(), json!(lc));
    }
    doc.insert(
        "DirectInternetAccess".into(),
        json!(opt(&input, "DirectInternetAccess").unwrap_or("Enabled")),
    );
    doc.insert(
        "VolumeSizeInGB".into(),
        input.get("VolumeSizeInGB").cloned().unwrap_or(json!(5)),
    );
    doc.insert(
        "RootAccess".into(),
        json!(opt(&input, "RootAccess").unwrap_or("Enabled")),
    );
    doc.insert(
        "PlatformIdentifier".into(),
        json!(opt(&input, "PlatformIdentifier").unwrap_or("notebook-al2-v3")),
    );
    doc.insert(
        "InstanceMetadataServiceConfiguration".into(),
        at(&input, &["InstanceMetadataServiceConfiguration"])
            .cloned()
            .unwrap_or(json!({"MinimumInstanceMetadataServiceVersion": "1"})),
    );
    doc.insert("CreationTime".into(), json!(now));
    doc.insert("LastModifiedTime".into(), json!(now));
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let mut r = new_resource(
        call,
        Kind::NotebookInstance,
        Kind::NotebookInstance.id_of(&name),
        instance_arn.clone(),
        Value::Object(doc),
        tags,
    );
    r.pending = Some(Pending::at(
        now + delay::NOTEBOOK,
        json!({"NotebookInstanceStatus": "InService", "LastModifiedTime": now + delay::NOTEBOOK}),
    ));
    insert_new(svc, call, r, |old| {
        Some(validation(format!(
            "Cannot create a duplicate Notebook Instance ({})",
            old.arn
        )))
    })
    .await?;
    Ok(arn_output("NotebookInstanceArn", &instance_arn))
}

fn names(input: &Value) -> Result<(String, String), AwsError> {
    let name = required(input, "NotebookInstanceName")?.to_string();
    Ok((Kind::NotebookInstance.id_of(&name), name))
}

pub(super) async fn start(svc: &SageMaker, call: &Call, input: Value) -> Result<Value, AwsError> {
    let (id, name) = names(&input)?;
    let a = arn_in(svc, call, Kind::NotebookInstance, &name);
    modify(
        svc,
        call,
        Kind::NotebookInstance,
        &id,
        missing(Kind::NotebookInstance, &name, &a),
        move |r, now| {
            let s = status_of(r);
            if s != "Stopped" && s != "Failed" {
                return Err(wrong_status(&s, &["Stopped", "Failed"], "Pending", &r.arn));
            }
            r.doc["NotebookInstanceStatus"] = json!("Pending");
            r.doc["LastModifiedTime"] = json!(now);
            r.pending = Some(Pending::at(
                now + delay::NOTEBOOK,
                json!({"NotebookInstanceStatus": "InService"}),
            ));
            Ok(())
        },
    )
    .await?;
    Ok(json!({}))
}

pub(super) async fn stop(svc: &SageMaker, call: &Call, input: Value) -> Result<Value, AwsError> {
    let (id, name) = names(&input)?;
    let a = arn_in(svc, call, Kind::NotebookInstance, &name);
    modify(
        svc,
        call,
        Kind::NotebookInstance,
        &id,
        missing(Kind::NotebookInstance, &name, &a),
        move |r, now| {
            let s = status_of(r);
            if s != "InService" {
                return Err(wrong_status(&s, &["InService"], "Stopping", &r.arn));
            }
            r.doc["NotebookInstanceStatus"] = json!("Stopping");
            r.doc["LastModifiedTime"] = json!(now);
            r.pending = Some(Pending::at(
                now + delay::STOP,
                json!({"NotebookInstanceStatus": "Stopped"}),
            ));
            Ok(())
        },
    )
    .await?;
    Ok(json!({}))
}

pub(super) async fn update(svc: &SageMaker, call: &Call, input: Value) -> Result<Value, AwsError> {
    let (id, name) = names(&input)?;
    if let Some(role) = opt(&input, "RoleArn") {
        validate::role(svc, call, role)?;
    }
    if let Some(lc) = opt(&input, "LifecycleConfigName") {
        lifecycle_exists(svc, call, lc)?;
    }
    let a = arn_in(svc, call, Kind::NotebookInstance, &name);
    modify(
        svc,
        call,
        Kind::NotebookInstance,
        &id,
        missing(Kind::NotebookInstance, &name, &a),
        move |r, now| {
            let s = status_of(r);
            if s != "Stopped" && s != "Failed" {
                return Err(wrong_status(&s, &["Stopped", "Failed"], "Updating", &r.arn));
            }
            for m in [
                "InstanceType",
                "RoleArn",
                "VolumeSizeInGB",
                "DefaultCodeRepository",
                "AdditionalCodeRepositories",
                "AcceleratorTypes",
                "RootAccess",
                "InstanceMetadataServiceConfiguration",
            ] {
                if let Some(v) = at(&input, &[m]) {
                    r.doc[m] = v.clone();
                }
            }
            if let Some(lc) = opt(&input, "LifecycleConfigName") {
                r.doc["NotebookInstanceLifecycleConfigName"] = json!(lc);
            }
            let flag = |m: &str| input.get(m).and_then(Value::as_bool).unwrap_or(false);
            let doc = r.doc.as_object_mut();
            if let Some(doc) = doc {
                if flag("DisassociateLifecycleConfig") {
                    doc.remove("NotebookInstanceLifecycleConfigName");
                }
                if flag("DisassociateAcceleratorTypes") {
                    doc.remove("AcceleratorTypes");
                }
                if flag("DisassociateDefaultCodeRepository") {
                    doc.remove("DefaultCodeRepository");
                }
                if flag("DisassociateAdditionalCodeRepositories") {
                    doc.remove("AdditionalCodeRepositories");
                }
            }
            r.doc["NotebookInstanceStatus"] = json!("Updating");
            r.doc["LastModifiedTime"] = json!(now);
            r.pending = Some(Pending::at(
                now + delay::STOP,
                json!({"NotebookInstanceStatus": "Stopped"}),
            ));
            Ok(())
        },
    )
    .await?;
    Ok(json!({}))
}

pub(super) async fn delete(svc: &SageMaker, call: &Call, input: Value) -> Result<Value, AwsError> {
    let (id, name) = names(&input)?;
    let a = arn_in(svc, call, Kind::NotebookInstance, &name);
    let gone = missing(Kind::NotebookInstance, &name, &a);
    let account = call.account().to_string();
    let now = time::of_call(call);
    svc.write(call, move |st, batch| {
        let r = st.get(&account, Kind::NotebookInstance, &id).ok_or(gone)?;
        let mut view = r.clone();
        view.settle(now);
        let s = status_of(&view);
        if s != "Stopped" && s != "Failed" {
            return Err(wrong_status(
                &s,
                &["Stopped", "Failed"],
                "Deleting",
                &view.arn,
            ));
        }
        if let Some(r) = st.remove(&account, Kind::NotebookInstance, &id) {
            batch.delete::<Resource>(&storage::Record::key(&r));
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

/// `CreatePresignedNotebookInstanceUrl`: a URL that opens the instance's page, good for
/// five minutes and once, from the network context of the request only.
pub(super) async fn presigned_url(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, name) = names(&input)?;
    let a = arn_in(svc, call, Kind::NotebookInstance, &name);
    let found = svc.read(|st| {
        Ok(st
            .get(call.account(), Kind::NotebookInstance, &id)
            .is_some())
    })?;
    if !found {
        return Err(missing(Kind::NotebookInstance, &name, &a));
    }
    let session_seconds = input
        .get("SessionExpirationDurationInSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(43_200);
    let context = NetContext::of_call(call);
    let host = host_for(svc, call.account(), &context, "notebook")
        .ok_or_else(|| AwsError::internal("the public endpoint is not listening"))?;
    let sign_in = NotebookSignIn {
        account: call.account().to_string(),
        name: name.clone(),
        context,
        expires_at: time::of_call(call) + URL_LIFETIME,
        session_seconds,
    };
    let token = svc.issue_notebook_sign_in(call, sign_in).await?;
    Ok(json!({
        "AuthorizedUrl": format!("http://{host}{PREFIX}{name}?authToken={token}")
    }))
}

pub(super) async fn create_lifecycle_config(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let kind = Kind::NotebookInstanceLifecycleConfig;
    let name = required(&input, "NotebookInstanceLifecycleConfigName")?.to_string();
    validate::name(&name, "notebookInstanceLifecycleConfigName", NAME_PATTERN)?;
    let lc_arn = arn_in(svc, call, kind, &name);
    let now = time::of_call(call);
    let doc = super::document(
        &input,
        json!({"NotebookInstanceLifecycleConfigArn": lc_arn, "CreationTime": now, "LastModifiedTime": now}),
    );
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let r = new_resource(call, kind, kind.id_of(&name), lc_arn.clone(), doc, tags);
    insert_new(svc, call, r, |old| {
        Some(validation(format!(
            "Unable to create Notebook Instance Lifecycle Config {}. (Reason: Notebook Instance Lifecycle Config already exists.)",
            old.arn
        )))
    })
    .await?;
    Ok(arn_output("NotebookInstanceLifecycleConfigArn", &lc_arn))
}

pub(super) async fn update_lifecycle_config(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let kind = Kind::NotebookInstanceLifecycleConfig;
    let name = required(&input, "NotebookInstanceLifecycleConfigName")?.to_string();
    let a = arn_in(svc, call, kind, &name);
    modify(
        svc,
        call,
        kind,
        &kind.id_of(&name),
        missing(kind, &name, &a),
        move |r, now| {
            for m in ["OnCreate", "OnStart"] {
                if let Some(v) = at(&input, &[m]) {
                    r.doc[m] = v.clone();
                }
            }
            r.doc["LastModifiedTime"] = json!(now);
            Ok(())
        },
    )
    .await?;
    Ok(json!({}))
}

pub(super) async fn delete_lifecycle_config(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let kind = Kind::NotebookInstanceLifecycleConfig;
    let name = required(&input, "NotebookInstanceLifecycleConfigName")?.to_string();
    let id = kind.id_of(&name);
    let gone = missing(kind, &name, &arn_in(svc, call, kind, &name));
    let account = call.account().to_string();
    svc.write(call, move |st, batch| {
        let r = st.remove(&account, kind, &id).ok_or(gone)?;
        batch.delete::<Resource>(&storage::Record::key(&r));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}
