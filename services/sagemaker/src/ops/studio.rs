//! Studio: domains, user profiles, spaces, apps and presigned domain URLs.
//!
//! A domain names its VPC and subnets (they must belong to it), its security groups (they
//! must exist there; a `VpcOnly` domain needs them), the KMS key of its home volumes (it must
//! exist; SageMaker takes a grant on it as the caller, so `kms:CreateGrant` with
//! `kms:GrantIsForAWSResource = true` is what the caller needs) and default user settings
//! with an execution role that must trust `sagemaker.amazonaws.com`. User profiles, spaces
//! and apps carry the `sagemaker:domain-arn` tag of their domain.

use gateway::{Authorization, AwsError, Call, Via};
use serde_json::{Map, Value, json};

use super::{
    arn_in, arn_output, at, creating, delay, document, existing, insert_new, list, missing, modify,
    new_resource, opt, pass_role, required, string, strings, target,
};
use crate::errors::{in_use, not_found, validation};
use crate::kinds::{Kind, arn};
use crate::state::{Pending, Tag};
use crate::studio::{NetContext, SignIn};
use crate::validate::{self, NAME_PATTERN};
use crate::{SERVICE_PRINCIPAL, SageMaker, tags, time};

/// The tag SageMaker puts on the resources of a domain.
pub(crate) const DOMAIN_TAG: &str = "sagemaker:domain-arn";
pub(crate) const USER_PROFILE_TAG: &str = "sagemaker:user-profile-arn";
pub(crate) const SPACE_TAG: &str = "sagemaker:space-arn";

/// A domain id derived from the request id: the same in `authorize` (the ARN the check
/// names) and in the handler that creates it.
fn new_domain_id(call: &Call) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in call.request_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::from("d-");
    let mut x = h;
    for i in 0..12 {
        if i == 6 {
            x = x.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
        }
        id.push(ALPHABET[(x % 36) as usize] as char);
        x /= 36;
    }
    id
}

/// Every execution role a Studio request passes.
fn passed_roles(op: &str, input: &Value) -> Vec<String> {
    let paths: &[&[&str]] = match op {
        "CreateDomain" | "UpdateDomain" => &[
            &["DefaultUserSettings", "ExecutionRole"],
            &["DefaultSpaceSettings", "ExecutionRole"],
        ],
        "CreateUserProfile" | "UpdateUserProfile" => &[&["UserSettings", "ExecutionRole"]],
        _ => &[],
    };
    let mut roles: Vec<String> = paths.iter().filter_map(|p| string(input, p)).collect();
    roles.dedup();
    roles
}

pub(super) fn authorize(
    svc: &SageMaker,
    call: &Call,
    op: &'static str,
    input: &Value,
) -> Result<Authorization, AwsError> {
    let (auth, resource_arn) = match op {
        "CreateDomain" => {
            let a = arn_in(svc, call, Kind::Domain, &new_domain_id(call));
            (creating(svc, call, op, a.clone(), input)?, a)
        }
        "CreateUserProfile" | "CreateSpace" | "CreateApp" => {
            let kind = super::target_kind(op).unwrap_or(Kind::App);
            let (_, path) = target(kind, input)?;
            let a = arn_in(svc, call, kind, &path);
            (creating(svc, call, op, a.clone(), input)?, a)
        }
        _ => {
            let kind = if op == "CreatePresignedDomainUrl" {
                Kind::UserProfile
            } else {
                super::target_kind(op).unwrap_or(Kind::Domain)
            };
            let (id, path) = target(kind, input)?;
            let check = existing(svc, call, op, kind, &id, &path, input);
            (Authorization::check(check), arn_in(svc, call, kind, &path))
        }
    };
    let mut auth = auth;
    for role in passed_roles(op, input) {
        auth = auth.and(pass_role(call, &role, &resource_arn));
    }
    Ok(auth)
}

// ---------------------------------------------------------------------------------------
// Domains

/// The URL of the Studio pages of `domain_id` on the public endpoint.
fn domain_url(svc: &SageMaker, domain_id: &str) -> String {
    match svc
        .installed_gateway()
        .and_then(|g| g.listener_addr("public"))
    {
        Some(addr) => format!("http://{addr}{}{domain_id}/", crate::studio::PREFIX),
        None => format!("https://{domain_id}.studio.{}.sagemaker.aws", svc.region()),
    }
}

/// A short random-looking resource id (`fs-...`, `sg-...`).
fn resource_id(prefix: &str, seed: &str) -> String {
    let mut h: u64 = 0x811c_9dc5;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{prefix}-{h:016x}{:x}", h >> 60)
}

/// Validates a domain's network: subnets in its VPC, security groups there; `VpcOnly`
/// needs subnets and security groups.
fn check_domain_network(svc: &SageMaker, call: &Call, doc: &Value) -> Result<(), AwsError> {
    let vpc = string(doc, &["VpcId"]);
    let subnets = strings(doc, &["SubnetIds"]);
    let mut groups = strings(doc, &["DefaultUserSettings", "SecurityGroups"]);
    groups.extend(strings(doc, &["DomainSettings", "SecurityGroupIds"]));
    let vpc_only = string(doc, &["AppNetworkAccessType"]).as_deref() == Some("VpcOnly");
    if vpc_only {
        if vpc.is_none() || subnets.is_empty() {
            return Err(validation(
                "VpcId and SubnetIds are required when AppNetworkAccessType is VpcOnly.",
            ));
        }
        if groups.is_empty() {
            return Err(validation(
                "Security groups must be specified in DefaultUserSettings when AppNetworkAccessType is VpcOnly.",
            ));
        }
    }
    if vpc.is_some() || !subnets.is_empty() {
        let v = vpc
            .as_deref()
            .ok_or_else(|| validation("VpcId must be specified with SubnetIds."))?;
        if subnets.is_empty() {
            return Err(validation("SubnetIds must be specified with VpcId."));
        }
        validate::network(svc, call.account(), &subnets, &groups, Some(v))?;
    } else if !groups.is_empty() {
        validate::network(svc, call.account(), &[], &groups, None)?;
    }
    Ok(())
}

/// The grant SageMaker takes, as the caller, on a domain's home-volume key.
async fn grant_home_key(
    svc: &SageMaker,
    call: &Call,
    key_arn: &str,
    domain_arn: &str,
) -> Result<(), AwsError> {
    let op = kms::CreateGrant {
        key_id: key_arn.to_string(),
        grantee_principal: SERVICE_PRINCIPAL.to_string(),
        retiring_principal: Some(SERVICE_PRINCIPAL.to_string()),
        operations: [
            "Encrypt",
            "Decrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
            "DescribeKey",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        constraints: Some(kms::GrantConstraintsShape {
            encryption_context_subset: Some(
                [(crate::home::CONTEXT_KEY.to_string(), domain_arn.to_string())]
                    .into_iter()
                    .collect(),
            ),
            encryption_context_equals: None,
        }),
        name: Some(
            domain_arn
                .rsplit('/')
                .next()
                .unwrap_or("domain")
                .to_string(),
        ),
        ..Default::default()
    };
    call.invoke(svc.kms(), op, "kms", Via::service(SERVICE_PRINCIPAL))
        .await
        .map(|_| ())
}

pub(super) async fn create_domain(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let name = required(&input, "DomainName")?;
    validate::name(name, "domainName", NAME_PATTERN)?;
    let id = new_domain_id(call);
    let domain_arn = arn_in(svc, call, Kind::Domain, &id);
    let mut extra = json!({
        "DomainArn": domain_arn,
        "DomainId": id,
        "HomeEfsFileSystemId": resource_id("fs", &domain_arn),
        "Status": "Pending",
        "CreationTime": time::of_call(call),
        "LastModifiedTime": time::of_call(call),
        "Url": domain_url(svc, &id),
        "AppNetworkAccessType": opt(&input, "AppNetworkAccessType").unwrap_or("PublicInternetOnly"),
        "AppSecurityGroupManagement": opt(&input, "AppSecurityGroupManagement").unwrap_or("Service"),
    });
    let doc = document(&input, Value::Null);
    check_domain_network(svc, call, &doc)?;
    for role in passed_roles("CreateDomain", &input) {
        validate::role(svc, call, &role)?;
    }
    if let Some(k) = string(
        &input,
        &["DefaultUserSettings", "SharingSettings", "S3KmsKeyId"],
    ) {
        validate::kms_key(svc, call, &k)?;
    }
    let home_key = opt(&input, "KmsKeyId").or_else(|| opt(&input, "HomeEfsFileSystemKmsKeyId"));
    if let Some(k) = home_key {
        let key_arn = validate::kms_key(svc, call, k)?;
        grant_home_key(svc, call, &key_arn, &domain_arn).await?;
        extra["HomeEfsFileSystemKmsKeyId"] = json!(k);
        extra["_HomeKeyArn"] = json!(key_arn);
    }
    if string(&doc, &["AppNetworkAccessType"]).as_deref() == Some("VpcOnly") {
        extra["SecurityGroupIdForDomainBoundary"] = json!(resource_id("sg", &id));
    }
    let doc = document(&input, extra);
    let studio = svc.studio_context(call);
    let tags = tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref());
    let mut r = new_resource(
        call,
        Kind::Domain,
        id.clone(),
        domain_arn.clone(),
        doc,
        tags,
    );
    r.pending = Some(Pending::at(
        r.created + delay::STUDIO,
        json!({"Status": "InService"}),
    ));
    let url = domain_url(svc, &id);
    insert_new(svc, call, r, |_| {
        Some(in_use("A domain with this id already exists."))
    })
    .await?;
    Ok(json!({"DomainArn": domain_arn, "DomainId": id, "Url": url}))
}

/// Merges the members of `patch` into object `target` (one level deep for objects).
fn merge(target: &mut Value, patch: &Value) {
    if let (Value::Object(t), Value::Object(p)) = (target, patch) {
        for (k, v) in p {
            t.insert(k.clone(), v.clone());
        }
    }
}

pub(super) async fn update_domain(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, _) = target(Kind::Domain, &input)?;
    for role in passed_roles("UpdateDomain", &input) {
        validate::role(svc, call, &role)?;
    }
    let domain_arn = arn_in(svc, call, Kind::Domain, &id);
    let missing_domain = missing(Kind::Domain, &id, &domain_arn);
    let current = svc
        .read(|st| {
            Ok(st
                .get(call.account(), Kind::Domain, &id)
                .map(|r| r.view(time::of_call(call))))
        })?
        .ok_or_else(|| missing(Kind::Domain, &id, &domain_arn))?;
    let mut next = current.clone();
    if let Some(s) = at(&input, &["DefaultUserSettings"]) {
        let slot = next
            .as_object_mut()
            .map(|m| m.entry("DefaultUserSettings").or_insert(json!({})));
        if let Some(slot) = slot {
            merge(slot, s);
        }
    }
    if let Some(s) = at(&input, &["DomainSettingsForUpdate"])
        && let Some(slot) = next
            .as_object_mut()
            .map(|m| m.entry("DomainSettings").or_insert(json!({})))
    {
        merge(slot, s);
    }
    for m in [
        "DefaultSpaceSettings",
        "AppSecurityGroupManagement",
        "SubnetIds",
        "AppNetworkAccessType",
        "TagPropagation",
    ] {
        if let Some(v) = at(&input, &[m]) {
            next[m] = v.clone();
        }
    }
    check_domain_network(svc, call, &next)?;
    modify(
        svc,
        call,
        Kind::Domain,
        &id,
        missing_domain,
        move |r, now| {
            let mut doc = next;
            doc["Status"] = json!("Updating");
            doc["LastModifiedTime"] = json!(now);
            r.doc = doc;
            r.pending = Some(Pending::at(
                now + delay::STUDIO,
                json!({"Status": "InService"}),
            ));
            Ok(())
        },
    )
    .await?;
    Ok(json!({ "DomainArn": domain_arn }))
}

/// Whether a resource still counts (an app that is deleted does not).
fn live(doc: &Value) -> bool {
    !matches!(
        doc.get("Status").and_then(Value::as_str),
        Some("Deleted") | Some("Failed")
    )
}

pub(super) async fn delete_domain(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, _) = target(Kind::Domain, &input)?;
    let domain_arn = arn_in(svc, call, Kind::Domain, &id);
    let retain =
        string(&input, &["RetentionPolicy", "HomeEfsFileSystem"]).as_deref() != Some("Delete");
    let account = call.account().to_string();
    let now = time::of_call(call);
    let removed_blobs = svc
        .write(call, |st, batch| {
            if st.get(&account, Kind::Domain, &id).is_none() {
                return Err(missing(Kind::Domain, &id, &domain_arn));
            }
            let prefix = format!("{id}/");
            for kind in [Kind::UserProfile, Kind::Space, Kind::App] {
                if st
                    .of_kind(&account, kind)
                    .any(|r| r.id.starts_with(&prefix) && live(&r.view(now)))
                {
                    return Err(in_use(format!(
                        "Domain {id} has {}s. Delete them before deleting the domain.",
                        kind.spec().noun.to_lowercase()
                    )));
                }
            }
            // Deleted apps go with their domain.
            let gone: Vec<String> = st
                .of_kind(&account, Kind::App)
                .filter(|r| r.id.starts_with(&prefix))
                .map(|r| r.id.clone())
                .collect();
            for app in gone {
                if let Some(r) = st.remove(&account, Kind::App, &app) {
                    batch.delete::<crate::state::Resource>(&storage::Record::key(&r));
                }
            }
            if let Some(r) = st.remove(&account, Kind::Domain, &id) {
                batch.delete::<crate::state::Resource>(&storage::Record::key(&r));
            }
            let mut blobs = Vec::new();
            if !retain {
                blobs = crate::home::remove_domain(st, batch, &account, &id);
            }
            Ok(blobs)
        })
        .await?;
    for b in removed_blobs {
        let _ = svc.home_blobs().delete(b);
    }
    Ok(json!({}))
}

/// The domain's document, or `ResourceNotFound`.
fn domain_doc(svc: &SageMaker, call: &Call, domain_id: &str) -> Result<Value, AwsError> {
    let now = time::of_call(call);
    svc.read(|st| {
        Ok(st
            .get(call.account(), Kind::Domain, domain_id)
            .map(|r| r.view(now)))
    })?
    .ok_or_else(|| {
        missing(
            Kind::Domain,
            domain_id,
            &arn_in(svc, call, Kind::Domain, domain_id),
        )
    })
}

/// The system tags of a resource in domain `domain_arn`.
fn domain_tags(tags: Vec<Tag>, domain_arn: &str) -> Vec<Tag> {
    tags::merged(&tags, &[Tag::new(DOMAIN_TAG, domain_arn)])
}

// ---------------------------------------------------------------------------------------
// User profiles

pub(super) async fn create_user_profile(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let domain_id = required(&input, "DomainId")?.to_string();
    let name = required(&input, "UserProfileName")?.to_string();
    validate::name(&name, "userProfileName", NAME_PATTERN)?;
    let domain = domain_doc(svc, call, &domain_id)?;
    if domain.get("AuthMode").and_then(Value::as_str) == Some("SSO")
        && opt(&input, "SingleSignOnUserValue").is_none()
    {
        return Err(validation(
            "SingleSignOnUserIdentifier and SingleSignOnUserValue are required for a domain in SSO mode.",
        ));
    }
    for role in passed_roles("CreateUserProfile", &input) {
        validate::role(svc, call, &role)?;
    }
    let groups = strings(&input, &["UserSettings", "SecurityGroups"]);
    if !groups.is_empty() {
        validate::network(
            svc,
            call.account(),
            &[],
            &groups,
            string(&domain, &["VpcId"]).as_deref(),
        )?;
    }
    let path = format!("{domain_id}/{name}");
    let profile_arn = arn_in(svc, call, Kind::UserProfile, &path);
    let uid = crate::home::next_uid(svc, call.account(), &domain_id);
    let now = time::of_call(call);
    let doc = document(
        &input,
        json!({
            "UserProfileArn": profile_arn,
            "HomeEfsFileSystemUid": uid,
            "Status": "Pending",
            "CreationTime": now,
            "LastModifiedTime": now,
        }),
    );
    let studio = svc.studio_context(call);
    let tags = domain_tags(
        tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref()),
        &string(&domain, &["DomainArn"]).unwrap_or_default(),
    );
    let mut r = new_resource(
        call,
        Kind::UserProfile,
        path,
        profile_arn.clone(),
        doc,
        tags,
    );
    r.pending = Some(Pending::at(
        now + delay::STUDIO,
        json!({"Status": "InService"}),
    ));
    let exists = profile_arn.clone();
    insert_new(svc, call, r, move |_| {
        Some(in_use(format!("User profile \"{exists}\" already exists.")))
    })
    .await?;
    Ok(arn_output("UserProfileArn", &profile_arn))
}

pub(super) async fn update_user_profile(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, path) = target(Kind::UserProfile, &input)?;
    for role in passed_roles("UpdateUserProfile", &input) {
        validate::role(svc, call, &role)?;
    }
    let profile_arn = arn_in(svc, call, Kind::UserProfile, &path);
    let name = opt(&input, "UserProfileName")
        .unwrap_or_default()
        .to_string();
    let settings = at(&input, &["UserSettings"]).cloned();
    modify(
        svc,
        call,
        Kind::UserProfile,
        &id,
        missing(Kind::UserProfile, &name, &profile_arn),
        move |r, now| {
            if let Some(s) = settings
                && let Some(slot) = r
                    .doc
                    .as_object_mut()
                    .map(|m| m.entry("UserSettings").or_insert(json!({})))
            {
                merge(slot, &s);
            }
            r.doc["LastModifiedTime"] = json!(now);
            r.doc["Status"] = json!("Updating");
            r.pending = Some(Pending::at(
                now + delay::STUDIO,
                json!({"Status": "InService"}),
            ));
            Ok(())
        },
    )
    .await?;
    Ok(arn_output("UserProfileArn", &profile_arn))
}

pub(super) async fn delete_user_profile(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, path) = target(Kind::UserProfile, &input)?;
    let domain_id = required(&input, "DomainId")?.to_string();
    let name = required(&input, "UserProfileName")?.to_string();
    let profile_arn = arn_in(svc, call, Kind::UserProfile, &path);
    let account = call.account().to_string();
    let now = time::of_call(call);
    svc.write(call, move |st, batch| {
        if st.get(&account, Kind::UserProfile, &id).is_none() {
            return Err(missing(Kind::UserProfile, &name, &profile_arn));
        }
        let prefix = format!("{domain_id}/{name}/");
        if st
            .of_kind(&account, Kind::App)
            .any(|r| r.id.starts_with(&prefix) && live(&r.view(now)))
        {
            return Err(in_use(format!(
                "User profile \"{profile_arn}\" has apps. Delete them before deleting the user profile."
            )));
        }
        let owns_space = st.of_kind(&account, Kind::Space).any(|r| {
            r.id.starts_with(&format!("{domain_id}/"))
                && string(&r.view(now), &["OwnershipSettings", "OwnerUserProfileName"]).as_deref()
                    == Some(name.as_str())
        });
        if owns_space {
            return Err(in_use(format!(
                "User profile \"{profile_arn}\" owns spaces. Delete them before deleting the user profile."
            )));
        }
        if let Some(r) = st.remove(&account, Kind::UserProfile, &id) {
            batch.delete::<crate::state::Resource>(&storage::Record::key(&r));
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub(super) fn list_user_profiles(
    svc: &SageMaker,
    call: &Call,
    input: &Value,
) -> Result<Value, AwsError> {
    let domain = opt(input, "DomainIdEquals").map(str::to_string);
    let contains = opt(input, "UserProfileNameContains").map(str::to_lowercase);
    list(svc, call, Kind::UserProfile, input, |d| {
        domain
            .as_deref()
            .is_none_or(|x| d.get("DomainId").and_then(Value::as_str) == Some(x))
            && contains.as_deref().is_none_or(|c| {
                d.get("UserProfileName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.to_lowercase().contains(c))
            })
    })
}

// ---------------------------------------------------------------------------------------
// Spaces

/// A space's owner (user profile ARN, for a private space) and sharing type.
pub(crate) fn space_ownership(
    svc: &SageMaker,
    account: &str,
    doc: &Value,
) -> (Option<String>, String) {
    let domain = doc.get("DomainId").and_then(Value::as_str).unwrap_or("");
    let owner = string(doc, &["OwnershipSettings", "OwnerUserProfileName"]).map(|p| {
        arn(
            svc.region(),
            account,
            Kind::UserProfile,
            &format!("{domain}/{p}"),
        )
    });
    let sharing = string(doc, &["SpaceSharingSettings", "SharingType"])
        .unwrap_or_else(|| "Shared".to_string());
    (owner, sharing)
}

/// The summary members ListSpaces adds from a space's settings.
pub(crate) fn space_summary_extras(doc: &Value, out: &mut Map<String, Value>) {
    if let Some(t) = string(doc, &["SpaceSettings", "AppType"]) {
        out.insert("SpaceSettingsSummary".into(), json!({"AppType": t}));
    }
    if let Some(t) = string(doc, &["SpaceSharingSettings", "SharingType"]) {
        out.insert(
            "SpaceSharingSettingsSummary".into(),
            json!({"SharingType": t}),
        );
    }
    if let Some(o) = string(doc, &["OwnershipSettings", "OwnerUserProfileName"]) {
        out.insert(
            "OwnershipSettingsSummary".into(),
            json!({"OwnerUserProfileName": o}),
        );
    }
}

pub(super) async fn create_space(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let domain_id = required(&input, "DomainId")?.to_string();
    let name = required(&input, "SpaceName")?.to_string();
    validate::name(&name, "spaceName", NAME_PATTERN)?;
    let domain = domain_doc(svc, call, &domain_id)?;
    if let Some(owner) = string(&input, &["OwnershipSettings", "OwnerUserProfileName"]) {
        let pid = format!("{domain_id}/{owner}");
        let exists =
            svc.read(|st| Ok(st.get(call.account(), Kind::UserProfile, &pid).is_some()))?;
        if !exists {
            return Err(missing(
                Kind::UserProfile,
                &owner,
                &arn_in(svc, call, Kind::UserProfile, &pid),
            ));
        }
    } else if string(&input, &["SpaceSharingSettings", "SharingType"]).as_deref() == Some("Private")
    {
        return Err(validation(
            "OwnershipSettings must be specified for a private space.",
        ));
    }
    let path = format!("{domain_id}/{name}");
    let space_arn = arn_in(svc, call, Kind::Space, &path);
    let now = time::of_call(call);
    let doc = document(
        &input,
        json!({
            "SpaceArn": space_arn,
            "HomeEfsFileSystemUid": crate::home::next_uid(svc, call.account(), &domain_id),
            "Status": "Pending",
            "CreationTime": now,
            "LastModifiedTime": now,
            "Url": format!("{}?space={name}", domain_url(svc, &domain_id)),
        }),
    );
    let studio = svc.studio_context(call);
    let tags = domain_tags(
        tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref()),
        &string(&domain, &["DomainArn"]).unwrap_or_default(),
    );
    let mut r = new_resource(call, Kind::Space, path, space_arn.clone(), doc, tags);
    r.pending = Some(Pending::at(
        now + delay::STUDIO,
        json!({"Status": "InService"}),
    ));
    let exists = space_arn.clone();
    insert_new(svc, call, r, move |_| {
        Some(in_use(format!("Space \"{exists}\" already exists.")))
    })
    .await?;
    Ok(arn_output("SpaceArn", &space_arn))
}

pub(super) async fn update_space(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, path) = target(Kind::Space, &input)?;
    let space_arn = arn_in(svc, call, Kind::Space, &path);
    let name = opt(&input, "SpaceName").unwrap_or_default().to_string();
    let settings = at(&input, &["SpaceSettings"]).cloned();
    let display = at(&input, &["SpaceDisplayName"]).cloned();
    modify(
        svc,
        call,
        Kind::Space,
        &id,
        missing(Kind::Space, &name, &space_arn),
        move |r, now| {
            if let Some(s) = settings
                && let Some(slot) = r
                    .doc
                    .as_object_mut()
                    .map(|m| m.entry("SpaceSettings").or_insert(json!({})))
            {
                merge(slot, &s);
            }
            if let Some(d) = display {
                r.doc["SpaceDisplayName"] = d;
            }
            r.doc["LastModifiedTime"] = json!(now);
            Ok(())
        },
    )
    .await?;
    Ok(arn_output("SpaceArn", &space_arn))
}

pub(super) async fn delete_space(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, path) = target(Kind::Space, &input)?;
    let space_arn = arn_in(svc, call, Kind::Space, &path);
    let name = required(&input, "SpaceName")?.to_string();
    let account = call.account().to_string();
    let now = time::of_call(call);
    svc.write(call, move |st, batch| {
        if st.get(&account, Kind::Space, &id).is_none() {
            return Err(missing(Kind::Space, &name, &space_arn));
        }
        let prefix = format!("{id}/");
        if st
            .of_kind(&account, Kind::App)
            .any(|r| r.id.starts_with(&prefix) && live(&r.view(now)))
        {
            return Err(in_use(format!(
                "Space \"{space_arn}\" has apps. Delete them before deleting the space."
            )));
        }
        if let Some(r) = st.remove(&account, Kind::Space, &id) {
            batch.delete::<crate::state::Resource>(&storage::Record::key(&r));
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub(super) fn list_spaces(svc: &SageMaker, call: &Call, input: &Value) -> Result<Value, AwsError> {
    let domain = opt(input, "DomainIdEquals").map(str::to_string);
    let contains = opt(input, "SpaceNameContains").map(str::to_lowercase);
    list(svc, call, Kind::Space, input, |d| {
        domain
            .as_deref()
            .is_none_or(|x| d.get("DomainId").and_then(Value::as_str) == Some(x))
            && contains.as_deref().is_none_or(|c| {
                d.get("SpaceName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.to_lowercase().contains(c))
            })
    })
}

// ---------------------------------------------------------------------------------------
// Apps

/// The instance type an app gets when its request names none: the owner's or domain's
/// default resource spec for that app type, else SageMaker's default.
fn default_resource_spec(app_type: &str, settings: &[Option<Value>]) -> Value {
    let member = format!("{app_type}AppSettings");
    for s in settings.iter().flatten() {
        if let Some(spec) = at(s, &[&member, "DefaultResourceSpec"]) {
            return spec.clone();
        }
    }
    match app_type {
        "JupyterServer" => json!({"InstanceType": "system"}),
        _ => json!({"InstanceType": "ml.t3.medium"}),
    }
}

pub(super) async fn create_app(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, path) = target(Kind::App, &input)?;
    let domain_id = required(&input, "DomainId")?.to_string();
    let app_type = required(&input, "AppType")?.to_string();
    let name = required(&input, "AppName")?.to_string();
    validate::name(&name, "appName", NAME_PATTERN)?;
    let domain = domain_doc(svc, call, &domain_id)?;
    let now = time::of_call(call);
    let owner_settings = match (opt(&input, "UserProfileName"), opt(&input, "SpaceName")) {
        (Some(p), _) => {
            let pid = format!("{domain_id}/{p}");
            let doc = svc
                .read(|st| {
                    Ok(st
                        .get(call.account(), Kind::UserProfile, &pid)
                        .map(|r| r.view(now)))
                })?
                .ok_or_else(|| {
                    missing(
                        Kind::UserProfile,
                        p,
                        &arn_in(svc, call, Kind::UserProfile, &pid),
                    )
                })?;
            at(&doc, &["UserSettings"]).cloned()
        }
        (None, Some(s)) => {
            let sid = format!("{domain_id}/{s}");
            let doc = svc
                .read(|st| {
                    Ok(st
                        .get(call.account(), Kind::Space, &sid)
                        .map(|r| r.view(now)))
                })?
                .ok_or_else(|| missing(Kind::Space, s, &arn_in(svc, call, Kind::Space, &sid)))?;
            at(&doc, &["SpaceSettings"]).cloned()
        }
        _ => None,
    };
    let spec = at(&input, &["ResourceSpec"]).cloned().unwrap_or_else(|| {
        default_resource_spec(
            &app_type,
            &[
                owner_settings,
                at(&domain, &["DefaultUserSettings"]).cloned(),
            ],
        )
    });
    let app_arn = arn_in(svc, call, Kind::App, &path);
    let doc = document(
        &input,
        json!({
            "AppArn": app_arn,
            "Status": "Pending",
            "CreationTime": now,
            "LastHealthCheckTimestamp": now,
            "LastUserActivityTimestamp": now,
            "ResourceSpec": spec,
        }),
    );
    let studio = svc.studio_context(call);
    // The domain's tags and (for a user profile's app) the profile's are added to the apps
    // they launch; the request's own tags win, then the profile's.
    let inherited = svc.read(|st| {
        let mut t = st
            .get(call.account(), Kind::Domain, &domain_id)
            .map(|r| r.tags.clone())
            .unwrap_or_default();
        if let Some(p) = opt(&input, "UserProfileName")
            && let Some(r) = st.get(
                call.account(),
                Kind::UserProfile,
                &format!("{domain_id}/{p}"),
            )
        {
            t = tags::merged(&t, &r.tags);
        }
        t.retain(|x| !x.key.starts_with("sagemaker:"));
        Ok(t)
    })?;
    let tags = domain_tags(
        tags::merged(
            &inherited,
            &tags::requested(&tags::from_input(&input, "Tags")?, studio.as_ref()),
        ),
        &string(&domain, &["DomainArn"]).unwrap_or_default(),
    );
    let mut r = new_resource(call, Kind::App, id, app_arn.clone(), doc, tags);
    r.pending = Some(Pending::at(
        now + delay::STUDIO,
        json!({"Status": "InService"}),
    ));
    let exists = app_arn.clone();
    insert_new(svc, call, r, move |old| {
        live(&old.doc).then(|| in_use(format!("App \"{exists}\" already exists.")))
    })
    .await?;
    Ok(arn_output("AppArn", &app_arn))
}

pub(super) async fn delete_app(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let (id, path) = target(Kind::App, &input)?;
    let app_arn = arn_in(svc, call, Kind::App, &path);
    let name = opt(&input, "AppName").unwrap_or_default().to_string();
    let gone = missing(Kind::App, &name, &app_arn);
    modify(svc, call, Kind::App, &id, gone, move |r, now| {
        match r.doc.get("Status").and_then(Value::as_str) {
            Some("Deleted") | Some("Deleting") => Err(not_found(format!(
                "App \"{}\" does not exist or is already deleted.",
                r.arn
            ))),
            _ => {
                r.doc["Status"] = json!("Deleting");
                r.pending = Some(Pending::at(now + delay::STOP, json!({"Status": "Deleted"})));
                Ok(())
            }
        }
    })
    .await?;
    Ok(json!({}))
}

pub(super) fn list_apps(svc: &SageMaker, call: &Call, input: &Value) -> Result<Value, AwsError> {
    let domain = opt(input, "DomainIdEquals").map(str::to_string);
    let profile = opt(input, "UserProfileNameEquals").map(str::to_string);
    let space = opt(input, "SpaceNameEquals").map(str::to_string);
    list(svc, call, Kind::App, input, |d| {
        let eq = |m: &str, want: &Option<String>| {
            want.as_deref()
                .is_none_or(|x| d.get(m).and_then(Value::as_str) == Some(x))
        };
        eq("DomainId", &domain) && eq("UserProfileName", &profile) && eq("SpaceName", &space)
    })
}

// ---------------------------------------------------------------------------------------
// Presigned domain URLs

pub(super) async fn create_presigned_domain_url(
    svc: &SageMaker,
    call: &Call,
    input: Value,
) -> Result<Value, AwsError> {
    let domain_id = required(&input, "DomainId")?.to_string();
    let profile = required(&input, "UserProfileName")?.to_string();
    let domain = domain_doc(svc, call, &domain_id)?;
    if domain.get("AuthMode").and_then(Value::as_str) == Some("SSO") {
        return Err(validation(
            "CreatePresignedDomainUrl is not supported for domains in SSO authentication mode.",
        ));
    }
    let now = time::of_call(call);
    let pid = format!("{domain_id}/{profile}");
    let exists = svc.read(|st| Ok(st.get(call.account(), Kind::UserProfile, &pid).is_some()))?;
    if !exists {
        return Err(missing(
            Kind::UserProfile,
            &profile,
            &arn_in(svc, call, Kind::UserProfile, &pid),
        ));
    }
    let space = opt(&input, "SpaceName").map(str::to_string);
    if let Some(s) = &space {
        let sid = format!("{domain_id}/{s}");
        let doc = svc
            .read(|st| {
                Ok(st
                    .get(call.account(), Kind::Space, &sid)
                    .map(|r| r.view(now)))
            })?
            .ok_or_else(|| missing(Kind::Space, s, &arn_in(svc, call, Kind::Space, &sid)))?;
        let (owner, sharing) = space_ownership(svc, call.account(), &doc);
        let me = arn_in(svc, call, Kind::UserProfile, &pid);
        if sharing == "Private" && owner.as_deref() != Some(me.as_str()) {
            return Err(validation(format!(
                "Space {s} is private to another user profile."
            )));
        }
    }
    let expires_in = input
        .get("ExpiresInSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(300);
    let session_seconds = input
        .get("SessionExpirationDurationInSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(43_200);
    let context = NetContext::of_call(call);
    let host = crate::studio::studio_host(svc, call.account(), &context)
        .ok_or_else(|| AwsError::internal("the public endpoint is not listening"))?;
    let sign_in = SignIn {
        account: call.account().to_string(),
        domain_id: domain_id.clone(),
        profile,
        space,
        context,
        expires_at: now + expires_in as f64,
        session_seconds,
        landing: opt(&input, "LandingUri").map(str::to_string),
    };
    let token = svc.issue_sign_in_for(call, sign_in).await?;
    Ok(json!({
        "AuthorizedUrl": format!("http://{host}{}{domain_id}/auth?token={token}", crate::studio::PREFIX)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_passed_by_studio_requests() {
        let input = json!({"DefaultUserSettings": {"ExecutionRole": "arn:r1"},
                           "DefaultSpaceSettings": {"ExecutionRole": "arn:r2"}});
        assert_eq!(
            passed_roles("CreateDomain", &input),
            vec!["arn:r1", "arn:r2"]
        );
        assert_eq!(
            passed_roles(
                "CreateUserProfile",
                &json!({"UserSettings": {"ExecutionRole": "arn:r3"}})
            ),
            vec!["arn:r3"]
        );
        assert!(passed_roles("CreateUserProfile", &json!({})).is_empty());
    }

    #[test]
    fn default_resource_specs_come_from_settings_then_sagemaker() {
        let s = json!({"KernelGatewayAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.m5.large"}}});
        assert_eq!(
            default_resource_spec("KernelGateway", &[None, Some(s)])["InstanceType"],
            "ml.m5.large"
        );
        assert_eq!(
            default_resource_spec("JupyterServer", &[])["InstanceType"],
            "system"
        );
    }
}
