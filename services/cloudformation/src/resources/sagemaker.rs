//! `AWS::SageMaker::Domain`, `UserProfile`, `Space`, `App` and `NotebookInstance`.
//!
//! As CloudFormation's handlers do, creation waits until the resource is `InService` (reading
//! it back with the `Describe*` operation as the caller) and deletion until it is gone.

use std::time::Duration;

use gateway::Operation;
use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish};
use crate::state::ResourceRecord;

pub const DOMAIN: TypeInfo = TypeInfo {
    kind: "AWS::SageMaker::Domain",
    attributes: &[
        "DomainArn",
        "DomainId",
        "HomeEfsFileSystemId",
        "SecurityGroupIdForDomainBoundary",
        "SingleSignOnApplicationArn",
        "SingleSignOnManagedApplicationInstanceId",
        "Url",
    ],
    replace: &[
        "AuthMode",
        "DomainName",
        "KmsKeyId",
        "VpcId",
        "DomainSettings",
        "TagPropagation",
    ],
    updatable: true,
    name_property: Some("DomainName"),
};

pub const USER_PROFILE: TypeInfo = TypeInfo {
    kind: "AWS::SageMaker::UserProfile",
    attributes: &["UserProfileArn"],
    replace: &[
        "DomainId",
        "UserProfileName",
        "SingleSignOnUserIdentifier",
        "SingleSignOnUserValue",
    ],
    updatable: true,
    name_property: Some("UserProfileName"),
};

pub const SPACE: TypeInfo = TypeInfo {
    kind: "AWS::SageMaker::Space",
    attributes: &["SpaceArn", "Url"],
    replace: &[
        "DomainId",
        "SpaceName",
        "OwnershipSettings",
        "SpaceSharingSettings",
    ],
    updatable: true,
    name_property: Some("SpaceName"),
};

pub const APP: TypeInfo = TypeInfo {
    kind: "AWS::SageMaker::App",
    attributes: &["AppArn"],
    replace: &[],
    updatable: false,
    name_property: Some("AppName"),
};

pub const NOTEBOOK_INSTANCE: TypeInfo = TypeInfo {
    kind: "AWS::SageMaker::NotebookInstance",
    attributes: &["NotebookInstanceName"],
    replace: &[],
    updatable: false,
    name_property: Some("NotebookInstanceName"),
};

/// How long creation and deletion wait for SageMaker.
const SETTLE: Duration = Duration::from_secs(120);

/// The input of a create call: the allowed properties as they are (CloudFormation's
/// SageMaker properties are the API's members).
fn passthrough(p: &Props<'_>, allowed: &[&str]) -> Result<Map<String, Value>, Failure> {
    p.allow(allowed)?;
    let mut input = Map::new();
    for k in allowed {
        if let Some(v) = p.get(k) {
            input.insert((*k).to_string(), v.clone());
        }
    }
    Ok(input)
}

fn with_tags(ctx: &Ctx<'_>, p: &Props<'_>, input: &mut Map<String, Value>) -> Result<(), Failure> {
    let tags = ctx.tags(p, "Tags")?;
    input.remove("Tags");
    if !tags.is_empty() {
        input.insert("Tags".into(), super::key_value_tags(&tags));
    }
    Ok(())
}

/// Reads the resource with `Describe` until `field` is `want` (or it fails).
async fn settle<D: Operation<Service = ::sagemaker::SageMaker>>(
    ctx: &Ctx<'_>,
    input: Value,
    field: &str,
    want: &str,
) -> Result<Value, Failure> {
    let start = std::time::Instant::now();
    loop {
        let out = ctx
            .call::<D>(&ctx.svc.sagemaker, "sagemaker", input.clone())
            .await?;
        let status = out[field].as_str().unwrap_or_default().to_string();
        if status == want {
            return Ok(out);
        }
        if status.ends_with("Failed") || status == "Failed" {
            return Err(Failure(format!(
                "Resource handler returned message: \"{}\" (Service: SageMaker) (HandlerErrorCode: NotStabilized)",
                out["FailureReason"]
                    .as_str()
                    .unwrap_or("the resource failed")
            )));
        }
        if start.elapsed() > SETTLE {
            return Err(Failure(format!(
                "Resource did not stabilize: {field} is {status}, expected {want} (HandlerErrorCode: NotStabilized)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `Describe` says the resource is gone.
async fn gone<D: Operation<Service = ::sagemaker::SageMaker>>(
    ctx: &Ctx<'_>,
    input: Value,
) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    loop {
        match ctx
            .run::<D>(&ctx.svc.sagemaker, "sagemaker", input.clone())
            .await
        {
            Err(e) if super::is_not_found(&e) => return Ok(()),
            Err(e) => return Err(super::handler_failure("sagemaker", &e)),
            Ok(out) => {
                let status = out["Status"].as_str().unwrap_or_default();
                if status == "Deleted" {
                    return Ok(());
                }
            }
        }
        if start.elapsed() > SETTLE {
            return Err(Failure(
                "Resource was not deleted in time (HandlerErrorCode: NotStabilized)".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn create(ctx: &Ctx<'_>, kind: &str, p: &Props<'_>) -> Result<Created, Partial> {
    let sm = &ctx.svc.sagemaker;
    match kind {
        "AWS::SageMaker::Domain" => {
            let mut input = passthrough(
                p,
                &[
                    "AppNetworkAccessType",
                    "AppSecurityGroupManagement",
                    "AuthMode",
                    "DefaultSpaceSettings",
                    "DefaultUserSettings",
                    "DomainName",
                    "DomainSettings",
                    "KmsKeyId",
                    "SubnetIds",
                    "TagPropagation",
                    "Tags",
                    "VpcId",
                ],
            )?;
            p.required("DomainName")?;
            p.required("AuthMode")?;
            with_tags(ctx, p, &mut input)?;
            let out = ctx
                .call::<::sagemaker::CreateDomain>(sm, "sagemaker", Value::Object(input))
                .await?;
            let arn = out["DomainArn"].as_str().unwrap_or_default().to_string();
            let id = arn.rsplit('/').next().unwrap_or_default().to_string();
            let created = Created::new(id.clone())
                .attr("DomainArn", arn)
                .attr("DomainId", id.clone())
                .attr("Url", out["Url"].clone());
            match settle::<::sagemaker::DescribeDomain>(
                ctx,
                json!({"DomainId": id}),
                "Status",
                "InService",
            )
            .await
            {
                Ok(d) => Ok(created
                    .attr("HomeEfsFileSystemId", d["HomeEfsFileSystemId"].clone())
                    .attr(
                        "SecurityGroupIdForDomainBoundary",
                        json!(
                            d["SecurityGroupIdForDomainBoundary"]
                                .as_str()
                                .unwrap_or_default()
                        ),
                    )
                    .attr(
                        "SingleSignOnApplicationArn",
                        json!(d["SingleSignOnApplicationArn"].as_str().unwrap_or_default()),
                    )
                    .attr(
                        "SingleSignOnManagedApplicationInstanceId",
                        json!(
                            d["SingleSignOnManagedApplicationInstanceId"]
                                .as_str()
                                .unwrap_or_default()
                        ),
                    )),
                Err(f) => finish(created, Err(f)),
            }
        }
        "AWS::SageMaker::UserProfile" => {
            let mut input = passthrough(
                p,
                &[
                    "DomainId",
                    "UserProfileName",
                    "SingleSignOnUserIdentifier",
                    "SingleSignOnUserValue",
                    "UserSettings",
                    "Tags",
                ],
            )?;
            let domain = p.required("DomainId")?;
            let name = p.required("UserProfileName")?;
            with_tags(ctx, p, &mut input)?;
            let out = ctx
                .call::<::sagemaker::CreateUserProfile>(sm, "sagemaker", Value::Object(input))
                .await?;
            let created =
                Created::new(name.clone()).attr("UserProfileArn", out["UserProfileArn"].clone());
            let rest = settle::<::sagemaker::DescribeUserProfile>(
                ctx,
                json!({"DomainId": domain, "UserProfileName": name}),
                "Status",
                "InService",
            )
            .await
            .map(|_| ());
            finish(created, rest)
        }
        "AWS::SageMaker::Space" => {
            let mut input = passthrough(
                p,
                &[
                    "DomainId",
                    "SpaceName",
                    "SpaceDisplayName",
                    "SpaceSettings",
                    "OwnershipSettings",
                    "SpaceSharingSettings",
                    "Tags",
                ],
            )?;
            let domain = p.required("DomainId")?;
            let name = p.required("SpaceName")?;
            with_tags(ctx, p, &mut input)?;
            let out = ctx
                .call::<::sagemaker::CreateSpace>(sm, "sagemaker", Value::Object(input))
                .await?;
            let created = Created::new(name.clone()).attr("SpaceArn", out["SpaceArn"].clone());
            match settle::<::sagemaker::DescribeSpace>(
                ctx,
                json!({"DomainId": domain, "SpaceName": name}),
                "Status",
                "InService",
            )
            .await
            {
                Ok(d) => Ok(created.attr("Url", json!(d["Url"].as_str().unwrap_or_default()))),
                Err(f) => finish(created, Err(f)),
            }
        }
        "AWS::SageMaker::App" => {
            let mut input = passthrough(
                p,
                &[
                    "AppName",
                    "AppType",
                    "DomainId",
                    "UserProfileName",
                    "SpaceName",
                    "ResourceSpec",
                    "Tags",
                ],
            )?;
            let domain = p.required("DomainId")?;
            let name = p.required("AppName")?;
            let app_type = p.required("AppType")?;
            with_tags(ctx, p, &mut input)?;
            let out = ctx
                .call::<::sagemaker::CreateApp>(sm, "sagemaker", Value::Object(input))
                .await?;
            let created = Created::new(name.clone()).attr("AppArn", out["AppArn"].clone());
            let mut describe = json!({"DomainId": domain, "AppName": name, "AppType": app_type});
            if let Some(u) = p.str("UserProfileName")? {
                describe["UserProfileName"] = json!(u);
            }
            if let Some(s) = p.str("SpaceName")? {
                describe["SpaceName"] = json!(s);
            }
            let rest = settle::<::sagemaker::DescribeApp>(ctx, describe, "Status", "InService")
                .await
                .map(|_| ());
            finish(created, rest)
        }
        "AWS::SageMaker::NotebookInstance" => {
            let mut input = passthrough(
                p,
                &[
                    "NotebookInstanceName",
                    "InstanceType",
                    "RoleArn",
                    "KmsKeyId",
                    "SubnetId",
                    "SecurityGroupIds",
                    "DirectInternetAccess",
                    "RootAccess",
                    "VolumeSizeInGB",
                    "LifecycleConfigName",
                    "DefaultCodeRepository",
                    "AdditionalCodeRepositories",
                    "AcceleratorTypes",
                    "PlatformIdentifier",
                    "InstanceMetadataServiceConfiguration",
                    "Tags",
                ],
            )?;
            let name = match p.str("NotebookInstanceName")? {
                Some(n) => n,
                None => {
                    // Names are `[a-zA-Z0-9](-*[a-zA-Z0-9])*`, at most 63 characters.
                    let n = ctx.generated_name(63).replace('_', "-");
                    input.insert("NotebookInstanceName".into(), json!(n));
                    n
                }
            };
            if let Some(size) = p.int("VolumeSizeInGB")? {
                input.insert("VolumeSizeInGB".into(), json!(size));
            }
            with_tags(ctx, p, &mut input)?;
            let out = ctx
                .call::<::sagemaker::CreateNotebookInstance>(sm, "sagemaker", Value::Object(input))
                .await?;
            let arn = out["NotebookInstanceArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let created = Created::new(arn).attr("NotebookInstanceName", name.clone());
            let rest = settle::<::sagemaker::DescribeNotebookInstance>(
                ctx,
                json!({"NotebookInstanceName": name}),
                "NotebookInstanceStatus",
                "InService",
            )
            .await
            .map(|_| ());
            finish(created, rest)
        }
        other => Err(super::unsupported(other).into()),
    }
}

/// Updates tags of `arn` from `old` to `p`.
async fn retag(ctx: &Ctx<'_>, arn: &str, old: &Props<'_>, p: &Props<'_>) -> Result<(), Failure> {
    super::retag::<::sagemaker::DeleteTags, ::sagemaker::AddTags>(
        ctx,
        &ctx.svc.sagemaker,
        "sagemaker",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |keys| json!({"ResourceArn": arn, "TagKeys": keys}),
        |tags| json!({"ResourceArn": arn, "Tags": super::key_value_tags(tags)}),
    )
    .await
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let sm = &ctx.svc.sagemaker;
    let id = current.physical_id.clone().unwrap_or_default();
    let changed = |k: &str| old.get(k) != p.get(k);
    match current.kind.as_str() {
        "AWS::SageMaker::Domain" => {
            let mut input = Map::new();
            input.insert("DomainId".into(), json!(id));
            let mut any = false;
            for k in [
                "DefaultUserSettings",
                "DefaultSpaceSettings",
                "AppNetworkAccessType",
                "AppSecurityGroupManagement",
                "SubnetIds",
            ] {
                if changed(k)
                    && let Some(v) = p.get(k)
                {
                    input.insert(k.into(), v.clone());
                    any = true;
                }
            }
            if any {
                ctx.call::<::sagemaker::UpdateDomain>(sm, "sagemaker", Value::Object(input))
                    .await?;
                settle::<::sagemaker::DescribeDomain>(
                    ctx,
                    json!({"DomainId": id}),
                    "Status",
                    "InService",
                )
                .await?;
            }
            let arn = current
                .attributes
                .get("DomainArn")
                .and_then(Value::as_str)
                .unwrap_or_default();
            retag(ctx, arn, old, p).await?;
        }
        "AWS::SageMaker::UserProfile" => {
            let domain = p.required("DomainId")?;
            if changed("UserSettings") {
                let mut input = json!({"DomainId": domain, "UserProfileName": id});
                if let Some(s) = p.get("UserSettings") {
                    input["UserSettings"] = s.clone();
                }
                ctx.call::<::sagemaker::UpdateUserProfile>(sm, "sagemaker", input)
                    .await?;
                settle::<::sagemaker::DescribeUserProfile>(
                    ctx,
                    json!({"DomainId": domain, "UserProfileName": id}),
                    "Status",
                    "InService",
                )
                .await?;
            }
            let arn = current
                .attributes
                .get("UserProfileArn")
                .and_then(Value::as_str)
                .unwrap_or_default();
            retag(ctx, arn, old, p).await?;
        }
        "AWS::SageMaker::Space" => {
            let domain = p.required("DomainId")?;
            if changed("SpaceSettings") || changed("SpaceDisplayName") {
                let mut input = json!({"DomainId": domain, "SpaceName": id});
                if let Some(s) = p.get("SpaceSettings") {
                    input["SpaceSettings"] = s.clone();
                }
                if let Some(s) = p.get("SpaceDisplayName") {
                    input["SpaceDisplayName"] = s.clone();
                }
                ctx.call::<::sagemaker::UpdateSpace>(sm, "sagemaker", input)
                    .await?;
            }
            let arn = current
                .attributes
                .get("SpaceArn")
                .and_then(Value::as_str)
                .unwrap_or_default();
            retag(ctx, arn, old, p).await?;
        }
        other => return Err(super::unsupported(other)),
    }
    Ok(super::unchanged(current))
}

pub async fn delete(
    ctx: &Ctx<'_>,
    kind: &str,
    id: &str,
    p: &Props<'_>,
    current: &ResourceRecord,
) -> Result<(), Failure> {
    let sm = &ctx.svc.sagemaker;
    match kind {
        "AWS::SageMaker::Domain" => {
            ctx.call_gone_ok::<::sagemaker::DeleteDomain>(
                sm,
                "sagemaker",
                json!({"DomainId": id, "RetentionPolicy": {"HomeEfsFileSystem": "Retain"}}),
            )
            .await?;
            gone::<::sagemaker::DescribeDomain>(ctx, json!({"DomainId": id})).await
        }
        "AWS::SageMaker::UserProfile" => {
            let domain = p.required("DomainId")?;
            let input = json!({"DomainId": domain, "UserProfileName": id});
            ctx.call_gone_ok::<::sagemaker::DeleteUserProfile>(sm, "sagemaker", input.clone())
                .await?;
            gone::<::sagemaker::DescribeUserProfile>(ctx, input).await
        }
        "AWS::SageMaker::Space" => {
            let domain = p.required("DomainId")?;
            let input = json!({"DomainId": domain, "SpaceName": id});
            ctx.call_gone_ok::<::sagemaker::DeleteSpace>(sm, "sagemaker", input.clone())
                .await?;
            gone::<::sagemaker::DescribeSpace>(ctx, input).await
        }
        "AWS::SageMaker::App" => {
            let mut input = json!({
                "DomainId": p.required("DomainId")?,
                "AppName": id,
                "AppType": p.required("AppType")?,
            });
            if let Some(u) = p.str("UserProfileName")? {
                input["UserProfileName"] = json!(u);
            }
            if let Some(s) = p.str("SpaceName")? {
                input["SpaceName"] = json!(s);
            }
            ctx.call_gone_ok::<::sagemaker::DeleteApp>(sm, "sagemaker", input.clone())
                .await?;
            gone::<::sagemaker::DescribeApp>(ctx, input).await
        }
        "AWS::SageMaker::NotebookInstance" => {
            let name = current
                .attributes
                .get("NotebookInstanceName")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string();
            let input = json!({"NotebookInstanceName": name});
            let status = match ctx
                .run::<::sagemaker::DescribeNotebookInstance>(sm, "sagemaker", input.clone())
                .await
            {
                Ok(d) => d["NotebookInstanceStatus"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                Err(e) if super::is_not_found(&e) => return Ok(()),
                Err(e) => return Err(super::handler_failure("sagemaker", &e)),
            };
            if status != "Stopped" && status != "Failed" {
                if status != "Stopping" {
                    // Pending instances must reach InService before they can stop.
                    if status == "Pending" {
                        settle::<::sagemaker::DescribeNotebookInstance>(
                            ctx,
                            input.clone(),
                            "NotebookInstanceStatus",
                            "InService",
                        )
                        .await?;
                    }
                    ctx.call::<::sagemaker::StopNotebookInstance>(sm, "sagemaker", input.clone())
                        .await?;
                }
                settle::<::sagemaker::DescribeNotebookInstance>(
                    ctx,
                    input.clone(),
                    "NotebookInstanceStatus",
                    "Stopped",
                )
                .await?;
            }
            ctx.call_gone_ok::<::sagemaker::DeleteNotebookInstance>(sm, "sagemaker", input)
                .await
        }
        _ => Ok(()),
    }
}
