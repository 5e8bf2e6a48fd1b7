//! Hosting: models, endpoint configurations and endpoints. A model's execution role is
//! passed (`iam:PassRole`); an endpoint configuration names existing models; an endpoint
//! names an existing configuration and moves `Creating` → `InService` by itself.

use gateway::{Authorization, AwsError, Call};
use serde_json::{Value, json};

use super::{
    arn_in, arn_output, at, base, creating, delay, document, existing, insert_new, missing, modify,
    new_resource, pass_role, required, string, strings, target,
};
use crate::errors::validation;
use crate::kinds::Kind;
use crate::state::Pending;
use crate::validate::{self, MODEL_PATTERN, NAME_PATTERN};
use crate::{SageMaker, tags, time};

/// A check of `op` on endpoint configuration `name`, with its tags (CreateEndpoint and
/// UpdateEndpoint act on the endpoint and on the configuration they deploy).
fn on_config(svc: &SageMaker, call: &Call, op: &str, name: &str) -> gateway::Check {
    let id = Kind::EndpointConfig.id_of(name);
    let config_tags = svc
        .read(|st| {
            Ok(st
                .get(call.account(), Kind::EndpointConfig, &id)
                .map(|r| r.tags.clone()))
        })
        .ok()
        .flatten()
        .unwrap_or_default();
    tags::with_resource_tags(
        base(svc, call, op, arn_in(svc, call, Kind::EndpointConfig, name)),
        &config_tags,
    )
}

pub(super) fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let kind = super::target_kind(op).unwrap_or(Kind::Model);
    let (id, path) = target(kind, input)?;
    let resource_arn = arn_in(svc, call, kind, &path);
    let mut auth = if op == "UpdateEndpoint" {
        Authorization::check(existing(svc, call, op, kind, &id, &path, input))
    } else {
        creating(svc, call, op, resource_arn.clone(), input)?
    };
    if let Some(role) = string(input, &["ExecutionRoleArn"]).filter(|_| op == "CreateModel") {
        auth = auth.and(pass_role(call, &role, &resource_arn));
    }
    if matches!(op, "CreateEndpoint" | "UpdateEndpoint") {
        let config = required(input, "EndpointConfigName")?;
        auth = auth.and(on_config(svc, call, op, config));
    }
    Ok(auth)
}

fn exists(svc: &SageMaker, call: &Call, kind: Kind, name: &str) -> Result<Value, AwsError> {
    let now = time::of_call(call);
    svc.read(|st| {
        Ok(st
            .get(call.account(), kind, &kind.id_of(name))
            .map(|r| r.view(now)))
    })?
    .ok_or_else(|| missing(kind, name, &arn_in(svc, call, kind, name)))
}

fn already(
    kind: Kind,
    noun: &'static str,
) -> impl FnOnce(&crate::state::Resource) -> Option<AwsError> + Send {
    let _ = kind;
    move |old| {
        Some(validation(format!(
            "Cannot create already existing {noun} \"{}\".",
            old.arn
        )))
    }
}

pub(super) async fn create_model(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let name = required(&input, "ModelName")?.to_string();
    validate::name(&name, "modelName", MODEL_PATTERN)?;
    if at(&input, &["PrimaryContainer"]).is_none() && at(&input, &["Containers"]).is_none() {
        return Err(validation(
            "Either PrimaryContainer or Containers must be specified.",
        ));
    }
    if let Some(role) = string(&input, &["ExecutionRoleArn"]) {
        validate::role(svc, call, &role)?;
    }
    if let Some(v) = at(&input, &["VpcConfig"]) {
        validate::network(
            svc,
            call.account(),
            &strings(v, &["Subnets"]),
            &strings(v, &["SecurityGroupIds"]),
            None,
        )?;
    }
    let model_arn = arn_in(svc, call, Kind::Model, &name);
    let doc = document(
        &input,
        json!({
            "ModelArn": model_arn,
            "CreationTime": time::of_call(call),
            "EnableNetworkIsolation": input.get("EnableNetworkIsolation").and_then(Value::as_bool).unwrap_or(false),
        }),
    );
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let r = new_resource(
        call,
        Kind::Model,
        Kind::Model.id_of(&name),
        model_arn.clone(),
        doc,
        tags,
    );
    insert_new(svc, call, r, already(Kind::Model, "model")).await?;
    Ok(arn_output("ModelArn", &model_arn))
}

pub(super) async fn create_endpoint_config(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let name = required(&input, "EndpointConfigName")?.to_string();
    validate::name(&name, "endpointConfigName", NAME_PATTERN)?;
    let mut variants: Vec<Value> = match at(&input, &["ProductionVariants"]) {
        Some(Value::Array(v)) => v.clone(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(v)) = at(&input, &["ShadowProductionVariants"]) {
        variants.extend(v.iter().cloned());
    }
    for v in &variants {
        if let Some(m) = string(v, &["ModelName"]) {
            exists(svc, call, Kind::Model, &m)?;
        }
    }
    if let Some(k) = string(&input, &["KmsKeyId"]) {
        validate::kms_key(svc, call, &k)?;
    }
    let config_arn = arn_in(svc, call, Kind::EndpointConfig, &name);
    let doc = document(
        &input,
        json!({"EndpointConfigArn": config_arn, "CreationTime": time::of_call(call)}),
    );
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let r = new_resource(
        call,
        Kind::EndpointConfig,
        Kind::EndpointConfig.id_of(&name),
        config_arn.clone(),
        doc,
        tags,
    );
    insert_new(
        svc,
        call,
        r,
        already(Kind::EndpointConfig, "endpoint configuration"),
    )
    .await?;
    Ok(arn_output("EndpointConfigArn", &config_arn))
}

/// The `ProductionVariants` an endpoint shows for a configuration.
fn deployed(config: &Value) -> Value {
    let variants: Vec<Value> = match at(config, &["ProductionVariants"]) {
        Some(Value::Array(v)) => v
            .iter()
            .map(|v| {
                let count = v.get("InitialInstanceCount").cloned().unwrap_or(json!(1));
                let weight = v.get("InitialVariantWeight").cloned().unwrap_or(json!(1.0));
                let mut out = json!({
                    "VariantName": v.get("VariantName").cloned().unwrap_or(Value::Null),
                    "DeployedImages": [],
                    "CurrentWeight": weight,
                    "DesiredWeight": weight,
                });
                if let Some(s) = v.get("ServerlessConfig") {
                    out["CurrentServerlessConfig"] = s.clone();
                    out["DesiredServerlessConfig"] = s.clone();
                } else {
                    out["CurrentInstanceCount"] = count.clone();
                    out["DesiredInstanceCount"] = count;
                }
                out
            })
            .collect(),
        _ => Vec::new(),
    };
    Value::Array(variants)
}

pub(super) async fn create_endpoint(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let name = required(&input, "EndpointName")?.to_string();
    validate::name(&name, "endpointName", NAME_PATTERN)?;
    let config_name = required(&input, "EndpointConfigName")?.to_string();
    let config = exists(svc, call, Kind::EndpointConfig, &config_name)?;
    let endpoint_arn = arn_in(svc, call, Kind::Endpoint, &name);
    let now = time::of_call(call);
    let doc = document(
        &input,
        json!({
            "EndpointArn": endpoint_arn,
            "EndpointStatus": "Creating",
            "CreationTime": now,
            "LastModifiedTime": now,
        }),
    );
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let mut r = new_resource(
        call,
        Kind::Endpoint,
        Kind::Endpoint.id_of(&name),
        endpoint_arn.clone(),
        doc,
        tags,
    );
    r.pending = Some(Pending::at(
        now + delay::ENDPOINT,
        json!({"EndpointStatus": "InService", "ProductionVariants": deployed(&config),
               "LastModifiedTime": now + delay::ENDPOINT}),
    ));
    insert_new(svc, call, r, already(Kind::Endpoint, "endpoint")).await?;
    Ok(arn_output("EndpointArn", &endpoint_arn))
}

pub(super) async fn update_endpoint(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let name = required(&input, "EndpointName")?.to_string();
    let config_name = required(&input, "EndpointConfigName")?.to_string();
    let config = exists(svc, call, Kind::EndpointConfig, &config_name)?;
    let endpoint_arn = arn_in(svc, call, Kind::Endpoint, &name);
    let gone = missing(Kind::Endpoint, &name, &endpoint_arn);
    let arn_for_error = endpoint_arn.clone();
    modify(
        svc,
        call,
        Kind::Endpoint,
        &Kind::Endpoint.id_of(&name),
        gone,
        move |r, now| {
            if r.doc.get("EndpointStatus").and_then(Value::as_str) != Some("InService") {
                return Err(validation(format!(
                    "Cannot update in-progress endpoint \"{arn_for_error}\"."
                )));
            }
            r.doc["EndpointStatus"] = json!("Updating");
            r.doc["LastModifiedTime"] = json!(now);
            r.pending = Some(Pending::at(
                now + delay::ENDPOINT,
                json!({"EndpointStatus": "InService", "EndpointConfigName": config_name,
                       "ProductionVariants": deployed(&config), "LastModifiedTime": now + delay::ENDPOINT}),
            ));
            Ok(())
        },
    )
    .await?;
    Ok(arn_output("EndpointArn", &endpoint_arn))
}

pub(super) async fn delete(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: Value,
) -> Result<Value, AwsError> {
    let kind = super::target_kind(op).unwrap_or(Kind::Model);
    let (id, path) = target(kind, &input)?;
    let gone = missing(kind, &path, &arn_in(svc, call, kind, &path));
    let account = call.account().to_string();
    svc.write(call, move |st, batch| {
        let r = st.remove(&account, kind, &id).ok_or(gone)?;
        batch.delete::<crate::state::Resource>(&storage::Record::key(&r));
        Ok(())
    })
    .await?;
    Ok(json!({}))
}
