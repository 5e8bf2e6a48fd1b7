//! `AWS::IAM::Role`, `Policy`, `ManagedPolicy`, `User`, `Group` and `InstanceProfile`.

use serde_json::{Map, Value, json};

use super::{Created, Ctx, Failure, Partial, Props, TypeInfo, finish, key_value_tags, put, retag};
use crate::state::ResourceRecord;

pub const ROLE: TypeInfo = TypeInfo {
    kind: "AWS::IAM::Role",
    attributes: &["Arn", "RoleId"],
    replace: &["RoleName", "Path"],
    updatable: true,
    name_property: Some("RoleName"),
};

pub const POLICY: TypeInfo = TypeInfo {
    kind: "AWS::IAM::Policy",
    attributes: &["Id"],
    replace: &[],
    updatable: true,
    name_property: None,
};

pub const MANAGED_POLICY: TypeInfo = TypeInfo {
    kind: "AWS::IAM::ManagedPolicy",
    attributes: &[
        "PolicyArn",
        "PolicyId",
        "DefaultVersionId",
        "AttachmentCount",
        "IsAttachable",
        "CreateDate",
        "UpdateDate",
        "Path",
        "PermissionsBoundaryUsageCount",
    ],
    replace: &["ManagedPolicyName", "Path", "Description"],
    updatable: true,
    name_property: Some("ManagedPolicyName"),
};

pub const USER: TypeInfo = TypeInfo {
    kind: "AWS::IAM::User",
    attributes: &["Arn"],
    replace: &["UserName", "Path"],
    updatable: true,
    name_property: Some("UserName"),
};

pub const GROUP: TypeInfo = TypeInfo {
    kind: "AWS::IAM::Group",
    attributes: &["Arn"],
    replace: &["GroupName", "Path"],
    updatable: true,
    name_property: Some("GroupName"),
};

pub const INSTANCE_PROFILE: TypeInfo = TypeInfo {
    kind: "AWS::IAM::InstanceProfile",
    attributes: &["Arn"],
    replace: &["InstanceProfileName", "Path"],
    updatable: true,
    name_property: Some("InstanceProfileName"),
};

/// An inline policy of a `Policies` list.
struct Inline {
    name: String,
    document: String,
}

fn inline_policies(p: &Props<'_>) -> Result<Vec<Inline>, Failure> {
    let mut out = Vec::new();
    for o in p.objects("Policies")? {
        let name = o
            .get("PolicyName")
            .and_then(crate::template::scalar_text)
            .ok_or_else(|| p.fail("#/Policies: required key [PolicyName] not found"))?;
        let document = match o.get("PolicyDocument") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => return Err(p.fail("#/Policies: required key [PolicyDocument] not found")),
        };
        out.push(Inline { name, document });
    }
    Ok(out)
}

fn iam_tags(tags: &[(String, String)]) -> Value {
    key_value_tags(tags)
}

/// The principals (`Roles`, `Users`, `Groups`) a policy resource attaches to.
struct Principals {
    roles: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
}

impl Principals {
    fn of(p: &Props<'_>) -> Result<Principals, Failure> {
        Ok(Principals {
            roles: p.strings("Roles")?,
            users: p.strings("Users")?,
            groups: p.strings("Groups")?,
        })
    }
}

/// A role name from a name or an ARN (`Roles` may hold either).
fn name_of(s: &str) -> String {
    if s.starts_with("arn:") {
        s.rsplit('/').next().unwrap_or(s).to_string()
    } else {
        s.to_string()
    }
}

pub async fn create(ctx: &Ctx<'_>, kind: &str, p: &Props<'_>) -> Result<Created, Partial> {
    match kind {
        "AWS::IAM::Role" => create_role(ctx, p).await,
        "AWS::IAM::Policy" => create_policy(ctx, p).await,
        "AWS::IAM::ManagedPolicy" => create_managed(ctx, p).await,
        "AWS::IAM::User" => create_user(ctx, p).await,
        "AWS::IAM::Group" => create_group(ctx, p).await,
        "AWS::IAM::InstanceProfile" => create_profile(ctx, p).await,
        other => Err(super::unsupported(other).into()),
    }
}

pub async fn update(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let id = current.physical_id.clone().unwrap_or_default();
    match current.kind.as_str() {
        "AWS::IAM::Role" => update_role(ctx, current, &id, old, p).await,
        "AWS::IAM::Policy" => update_policy(ctx, current, old, p).await,
        "AWS::IAM::ManagedPolicy" => update_managed(ctx, current, &id, old, p).await,
        "AWS::IAM::User" => update_user(ctx, current, &id, old, p).await,
        "AWS::IAM::Group" => update_group(ctx, current, &id, old, p).await,
        "AWS::IAM::InstanceProfile" => update_profile(ctx, current, &id, old, p).await,
        other => Err(super::unsupported(other)),
    }
}

pub async fn delete(
    ctx: &Ctx<'_>,
    kind: &str,
    id: &str,
    p: &Props<'_>,
    current: &ResourceRecord,
) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    match kind {
        "AWS::IAM::Role" => {
            for i in inline_policies(p)? {
                ctx.call_gone_ok::<::iam::DeleteRolePolicy>(
                    iam,
                    "iam",
                    json!({"RoleName": id, "PolicyName": i.name}),
                )
                .await?;
            }
            for arn in p.strings("ManagedPolicyArns")? {
                ctx.call_gone_ok::<::iam::DetachRolePolicy>(
                    iam,
                    "iam",
                    json!({"RoleName": id, "PolicyArn": arn}),
                )
                .await?;
            }
            ctx.call_gone_ok::<::iam::DeleteRole>(iam, "iam", json!({"RoleName": id}))
                .await
        }
        "AWS::IAM::Policy" => {
            let name = p.required("PolicyName")?;
            detach_inline(ctx, &name, &Principals::of(p)?).await
        }
        "AWS::IAM::ManagedPolicy" => {
            detach_managed(ctx, id, &Principals::of(p)?).await?;
            let versions = ctx
                .run::<::iam::ListPolicyVersions>(iam, "iam", json!({"PolicyArn": id}))
                .await;
            if let Ok(v) = versions {
                for version in v["Versions"].as_array().cloned().unwrap_or_default() {
                    if version["IsDefaultVersion"] == json!(false)
                        && let Some(vid) = version["VersionId"].as_str()
                    {
                        ctx.call_gone_ok::<::iam::DeletePolicyVersion>(
                            iam,
                            "iam",
                            json!({"PolicyArn": id, "VersionId": vid}),
                        )
                        .await?;
                    }
                }
            }
            ctx.call_gone_ok::<::iam::DeletePolicy>(iam, "iam", json!({"PolicyArn": id}))
                .await
        }
        "AWS::IAM::User" => {
            for g in p.strings("Groups")? {
                ctx.call_gone_ok::<::iam::RemoveUserFromGroup>(
                    iam,
                    "iam",
                    json!({"UserName": id, "GroupName": g}),
                )
                .await?;
            }
            for i in inline_policies(p)? {
                ctx.call_gone_ok::<::iam::DeleteUserPolicy>(
                    iam,
                    "iam",
                    json!({"UserName": id, "PolicyName": i.name}),
                )
                .await?;
            }
            for arn in p.strings("ManagedPolicyArns")? {
                ctx.call_gone_ok::<::iam::DetachUserPolicy>(
                    iam,
                    "iam",
                    json!({"UserName": id, "PolicyArn": arn}),
                )
                .await?;
            }
            ctx.call_gone_ok::<::iam::DeleteUser>(iam, "iam", json!({"UserName": id}))
                .await
        }
        "AWS::IAM::Group" => {
            for i in inline_policies(p)? {
                ctx.call_gone_ok::<::iam::DeleteGroupPolicy>(
                    iam,
                    "iam",
                    json!({"GroupName": id, "PolicyName": i.name}),
                )
                .await?;
            }
            for arn in p.strings("ManagedPolicyArns")? {
                ctx.call_gone_ok::<::iam::DetachGroupPolicy>(
                    iam,
                    "iam",
                    json!({"GroupName": id, "PolicyArn": arn}),
                )
                .await?;
            }
            ctx.call_gone_ok::<::iam::DeleteGroup>(iam, "iam", json!({"GroupName": id}))
                .await
        }
        "AWS::IAM::InstanceProfile" => {
            for r in p.strings("Roles")? {
                ctx.call_gone_ok::<::iam::RemoveRoleFromInstanceProfile>(
                    iam,
                    "iam",
                    json!({"InstanceProfileName": id, "RoleName": name_of(&r)}),
                )
                .await?;
            }
            let _ = current;
            ctx.call_gone_ok::<::iam::DeleteInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": id}),
            )
            .await
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- roles

async fn create_role(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "AssumeRolePolicyDocument",
        "Description",
        "ManagedPolicyArns",
        "MaxSessionDuration",
        "Path",
        "PermissionsBoundary",
        "Policies",
        "RoleName",
        "Tags",
    ])?;
    let trust = p.required_document("AssumeRolePolicyDocument")?;
    let name = ctx.name_or_generated(p, "RoleName", 64)?;
    let inline = inline_policies(p)?;
    let managed = p.strings("ManagedPolicyArns")?;
    let mut input = Map::new();
    input.insert("RoleName".into(), json!(name));
    input.insert("AssumeRolePolicyDocument".into(), json!(trust));
    put(&mut input, "Path", p.str("Path")?);
    put(&mut input, "Description", p.str("Description")?);
    put(
        &mut input,
        "MaxSessionDuration",
        p.int("MaxSessionDuration")?,
    );
    put(
        &mut input,
        "PermissionsBoundary",
        p.str("PermissionsBoundary")?,
    );
    let tags = ctx.tags(p, "Tags")?;
    if !tags.is_empty() {
        input.insert("Tags".into(), iam_tags(&tags));
    }
    let iam = &ctx.svc.iam;
    let out = ctx
        .call::<::iam::CreateRole>(iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone())
        .attr("Arn", out["Role"]["Arn"].clone())
        .attr("RoleId", out["Role"]["RoleId"].clone());
    let rest = async {
        for i in inline {
            ctx.call::<::iam::PutRolePolicy>(
                iam,
                "iam",
                json!({"RoleName": name, "PolicyName": i.name, "PolicyDocument": i.document}),
            )
            .await?;
        }
        for arn in managed {
            ctx.call::<::iam::AttachRolePolicy>(
                iam,
                "iam",
                json!({"RoleName": name, "PolicyArn": arn}),
            )
            .await?;
        }
        Ok(())
    }
    .await;
    finish(created, rest)
}

/// Puts and deletes inline policies, attaches and detaches managed policies, going from
/// `old` to `new`, for one principal (`RoleName`/`UserName`/`GroupName` = `name`).
async fn sync_policies<Put, Del, Att, Det>(
    ctx: &Ctx<'_>,
    member: &str,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> Result<(), Failure>
where
    Put: gateway::Operation<Service = ::iam::Iam>,
    Del: gateway::Operation<Service = ::iam::Iam>,
    Att: gateway::Operation<Service = ::iam::Iam>,
    Det: gateway::Operation<Service = ::iam::Iam>,
{
    let iam = &ctx.svc.iam;
    let old_inline = inline_policies(old)?;
    let new_inline = inline_policies(new)?;
    for i in &new_inline {
        let same = old_inline
            .iter()
            .any(|o| o.name == i.name && o.document == i.document);
        if !same {
            ctx.call::<Put>(
                iam,
                "iam",
                json!({member: name, "PolicyName": i.name, "PolicyDocument": i.document}),
            )
            .await?;
        }
    }
    for o in &old_inline {
        if !new_inline.iter().any(|i| i.name == o.name) {
            ctx.call_gone_ok::<Del>(iam, "iam", json!({member: name, "PolicyName": o.name}))
                .await?;
        }
    }
    let old_managed = old.strings("ManagedPolicyArns")?;
    let new_managed = new.strings("ManagedPolicyArns")?;
    for arn in &new_managed {
        if !old_managed.contains(arn) {
            ctx.call::<Att>(iam, "iam", json!({member: name, "PolicyArn": arn}))
                .await?;
        }
    }
    for arn in &old_managed {
        if !new_managed.contains(arn) {
            ctx.call_gone_ok::<Det>(iam, "iam", json!({member: name, "PolicyArn": arn}))
                .await?;
        }
    }
    Ok(())
}

async fn update_role(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let trust = p.required_document("AssumeRolePolicyDocument")?;
    if old.document("AssumeRolePolicyDocument")?.as_deref() != Some(trust.as_str()) {
        ctx.call::<::iam::UpdateAssumeRolePolicy>(
            iam,
            "iam",
            json!({"RoleName": name, "PolicyDocument": trust}),
        )
        .await?;
    }
    if old.str("Description")? != p.str("Description")?
        || old.int("MaxSessionDuration")? != p.int("MaxSessionDuration")?
    {
        let mut input = Map::new();
        input.insert("RoleName".into(), json!(name));
        input.insert(
            "Description".into(),
            json!(p.str("Description")?.unwrap_or_default()),
        );
        input.insert(
            "MaxSessionDuration".into(),
            json!(p.int("MaxSessionDuration")?.unwrap_or(3600)),
        );
        ctx.call::<::iam::UpdateRole>(iam, "iam", Value::Object(input))
            .await?;
    }
    match (
        old.str("PermissionsBoundary")?,
        p.str("PermissionsBoundary")?,
    ) {
        (a, Some(b)) if a.as_deref() != Some(b.as_str()) => {
            ctx.call::<::iam::PutRolePermissionsBoundary>(
                iam,
                "iam",
                json!({"RoleName": name, "PermissionsBoundary": b}),
            )
            .await?;
        }
        (Some(_), None) => {
            ctx.call::<::iam::DeleteRolePermissionsBoundary>(iam, "iam", json!({"RoleName": name}))
                .await?;
        }
        _ => {}
    }
    sync_policies::<
        ::iam::PutRolePolicy,
        ::iam::DeleteRolePolicy,
        ::iam::AttachRolePolicy,
        ::iam::DetachRolePolicy,
    >(ctx, "RoleName", name, old, p)
    .await?;
    retag::<::iam::UntagRole, ::iam::TagRole>(
        ctx,
        iam,
        "iam",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |keys| json!({"RoleName": name, "TagKeys": keys}),
        |tags| json!({"RoleName": name, "Tags": iam_tags(tags)}),
    )
    .await?;
    Ok(super::unchanged(current))
}

// ---------------------------------------------------------------- inline policies

async fn attach_inline(
    ctx: &Ctx<'_>,
    name: &str,
    document: &str,
    who: &Principals,
) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    for r in &who.roles {
        ctx.call::<::iam::PutRolePolicy>(
            iam,
            "iam",
            json!({"RoleName": name_of(r), "PolicyName": name, "PolicyDocument": document}),
        )
        .await?;
    }
    for u in &who.users {
        ctx.call::<::iam::PutUserPolicy>(
            iam,
            "iam",
            json!({"UserName": name_of(u), "PolicyName": name, "PolicyDocument": document}),
        )
        .await?;
    }
    for g in &who.groups {
        ctx.call::<::iam::PutGroupPolicy>(
            iam,
            "iam",
            json!({"GroupName": name_of(g), "PolicyName": name, "PolicyDocument": document}),
        )
        .await?;
    }
    Ok(())
}

async fn detach_inline(ctx: &Ctx<'_>, name: &str, who: &Principals) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    for r in &who.roles {
        ctx.call_gone_ok::<::iam::DeleteRolePolicy>(
            iam,
            "iam",
            json!({"RoleName": name_of(r), "PolicyName": name}),
        )
        .await?;
    }
    for u in &who.users {
        ctx.call_gone_ok::<::iam::DeleteUserPolicy>(
            iam,
            "iam",
            json!({"UserName": name_of(u), "PolicyName": name}),
        )
        .await?;
    }
    for g in &who.groups {
        ctx.call_gone_ok::<::iam::DeleteGroupPolicy>(
            iam,
            "iam",
            json!({"GroupName": name_of(g), "PolicyName": name}),
        )
        .await?;
    }
    Ok(())
}

async fn create_policy(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&["PolicyName", "PolicyDocument", "Roles", "Users", "Groups"])?;
    let name = p.required("PolicyName")?;
    let document = p.required_document("PolicyDocument")?;
    let who = Principals::of(p)?;
    if who.roles.is_empty() && who.users.is_empty() && who.groups.is_empty() {
        return Err(p
            .fail("#: at least one of [Roles, Users, Groups] is required")
            .into());
    }
    let id = format!(
        "{}-{}",
        ctx.stack_name.chars().take(5).collect::<String>(),
        crate::random_suffix(13)
    );
    let created = Created::new(id.clone()).attr("Id", id);
    let rest = attach_inline(ctx, &name, &document, &who).await;
    finish(created, rest)
}

async fn update_policy(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let old_name = old.required("PolicyName")?;
    let name = p.required("PolicyName")?;
    let document = p.required_document("PolicyDocument")?;
    let was = Principals::of(old)?;
    let now = Principals::of(p)?;
    if old_name != name {
        detach_inline(ctx, &old_name, &was).await?;
    } else {
        let dropped = Principals {
            roles: was
                .roles
                .iter()
                .filter(|r| !now.roles.contains(r))
                .cloned()
                .collect(),
            users: was
                .users
                .iter()
                .filter(|r| !now.users.contains(r))
                .cloned()
                .collect(),
            groups: was
                .groups
                .iter()
                .filter(|r| !now.groups.contains(r))
                .cloned()
                .collect(),
        };
        detach_inline(ctx, &name, &dropped).await?;
    }
    attach_inline(ctx, &name, &document, &now).await?;
    Ok(super::unchanged(current))
}

// ---------------------------------------------------------------- managed policies

async fn attach_managed(ctx: &Ctx<'_>, arn: &str, who: &Principals) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    for r in &who.roles {
        ctx.call::<::iam::AttachRolePolicy>(
            iam,
            "iam",
            json!({"RoleName": name_of(r), "PolicyArn": arn}),
        )
        .await?;
    }
    for u in &who.users {
        ctx.call::<::iam::AttachUserPolicy>(
            iam,
            "iam",
            json!({"UserName": name_of(u), "PolicyArn": arn}),
        )
        .await?;
    }
    for g in &who.groups {
        ctx.call::<::iam::AttachGroupPolicy>(
            iam,
            "iam",
            json!({"GroupName": name_of(g), "PolicyArn": arn}),
        )
        .await?;
    }
    Ok(())
}

async fn detach_managed(ctx: &Ctx<'_>, arn: &str, who: &Principals) -> Result<(), Failure> {
    let iam = &ctx.svc.iam;
    for r in &who.roles {
        ctx.call_gone_ok::<::iam::DetachRolePolicy>(
            iam,
            "iam",
            json!({"RoleName": name_of(r), "PolicyArn": arn}),
        )
        .await?;
    }
    for u in &who.users {
        ctx.call_gone_ok::<::iam::DetachUserPolicy>(
            iam,
            "iam",
            json!({"UserName": name_of(u), "PolicyArn": arn}),
        )
        .await?;
    }
    for g in &who.groups {
        ctx.call_gone_ok::<::iam::DetachGroupPolicy>(
            iam,
            "iam",
            json!({"GroupName": name_of(g), "PolicyArn": arn}),
        )
        .await?;
    }
    Ok(())
}

fn managed_created(out: &Value) -> Created {
    let p = &out["Policy"];
    let arn = p["Arn"].as_str().unwrap_or_default().to_string();
    Created::new(arn.clone())
        .attr("PolicyArn", arn)
        .attr("PolicyId", p["PolicyId"].clone())
        .attr("DefaultVersionId", p["DefaultVersionId"].clone())
        .attr(
            "AttachmentCount",
            json!(p["AttachmentCount"].as_u64().unwrap_or(0).to_string()),
        )
        .attr(
            "IsAttachable",
            json!(p["IsAttachable"].as_bool().unwrap_or(true).to_string()),
        )
        .attr("Path", p["Path"].clone())
        .attr("CreateDate", p["CreateDate"].clone())
        .attr("UpdateDate", p["UpdateDate"].clone())
        .attr("PermissionsBoundaryUsageCount", json!("0"))
}

async fn create_managed(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "ManagedPolicyName",
        "Description",
        "Path",
        "PolicyDocument",
        "Roles",
        "Users",
        "Groups",
    ])?;
    let name = ctx.name_or_generated(p, "ManagedPolicyName", 128)?;
    let mut input = Map::new();
    input.insert("PolicyName".into(), json!(name));
    input.insert(
        "PolicyDocument".into(),
        json!(p.required_document("PolicyDocument")?),
    );
    put(&mut input, "Path", p.str("Path")?);
    put(&mut input, "Description", p.str("Description")?);
    let out = ctx
        .call::<::iam::CreatePolicy>(&ctx.svc.iam, "iam", Value::Object(input))
        .await?;
    let mut created = managed_created(&out);
    let who = Principals::of(p)?;
    let count = who.roles.len() + who.users.len() + who.groups.len();
    created
        .attributes
        .insert("AttachmentCount".into(), json!(count.to_string()));
    let rest = attach_managed(ctx, &created.physical_id, &who).await;
    finish(created, rest)
}

async fn update_managed(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    arn: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let mut created = super::unchanged(current);
    let document = p.required_document("PolicyDocument")?;
    if old.document("PolicyDocument")?.as_deref() != Some(document.as_str()) {
        // IAM keeps five versions: drop the oldest non-default one first.
        if let Ok(list) = ctx
            .run::<::iam::ListPolicyVersions>(iam, "iam", json!({"PolicyArn": arn}))
            .await
        {
            let versions = list["Versions"].as_array().cloned().unwrap_or_default();
            if versions.len() >= 5
                && let Some(oldest) = versions
                    .iter()
                    .filter(|v| v["IsDefaultVersion"] == json!(false))
                    .min_by_key(|v| v["CreateDate"].as_u64().unwrap_or(0))
                && let Some(vid) = oldest["VersionId"].as_str()
            {
                ctx.call::<::iam::DeletePolicyVersion>(
                    iam,
                    "iam",
                    json!({"PolicyArn": arn, "VersionId": vid}),
                )
                .await?;
            }
        }
        let out = ctx
            .call::<::iam::CreatePolicyVersion>(
                iam,
                "iam",
                json!({"PolicyArn": arn, "PolicyDocument": document, "SetAsDefault": true}),
            )
            .await?;
        created.attributes.insert(
            "DefaultVersionId".into(),
            out["PolicyVersion"]["VersionId"].clone(),
        );
    }
    let was = Principals::of(old)?;
    let now = Principals::of(p)?;
    let added = Principals {
        roles: now
            .roles
            .iter()
            .filter(|r| !was.roles.contains(r))
            .cloned()
            .collect(),
        users: now
            .users
            .iter()
            .filter(|r| !was.users.contains(r))
            .cloned()
            .collect(),
        groups: now
            .groups
            .iter()
            .filter(|r| !was.groups.contains(r))
            .cloned()
            .collect(),
    };
    let dropped = Principals {
        roles: was
            .roles
            .iter()
            .filter(|r| !now.roles.contains(r))
            .cloned()
            .collect(),
        users: was
            .users
            .iter()
            .filter(|r| !now.users.contains(r))
            .cloned()
            .collect(),
        groups: was
            .groups
            .iter()
            .filter(|r| !now.groups.contains(r))
            .cloned()
            .collect(),
    };
    attach_managed(ctx, arn, &added).await?;
    detach_managed(ctx, arn, &dropped).await?;
    let count = now.roles.len() + now.users.len() + now.groups.len();
    created
        .attributes
        .insert("AttachmentCount".into(), json!(count.to_string()));
    Ok(created)
}

// ---------------------------------------------------------------- users and groups

async fn create_user(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&[
        "UserName",
        "Path",
        "Groups",
        "ManagedPolicyArns",
        "Policies",
        "PermissionsBoundary",
        "Tags",
    ])?;
    let iam = &ctx.svc.iam;
    let name = ctx.name_or_generated(p, "UserName", 64)?;
    let mut input = Map::new();
    input.insert("UserName".into(), json!(name));
    put(&mut input, "Path", p.str("Path")?);
    put(
        &mut input,
        "PermissionsBoundary",
        p.str("PermissionsBoundary")?,
    );
    let tags = ctx.tags(p, "Tags")?;
    if !tags.is_empty() {
        input.insert("Tags".into(), iam_tags(&tags));
    }
    let out = ctx
        .call::<::iam::CreateUser>(iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone()).attr("Arn", out["User"]["Arn"].clone());
    let rest = async {
        for g in p.strings("Groups")? {
            ctx.call::<::iam::AddUserToGroup>(
                iam,
                "iam",
                json!({"UserName": name, "GroupName": g}),
            )
            .await?;
        }
        let none = Props::new(ctx.logical_id, "AWS::IAM::User", &json!({}));
        sync_policies::<
            ::iam::PutUserPolicy,
            ::iam::DeleteUserPolicy,
            ::iam::AttachUserPolicy,
            ::iam::DetachUserPolicy,
        >(ctx, "UserName", &name, &none, p)
        .await
    }
    .await;
    finish(created, rest)
}

async fn update_user(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let was = old.strings("Groups")?;
    let now = p.strings("Groups")?;
    for g in now.iter().filter(|g| !was.contains(g)) {
        ctx.call::<::iam::AddUserToGroup>(iam, "iam", json!({"UserName": name, "GroupName": g}))
            .await?;
    }
    for g in was.iter().filter(|g| !now.contains(g)) {
        ctx.call_gone_ok::<::iam::RemoveUserFromGroup>(
            iam,
            "iam",
            json!({"UserName": name, "GroupName": g}),
        )
        .await?;
    }
    match (
        old.str("PermissionsBoundary")?,
        p.str("PermissionsBoundary")?,
    ) {
        (a, Some(b)) if a.as_deref() != Some(b.as_str()) => {
            ctx.call::<::iam::PutUserPermissionsBoundary>(
                iam,
                "iam",
                json!({"UserName": name, "PermissionsBoundary": b}),
            )
            .await?;
        }
        (Some(_), None) => {
            ctx.call::<::iam::DeleteUserPermissionsBoundary>(iam, "iam", json!({"UserName": name}))
                .await?;
        }
        _ => {}
    }
    sync_policies::<
        ::iam::PutUserPolicy,
        ::iam::DeleteUserPolicy,
        ::iam::AttachUserPolicy,
        ::iam::DetachUserPolicy,
    >(ctx, "UserName", name, old, p)
    .await?;
    retag::<::iam::UntagUser, ::iam::TagUser>(
        ctx,
        iam,
        "iam",
        &ctx.tags(old, "Tags")?,
        &ctx.tags(p, "Tags")?,
        |keys| json!({"UserName": name, "TagKeys": keys}),
        |tags| json!({"UserName": name, "Tags": iam_tags(tags)}),
    )
    .await?;
    Ok(super::unchanged(current))
}

async fn create_group(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&["GroupName", "Path", "ManagedPolicyArns", "Policies"])?;
    let name = ctx.name_or_generated(p, "GroupName", 128)?;
    let mut input = Map::new();
    input.insert("GroupName".into(), json!(name));
    put(&mut input, "Path", p.str("Path")?);
    let out = ctx
        .call::<::iam::CreateGroup>(&ctx.svc.iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone()).attr("Arn", out["Group"]["Arn"].clone());
    let none = Props::new(ctx.logical_id, "AWS::IAM::Group", &json!({}));
    let rest = sync_policies::<
        ::iam::PutGroupPolicy,
        ::iam::DeleteGroupPolicy,
        ::iam::AttachGroupPolicy,
        ::iam::DetachGroupPolicy,
    >(ctx, "GroupName", &name, &none, p)
    .await;
    finish(created, rest)
}

async fn update_group(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    sync_policies::<
        ::iam::PutGroupPolicy,
        ::iam::DeleteGroupPolicy,
        ::iam::AttachGroupPolicy,
        ::iam::DetachGroupPolicy,
    >(ctx, "GroupName", name, old, p)
    .await?;
    Ok(super::unchanged(current))
}

// ---------------------------------------------------------------- instance profiles

async fn create_profile(ctx: &Ctx<'_>, p: &Props<'_>) -> Result<Created, Partial> {
    p.allow(&["InstanceProfileName", "Path", "Roles"])?;
    let roles = p.strings("Roles")?;
    if roles.len() != 1 {
        return Err(p.fail("#/Roles: expected exactly 1 role").into());
    }
    let name = ctx.name_or_generated(p, "InstanceProfileName", 128)?;
    let mut input = Map::new();
    input.insert("InstanceProfileName".into(), json!(name));
    put(&mut input, "Path", p.str("Path")?);
    let iam = &ctx.svc.iam;
    let out = ctx
        .call::<::iam::CreateInstanceProfile>(iam, "iam", Value::Object(input))
        .await?;
    let created = Created::new(name.clone()).attr("Arn", out["InstanceProfile"]["Arn"].clone());
    let rest = async {
        for r in roles {
            ctx.call::<::iam::AddRoleToInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": name, "RoleName": name_of(&r)}),
            )
            .await?;
        }
        Ok(())
    }
    .await;
    finish(created, rest)
}

async fn update_profile(
    ctx: &Ctx<'_>,
    current: &ResourceRecord,
    name: &str,
    old: &Props<'_>,
    p: &Props<'_>,
) -> Result<Created, Failure> {
    let iam = &ctx.svc.iam;
    let was = old.strings("Roles")?;
    let now = p.strings("Roles")?;
    if now.len() != 1 {
        return Err(p.fail("#/Roles: expected exactly 1 role"));
    }
    if was != now {
        for r in &was {
            ctx.call_gone_ok::<::iam::RemoveRoleFromInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": name, "RoleName": name_of(r)}),
            )
            .await?;
        }
        for r in &now {
            ctx.call::<::iam::AddRoleToInstanceProfile>(
                iam,
                "iam",
                json!({"InstanceProfileName": name, "RoleName": name_of(r)}),
            )
            .await?;
        }
    }
    Ok(super::unchanged(current))
}
